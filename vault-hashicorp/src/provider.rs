//! [`HashicorpProvider`]: the [`Provider`] of HashiCorp Vault and OpenBao KV secrets, and its
//! builder.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use secrecy::SecretString;
use vault_core::{
    Clock, Error, ErrorKind, Interaction, Link, Locator, Provider, ProviderId, SecretDetails,
    SessionState, SettingsPolicy, SystemClock,
};

use crate::address::VaultAddress;
use crate::http::{self, VaultApi};
use crate::kv::{self, KvVersion};
use crate::kv_link::KvLink;
use crate::mount_memory::MountMemory;
use crate::namespace::Namespace;
use crate::session::{Origin, Session, Slot};
use crate::settings::{HashicorpSettings, RawSettings};
use crate::signin::SignIn;
use crate::token::{expired, VaultToken};
use crate::PROVIDER_ID;
use vault_core::RetryPolicy;

/// Builds a [`HashicorpProvider`] in code (the config file goes through
/// [`from_settings`](crate::from_settings)).
///
/// ```
/// let provider = vault_hashicorp::HashicorpProvider::builder(
///     "https://vault.example.com:8200/v1/identity/oidc/provider/vault-refs",
///     "client-id-from-the-setup-tool",
/// )
/// .build()
/// .unwrap();
/// assert_eq!(provider.address().as_str(), "https://vault.example.com:8200");
/// ```
pub struct HashicorpBuilder {
    raw: RawSettings,
    clock: Arc<dyn Clock>,
    timeout: Duration,
    retry: RetryPolicy,
    sign_in_wait: Duration,
    token: Option<SecretString>,
    mount_store: Option<Arc<dyn vault_core::SessionStore>>,
}

impl std::fmt::Debug for HashicorpBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashicorpBuilder")
            .field("settings", &self.raw)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("sign_in_wait", &self.sign_in_wait)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

impl HashicorpBuilder {
    /// From the raw settings table.
    pub fn from_raw(raw: RawSettings) -> Self {
        HashicorpBuilder {
            raw,
            clock: Arc::new(SystemClock),
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            sign_in_wait: Duration::from_secs(300),
            token: None,
            mount_store: None,
        }
    }

    /// Where the KV version of each mount found by a lookup is kept for later processes, so
    /// that their reads are one request (see `kv_versions` in the settings for stating them).
    pub fn mount_store(mut self, store: Arc<dyn vault_core::SessionStore>) -> Self {
        self.mount_store = Some(store);
        self
    }

    /// The JWT auth mount path (default `vault-refs-jwt`).
    pub fn jwt_auth_path(mut self, path: impl Into<String>) -> Self {
        self.raw.jwt_auth_path = Some(path.into());
        self
    }

    /// The JWT role (default `vault-refs`).
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.raw.role = Some(role.into());
        self
    }

    /// The namespace (default: the provider URL's).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.raw.namespace = Some(namespace.into());
        self
    }

    /// The loopback redirect URI (default `http://127.0.0.1:10545/`, then `:10534`; port 0:
    /// any free port).
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.raw.redirect_uri = Some(uri.into());
        self
    }

    /// The clock used for token expiry and id_token checks (tests move it by hand).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Timeout of every HTTP call (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retries of failed calls (default 3 attempts, 200 ms doubling, at most 5 s).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// How long the sign-in waits for the browser's callback (default 5 minutes).
    pub fn sign_in_wait(mut self, wait: Duration) -> Self {
        self.sign_in_wait = wait;
        self
    }

    /// Starts signed in with a Vault token the host already has (it is never renewed nor
    /// revoked by this crate, and is sent only to this provider's Vault address).
    pub fn token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// Checks the settings and builds the provider (no network).
    pub fn build(self) -> Result<HashicorpProvider, Error> {
        let settings = self.raw.check().map_err(|e| {
            Error::new(ErrorKind::InvalidConfig, e.to_string()).with_provider(PROVIDER_ID)
        })?;
        let client = http::client(self.timeout)?;
        let address = settings.provider.address().clone();
        let vault = VaultApi::new(
            client.clone(),
            address.clone(),
            settings.namespace.clone(),
            self.retry,
        );
        let mounts = MountMemory::new(
            &address,
            &settings.namespace,
            settings.kv_versions.clone(),
            self.mount_store,
        );
        let oidc = VaultApi::new(client, address, Namespace::root(), self.retry);
        let initial = self.token.map(VaultToken::unmanaged);
        Ok(HashicorpProvider {
            settings,
            vault,
            oidc,
            mounts,
            session: Session::new(initial),
            clock: self.clock,
            sign_in_wait: self.sign_in_wait,
        })
    }
}

