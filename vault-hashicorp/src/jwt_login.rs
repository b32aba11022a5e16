//! `POST auth/<jwt path>/login {role, jwt}`: trades the validated id_token for a Vault token,
//! in the integration's namespace.

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use time::OffsetDateTime;
use vault_core::{Error, ErrorKind};

use crate::http::{vault_errors, VaultApi};
use crate::token::VaultToken;
use crate::PROVIDER_ID;

/// Logs in with `jwt` and `role`. A refusal (400/403: wrong audience, unknown role, expired
/// token) is [`ErrorKind::AuthFailed`], with Vault's reason.
pub(crate) async fn login(
    api: &VaultApi,
    jwt_auth_path: &str,
    role: &str,
    jwt: &SecretString,
    now: OffsetDateTime,
) -> Result<VaultToken, Error> {
    let what = format!("JWT login at auth/{jwt_auth_path} with role `{role}`");
    let url = api.url(&format!("auth/{jwt_auth_path}/login"))?;
    let body = json!({ "role": role, "jwt": jwt.expose_secret() });
    let reply = api
        .call(Method::POST, url, None, Some(&body), &what)
        .await?;
    match reply.status.as_u16() {
        400 | 401 | 403 => Err(Error::new(
            ErrorKind::AuthFailed,
            format!(
                "{what} refused (HTTP {}): {}",
                reply.status.as_u16(),
                vault_errors(&reply.body)
            ),
        )
        .with_provider(PROVIDER_ID)),
        404 => Err(Error::new(
            ErrorKind::InvalidConfig,
            format!(
                "{what}: no such auth method (HTTP 404): check `jwt_auth_path` and `namespace`"
            ),
        )
        .with_provider(PROVIDER_ID)),
        _ => VaultToken::from_auth(&reply.ok(&what)?, now, &what),
    }
}
