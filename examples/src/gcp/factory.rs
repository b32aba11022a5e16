//! Builds the [`GcpProvider`] from `[integrations.gcp]`.

use serde::Deserialize;
use url::Url;
use vault_core::{ConfigError, DynProvider, IntegrationSettings, ProviderContext, ProviderFactory};

use super::provider::{GcpProvider, DEFAULT_ENDPOINT};

/// The factory of the `gcp` provider, registered by a host like the built-in ones.
#[derive(Clone, Copy, Debug, Default)]
pub struct GcpFactory;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    project: Option<String>,
    access_token_env: Option<String>,
    endpoint: Option<String>,
}

impl ProviderFactory for GcpFactory {
    fn id(&self) -> &'static str {
        "gcp"
    }

    fn build(
        &self,
        settings: &IntegrationSettings,
        context: &ProviderContext<'_>,
    ) -> Result<DynProvider, ConfigError> {
        let s: Settings = settings.deserialize()?;
        let endpoint = s.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT);
        let endpoint =
            Url::parse(endpoint).map_err(|_| settings.error("`endpoint` is not a URL"))?;
        let loopback = matches!(
            endpoint.host_str(),
            Some("127.0.0.1" | "localhost" | "[::1]")
        );
        if endpoint.scheme() != "https" && !(endpoint.scheme() == "http" && loopback) {
            return Err(settings.error("`endpoint` must be https (http only on loopback)"));
        }
        if !endpoint.username().is_empty() || endpoint.password().is_some() {
            return Err(settings.error("`endpoint` must not hold credentials"));
        }
        let var = s
            .access_token_env
            .unwrap_or_else(|| "GOOGLE_OAUTH_ACCESS_TOKEN".to_owned());
        let token = context.env.var(&var);
        Ok(std::sync::Arc::new(GcpProvider::new(
            endpoint, s.project, token,
        )))
    }
}
