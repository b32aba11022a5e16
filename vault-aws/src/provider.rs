//! The AWS Secrets Manager provider: ties credentials, MFA, roles and the service calls
//! together behind [`vault_core::Provider`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use vault_core::{
    Clock, Environment, Error, ErrorKind, Interaction, Link, Locator, ProcessEnv, Provider,
    ProviderId, SecretDetails, SessionState, SystemClock,
};

use crate::credential_source::CredentialSource;
use crate::credentials::Credentials;
use crate::endpoint::{Endpoints, Service};
use crate::link::AwsLink;
use crate::mfa::{check_code, Mfa};
use crate::partition::is_valid_region;
use crate::roles::RoleCache;
use crate::session::{Session, SessionManager};
use crate::transport::{Transport, DEFAULT_TIMEOUT};
use crate::{iam, secrets_manager, sts, PROVIDER_ID};
use vault_core::RetryPolicy;

/// The default region for STS calls when none is configured.
pub const DEFAULT_REGION: &str = "us-east-1";

/// AWS Secrets Manager as a [`Provider`].
///
/// Build one with [`AwsProvider::builder`], or from a config file's `[integrations.aws]`
/// table with [`crate::from_settings`]. Cheap to clone: clones share the session, the role
/// credentials and the HTTP connection pool.
#[derive(Clone)]
pub struct AwsProvider {
    inner: Arc<Inner>,
}

struct Inner {
    region: String,
    source: CredentialSource,
    mfa: Mfa,
    mfa_duration: Option<u32>,
    role_duration: Option<u32>,
    endpoints: Endpoints,
    env: Arc<dyn Environment>,
    clock: Arc<dyn Clock>,
    transport: Transport,
    session: SessionManager,
    roles: RoleCache,
}

impl std::fmt::Debug for AwsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsProvider")
            .field("region", &self.inner.region)
            .field("source", &self.inner.source)
            .field("mfa", &self.inner.mfa)
            .field("endpoints", &self.inner.endpoints)
            .finish_non_exhaustive()
    }
}

/// Builds an [`AwsProvider`].
pub struct AwsProviderBuilder {
    region: String,
    source: CredentialSource,
    mfa: Mfa,
    mfa_duration: Option<u32>,
    role_duration: Option<u32>,
    endpoints: Endpoints,
    env: Arc<dyn Environment>,
    clock: Arc<dyn Clock>,
    client: Option<reqwest::Client>,
    retry: RetryPolicy,
    timeout: Duration,
}

impl std::fmt::Debug for AwsProviderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsProviderBuilder")
            .field("region", &self.region)
            .field("source", &self.source)
            .field("mfa", &self.mfa)
            .field("endpoints", &self.endpoints)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for AwsProviderBuilder {
    fn default() -> Self {
        AwsProviderBuilder {
            region: DEFAULT_REGION.to_owned(),
            source: CredentialSource::default_chain(),
            mfa: Mfa::Discover,
            mfa_duration: None,
            role_duration: None,
            endpoints: Endpoints::default(),
            env: Arc::new(ProcessEnv),
            clock: Arc::new(SystemClock),
            client: None,
            retry: RetryPolicy::default(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl AwsProviderBuilder {
    /// The region of STS calls (default `us-east-1`). Secrets Manager calls always go to the
    /// secret ARN's region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// Where the base credentials come from (default: environment, then credentials file).
    pub fn credentials(mut self, source: CredentialSource) -> Self {
        self.source = source;
        self
    }

    /// Static keys from the host application.
    pub fn static_credentials(self, credentials: Credentials) -> Self {
        self.credentials(CredentialSource::Static(credentials))
    }

    /// MFA handling (default: [`Mfa::Discover`]).
    pub fn mfa(mut self, mfa: Mfa) -> Self {
        self.mfa = mfa;
        self
    }

    /// How long an MFA session lasts (GetSessionToken `DurationSeconds`; AWS's default is 12 h).
    pub fn mfa_session_duration(mut self, duration: Duration) -> Self {
        self.mfa_duration = Some(u32::try_from(duration.as_secs()).unwrap_or(u32::MAX));
        self
    }

    /// How long assumed-role credentials last (AssumeRole `DurationSeconds`; AWS: 1 h).
    pub fn role_session_duration(mut self, duration: Duration) -> Self {
        self.role_duration = Some(u32::try_from(duration.as_secs()).unwrap_or(u32::MAX));
        self
    }

    /// Endpoint overrides (default: AWS's endpoints).
    pub fn endpoints(mut self, endpoints: Endpoints) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// The environment read by credential sources (default: the process environment).
    pub fn env(mut self, env: Arc<dyn Environment>) -> Self {
        self.env = env;
        self
    }

    /// The clock: signing time and session expiry (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The HTTP client (default: rustls, no redirects). Redirects must stay off.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Retries (default: [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Timeout of one attempt of one call (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds the provider; fails on a malformed region, an endpoint that is neither https nor
    /// loopback http, or when no TLS client can be made.
    pub fn build(self) -> Result<AwsProvider, Error> {
        if !is_valid_region(&self.region) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "`{}` is not a region (expected something like us-east-1)",
                    self.region
                ),
            )
            .with_provider(PROVIDER_ID));
        }
        self.endpoints.check()?;
        let client = match self.client {
            Some(c) => c,
            None => Transport::default_client()?,
        };
        let transport = Transport::new(client, self.retry, self.timeout, self.clock.clone());
        Ok(AwsProvider {
            inner: Arc::new(Inner {
                region: self.region,
                source: self.source,
                mfa: self.mfa,
                mfa_duration: self.mfa_duration,
                role_duration: self.role_duration,
                endpoints: self.endpoints,
                env: self.env,
                clock: self.clock,
                transport,
                session: SessionManager::new(),
                roles: RoleCache::default(),
            }),
        })
    }
}

