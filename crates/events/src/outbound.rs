//! Where webhooks may go. A target must be `http` or `https`; its address
//! is checked when the request is sent, after name resolution, so a host
//! name cannot be pointed at an internal address after the endpoint was
//! accepted. Live endpoints may reach only public addresses; sandbox
//! endpoints also loopback, so that local development works. The operator
//! can allow private targets for both.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

/// Which addresses a client may connect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetPolicy {
    pub allow_loopback: bool,
    pub allow_private: bool,
}

impl TargetPolicy {
    /// The policy for an endpoint of this mode.
    pub fn for_mode(livemode: bool, allow_private: bool) -> Self {
        Self {
            allow_loopback: !livemode || allow_private,
            allow_private,
        }
    }

    /// Whether a connection to `ip` is allowed.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        if ip.is_unspecified() || ip.is_multicast() || is_broadcast(ip) {
            return false;
        }
        if ip.is_loopback() {
            return self.allow_loopback;
        }
        if is_private_or_link_local(ip) {
            return self.allow_private;
        }
        true
    }
}

fn is_broadcast(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if v4.is_broadcast())
}

fn is_private_or_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [first, second, ..] = v4.octets();
            v4.is_private() || v4.is_link_local() || (first == 100 && (64..128).contains(&second))
        }
        IpAddr::V6(v6) => {
            let head = v6.segments()[0];
            (head & 0xfe00) == 0xfc00 || (head & 0xffc0) == 0xfe80
        }
    }
}

/// Why a target was refused.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("the url is not a valid absolute url")]
    BadUrl,
    #[error("only http and https urls can receive webhooks")]
    Scheme,
    #[error("the url has no host")]
    NoHost,
    #[error("{0} is not an allowed webhook target")]
    Forbidden(IpAddr),
}

/// Checks a URL's form, and its address when the host is an IP literal.
pub fn check_url(text: &str, policy: TargetPolicy) -> Result<Url, TargetError> {
    let url = Url::parse(text).map_err(|_| TargetError::BadUrl)?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(TargetError::Scheme);
    }
    let ip = match url.host() {
        None => return Err(TargetError::NoHost),
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        Some(url::Host::Domain(_)) => None,
    };
    if let Some(ip) = ip.filter(|ip| !policy.allows(*ip)) {
        return Err(TargetError::Forbidden(ip));
    }
    Ok(url)
}

/// A resolver that drops the addresses the policy forbids.
struct CheckedResolver {
    policy: TargetPolicy,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|addr| policy.allows(addr.ip()))
                .collect();
            if allowed.is_empty() {
                let refused = resolved
                    .first()
                    .map_or_else(|| host.clone(), |addr| addr.ip().to_string());
                return Err(format!(
                    "{host} resolves only to addresses webhooks may not reach ({refused})"
                )
                .into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// An HTTP client for webhook delivery under `policy`: no redirects, no
/// proxy from the environment (a proxy would resolve names where the check
/// cannot see them), a total timeout, connections checked after resolution.
pub fn client(policy: TargetPolicy, timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .dns_resolver(Arc::new(CheckedResolver { policy }))
        .user_agent(concat!(
            "Mercato/",
            env!("CARGO_PKG_VERSION"),
            " (+webhooks)"
        ))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_by_mode_and_range() {
        let live = TargetPolicy::for_mode(true, false);
        let sandbox = TargetPolicy::for_mode(false, false);
        let open = TargetPolicy::for_mode(true, true);
        let cases = [
            ("8.8.8.8", true, true, true),
            ("127.0.0.1", false, true, true),
            ("::1", false, true, true),
            ("10.1.2.3", false, false, true),
            ("192.168.1.1", false, false, true),
            ("172.20.0.1", false, false, true),
            ("169.254.169.254", false, false, true),
            ("100.64.0.1", false, false, true),
            ("fd00::1", false, false, true),
            ("fe80::1", false, false, true),
            ("::ffff:127.0.0.1", false, true, true),
            ("0.0.0.0", false, false, false),
            ("224.0.0.1", false, false, false),
        ];
        for (text, live_ok, sandbox_ok, open_ok) in cases {
            let ip: IpAddr = text.parse().expect("ip");
            assert_eq!(live.allows(ip), live_ok, "live {text}");
            assert_eq!(sandbox.allows(ip), sandbox_ok, "sandbox {text}");
            assert_eq!(open.allows(ip), open_ok, "open {text}");
        }
    }

    #[test]
    fn urls_must_be_http_and_may_not_name_forbidden_addresses() {
        let live = TargetPolicy::for_mode(true, false);
        assert!(check_url("https://hooks.example.com/stripe", live).is_ok());
        assert!(matches!(
            check_url("ftp://example.com/", live),
            Err(TargetError::Scheme)
        ));
        assert!(matches!(
            check_url("not a url", live),
            Err(TargetError::BadUrl)
        ));
        assert!(matches!(
            check_url("http://127.0.0.1:3000/", live),
            Err(TargetError::Forbidden(_))
        ));
        assert!(check_url(
            "http://127.0.0.1:3000/",
            TargetPolicy::for_mode(false, false)
        )
        .is_ok());
    }
}
