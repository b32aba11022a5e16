//! Which hosts may receive a Key Vault token: the vault hosts of the known clouds, plus the
//! extra hosts an administrator lists in `vault_hosts` (private endpoints, test servers).
//!
//! Plain HTTP is allowed only for an extra host that is a loopback address: a bearer token in
//! clear text must never leave the machine.

use std::fmt;
use std::net::IpAddr;

use url::Url;

/// One extra allowed Key Vault host, `host[:port]` as written in `vault_hosts`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VaultHost {
    host: String,
    port: Option<u16>,
}

impl VaultHost {
    /// Parses `host[:port]` (`my-vault.privatelink.vaultcore.azure.net`, `127.0.0.1:18091`,
    /// `[::1]:8443`). No scheme, path, user name or wildcard.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        // Quoted in errors without any user info, query or fragment it may carry.
        let shown = vault_core::url_text::for_message(t);
        if t.is_empty() {
            return Err("an empty vault host".into());
        }
        if t.contains("://") || t.contains(['/', '@', '?', '#', '*', ' ']) {
            return Err(format!(
                "vault host `{shown}` must be `host` or `host:port`, without scheme, path, user or wildcard"
            ));
        }
        let url = Url::parse(&format!("https://{t}"))
            .map_err(|e| format!("vault host `{shown}` is not a host name: {e}"))?;
        let host = url
            .host_str()
            .ok_or_else(|| format!("vault host `{shown}` has no host"))?
            .to_ascii_lowercase();
        // `Url` drops an explicit :443 for https; keep the port as written.
        let port = match t.rsplit_once(':') {
            Some((_, p)) if !t.ends_with(']') => Some(
                p.parse::<u16>()
                    .map_err(|_| format!("vault host `{shown}` has a bad port"))?,
            ),
            _ => None,
        };
        Ok(VaultHost { host, port })
    }

    /// The host name or address (lower-case; IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, when one was given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Whether the host is a loopback address (or `localhost`): only these may use HTTP.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }

    /// Whether `url`'s host and port are this entry. Without a port, the entry matches the
    /// scheme's default port only.
    pub fn matches(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        if !host.eq_ignore_ascii_case(&self.host) {
            return false;
        }
        match self.port {
            Some(p) => url.port_or_known_default() == Some(p),
            None => url.port().is_none(),
        }
    }
}

impl fmt::Display for VaultHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// Whether `host` (as `Url::host_str` gives it) is a loopback address or `localhost`.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_and_ports() {
        let h = VaultHost::parse("127.0.0.1:18091").unwrap();
        assert_eq!((h.host(), h.port()), ("127.0.0.1", Some(18091)));
        assert!(h.is_loopback());
        let h = VaultHost::parse("My-Vault.privatelink.vaultcore.azure.net").unwrap();
        assert_eq!(h.host(), "my-vault.privatelink.vaultcore.azure.net");
        assert_eq!(h.port(), None);
        assert!(!h.is_loopback());
        let h = VaultHost::parse("[::1]:8443").unwrap();
        assert_eq!((h.host(), h.port()), ("[::1]", Some(8443)));
        assert!(h.is_loopback());
        assert_eq!(VaultHost::parse("h:443").unwrap().port(), Some(443));
    }

    #[test]
    fn refuses_urls_wildcards_and_users() {
        for bad in [
            "",
            "https://x.vault.azure.net",
            "*.example.com",
            "user@host",
            "host/path",
            "host:99999",
            "host:abc",
        ] {
            assert!(VaultHost::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn matching_respects_ports() {
        let h = VaultHost::parse("127.0.0.1:18091").unwrap();
        assert!(h.matches(&Url::parse("http://127.0.0.1:18091/secrets/x").unwrap()));
        assert!(!h.matches(&Url::parse("http://127.0.0.1:18092/secrets/x").unwrap()));
        assert!(!h.matches(&Url::parse("http://127.0.0.1/secrets/x").unwrap()));
        let h = VaultHost::parse("kv.example.com").unwrap();
        assert!(h.matches(&Url::parse("https://KV.example.com/secrets/x").unwrap()));
        assert!(!h.matches(&Url::parse("https://kv.example.com:8443/secrets/x").unwrap()));
        assert!(!h.matches(&Url::parse("https://kv.example.com.evil/secrets/x").unwrap()));
        let h = VaultHost::parse("kv.example.com:443").unwrap();
        assert!(h.matches(&Url::parse("https://kv.example.com/secrets/x").unwrap()));
    }
}
