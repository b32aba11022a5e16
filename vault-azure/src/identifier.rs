//! Key Vault secret identifiers: `https://<vault>.vault.azure.net/secrets/<name>[/<version>]`.
//!
//! Parsing is where the host-binding rule lives: an identifier whose host is not a Key Vault
//! host of a known [`Cloud`] and not listed in `vault_hosts` is refused here, long before a
//! token could be sent. The grammar follows the Key Vault documentation: vault names are 3-24
//! of `a-z 0-9 -` (starting with a letter, ending with a letter or digit, no `--`), secret
//! names 1-127 of `A-Z a-z 0-9 -`, versions 32 hex digits.

use std::fmt;

use url::Url;

use crate::cloud::Cloud;
use crate::host_policy::VaultHost;

/// Why an identifier was refused. Every variant says what was wrong, never a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentifierError {
    /// Not an absolute URL at all.
    #[error(
        "`{0}` is not a URL: expected https://<vault>.vault.azure.net/secrets/<name>[/<version>]"
    )]
    NotAUrl(String),
    /// A scheme other than https (or http for a listed loopback host).
    #[error("scheme `{0}` is not allowed: Key Vault identifiers use https")]
    Scheme(String),
    /// Plain HTTP to a host that is not a listed loopback host.
    #[error("plain http is allowed only for loopback hosts listed in vault_hosts, not `{0}`")]
    PlainHttp(String),
    /// A user name or password in the URL.
    #[error("an identifier must not carry a user name or password")]
    UserInfo,
    /// A query or fragment in the URL.
    #[error("an identifier must not have a query or fragment")]
    QueryOrFragment,
    /// The host is not a Key Vault host this integration may send a token to.
    #[error("host `{0}` is not a Key Vault host (*.vault.azure.net, *.vault.azure.cn, *.vault.usgovcloudapi.net) nor listed in vault_hosts")]
    HostNotAllowed(String),
    /// A port on a cloud vault host (they only serve 443).
    #[error("a port on Key Vault host `{0}` is not allowed")]
    Port(String),
    /// A malformed vault name in a cloud host.
    #[error("vault name `{0}` is invalid: 3-24 of a-z, 0-9 and -, starting with a letter, ending with a letter or digit, no `--`")]
    VaultName(String),
    /// The path is not `/secrets/<name>[/<version>]`.
    #[error("path `{0}` is not /secrets/<name>[/<version>]")]
    Path(String),
    /// A malformed secret name.
    #[error("secret name `{0}` is invalid: 1-127 of A-Z, a-z, 0-9 and -")]
    Name(String),
    /// A malformed version.
    #[error("version `{0}` is invalid: a Key Vault version is 32 hex digits")]
    Version(String),
}

/// A validated secret identifier.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretIdentifier {
    origin: String,
    vault: String,
    cloud: Option<Cloud>,
    name: String,
    version: Option<String>,
}

impl SecretIdentifier {
    /// Parses and validates `text`, allowing the cloud vault hosts and `extra_hosts`.
    pub fn parse(text: &str, extra_hosts: &[VaultHost]) -> Result<Self, IdentifierError> {
        let shown = vault_core::url_text::for_message(text);
        let url = Url::parse(text.trim()).map_err(|_| IdentifierError::NotAUrl(shown.clone()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(IdentifierError::UserInfo);
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(IdentifierError::QueryOrFragment);
        }
        let scheme = url.scheme();
        if scheme != "https" && scheme != "http" {
            return Err(IdentifierError::Scheme(shorten(scheme)));
        }
        let host = url
            .host_str()
            .ok_or_else(|| IdentifierError::NotAUrl(shown.clone()))?
            .to_ascii_lowercase();
        let host_port = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let (cloud, vault) = if let Some(extra) = extra_hosts.iter().find(|h| h.matches(&url)) {
            if scheme == "http" && !extra.is_loopback() {
                return Err(IdentifierError::PlainHttp(host_port));
            }
            // A private endpoint names the vault in its first label; an address names
            // nothing, so the whole host stands for the vault.
            let is_address = host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok();
            let vault = if is_address {
                host_port.clone()
            } else {
                host.split('.').next().unwrap_or(&host).to_owned()
            };
            (None, vault)
        } else if let Some((cloud, label)) = Cloud::split_vault_host(&host) {
            if scheme != "https" {
                return Err(IdentifierError::PlainHttp(host_port));
            }
            if url.port().is_some() {
                return Err(IdentifierError::Port(host_port));
            }
            if !valid_vault_name(label) {
                return Err(IdentifierError::VaultName(shorten(label)));
            }
            (Some(cloud), label.to_owned())
        } else {
            return Err(IdentifierError::HostNotAllowed(shorten(&host_port)));
        };
        let path = url.path();
        let rest = path
            .strip_prefix("/secrets/")
            .ok_or_else(|| IdentifierError::Path(shorten(path)))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let mut parts = rest.split('/');
        let name = parts.next().unwrap_or_default();
        let version = parts.next();
        if parts.next().is_some() {
            return Err(IdentifierError::Path(shorten(path)));
        }
        if !valid_secret_name(name) {
            return Err(IdentifierError::Name(shorten(name)));
        }
        if let Some(v) = version {
            if v.len() != 32 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(IdentifierError::Version(shorten(v)));
            }
        }
        Ok(SecretIdentifier {
            origin: format!("{scheme}://{host_port}"),
            vault,
            cloud,
            name: name.to_owned(),
            version: version.map(str::to_ascii_lowercase),
        })
    }

