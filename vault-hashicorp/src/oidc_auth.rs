//! `auth_method = "oidc"`: Vault (or OpenBao) as the OIDC relying party of an outside
//! identity provider, the way `vault login -method=oidc` signs in:
//!
//! 1. listen on the loopback redirect URI (default `http://localhost:8250/oidc/callback`, the
//!    CLI's, so a role already allowing the CLI needs no change);
//! 2. `POST auth/<mount>/oidc/auth_url {role, redirect_uri, client_nonce}` → the identity
//!    provider's authorization URL (Vault made its state, nonce and PKCE);
//! 3. open it in the browser through the host's [`Interaction`], wait for the callback with
//!    the `state` of that URL;
//! 4. `GET auth/<mount>/oidc/callback?state&code&client_nonce` → the Vault token.
//!
//! The `client_nonce` binds step 4 to the process that ran step 2, so a code caught by
//! another local program cannot be redeemed without it.

use std::time::Duration;

use rand::distributions::{Alphanumeric, DistString};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use time::OffsetDateTime;
use url::Url;
use vault_core::loopback::LoopbackListener;
use vault_core::{Error, ErrorKind, Interaction};

use crate::http::{vault_errors, VaultApi};
use crate::token::VaultToken;
use crate::PROVIDER_ID;

fn err(kind: ErrorKind, message: impl Into<String>) -> Error {
    Error::new(kind, message).with_provider(PROVIDER_ID)
}

/// Runs the whole sign-in.
pub(crate) async fn sign_in(
    api: &VaultApi,
    mount: &str,
    role: Option<&str>,
    redirect: &Url,
    interaction: &dyn Interaction,
    wait: Duration,
    now: impl Fn() -> OffsetDateTime,
) -> Result<VaultToken, Error> {
    let named = |e: Error| e.with_provider(PROVIDER_ID);
    let listener = LoopbackListener::bind(redirect).await.map_err(named)?;
    let redirect_uri = listener.redirect_uri().as_str().to_owned();
    let client_nonce = SecretString::from(Alphanumeric.sample_string(&mut rand::thread_rng(), 32));
    let what = format!("OIDC sign-in at auth/{mount}");
    let mut body = json!({
        "redirect_uri": redirect_uri,
        "client_nonce": client_nonce.expose_secret(),
    });
    if let Some(role) = role {
        body["role"] = json!(role);
    }
    let url = api.url(&format!("auth/{mount}/oidc/auth_url"))?;
    let reply = api
        .call(Method::POST, url, None, Some(&body), &what)
        .await?;
    match reply.status.as_u16() {
        400 | 403 => {
            return Err(err(
                ErrorKind::AuthFailed,
                format!(
                    "{what} refused (HTTP {}): {}",
                    reply.status.as_u16(),
                    vault_errors(&reply.body)
                ),
            ))
        }
        404 => {
            return Err(err(
                ErrorKind::InvalidConfig,
                format!(
                    "{what}: no OIDC auth method there (HTTP 404): check `mount` and the namespace"
                ),
            ))
        }
        _ => {}
    }
    let answer = reply.ok(&what)?;
    let auth_url = answer
        .pointer("/data/auth_url")
        .and_then(Value::as_str)
        .unwrap_or("");
    if auth_url.is_empty() {
        // Vault answers an empty URL when the redirect URI is not allowed for the role
        return Err(err(
            ErrorKind::AuthFailed,
            format!(
                "{what}: Vault gave no authorization URL: is `{redirect_uri}` in the role's allowed_redirect_uris?"
            ),
        ));
    }
    let auth_url = Url::parse(auth_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http"))
        .ok_or_else(|| {
            err(
                ErrorKind::InvalidResponse,
                format!("{what}: the authorization URL Vault gave is not an http(s) URL"),
            )
        })?;
    let state = auth_url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| SecretString::from(v.into_owned()))
        .ok_or_else(|| {
            err(
                ErrorKind::InvalidResponse,
                format!("{what}: the authorization URL carries no `state`"),
            )
        })?;
    let callback = {
        let accept = async {
            listener
                .accept(state.expose_secret(), wait)
                .await
                .map_err(named)
        };
        tokio::pin!(accept);
        tokio::select! {
            opened = interaction.open_url(&auth_url) => {
                opened?;
                accept.await?
            }
            cb = &mut accept => cb?,
        }
    };
    drop(listener);
    let mut url = api.url(&format!("auth/{mount}/oidc/callback"))?;
    url.query_pairs_mut()
        .append_pair("state", state.expose_secret())
        .append_pair("code", callback.code.expose_secret())
        .append_pair("client_nonce", client_nonce.expose_secret());
    let reply = api.call(Method::GET, url, None, None, &what).await?;
    if matches!(reply.status.as_u16(), 400 | 401 | 403) {
        return Err(err(
            ErrorKind::AuthFailed,
            format!(
                "{what}: Vault refused the callback (HTTP {}): {}",
                reply.status.as_u16(),
                vault_errors(&reply.body)
            ),
        ));
    }
    VaultToken::from_auth(&reply.ok(&what)?, now(), &what)
}
