//! The AWS Secrets Manager provider: ties credentials, MFA, roles and the service calls
//! together behind [`vault_core::Provider`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use vault_core::body::BodyLimit;
use vault_core::{
    Clock, Environment, Error, ErrorKind, Interaction, Link, Locator, ProcessEnv, Provider,
    ProviderId, SecretDetails, SessionState, SessionStore, StoreKey, SystemClock,
};

use crate::budget::{Attended, Budget, DEFAULT_FETCH_TIMEOUT, DEFAULT_SIGN_IN_TIMEOUT};
use crate::credential_source::CredentialSource;
use crate::credentials::Credentials;
use crate::endpoint::{Endpoints, Service};
use crate::link::AwsLink;
use crate::mfa::{check_code, Mfa};
use crate::partition::is_valid_region;
use crate::plan::{Plan, SourceContext};
use crate::roles::RoleCache;
use crate::session::{GateWait, Session, SessionManager, EXPIRY_MARGIN};
use crate::stored::{MfaKnown, Record, StoredCreds};
use crate::transport::{Transport, DEFAULT_DEADLINE, DEFAULT_TIMEOUT};
use crate::{iam, secrets_manager, sts, PROVIDER_ID};
use vault_core::telemetry::{self, SessionAction};
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
    store: Option<Arc<dyn SessionStore>>,
    fetch_timeout: Duration,
    sign_in_timeout: Duration,
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
    deadline: Duration,
    body_limit: BodyLimit,
    store: Option<Arc<dyn SessionStore>>,
    fetch_timeout: Duration,
    sign_in_timeout: Duration,
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
            deadline: DEFAULT_DEADLINE,
            body_limit: BodyLimit::default(),
            store: None,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
            sign_in_timeout: DEFAULT_SIGN_IN_TIMEOUT,
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

    /// The deadline of one call across its retries (default 30 s): a server that never
    /// answers, or answers one byte a second, ends the call by then.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The budget of one fetch (default [`DEFAULT_FETCH_TIMEOUT`], 30 s): its calls, their
    /// retries and its sign-in calls together end within it. Waits for a person (an MFA
    /// code, an SSO approval) are not counted; see [`crate::budget`].
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// The limit of one wait for an MFA code or for another task's sign-in (default
    /// [`DEFAULT_SIGN_IN_TIMEOUT`], 5 minutes). An SSO approval is bounded by its device
    /// code's lifetime (at most 10 minutes), a `credential_process` by its 60 s.
    pub fn sign_in_timeout(mut self, timeout: Duration) -> Self {
        self.sign_in_timeout = timeout;
        self
    }

    /// The largest response body read (default [`BodyLimit::DEFAULT_MAX_BYTES`]); a larger
    /// one fails the call with `InvalidResponse`.
    pub fn body_limit(mut self, max_bytes: usize) -> Self {
        self.body_limit = BodyLimit::new(max_bytes);
        self
    }

    /// Keeps temporary credentials (MFA session, roles) and MFA discovery's answer in
    /// `store`, so a later process resumes without asking for a code (see [`crate::stored`]).
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
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
        if self.fetch_timeout.is_zero() || self.sign_in_timeout.is_zero() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "the fetch and sign-in timeouts must be longer than zero",
            )
            .with_provider(PROVIDER_ID));
        }
        let client = match self.client {
            Some(c) => c,
            None => Transport::default_client()?,
        };
        let transport = Transport::new(
            client,
            self.retry,
            self.timeout,
            self.deadline,
            self.body_limit,
            self.clock.clone(),
        );
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
                store: self.store,
                fetch_timeout: self.fetch_timeout,
                sign_in_timeout: self.sign_in_timeout,
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

    /// Which credential source the session uses (or would use), in words for `status`
    /// (`profile `dev` (role … from profile `base`: static keys)`, `environment variables`,
    /// `EC2 instance metadata`, …), and whether it was resumed from the session store. Never a
    /// key. Choosing reads variables and files only: no network call.
    pub fn source_description(&self) -> Result<String, Error> {
        if let Some(s) = self.inner.session.current_session() {
            return Ok(if s.resumed {
                format!("{} (resumed from the session store)", s.source)
            } else {
                s.source.clone()
            });
        }
        self.inner.source.describe(self.inner.env.as_ref())
    }

    /// The credentials a link's calls are signed with: the session's, or the role's.
    async fn credentials_for(
        &self,
        link: &AwsLink,
        interaction: &Attended<'_>,
    ) -> Result<(Arc<Session>, Arc<Credentials>), Error> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let waits = GateWait {
            budget: interaction.budget,
            limit: inner.sign_in_timeout,
        };
        let session = inner
            .session
            .get_or_sign_in(now, Some(waits), || inner.establish(interaction, false))
            .await?;
        let creds = match &link.role {
            None => session.creds.clone(),
            Some(role) => {
                let base = session.creds.clone();
                let r = inner
                    .roles
                    .get(role, now, || async {
                        let ep = inner.endpoints.resolve(Service::Sts, &inner.region);
                        let c = sts::assume_role(
                            &inner.transport,
                            &ep,
                            &base,
                            role,
                            &sts::RoleOptions {
                                duration_seconds: inner.role_duration,
                                ..Default::default()
                            },
                        )
                        .await?;
                        inner.save_role(&session, role.as_str(), &c);
                        Ok(c)
                    })
                    .await;
                self.note_expiry(&session, r)?
            }
        };
        Ok((session, creds))
    }

    /// Runs `op` with a link's credentials. When they came from the session store and the
    /// server refuses them (expired, unknown token), the record is dropped and `op` runs once
    /// more after a normal sign-in.
    /// The whole runs within the fetch's budget ([`crate::budget`]).
    async fn with_credentials<T, F, Fut>(
        &self,
        link: &AwsLink,
        interaction: &dyn Interaction,
        op: F,
    ) -> Result<T, Error>
    where
        F: Fn(Arc<Credentials>) -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        let budget = Budget::new(self.inner.fetch_timeout);
        let interaction = self.attended(interaction, &budget);
        budget
            .run(self.with_credentials_within(link, &interaction, op))
            .await
    }

    /// The host's interaction, its prompts bounded and pausing `budget`.
    fn attended<'a>(&self, interaction: &'a dyn Interaction, budget: &'a Budget) -> Attended<'a> {
        Attended {
            inner: interaction,
            budget,
            limit: self.inner.sign_in_timeout,
        }
    }

    async fn with_credentials_within<T, F, Fut>(
        &self,
        link: &AwsLink,
        interaction: &Attended<'_>,
        op: F,
    ) -> Result<T, Error>
    where
        F: Fn(Arc<Credentials>) -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        let (session, creds) = self.credentials_for(link, interaction).await?;
        let r = op(creds).await;
        let refused = matches!(&r, Err(e) if matches!(e.kind(), ErrorKind::AuthFailed | ErrorKind::SessionExpired));
        if refused && session.resumed {
            self.inner.forget_stored(&session);
            let (session, creds) = self.credentials_for(link, interaction).await?;
            let r = op(creds).await;
            return self.note_call_expiry(link, &session, r);
        }
        self.note_call_expiry(link, &session, r)
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
    /// next fetch says "session expired" at once (or renews it, when that needs no user).
    fn note_expiry<T>(&self, session: &Arc<Session>, r: Result<T, Error>) -> Result<T, Error> {
        if let Err(e) = &r {
            if e.kind() == ErrorKind::SessionExpired && session.until.is_some() {
                if session.renews {
                    self.inner.session.drop_resumed(session);
                } else {
                    self.inner.session.expire(session);
                }
            }
        }
        r
    }
}

