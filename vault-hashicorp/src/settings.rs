//! The integration settings: the `[integrations.hashicorp]` table of the config file.
//!
//! ```toml
//! [integrations.hashicorp]
//! oidc_provider_url = "https://vault.example.com:8200/v1/identity/oidc/provider/vault-refs"
//! client_id = "…"                           # printed by the setup tool
//! jwt_auth_path = "vault-refs-jwt"          # optional, this default
//! role = "vault-refs"                       # optional, this default
//! namespace = ""                            # optional; default: the provider URL's namespace
//! redirect_uri = "http://127.0.0.1:10545/"  # optional; default 10545, then 10534; port 0 = any
//! kv_versions = { secret = 2, kv1 = 1 }     # optional: KV version per mount (one request per read)
//! ```
//!
//! The Vault address is derived from the provider URL, never given twice.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::address::{AddressError, ProviderUrl};
use crate::defaults;
use crate::kv::KvVersion;
use crate::namespace::{Namespace, NamespaceError};
use crate::redirect::{LoopbackUri, RedirectError, RedirectPlan};

/// Why settings were rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A required key is absent.
    #[error("`{0}` is missing: {1}")]
    Missing(&'static str, &'static str),
    /// The provider URL is wrong.
    #[error("`oidc_provider_url`: {0}")]
    ProviderUrl(AddressError),
    /// The namespace is wrong.
    #[error("`namespace`: {0}")]
    Namespace(NamespaceError),
    /// The redirect URI is wrong.
    #[error("`redirect_uri`: {0}")]
    Redirect(RedirectError),
    /// A name (auth path, role, client id) is empty or holds a character Vault paths cannot.
    #[error("`{0}` = `{1}` is not a valid name (use A-Z a-z 0-9 _ - . and, for paths, /)")]
    BadName(&'static str, String),
    /// A `kv_versions` entry is not 1 or 2.
    #[error("`kv_versions`: mount `{0}` = {1} is not a KV version (1 or 2)")]
    KvVersion(String, i64),
}

/// The settings table as written (every key optional, unknown keys rejected).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    /// The OIDC provider URL (issuer).
    pub oidc_provider_url: Option<String>,
    /// Where the JWT auth method is mounted (without `auth/`).
    pub jwt_auth_path: Option<String>,
    /// The OIDC client id.
    pub client_id: Option<String>,
    /// The JWT role.
    pub role: Option<String>,
    /// The namespace of the JWT auth method and of the secrets.
    pub namespace: Option<String>,
    /// The loopback redirect URI.
    pub redirect_uri: Option<String>,
    /// The KV version of mounts, by mount path (`{ secret = 2, kv1 = 1 }`): reads on them
    /// skip the mount lookup.
    pub kv_versions: Option<BTreeMap<String, i64>>,
}

/// Checked settings of the HashiCorp integration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashicorpSettings {
    /// The OIDC provider, and through it the Vault address.
    pub provider: ProviderUrl,
    /// The OIDC client id (public client).
    pub client_id: String,
    /// Mount path of the JWT auth method.
    pub jwt_auth_path: String,
    /// JWT role to log in with.
    pub role: String,
    /// Namespace of the JWT auth method and the secrets (header `X-Vault-Namespace`).
    pub namespace: Namespace,
    /// Loopback redirect URIs to try, in order.
    pub redirect: RedirectPlan,
    /// KV versions the admin stated, by mount path (without slashes around).
    pub kv_versions: BTreeMap<String, KvVersion>,
}

fn check_name(key: &'static str, value: &str, slashes: bool) -> Result<String, SettingsError> {
    let v = value.trim().trim_matches('/');
    let ok = !v.is_empty()
        && v.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
        && v.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') || (slashes && c == '/')
        });
    if ok {
        Ok(v.to_owned())
    } else {
        Err(SettingsError::BadName(key, value.to_owned()))
    }
}

