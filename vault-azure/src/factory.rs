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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use secrecy::SecretString;
    use vault_core::{
        Config, MapEnv, MemorySessionStore, ProviderContext, ProviderFactory, ProviderId,
        SessionStore, StoreKey,
    };

    use super::Factory;

    #[test]
    fn a_session_store_in_the_context_resumes_the_session() {
        let config = Config::parse(
            "[integrations.azure]\ntenant = \"t1\"\nclient_id = \"app\"\nauthority = \"https://login.microsoftonline.com\"\n",
        )
        .unwrap();
        let settings = &config.integrations[&ProviderId::from_static("azure")];
        let store = Arc::new(MemorySessionStore::new());
        let key = StoreKey::new(
            ProviderId::from_static("azure"),
            "https://login.microsoftonline.com|t1|app",
        );
        store
            .save(
                &key,
                &SecretString::from(r#"{"v":1,"refresh_token":"rt","expires_at":0}"#),
            )
            .unwrap();
        let env = MapEnv::new();
        let without = Factory
            .build(settings, &ProviderContext::new(&env))
            .unwrap();
        assert!(!without.session().is_signed_in());
        let with = Factory
            .build(
                settings,
                &ProviderContext::new(&env).with_session_store(store.clone()),
            )
            .unwrap();
        assert!(with.session().is_signed_in());
        assert_eq!(Factory.id(), "azure");
    }
}
