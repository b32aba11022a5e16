//! The `[integrations.azure]` table of the config file, and the `AZURE_*` environment
//! variables that fill what it leaves out.
//!
//! ```toml
//! [integrations.azure]
//! tenant = "organizations"            # optional; else AZURE_TENANT_ID, else "organizations"
//! client_id = "…"                     # else AZURE_CLIENT_ID; required
//! authority = "https://login.microsoftonline.com"   # optional; else AZURE_AUTHORITY_HOST
//! vault_hosts = ["127.0.0.1:18091"]   # optional extra Key Vault hosts (http: loopback only)
//! redirect_uri = "http://127.0.0.1:0/"              # optional; port 0 = any free port
//! flow = "browser"                    # optional: browser | device_code | client_credentials |
//!                                     # certificate | workload_identity | managed_identity |
//!                                     # azure_cli | auto (default: see SignInFlow)
//! timeout_seconds = 30                # optional: each HTTP call
//! sign_in_timeout_seconds = 300       # optional: an interactive sign-in
//! fetch_timeout_seconds = 45          # optional: a whole fetch without a person, retries included
//! ```
//!
//! Credentials come from the environment only, never from the file: `AZURE_CLIENT_SECRET`,
//! `AZURE_CLIENT_CERTIFICATE_PATH` (+ `AZURE_CLIENT_CERTIFICATE_PASSWORD`),
//! `AZURE_FEDERATED_TOKEN_FILE`, `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` (App Service),
//! `AZURE_POD_IDENTITY_AUTHORITY_HOST` (another IMDS address), `PATH` (where `az` is).
//! Keys in the file win over the environment.

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;

use serde::Deserialize;
use vault_core::{ConfigError, DynProvider, Environment, IntegrationSettings, SessionStore};

use crate::builder::AzureProviderBuilder;
use crate::provider::AzureProvider;
use crate::sign_in_flow::SignInFlow;

/// The keys of `[integrations.azure]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureSettings {
    /// Tenant id or name.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Application (client) id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Sign-in host.
    #[serde(default)]
    pub authority: Option<String>,
    /// Extra allowed Key Vault hosts.
    #[serde(default)]
    pub vault_hosts: Vec<String>,
    /// Loopback redirect URI.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// Sign-in flow.
    #[serde(default)]
    pub flow: Option<SignInFlow>,
    /// Timeout of each HTTP call, in seconds.
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// Timeout of an interactive sign-in, in seconds.
    #[serde(default)]
    pub sign_in_timeout_seconds: Option<u64>,
    /// The longest a fetch may spend on the network (no person involved), in seconds.
    #[serde(default)]
    pub fetch_timeout_seconds: Option<u64>,
}

