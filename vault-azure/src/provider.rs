//! [`AzureProvider`]: the [`Provider`] for Azure Key Vault.
//!
//! One session per provider: the newest tokens in memory behind an async mutex. A fetch that
//! needs a sign-in holds that mutex while signing in, so concurrent fetches wait for the same
//! sign-in instead of opening one browser tab each. The access token is renewed silently five
//! minutes before it expires; when renewal is refused the session becomes `Expired` and every
//! fetch says "sign in again" until [`Provider::sign_in`] runs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use url::Url;
use vault_core::{
    Clock, Error, ErrorKind, Interaction, Link, Locator, Provider, ProviderId, SecretDetails,
    SessionState,
};

use crate::authority::Authority;
use crate::builder::AzureProviderBuilder;
use crate::challenge::Challenge;
use crate::client_credentials;
use crate::device_code;
use crate::host_policy::VaultHost;
use crate::identifier::SecretIdentifier;
use crate::key_vault::{self, Outcome, SecretBundle};
use crate::oauth_context::OAuthContext;
use crate::pkce_flow;
use crate::refresh;
use crate::sign_in_flow::SignInFlow;
use crate::token_cache::{Slot, TokenSet};
use crate::transport::Transport;
use crate::PROVIDER_ID;

/// The link keys of `[secrets.NAME.azure]`.
pub const LINK_KEYS: &[&str] = &["identifier"];

/// Everything the builder validated.
pub(crate) struct ProviderParts {
    pub authority: Authority,
    pub client_id: String,
    pub resource: String,
    pub vault_hosts: Vec<VaultHost>,
    pub redirect_uri: Url,
    pub flow: SignInFlow,
    pub client_secret: Option<SecretString>,
    pub sign_in_timeout: Duration,
    pub transport: Transport,
    pub clock: Arc<dyn Clock>,
}

struct Inner {
    parts: ProviderParts,
    session: tokio::sync::Mutex<Slot>,
    /// What [`Provider::session`] reports, updated with every change of `session`.
    state: Mutex<SessionState>,
}

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

impl AzureProvider {
    /// A builder.
    pub fn builder() -> AzureProviderBuilder {
        AzureProviderBuilder::default()
    }

    pub(crate) fn from_parts(parts: ProviderParts) -> Self {
        AzureProvider {
            inner: Arc::new(Inner {
                parts,
                session: tokio::sync::Mutex::new(Slot::SignedOut),
                state: Mutex::new(SessionState::SignedOut),
            }),
        }
    }

    /// The Key Vault audience tokens are asked for.
    pub fn resource(&self) -> &str {
        &self.inner.parts.resource
    }

    /// The application id.
    pub fn client_id(&self) -> &str {
        &self.inner.parts.client_id
    }

    /// Authority and tenant.
    pub fn authority(&self) -> &Authority {
        &self.inner.parts.authority
    }

    /// The sign-in flow.
    pub fn flow(&self) -> SignInFlow {
        self.inner.parts.flow
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
        let transport = &self.inner.parts.transport;
        let token = self.access_token(interaction, None).await?;
        let challenge = match key_vault::get_secret(transport, &id, &token).await? {
            Outcome::Found(b) => return Ok(b),
            Outcome::Unauthorized(c) => c,
        };
        self.explain_challenge(challenge.as_ref())?;
        // The token may have been revoked or be older than the vault thinks: renew once.
        let token = self.access_token(interaction, Some(&token)).await?;
        match key_vault::get_secret(transport, &id, &token).await? {
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

    fn publish(&self, slot: &Slot) {
        let renewable = self.inner.parts.flow == SignInFlow::ClientCredentials;
        *self.inner.state.lock().unwrap_or_else(|e| e.into_inner()) = slot.state(renewable);
    }

    /// Gets tokens the configured way (browser, device code, client credentials).
    async fn acquire(&self, interaction: &dyn Interaction) -> Result<TokenSet, Error> {
        let p = &self.inner.parts;
        let ctx = self.context();
        match p.flow {
            SignInFlow::Browser => {
                pkce_flow::sign_in(&ctx, &p.redirect_uri, interaction, p.sign_in_timeout).await
            }
            SignInFlow::DeviceCode => {
                device_code::sign_in(&ctx, interaction, p.sign_in_timeout).await
            }
            SignInFlow::ClientCredentials => match &p.client_secret {
                Some(s) => client_credentials::acquire(&ctx, s).await,
                None => Err(Error::new(ErrorKind::InvalidConfig, "no client secret")
                    .with_provider(provider_id())),
            },
        }
    }

    /// A usable access token: the held one, a renewed one, or one from a new sign-in.
    /// `stale` is a token Key Vault just refused: it is renewed unless another task did so.
    async fn access_token(
        &self,
        interaction: &dyn Interaction,
        stale: Option<&SecretString>,
    ) -> Result<SecretString, Error> {
        let mut slot = self.inner.session.lock().await;
        let now = self.inner.parts.clock.now();
        let unattended = self.inner.parts.flow == SignInFlow::ClientCredentials;
        if let Slot::Active(t) = &*slot {
            let refused = stale.is_some_and(|s| s.expose_secret() == t.access.expose_secret());
            if t.fresh_at(now) && !refused {
                return Ok(t.access.clone());
            }
            if let Some(rt) = t.refresh.clone() {
                match refresh::refresh(&self.context(), &rt).await {
                    Ok(next) => {
                        let Slot::Active(old) = std::mem::take(&mut *slot) else {
                            unreachable!("slot checked above")
                        };
                        let set = old.rotated(next);
                        let access = set.access.clone();
                        *slot = Slot::Active(set);
                        self.publish(&slot);
                        return Ok(access);
                    }
                    Err(e) if e.kind() == ErrorKind::SessionExpired => {
                        *slot = Slot::Expired;
                        self.publish(&slot);
                        return Err(e);
                    }
                    // Transient trouble at the token endpoint: keep the session; a token
                    // that has not quite expired still serves.
                    Err(e) => {
                        return if t.expires_at > now && !refused {
                            Ok(t.access.clone())
                        } else {
                            Err(e)
                        }
                    }
                }
            }
            if !unattended {
                *slot = Slot::Expired;
                self.publish(&slot);
                return Err(sign_in_again(
                    "the access token expired and there is no refresh token",
                ));
            }
        }
        if matches!(*slot, Slot::Expired) && !unattended {
            return Err(sign_in_again("the Azure session expired"));
        }
        let set = self.acquire(interaction).await?;
        let access = set.access.clone();
        *slot = Slot::Active(set);
        self.publish(&slot);
        Ok(access)
    }

    /// The held refresh token's presence and the access token's expiry, for diagnostics.
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
        let mut slot = self.inner.session.lock().await;
        let set = self.acquire(interaction).await?;
        *slot = Slot::Active(set);
        self.publish(&slot);
        Ok(self.session())
    }

    async fn sign_out(&self) -> Result<(), Error> {
        let mut slot = self.inner.session.lock().await;
        *slot = Slot::SignedOut;
        self.publish(&slot);
        Ok(())
    }

    fn session(&self) -> SessionState {
        let s = *self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        s.at(self.inner.parts.clock.now())
    }
}
