//! # vault-azure
//!
//! Azure Key Vault for [`vault_core`]: `{{vault:NAME}}` references whose secret is linked to
//! `https://<vault>.vault.azure.net/secrets/<name>[/<version>]`, read with a token from the
//! Microsoft identity platform v2.
//!
//! ```toml
//! [integrations.azure]
//! tenant = "organizations"
//! client_id = "…"                  # a public client app registration
//!
//! [secrets.api-key.azure]
//! identifier = "https://my-vault.vault.azure.net/secrets/api-key"   # /<version> optional
//! ```
//!
//! - **Identifiers** ([`identifier`]): the vault hosts of the public, China and US Government
//!   clouds ([`cloud`]) and the extra `vault_hosts` ([`host_policy`]); anything else is refused
//!   when the link is validated, so a Key Vault token never reaches another host.
//! - **Sign-in** ([`SignInFlow`]): authorization code + PKCE in the system browser with a
//!   loopback redirect, device code, and the unattended sources Azure users know from
//!   `DefaultAzureCredential`: client secret, certificate, workload identity, managed
//!   identity, Azure CLI, or `auto` (the first that answers). Tokens stay in memory, or in
//!   a session store when one is given; the newest refresh token always replaces the old one.
//! - **Key Vault REST** ([`key_vault`]): Get Secret, api-version [`API_VERSION`], the 401
//!   challenge, errors mapped to [`vault_core::ErrorKind`]s, bounded retries ([`vault_core::retry`]).
//!
//! Build the provider from the config file with [`from_settings`] or in code with
//! [`AzureProvider::builder`].
#![forbid(unsafe_code)]

pub mod authority;
mod builder;
pub mod challenge;
pub mod cloud;
mod credential;
mod device_code;
pub mod error_body;
mod factory;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod host_policy;
mod id_token;
pub mod identifier;
pub mod key_vault;
mod oauth_context;
mod pkce_flow;
mod provider;
mod refresh;
mod session_record;
mod settings;
mod sign_in_flow;
mod token_cache;
mod token_error;
mod transport;

pub use authority::Authority;
pub use builder::{AzureProviderBuilder, DEFAULT_REDIRECT_URI};
pub use cloud::Cloud;
pub use factory::Factory;
pub use host_policy::VaultHost;
pub use identifier::{IdentifierError, SecretIdentifier};
pub use key_vault::{SecretBundle, API_VERSION};
pub use provider::{AzureProvider, LINK_KEYS};
pub use settings::{from_settings, from_settings_with_store, AzureSettings};
pub use sign_in_flow::SignInFlow;
pub use token_cache::TokenSet;
pub use vault_core::RetryPolicy;

/// The provider id: the key of `[integrations.azure]` and `[secrets.NAME.azure]`.
pub const PROVIDER_ID: &str = "azure";