impl AwsProvider {
    /// A builder with the defaults.
    pub fn builder() -> AwsProviderBuilder {
        AwsProviderBuilder::default()
    }

    /// The region STS calls go to.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The credentials a link's calls are signed with: the session's, or the role's.
    async fn credentials_for(
        &self,
        link: &AwsLink,
        interaction: &dyn Interaction,
    ) -> Result<(Arc<Session>, Arc<Credentials>), Error> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let session = inner
            .session
            .get_or_sign_in(now, || inner.establish(interaction, false))
            .await?;
        let creds = match &link.role {
            None => session.creds.clone(),
            Some(role) => {
                let base = session.creds.clone();
                let r = inner
                    .roles
                    .get(role, now, || async {
                        let ep = inner.endpoints.resolve(Service::Sts, &inner.region);
                        sts::assume_role(&inner.transport, &ep, &base, role, inner.role_duration)
                            .await
                    })
                    .await;
                self.note_expiry(&session, r)?
            }
        };
        Ok((session, creds))
    }

    /// After a Secrets Manager call: an expired token is the role's when the link names one
    /// (forget its credentials, the next use assumes it again), else the session's.
    fn note_call_expiry<T>(
        &self,
        link: &AwsLink,
        session: &Arc<Session>,
        r: Result<T, Error>,
    ) -> Result<T, Error> {
        match (&r, &link.role) {
            (Err(e), Some(role)) if e.kind() == ErrorKind::SessionExpired => {
                self.inner.roles.forget(role);
                r
            }
            _ => self.note_expiry(session, r),
        }
    }

    /// When AWS says the session's token expired, the session is over: remember it, so the
    /// next fetch says "session expired" at once.
    fn note_expiry<T>(&self, session: &Arc<Session>, r: Result<T, Error>) -> Result<T, Error> {
        if let Err(e) = &r {
            if e.kind() == ErrorKind::SessionExpired && session.until.is_some() {
                self.inner.session.expire(session);
            }
        }
        r
    }
}

impl Inner {
    /// Signs in: reads the base credentials and, when MFA applies, asks for a code and makes
    /// an MFA session with it. `verify` (an explicit sign-in) checks keys that would otherwise
    /// be used unchecked with STS GetCallerIdentity, so `login` fails on a wrong key at once.
    async fn establish(
        &self,
        interaction: &dyn Interaction,
        verify: bool,
    ) -> Result<Session, Error> {
        let base = self.source.load(self.env.as_ref())?;
        let serial = match &self.mfa {
            Mfa::Off => None,
            Mfa::Serial(s) => Some(s.clone()),
            Mfa::Discover => self.discover_mfa(&base).await?,
        };
        let checked = matches!(self.mfa, Mfa::Discover) && !base.has_session_token();
        if serial.is_none() && verify && !checked {
            let ep = self.endpoints.resolve(Service::Sts, &self.region);
            match sts::get_caller_identity(&self.transport, &ep, &base).await {
                // Denied means the signature was accepted: the keys are good.
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::PermissionDenied => {}
                Err(e) => return Err(e),
            }
        }
        let Some(serial) = serial else {
            let until = base.expires();
            return Ok(Session {
                creds: Arc::new(base),
                until,
            });
        };
        let code = interaction.ask_mfa_code(&serial).await?;
        let code = check_code(code.expose_secret())
            .map(|c| SecretString::from(c.to_owned()))
            .map_err(|why| {
                Error::new(ErrorKind::AuthFailed, format!("MFA device {serial}: {why}"))
                    .with_provider(PROVIDER_ID)
            })?;
        let ep = self.endpoints.resolve(Service::Sts, &self.region);
        let creds = sts::get_session_token(
            &self.transport,
            &ep,
            &base,
            &serial,
            code.expose_secret(),
            self.mfa_duration,
        )
        .await
        .map_err(|e| {
            Error::new(e.kind(), format!("{} (MFA device {serial})", e.message()))
                .with_provider(PROVIDER_ID)
                .with_retryable(e.is_retryable())
        })?;
        let until = creds.expires();
        Ok(Session {
            creds: Arc::new(creds),
            until,
        })
    }