impl Inner {
    /// The store key of a plan: its identity, plus the MFA device the integration names.
    fn store_key(&self, plan: &Plan) -> Option<StoreKey> {
        self.store.as_ref()?;
        let mut id = plan.identity.clone();
        if let Mfa::Serial(s) = &self.mfa {
            id.push_str("|mfa:");
            id.push_str(s);
        }
        Some(StoreKey::new(PROVIDER_ID, id))
    }

    fn load_record(&self, key: &Option<StoreKey>) -> Option<Record> {
        let (store, key) = (self.store.as_ref()?, key.as_ref()?);
        // A store that cannot be read costs a sign-in, nothing more.
        store
            .load(key)
            .ok()
            .flatten()
            .and_then(|t| Record::parse(&t))
    }

    fn save_record(&self, key: &Option<StoreKey>, record: &Record) {
        if let (Some(store), Some(key)) = (self.store.as_ref(), key.as_ref()) {
            let outcome = match store.save(key, &record.to_secret()) {
                Ok(_) => "ok",
                Err(_) => "error",
            };
            telemetry::session(PROVIDER_ID.as_str(), SessionAction::Save, outcome);
        }
    }

    /// Keeps a link role's credentials beside the session's.
    fn save_role(&self, session: &Session, role: &str, creds: &Credentials) {
        let Some(stored) = StoredCreds::from(creds) else {
            return;
        };
        let key = session.store_key.clone();
        if key.is_none() {
            return;
        }
        let mut r = self.load_record(&key).unwrap_or_default();
        r.roles.insert(role.to_owned(), stored);
        self.save_record(&key, &r);
    }

