//! The Vault address and the OIDC provider URL it is derived from.
//!
//! The provider URL (`https://vault:8200/v1/[<namespace>/]identity/oidc/provider/<name>`) is the
//! one value an admin hands out: the Vault address, the provider's namespace and its name are
//! all read from it, so they can never disagree.

use std::fmt;
use std::net::IpAddr;

use url::Url;
use vault_core::url_text::for_message;

use crate::namespace::{Namespace, NamespaceError};

/// Why a URL was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Not a URL at all.
    #[error("`{0}` is not a URL: {1}")]
    NotAUrl(String, String),
    /// A scheme other than http or https.
    #[error("`{0}` must start with https:// (or http:// for a loopback address)")]
    Scheme(String),
    /// Plain http to a host that is not loopback: tokens would travel in clear.
    #[error("`{0}` uses http:// to a host that is not loopback; use https://")]
    InsecureHttp(String),
    /// User info, query or fragment where none belongs.
    #[error("`{0}` must not carry a user name, password, query or fragment")]
    Extra(String),
    /// The path is not `/v1/[<namespace>/]identity/oidc/provider/<name>`.
    #[error(
        "`{0}` is not an OIDC provider URL: expected <vault address>/v1/[<namespace>/]identity/oidc/provider/<name>"
    )]
    NotAProviderUrl(String),
    /// The namespace in the path is malformed.
    #[error("in `{0}`: {1}")]
    Namespace(String, NamespaceError),
}

/// Whether `host` is a loopback host, where plain http is acceptable.
pub(crate) fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Checks the scheme rule of this crate: https, or http to a loopback host only.
pub(crate) fn check_scheme(url: &Url, text: &str) -> Result<(), AddressError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(url) => Ok(()),
        "http" => Err(AddressError::InsecureHttp(for_message(text))),
        _ => Err(AddressError::Scheme(for_message(text))),
    }
}

/// The address of a Vault server: scheme, host, port and an optional path prefix (for a
/// server behind a reverse proxy), without `/v1`. Tokens are only ever sent here.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VaultAddress {
    /// Always ends without a slash.
    base: String,
}

impl VaultAddress {
    /// Parses `https://vault.example.com:8200` (a trailing slash is dropped).
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        let url = Url::parse(text.trim())
            .map_err(|e| AddressError::NotAUrl(for_message(text), e.to_string()))?;
        check_scheme(&url, text)?;
        if !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(AddressError::Extra(for_message(text)));
        }
        Ok(Self::from_url_prefix(&url, url.path()))
    }

    fn from_url_prefix(url: &Url, prefix: &str) -> Self {
        let mut base = url.origin().ascii_serialization();
        base.push_str(prefix.trim_end_matches('/'));
        VaultAddress { base }
    }

    /// The address as text, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// The URL of the API path `path` (relative to `/v1/`).
    pub fn api_url(&self, path: &str) -> Result<Url, url::ParseError> {
        Url::parse(&format!(
            "{}/v1/{}",
            self.base,
            path.trim_start_matches('/')
        ))
    }

    /// Whether `url` points at this server (same origin, under the address's prefix): the
    /// check made before a Vault token goes out.
    pub fn owns(&self, url: &Url) -> bool {
        let s = url.as_str();
        s.starts_with(&self.base) && matches!(s.as_bytes().get(self.base.len()), None | Some(b'/'))
    }
}

impl fmt::Display for VaultAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

impl fmt::Debug for VaultAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VaultAddress({})", self.base)
    }
}

/// A parsed OIDC provider URL (the provider's issuer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderUrl {
    issuer: String,
    address: VaultAddress,
    namespace: Namespace,
    name: String,
}

