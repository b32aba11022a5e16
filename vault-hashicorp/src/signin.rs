//! The whole browser sign-in, step by step: discovery, loopback listener, authorization URL
//! opened through the host's [`Interaction`], callback, code exchange, id_token validation,
//! JWT login.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use vault_core::loopback::LoopbackListener;
use vault_core::{Clock, Error, Interaction};

use crate::http::VaultApi;
use crate::settings::OidcProviderSettings;
use crate::token::VaultToken;
use crate::PROVIDER_ID;
use crate::{id_token, jwt_login, oidc};

/// What the sign-in needs from the provider.
pub(crate) struct SignIn<'a> {
    pub settings: &'a OidcProviderSettings,
    /// Vault API in the integration's namespace (JWT login).
    pub vault: &'a VaultApi,
    /// The same server without a namespace header (OIDC endpoints carry it in their path).
    pub oidc: &'a VaultApi,
    pub clock: &'a dyn Clock,
    pub wait: Duration,
}

impl SignIn<'_> {
    pub async fn run(&self, interaction: &dyn Interaction) -> Result<VaultToken, Error> {
        let s = self.settings;
        let disc = oidc::discover(self.oidc, &s.provider).await?;
        let named = |e: Error| e.with_provider(PROVIDER_ID);
        // the default plan: 10545, then 10534 when another program holds it
        let listener = LoopbackListener::bind_first(&s.redirect.urls())
            .await
            .map_err(named)?;
        let request = oidc::authorize(&disc, &s.client_id, listener.redirect_uri().as_str())?;
        let state: SecretString = request.state.clone();
        let code = {
            let wait = async {
                listener
                    .accept(state.expose_secret(), self.wait)
                    .await
                    .map(|callback| callback.code)
                    .map_err(named)
            };
            tokio::pin!(wait);
            // the listener runs while the host opens the URL: a headless host may deliver
            // the callback before `open_url` even returns
            tokio::select! {
                opened = interaction.open_url(&request.url) => {
                    opened?;
                    wait.await?
                }
                code = &mut wait => code?,
            }
        };
        // the port is not needed any more: free it now, not after the code exchange
        drop(listener);
        let nonce = request.nonce.clone();
        let id = request.exchange(self.oidc.http(), code).await?;
        let jwks = id_token::fetch_jwks(self.oidc, &disc.jwks_uri).await?;
        id_token::validate(
            &id,
            &jwks,
            s.provider.issuer(),
            &s.client_id,
            &nonce,
            self.clock.now(),
        )?;
        jwt_login::login(
            self.vault,
            &s.jwt_auth_path,
            Some(&s.role),
            &id,
            self.clock.now(),
        )
        .await
    }
}
