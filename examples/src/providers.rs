//! Builds a [`Resolver`] from a config file with the providers compiled into this program.

use std::sync::Arc;

use vault_core::{
    CacheConfig, Config, ConfigError, DynProvider, Environment, IntegrationSettings, Interaction,
    Mode, ProcessEnv, ProviderId, Resolver,
};

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

fn settings_for(config: &Config, id: &str) -> IntegrationSettings {
    config
        .integrations
        .iter()
        .find(|(k, _)| k.as_str() == id)
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| IntegrationSettings::new(toml::Table::new()))
}

/// The providers of this build that the config uses.
#[allow(unused_variables, unused_mut)]
pub fn providers(config: &Config, env: &dyn Environment) -> Result<Vec<DynProvider>, ConfigError> {
    let mut out: Vec<DynProvider> = Vec::new();
    #[cfg(feature = "azure")]
    if is_used(config, "azure") {
        out.push(vault_azure::from_settings(
            &settings_for(config, "azure"),
            env,
        )?);
    }
    #[cfg(feature = "hashicorp")]
    if is_used(config, "hashicorp") {
        out.push(vault_hashicorp::from_settings(
            &settings_for(config, "hashicorp"),
            env,
        )?);
    }
    #[cfg(feature = "aws")]
    if is_used(config, "aws") {
        out.push(vault_aws::from_settings(&settings_for(config, "aws"), env)?);
    }
    let _ = settings_for;
    Ok(out)
}

/// A resolver over the config's vault, with its cache settings and the built providers.
pub fn build_resolver(
    config: &Config,
    interaction: Arc<dyn Interaction>,
    mode: Mode,
) -> Result<Resolver, ConfigError> {
    config.check_providers(&KNOWN_PROVIDERS)?;
    let env: Arc<dyn Environment> = Arc::new(ProcessEnv);
    let mut builder = Resolver::builder(config.vault.clone())
        .cache(CacheConfig { ..config.cache })
        .interaction(interaction)
        .env(env.clone())
        .mode(mode);
    for p in providers(config, &*env)? {
        builder = builder.provider(p);
    }
    Ok(builder.build())
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