    /// `scheme://host[:port]` of the vault.
    pub fn vault_origin(&self) -> &str {
        &self.origin
    }

    /// The vault's name (the first DNS label of its host).
    pub fn vault_name(&self) -> &str {
        &self.vault
    }

    /// The cloud of a cloud vault host; `None` for a host from `vault_hosts`.
    pub fn cloud(&self) -> Option<Cloud> {
        self.cloud
    }

    /// The secret's name as written.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pinned version, if any (lower-case); `None` means the latest.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The canonical text: Key Vault names are case-insensitive, so name and host are
    /// lower-cased and two spellings of one secret share one cache entry.
    pub fn canonical(&self) -> String {
        let mut s = format!("{}/secrets/{}", self.origin, self.name.to_ascii_lowercase());
        if let Some(v) = &self.version {
            s.push('/');
            s.push_str(v);
        }
        s
    }

    /// The GET Secret URL for `api_version`.
    pub fn request_url(&self, api_version: &str) -> String {
        let mut s = format!("{}/secrets/{}", self.origin, self.name);
        if let Some(v) = &self.version {
            s.push('/');
            s.push_str(v);
        }
        s.push_str("?api-version=");
        s.push_str(api_version);
        s
    }
}

impl fmt::Display for SecretIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl fmt::Debug for SecretIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretIdentifier({})", self.canonical())
    }
}

fn valid_vault_name(s: &str) -> bool {
    let b = s.as_bytes();
    (3..=24).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !s.contains("--")
}

fn valid_secret_name(s: &str) -> bool {
    (1..=127).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
}

