//! Provider factories: how a host builds the providers a config file names without knowing
//! them. Each provider crate exports one (`vault_aws::Factory`, ...); a fourth provider,
//! written anywhere, implements [`ProviderFactory`] the same way and needs no change here.

use std::fmt;
use std::sync::Arc;

use crate::config::{ConfigError, IntegrationSettings};
use crate::env::Environment;
use crate::provider::DynProvider;
use crate::session_store::SessionStore;

/// What a factory may use besides the integration's settings.
#[non_exhaustive]
pub struct ProviderContext<'a> {
    /// Where `AWS_*`, `VAULT_*`, `AZURE_*` and `HOME` are read.
    pub env: &'a dyn Environment,
    /// Where the provider keeps a session across processes; `None`: sessions live in memory.
    pub session_store: Option<Arc<dyn SessionStore>>,
}

impl<'a> ProviderContext<'a> {
    /// A context reading `env`, with no session store.
    pub fn new(env: &'a dyn Environment) -> Self {
        ProviderContext {
            env,
            session_store: None,
        }
    }

    /// Sessions are saved in, and resumed from, `store`.
    pub fn with_session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.session_store = Some(store);
        self
    }
}

impl fmt::Debug for ProviderContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderContext")
            .field("session_store", &self.session_store.is_some())
            .finish_non_exhaustive()
    }
}

/// Builds one kind of provider from its `[integrations.<id>]` table.
pub trait ProviderFactory: Send + Sync {
    /// The provider's id: the key of its tables in the config file.
    fn id(&self) -> &'static str;

    /// Builds the provider. `settings` is an empty table when the config has no
    /// `[integrations.<id>]` section (the provider then relies on its ecosystem's
    /// environment and files); errors are positioned config errors.
    fn build(
        &self,
        settings: &IntegrationSettings,
        context: &ProviderContext<'_>,
    ) -> Result<DynProvider, ConfigError>;
}