    /// The first MFA device of the calling IAM user, if any and if we may know.
    async fn discover_mfa(&self, base: &Credentials) -> Result<Option<String>, Error> {
        if base.has_session_token() {
            // Temporary credentials cannot make an MFA session (GetSessionToken refuses them).
            return Ok(None);
        }
        let sts_ep = self.endpoints.resolve(Service::Sts, &self.region);
        let who = match sts::get_caller_identity(&self.transport, &sts_ep, base).await {
            Ok(who) => who,
            Err(e) if e.kind() == ErrorKind::PermissionDenied => return Ok(None),
            Err(e) => return Err(discovery_error(e)),
        };
        let Some(user) = who.user_name() else {
            return Ok(None);
        };
        let iam_ep = self.endpoints.resolve(Service::Iam, &self.region);
        match iam::list_mfa_devices(&self.transport, &iam_ep, base, user).await {
            Ok(devices) => Ok(devices.into_iter().next()),
            Err(e) if e.kind() == ErrorKind::PermissionDenied => Ok(None),
            Err(e) => Err(discovery_error(e)),
        }
    }
}

/// Says why STS or IAM was called before the secret: the first call with the base keys is
/// the MFA device lookup, so a wrong key is reported there.
fn discovery_error(e: Error) -> Error {
    Error::new(
        e.kind(),
        format!("signing in (looking for MFA devices): {}", e.message()),
    )
    .with_provider(PROVIDER_ID)
    .with_retryable(e.is_retryable())
}

#[async_trait]
impl Provider for AwsProvider {
    fn id(&self) -> ProviderId {
        PROVIDER_ID
    }

    fn display_name(&self) -> &str {
        "AWS Secrets Manager"
    }

    fn validate_link(&self, link: &Link) -> Result<Locator, Error> {
        Ok(AwsLink::from_link(link)?.locator())
    }

    async fn fetch(
        &self,
        link: &Link,
        interaction: &dyn Interaction,
    ) -> Result<SecretString, Error> {
        let link = AwsLink::from_link(link)?;
        let (session, creds) = self.credentials_for(&link, interaction).await?;
        let ep = self
            .inner
            .endpoints
            .resolve(Service::SecretsManager, link.secret.region());
        let r = secrets_manager::get_secret_value(
            &self.inner.transport,
            &ep,
            &creds,
            &link.secret,
            link.version.as_ref(),
        )
        .await;
        self.note_call_expiry(&link, &session, r)
    }

    async fn describe(
        &self,
        link: &Link,
        interaction: &dyn Interaction,
    ) -> Result<SecretDetails, Error> {
        let link = AwsLink::from_link(link)?;
        let (session, creds) = self.credentials_for(&link, interaction).await?;
        let ep = self
            .inner
            .endpoints
            .resolve(Service::SecretsManager, link.secret.region());
        let r = secrets_manager::describe_secret(
            &self.inner.transport,
            &ep,
            &creds,
            &link.secret,
            link.version.as_ref(),
        )
        .await;
        self.note_call_expiry(&link, &session, r)
    }

    async fn sign_in(&self, interaction: &dyn Interaction) -> Result<SessionState, Error> {
        let inner = &self.inner;
        inner.roles.clear();
        let s = inner
            .session
            .sign_in(|| inner.establish(interaction, true))
            .await?;
        inner.roles.clear();
        Ok(SessionState::SignedIn { until: s.until })
    }

    async fn sign_out(&self) -> Result<(), Error> {
        self.inner.session.sign_out();
        self.inner.roles.clear();
        Ok(())
    }

    fn session(&self) -> SessionState {
        self.inner.session.state(self.inner.clock.now())
    }
}
