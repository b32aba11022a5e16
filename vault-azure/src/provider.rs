//! [`AzureProvider`]: the [`Provider`] for Azure Key Vault.
//!
//! One session per provider: the newest tokens in memory behind an async mutex that is only
//! held for bookkeeping and silent renewals, never while a person is being waited for.
//!
//! - **Silent** tokens: the held access token, a renewal with the refresh token, or (for the
//!   unattended flows) a new token from the credential source ([`crate::credential`]).
//! - **Interactive** sign-ins (browser, device code) run one at a time behind their own
//!   gate, with the sign-in timeout, without the session lock: `status`, `sign_out` and
//!   other fetches are not held up by a browser tab nobody finishes.
//! - After [`Provider::sign_out`] no fetch signs in on its own, not even in the background:
//!   only [`Provider::sign_in`] does.
//! - A fetch that needs no person ends within the fetch timeout (default 30 s), however
//!   slowly the servers answer.
//! - With a session store, the session is resumed at start, saved after every change
//!   (a rotated refresh token included) and removed on sign-out; a saved session the server
//!   refuses is removed and the normal sign-in runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use url::Url;
use vault_core::{
    Clock, Error, ErrorKind, Interaction, Link, Locator, Provider, ProviderId, SecretDetails,
    SessionState, SessionStore, StoreKey,
};

use crate::authority::Authority;
use crate::builder::AzureProviderBuilder;
use crate::challenge::Challenge;
use crate::credential::{unavailable, Chain};
use crate::device_code;
use crate::host_policy::VaultHost;
use crate::identifier::SecretIdentifier;
use crate::key_vault::{self, Outcome, SecretBundle};
use crate::oauth_context::OAuthContext;
use crate::pkce_flow;
use crate::refresh::{self, RefreshFailure};
use crate::session_record;
use crate::sign_in_flow::SignInFlow;
use crate::token_cache::{Slot, TokenSet};
use crate::transport::Transport;
use crate::PROVIDER_ID;
use vault_core::telemetry::{self, SessionAction};

/// The link keys of `[secrets.NAME.azure]`.
pub const LINK_KEYS: &[&str] = &["identifier"];

/// Everything the builder validated.
pub(crate) struct ProviderParts {
    pub authority: Authority,
    /// Empty when the flow needs none (managed identity, Azure CLI, auto).
    pub client_id: String,
    pub resource: String,
    pub vault_hosts: Vec<VaultHost>,
    pub redirect_uri: Url,
    pub flow: SignInFlow,
    /// The unattended credential sources; `None` for the interactive flows.
    pub chain: Option<Chain>,
    pub sign_in_timeout: Duration,
    pub fetch_timeout: Duration,
    pub transport: Transport,
    pub clock: Arc<dyn Clock>,
    pub session_store: Option<Arc<dyn SessionStore>>,
}

struct Inner {
    parts: ProviderParts,
    session: tokio::sync::Mutex<Slot>,
    /// What [`Provider::session`] reports, updated with every change of `session`.
    state: Mutex<SessionState>,
    /// Interactive sign-ins, one at a time. Never taken while `session` is held.
    sign_in_gate: tokio::sync::Mutex<()>,
    /// Which source gave the current token.
    source: Mutex<Option<&'static str>>,
    /// Bumped with every change worth saving (under `session`).
    generation: AtomicU64,
    /// The newest generation written to the store; serializes the writes.
    saved: Mutex<u64>,
    store_key: StoreKey,
}

/// A change of the session to write to the store once `session` is unlocked.
struct Pending(u64, Option<SecretString>);

/// Azure Key Vault with Microsoft identity platform sign-in. Cheap to clone (shared state).
#[derive(Clone)]
pub struct AzureProvider {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AzureProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.inner.parts;
        f.debug_struct("AzureProvider")
            .field("authority", &p.authority)
            .field("client_id", &p.client_id)
            .field("resource", &p.resource)
            .field("flow", &p.flow)
            .field("vault_hosts", &p.vault_hosts)
            .field("session", &self.session())
            .field("source", &self.credential_source())
            .finish_non_exhaustive()
    }
}

