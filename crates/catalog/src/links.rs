//! The check for a feed's links: an absolute `http` or `https` URL with a
//! host, and no whitespace or control characters anywhere.
//!
//! This is a gate, not a full URL parser: the link is stored as written and
//! the agents fetch it as it is.

/// Whether `text` is an absolute http(s) URL with a host.
pub fn is_web_url(text: &str) -> bool {
    if has_space_or_control(text) {
        return false;
    }
    let Some(after_scheme) = strip_web_scheme(text) else {
        return false;
    };

    let authority_end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let authority = &after_scheme[..authority_end];
    let host_and_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, rest)| rest);
    is_host_and_port(host_and_port)
}

/// Whether `text` has whitespace or a control character: checked byte by
/// byte while the text is ASCII, as links nearly always are.
fn has_space_or_control(text: &str) -> bool {
    if text.is_ascii() {
        return text.bytes().any(|byte| byte <= b' ' || byte == 0x7f);
    }
    text.chars()
        .any(|character| character.is_whitespace() || character.is_control())
}

fn strip_web_scheme(text: &str) -> Option<&str> {
    let scheme_end = text.find("://")?;
    let scheme = &text[..scheme_end];
    let is_web_scheme = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    is_web_scheme.then(|| &text[scheme_end + 3..])
}

fn is_host_and_port(text: &str) -> bool {
    if let Some(after_bracket) = text.strip_prefix('[') {
        let Some((address, after_address)) = after_bracket.split_once(']') else {
            return false;
        };
        let is_ipv6 = !address.is_empty()
            && address.chars().all(|character| {
                character.is_ascii_hexdigit() || character == ':' || character == '.'
            });
        return is_ipv6 && is_optional_port(after_address);
    }
    let (host, port_part) = match text.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    };
    is_host_name(host) && port_part.is_none_or(is_port)
}

fn is_optional_port(text: &str) -> bool {
    text.is_empty() || text.strip_prefix(':').is_some_and(is_port)
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.parse::<u16>().is_ok()
}

/// Dot-separated labels of letters (any script), digits, `-` and `_`; a
/// single trailing dot is allowed.
fn is_host_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && label.chars().all(|character| {
                    character.is_alphanumeric() || character == '-' || character == '_'
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: bool) {
        assert_eq!(is_web_url(text), expect, "url {text:?}");
    }

    #[test]
    fn web_urls() {
        check("https://example.com", true);
        check("https://example.com/", true);
        check("http://example.com/mug?color=blue#top", true);
        check("HTTPS://Example.COM/Mug", true);
        check("https://shop.example.co.uk:8443/p/1", true);
        check("https://user:secret@example.com/p", true);
        check("https://localhost/p", true);
        check("https://192.168.0.1/p", true);
        check("https://[2001:db8::1]:443/p", true);
        check("https://bücher.example/buch", true);
        check("https://example.com./p", true);
        check("https://example.com/a%20b", true);
    }

    #[test]
    fn other_text_is_refused() {
        check("", false);
        check("example.com/mug", false);
        check("//example.com/mug", false);
        check("ftp://example.com/mug", false);
        check("javascript://example.com/%0Aalert(1)", false);
        check("mailto:shop@example.com", false);
        check("https://", false);
        check("https:///path", false);
        check("https://exa mple.com", false);
        check("https://example.com/a b", false);
        check("https://example..com", false);
        check("https://-example.com", false);
        check("https://example.com:99999", false);
        check("https://example.com:port", false);
        check("https://[zz::1]/", false);
        check("https://[::1", false);
        check("https://example.com\n", false);
    }
}