    /// Drops a resumed session the server refused, and its record.
    fn forget_stored(&self, session: &Arc<Session>) {
        if let (Some(store), Some(key)) = (self.store.as_ref(), session.store_key.as_ref()) {
            let _ = store.remove(key);
        }
        self.session.drop_resumed(session);
        self.roles.clear();
    }

    /// Signs in: chooses the credential source, resumes its stored session when there is one
    /// (not on an explicit sign-in), else fetches its credentials and, when MFA applies, asks
    /// for a code and makes an MFA session with it. `verify` (an explicit sign-in) checks keys
    /// that would otherwise be used unchecked with STS GetCallerIdentity, so `login` fails on
    /// a wrong key at once.
    /// [`establish_now`](Self::establish_now), reported: a resumed session as a `session`
    /// event, anything else as a sign-in by the credential source's label (see
    /// `vault_core::telemetry`).
    async fn establish(&self, interaction: &Attended<'_>, verify: bool) -> Result<Session, Error> {
        let start = std::time::Instant::now();
        let result = self.establish_now(interaction, verify).await;
        let id = PROVIDER_ID;
        let provider = id.as_str();
        match &result {
            Ok(s) if s.resumed => telemetry::session(provider, SessionAction::Resume, "ok"),
            Ok(s) => telemetry::sign_in(provider, &s.source, Ok(()), start.elapsed()),
            Err(e) => telemetry::sign_in(provider, "credential chain", Err(e), start.elapsed()),
        }
        result
    }

    async fn establish_now(
        &self,
        interaction: &Attended<'_>,
        verify: bool,
    ) -> Result<Session, Error> {
        let plan = self.source.select(self.env.as_ref())?;
        let store_key = self.store_key(&plan);
        let record = self.load_record(&store_key);
        let now = self.clock.now();
        if !verify {
            if let Some(creds) = record
                .as_ref()
                .and_then(|r| r.session.as_ref())
                .and_then(|s| s.usable(now, EXPIRY_MARGIN))
            {
                for (role, c) in record.iter().flat_map(|r| r.roles.iter()) {
                    if let (Ok(role), Some(c)) = (
                        crate::arn::RoleArn::parse(role),
                        c.usable(now, crate::roles::REFRESH_MARGIN),
                    ) {
                        self.roles.put(role, c);
                    }
                }
                let until = creds.expires();
                return Ok(Session {
                    creds: Arc::new(creds),
                    until,
                    renews: plan.renews_silently(),
                    source: plan.label.clone(),
                    store_key,
                    resumed: true,
                });
            }
        }
        let ctx = SourceContext {
            transport: &self.transport,
            endpoints: &self.endpoints,
            region: &self.region,
            env: self.env.as_ref(),
            interaction,
            budget: interaction.budget,
        };
        let base = plan.credentials(&ctx).await?;
        let known = record.as_ref().and_then(|r| r.mfa.clone());
        let serial = match &self.mfa {
            Mfa::Off => None,
            // The profile's role was assumed (with its own mfa_serial if any): an MFA
            // session cannot be made from temporary credentials.
            Mfa::Serial(_) if base.has_session_token() && !plan.roles.is_empty() => None,
            Mfa::Serial(s) => Some(s.clone()),
            Mfa::Discover if plan.mfa_serial.is_some() && !base.has_session_token() => {
                plan.mfa_serial.clone()
            }
            Mfa::Discover => match &known {
                Some(k) => k.serial.clone(),
                None => self.discover_mfa(&base).await?,
            },
        };
        let checked =
            matches!(self.mfa, Mfa::Discover) && known.is_none() && !base.has_session_token();
        if serial.is_none() && verify && !checked {
            let ep = self.endpoints.resolve(Service::Sts, &self.region);
            match sts::get_caller_identity(&self.transport, &ep, &base).await {
                // Denied means the signature was accepted: the keys are good.
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::PermissionDenied => {}
                Err(e) => return Err(e),
            }
        }
        let creds = match &serial {
            None => base,
            Some(serial) => self.mfa_session(interaction, &base, serial).await?,
        };
        let mut record = Record::default();
        if matches!(self.mfa, Mfa::Discover) && !creds.has_session_token() || serial.is_some() {
            record.mfa = Some(MfaKnown {
                serial: serial.clone(),
            });
        } else if let Some(k) = known {
            record.mfa = Some(k);
        }
        record.session = StoredCreds::from(&creds);
        if record.mfa.is_some() || record.session.is_some() {
            self.save_record(&store_key, &record);
        }
        let until = creds.expires();
        Ok(Session {
            creds: Arc::new(creds),
            until,
            renews: serial.is_none() && plan.renews_silently(),
            source: plan.label,
            store_key,
            resumed: false,
        })
    }

