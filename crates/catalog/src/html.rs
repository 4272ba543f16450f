//! Turning an HTML description into plain text: tags are removed (block
//! tags such as `<p>` and `<br>` become line breaks, `<script>` and `<style>`
//! lose their content too), common entities are decoded, and blank lines and
//! the spaces around lines are dropped.
//!
//! Text that has neither a tag nor an entity is left alone, so a plain
//! description like `5 < 7 & 8 > 2` is not touched.

/// Plain text for `text`, or `None` when it holds no HTML.
pub fn html_to_plain_text(text: &str) -> Option<String> {
    if !contains_html(text) {
        return None;
    }

    let mut plain_text = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find(['<', '&']) {
        plain_text.push_str(&rest[..position]);
        rest = &rest[position..];
        rest = if rest.starts_with('<') {
            consume_markup(rest, &mut plain_text)
        } else {
            consume_entity(rest, &mut plain_text)
        };
    }
    plain_text.push_str(rest);
    Some(tidy_lines(&plain_text))
}

fn contains_html(text: &str) -> bool {
    let mut rest = text;
    while let Some(position) = rest.find(['<', '&']) {
        rest = &rest[position..];
        if tag_length(rest).is_some() || entity(rest).is_some() {
            return true;
        }
        rest = &rest[1..];
    }
    false
}

/// Consumes a tag (or a lone `<`) at the start of `text`.
fn consume_markup<'a>(text: &'a str, plain_text: &mut String) -> &'a str {
    let Some(length) = tag_length(text) else {
        plain_text.push('<');
        return &text[1..];
    };
    let name = tag_name(&text[..length]);
    if BLOCK_TAGS.contains(&name.as_str()) {
        plain_text.push('\n');
    }
    let after_tag = &text[length..];
    if name == "script" || name == "style" {
        return skip_to_closing_tag(after_tag, &name);
    }
    after_tag
}

/// Consumes an entity (or a lone `&`) at the start of `text`.
fn consume_entity<'a>(text: &'a str, plain_text: &mut String) -> &'a str {
    match entity(text) {
        Some((decoded, length)) => {
            plain_text.push(decoded);
            &text[length..]
        }
        None => {
            plain_text.push('&');
            &text[1..]
        }
    }
}

const BLOCK_TAGS: &[&str] = &[
    "br",
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "tr",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "header",
    "footer",
    "blockquote",
    "hr",
    "dt",
    "dd",
];

/// The longest tag, in bytes; bounding the search keeps long texts linear.
const TAG_MAX_BYTES: usize = 4096;

/// The longest entity, in bytes, `&` and `;` included.
const ENTITY_MAX_BYTES: usize = 12;

/// The length of a tag starting at `text`: `<` then a letter, `/` or `!`,
/// up to the next `>`.
fn tag_length(text: &str) -> Option<usize> {
    let second = text.as_bytes().get(1)?;
    if !(second.is_ascii_alphabetic() || *second == b'/' || *second == b'!') {
        return None;
    }
    position_within(text, b'>', TAG_MAX_BYTES).map(|position| position + 1)
}

/// Where the ASCII `byte` first occurs in the first `limit` bytes of `text`.
fn position_within(text: &str, byte: u8, limit: usize) -> Option<usize> {
    text.bytes()
        .take(limit)
        .position(|candidate| candidate == byte)
}

/// The lower-case element name of a tag, without `/`.
fn tag_name(tag: &str) -> String {
    tag.trim_start_matches(['<', '/'])
        .chars()
        .take_while(|character| character.is_ascii_alphanumeric())
        .map(|character| character.to_ascii_lowercase())
        .collect()
}

fn skip_to_closing_tag<'a>(text: &'a str, name: &str) -> &'a str {
    let closing_tag = format!("</{name}");
    let lower_case_text = text.to_ascii_lowercase();
    let Some(position) = lower_case_text.find(&closing_tag) else {
        return "";
    };
    let after_name = &text[position..];
    after_name
        .find('>')
        .map_or("", |end| &after_name[end + 1..])
}

/// The character an entity at the start of `text` stands for, and the
/// entity's length.
fn entity(text: &str) -> Option<(char, usize)> {
    let semicolon = position_within(text, b';', ENTITY_MAX_BYTES)?;
    let body = &text[1..semicolon];
    let decoded = match body.strip_prefix('#') {
        Some(number) => numeric_character(number)?,
        None => named_character(body)?,
    };
    Some((decoded, semicolon + 1))
}

fn numeric_character(number: &str) -> Option<char> {
    let code_point = match number.strip_prefix(['x', 'X']) {
        Some(hex_digits) => u32::from_str_radix(hex_digits, 16).ok()?,
        None => number.parse::<u32>().ok()?,
    };
    char::from_u32(code_point).filter(|character| *character != '\0')
}

fn named_character(name: &str) -> Option<char> {
    NAMED_ENTITIES
        .iter()
        .find(|(entity_name, _)| *entity_name == name)
        .map(|(_, character)| *character)
}

const NAMED_ENTITIES: &[(&str, char)] = &[
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", ' '),
    ("ndash", '–'),
    ("mdash", '—'),
    ("hellip", '…'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("bull", '•'),
    ("middot", '·'),
    ("deg", '°'),
    ("times", '×'),
    ("copy", '©'),
    ("reg", '®'),
    ("trade", '™'),
    ("euro", '€'),
    ("pound", '£'),
    ("yen", '¥'),
    ("cent", '¢'),
    ("eacute", 'é'),
    ("egrave", 'è'),
    ("agrave", 'à'),
    ("ccedil", 'ç'),
    ("uuml", 'ü'),
    ("ouml", 'ö'),
    ("auml", 'ä'),
    ("szlig", 'ß'),
];

/// Trims every line, drops blank ones, and joins them with `\n`.
fn tidy_lines(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: Option<&str>) {
        assert_eq!(html_to_plain_text(text).as_deref(), expect, "text {text:?}");
    }

    #[rustfmt::skip]
    #[test]
    fn html_becomes_plain_text() {
        check("Blue <b>mug</b>", Some("Blue mug"));
        check("<p>Blue mug.</p><p>Holds 300 ml.</p>", Some("Blue mug.\nHolds 300 ml."));
        check("One<br>two<br/>three", Some("One\ntwo\nthree"));
        check("<ul>\n  <li>Oven safe</li>\n  <li>Dishwasher safe</li>\n</ul>", Some("Oven safe\nDishwasher safe"));
        check("Tom &amp; Jerry", Some("Tom & Jerry"));
        check("5 &lt; 7 &#38; caf&#xE9;", Some("5 < 7 & café"));
        check("<!-- note -->Mug", Some("Mug"));
        check("Mug<script>alert('x')</script> in blue", Some("Mug in blue"));
        check("<STYLE>p { color: red }</STYLE>Mug", Some("Mug"));
        check("<p>Fish &chips; 5 < 7</p>", Some("Fish &chips; 5 < 7"));
        check("<p></p>", Some(""));
    }

    #[test]
    fn plain_text_is_left_alone() {
        check("Blue mug", None);
        check("5 < 7 & 8 > 2", None);
        check("Fish & chips; salt", None);
        check("AT&T;", None);
    }
}