impl AzureSettings {
    /// A builder from these settings, filling gaps from `env`.
    pub fn builder(&self, env: &dyn Environment) -> AzureProviderBuilder {
        let var = |name: &str| {
            env.var(name)
                .map(|v| v.expose_secret().trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut b = AzureProvider::builder();
        if let Some(t) = self.tenant.clone().or_else(|| var("AZURE_TENANT_ID")) {
            b = b.tenant(t);
        }
        if let Some(c) = self.client_id.clone().or_else(|| var("AZURE_CLIENT_ID")) {
            b = b.client_id(c);
        }
        if let Some(a) = self
            .authority
            .clone()
            .or_else(|| var("AZURE_AUTHORITY_HOST"))
        {
            b = b.authority(a);
        }
        for h in &self.vault_hosts {
            b = b.vault_host(h.clone());
        }
        if let Some(r) = &self.redirect_uri {
            b = b.redirect_uri(r.clone());
        }
        if let Some(flow) = self.flow {
            b = b.flow(flow);
        }
        let secret = |name: &str| {
            env.var(name)
                .filter(|v| !v.expose_secret().trim().is_empty())
        };
        if let Some(s) = secret("AZURE_CLIENT_SECRET") {
            b = b.client_secret(s);
        }
        if let Some(p) = var("AZURE_CLIENT_CERTIFICATE_PATH") {
            b = b.client_certificate(p);
        }
        if let Some(p) = secret("AZURE_CLIENT_CERTIFICATE_PASSWORD") {
            b = b.client_certificate_password(p);
        }
        if let Some(p) = var("AZURE_FEDERATED_TOKEN_FILE") {
            b = b.federated_token_file(p);
        }
        if let (Some(e), Some(h)) = (var("IDENTITY_ENDPOINT"), secret("IDENTITY_HEADER")) {
            b = b.app_service_identity(e, h);
        }
        if let Some(h) = var("AZURE_POD_IDENTITY_AUTHORITY_HOST") {
            b = b.managed_identity_endpoint(h);
        }
        if let Some(p) = env.var("PATH") {
            b = b.cli_path(p.expose_secret());
        }
        if let Some(s) = self.timeout_seconds {
            b = b.timeout(Duration::from_secs(s));
        }
        if let Some(s) = self.sign_in_timeout_seconds {
            b = b.sign_in_timeout(Duration::from_secs(s));
        }
        if let Some(s) = self.fetch_timeout_seconds {
            b = b.fetch_timeout(Duration::from_secs(s));
        }
        b
    }
}

/// Builds the Azure provider from the config file's `[integrations.azure]` table (an absent
/// table arrives empty: then the `AZURE_*` variables decide, see [`SignInFlow`]). Errors
/// point at the table and say what is missing or wrong.
pub fn from_settings(
    settings: &IntegrationSettings,
    env: &dyn Environment,
) -> Result<DynProvider, ConfigError> {
    from_settings_with_store(settings, env, None)
}

/// [`from_settings`], keeping the session in `store` between runs.
pub fn from_settings_with_store(
    settings: &IntegrationSettings,
    env: &dyn Environment,
    store: Option<Arc<dyn SessionStore>>,
) -> Result<DynProvider, ConfigError> {
    let s: AzureSettings = settings.deserialize()?;
    let mut b = s.builder(env);
    if let Some(store) = store {
        b = b.session_store(store);
    }
    let provider = b
        .build()
        .map_err(|e| settings.error(format!("[integrations.azure]: {}", e.message())))?;
    Ok(Arc::new(provider))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vault_core::{Config, MapEnv};

    fn settings(toml: &str) -> IntegrationSettings {
        let c = Config::parse(toml).unwrap();
        c.integrations
            .get(&vault_core::ProviderId::from_static("azure"))
            .cloned()
            .unwrap()
    }

    #[test]
    fn reads_the_contract_keys() {
        let s = settings(
            r#"
[integrations.azure]
tenant = "test-tenant"
client_id = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
authority = "http://127.0.0.1:18090"
vault_hosts = ["127.0.0.1:18091"]
redirect_uri = "http://127.0.0.1:0/"
fetch_timeout_seconds = 20
"#,
        );
        let p = from_settings(&s, &MapEnv::new()).unwrap();
        assert_eq!(p.id().as_str(), "azure");
    }

    #[test]
    fn unknown_keys_and_missing_client_id_are_named() {
        let e = from_settings(
            &settings("[integrations.azure]\ntennant = \"x\"\n"),
            &MapEnv::new(),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("tennant"), "{e}");
        assert_eq!(e.line(), 1);
        // An empty table: the chain of DefaultAzureCredential, no client id needed...
        assert!(from_settings(&settings("[integrations.azure]\n"), &MapEnv::new()).is_ok());
        // ...but the browser needs one.
        let e = from_settings(
            &settings("[integrations.azure]\nflow = \"browser\"\n"),
            &MapEnv::new(),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("client_id"), "{e}");
        let e = from_settings(
            &settings("[integrations.azure]\nclient_id = \"a\"\nflow = \"magic\"\n"),
            &MapEnv::new(),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("magic"), "{e}");
    }

    #[test]
    fn environment_fills_gaps_and_file_wins() {
        let env = MapEnv::new()
            .with("AZURE_CLIENT_ID", "from-env")
            .with("AZURE_TENANT_ID", "tenant-env")
            .with("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us");
        let p = AzureSettings::default().builder(&env).build().unwrap();
        assert_eq!(p.client_id(), "from-env");
        assert_eq!(p.authority().tenant(), "tenant-env");
        assert_eq!(p.resource(), "https://vault.usgovcloudapi.net");
        let s = AzureSettings {
            client_id: Some("from-file".into()),
            ..Default::default()
        };
        assert_eq!(s.builder(&env).build().unwrap().client_id(), "from-file");
        let s = AzureSettings {
            flow: Some(SignInFlow::ClientCredentials),
            ..Default::default()
        };
        assert!(s.builder(&env).build().is_err());
        let env = env.with("AZURE_CLIENT_SECRET", "s3cret");
        assert!(s.builder(&env).build().is_ok());
    }
}
