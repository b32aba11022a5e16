//! Client credentials with a client secret (a service principal; `AZURE_CLIENT_SECRET`): no
//! user, no refresh token; a new access token is requested whenever the old one is due.

use async_trait::async_trait;
use oauth2::ClientSecret as OAuthSecret;
use secrecy::{ExposeSecret, SecretString};
use vault_core::Error;

use super::{Answer, TokenSource};
use crate::oauth_context::OAuthContext;
use crate::token_cache::TokenSet;
use crate::token_error::{map_token_error, Grant};

/// The client secret of a service principal.
pub(crate) struct ClientSecret {
    pub secret: SecretString,
}

#[async_trait]
impl TokenSource for ClientSecret {
    fn name(&self) -> &'static str {
        "client_secret"
    }

    async fn token(&self, ctx: &OAuthContext<'_>) -> Result<Answer, Error> {
        if ctx.client_id.is_empty() || ctx.authority.is_multi_tenant() {
            return Ok(Answer::NotMine(
                "a client secret needs AZURE_CLIENT_ID and a concrete AZURE_TENANT_ID".into(),
            ));
        }
        let client = ctx
            .token_client()?
            .set_client_secret(OAuthSecret::new(self.secret.expose_secret().to_owned()));
        let now = ctx.transport.clock().now();
        let response = client
            .exchange_client_credentials()
            .add_scope(ctx.vault_scope())
            .request_async(ctx.transport)
            .await
            .map_err(|e| map_token_error(Grant::ClientCredentials, e))?;
        let mut set = TokenSet::from_response(&response, now)?;
        // A refresh token has no use without a user: never keep one here.
        set.refresh = None;
        Ok(Answer::Token(set))
    }
}
