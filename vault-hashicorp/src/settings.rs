//! The integration settings: the `[integrations.hashicorp]` table of the config file.
//!
//! ```toml
//! [integrations.hashicorp]
//! # the seed's flow (auth_method = "oidc_provider", the default when this URL is given):
//! oidc_provider_url = "https://vault.example.com:8200/v1/identity/oidc/provider/vault-refs"
//! client_id = "…"                           # printed by the setup tool
//! jwt_auth_path = "vault-refs-jwt"          # optional, this default
//! role = "vault-refs"                       # optional, this default
//! namespace = ""                            # optional; default: the provider URL's namespace
//! redirect_uri = "http://127.0.0.1:10545/"  # optional; default 10545, then 10534; port 0 = any
//!
//! # other ways in:
//! address = "https://vault.example.com:8200"  # optional; else VAULT_ADDR
//! auth_method = "approle"   # "oidc_provider" | "oidc" | "jwt" | "approle" | "kubernetes" | "token" | "agent"
//! mount = "approle"         # the auth method's mount path (default: the method's name)
//! role_id = "…"             # approle (or role_id_file / role_id_env)
//! secret_id_file = "/run/secrets/vault-secret-id"   # approle (or secret_id_env)
//! jwt_file = "/var/run/ci/oidc-token"               # jwt, kubernetes (or jwt_env)
//! kv_versions = { secret = 2, kv1 = 1 }     # optional: KV version per mount (one request per read)
//! ```
//!
//! Where a key is absent the Vault CLI's conventions apply: `VAULT_ADDR`, `VAULT_NAMESPACE`,
//! and for `auth_method = "token"` the token from `VAULT_TOKEN`, the token helper named in
//! `~/.vault` or `~/.vault-token` ([`crate::cli_token`]). Without `oidc_provider_url` and
//! without `auth_method`, the method is `token`: an empty table with `VAULT_ADDR` set behaves
//! like the `vault` CLI.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::ExposeSecret;
use serde::Deserialize;
use url::Url;
use vault_core::{Environment, MapEnv};

use crate::address::{AddressError, ProviderUrl, VaultAddress};
use crate::defaults;
use crate::kv::KvVersion;
use crate::namespace::{Namespace, NamespaceError};
use crate::redirect::{LoopbackUri, RedirectError, RedirectPlan};

/// The redirect URI of `auth_method = "oidc"` when none is given: the one `vault login
/// -method=oidc` uses by default, so a role already set up for the CLI works unchanged.
pub const OIDC_CLI_REDIRECT_URI: &str = "http://localhost:8250/oidc/callback";

