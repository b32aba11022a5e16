//! # vault-hashicorp
//!
//! HashiCorp Vault and OpenBao for [`vault_core`]: `{{vault:NAME}}` references linked to KV
//! secrets are read with a Vault token obtained by signing in through Vault's own OIDC
//! provider (authorization code + PKCE in the browser, loopback redirect), validating the
//! id_token, and logging in to a JWT auth method with it. The token is renewed while it can
//! be; KV v1 and v2 mounts are told apart per mount; namespaces are supported; and
//! [`setup`] does once, for an admin, what the server needs.
//!
//! ```toml
//! [integrations.hashicorp]
//! oidc_provider_url = "https://vault.example.com:8200/v1/identity/oidc/provider/vault-refs"
//! client_id = "…"            # both printed by `cargo run --example hashicorp-setup`
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
//! [`token`], [`setup`], [`defaults`], and [`headless`] (a scripted browser for tests and
//! demos, not for production sign-ins). The network side (http, oidc, id_token, jwt_login,
//! kv, session, signin) is private; the loopback listener is [`vault_core::loopback`].
#![forbid(unsafe_code)]

pub mod address;
pub mod defaults;
mod factory;
pub mod headless;
mod http;
mod id_token;
mod jwt_login;
mod kv;
pub mod kv_link;
mod mount_memory;
pub mod namespace;
mod oidc;
mod provider;
pub mod read_policy;
pub mod redirect;
mod session;
pub mod settings;
pub mod setup;
pub mod setup_args;
mod signin;
pub mod token;

use std::sync::Arc;

use secrecy::ExposeSecret;
use vault_core::{ConfigError, DynProvider, Environment, IntegrationSettings, ProviderId};

pub use address::{ProviderUrl, VaultAddress};
pub use factory::Factory;
pub use kv::KvVersion;
pub use kv_link::KvLink;
pub use namespace::Namespace;
pub use provider::{HashicorpBuilder, HashicorpProvider};
pub use settings::{HashicorpSettings, RawSettings, SettingsError};
pub use vault_core::RetryPolicy;

/// The provider id: `[integrations.hashicorp]`, `[secrets.NAME.hashicorp]`.
pub const PROVIDER_ID: ProviderId = ProviderId::from_static("hashicorp");

/// Builds the provider from the config file's `[integrations.hashicorp]` table.
///
/// Environment: when `VAULT_TOKEN` is set *and* `VAULT_ADDR` names the same Vault address as
/// the provider URL, the provider starts signed in with that token (handy in CI); a token is
/// never sent to an address it was not given for. `VAULT_NAMESPACE` is not read: the
/// namespace comes from the `namespace` key or from the provider URL's path.
pub fn from_settings(
    settings: &IntegrationSettings,
    env: &dyn Environment,
) -> Result<DynProvider, ConfigError> {
    if settings.table().is_empty() {
        return Err(settings.error(
            "the [integrations.hashicorp] table is missing or empty: give `oidc_provider_url` and `client_id` \
             (both printed by `cargo run --example hashicorp-setup`)",
        ));
    }
    let raw: RawSettings = settings.deserialize()?;
    let checked = raw
        .check()
        .map_err(|e| settings.error(format!("[integrations.hashicorp]: {e}")))?;
    let mut builder = HashicorpBuilder::from_raw(raw);
    if let (Some(token), Some(addr)) = (env.var("VAULT_TOKEN"), env.var("VAULT_ADDR")) {
        let same = VaultAddress::parse(addr.expose_secret())
            .is_ok_and(|a| &a == checked.provider.address());
        if same && !token.expose_secret().is_empty() {
            builder = builder.token(token);
        }
    }
    let provider = builder
        .build()
        .map_err(|e| settings.error(format!("[integrations.hashicorp]: {}", e.message())))?;
    Ok(Arc::new(provider))
}
