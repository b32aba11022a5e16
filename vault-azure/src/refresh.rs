//! Silent renewal with the refresh token (grant `refresh_token`).
//!
//! The answer carries a new refresh token (Entra and oidc-provider rotate them); the caller
//! stores it in place of the old one. A refresh token is single-use where it rotates: it is
//! sent once, never again after an ambiguous failure (a timeout or a 5xx may come after the
//! server redeemed it, and replaying a redeemed refresh token makes such servers revoke the
//! whole grant). A refusal (`invalid_grant`, revoked, expired, replayed) ends the session
//! with `SessionExpired`: sign in again.

use oauth2::{RefreshToken, RequestTokenError};
use secrecy::{ExposeSecret, SecretString};
use vault_core::Error;

use crate::oauth_context::OAuthContext;
use crate::token_cache::TokenSet;
use crate::token_error::{map_token_error, Grant};

/// Why a renewal failed.
pub(crate) enum RefreshFailure {
    /// The server answered and refused (or answered garbage): the refresh token is dead.
    Refused(Error),
    /// No usable answer (timeout, connection lost, 5xx): the server may or may not have
    /// redeemed the token, so it must not be sent again.
    Ambiguous(Error),
}

/// Redeems `refresh` for a new token set, once.
pub(crate) async fn refresh(
    ctx: &OAuthContext<'_>,
    refresh: &SecretString,
) -> Result<TokenSet, RefreshFailure> {
    let client = ctx.token_client().map_err(RefreshFailure::Refused)?;
    let token = RefreshToken::new(refresh.expose_secret().to_owned());
    let now = ctx.transport.clock().now();
    let response = client
        .exchange_refresh_token(&token)
        .add_scopes(ctx.user_scopes())
        .request_async(&ctx.transport.single_shot())
        .await
        .map_err(|e| match e {
            RequestTokenError::Request(e) => RefreshFailure::Ambiguous(e),
            e => RefreshFailure::Refused(map_token_error(Grant::Refresh, e)),
        })?;
    TokenSet::from_response(&response, now).map_err(RefreshFailure::Refused)
}
