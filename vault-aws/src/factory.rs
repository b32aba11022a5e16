//! [`Factory`]: builds the AWS Secrets Manager provider from `[integrations.aws]`, for hosts that wire
//! providers from a config file (`vault_core::ProviderFactory`).

use vault_core::{ConfigError, DynProvider, IntegrationSettings, ProviderContext, ProviderFactory};

/// The AWS Secrets Manager provider's factory: id `aws`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Factory;

impl ProviderFactory for Factory {
    fn id(&self) -> &'static str {
        "aws"
    }

    fn build(
        &self,
        settings: &IntegrationSettings,
        context: &ProviderContext<'_>,
    ) -> Result<DynProvider, ConfigError> {
        crate::settings::from_context(settings, context)
    }
}
