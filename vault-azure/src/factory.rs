//! [`Factory`]: builds the Azure Key Vault provider from `[integrations.azure]`, for hosts that wire
//! providers from a config file (`vault_core::ProviderFactory`).

use vault_core::{ConfigError, DynProvider, IntegrationSettings, ProviderContext, ProviderFactory};

/// The Azure Key Vault provider's factory: id `azure`. A session store in the context keeps
/// the session between runs (see [`AzureProviderBuilder::session_store`](crate::AzureProviderBuilder::session_store)).
#[derive(Clone, Copy, Debug, Default)]
pub struct Factory;

impl ProviderFactory for Factory {
    fn id(&self) -> &'static str {
        "azure"
    }

    fn build(
        &self,
        settings: &IntegrationSettings,
        context: &ProviderContext<'_>,
    ) -> Result<DynProvider, ConfigError> {
        crate::settings::from_settings_with_store(
            settings,
            context.env,
            context.session_store.clone(),
        )
    }
}