/// Hostile input can be long: error messages quote at most 80 characters of it.
fn shorten(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(80).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<SecretIdentifier, IdentifierError> {
        SecretIdentifier::parse(s, &[VaultHost::parse("127.0.0.1:18091").unwrap()])
    }

    const V: &str = "4387e9f3d6e14c459867679a90fd0f79";

    #[test]
    fn cloud_identifiers() {
        let id = parse("https://my-vault.vault.azure.net/secrets/Api-Key").unwrap();
        assert_eq!(id.cloud(), Some(Cloud::Public));
        assert_eq!(id.vault_name(), "my-vault");
        assert_eq!(id.name(), "Api-Key");
        assert_eq!(id.version(), None);
        assert_eq!(
            id.canonical(),
            "https://my-vault.vault.azure.net/secrets/api-key"
        );
        assert_eq!(
            id.request_url("7.5"),
            "https://my-vault.vault.azure.net/secrets/Api-Key?api-version=7.5"
        );
        let id = parse(&format!(
            "https://MY-VAULT.vault.azure.cn/secrets/x/{}/",
            V.to_uppercase()
        ))
        .unwrap();
        assert_eq!(id.cloud(), Some(Cloud::China));
        assert_eq!(id.version(), Some(V));
        assert_eq!(
            id.canonical(),
            format!("https://my-vault.vault.azure.cn/secrets/x/{V}")
        );
        assert_eq!(
            parse("https://gov1.vault.usgovcloudapi.net/secrets/a/")
                .unwrap()
                .cloud(),
            Some(Cloud::UsGovernment)
        );
        // explicit default port is the same URL
        assert!(parse("https://abc.vault.azure.net:443/secrets/a").is_ok());
    }

    #[test]
    fn listed_loopback_host_may_use_http() {
        let id = parse("http://127.0.0.1:18091/secrets/db-password").unwrap();
        assert_eq!(id.cloud(), None);
        assert_eq!(id.vault_origin(), "http://127.0.0.1:18091");
        assert_eq!(id.vault_name(), "127.0.0.1:18091");
        assert!(matches!(
            parse("http://127.0.0.1:18092/secrets/db-password"),
            Err(IdentifierError::HostNotAllowed(_))
        ));
        let extra = [VaultHost::parse("kv.internal.example").unwrap()];
        assert!(matches!(
            SecretIdentifier::parse("http://kv.internal.example/secrets/a", &extra),
            Err(IdentifierError::PlainHttp(_))
        ));
        assert!(SecretIdentifier::parse("https://kv.internal.example/secrets/a", &extra).is_ok());
    }

    #[test]
    fn hostile_hosts_are_refused() {
        use IdentifierError::*;
        type Check = fn(&IdentifierError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("https://evil.com/secrets/a", |e| {
                matches!(e, HostNotAllowed(_))
            }),
            ("https://vault.azure.net.evil.com/secrets/a", |e| {
                matches!(e, HostNotAllowed(_))
            }),
            ("https://myvault.vault.azure.net.evil.com/secrets/a", |e| {
                matches!(e, HostNotAllowed(_))
            }),
            ("https://myvault-vault.azure.net/secrets/a", |e| {
                matches!(e, HostNotAllowed(_))
            }),
            ("https://myvault.vault.azure.net./secrets/a", |e| {
                matches!(e, HostNotAllowed(_))
            }),
            ("https://myvault.vault.azure.com/secrets/a", |e| {
                matches!(e, HostNotAllowed(_))
            }),
            ("https://vault.azure.net/secrets/a", |e| {
                matches!(e, HostNotAllowed(_))
            }),
            ("https://myvault.vault.azure.net@evil.com/secrets/a", |e| {
                matches!(e, UserInfo)
            }),
            ("https://evil.com@myvault.vault.azure.net/secrets/a", |e| {
                matches!(e, UserInfo)
            }),
            (
                "https://evil.com\\@myvault.vault.azure.net/secrets/a",
                |e| matches!(e, HostNotAllowed(_) | UserInfo),
            ),
            ("https://evil.com#@myvault.vault.azure.net/secrets/a", |e| {
                matches!(e, HostNotAllowed(_) | QueryOrFragment)
            }),
            ("https://myvault.vault.azure.net:8443/secrets/a", |e| {
                matches!(e, Port(_))
            }),
            ("http://myvault.vault.azure.net/secrets/a", |e| {
                matches!(e, PlainHttp(_))
            }),
            ("ftp://myvault.vault.azure.net/secrets/a", |e| {
                matches!(e, Scheme(_))
            }),
            ("https://a.b.vault.azure.net/secrets/a", |e| {
                matches!(e, VaultName(_))
            }),
            ("https://xn--80ak6aa92e.vault.azure.net/secrets/a", |e| {
                matches!(e, VaultName(_))
            }),
            ("https://myvаult.vault.azure.net/secrets/a", |e| {
                matches!(e, VaultName(_))
            }),
            ("https://127.0.0.1/secrets/a", |e| {
                matches!(e, HostNotAllowed(_))
            }),
            ("https://[::1]:18091/secrets/a", |e| {
                matches!(e, HostNotAllowed(_))
            }),
            ("https://myvault.vault.azure.net/secrets/a?x=1", |e| {
                matches!(e, QueryOrFragment)
            }),
            ("https://myvault.vault.azure.net/secrets/a#frag", |e| {
                matches!(e, QueryOrFragment)
            }),
            ("myvault.vault.azure.net/secrets/a", |e| {
                matches!(e, NotAUrl(_))
            }),
        ];
        for (input, check) in cases {
            let e = parse(input).expect_err(input);
            assert!(check(&e), "{input}: {e:?}");
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn bad_names_paths_and_versions() {
        use IdentifierError::*;
        for (input, want) in [
            ("https://ab.vault.azure.net/secrets/a", "vault"),
            ("https://1abc.vault.azure.net/secrets/a", "vault"),
            ("https://abc-.vault.azure.net/secrets/a", "vault"),
            ("https://ab--c.vault.azure.net/secrets/a", "vault"),
            (
                "https://abcdefghijklmnopqrstuvwxy.vault.azure.net/secrets/a",
                "vault",
            ),
            ("https://abc.vault.azure.net/keys/a", "path"),
            ("https://abc.vault.azure.net/secrets/", "name"),
            ("https://abc.vault.azure.net/secrets", "path"),
            ("https://abc.vault.azure.net/secrets/a_b", "name"),
            ("https://abc.vault.azure.net/secrets/a%2Fb", "name"),
            ("https://abc.vault.azure.net/secrets/a.b", "name"),
            ("https://abc.vault.azure.net/secrets/../keys/a", "path"),
            ("https://abc.vault.azure.net/secrets/a/b/c", "path"),
            ("https://abc.vault.azure.net/secrets/a/123", "version"),
            (
                "https://abc.vault.azure.net/secrets/a/4387e9f3d6e14c459867679a90fd0f7g",
                "version",
            ),
        ] {
            let e = parse(input).expect_err(input);
            let ok = match want {
                "vault" => matches!(e, VaultName(_)),
                "path" => matches!(e, Path(_)),
                "name" => matches!(e, Name(_)),
                _ => matches!(e, Version(_)),
            };
            assert!(ok, "{input}: {e:?}");
        }
        let long = format!("https://abc.vault.azure.net/secrets/{}", "a".repeat(128));
        assert!(matches!(parse(&long), Err(Name(_))));
        let e = parse(&format!("https://evil{}.com/secrets/a", "x".repeat(500))).unwrap_err();
        assert!(e.to_string().len() < 300, "{e}");
    }
}
