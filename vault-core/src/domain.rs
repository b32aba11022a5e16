//! Allowed domains: which request hosts a secret may be sent to.
//!
//! A pattern is a host name or an IP literal: `example.com` allows exactly that host,
//! `*.example.com` allows every subdomain of it at any depth (not `example.com` itself). No
//! pattern at all allows any host. Hosts and patterns are compared after the normalisation a
//! browser applies (WHATWG URL parsing: lower case, IDNA to punycode, percent-decoding, IPv4
//! forms), with a trailing dot removed; ports, schemes and user info never take part, so
//! `https://good.com@evil.com` is `evil.com` and `good.com.evil.net` is not `good.com`.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

use crate::error::{Error, ErrorKind};

/// One allowed-domain pattern.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DomainPattern {
    host: NormalHost,
    wildcard: bool,
}

/// A host normalised for comparison.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum NormalHost {
    Domain(String),
    Ip(IpAddr),
}

impl DomainPattern {
    /// Parses a pattern (`example.com`, `*.example.com`, `127.0.0.1`, `[::1]`, `bücher.de`).
    pub fn parse(pattern: &str) -> Result<Self, Error> {
        let bad = |why: &str| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "allowed domain `{}` {why}",
                    crate::url_text::for_message(pattern)
                ),
            )
        };
        let trimmed = pattern.trim();
        if trimmed.is_empty() {
            return Err(bad("is empty"));
        }
        if trimmed.contains("://") || trimmed.contains('/') {
            return Err(bad("must be a host name, not a URL"));
        }
        if trimmed.contains('@') {
            return Err(bad("must be a host name without user info"));
        }
        let (wildcard, rest) = match trimmed.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        if rest.contains('*') {
            return Err(bad("may use `*` only as a leading `*.`"));
        }
        let rest = rest.strip_suffix('.').unwrap_or(rest);
        if rest.is_empty() {
            return Err(bad("has no host name"));
        }
        if !rest.starts_with('[') && rest.contains(':') {
            return Err(bad("must not carry a port"));
        }
        let host = Host::parse(rest).map_err(|e| bad(&format!("is not a valid host: {e}")))?;
        let host = normalise(&host);
        if wildcard && matches!(host, NormalHost::Ip(_)) {
            return Err(bad("cannot use `*.` with an IP address"));
        }
        if let NormalHost::Domain(d) = &host {
            if !d.contains('.') && wildcard {
                return Err(bad("is too broad: `*.` needs a domain with a dot"));
            }
        }
        Ok(DomainPattern { host, wildcard })
    }

    /// Whether this pattern allows `host`.
    pub fn allows(&self, host: &RequestHost) -> bool {
        match (&self.host, &host.0) {
            (NormalHost::Ip(a), NormalHost::Ip(b)) => !self.wildcard && a == b,
            (NormalHost::Domain(p), NormalHost::Domain(h)) => {
                if self.wildcard {
                    h.len() > p.len() + 1
                        && h.ends_with(p.as_str())
                        && h.as_bytes()[h.len() - p.len() - 1] == b'.'
                } else {
                    h == p
                }
            }
            _ => false,
        }
    }
}

fn normalise<S: AsRef<str>>(host: &Host<S>) -> NormalHost {
    match host {
        Host::Domain(d) => {
            let d = d.as_ref();
            let d = d.strip_suffix('.').unwrap_or(d);
            NormalHost::Domain(d.to_ascii_lowercase())
        }
        Host::Ipv4(a) => NormalHost::Ip(IpAddr::V4(*a)),
        Host::Ipv6(a) => NormalHost::Ip(IpAddr::V6(*a)),
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        match &self.host {
            NormalHost::Domain(d) => f.write_str(d),
            NormalHost::Ip(IpAddr::V6(a)) => write!(f, "[{a}]"),
            NormalHost::Ip(a) => write!(f, "{a}"),
        }
    }
}

impl fmt::Debug for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DomainPattern({self})")
    }
}

/// The host of a request, normalised once and checked against many patterns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHost(NormalHost);

impl RequestHost {
    /// The host of an `http` or `https` URL, as the HTTP client will connect to it.
    pub fn from_url(url: &Url) -> Result<Self, Error> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::new(
                ErrorKind::DomainNotAllowed,
                format!("request URL scheme `{}` is not http or https", url.scheme()),
            ));
        }
        match url.host() {
            Some(h) => Ok(RequestHost(normalise(&h))),
            None => Err(Error::new(
                ErrorKind::DomainNotAllowed,
                "request URL has no host",
            )),
        }
    }

    /// Parses `url` and takes its host.
    pub fn parse_url(url: &str) -> Result<Self, Error> {
        let parsed = Url::parse(url).map_err(|e| {
            Error::new(
                ErrorKind::DomainNotAllowed,
                format!("request URL is not a valid URL: {e}"),
            )
        })?;
        Self::from_url(&parsed)
    }
}

impl fmt::Display for RequestHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            NormalHost::Domain(d) => f.write_str(d),
            NormalHost::Ip(IpAddr::V6(a)) => write!(f, "[{a}]"),
            NormalHost::Ip(a) => write!(f, "{a}"),
        }
    }
}

/// A secret's allowed domains. Empty means: any host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AllowedDomains(Vec<DomainPattern>);

