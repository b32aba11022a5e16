//! The typed way to build an [`AzureProvider`] in code (the config file goes through
//! [`from_settings`](crate::from_settings), which uses this builder).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;
use vault_core::url_text::for_message;
use vault_core::{Clock, Error, ErrorKind, ProviderId, SessionStore, SystemClock};

use crate::authority::{Authority, DEFAULT_AUTHORITY, DEFAULT_TENANT};
use crate::cloud::Cloud;
use crate::credential::azure_cli::{self, AzureCli};
use crate::credential::certificate::Certificate;
use crate::credential::client_secret::ClientSecret;
use crate::credential::managed_identity::{self, Endpoint, ManagedIdentity};
use crate::credential::workload_identity::WorkloadIdentity;
use crate::credential::{Chain, TokenSource};
use crate::host_policy::VaultHost;
use crate::provider::{AzureProvider, ProviderParts};
use crate::sign_in_flow::SignInFlow;
use crate::transport::{Transport, DEFAULT_BUDGET};
use crate::PROVIDER_ID;
use vault_core::RetryPolicy;

/// The default redirect: loopback, any free port.
pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1:0/";

/// Builds an [`AzureProvider`].
///
/// ```
/// let provider = vault_azure::AzureProvider::builder()
///     .tenant("contoso.onmicrosoft.com")
///     .client_id("00000000-0000-0000-0000-000000000000")
///     .build()
///     .unwrap();
/// # let _ = provider;
/// ```
pub struct AzureProviderBuilder {
    tenant: String,
    client_id: Option<String>,
    authority: String,
    vault_hosts: Vec<String>,
    redirect_uri: String,
    flow: Option<SignInFlow>,
    client_secret: Option<SecretString>,
    certificate_path: Option<PathBuf>,
    certificate_password: Option<SecretString>,
    federated_token_file: Option<PathBuf>,
    imds_endpoint: Option<String>,
    app_service: Option<(String, SecretString)>,
    path_var: Option<String>,
    cli_timeout: Duration,
    probe_timeout: Duration,
    resource: Option<String>,
    timeout: Duration,
    fetch_timeout: Duration,
    sign_in_timeout: Duration,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    session_store: Option<Arc<dyn SessionStore>>,
}

impl Default for AzureProviderBuilder {
    fn default() -> Self {
        AzureProviderBuilder {
            tenant: DEFAULT_TENANT.into(),
            client_id: None,
            authority: DEFAULT_AUTHORITY.into(),
            vault_hosts: Vec::new(),
            redirect_uri: DEFAULT_REDIRECT_URI.into(),
            flow: None,
            client_secret: None,
            certificate_path: None,
            certificate_password: None,
            federated_token_file: None,
            imds_endpoint: None,
            app_service: None,
            path_var: None,
            cli_timeout: azure_cli::DEFAULT_TIMEOUT,
            probe_timeout: managed_identity::PROBE_TIMEOUT,
            resource: None,
            timeout: Duration::from_secs(30),
            fetch_timeout: DEFAULT_BUDGET,
            sign_in_timeout: Duration::from_secs(300),
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
            session_store: None,
        }
    }
}

impl std::fmt::Debug for AzureProviderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureProviderBuilder")
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("authority", &self.authority)
            .field("vault_hosts", &self.vault_hosts)
            .field("redirect_uri", &self.redirect_uri)
            .field("flow", &self.flow)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("certificate_path", &self.certificate_path)
            .field("federated_token_file", &self.federated_token_file)
            .field("session_store", &self.session_store.is_some())
            .finish_non_exhaustive()
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidConfig, msg).with_provider(ProviderId::from_static(PROVIDER_ID))
}