impl ProviderUrl {
    /// Parses `https://vault:8200/v1/[<namespace>/]identity/oidc/provider/<name>`.
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        let trimmed = text.trim();
        let url = Url::parse(trimmed)
            .map_err(|e| AddressError::NotAUrl(for_message(text), e.to_string()))?;
        check_scheme(&url, text)?;
        if !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(AddressError::Extra(for_message(text)));
        }
        let bad = || AddressError::NotAProviderUrl(for_message(text));
        let path = url.path().trim_end_matches('/');
        let v1 = path.find("/v1/").ok_or_else(bad)?;
        let (prefix, rest) = (&path[..v1], &path[v1 + 4..]);
        let marker = "identity/oidc/provider/";
        let at = if rest.starts_with(marker) {
            0
        } else {
            rest.find(&format!("/{marker}")).ok_or_else(bad)? + 1
        };
        let ns_text = &rest[..at];
        let name = &rest[at + marker.len()..];
        if name.is_empty() || name.contains('/') {
            return Err(bad());
        }
        let namespace =
            Namespace::parse(ns_text).map_err(|e| AddressError::Namespace(for_message(text), e))?;
        let address = VaultAddress::from_url_prefix(&url, prefix);
        let issuer = format!("{}/v1/{}{}{}", address.as_str(), ns_text, marker, name);
        Ok(ProviderUrl {
            issuer,
            address,
            namespace,
            name: name.to_owned(),
        })
    }

    /// The issuer URL, exactly as the provider states it (no trailing slash).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The Vault address the provider lives on.
    pub fn address(&self) -> &VaultAddress {
        &self.address
    }

    /// The namespace in the URL's path (root when none).
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// The provider's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `<issuer>/<suffix>`: discovery, authorize, token and keys live under the issuer, with
    /// the namespace already in the path.
    pub fn endpoint(&self, suffix: &str) -> String {
        format!("{}/{}", self.issuer, suffix.trim_start_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_url_in_root_namespace() {
        let p = ProviderUrl::parse(
            "https://vault.example.com:8200/v1/identity/oidc/provider/vault-refs/",
        )
        .unwrap();
        assert_eq!(p.address().as_str(), "https://vault.example.com:8200");
        assert!(p.namespace().is_root());
        assert_eq!(p.name(), "vault-refs");
        assert_eq!(
            p.issuer(),
            "https://vault.example.com:8200/v1/identity/oidc/provider/vault-refs"
        );
        assert_eq!(
            p.endpoint("token"),
            "https://vault.example.com:8200/v1/identity/oidc/provider/vault-refs/token"
        );
    }

    #[test]
    fn provider_url_with_namespace_and_proxy_prefix() {
        let p = ProviderUrl::parse("http://127.0.0.1:8200/v1/admin/team1/identity/oidc/provider/p")
            .unwrap();
        assert_eq!(p.namespace().as_str(), "admin/team1");
        assert_eq!(p.address().as_str(), "http://127.0.0.1:8200");
        let p =
            ProviderUrl::parse("https://proxy.example/vault/v1/identity/oidc/provider/p").unwrap();
        assert_eq!(p.address().as_str(), "https://proxy.example/vault");
        assert_eq!(
            p.address().api_url("secret/data/x").unwrap().as_str(),
            "https://proxy.example/vault/v1/secret/data/x"
        );
    }

    #[test]
    fn bad_provider_urls_say_why() {
        use AddressError::*;
        type Check = fn(&AddressError) -> bool;
        let cases: [(&str, Check); 7] = [
            ("vault.example.com", |e| matches!(e, NotAUrl(..))),
            ("ftp://vault/v1/identity/oidc/provider/p", |e| {
                matches!(e, Scheme(_))
            }),
            (
                "http://vault.example.com/v1/identity/oidc/provider/p",
                |e| matches!(e, InsecureHttp(_)),
            ),
            ("https://vault/v1/identity/oidc/provider/p?x=1", |e| {
                matches!(e, Extra(_))
            }),
            ("https://vault/v1/identity/oidc/provider/", |e| {
                matches!(e, NotAProviderUrl(_))
            }),
            ("https://vault/v1/identity/oidc/key/p", |e| {
                matches!(e, NotAProviderUrl(_))
            }),
            ("https://vault/v1/a b/identity/oidc/provider/p", |e| {
                matches!(e, Namespace(..))
            }),
        ];
        for (text, is) in cases {
            let e = ProviderUrl::parse(text).unwrap_err();
            assert!(is(&e), "{text}: {e:?}");
        }
    }

    #[test]
    fn address_ownership_is_by_prefix_boundary() {
        let a = VaultAddress::parse("https://vault.example.com:8200/").unwrap();
        assert!(a.owns(&Url::parse("https://vault.example.com:8200/v1/x").unwrap()));
        assert!(!a.owns(&Url::parse("https://vault.example.com:8201/v1/x").unwrap()));
        assert!(!a.owns(&Url::parse("https://vault.example.com.evil/v1/x").unwrap()));
        assert!(VaultAddress::parse("http://localhost:8200").is_ok());
        assert!(matches!(
            VaultAddress::parse("http://10.0.0.1:8200"),
            Err(AddressError::InsecureHttp(_))
        ));
    }
}