/// HashiCorp Vault / OpenBao: sign-in through Vault's OIDC provider, JWT login, KV v1/v2
/// reads in a namespace. Its settings may be changed by an admin only.
pub struct HashicorpProvider {
    settings: HashicorpSettings,
    vault: VaultApi,
    oidc: VaultApi,
    mounts: MountMemory,
    session: Session,
    clock: Arc<dyn Clock>,
    sign_in_wait: Duration,
}

impl std::fmt::Debug for HashicorpProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashicorpProvider")
            .field("settings", &self.settings)
            .field("session", &self.session.state(self.clock.now()))
            .finish_non_exhaustive()
    }
}

fn locator_error(e: Error) -> Error {
    e.with_provider(PROVIDER_ID)
}

impl HashicorpProvider {
    /// A builder for the provider at `oidc_provider_url` with the OIDC client `client_id`.
    pub fn builder(
        oidc_provider_url: impl Into<String>,
        client_id: impl Into<String>,
    ) -> HashicorpBuilder {
        HashicorpBuilder::from_raw(RawSettings {
            oidc_provider_url: Some(oidc_provider_url.into()),
            client_id: Some(client_id.into()),
            ..Default::default()
        })
    }

    /// The checked settings.
    pub fn settings(&self) -> &HashicorpSettings {
        &self.settings
    }

    /// The Vault address (derived from the provider URL).
    pub fn address(&self) -> &VaultAddress {
        self.vault.address()
    }

    /// The namespace of the JWT login and the secrets.
    pub fn namespace(&self) -> &Namespace {
        self.vault.namespace()
    }

    /// A token for a call, with its generation: the current one, renewed first when due;
    /// or a fresh sign-in when signed out (one for all concurrent callers).
    async fn token(&self, interaction: &dyn Interaction) -> Result<(SecretString, u64), Error> {
        let seen = self.session.attempts();
        if let Slot::Active {
            token, generation, ..
        } = self.session.slot()
        {
            let now = self.clock.now();
            if !token.is_expired(now) && !token.wants_renewal(now) {
                return Ok((token.secret().clone(), generation));
            }
        }
        let _gate = self.session.gate.lock().await;
        let now = self.clock.now();
        match self.session.slot() {
            Slot::Active {
                token, generation, ..
            } if token.wants_renewal(now) => {
                match token.renew(&self.vault, now).await {
                    Ok(renewed) => {
                        let secret = renewed.secret().clone();
                        self.session.renewed(renewed, generation);
                        Ok((secret, generation))
                    }
                    Err(e) if e.kind() == ErrorKind::SessionExpired => {
                        self.session.expire(generation);
                        Err(e)
                    }
                    // the server is briefly away: the token still works until its end
                    Err(_) => Ok((token.secret().clone(), generation)),
                }
            }
            Slot::Active {
                token, generation, ..
            } if token.is_expired(now) => {
                self.session.expire(generation);
                Err(expired(
                    "the Vault token expired and can no longer be renewed",
                ))
            }
            Slot::Active {
                token, generation, ..
            } => Ok((token.secret().clone(), generation)),
            Slot::Expired => Err(expired("the Vault session expired")),
            Slot::SignedOut => {
                if let Some(e) = self.session.failure_since(seen) {
                    return Err(e);
                }
                let token = self.run_sign_in(interaction).await?;
                let secret = token.secret().clone();
                let generation = self.session.activate(token, Origin::SignIn);
                Ok((secret, generation))
            }
        }
    }

    /// Runs the browser sign-in and records its outcome for the callers waiting on it.
    async fn run_sign_in(&self, interaction: &dyn Interaction) -> Result<VaultToken, Error> {
        let result = SignIn {
            settings: &self.settings,
            vault: &self.vault,
            oidc: &self.oidc,
            clock: self.clock.as_ref(),
            wait: self.sign_in_wait,
        }
        .run(interaction)
        .await;
        self.session.finished(result.as_ref().err().cloned());
        result
    }

    /// After a 403: is the token itself dead (revoked, expired on the server)? Then the
    /// session is over; else the path is denied to this identity.
    async fn explain_denied(&self, denied: Error, token: &SecretString, generation: u64) -> Error {
        let Ok(url) = self.vault.url("auth/token/lookup-self") else {
            return denied;
        };
        match self
            .vault
            .call(
                Method::GET,
                url,
                Some(token),
                None,
                "look up the Vault token",
            )
            .await
        {
            Ok(r) if r.status.as_u16() == 403 || r.status.as_u16() == 401 => {
                self.session.expire(generation);
                expired("the Vault server no longer accepts the token")
            }
            _ => denied,
        }
    }

