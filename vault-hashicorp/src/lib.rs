//! # vault-hashicorp
//!
//! HashiCorp Vault and OpenBao for [`vault_core`]: `{{vault:NAME}}` references linked to KV
//! secrets are read with a Vault token obtained the way the integration says
//! ([`settings::AuthMethod`]): the seed's flow (Vault's own OIDC provider in the browser, then
//! JWT login), `oidc` (Vault as the relying party, like `vault login -method=oidc`), `jwt`,
//! `approle`, `kubernetes`, the Vault CLI's own token ([`cli_token`]), or a local Vault Agent /
//! Proxy. Where the table is silent, the Vault CLI's variables apply (`VAULT_ADDR`,
//! `VAULT_NAMESPACE`, `VAULT_CACERT`, ...). The token is renewed while it can be, may be kept in
//! a [`vault_core::SessionStore`] across processes; KV v1 and v2 mounts are told apart per
//! mount; and [`setup`] does once, for an admin, what the server needs.
//!
//! ```toml
//! [integrations.hashicorp]
//! address = "https://vault.example.com:8200"   # else VAULT_ADDR
//! auth_method = "approle"
//! role_id = "…"
//! secret_id_file = "/run/secrets/vault-secret-id"
//!
//! [secrets.db-password.hashicorp]
//! engine = "secret"          # the KV mount
//! path = "app/db"            # the secret in it
//! key = "password"           # the key in the secret
//! version = 2                # optional: pin a KV v2 version
//! kv_version = 2             # optional: the mount's KV version (one request per read)
//! ```
//!
//! Public modules: [`settings`], [`address`], [`namespace`], [`redirect`], [`kv_link`],
//! [`token`], [`cli_token`], [`setup`], [`defaults`]; with the `testing` feature also
//! `headless` (a scripted browser for tests and demos, not for production sign-ins). The
//! network side (http, tls, oidc, oidc_auth, id_token, login, kv, session, signin,
//! saved_session) is private; the loopback listener is [`vault_core::loopback`].
#![forbid(unsafe_code)]

pub mod address;
pub mod cli_token;
mod credential;
pub mod defaults;
mod factory;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "testing")]
pub mod headless;
mod http;
mod id_token;
mod jwt_login;
mod kv;
pub mod kv_link;
mod login;
mod mount_memory;
pub mod namespace;
mod oidc;
mod oidc_auth;
mod provider;
pub mod read_policy;
pub mod redirect;
mod saved_session;
mod session;
pub mod settings;
pub mod setup;
pub mod setup_args;
mod signin;
mod tls;
pub mod token;

use std::sync::Arc;

use secrecy::ExposeSecret;
use vault_core::{
    ConfigError, DynProvider, Environment, IntegrationSettings, ProviderId, SessionStore,
};

pub use address::{ProviderUrl, VaultAddress};
pub use factory::Factory;
pub use kv::KvVersion;
pub use kv_link::KvLink;
pub use namespace::Namespace;
pub use provider::{HashicorpBuilder, HashicorpProvider};
pub use settings::{AuthMethod, AuthSettings, HashicorpSettings, RawSettings, SettingsError};
pub use vault_core::RetryPolicy;

/// The provider id: `[integrations.hashicorp]`, `[secrets.NAME.hashicorp]`.
pub const PROVIDER_ID: ProviderId = ProviderId::from_static("hashicorp");

/// Builds the provider from the config file's `[integrations.hashicorp]` table.
///
/// Environment, as the Vault CLI reads it: `VAULT_ADDR` and `VAULT_NAMESPACE` fill in what
/// the table leaves out; `VAULT_CACERT`, `VAULT_CAPATH`, `VAULT_CLIENT_CERT`/`KEY`,
/// `VAULT_TLS_SERVER_NAME` and `VAULT_SKIP_VERIFY` set up TLS; with `auth_method = "token"`
/// (the default without `oidc_provider_url`) the token comes from `VAULT_TOKEN`, the token
/// helper of `~/.vault` or `~/.vault-token`. With the seed's flow, `VAULT_TOKEN` is used
/// only when `VAULT_ADDR` names the same address as the provider URL (handy in CI); a token
/// is never sent to an address it was not given for.
pub fn from_settings(
    settings: &IntegrationSettings,
    env: &dyn Environment,
) -> Result<DynProvider, ConfigError> {
    build(settings, env, None)
}

/// [`from_settings`] with a session store: the token this crate obtains is saved there and
/// resumed by the next process.
pub fn from_settings_with_store(
    settings: &IntegrationSettings,
    env: &dyn Environment,
    store: Arc<dyn SessionStore>,
) -> Result<DynProvider, ConfigError> {
    build(settings, env, Some(store))
}

fn build(
    settings: &IntegrationSettings,
    env: &dyn Environment,
    store: Option<Arc<dyn SessionStore>>,
) -> Result<DynProvider, ConfigError> {
    let raw: RawSettings = settings.deserialize()?;
    let checked = raw.check_in(env).map_err(|e| {
        let hint = if settings.table().is_empty() {
            " (the [integrations.hashicorp] table is empty: give `address` and an `auth_method`, \
             or `oidc_provider_url` and `client_id` printed by `cargo run --example hashicorp-setup`)"
        } else {
            ""
        };
        settings.error(format!("[integrations.hashicorp]: {e}{hint}"))
    })?;
    let mut builder = HashicorpBuilder::from_raw(raw).env(env);
    if let settings::AuthSettings::OidcProvider(o) = &checked.auth {
        if let (Some(token), Some(addr)) = (env.var("VAULT_TOKEN"), env.var("VAULT_ADDR")) {
            let same =
                VaultAddress::parse(addr.expose_secret()).is_ok_and(|a| &a == o.provider.address());
            if same && !token.expose_secret().is_empty() {
                builder = builder.token(token);
            }
        }
    }
    if let Some(store) = store {
        // The config path keeps both the session and what mount lookups found.
        builder = builder.mount_store(store.clone()).session_store(store);
    }
    let provider = builder
        .build()
        .map_err(|e| settings.error(format!("[integrations.hashicorp]: {}", e.message())))?;
    Ok(Arc::new(provider))
}