/// Where a Kubernetes pod finds its service-account token.
pub const KUBERNETES_TOKEN_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Why settings were rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A required key is absent.
    #[error("`{0}` is missing: {1}")]
    Missing(&'static str, &'static str),
    /// The provider URL is wrong.
    #[error("`oidc_provider_url`: {0}")]
    ProviderUrl(AddressError),
    /// The Vault address (`address` or `VAULT_ADDR`) is wrong.
    #[error("`{0}`: {1}")]
    Address(&'static str, AddressError),
    /// The namespace is wrong.
    #[error("`{0}`: {1}")]
    Namespace(&'static str, NamespaceError),
    /// The redirect URI is wrong.
    #[error("`redirect_uri`: {0}")]
    Redirect(RedirectError),
    /// A name (auth path, role, client id) is empty or holds a character Vault paths cannot.
    #[error("`{0}` = `{1}` is not a valid name (use A-Z a-z 0-9 _ - . and, for paths, /)")]
    BadName(&'static str, String),
    /// `auth_method` names no method this crate knows.
    #[error("`auth_method` = `{0}` is not one of oidc_provider, oidc, jwt, approle, kubernetes, token, agent")]
    UnknownMethod(String),
    /// Two keys that exclude each other, or a key the method does not use.
    #[error("{0}")]
    Conflict(String),
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
    /// The Vault address (else `VAULT_ADDR`, else the provider URL's).
    pub address: Option<String>,
    /// How to get a Vault token (see [`AuthMethod`]).
    pub auth_method: Option<String>,
    /// The auth method's mount path (default: the method's name).
    pub mount: Option<String>,
    /// AppRole: the role id.
    pub role_id: Option<String>,
    /// AppRole: a file holding the role id.
    pub role_id_file: Option<String>,
    /// AppRole: a variable holding the role id.
    pub role_id_env: Option<String>,
    /// AppRole: a file holding the secret id.
    pub secret_id_file: Option<String>,
    /// AppRole: a variable holding the secret id.
    pub secret_id_env: Option<String>,
    /// JWT / Kubernetes: a file holding the JWT.
    pub jwt_file: Option<String>,
    /// JWT: a variable holding the JWT.
    pub jwt_env: Option<String>,
    /// The KV version of mounts, by mount path (`{ secret = 2, kv1 = 1 }`): reads on them
    /// skip the mount lookup.
    pub kv_versions: Option<BTreeMap<String, i64>>,
}

/// The auth method names of `auth_method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// The seed's flow: Vault's OIDC provider in the browser, then JWT login.
    OidcProvider,
    /// Vault as the OIDC relying party (`vault login -method=oidc`).
    Oidc,
    /// A JWT from a file or variable (CI OIDC tokens).
    Jwt,
    /// AppRole: role id + secret id.
    Approle,
    /// A Kubernetes service-account token.
    Kubernetes,
    /// The token the Vault CLI would use.
    Token,
    /// A local Vault Agent / Vault Proxy with auto-auth: no token is sent.
    Agent,
}

impl AuthMethod {
    /// Parses the `auth_method` value.
    pub fn parse(text: &str) -> Result<Self, SettingsError> {
        Ok(match text.trim() {
            "oidc_provider" => AuthMethod::OidcProvider,
            "oidc" => AuthMethod::Oidc,
            "jwt" => AuthMethod::Jwt,
            "approle" => AuthMethod::Approle,
            "kubernetes" => AuthMethod::Kubernetes,
            "token" => AuthMethod::Token,
            "agent" => AuthMethod::Agent,
            other => return Err(SettingsError::UnknownMethod(other.to_owned())),
        })
    }

    /// The name as written in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::OidcProvider => "oidc_provider",
            AuthMethod::Oidc => "oidc",
            AuthMethod::Jwt => "jwt",
            AuthMethod::Approle => "approle",
            AuthMethod::Kubernetes => "kubernetes",
            AuthMethod::Token => "token",
            AuthMethod::Agent => "agent",
        }
    }
}

/// Where a credential that is not written in the config file is read from, at sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialSource {
    /// Given in the config file (only for non-secret values such as a role id).
    Inline(String),
    /// A file (trimmed of surrounding whitespace).
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

/// The seed's flow: Vault's OIDC provider, then JWT login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcProviderSettings {
    /// The OIDC provider, and through it the Vault address.
    pub provider: ProviderUrl,
    /// The OIDC client id (public client).
    pub client_id: String,
    /// Mount path of the JWT auth method.
    pub jwt_auth_path: String,
    /// JWT role to log in with.
    pub role: String,
    /// Loopback redirect URIs to try, in order.
    pub redirect: RedirectPlan,
}

/// How the provider gets its Vault token, with what each method needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthSettings {
    /// See [`AuthMethod::OidcProvider`].
    OidcProvider(OidcProviderSettings),
    /// See [`AuthMethod::Oidc`]: `auth/<mount>/oidc/auth_url`, browser, callback.
    Oidc {
        /// The auth mount (default `oidc`).
        mount: String,
        /// The role (else the mount's `default_role`).
        role: Option<String>,
        /// The loopback redirect URI (default [`OIDC_CLI_REDIRECT_URI`]).
        redirect: Url,
    },
    /// See [`AuthMethod::Jwt`].
    Jwt {
        /// The auth mount (default `jwt`).
        mount: String,
        /// The role (else the mount's `default_role`).
        role: Option<String>,
        /// Where the JWT is read from at each login.
        jwt: CredentialSource,
    },
    /// See [`AuthMethod::Approle`].
    Approle {
        /// The auth mount (default `approle`).
        mount: String,
        /// The role id.
        role_id: CredentialSource,
        /// The secret id (absent for a role without `bind_secret_id`).
        secret_id: Option<CredentialSource>,
    },
    /// See [`AuthMethod::Kubernetes`].
    Kubernetes {
        /// The auth mount (default `kubernetes`).
        mount: String,
        /// The role.
        role: String,
        /// The service-account token (default [`KUBERNETES_TOKEN_FILE`]).
        jwt: CredentialSource,
    },
    /// See [`AuthMethod::Token`].
    Token,
    /// See [`AuthMethod::Agent`].
    Agent,
}

