//! [`Factory`]: builds the HashiCorp Vault / OpenBao provider from `[integrations.hashicorp]`, for hosts that wire
//! providers from a config file (`vault_core::ProviderFactory`).

use vault_core::{ConfigError, DynProvider, IntegrationSettings, ProviderContext, ProviderFactory};

/// The HashiCorp Vault / OpenBao provider's factory: id `hashicorp`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Factory;

impl ProviderFactory for Factory {
    fn id(&self) -> &'static str {
        "hashicorp"
    }

    fn build(
        &self,
        settings: &IntegrationSettings,
        context: &ProviderContext<'_>,
    ) -> Result<DynProvider, ConfigError> {
        match &context.session_store {
            Some(store) => crate::from_settings_with_store(settings, context.env, store.clone()),
            None => crate::from_settings(settings, context.env),
        }
    }
}
