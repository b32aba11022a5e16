//! One-line wiring: a resolver from a config file and the provider factories of this build.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{Config, ConfigError, IntegrationSettings};
use crate::env::{Environment, ProcessEnv};
use crate::factory::{ProviderContext, ProviderFactory};
use crate::interaction::Interaction;
use crate::session_store::SessionStore;

use super::{Mode, Resolver, ResolverBuilder};

/// Builds a [`Resolver`] from a [`Config`] and provider factories: see
/// [`Resolver::configure`]. The rest of the builder's settings (interaction, mode, clock)
/// are here too.
#[must_use = "call build()"]
pub struct FromConfig<'c> {
    config: &'c Config,
    factories: &'c [&'c dyn ProviderFactory],
    env: Arc<dyn Environment>,
    session_store: Option<Arc<dyn SessionStore>>,
    builder: ResolverBuilder,
}

impl std::fmt::Debug for FromConfig<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FromConfig")
            .field(
                "factories",
                &self.factories.iter().map(|f| f.id()).collect::<Vec<_>>(),
            )
            .field("session_store", &self.session_store.is_some())
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// A resolver over the config's vault and cache settings, with a provider built by each
    /// factory whose provider the config uses (an `[integrations.<id>]` table or a link).
    /// A used provider with no table gets an empty one (it then reads its ecosystem's
    /// environment and files); a provider the config does not use is not built. Links to a
    /// provider with no factory stay unresolved ([`ErrorKind::ProviderUnavailable`](crate::ErrorKind::ProviderUnavailable));
    /// [`Config::check_providers`] turns such typos into errors first if you want.
    ///
    /// ```
    /// # let factories: [&dyn vault_core::ProviderFactory; 0] = [];
    /// let config = vault_core::Config::parse("[secrets.k]\nvalue = \"v\"").unwrap();
    /// // let factories = [&vault_aws::Factory as &dyn ProviderFactory, &vault_azure::Factory];
    /// let resolver = vault_core::Resolver::from_config(&config, &factories).unwrap();
    /// assert_eq!(resolver.names(), ["k"]);
    /// ```
    pub fn from_config(
        config: &Config,
        factories: &[&dyn ProviderFactory],
    ) -> Result<Resolver, ConfigError> {
        Self::configure(config, factories).build()
    }

    /// [`from_config`](Self::from_config) with more settings: a session store, the
    /// environment, the interaction, the mode.
    pub fn configure<'c>(
        config: &'c Config,
        factories: &'c [&'c dyn ProviderFactory],
    ) -> FromConfig<'c> {
        let env: Arc<dyn Environment> = Arc::new(ProcessEnv);
        FromConfig {
            config,
            factories,
            builder: Resolver::builder(config.vault.clone())
                .cache(config.cache)
                .env(env.clone()),
            env,
            session_store: None,
        }
    }
}

impl FromConfig<'_> {
    /// Providers keep their sessions in `store` (and resume them from it).
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.session_store = Some(store);
        self
    }

    /// Where providers and `value_env` secrets read the environment (default: the process's).
    pub fn env(mut self, env: Arc<dyn Environment>) -> Self {
        self.builder = self.builder.env(env.clone());
        self.env = env;
        self
    }

    /// How sign-in talks to the user (default: [`NoInteraction`](crate::NoInteraction)).
    pub fn interaction(mut self, interaction: Arc<dyn Interaction>) -> Self {
        self.builder = self.builder.interaction(interaction);
        self
    }

    /// Lenient (default) or strict.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.builder = self.builder.mode(mode);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.builder = self.builder.clock(clock);
        self
    }

    /// Builds the providers the config uses, then the resolver. The first provider whose
    /// settings are wrong is the error, positioned in the file.
    pub fn build(self) -> Result<Resolver, ConfigError> {
        let mut context = ProviderContext::new(&*self.env);
        if let Some(store) = &self.session_store {
            context = context.with_session_store(store.clone());
        }
        let mut builder = self.builder;
        for factory in self.factories {
            let id = factory.id();
            let table = self
                .config
                .integrations
                .iter()
                .find(|(k, _)| k.as_str() == id)
                .map(|(_, s)| s);
            let linked = self.config.vault.iter().any(|(_, s)| {
                s.source()
                    .link()
                    .is_some_and(|l| l.provider().as_str() == id)
            });
            if table.is_none() && !linked {
                continue;
            }
            let empty;
            let settings = match table {
                Some(s) => s,
                None => {
                    empty = IntegrationSettings::new(toml::Table::new());
                    &empty
                }
            };
            builder = builder.provider(factory.build(settings, &context)?);
        }
        Ok(builder.build())
    }
}
