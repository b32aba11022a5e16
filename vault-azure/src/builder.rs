//! The typed way to build an [`AzureProvider`] in code (the config file goes through
//! [`from_settings`](crate::from_settings), which uses this builder).

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;
use vault_core::{Clock, Error, ErrorKind, ProviderId, SystemClock};

use crate::authority::{Authority, DEFAULT_AUTHORITY, DEFAULT_TENANT};
use crate::cloud::Cloud;
use crate::host_policy::VaultHost;
use crate::provider::{AzureProvider, ProviderParts};
use crate::sign_in_flow::SignInFlow;
use crate::transport::Transport;
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
    flow: SignInFlow,
    client_secret: Option<SecretString>,
    resource: Option<String>,
    timeout: Duration,
    sign_in_timeout: Duration,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
}

impl Default for AzureProviderBuilder {
    fn default() -> Self {
        AzureProviderBuilder {
            tenant: DEFAULT_TENANT.into(),
            client_id: None,
            authority: DEFAULT_AUTHORITY.into(),
            vault_hosts: Vec::new(),
            redirect_uri: DEFAULT_REDIRECT_URI.into(),
            flow: SignInFlow::Browser,
            client_secret: None,
            resource: None,
            timeout: Duration::from_secs(30),
            sign_in_timeout: Duration::from_secs(300),
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
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

    /// The application (client) id of the app registration. Required.
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

    /// The sign-in flow (default: browser).
    pub fn flow(mut self, flow: SignInFlow) -> Self {
        self.flow = flow;
        self
    }

    /// The client secret of [`SignInFlow::ClientCredentials`].
    pub fn client_secret(mut self, secret: SecretString) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// Overrides the Key Vault token audience (default: the authority's cloud, else the
    /// public cloud's `https://vault.azure.net`).
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// Timeout of each HTTP call (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
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

    /// Validates everything and builds the provider. No network.
    pub fn build(self) -> Result<AzureProvider, Error> {
        let client_id = self
            .client_id
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| invalid("client_id is missing: set `client_id` in [integrations.azure] or AZURE_CLIENT_ID (the application id of a public client app registration)"))?;
        let client_id = client_id.trim().to_owned();
        if client_id.len() > 128
            || !client_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return Err(invalid(format!(
                "client_id `{client_id}` is not an application id"
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
                self.redirect_uri
            ))
        })?;
        // The same rule the listener applies when it binds, checked here so that a bad
        // redirect URI is a config error at build time, not at the first sign-in.
        vault_core::loopback::check_redirect_uri(&redirect_uri)
            .map_err(|e| invalid(e.message()))?;
        let resource = match self.resource {
            Some(r) => {
                let u =
                    Url::parse(&r).map_err(|_| invalid(format!("resource `{r}` is not a URL")))?;
                if u.scheme() != "https" {
                    return Err(invalid(format!("resource `{r}` must be https")));
                }
                r.trim_end_matches('/').to_owned()
            }
            None => authority
                .cloud()
                .unwrap_or(Cloud::Public)
                .resource()
                .to_owned(),
        };
        let client_secret = match self.flow {
            SignInFlow::ClientCredentials => {
                if authority.is_multi_tenant() {
                    return Err(invalid(format!(
                        "client credentials need a concrete tenant, not `{}`: set `tenant` or AZURE_TENANT_ID",
                        authority.tenant()
                    )));
                }
                Some(self.client_secret.ok_or_else(|| {
                    invalid("flow = \"client_credentials\" needs a client secret: set AZURE_CLIENT_SECRET")
                })?)
            }
            _ => None,
        };
        if self.timeout.is_zero() || self.sign_in_timeout.is_zero() {
            return Err(invalid("timeouts must be more than zero"));
        }
        let transport = Transport::new(self.timeout, self.retry, self.clock.clone())?;
        Ok(AzureProvider::from_parts(ProviderParts {
            authority,
            client_id,
            resource,
            vault_hosts,
            redirect_uri,
            flow: self.flow,
            client_secret,
            sign_in_timeout: self.sign_in_timeout,
            transport,
            clock: self.clock,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_a_client_id() {
        let e = AzureProviderBuilder::default().build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert!(e.message().contains("AZURE_CLIENT_ID"));
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