fn provider_id() -> ProviderId {
    ProviderId::from_static(PROVIDER_ID)
}

fn sign_in_again(msg: &str) -> Error {
    Error::new(ErrorKind::SessionExpired, format!("{msg}: sign in again"))
        .with_provider(provider_id())
}

fn signed_out() -> Error {
    Error::new(
        ErrorKind::SignedOut,
        "signed out of Azure: sign in again (vaultctl login azure) to fetch secrets",
    )
    .with_provider(provider_id())
}

fn fetch_timed_out(after: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!(
            "the fetch took longer than {} s and was stopped",
            after.as_secs()
        ),
    )
    .with_provider(provider_id())
}

impl AzureProvider {
    /// A builder.
    pub fn builder() -> AzureProviderBuilder {
        AzureProviderBuilder::default()
    }

    pub(crate) fn from_parts(parts: ProviderParts) -> Self {
        let key = if parts.flow.is_interactive() {
            session_record::key(&parts.authority, &parts.client_id)
        } else {
            session_record::key(
                &parts.authority,
                &format!("{}|{}", parts.client_id, parts.flow.as_str()),
            )
        };
        // Resume a saved session (a short, synchronous store read, before any lock exists).
        let now = parts.clock.now();
        let mut slot = Slot::SignedOut;
        if let Some(store) = &parts.session_store {
            let outcome = match store.load(&key) {
                Ok(Some(record)) => match session_record::decode(&record, now) {
                    Some(set) => {
                        slot = Slot::Active(set);
                        "ok"
                    }
                    None => {
                        let _ = store.remove(&key);
                        "expired"
                    }
                },
                Ok(None) => "none",
                Err(_) => "error",
            };
            telemetry::session(PROVIDER_ID, SessionAction::Resume, outcome);
        }
        let renewable = parts.chain.is_some();
        let state = slot.state(renewable);
        let source = matches!(slot, Slot::Active(_)).then_some("session store");
        AzureProvider {
            inner: Arc::new(Inner {
                parts,
                session: tokio::sync::Mutex::new(slot),
                state: Mutex::new(state),
                sign_in_gate: tokio::sync::Mutex::new(()),
                source: Mutex::new(source),
                generation: AtomicU64::new(0),
                saved: Mutex::new(0),
                store_key: key,
            }),
        }
    }

    /// The Key Vault audience tokens are asked for.
    pub fn resource(&self) -> &str {
        &self.inner.parts.resource
    }

    /// The application id (empty when the flow needs none).
    pub fn client_id(&self) -> &str {
        &self.inner.parts.client_id
    }

    /// Authority and tenant.
    pub fn authority(&self) -> &Authority {
        &self.inner.parts.authority
    }

    /// The flow.
    pub fn flow(&self) -> SignInFlow {
        self.inner.parts.flow
    }

