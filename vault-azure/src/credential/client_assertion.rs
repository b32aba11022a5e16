//! The client credentials grant with a client assertion instead of a secret (RFC 7521/7523:
//! `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`), shared by
//! the certificate source (an assertion we sign) and workload identity (a token the platform
//! wrote to a file).

use secrecy::{ExposeSecret, SecretString};
use vault_core::Error;

use crate::oauth_context::OAuthContext;
use crate::token_cache::TokenSet;
use crate::token_error::{map_token_error, Grant};

/// The assertion type of a JWT client assertion.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Redeems `assertion` for an app-only Key Vault token. `single_use`: the assertion carries
/// a `jti` the server may remember, so the request is never sent twice.
pub(crate) async fn redeem(
    ctx: &OAuthContext<'_>,
    assertion: &SecretString,
    single_use: bool,
) -> Result<TokenSet, Error> {
    let client = ctx.token_client()?;
    let now = ctx.transport.clock().now();
    let once = ctx.transport.single_shot();
    let transport = if single_use { &once } else { ctx.transport };
    let response = client
        .exchange_client_credentials()
        .add_scope(ctx.vault_scope())
        .add_extra_param("client_assertion_type", JWT_BEARER)
        .add_extra_param("client_assertion", assertion.expose_secret().to_owned())
        .request_async(transport)
        .await
        .map_err(|e| map_token_error(Grant::Assertion, e))?;
    let mut set = TokenSet::from_response(&response, now)?;
    set.refresh = None;
    Ok(set)
}
