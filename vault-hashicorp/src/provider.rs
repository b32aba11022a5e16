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

use secrecy::ExposeSecret;
use serde_json::json;
use vault_core::telemetry::{self, SessionAction};
use vault_core::{Environment, MapEnv, RetryPolicy, SessionStore};

use crate::address::VaultAddress;
use crate::cli_token;
use crate::credential;
use crate::http::{self, VaultApi};
use crate::jwt_login;
use crate::kv::{self, KvVersion};
use crate::kv_link::KvLink;
use crate::login;
use crate::mount_memory::MountMemory;
use crate::namespace::Namespace;
use crate::oidc_auth;
use crate::saved_session::SavedSession;
use crate::session::{Origin, Session, Slot};
use crate::settings::{AuthSettings, HashicorpSettings, RawSettings};
use crate::signin::SignIn;
use crate::tls::TlsSettings;
use crate::token::{self, expired, VaultToken};
use crate::PROVIDER_ID;

/// The variables a provider reads (at build, or at each login): copied from the host's
/// environment when it is given, so that sign-ins later read the same world.
const ENV_NAMES: &[&str] = &[
    "HOME",
    "VAULT_ADDR",
    "VAULT_TOKEN",
    "VAULT_NAMESPACE",
    "VAULT_CONFIG_PATH",
    "VAULT_CACERT",
    "VAULT_CAPATH",
    "VAULT_CLIENT_CERT",
    "VAULT_CLIENT_KEY",
    "VAULT_TLS_SERVER_NAME",
    "VAULT_SKIP_VERIFY",
];

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
    env: MapEnv,
    store: Option<Arc<dyn SessionStore>>,
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
            .field("session_store", &self.store.is_some())
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
            env: MapEnv::new(),
            store: None,
            mount_store: None,
        }
    }

    /// Reads the Vault CLI's variables (`VAULT_ADDR`, `VAULT_NAMESPACE`, `VAULT_TOKEN`,
    /// `VAULT_CACERT`, ..., `HOME`) and the variables the settings name (`jwt_env`,
    /// `role_id_env`, `secret_id_env`) from `env`, now. Without this call the builder reads
    /// no environment at all.
    pub fn env(mut self, env: &dyn Environment) -> Self {
        let mut names: Vec<&str> = ENV_NAMES.to_vec();
        for n in [
            &self.raw.jwt_env,
            &self.raw.role_id_env,
            &self.raw.secret_id_env,
        ]
        .into_iter()
        .flatten()
        {
            names.push(n.as_str());
        }
        let mut copy = MapEnv::new();
        for n in names {
            if let Some(v) = env.var(n) {
                copy = copy.with(n, v.expose_secret());
            }
        }
        self.env = copy;
        self
    }

    /// Keeps the Vault token this crate obtains in `store` (with its TTL), resumes it when
    /// the provider is built, and removes it on sign-out or when Vault refuses it.
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Where the KV version of each mount found by a lookup is kept for later processes, so
    /// that their reads are one request (see `kv_versions` in the settings for stating them).
    /// It may be the session store: the records differ (`from_settings_with_store` and the
    /// factory pass it to both).
    pub fn mount_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.mount_store = Some(store);
        self
    }

    /// The auth method (see [`crate::settings::AuthMethod`]).
    pub fn auth_method(mut self, method: impl Into<String>) -> Self {
        self.raw.auth_method = Some(method.into());
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

    /// Checks the settings and builds the provider (no network; reads the TLS files and the
    /// session store).
    pub fn build(self) -> Result<HashicorpProvider, Error> {
        let settings = self.raw.check_in(&self.env).map_err(|e| {
            Error::new(ErrorKind::InvalidConfig, e.to_string()).with_provider(PROVIDER_ID)
        })?;
        let tls = TlsSettings::from_env(&self.env)?;
        let (client, address) = http::client_for(self.timeout, tls, &settings.address)?;
        let vault = VaultApi::new(
            client.clone(),
            address.clone(),
            settings.namespace.clone(),
            self.retry,
        )
        .with_body_deadline(self.timeout);
        let mounts = MountMemory::new(
            &address,
            &settings.namespace,
            settings.kv_versions.clone(),
            self.mount_store,
        );
        let oidc = VaultApi::new(client, address, Namespace::root(), self.retry)
            .with_body_deadline(self.timeout);
        let saved = self.store.map(|store| SavedSession::new(store, &settings));
        let session = Session::new(None);
        if settings.auth == AuthSettings::Agent {
            session.activate(
                VaultToken::unmanaged(SecretString::from(String::new())),
                Origin::Agent,
            );
        } else if let Some(t) = self.token {
            session.activate(VaultToken::unmanaged(t), Origin::Host);
        } else if let Some(saved) = &saved {
            let id = PROVIDER_ID;
            match saved.load(self.clock.now()) {
                Some(t) => {
                    session.activate(t, Origin::Resumed);
                    telemetry::session(id.as_str(), SessionAction::Resume, "ok");
                }
                None => telemetry::session(id.as_str(), SessionAction::Resume, "none"),
            }
        }
        Ok(HashicorpProvider {
            settings,
            vault,
            oidc,
            mounts,
            session,
            clock: self.clock,
            sign_in_wait: self.sign_in_wait,
            env: self.env,
            saved,
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
    env: MapEnv,
    saved: Option<SavedSession>,
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

    /// The Vault address (`address`, `VAULT_ADDR`, or the provider URL's).
    pub fn address(&self) -> &VaultAddress {
        self.vault.address()
    }

    /// The namespace of the JWT login and the secrets.
    pub fn namespace(&self) -> &Namespace {
        self.vault.namespace()
    }

    /// Whether the method needs a person (a browser): those are never started by a fetch
    /// after a sign-out, and an expired session asks to sign in again instead of logging in.
    fn interactive(&self) -> bool {
        matches!(
            self.settings.auth,
            AuthSettings::OidcProvider(_) | AuthSettings::Oidc { .. }
        )
    }

    fn signed_out_error() -> Error {
        Error::new(
            ErrorKind::SignedOut,
            "signed out of HashiCorp Vault: sign in again (`vaultctl login hashicorp`)",
        )
        .with_provider(PROVIDER_ID)
    }

    /// A token for a call, with its generation: the current one, renewed first when due;
    /// or a fresh sign-in when signed out (one for all concurrent callers).
    async fn token(&self, interaction: &dyn Interaction) -> Result<(SecretString, u64), Error> {
        let seen = self.session.attempts();
        match self.session.slot() {
            Slot::Active {
                token, generation, ..
            } => {
                let now = self.clock.now();
                if !token.is_expired(now) && !token.wants_renewal(now) {
                    return Ok((token.secret().clone(), generation));
                }
            }
            Slot::SignedOut if self.session.user_signed_out() => {
                return Err(Self::signed_out_error())
            }
            _ => {}
        }
        let _gate = self.session.gate.lock().await;
        let now = self.clock.now();
        match self.session.slot() {
            Slot::Active {
                token,
                generation,
                origin,
            } if token.wants_renewal(now) => match token.renew(&self.vault, now).await {
                Ok(renewed) => {
                    let secret = renewed.secret().clone();
                    if origin.ours() {
                        if let Some(saved) = &self.saved {
                            saved.save(&renewed);
                        }
                    }
                    self.session.renewed(renewed, generation);
                    Ok((secret, generation))
                }
                Err(e) if e.kind() == ErrorKind::SessionExpired => {
                    if self.refused(generation) {
                        return self.sign_in_now(interaction).await;
                    }
                    Err(e)
                }
                // the server is briefly away: the token still works until its end
                Err(_) => Ok((token.secret().clone(), generation)),
            },
            Slot::Active {
                token, generation, ..
            } if token.is_expired(now) => {
                self.session.expire(generation);
                if let Some(saved) = &self.saved {
                    saved.remove();
                }
                if !self.interactive() {
                    return self.sign_in_now(interaction).await;
                }
                Err(expired(
                    "the Vault token expired and can no longer be renewed",
                ))
            }
            Slot::Active {
                token, generation, ..
            } => Ok((token.secret().clone(), generation)),
            Slot::Expired if !self.interactive() => self.sign_in_now(interaction).await,
            Slot::Expired => Err(expired("the Vault session expired")),
            Slot::SignedOut => {
                if self.session.user_signed_out() {
                    return Err(Self::signed_out_error());
                }
                if let Some(e) = self.session.failure_since(seen) {
                    return Err(e);
                }
                self.sign_in_now(interaction).await
            }
        }
    }

    /// Vault refused the token of `generation` (403 on lookup, renewal or read). A saved
    /// token is dropped from the store. Returns whether a new sign-in may run on its own
    /// now: the token was resumed from the store, or the method needs nobody.
    fn refused(&self, generation: u64) -> bool {
        let origin = self.session.origin_of(generation);
        if let Some(saved) = &self.saved {
            if origin.is_some_and(Origin::ours) {
                saved.remove();
            }
        }
        match origin {
            Some(Origin::Resumed) => {
                self.session.forget(generation);
                true
            }
            Some(Origin::SignIn | Origin::User) if !self.interactive() => {
                self.session.forget(generation);
                true
            }
            _ => {
                self.session.expire(generation);
                false
            }
        }
    }

    /// Runs the sign-in (the caller holds the gate), activates and saves its token; a
    /// sign-out while it runs cancels it.
    async fn sign_in_now(
        &self,
        interaction: &dyn Interaction,
    ) -> Result<(SecretString, u64), Error> {
        let mut epoch_rx = self.session.epoch();
        let epoch = *epoch_rx.borrow();
        let start = std::time::Instant::now();
        let result = tokio::select! {
            r = self.run_sign_in(interaction) => r,
            _ = epoch_rx.changed() => Err(Self::signed_out_error()),
        };
        let id = PROVIDER_ID;
        telemetry::sign_in(
            id.as_str(),
            self.settings.auth.method().as_str(),
            result.as_ref().map(|_| ()),
            start.elapsed(),
        );
        self.session.finished(result.as_ref().err().cloned());
        let (token, origin) = result?;
        match self.session.activate_if(token.clone(), origin, epoch) {
            Some(generation) => {
                if origin.ours() {
                    if let Some(saved) = &self.saved {
                        saved.save(&token);
                        telemetry::session(PROVIDER_ID.as_str(), SessionAction::Save, "ok");
                    }
                }
                Ok((token.secret().clone(), generation))
            }
            None => {
                if origin.ours() {
                    self.revoke(&token).await;
                }
                Err(Self::signed_out_error())
            }
        }
    }

    /// Obtains a token the way the settings say.
    async fn run_sign_in(
        &self,
        interaction: &dyn Interaction,
    ) -> Result<(VaultToken, Origin), Error> {
        let now = || self.clock.now();
        let token = match &self.settings.auth {
            AuthSettings::OidcProvider(s) => {
                SignIn {
                    settings: s,
                    vault: &self.vault,
                    oidc: &self.oidc,
                    clock: self.clock.as_ref(),
                    wait: self.sign_in_wait,
                }
                .run(interaction)
                .await?
            }
            AuthSettings::Oidc {
                mount,
                role,
                redirect,
            } => {
                oidc_auth::sign_in(
                    &self.vault,
                    mount,
                    role.as_deref(),
                    redirect,
                    interaction,
                    self.sign_in_wait,
                    now,
                )
                .await?
            }
            AuthSettings::Jwt { mount, role, jwt } => {
                let jwt = credential::read(jwt, "the JWT", &self.env)?;
                jwt_login::login(&self.vault, mount, role.as_deref(), &jwt, now()).await?
            }
            AuthSettings::Kubernetes { mount, role, jwt } => {
                let jwt = credential::read(jwt, "the service-account token", &self.env)?;
                let body = json!({ "role": role, "jwt": jwt.expose_secret() });
                let what = format!("Kubernetes login at auth/{mount} with role `{role}`");
                login::post(&self.vault, mount, "login", body, &what, now()).await?
            }
            AuthSettings::Approle {
                mount,
                role_id,
                secret_id,
            } => {
                let role_id = credential::read(role_id, "the AppRole role id", &self.env)?;
                let mut body = json!({ "role_id": role_id.expose_secret() });
                if let Some(s) = secret_id {
                    let secret = credential::read(s, "the AppRole secret id", &self.env)?;
                    body["secret_id"] = json!(secret.expose_secret());
                }
                let what = format!("AppRole login at auth/{mount}");
                login::post(&self.vault, mount, "login", body, &what, now()).await?
            }
            AuthSettings::Token => return self.cli_token().await,
            AuthSettings::Agent => {
                return Ok((
                    VaultToken::unmanaged(SecretString::from(String::new())),
                    Origin::Agent,
                ))
            }
        };
        Ok((token, Origin::SignIn))
    }

    /// The Vault CLI's token, looked up for its lease. A token found through `VAULT_TOKEN`,
    /// the helper or `~/.vault-token` belongs to `VAULT_ADDR` when that is set: it is not sent
    /// to another address.
    async fn cli_token(&self) -> Result<(VaultToken, Origin), Error> {
        if let Some(addr) = self.env.var("VAULT_ADDR") {
            let same = VaultAddress::parse(addr.expose_secret())
                .is_ok_and(|a| &a == self.address() || a == self.settings.address);
            if !same {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!(
                        "the Vault CLI's token belongs to VAULT_ADDR, not to {}: not sending it there",
                        self.address()
                    ),
                )
                .with_provider(PROVIDER_ID));
            }
        }
        let (secret, place) = cli_token::find(&self.env, self.address())
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::SignedOut,
                    "no Vault token: set VAULT_TOKEN, or run `vault login` (it keeps the token in ~/.vault-token or its token helper)",
                )
                .with_provider(PROVIDER_ID)
            })?;
        let token = token::lookup(&self.vault, secret, place.describe(), self.clock.now()).await?;
        Ok((token, Origin::User))
    }

    /// After a 403: is the token itself dead (revoked, expired on the server)? Then the
    /// session is over (or, for a resumed token or a machine login, `None`: sign in again and
    /// retry once); else the path is denied to this identity.
    async fn explain_denied(
        &self,
        denied: Error,
        token: &SecretString,
        generation: u64,
    ) -> Option<Error> {
        if self.settings.auth == AuthSettings::Agent {
            return Some(denied);
        }
        let Ok(url) = self.vault.url("auth/token/lookup-self") else {
            return Some(denied);
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
                if self.refused(generation) {
                    None
                } else {
                    Some(expired("the Vault server no longer accepts the token"))
                }
            }
            _ => Some(denied),
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
        let mut retried = false;
        loop {
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
                    match self.explain_denied(e, &token, generation).await {
                        Some(e) => return Err(e),
                        None if retried => {
                            return Err(expired("the Vault server refused the new token too"))
                        }
                        None => retried = true,
                    }
                }
                other => return other,
            }
        }
    }

    async fn describe_link(
        &self,
        link: &KvLink,
        interaction: &dyn Interaction,
    ) -> Result<SecretDetails, Error> {
        match self.describe_once(link, interaction).await {
            Err(None) => self.describe_once(link, interaction).await.map_err(|e| {
                e.unwrap_or_else(|| expired("the Vault server refused the new token too"))
            }),
            other => other.map_err(|e| e.unwrap_or_else(|| expired("the Vault token was refused"))),
        }
    }

    /// One attempt of `describe`; `Err(None)`: the token was refused and a new sign-in may
    /// run (see [`Self::explain_denied`]).
    async fn describe_once(
        &self,
        link: &KvLink,
        interaction: &dyn Interaction,
    ) -> Result<SecretDetails, Option<Error>> {
        let (token, generation) = self.token(interaction).await.map_err(Some)?;
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
            other => other.map_err(Some),
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
        self.session.clear_user_signed_out();
        let _gate = self.session.gate.lock().await;
        let old = self.session.slot();
        self.sign_in_now(interaction).await?;
        if let Slot::Active { token, origin, .. } = old {
            if origin.ours() {
                self.revoke(&token).await;
            }
        }
        Ok(self.session())
    }

    /// Signs out at once, without waiting for a sign-in in progress (which is cancelled):
    /// the saved session is removed and a token this crate obtained is revoked. Until the
    /// next [`sign_in`](Provider::sign_in), fetches answer "signed out" rather than starting
    /// a sign-in themselves.
    async fn sign_out(&self) -> Result<(), Error> {
        let old = self.session.sign_out();
        self.mounts.clear();
        if let Some(saved) = &self.saved {
            saved.remove();
        }
        if let Slot::Active { token, origin, .. } = old {
            if origin.ours() {
                self.revoke(&token).await;
            }
        }
        Ok(())
    }

    fn session(&self) -> SessionState {
        self.session.state(self.clock.now())
    }

    /// The state, the auth method's identity (method, mount, role; never a token) and where
    /// the token came from.
    fn session_info(&self) -> vault_core::session::SessionInfo {
        let info = vault_core::session::SessionInfo::new(self.session())
            .identity(self.settings.auth.identity());
        match self.session.slot() {
            Slot::Active { origin, .. } => info.source(match origin {
                Origin::SignIn => "sign-in",
                Origin::Resumed => "saved session",
                Origin::Host => "token given by the host",
                Origin::User => "the Vault CLI's token",
                Origin::Agent => "Vault Agent / Proxy",
            }),
            _ => info,
        }
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
