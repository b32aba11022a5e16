//! Silent renewal with the refresh token (grant `refresh_token`).
//!
//! The answer carries a new refresh token (Entra and oidc-provider rotate them); the caller
//! stores it in place of the old one. A refusal (`invalid_grant`, revoked, expired,
//! replayed) ends the session with `SessionExpired`: sign in again.

use oauth2::RefreshToken;
use secrecy::{ExposeSecret, SecretString};
use vault_core::Error;

use crate::oauth_context::OAuthContext;
use crate::token_cache::TokenSet;
use crate::token_error::{map_token_error, Grant};

/// Redeems `refresh` for a new token set.
pub(crate) async fn refresh(
    ctx: &OAuthContext<'_>,
    refresh: &SecretString,
) -> Result<TokenSet, Error> {
    let client = ctx.token_client()?;
    let token = RefreshToken::new(refresh.expose_secret().to_owned());
    let now = ctx.transport.clock().now();
    let response = client
        .exchange_refresh_token(&token)
        .add_scopes(ctx.user_scopes())
        .request_async(ctx.transport)
        .await
        .map_err(|e| map_token_error(Grant::Refresh, e))?;
    TokenSet::from_response(&response, now)
}
