//! Browser sign-in: authorization code + PKCE (S256) + state + nonce, with the loopback
//! redirect (RFC 8252). The verifier never leaves this process; the code is useless without
//! it, so a code intercepted on the way to the loopback listener cannot be redeemed.

use std::time::Duration;

use oauth2::{AuthUrl, AuthorizationCode, CsrfToken, PkceCodeChallenge, RedirectUrl};
use secrecy::ExposeSecret;
use url::Url;
use vault_core::loopback::LoopbackListener;
use vault_core::{Error, ErrorKind, Interaction, ProviderId};

use crate::id_token::{check_id_token, fetch_jwks, verify_signature, Expected};
use crate::oauth_context::{bad_url, OAuthContext};
use crate::token_cache::TokenSet;
use crate::token_error::{map_token_error, Grant};
use crate::PROVIDER_ID;

/// Runs the whole browser sign-in and returns the tokens.
pub(crate) async fn sign_in(
    ctx: &OAuthContext<'_>,
    redirect_uri: &Url,
    interaction: &dyn Interaction,
    timeout: Duration,
) -> Result<TokenSet, Error> {
    let named = |e: Error| e.with_provider(ProviderId::from_static(PROVIDER_ID));
    let listener = LoopbackListener::bind(redirect_uri).await.map_err(named)?;
    let client = ctx
        .token_client()?
        .set_auth_uri(AuthUrl::new(ctx.authority.authorize_url()).map_err(|_| bad_url())?)
        .set_redirect_uri(RedirectUrl::from_url(listener.redirect_uri().clone()));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = CsrfToken::new_random();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(ctx.user_scopes())
        .add_extra_param("nonce", nonce.secret())
        .add_extra_param("response_mode", "query")
        .set_pkce_challenge(challenge)
        .url();

    // Wait on the listener while the host opens the URL: a headless host may only return
    // from `open_url` once its "browser" has reached the listener.
    let accept = async {
        listener
            .accept(state.secret(), timeout)
            .await
            .map_err(named)
    };
    tokio::pin!(accept);
    let callback = tokio::select! {
        cb = &mut accept => cb?,
        opened = interaction.open_url(&url) => {
            opened?;
            accept.await?
        }
    };
    if let Some(iss) = &callback.iss {
        if !ctx.authority.issued(iss) {
            return Err(Error::new(
                ErrorKind::AuthFailed,
                "the sign-in response names another issuer than the configured authority",
            )
            .with_provider(ProviderId::from_static(PROVIDER_ID)));
        }
    }
    let now = ctx.transport.clock().now();
    // The code is single-use: sent once, never again after an ambiguous failure (the
    // server may have redeemed it; a replay makes it revoke what it issued).
    let response = client
        .exchange_code(AuthorizationCode::new(
            callback.code.expose_secret().to_owned(),
        ))
        .set_pkce_verifier(verifier)
        .request_async(&ctx.transport.single_shot())
        .await
        .map_err(|e| match e {
            oauth2::RequestTokenError::Request(e) => Error::new(
                ErrorKind::AuthFailed,
                format!(
                    "{}; the sign-in code is single-use and was not sent again: sign in again",
                    e.message()
                ),
            )
            .with_provider(ProviderId::from_static(PROVIDER_ID)),
            e => map_token_error(Grant::Code, e),
        })?;
    // `openid` was asked for: the ID token must come, or the nonce binds nothing.
    let id_token = response.extra_fields().id_token.as_ref().ok_or_else(|| {
        Error::new(
            ErrorKind::AuthFailed,
            "the token endpoint answered the sign-in with no id_token (openid was requested)",
        )
        .with_provider(ProviderId::from_static(PROVIDER_ID))
    })?;
    let jwks = fetch_jwks(ctx).await?;
    verify_signature(id_token.0.expose_secret(), &jwks)?;
    check_id_token(
        id_token.0.expose_secret(),
        &Expected {
            nonce: nonce.secret(),
            client_id: ctx.client_id,
            authority: ctx.authority,
            now: ctx.transport.clock().now(),
        },
    )?;
    TokenSet::from_response(&response, now)
}