impl AuthSettings {
    /// The method.
    pub fn method(&self) -> AuthMethod {
        match self {
            AuthSettings::OidcProvider(_) => AuthMethod::OidcProvider,
            AuthSettings::Oidc { .. } => AuthMethod::Oidc,
            AuthSettings::Jwt { .. } => AuthMethod::Jwt,
            AuthSettings::Approle { .. } => AuthMethod::Approle,
            AuthSettings::Kubernetes { .. } => AuthMethod::Kubernetes,
            AuthSettings::Token => AuthMethod::Token,
            AuthSettings::Agent => AuthMethod::Agent,
        }
    }

    /// What tells one configuration of this method from another (mount and role; never a
    /// secret): part of the session store key.
    pub fn identity(&self) -> String {
        match self {
            AuthSettings::OidcProvider(s) => {
                format!(
                    "oidc_provider|{}|{}|{}",
                    s.client_id, s.jwt_auth_path, s.role
                )
            }
            AuthSettings::Oidc { mount, role, .. } | AuthSettings::Jwt { mount, role, .. } => {
                format!(
                    "{}|{mount}|{}",
                    self.method().as_str(),
                    role.as_deref().unwrap_or("")
                )
            }
            AuthSettings::Approle { mount, role_id, .. } => match role_id {
                CredentialSource::Inline(id) => format!("approle|{mount}|{id}"),
                CredentialSource::File(p) => format!("approle|{mount}|file:{}", p.display()),
                CredentialSource::Env(v) => format!("approle|{mount}|env:{v}"),
            },
            AuthSettings::Kubernetes { mount, role, .. } => format!("kubernetes|{mount}|{role}"),
            AuthSettings::Token => "token".into(),
            AuthSettings::Agent => "agent".into(),
        }
    }
}

/// Checked settings of the HashiCorp integration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashicorpSettings {
    /// The Vault address: tokens go here and nowhere else.
    pub address: VaultAddress,
    /// Namespace of the login and the secrets (header `X-Vault-Namespace`).
    pub namespace: Namespace,
    /// How the token is obtained.
    pub auth: AuthSettings,
    /// KV versions the admin stated, by mount path (without slashes around).
    pub kv_versions: BTreeMap<String, KvVersion>,
}

impl HashicorpSettings {
    /// The seed flow's settings, when that is the method.
    pub fn oidc_provider(&self) -> Option<&OidcProviderSettings> {
        match &self.auth {
            AuthSettings::OidcProvider(s) => Some(s),
            _ => None,
        }
    }
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

/// `~/x` with `HOME` from `env` (the host's environment, injected for tests).
pub(crate) fn expand_home(path: &str, env: &dyn Environment) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => match env.var("HOME") {
            Some(home) => PathBuf::from(home.expose_secret()).join(rest),
            None => PathBuf::from(path),
        },
        None => PathBuf::from(path),
    }
}

impl RawSettings {
    /// Checks the settings and fills in the defaults, reading no environment (no
    /// `VAULT_ADDR`, `VAULT_NAMESPACE`, `HOME`): see [`RawSettings::check_in`].
    pub fn check(&self) -> Result<HashicorpSettings, SettingsError> {
        self.check_in(&MapEnv::new())
    }