    /// Which source gave the current token: `browser`, `device_code`, a credential source's
    /// name (`client_secret`, `certificate`, `workload_identity`, `managed_identity`,
    /// `azure_cli`: with `flow = "auto"`, the one that won), or `session store` for a
    /// session resumed from the store. `None` while signed out.
    pub fn credential_source(&self) -> Option<&'static str> {
        *self.inner.source.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The credential sources `flow = "auto"` tries, in order.
    pub fn credential_chain(&self) -> Vec<&'static str> {
        self.inner
            .parts
            .chain
            .as_ref()
            .map(Chain::names)
            .unwrap_or_default()
    }

    /// Parses a link's identifier under this provider's host rules, without network.
    pub fn identifier(&self, link: &Link) -> Result<SecretIdentifier, Error> {
        link.reject_unknown_fields(LINK_KEYS)?;
        let text = link.require("identifier")?;
        let id = SecretIdentifier::parse(text, &self.inner.parts.vault_hosts).map_err(|e| {
            Error::new(ErrorKind::InvalidLink, e.to_string()).with_provider(provider_id())
        })?;
        if let Some(cloud) = id.cloud() {
            if cloud.resource() != self.resource() {
                return Err(Error::new(
                    ErrorKind::InvalidLink,
                    format!(
                        "vault `{}` is in {}, but this integration signs in for {}: set authority = \"https://{}\"",
                        id.vault_name(),
                        cloud.name(),
                        self.resource(),
                        cloud.login_host()
                    ),
                )
                .with_provider(provider_id()));
            }
        }
        Ok(id)
    }

    /// Reads the secret with its attributes (value included, as a [`SecretString`]).
    pub async fn get_secret(
        &self,
        link: &Link,
        interaction: &dyn Interaction,
    ) -> Result<SecretBundle, Error> {
        let id = self.identifier(link)?;
        let budget = self.inner.parts.fetch_timeout;
        let started = tokio::time::Instant::now();
        let silent = tokio::time::timeout(budget, self.silent_token(None))
            .await
            .map_err(|_| fetch_timed_out(budget))??;
        // A person's sign-in is not counted against the fetch's network budget.
        let (token, deadline) = match silent {
            Some(t) => (t, started + budget),
            None => {
                let t = self.interactive_token(interaction).await?;
                (t, tokio::time::Instant::now() + budget)
            }
        };
        tokio::time::timeout_at(deadline, self.read_secret(&id, token))
            .await
            .map_err(|_| fetch_timed_out(budget))?
    }

    /// Get Secret with `token`; on a 401, once more with a renewed token.
    async fn read_secret(
        &self,
        id: &SecretIdentifier,
        token: SecretString,
    ) -> Result<SecretBundle, Error> {
        let transport = &self.inner.parts.transport;
        let challenge = match key_vault::get_secret(transport, id, &token).await? {
            Outcome::Found(b) => return Ok(b),
            Outcome::Unauthorized(c) => c,
        };
        self.explain_challenge(challenge.as_ref())?;
        // The token may have been revoked or be older than the vault thinks: renew once.
        let Some(token) = self.silent_token(Some(&token)).await? else {
            return Err(sign_in_again("Key Vault refused the access token"));
        };
        match key_vault::get_secret(transport, id, &token).await? {
            Outcome::Found(b) => Ok(b),
            Outcome::Unauthorized(_) => Err(Error::new(
                ErrorKind::AuthFailed,
                format!(
                    "vault `{}` refused a freshly renewed access token (HTTP 401)",
                    id.vault_name()
                ),
            )
            .with_provider(provider_id())),
        }
    }

    /// A 401 challenge naming another tenant or audience cannot be fixed by renewing:
    /// say what to configure instead.
    fn explain_challenge(&self, c: Option<&Challenge>) -> Result<(), Error> {
        let Some(c) = c else { return Ok(()) };
        if let Some(aud) = c.audience() {
            if !aud.eq_ignore_ascii_case(self.resource()) {
                // Server text: only URL characters, bounded, so it cannot forge or flood a
                // message (newlines, terminal escapes, a pasted token).
                let aud: String = aud
                    .chars()
                    .filter(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.' | '-' | '_')
                    })
                    .take(100)
                    .collect();
                return Err(Error::new(
                    ErrorKind::AuthFailed,
                    format!(
                        "the vault wants tokens for `{aud}`, but this integration asks for `{}`: check authority",
                        self.resource()
                    ),
                )
                .with_provider(provider_id()));
            }
        }
        let authority = &self.inner.parts.authority;
        if let Some(t) = c.tenant() {
            if !authority.is_multi_tenant() && !t.eq_ignore_ascii_case(authority.tenant()) {
                let shown: String = t
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
                    .take(64)
                    .collect();
                return Err(Error::new(
                    ErrorKind::AuthFailed,
                    format!(
                        "the vault belongs to tenant `{shown}`, but this integration signs in to `{}`: set tenant = \"{shown}\"",
                        authority.tenant()
                    ),
                )
                .with_provider(provider_id()));
            }
        }
        Ok(())
    }

    fn context(&self) -> OAuthContext<'_> {
        let p = &self.inner.parts;
        OAuthContext {
            authority: &p.authority,
            client_id: &p.client_id,
            resource: &p.resource,
            transport: &p.transport,
        }
    }

    /// Publishes `slot` and returns what to save of it.
    fn changed(&self, slot: &Slot) -> Pending {
        let renewable = self.inner.parts.chain.is_some();
        *self.inner.state.lock().unwrap_or_else(|e| e.into_inner()) = slot.state(renewable);
        let generation = self.inner.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let record = match slot {
            Slot::Active(t) => session_record::encode(t, self.inner.parts.clock.now()),
            _ => None,
        };
        Pending(generation, record)
    }

    fn set_source(&self, source: Option<&'static str>) {
        *self.inner.source.lock().unwrap_or_else(|e| e.into_inner()) = source;
    }

    /// Writes a change to the store, outside the session lock, newest generation last.
    /// Failing to save is not an error: the session just does not outlast the process.
    fn save(&self, pending: Option<Pending>) {
        let (Some(Pending(generation, record)), Some(store)) =
            (pending, &self.inner.parts.session_store)
        else {
            return;
        };
        let mut saved = self.inner.saved.lock().unwrap_or_else(|e| e.into_inner());
        if generation <= *saved {
            return;
        }
        *saved = generation;
        let key = &self.inner.store_key;
        let saved = match record {
            Some(r) => store.save(key, &r),
            None => store.remove(key),
        };
        let outcome = if saved.is_ok() { "ok" } else { "error" };
        telemetry::session(PROVIDER_ID, SessionAction::Save, outcome);
    }

    /// A token without a person: the held one, a renewed one, or one from the credential
    /// source. `Ok(None)`: an interactive sign-in is needed. `stale` is a token Key Vault
    /// just refused: it is renewed unless another task did so.
    async fn silent_token(
        &self,
        stale: Option<&SecretString>,
    ) -> Result<Option<SecretString>, Error> {
        let mut pending = None;
        let mut slot = self.inner.session.lock().await;
        let result = self.silent_locked(&mut slot, stale, &mut pending).await;
        drop(slot);
        self.save(pending);
        result
    }

    async fn silent_locked(
        &self,
        slot: &mut Slot,
        stale: Option<&SecretString>,
        pending: &mut Option<Pending>,
    ) -> Result<Option<SecretString>, Error> {
        let now = self.inner.parts.clock.now();
        let unattended = self.inner.parts.chain.is_some();
        match &mut *slot {
            Slot::SignedOutByUser => return Err(signed_out()),
            Slot::Expired if !unattended => return Err(sign_in_again("the Azure session expired")),
            Slot::SignedOut if !unattended => return Ok(None),
            Slot::Active(t) => {
                let refused = stale.is_some_and(|s| s.expose_secret() == t.access.expose_secret());
                if t.fresh_at(now) && !refused {
                    return Ok(Some(t.access.clone()));
                }
                if let Some(rt) = t.refresh.clone() {
                    let start = std::time::Instant::now();
                    let renewed = refresh::refresh(&self.context(), &rt).await;
                    let report = match &renewed {
                        Ok(_) => Ok(()),
                        Err(RefreshFailure::Refused(e) | RefreshFailure::Ambiguous(e)) => Err(e),
                    };
                    telemetry::sign_in(PROVIDER_ID, "refresh token", report, start.elapsed());
                    match renewed {
                        Ok(next) => {
                            let Slot::Active(old) = std::mem::take(slot) else {
                                unreachable!("slot checked above")
                            };
                            let set = old.rotated(next);
                            let access = set.access.clone();
                            *slot = Slot::Active(set);
                            *pending = Some(self.changed(slot));
                            return Ok(Some(access));
                        }
                        Err(RefreshFailure::Refused(e)) => {
                            if t.resumed {
                                // A saved session the server no longer takes: forget it
                                // and sign in the normal way.
                                *slot = Slot::SignedOut;
                                *pending = Some(self.changed(slot));
                                self.set_source(None);
                                if !unattended {
                                    return Ok(None);
                                }
                            } else {
                                *slot = Slot::Expired;
                                *pending = Some(self.changed(slot));
                                return Err(e);
                            }
                        }
                        Err(RefreshFailure::Ambiguous(e)) => {
                            // The refresh token may be spent: never send it again.
                            t.refresh = None;
                            if t.expires_at > now && !refused {
                                let access = t.access.clone();
                                *pending = Some(self.changed(slot));
                                return Ok(Some(access));
                            }
                            if !unattended {
                                *slot = Slot::Expired;
                                *pending = Some(self.changed(slot));
                                return Err(sign_in_again(&format!(
                                    "{}; the refresh token is single-use and was not sent again",
                                    e.message()
                                )));
                            }
                        }
                    }
                } else if !unattended {
                    *slot = Slot::Expired;
                    *pending = Some(self.changed(slot));
                    return Err(sign_in_again(
                        "the access token expired and there is no refresh token",
                    ));
                }
            }
            _ => {}
        }
        let (set, source) = self.token_from_sources().await?;
        let access = set.access.clone();
        *slot = Slot::Active(set);
        *pending = Some(self.changed(slot));
        self.set_source(Some(source));
        Ok(Some(access))
    }

    /// A token from the credential sources; a single named source that is "not mine" says
    /// what is missing.
    async fn token_from_sources(&self) -> Result<(TokenSet, &'static str), Error> {
        let start = std::time::Instant::now();
        let result = self.token_from_sources_now().await;
        match &result {
            Ok((_, source)) => telemetry::sign_in(PROVIDER_ID, source, Ok(()), start.elapsed()),
            Err(e) => telemetry::sign_in(PROVIDER_ID, "credential chain", Err(e), start.elapsed()),
        }
        result
    }

    async fn token_from_sources_now(&self) -> Result<(TokenSet, &'static str), Error> {
        let chain = self.inner.parts.chain.as_ref().ok_or_else(|| {
            Error::new(ErrorKind::InvalidConfig, "no credential source")
                .with_provider(provider_id())
        })?;
        let names = chain.names();
        match chain.token(&self.context()).await {
            Err(e) if names.len() == 1 && e.kind() == ErrorKind::SignedOut => {
                Err(unavailable(names[0], e.message()))
            }
            r => r,
        }
    }

    /// An interactive sign-in (browser or device code), one at a time, holding no session
    /// lock while the person signs in; bounded by the sign-in timeout.
    async fn interactive_token(
        &self,
        interaction: &dyn Interaction,
    ) -> Result<SecretString, Error> {
        let limit = self.inner.parts.sign_in_timeout;
        let _gate = tokio::time::timeout(limit, self.inner.sign_in_gate.lock())
            .await
            .map_err(|_| {
                Error::new(ErrorKind::Timeout, "another sign-in did not finish in time")
                    .with_provider(provider_id())
            })?;
        // Another task may have signed in (or out) while this one waited.
        {
            let slot = self.inner.session.lock().await;
            match &*slot {
                Slot::Active(t) if t.fresh_at(self.inner.parts.clock.now()) => {
                    return Ok(t.access.clone())
                }
                Slot::SignedOutByUser => return Err(signed_out()),
                Slot::Expired => return Err(sign_in_again("the Azure session expired")),
                _ => {}
            }
        }
        let set = self.interactive_acquire(interaction).await?;
        self.install(set, Some(self.inner.parts.flow.as_str()), false)
            .await
    }

    /// Runs the browser or device code flow, within the sign-in timeout (with a margin for
    /// the token exchange).
    async fn interactive_acquire(&self, interaction: &dyn Interaction) -> Result<TokenSet, Error> {
        let start = std::time::Instant::now();
        let result = self.interactive_acquire_now(interaction).await;
        let method = self.inner.parts.flow.as_str();
        telemetry::sign_in(
            PROVIDER_ID,
            method,
            result.as_ref().map(|_| ()),
            start.elapsed(),
        );
        result
    }

    async fn interactive_acquire_now(
        &self,
        interaction: &dyn Interaction,
    ) -> Result<TokenSet, Error> {
        let p = &self.inner.parts;
        let ctx = self.context();
        let run = async {
            match p.flow {
                SignInFlow::DeviceCode => {
                    device_code::sign_in(&ctx, interaction, p.sign_in_timeout).await
                }
                _ => {
                    pkce_flow::sign_in(&ctx, &p.redirect_uri, interaction, p.sign_in_timeout).await
                }
            }
        };
        tokio::time::timeout(p.sign_in_timeout + p.fetch_timeout, run)
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the sign-in did not finish within {} s",
                        p.sign_in_timeout.as_secs()
                    ),
                )
                .with_provider(provider_id())
            })?
    }

    /// Makes `set` the session. `explicit`: a [`Provider::sign_in`], which may end a
    /// sign-out; a background sign-in that finishes after a sign-out is dropped.
    async fn install(
        &self,
        set: TokenSet,
        source: Option<&'static str>,
        explicit: bool,
    ) -> Result<SecretString, Error> {
        let access = set.access.clone();
        let mut slot = self.inner.session.lock().await;
        if matches!(*slot, Slot::SignedOutByUser) && !explicit {
            return Err(signed_out());
        }
        *slot = Slot::Active(set);
        let pending = self.changed(&slot);
        self.set_source(source);
        drop(slot);
        self.save(Some(pending));
        Ok(access)
    }

    /// The access token's expiry, for diagnostics.
    pub async fn token_expiry(&self) -> Option<time::OffsetDateTime> {
        match &*self.inner.session.lock().await {
            Slot::Active(t) => Some(t.expires_at()),
            _ => None,
        }
    }
}