impl RawSettings {
    /// Checks the settings and fills in the defaults.
    ///
    /// The namespace is the `namespace` key when given and not empty, else the namespace in
    /// the provider URL's path (where the setup tool put the JWT auth method too).
    pub fn check(&self) -> Result<HashicorpSettings, SettingsError> {
        let url = self
            .oidc_provider_url
            .as_deref()
            .ok_or(SettingsError::Missing(
                "oidc_provider_url",
                "give the OIDC provider URL printed by the hashicorp-setup tool",
            ))?;
        let provider = ProviderUrl::parse(url).map_err(SettingsError::ProviderUrl)?;
        let client_id = self.client_id.as_deref().ok_or(SettingsError::Missing(
            "client_id",
            "give the OIDC client id printed by the hashicorp-setup tool",
        ))?;
        let client_id = check_name("client_id", client_id, false)?;
        let jwt_auth_path = check_name(
            "jwt_auth_path",
            self.jwt_auth_path
                .as_deref()
                .unwrap_or(defaults::JWT_AUTH_PATH),
            true,
        )?;
        let role = check_name(
            "role",
            self.role.as_deref().unwrap_or(defaults::ROLE),
            false,
        )?;
        let namespace = match self.namespace.as_deref().map(str::trim) {
            Some(ns) if !ns.is_empty() => Namespace::parse(ns).map_err(SettingsError::Namespace)?,
            _ => provider.namespace().clone(),
        };
        let redirect = match &self.redirect_uri {
            Some(uri) => {
                RedirectPlan::only(LoopbackUri::parse(uri).map_err(SettingsError::Redirect)?)
            }
            None => RedirectPlan::default_ports(),
        };
        let mut kv_versions = BTreeMap::new();
        for (mount, v) in self.kv_versions.iter().flatten() {
            let mount = check_name("kv_versions", mount, true)?;
            let version = KvVersion::parse(&v.to_string())
                .ok_or_else(|| SettingsError::KvVersion(mount.clone(), *v))?;
            kv_versions.insert(mount, version);
        }
        Ok(HashicorpSettings {
            provider,
            client_id,
            jwt_auth_path,
            role,
            namespace,
            redirect,
            kv_versions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawSettings {
        RawSettings {
            oidc_provider_url: Some(
                "http://127.0.0.1:8200/v1/team1/identity/oidc/provider/vault-refs".into(),
            ),
            client_id: Some("abc123".into()),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_fill_in() {
        let s = raw().check().unwrap();
        assert_eq!(s.jwt_auth_path, "vault-refs-jwt");
        assert_eq!(s.role, "vault-refs");
        assert_eq!(
            s.namespace.as_str(),
            "team1",
            "namespace taken from the URL"
        );
        assert_eq!(s.redirect, RedirectPlan::default_ports());
        assert!(s.kv_versions.is_empty());
    }

    #[test]
    fn kv_versions_per_mount() {
        let r: RawSettings = toml::from_str(
            r#"
            oidc_provider_url = "http://127.0.0.1:8200/v1/identity/oidc/provider/vault-refs"
            client_id = "abc"
            kv_versions = { secret = 2, kv1 = 1, "/team/kv/" = 2 }
            "#,
        )
        .unwrap();
        let s = r.check().unwrap();
        assert_eq!(s.kv_versions["secret"], KvVersion::V2);
        assert_eq!(s.kv_versions["kv1"], KvVersion::V1);
        assert_eq!(s.kv_versions["team/kv"], KvVersion::V2);
        let mut r = raw();
        r.kv_versions = Some([("secret".to_owned(), 3)].into_iter().collect());
        assert_eq!(
            r.check().unwrap_err().to_string(),
            "`kv_versions`: mount `secret` = 3 is not a KV version (1 or 2)"
        );
        r.kv_versions = Some([("a b".to_owned(), 2)].into_iter().collect());
        assert!(matches!(
            r.check(),
            Err(SettingsError::BadName("kv_versions", _))
        ));
    }

    #[test]
    fn explicit_namespace_wins_and_empty_means_from_url() {
        let mut r = raw();
        r.namespace = Some("team1/sub".into());
        assert_eq!(r.check().unwrap().namespace.as_str(), "team1/sub");
        r.namespace = Some(String::new());
        assert_eq!(r.check().unwrap().namespace.as_str(), "team1");
    }

    #[test]
    fn errors_name_the_key() {
        let mut r = raw();
        r.client_id = None;
        assert!(r
            .check()
            .unwrap_err()
            .to_string()
            .contains("`client_id` is missing"));
        let r = RawSettings::default();
        assert!(matches!(
            r.check(),
            Err(SettingsError::Missing("oidc_provider_url", _))
        ));
        let mut r = raw();
        r.role = Some("a b".into());
        assert!(matches!(r.check(), Err(SettingsError::BadName("role", _))));
        let mut r = raw();
        r.redirect_uri = Some("http://localhost:1/".into());
        assert!(r
            .check()
            .unwrap_err()
            .to_string()
            .starts_with("`redirect_uri`"));
        let mut r = raw();
        r.oidc_provider_url = Some("https://vault/v1/secret".into());
        assert!(matches!(r.check(), Err(SettingsError::ProviderUrl(_))));
    }
}
