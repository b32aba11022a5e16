//! Builds a [`Resolver`] from a config file with the providers compiled into this program.

use std::sync::Arc;

use vault_core::{Config, ConfigError, Interaction, Mode, ProviderFactory, ProviderId, Resolver};

/// Every provider id the config file may name, built into this program or not.
pub const KNOWN_PROVIDERS: [&str; 3] = ["azure", "hashicorp", "aws"];

/// Whether the provider `id` is compiled into this program.
pub fn is_built(id: &str) -> bool {
    (id == "azure" && cfg!(feature = "azure"))
        || (id == "hashicorp" && cfg!(feature = "hashicorp"))
        || (id == "aws" && cfg!(feature = "aws"))
}

/// Whether the config mentions provider `id` (an integration table or a link).
pub fn is_used(config: &Config, id: &str) -> bool {
    config.integrations.keys().any(|k| k.as_str() == id)
        || config.vault.iter().any(|(_, s)| {
            s.source()
                .link()
                .is_some_and(|l| l.provider().as_str() == id)
        })
}

/// The provider factories compiled into this program.
#[allow(clippy::vec_init_then_push)]
pub fn factories() -> Vec<&'static dyn ProviderFactory> {
    // One push per feature: a `vec![]` cannot hold `#[cfg]` elements.
    #[allow(unused_mut)]
    let mut out: Vec<&'static dyn ProviderFactory> = Vec::new();
    #[cfg(feature = "azure")]
    out.push(&vault_azure::Factory);
    #[cfg(feature = "hashicorp")]
    out.push(&vault_hashicorp::Factory);
    #[cfg(feature = "aws")]
    out.push(&vault_aws::Factory);
    out
}

/// A resolver over the config's vault, with its cache settings and the built providers
/// (`Resolver::configure` with this build's [`factories`]); an unknown provider id in the
/// config is an error.
pub fn build_resolver(
    config: &Config,
    interaction: Arc<dyn Interaction>,
    mode: Mode,
) -> Result<Resolver, ConfigError> {
    config.check_providers(&KNOWN_PROVIDERS)?;
    let factories = factories();
    Resolver::configure(config, &factories)
        .interaction(interaction)
        .mode(mode)
        .build()
}

/// Why provider `id` has no integration here, in words for a terminal.
pub fn why_unavailable(config: &Config, id: &ProviderId) -> String {
    if !is_built(id.as_str()) {
        format!(
            "the `{id}` provider is not built into this program (build with the `{id}` feature)"
        )
    } else if !is_used(config, id.as_str()) {
        format!("the config has no [integrations.{id}] and no secret links to {id}")
    } else {
        format!("the `{id}` integration is not available")
    }
}