    /// Checks the settings and fills in the defaults, the Vault CLI's variables included.
    ///
    /// Address: `address`, else `VAULT_ADDR`, else the provider URL's. Namespace: the
    /// `namespace` key when given and not empty; else, for the seed's flow, the provider URL's
    /// namespace (where the setup tool put the JWT auth method too); else `VAULT_NAMESPACE`.
    pub fn check_in(&self, env: &dyn Environment) -> Result<HashicorpSettings, SettingsError> {
        let method = match self.auth_method.as_deref().map(str::trim) {
            Some(m) if !m.is_empty() => AuthMethod::parse(m)?,
            _ if self.oidc_provider_url.is_some() => AuthMethod::OidcProvider,
            _ => AuthMethod::Token,
        };
        if method != AuthMethod::OidcProvider {
            for (key, set) in [
                ("oidc_provider_url", self.oidc_provider_url.is_some()),
                ("client_id", self.client_id.is_some()),
                ("jwt_auth_path", self.jwt_auth_path.is_some()),
            ] {
                if set {
                    return Err(SettingsError::Conflict(format!(
                        "`{key}` belongs to auth_method = \"oidc_provider\", not \"{}\"",
                        method.as_str()
                    )));
                }
            }
        }
        let key_ns = match self.namespace.as_deref().map(str::trim) {
            Some(ns) if !ns.is_empty() => {
                Some(Namespace::parse(ns).map_err(|e| SettingsError::Namespace("namespace", e))?)
            }
            _ => None,
        };
        let env_ns = || -> Result<Namespace, SettingsError> {
            match env.var("VAULT_NAMESPACE") {
                Some(ns) if !ns.expose_secret().trim().is_empty() => {
                    Namespace::parse(ns.expose_secret().trim())
                        .map_err(|e| SettingsError::Namespace("VAULT_NAMESPACE", e))
                }
                _ => Ok(Namespace::root()),
            }
        };
        let given_address = match &self.address {
            Some(a) => {
                Some(VaultAddress::parse(a).map_err(|e| SettingsError::Address("address", e))?)
            }
            None => None,
        };
        let env_address = || -> Result<Option<VaultAddress>, SettingsError> {
            match env.var("VAULT_ADDR") {
                Some(a) if !a.expose_secret().trim().is_empty() => {
                    VaultAddress::parse(a.expose_secret())
                        .map(Some)
                        .map_err(|e| SettingsError::Address("VAULT_ADDR", e))
                }
                _ => Ok(None),
            }
        };
        let mount = |default: &'static str| {
            check_name("mount", self.mount.as_deref().unwrap_or(default), true)
        };
        let role = |key: &'static str| -> Result<Option<String>, SettingsError> {
            self.role
                .as_deref()
                .map(|r| check_name(key, r, false))
                .transpose()
        };
        let path = |p: &str| CredentialSource::File(expand_home(p, env));
        let jwt_source = |default_file: Option<&str>| -> Result<CredentialSource, SettingsError> {
            match (&self.jwt_file, &self.jwt_env, default_file) {
                (Some(_), Some(_), _) => Err(SettingsError::Conflict(
                    "give `jwt_file` or `jwt_env`, not both".into(),
                )),
                (Some(f), None, _) => Ok(path(f)),
                (None, Some(v), _) => Ok(CredentialSource::Env(v.clone())),
                (None, None, Some(f)) => Ok(path(f)),
                (None, None, None) => Err(SettingsError::Missing(
                    "jwt_file",
                    "give the file (or with `jwt_env` the variable) holding the JWT to log in with",
                )),
            }
        };
        if method != AuthMethod::Approle {
            for (key, set) in [
                ("role_id", self.role_id.is_some()),
                ("role_id_file", self.role_id_file.is_some()),
                ("role_id_env", self.role_id_env.is_some()),
                ("secret_id_file", self.secret_id_file.is_some()),
                ("secret_id_env", self.secret_id_env.is_some()),
            ] {
                if set {
                    return Err(SettingsError::Conflict(format!(
                        "`{key}` belongs to auth_method = \"approle\", not \"{}\"",
                        method.as_str()
                    )));
                }
            }
        }
        if !matches!(method, AuthMethod::Jwt | AuthMethod::Kubernetes)
            && (self.jwt_file.is_some() || self.jwt_env.is_some())
        {
            return Err(SettingsError::Conflict(format!(
                "`jwt_file` / `jwt_env` belong to auth_method = \"jwt\" or \"kubernetes\", not \"{}\"",
                method.as_str()
            )));
        }
        if !matches!(method, AuthMethod::OidcProvider | AuthMethod::Oidc)
            && self.redirect_uri.is_some()
        {
            return Err(SettingsError::Conflict(format!(
                "`redirect_uri` belongs to a browser sign-in (oidc_provider, oidc), not \"{}\"",
                method.as_str()
            )));
        }

        if matches!(method, AuthMethod::Token | AuthMethod::Agent)
            && (self.mount.is_some() || self.role.is_some())
        {
            return Err(SettingsError::Conflict(format!(
                "auth_method = \"{}\" takes no `mount` or `role`",
                method.as_str()
            )));
        }
        let auth = match method {
            AuthMethod::OidcProvider => return self.check_oidc_provider(key_ns, given_address),
            AuthMethod::Oidc => {
                let text = self
                    .redirect_uri
                    .as_deref()
                    .unwrap_or(OIDC_CLI_REDIRECT_URI);
                let redirect = Url::parse(text)
                    .ok()
                    .filter(|u| vault_core::loopback::check_redirect_uri(u).is_ok())
                    .ok_or_else(|| {
                        SettingsError::Redirect(RedirectError::NotLoopback(
                            vault_core::url_text::for_message(text),
                        ))
                    })?;
                AuthSettings::Oidc {
                    mount: mount("oidc")?,
                    role: role("role")?,
                    redirect,
                }
            }
            AuthMethod::Jwt => AuthSettings::Jwt {
                mount: mount("jwt")?,
                role: role("role")?,
                jwt: jwt_source(None)?,
            },
            AuthMethod::Kubernetes => AuthSettings::Kubernetes {
                mount: mount("kubernetes")?,
                role: role("role")?.ok_or(SettingsError::Missing(
                    "role",
                    "the Kubernetes auth method needs the role to log in with",
                ))?,
                jwt: jwt_source(Some(KUBERNETES_TOKEN_FILE))?,
            },
            AuthMethod::Approle => {
                if self.role.is_some() {
                    return Err(SettingsError::Conflict(
                        "AppRole logs in with `role_id`, not `role`".into(),
                    ));
                }
                let role_id = match (&self.role_id, &self.role_id_file, &self.role_id_env) {
                    (Some(id), None, None) => {
                        CredentialSource::Inline(check_name("role_id", id, false)?)
                    }
                    (None, Some(f), None) => path(f),
                    (None, None, Some(v)) => CredentialSource::Env(v.clone()),
                    (None, None, None) => {
                        return Err(SettingsError::Missing(
                            "role_id",
                            "AppRole needs `role_id` (or `role_id_file` / `role_id_env`)",
                        ))
                    }
                    _ => {
                        return Err(SettingsError::Conflict(
                            "give one of `role_id`, `role_id_file`, `role_id_env`".into(),
                        ))
                    }
                };
                let secret_id = match (&self.secret_id_file, &self.secret_id_env) {
                    (Some(_), Some(_)) => {
                        return Err(SettingsError::Conflict(
                            "give `secret_id_file` or `secret_id_env`, not both".into(),
                        ))
                    }
                    (Some(f), None) => Some(path(f)),
                    (None, Some(v)) => Some(CredentialSource::Env(v.clone())),
                    (None, None) => None,
                };
                AuthSettings::Approle {
                    mount: mount("approle")?,
                    role_id,
                    secret_id,
                }
            }
            AuthMethod::Token => AuthSettings::Token,
            AuthMethod::Agent => AuthSettings::Agent,
        };
        let address = match given_address {
            Some(a) => a,
            None => env_address()?.ok_or(SettingsError::Missing(
                "address",
                "give the Vault address in `address` or in the VAULT_ADDR variable",
            ))?,
        };
        let namespace = match key_ns {
            Some(ns) => ns,
            None => env_ns()?,
        };
        Ok(HashicorpSettings {
            address,
            namespace,
            auth,
            kv_versions: self.kv_versions()?,
        })
    }

    /// The checked `kv_versions` table.
    fn kv_versions(&self) -> Result<BTreeMap<String, KvVersion>, SettingsError> {
        let mut kv_versions = BTreeMap::new();
        for (mount, v) in self.kv_versions.iter().flatten() {
            let mount = check_name("kv_versions", mount, true)?;
            let version = KvVersion::parse(&v.to_string())
                .ok_or_else(|| SettingsError::KvVersion(mount.clone(), *v))?;
            kv_versions.insert(mount, version);
        }
        Ok(kv_versions)
    }

    /// The seed's flow: everything comes from the provider URL.
    fn check_oidc_provider(
        &self,
        key_ns: Option<Namespace>,
        given_address: Option<VaultAddress>,
    ) -> Result<HashicorpSettings, SettingsError> {
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
        if self.mount.is_some() {
            return Err(SettingsError::Conflict(
                "the seed's flow mounts its JWT auth method at `jwt_auth_path`, not `mount`".into(),
            ));
        }
        let role = self
            .role
            .as_deref()
            .map(|r| check_name("role", r, false))
            .transpose()?
            .unwrap_or_else(|| defaults::ROLE.to_owned());
        if let Some(a) = &given_address {
            if a != provider.address() {
                return Err(SettingsError::Conflict(format!(
                    "`address` = `{a}` is not the address of `oidc_provider_url` ({})",
                    provider.address()
                )));
            }
        }
        let namespace = key_ns.unwrap_or_else(|| provider.namespace().clone());
        let redirect = match &self.redirect_uri {
            Some(uri) => {
                RedirectPlan::only(LoopbackUri::parse(uri).map_err(SettingsError::Redirect)?)
            }
            None => RedirectPlan::default_ports(),
        };
        let kv_versions = self.kv_versions()?;
        Ok(HashicorpSettings {
            address: provider.address().clone(),
            namespace,
            auth: AuthSettings::OidcProvider(OidcProviderSettings {
                provider,
                client_id,
                jwt_auth_path,
                role,
                redirect,
            }),
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
        let o = s.oidc_provider().unwrap();
        assert_eq!(o.jwt_auth_path, "vault-refs-jwt");
        assert_eq!(o.role, "vault-refs");
        assert_eq!(
            s.namespace.as_str(),
            "team1",
            "namespace taken from the URL"
        );
        assert_eq!(s.address.as_str(), "http://127.0.0.1:8200");
        assert_eq!(o.redirect, RedirectPlan::default_ports());
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

    /// The seed flow takes its namespace from the key, else the provider URL, never from
    /// `VAULT_NAMESPACE` (see the README: the setup tool puts the JWT mount beside the
    /// provider, so a shell's namespace for other work would only misdirect the login).
    #[test]
    fn the_seed_flow_ignores_vault_namespace() {
        let env = MapEnv::new().with("VAULT_NAMESPACE", "elsewhere");
        assert_eq!(raw().check_in(&env).unwrap().namespace.as_str(), "team1");
        let mut r = raw();
        r.oidc_provider_url =
            Some("http://127.0.0.1:8200/v1/identity/oidc/provider/vault-refs".into());
        assert_eq!(
            r.check_in(&env).unwrap().namespace.as_str(),
            "",
            "a root-namespace provider URL keeps the root namespace"
        );
        r.namespace = Some("team2".into());
        assert_eq!(r.check_in(&env).unwrap().namespace.as_str(), "team2");
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

    #[test]
    fn empty_table_is_the_cli_token_and_needs_an_address() {
        let r = RawSettings::default();
        assert!(matches!(
            r.check(),
            Err(SettingsError::Missing("address", _))
        ));
        let env = MapEnv::new()
            .with("VAULT_ADDR", "https://vault.example.com:8200")
            .with("VAULT_NAMESPACE", "team1");
        let s = r.check_in(&env).unwrap();
        assert_eq!(s.auth, AuthSettings::Token);
        assert_eq!(s.address.as_str(), "https://vault.example.com:8200");
        assert_eq!(s.namespace.as_str(), "team1");
        let env = MapEnv::new().with("VAULT_ADDR", "http://vault.example.com:8200");
        assert!(matches!(
            r.check_in(&env),
            Err(SettingsError::Address(
                "VAULT_ADDR",
                AddressError::InsecureHttp(_)
            ))
        ));
    }

    #[test]
    fn key_wins_over_the_environment() {
        let r = RawSettings {
            address: Some("https://a.example".into()),
            namespace: Some("ns1".into()),
            auth_method: Some("agent".into()),
            ..Default::default()
        };
        let env = MapEnv::new()
            .with("VAULT_ADDR", "https://b.example")
            .with("VAULT_NAMESPACE", "ns2");
        let s = r.check_in(&env).unwrap();
        assert_eq!(
            (s.address.as_str(), s.namespace.as_str(), s.auth),
            ("https://a.example", "ns1", AuthSettings::Agent)
        );
    }

    #[test]
    fn each_method_takes_its_keys_with_defaults() {
        let env = MapEnv::new().with("HOME", "/home/u");
        let base = || RawSettings {
            address: Some("https://v.example".into()),
            ..Default::default()
        };
        let mut r = base();
        r.auth_method = Some("approle".into());
        r.role_id = Some("rid".into());
        r.secret_id_file = Some("~/sid".into());
        match r.check_in(&env).unwrap().auth {
            AuthSettings::Approle {
                mount,
                role_id,
                secret_id,
            } => {
                assert_eq!(mount, "approle");
                assert_eq!(role_id, CredentialSource::Inline("rid".into()));
                assert_eq!(
                    secret_id,
                    Some(CredentialSource::File("/home/u/sid".into()))
                );
            }
            other => panic!("{other:?}"),
        }
        let mut r = base();
        r.auth_method = Some("kubernetes".into());
        assert!(matches!(
            r.check_in(&env),
            Err(SettingsError::Missing("role", _))
        ));
        r.role = Some("app".into());
        r.mount = Some("k8s/prod".into());
        match r.check_in(&env).unwrap().auth {
            AuthSettings::Kubernetes { mount, role, jwt } => {
                assert_eq!((mount.as_str(), role.as_str()), ("k8s/prod", "app"));
                assert_eq!(jwt, CredentialSource::File(KUBERNETES_TOKEN_FILE.into()));
            }
            other => panic!("{other:?}"),
        }
        let mut r = base();
        r.auth_method = Some("jwt".into());
        assert!(matches!(
            r.check_in(&env),
            Err(SettingsError::Missing("jwt_file", _))
        ));
        r.jwt_env = Some("CI_JOB_JWT".into());
        assert!(matches!(
            r.check_in(&env).unwrap().auth,
            AuthSettings::Jwt {
                jwt: CredentialSource::Env(_),
                role: None,
                ..
            }
        ));
        let mut r = base();
        r.auth_method = Some("oidc".into());
        match r.check_in(&env).unwrap().auth {
            AuthSettings::Oidc {
                mount, redirect, ..
            } => {
                assert_eq!(mount, "oidc");
                assert_eq!(redirect.as_str(), OIDC_CLI_REDIRECT_URI);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_of_another_method_are_refused() {
        let mut r = RawSettings {
            address: Some("https://v.example".into()),
            auth_method: Some("token".into()),
            role_id: Some("x".into()),
            ..Default::default()
        };
        assert!(matches!(r.check(), Err(SettingsError::Conflict(_))));
        r.role_id = None;
        r.jwt_file = Some("/x".into());
        assert!(matches!(r.check(), Err(SettingsError::Conflict(_))));
        r.jwt_file = None;
        r.auth_method = Some("ldap".into());
        assert!(matches!(r.check(), Err(SettingsError::UnknownMethod(_))));
        let mut r = raw();
        r.auth_method = Some("approle".into());
        assert!(matches!(r.check(), Err(SettingsError::Conflict(_))));
        let mut r = raw();
        r.address = Some("https://elsewhere.example".into());
        assert!(matches!(r.check(), Err(SettingsError::Conflict(_))));
    }
}
