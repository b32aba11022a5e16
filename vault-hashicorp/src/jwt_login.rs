//! `POST auth/<jwt path>/login {role, jwt}`: trades a JWT (the validated id_token of the
//! seed's flow, a CI token, a service-account token) for a Vault token, in the integration's
//! namespace.

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use time::OffsetDateTime;
use vault_core::Error;

use crate::http::VaultApi;
use crate::login;
use crate::token::VaultToken;

/// Logs in with `jwt` and `role` (`None`: the mount's `default_role`). A refusal (400/403:
/// wrong audience, unknown role, expired token) is [`vault_core::ErrorKind::AuthFailed`],
/// with Vault's reason.
pub(crate) async fn login(
    api: &VaultApi,
    jwt_auth_path: &str,
    role: Option<&str>,
    jwt: &SecretString,
    now: OffsetDateTime,
) -> Result<VaultToken, Error> {
    let what = match role {
        Some(role) => format!("JWT login at auth/{jwt_auth_path} with role `{role}`"),
        None => format!("JWT login at auth/{jwt_auth_path}"),
    };
    let mut body = json!({ "jwt": jwt.expose_secret() });
    if let Some(role) = role {
        body["role"] = json!(role);
    }
    login::post(api, jwt_auth_path, "login", body, &what, now).await
}