    async fn mount_version(&self, token: &SecretString, link: &KvLink) -> Result<KvVersion, Error> {
        Ok(self.mounts.version(&self.vault, token, link).await?.0)
    }

    async fn read_value(
        &self,
        link: &KvLink,
        interaction: &dyn Interaction,
    ) -> Result<SecretString, Error> {
        let (token, generation) = self.token(interaction).await?;
        let result = async {
            self.mounts
                .read(&self.vault, &token, link)
                .await?
                .value(link)
        }
        .await;
        match result {
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                Err(self.explain_denied(e, &token, generation).await)
            }
            other => other,
        }
    }

    async fn describe_link(
        &self,
        link: &KvLink,
        interaction: &dyn Interaction,
    ) -> Result<SecretDetails, Error> {
        let (token, generation) = self.token(interaction).await?;
        let mut id = self.address().as_str().to_owned();
        id.push_str("/v1/");
        if let Some(ns) = self.namespace().header() {
            id.push_str(ns);
            id.push('/');
        }
        let result = async {
            let version = self.mount_version(&token, link).await?;
            let mut d = SecretDetails::new(match version {
                KvVersion::V1 => format!("{id}{}/{}", link.engine, link.path),
                KvVersion::V2 => format!("{id}{}/data/{}", link.engine, link.path),
            });
            d.name = Some(link.path.clone());
            d.extra.push(("key".into(), link.key.clone()));
            d.extra
                .push(("namespace".into(), self.namespace().to_string()));
            match version {
                KvVersion::V1 => d.extra.push(("engine".into(), "kv v1".into())),
                KvVersion::V2 => {
                    d.extra.push(("engine".into(), "kv v2".into()));
                    let m = kv::metadata(&self.vault, &token, link).await?;
                    d.version = link.version.or(m.current_version).map(|v| v.to_string());
                    d.created = m.created;
                    d.updated = m.updated;
                    d.extra.push(("versions".into(), m.versions.to_string()));
                    if let Some(pin) = link.version {
                        d.extra.push(("pinned".into(), pin.to_string()));
                    }
                }
            }
            Ok::<_, Error>(d)
        }
        .await;
        match result {
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                Err(self.explain_denied(e, &token, generation).await)
            }
            other => other,
        }
    }
}

#[async_trait]
impl Provider for HashicorpProvider {
    fn id(&self) -> ProviderId {
        PROVIDER_ID
    }

    fn display_name(&self) -> &str {
        "HashiCorp Vault"
    }

    fn settings_policy(&self) -> SettingsPolicy {
        SettingsPolicy::AdminOnly
    }

    fn validate_link(&self, link: &Link) -> Result<Locator, Error> {
        let kv = KvLink::from_link(link).map_err(locator_error)?;
        Ok(kv.locator(self.address(), self.namespace()))
    }

    async fn fetch(
        &self,
        link: &Link,
        interaction: &dyn Interaction,
    ) -> Result<SecretString, Error> {
        let kv = KvLink::from_link(link)?;
        self.read_value(&kv, interaction).await
    }

    async fn describe(
        &self,
        link: &Link,
        interaction: &dyn Interaction,
    ) -> Result<SecretDetails, Error> {
        let kv = KvLink::from_link(link)?;
        self.describe_link(&kv, interaction).await
    }

    async fn sign_in(&self, interaction: &dyn Interaction) -> Result<SessionState, Error> {
        let _gate = self.session.gate.lock().await;
        let token = self.run_sign_in(interaction).await?;
        let old = self.session.slot();
        self.session.activate(token, Origin::SignIn);
        if let Slot::Active {
            token,
            origin: Origin::SignIn,
            ..
        } = old
        {
            self.revoke(&token).await;
        }
        Ok(self.session())
    }

    async fn sign_out(&self) -> Result<(), Error> {
        let _gate = self.session.gate.lock().await;
        let old = self.session.replace(Slot::SignedOut);
        self.mounts.clear();
        if let Slot::Active {
            token,
            origin: Origin::SignIn,
            ..
        } = old
        {
            self.revoke(&token).await;
        }
        Ok(())
    }

    fn session(&self) -> SessionState {
        self.session.state(self.clock.now())
    }
}

impl HashicorpProvider {
    /// Best effort `auth/token/revoke-self`: a token we minted should not outlive the
    /// session. Failures are ignored (the token expires by itself).
    async fn revoke(&self, token: &VaultToken) {
        if let Ok(url) = self.vault.url("auth/token/revoke-self") {
            let _ = self
                .vault
                .call(
                    Method::POST,
                    url,
                    Some(token.secret()),
                    None,
                    "revoke the Vault token",
                )
                .await;
        }
    }
}