impl AllowedDomains {
    /// Any host.
    pub fn any() -> Self {
        AllowedDomains(Vec::new())
    }

    /// Parses every pattern; the first bad one is the error.
    pub fn parse<S: AsRef<str>>(patterns: impl IntoIterator<Item = S>) -> Result<Self, Error> {
        patterns
            .into_iter()
            .map(|p| DomainPattern::parse(p.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map(AllowedDomains)
    }

    /// Whether no restriction applies.
    pub fn is_any(&self) -> bool {
        self.0.is_empty()
    }

    /// The patterns.
    pub fn patterns(&self) -> &[DomainPattern] {
        &self.0
    }

    /// Whether a request to `host` may carry the secret. `None` (no request URL known) is
    /// allowed only when there is no restriction.
    pub fn allows(&self, host: Option<&RequestHost>) -> bool {
        if self.is_any() {
            return true;
        }
        host.is_some_and(|h| self.0.iter().any(|p| p.allows(h)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(patterns: &[&str], url: &str) -> bool {
        let d = AllowedDomains::parse(patterns).unwrap();
        match RequestHost::parse_url(url) {
            Ok(h) => d.allows(Some(&h)),
            Err(_) => d.allows(None),
        }
    }

    #[test]
    fn exact_host() {
        let p = ["api.github.com"];
        assert!(allowed(&p, "https://api.github.com/user"));
        assert!(allowed(&p, "https://API.GitHub.com./user"));
        assert!(allowed(&p, "http://api.github.com:8443/x"));
        assert!(!allowed(&p, "https://github.com/"));
        assert!(!allowed(&p, "https://x.api.github.com/"));
        assert!(!allowed(&p, "https://api.github.com.evil.net/"));
        assert!(!allowed(&p, "https://evilapi.github.com/"));
        assert!(!allowed(&p, "https://api.github.com@evil.com/"));
        assert!(!allowed(&p, "https://api.github.com:443@evil.com/"));
        assert!(!allowed(&p, "https://evil.com/?u=https://api.github.com"));
        assert!(!allowed(&p, "https://evil.com/#api.github.com"));
        assert!(!allowed(&p, "ftp://api.github.com/"));
        assert!(!allowed(&p, "not a url"));
        // percent-encoding in the host is decoded the way the HTTP client does
        assert!(allowed(&p, "https://api.git%68ub.com/"));
    }

    #[test]
    fn wildcard_subdomains_only() {
        let p = ["*.example.com"];
        assert!(allowed(&p, "https://a.example.com/"));
        assert!(allowed(&p, "https://a.b.EXAMPLE.com./"));
        assert!(!allowed(&p, "https://example.com/"));
        assert!(!allowed(&p, "https://badexample.com/"));
        assert!(!allowed(&p, "https://a.example.com.evil.net/"));
        assert!(!allowed(&p, "https://example.com.a.example.org/"));
    }

    #[test]
    fn idn_and_lookalikes() {
        assert!(allowed(&["bücher.de"], "https://xn--bcher-kva.de/"));
        assert!(allowed(&["xn--bcher-kva.de"], "https://BÜCHER.de/"));
        assert!(allowed(&["*.bücher.de"], "https://shop.bücher.de/"));
        // Cyrillic 'а' (U+0430) is not Latin 'a'.
        assert!(!allowed(&["paypal.com"], "https://pаypal.com/"));
        // Full-width dot is mapped by IDNA: the client connects to good.com, which is allowed.
        assert!(allowed(&["good.com"], "https://good\u{3002}com/"));
    }

    #[test]
    fn ip_literals() {
        assert!(allowed(&["127.0.0.1"], "http://127.0.0.1:8080/"));
        assert!(
            allowed(&["127.0.0.1"], "http://2130706433/"),
            "decimal IPv4 form"
        );
        assert!(allowed(&["127.0.0.1"], "http://0x7f.1/"), "hex IPv4 form");
        assert!(!allowed(&["127.0.0.1"], "http://127.0.0.2/"));
        assert!(allowed(&["[::1]"], "http://[0:0::1]/"));
        assert!(!allowed(&["127.0.0.1"], "http://localhost/"));
        assert!(!allowed(&["*.example.com"], "http://93.184.216.34/"));
    }

    #[test]
    fn no_list_allows_any_host_and_no_url() {
        assert!(allowed(&[], "https://anything.example/"));
        assert!(AllowedDomains::any().allows(None));
        assert!(!AllowedDomains::parse(["a.com"]).unwrap().allows(None));
    }

    #[test]
    fn bad_patterns_are_errors() {
        for bad in [
            "",
            " ",
            "https://a.com",
            "a.com/x",
            "a.com:443",
            "u@a.com",
            "*",
            "*.",
            "a.*.com",
            "*.com",
            "*.127.0.0.1",
            "a b.com",
            "*.*.a.com",
        ] {
            let e = DomainPattern::parse(bad).expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{bad}");
            assert!(e.to_string().contains("allowed domain"), "{e}");
        }
        assert_eq!(
            DomainPattern::parse("Example.COM.").unwrap().to_string(),
            "example.com"
        );
        assert_eq!(
            DomainPattern::parse("*.bücher.de").unwrap().to_string(),
            "*.xn--bcher-kva.de"
        );
    }
}
