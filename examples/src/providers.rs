//! Builds a [`Resolver`] from a config file with the providers compiled into this program,
//! through their factories, handing them the session store.

use std::sync::Arc;

use vault_core::{
    CacheConfig, Config, ConfigError, DynProvider, Environment, IntegrationSettings, Interaction,
    Mode, PersistentValues, ProcessEnv, ProviderContext, ProviderFactory, ProviderId, Resolver,
    SessionStore, Vault,
};

/// Every provider id the config file may name, built into this program or not.
pub const KNOWN_PROVIDERS: [&str; 4] = ["azure", "hashicorp", "aws", "gcp"];

/// Whether the provider `id` is compiled into this program.
pub fn is_built(id: &str) -> bool {
    factories().iter().any(|f| f.id() == id)
}

/// The factories of the providers compiled into this program.
// One push per feature: `vec![]` cannot leave out the providers not built.
#[allow(clippy::vec_init_then_push)]
pub fn factories() -> Vec<Box<dyn ProviderFactory>> {
    #[allow(unused_mut)]
    let mut out: Vec<Box<dyn ProviderFactory>> = Vec::new();
    #[cfg(feature = "azure")]
    out.push(Box::new(vault_azure::Factory));
    #[cfg(feature = "hashicorp")]
    out.push(Box::new(vault_hashicorp::Factory));
    #[cfg(feature = "aws")]
    out.push(Box::new(vault_aws::Factory));
    // A provider written outside the workspace's crates (this crate's `gcp` module), wired
    // exactly as the built-in ones: the plugin seam needs no change to vault-core.
    #[cfg(feature = "gcp")]
    out.push(Box::new(crate::gcp::GcpFactory));
    out
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

/// The providers of this build that the config uses, each given `store` for its sessions
/// (`None`: sessions live in memory).
pub fn providers(
    config: &Config,
    env: &dyn Environment,
    store: Option<Arc<dyn SessionStore>>,
) -> Result<Vec<DynProvider>, ConfigError> {
    let mut context = ProviderContext::new(env);
    if let Some(store) = store {
        context = context.with_session_store(store);
    }
    factories()
        .iter()
        .filter(|f| is_used(config, f.id()))
        .map(|f| f.build(&settings_for(config, f.id()), &context))
        .collect()
}

/// How a resolver is put together beyond the config file.
#[derive(Default)]
pub struct Wiring {
    /// The vault to serve (default: the config's).
    pub vault: Option<Vault>,
    /// Where providers keep their sessions.
    pub sessions: Option<Arc<dyn SessionStore>>,
    /// Where values are kept across processes, when the config says `[cache] persist = true`.
    pub values: Option<Arc<dyn PersistentValues>>,
}

/// A resolver over the config's vault, with its cache settings and the built providers;
/// sessions in memory, nothing persisted.
pub fn build_resolver(
    config: &Config,
    interaction: Arc<dyn Interaction>,
    mode: Mode,
) -> Result<Resolver, ConfigError> {
    build_resolver_with(config, interaction, mode, Wiring::default())
}

/// [`build_resolver`] with a session store, persisted values and another vault.
pub fn build_resolver_with(
    config: &Config,
    interaction: Arc<dyn Interaction>,
    mode: Mode,
    wiring: Wiring,
) -> Result<Resolver, ConfigError> {
    config.check_providers(&KNOWN_PROVIDERS)?;
    let env: Arc<dyn Environment> = Arc::new(ProcessEnv);
    let vault = wiring.vault.unwrap_or_else(|| config.vault.clone());
    let mut builder = Resolver::builder(vault)
        .cache(CacheConfig { ..config.cache })
        .interaction(interaction)
        .env(env.clone())
        .mode(mode);
    if let (true, Some(values)) = (config.persist_values, wiring.values) {
        builder = builder.persistent_values(values);
    }
    for p in providers(config, &*env, wiring.sessions)? {
        builder = builder.provider(p);
    }
    Ok(builder.build())
}

/// Why provider `id` has no integration here, in words for a terminal.
pub fn why_unavailable(config: &Config, id: &ProviderId) -> String {
    if !is_built(id.as_str()) {
        format!(
            "the `{id}` provider is not built into this program (build it with `--features {id}`)"
        )
    } else if !is_used(config, id.as_str()) {
        format!("the config has no [integrations.{id}] and no secret links to {id}")
    } else {
        format!("the `{id}` integration is not available")
    }
}
