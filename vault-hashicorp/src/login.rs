//! `POST auth/<mount>/login`: what every machine auth method (JWT, AppRole, Kubernetes) and
//! the seed's JWT step do, in the integration's namespace, with their refusals mapped alike.

use reqwest::Method;
use serde_json::Value;
use time::OffsetDateTime;
use vault_core::{Error, ErrorKind};

use crate::http::{scrub, vault_errors, VaultApi};
use crate::token::VaultToken;
use crate::PROVIDER_ID;

/// Posts `body` (which holds the credential: it is scrubbed afterwards) to
/// `auth/<mount>/<path>`. A refusal (400/401/403: wrong credential, unknown role, expired
/// JWT) is [`ErrorKind::AuthFailed`] with Vault's reason (filtered); 404 is a wrong mount or
/// namespace ([`ErrorKind::InvalidConfig`]).
pub(crate) async fn post(
    api: &VaultApi,
    mount: &str,
    path: &str,
    body: Value,
    what: &str,
    now: OffsetDateTime,
) -> Result<VaultToken, Error> {
    let url = api.url(&format!("auth/{mount}/{path}"))?;
    let reply = api.call(Method::POST, url, None, Some(&body), what).await;
    scrub(body);
    let reply = reply?;
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
                "{what}: no such auth method (HTTP 404): check the mount path (`mount`) and the namespace"
            ),
        )
        .with_provider(PROVIDER_ID)),
        _ => VaultToken::from_auth(&reply.ok(what)?, now, what),
    }
}
