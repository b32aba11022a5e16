//! Client credentials (a service principal with a client secret) for unattended use: no
//! user, no refresh token; a new access token is requested whenever the old one is due.

use oauth2::ClientSecret;
use secrecy::{ExposeSecret, SecretString};
use vault_core::Error;

use crate::oauth_context::OAuthContext;
use crate::token_cache::TokenSet;
use crate::token_error::{map_token_error, Grant};

/// Requests an app-only Key Vault token.
pub(crate) async fn acquire(
    ctx: &OAuthContext<'_>,
    secret: &SecretString,
) -> Result<TokenSet, Error> {
    let client = ctx
        .token_client()?
        .set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()));
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
    Ok(set)
}
