//! The whole browser sign-in, step by step: discovery, loopback listener, authorization URL
//! opened through the host's [`Interaction`], callback, code exchange, id_token validation,
//! JWT login.

use std::time::Duration;

use secrecy::SecretString;
use vault_core::{Clock, Error, Interaction};

use crate::http::VaultApi;
use crate::loopback::Loopback;
use crate::settings::HashicorpSettings;
use crate::token::VaultToken;
use crate::{id_token, jwt_login, oidc};

/// What the sign-in needs from the provider.
pub(crate) struct SignIn<'a> {
    pub settings: &'a HashicorpSettings,
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
        let listener = Loopback::bind(&s.redirect).await?;
        let request = oidc::authorize(&disc, &s.client_id, listener.redirect_uri())?;
        let state: SecretString = request.state.clone();
        let code = {
            let wait = listener.wait(&state, self.wait);
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
        jwt_login::login(self.vault, &s.jwt_auth_path, &s.role, &id, self.clock.now()).await
    }
}