    async fn mfa_session(
        &self,
        interaction: &Attended<'_>,
        base: &Credentials,
        serial: &str,
    ) -> Result<Credentials, Error> {
        let code = interaction.ask_mfa_code(serial).await?;
        let code = check_code(code.expose_secret())
            .map(|c| SecretString::from(c.to_owned()))
            .map_err(|why| {
                Error::new(ErrorKind::AuthFailed, format!("MFA device {serial}: {why}"))
                    .with_provider(PROVIDER_ID)
            })?;
        let ep = self.endpoints.resolve(Service::Sts, &self.region);
        sts::get_session_token(
            &self.transport,
            &ep,
            base,
            serial,
            code.expose_secret(),
            self.mfa_duration,
        )
        .await
        .map_err(|e| {
            let message = format!("{} (MFA device {serial})", e.message());
            e.with_message(message).with_provider(PROVIDER_ID)
        })
    }

    /// The first MFA device of the calling IAM user, if any and if we may know. An identity
    /// that is no IAM user (an assumed role, a federated user: IAM answers `NoSuchEntity`)
    /// has no device.
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
            Err(e) if matches!(e.kind(), ErrorKind::PermissionDenied | ErrorKind::NotFound) => {
                Ok(None)
            }
            Err(e) => Err(discovery_error(e)),
        }
    }
}

/// Says why STS or IAM was called before the secret: the first call with the base keys is
/// the MFA device lookup, so a wrong key is reported there. Never a "not found" of the
/// secret: a lookup failure is a sign-in failure.
fn discovery_error(e: Error) -> Error {
    let kind = match e.kind() {
        ErrorKind::NotFound | ErrorKind::InvalidRequest | ErrorKind::InvalidResponse => {
            ErrorKind::AuthFailed
        }
        k => k,
    };
    Error::new(
        kind,
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
        let ep = self
            .inner
            .endpoints
            .resolve(Service::SecretsManager, link.secret.region());
        let (inner, link_ref, ep_ref) = (&self.inner, &link, &ep);
        self.with_credentials(&link, interaction, |creds| async move {
            secrets_manager::get_secret_value(
                &inner.transport,
                ep_ref,
                &creds,
                &link_ref.secret,
                link_ref.version.as_ref(),
            )
            .await
        })
        .await
    }

    async fn describe(
        &self,
        link: &Link,
        interaction: &dyn Interaction,
    ) -> Result<SecretDetails, Error> {
        let link = AwsLink::from_link(link)?;
        let ep = self
            .inner
            .endpoints
            .resolve(Service::SecretsManager, link.secret.region());
        let (inner, link_ref, ep_ref) = (&self.inner, &link, &ep);
        self.with_credentials(&link, interaction, |creds| async move {
            secrets_manager::describe_secret(
                &inner.transport,
                ep_ref,
                &creds,
                &link_ref.secret,
                link_ref.version.as_ref(),
            )
            .await
        })
        .await
    }

    async fn sign_in(&self, interaction: &dyn Interaction) -> Result<SessionState, Error> {
        let inner = &self.inner;
        inner.roles.clear();
        let budget = Budget::new(inner.fetch_timeout);
        let interaction = self.attended(interaction, &budget);
        let waits = GateWait {
            budget: &budget,
            limit: inner.sign_in_timeout,
        };
        let s = budget
            .run(
                inner
                    .session
                    .sign_in(Some(waits), || inner.establish(&interaction, true)),
            )
            .await?;
        inner.roles.clear();
        Ok(SessionState::SignedIn { until: s.until })
    }

    async fn sign_out(&self) -> Result<(), Error> {
        let inner = &self.inner;
        let ended = inner.session.sign_out();
        inner.roles.clear();
        if let Some(store) = &inner.store {
            let mut keys: Vec<StoreKey> = ended
                .and_then(|s| s.store_key.clone())
                .into_iter()
                .collect();
            if let Ok(plan) = inner.source.select(inner.env.as_ref()) {
                keys.extend(inner.store_key(&plan));
            }
            for k in keys {
                store.remove(&k).map_err(|e| {
                    Error::new(ErrorKind::Other, format!("signing out of AWS: {e}"))
                        .with_provider(PROVIDER_ID)
                })?;
            }
        }
        Ok(())
    }

    fn session(&self) -> SessionState {
        self.inner.session.state(self.inner.clock.now())
    }

    /// The state, and which credential source won (never a key).
    fn session_info(&self) -> vault_core::session::SessionInfo {
        let info = vault_core::session::SessionInfo::new(self.session());
        match self.source_description() {
            Ok(source) => info.source(source),
            Err(_) => info,
        }
    }
}