#[async_trait]
impl Provider for AzureProvider {
    fn id(&self) -> ProviderId {
        provider_id()
    }

    fn display_name(&self) -> &str {
        "Azure Key Vault"
    }

    fn validate_link(&self, link: &Link) -> Result<Locator, Error> {
        let id = self.identifier(link)?;
        Ok(Locator::new(provider_id(), id.canonical()))
    }

    async fn fetch(
        &self,
        link: &Link,
        interaction: &dyn Interaction,
    ) -> Result<SecretString, Error> {
        Ok(self.get_secret(link, interaction).await?.value)
    }

    async fn describe(
        &self,
        link: &Link,
        interaction: &dyn Interaction,
    ) -> Result<SecretDetails, Error> {
        let id = self.identifier(link)?;
        let bundle = self.get_secret(link, interaction).await?;
        Ok(bundle.details(&id))
    }

    async fn sign_in(&self, interaction: &dyn Interaction) -> Result<SessionState, Error> {
        if self.inner.parts.chain.is_some() {
            let (set, source) = self.token_from_sources().await?;
            self.install(set, Some(source), true).await?;
        } else {
            let limit = self.inner.parts.sign_in_timeout;
            let _gate = tokio::time::timeout(limit, self.inner.sign_in_gate.lock())
                .await
                .map_err(|_| {
                    Error::new(ErrorKind::Timeout, "another sign-in did not finish in time")
                        .with_provider(provider_id())
                })?;
            let set = self.interactive_acquire(interaction).await?;
            self.install(set, Some(self.inner.parts.flow.as_str()), true)
                .await?;
        }
        Ok(self.session())
    }

    async fn sign_out(&self) -> Result<(), Error> {
        let mut slot = self.inner.session.lock().await;
        *slot = Slot::SignedOutByUser;
        let pending = self.changed(&slot);
        self.set_source(None);
        drop(slot);
        self.save(Some(pending));
        Ok(())
    }

    fn session(&self) -> SessionState {
        let s = *self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        s.at(self.inner.parts.clock.now())
    }

    /// The state, the app (client id) signed in with, and the flow or credential source
    /// that gave the token (never a token).
    fn session_info(&self) -> vault_core::session::SessionInfo {
        let mut info = vault_core::session::SessionInfo::new(self.session());
        if !self.client_id().is_empty() {
            info = info.identity(format!("client {}", self.client_id()));
        }
        match self.credential_source() {
            Some(source) => info.source(source),
            None => info.source(self.flow().as_str()),
        }
    }
}