impl AzureProviderBuilder {
    /// Tenant id, domain, or `organizations` (default), `common`, `consumers`.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self
    }

    /// The application (client) id of the app registration (for managed identity: the
    /// user-assigned identity's client id).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The sign-in host, default `https://login.microsoftonline.com`; use
    /// `https://login.chinacloudapi.cn` or `https://login.microsoftonline.us` for the
    /// sovereign clouds (the Key Vault audience follows).
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = authority.into();
        self
    }

    /// Allows one more Key Vault host, `host[:port]` (plain HTTP only for loopback hosts).
    pub fn vault_host(mut self, host: impl Into<String>) -> Self {
        self.vault_hosts.push(host.into());
        self
    }

    /// The loopback redirect URI of the browser sign-in; port 0 = any free port.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = uri.into();
        self
    }

    /// The flow (default: chosen from what is configured, see [`SignInFlow`]).
    pub fn flow(mut self, flow: SignInFlow) -> Self {
        self.flow = Some(flow);
        self
    }

    /// The client secret of [`SignInFlow::ClientCredentials`] (`AZURE_CLIENT_SECRET`).
    pub fn client_secret(mut self, secret: SecretString) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// The certificate file of [`SignInFlow::Certificate`] (`AZURE_CLIENT_CERTIFICATE_PATH`):
    /// PEM (certificate + unencrypted RSA key) or PKCS#12.
    pub fn client_certificate(mut self, path: impl Into<PathBuf>) -> Self {
        self.certificate_path = Some(path.into());
        self
    }

    /// The PKCS#12 password (`AZURE_CLIENT_CERTIFICATE_PASSWORD`).
    pub fn client_certificate_password(mut self, password: SecretString) -> Self {
        self.certificate_password = Some(password);
        self
    }

    /// The federated token file of [`SignInFlow::WorkloadIdentity`]
    /// (`AZURE_FEDERATED_TOKEN_FILE`), read again for every token request.
    pub fn federated_token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.federated_token_file = Some(path.into());
        self
    }

    /// The IMDS base URL (default `http://169.254.169.254`; tests point it at a stand-in).
    pub fn managed_identity_endpoint(mut self, url: impl Into<String>) -> Self {
        self.imds_endpoint = Some(url.into());
        self
    }

    /// App Service / Functions managed identity: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`.
    pub fn app_service_identity(
        mut self,
        endpoint: impl Into<String>,
        header: SecretString,
    ) -> Self {
        self.app_service = Some((endpoint.into(), header));
        self
    }

    /// The `PATH` in which `az` is looked up (default: none, so no Azure CLI; the config
    /// file path passes the process's `PATH`).
    pub fn cli_path(mut self, path_var: impl Into<String>) -> Self {
        self.path_var = Some(path_var.into());
        self
    }

    /// How long `az` may run (default 10 s).
    pub fn cli_timeout(mut self, timeout: Duration) -> Self {
        self.cli_timeout = timeout;
        self
    }

    /// The deadline of the first IMDS request (default 1 s).
    pub fn managed_identity_probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// Where the session is kept between runs: the refresh token (and the access token
    /// until it expires) are saved after every change, resumed at start, removed on sign-out.
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.session_store = Some(store);
        self
    }

    /// Overrides the Key Vault token audience (default: the authority's cloud, else the
    /// public cloud's `https://vault.azure.net`).
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// Timeout of each HTTP attempt, body included (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The longest one fetch may spend on the network when no person is involved, retries
    /// included (default 30 s).
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// How long an interactive sign-in may take (default 5 min).
    pub fn sign_in_timeout(mut self, timeout: Duration) -> Self {
        self.sign_in_timeout = timeout;
        self
    }

    /// Retries of failed calls (default: 3 attempts).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The clock (tests inject a manual one).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The flow used when none was named: see [`SignInFlow`].
    fn chosen_flow(&self, has_client_id: bool) -> SignInFlow {
        if let Some(f) = self.flow {
            f
        } else if self.client_secret.is_some() {
            SignInFlow::ClientCredentials
        } else if self.certificate_path.is_some() {
            SignInFlow::Certificate
        } else if self.federated_token_file.is_some() {
            SignInFlow::WorkloadIdentity
        } else if has_client_id {
            SignInFlow::Browser
        } else {
            SignInFlow::Auto
        }
    }

    /// Validates everything and builds the provider. No network.
    pub fn build(self) -> Result<AzureProvider, Error> {
        let client_id = self
            .client_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        if let Some(c) = &client_id {
            if c.len() > 128
                || !c
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                return Err(invalid(format!("client_id `{c}` is not an application id")));
            }
        }
        let flow = self.chosen_flow(client_id.is_some());
        let needs_client_id = !matches!(
            flow,
            SignInFlow::ManagedIdentity | SignInFlow::AzureCli | SignInFlow::Auto
        );
        if needs_client_id && client_id.is_none() {
            return Err(invalid(format!(
                "client_id is missing: set `client_id` in [integrations.azure] or AZURE_CLIENT_ID (the application id of the app registration; flow = \"{}\")",
                flow.as_str()
            )));
        }
        let authority = Authority::new(&self.authority, &self.tenant).map_err(invalid)?;
        let vault_hosts = self
            .vault_hosts
            .iter()
            .map(|h| VaultHost::parse(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(format!("vault_hosts: {e}")))?;
        let redirect_uri = Url::parse(&self.redirect_uri).map_err(|e| {
            invalid(format!(
                "redirect_uri `{}` is not a URL: {e}",
                for_message(&self.redirect_uri)
            ))
        })?;
        // The same rule the listener applies when it binds, checked here so that a bad
        // redirect URI is a config error at build time, not at the first sign-in.
        vault_core::loopback::check_redirect_uri(&redirect_uri)
            .map_err(|e| invalid(e.message()))?;
        let resource = match &self.resource {
            Some(r) => {
                let u = Url::parse(r)
                    .map_err(|_| invalid(format!("resource `{}` is not a URL", for_message(r))))?;
                if u.scheme() != "https" {
                    return Err(invalid(format!(
                        "resource `{}` must be https",
                        for_message(r)
                    )));
                }
                r.trim_end_matches('/').to_owned()
            }
            None => authority
                .cloud()
                .unwrap_or(Cloud::Public)
                .resource()
                .to_owned(),
        };
        if [
            self.timeout,
            self.sign_in_timeout,
            self.fetch_timeout,
            self.cli_timeout,
            self.probe_timeout,
        ]
        .iter()
        .any(Duration::is_zero)
        {
            return Err(invalid("timeouts must be more than zero"));
        }
        let concrete_tenant = |what: &str| {
            if authority.is_multi_tenant() {
                Err(invalid(format!(
                    "{what} needs a concrete tenant, not `{}`: set `tenant` or AZURE_TENANT_ID",
                    authority.tenant()
                )))
            } else {
                Ok(())
            }
        };
        let certificate = |path: &PathBuf| {
            Certificate::load(path.clone(), self.certificate_password.as_ref()).map_err(invalid)
        };
        let managed_identity = || -> Result<ManagedIdentity, Error> {
            let endpoint = match &self.app_service {
                Some((_, header))
                    if reqwest::header::HeaderValue::from_str(header.expose_secret()).is_err() =>
                {
                    return Err(invalid(
                        "IDENTITY_HEADER cannot be sent as an HTTP header (invalid characters)",
                    ))
                }
                Some((e, header)) => Endpoint::AppService {
                    endpoint: Url::parse(e)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https"))
                        .ok_or_else(|| {
                            invalid(format!(
                                "IDENTITY_ENDPOINT `{}` is not an http(s) URL",
                                for_message(e)
                            ))
                        })?,
                    header: header.clone(),
                },
                None => {
                    let base = self
                        .imds_endpoint
                        .as_deref()
                        .unwrap_or(managed_identity::DEFAULT_IMDS);
                    Endpoint::Imds(
                        Url::parse(base)
                            .ok()
                            .filter(|u| {
                                matches!(u.scheme(), "http" | "https") && u.host().is_some()
                            })
                            .ok_or_else(|| {
                                invalid(format!(
                                    "the managed identity endpoint `{}` is not an http(s) URL",
                                    for_message(base)
                                ))
                            })?,
                    )
                }
            };
            let mut mi = ManagedIdentity::new(endpoint, client_id.clone());
            mi.probe_timeout = self.probe_timeout;
            Ok(mi)
        };
        let cli = || AzureCli {
            path_var: self.path_var.clone(),
            timeout: self.cli_timeout,
        };
        let mut sources: Vec<Box<dyn TokenSource>> = Vec::new();
        match flow {
            SignInFlow::Browser | SignInFlow::DeviceCode => {}
            SignInFlow::ClientCredentials => {
                concrete_tenant("flow = \"client_credentials\"")?;
                let secret = self.client_secret.clone().ok_or_else(|| {
                    invalid("flow = \"client_credentials\" needs a client secret: set AZURE_CLIENT_SECRET")
                })?;
                sources.push(Box::new(ClientSecret { secret }));
            }
            SignInFlow::Certificate => {
                concrete_tenant("flow = \"certificate\"")?;
                let path = self.certificate_path.as_ref().ok_or_else(|| {
                    invalid("flow = \"certificate\" needs AZURE_CLIENT_CERTIFICATE_PATH (a PEM or PKCS#12 file)")
                })?;
                sources.push(Box::new(certificate(path)?));
            }
            SignInFlow::WorkloadIdentity => {
                concrete_tenant("flow = \"workload_identity\"")?;
                let token_file = self.federated_token_file.clone().ok_or_else(|| {
                    invalid("flow = \"workload_identity\" needs AZURE_FEDERATED_TOKEN_FILE")
                })?;
                sources.push(Box::new(WorkloadIdentity { token_file }));
            }
            SignInFlow::ManagedIdentity => sources.push(Box::new(managed_identity()?)),
            SignInFlow::AzureCli => sources.push(Box::new(cli())),
            SignInFlow::Auto => {
                // DefaultAzureCredential's order: environment (secret, then certificate),
                // workload identity, managed identity, Azure CLI.
                if let Some(secret) = self.client_secret.clone() {
                    sources.push(Box::new(ClientSecret { secret }));
                }
                if let Some(path) = &self.certificate_path {
                    sources.push(Box::new(certificate(path)?));
                }
                if let Some(token_file) = self.federated_token_file.clone() {
                    sources.push(Box::new(WorkloadIdentity { token_file }));
                }
                sources.push(Box::new(managed_identity()?));
                sources.push(Box::new(cli()));
            }
        }
        let transport = Transport::new(
            self.timeout,
            self.fetch_timeout,
            self.retry,
            self.clock.clone(),
        )?;
        Ok(AzureProvider::from_parts(ProviderParts {
            authority,
            client_id: client_id.unwrap_or_default(),
            resource,
            vault_hosts,
            redirect_uri,
            flow,
            chain: (!sources.is_empty()).then(|| Chain::new(sources)),
            sign_in_timeout: self.sign_in_timeout,
            fetch_timeout: self.fetch_timeout,
            transport,
            clock: self.clock,
            session_store: self.session_store,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_a_client_id_for_app_flows_only() {
        for flow in [
            SignInFlow::Browser,
            SignInFlow::DeviceCode,
            SignInFlow::Certificate,
        ] {
            let e = AzureProviderBuilder::default()
                .flow(flow)
                .build()
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig);
            assert!(e.message().contains("AZURE_CLIENT_ID"), "{e}");
        }
        // Nothing configured: the chain of DefaultAzureCredential.
        let p = AzureProviderBuilder::default().build().unwrap();
        assert_eq!(p.flow(), SignInFlow::Auto);
        for flow in [SignInFlow::ManagedIdentity, SignInFlow::AzureCli] {
            assert_eq!(
                AzureProviderBuilder::default()
                    .flow(flow)
                    .build()
                    .unwrap()
                    .flow(),
                flow
            );
        }
    }

    #[test]
    fn the_environment_picks_the_flow_when_none_is_named() {
        let b = || {
            AzureProviderBuilder::default()
                .client_id("abc")
                .tenant("t1")
        };
        assert_eq!(b().build().unwrap().flow(), SignInFlow::Browser);
        assert_eq!(
            b().client_secret("s".into()).build().unwrap().flow(),
            SignInFlow::ClientCredentials
        );
        assert_eq!(
            b().federated_token_file("/nonexistent/token")
                .build()
                .unwrap()
                .flow(),
            SignInFlow::WorkloadIdentity
        );
        let e = b()
            .client_certificate("/nonexistent/cert.pem")
            .build()
            .unwrap_err();
        assert!(e.message().contains("/nonexistent/cert.pem"), "{e}");
        let e = b().flow(SignInFlow::WorkloadIdentity).build().unwrap_err();
        assert!(e.message().contains("AZURE_FEDERATED_TOKEN_FILE"), "{e}");
        let e = b().flow(SignInFlow::Certificate).build().unwrap_err();
        assert!(e.message().contains("AZURE_CLIENT_CERTIFICATE_PATH"), "{e}");
        let e = AzureProviderBuilder::default()
            .flow(SignInFlow::ManagedIdentity)
            .managed_identity_endpoint("ftp://x")
            .build()
            .unwrap_err();
        assert!(e.message().contains("ftp://x"), "{e}");
    }

    #[test]
    fn checks_redirect_and_flows() {
        let b = || AzureProviderBuilder::default().client_id("abc");
        assert!(b().build().is_ok());
        for bad in [
            "https://127.0.0.1/",
            "http://example.com/",
            "http://127.0.0.1:0/?x=1",
            "nope",
        ] {
            assert!(b().redirect_uri(bad).build().is_err(), "{bad}");
        }
        assert!(b().redirect_uri("http://localhost:8400/cb").build().is_ok());
        let e = b()
            .flow(SignInFlow::ClientCredentials)
            .tenant("t1")
            .build()
            .unwrap_err();
        assert!(e.message().contains("AZURE_CLIENT_SECRET"));
        let e = b()
            .flow(SignInFlow::ClientCredentials)
            .client_secret("s".into())
            .build()
            .unwrap_err();
        assert!(e.message().contains("concrete tenant"));
        assert!(b()
            .flow(SignInFlow::ClientCredentials)
            .tenant("t1")
            .client_secret("s".into())
            .build()
            .is_ok());
        assert!(b().vault_host("https://x").build().is_err());
        assert!(b().client_id("a b").build().is_err());
    }

    #[test]
    fn sovereign_authority_picks_the_audience() {
        let p = AzureProviderBuilder::default()
            .client_id("abc")
            .authority("https://login.chinacloudapi.cn")
            .build()
            .unwrap();
        assert_eq!(p.resource(), "https://vault.azure.cn");
        let p = AzureProviderBuilder::default()
            .client_id("abc")
            .build()
            .unwrap();
        assert_eq!(p.resource(), "https://vault.azure.net");
    }
}
