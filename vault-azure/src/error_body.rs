//! Key Vault error answers and what they mean for the caller.
//!
//! Key Vault answers errors as `{"error":{"code":"…","message":"…","innererror":{"code":"…"}}}`
//! (REST reference, "KeyVaultError"). The codes decide the [`ErrorKind`]; Key Vault's own
//! message is not repeated (it names object ids of the caller), our messages say what to do.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use vault_core::{Error, ErrorKind, ProviderId};

use crate::identifier::SecretIdentifier;
use crate::transport::status_error;
use crate::PROVIDER_ID;

/// The role a user needs to read secret values in an RBAC vault.
pub const READER_ROLE: &str = "Key Vault Secrets User";

#[derive(Deserialize, Default)]
struct Envelope {
    #[serde(default)]
    error: Option<Body>,
}

#[derive(Deserialize, Default)]
struct Body {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    innererror: Option<Box<Body>>,
}

/// The codes of a Key Vault error body (outer first, then the inner ones).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyVaultError {
    /// `error.code`, then each nested `innererror.code`.
    pub codes: Vec<String>,
    /// Whether Key Vault's message says the secret is disabled.
    pub mentions_disabled: bool,
}

impl KeyVaultError {
    /// Parses a body; anything unreadable gives no codes.
    pub fn parse(body: &[u8]) -> Self {
        let env: Envelope = serde_json::from_slice(body).unwrap_or_default();
        let mut out = KeyVaultError::default();
        let mut next = env.error;
        while let Some(b) = next {
            if let Some(c) = b.code {
                if c.len() <= 64 && c.bytes().all(|x| x.is_ascii_alphanumeric() || x == b'_') {
                    out.codes.push(c);
                }
            }
            if b.message
                .as_deref()
                .is_some_and(|m| m.to_ascii_lowercase().contains("disabled secret"))
            {
                out.mentions_disabled = true;
            }
            next = b.innererror.map(|b| *b);
        }
        out
    }

    fn has(&self, code: &str) -> bool {
        self.codes.iter().any(|c| c.eq_ignore_ascii_case(code))
    }

    fn shown(&self) -> String {
        if self.codes.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.codes.join("/"))
        }
    }
}

/// Maps a failed Get Secret answer (any status but 200 and the 401 handled by the caller).
pub(crate) fn map_error(
    id: &SecretIdentifier,
    status: StatusCode,
    body: &[u8],
    retry_after: Option<Duration>,
) -> Error {
    let kv = KeyVaultError::parse(body);
    let provider = ProviderId::from_static(PROVIDER_ID);
    let what = match id.version() {
        Some(v) => format!(
            "secret `{}` version {v} in vault `{}`",
            id.name(),
            id.vault_name()
        ),
        None => format!("secret `{}` in vault `{}`", id.name(), id.vault_name()),
    };
    let codes = kv.shown();
    let e = match status.as_u16() {
        403 if kv.has("SecretDisabled") || kv.mentions_disabled => Error::new(
            ErrorKind::Unavailable,
            format!("{what} is disabled in Key Vault{codes}"),
        ),
        403 if kv.has("ForbiddenByFirewall") || kv.has("ForbiddenByConnection") => Error::new(
            ErrorKind::PermissionDenied,
            format!("the firewall of vault `{}` refuses this network{codes}", id.vault_name()),
        ),
        403 => Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "the signed-in identity may not read {what}: it needs the role \"{READER_ROLE}\" on the vault or secret (or, in a vault using access policies, the secret permission Get){codes}"
            ),
        ),
        404 => Error::new(ErrorKind::NotFound, format!("{what} does not exist{codes}")),
        401 => Error::new(
            ErrorKind::AuthFailed,
            format!("Key Vault refused the access token{codes}: sign in again"),
        ),
        400 => Error::new(
            ErrorKind::InvalidRequest,
            format!("Key Vault refused the request for {what}{codes}"),
        ),
        409 => Error::new(
            ErrorKind::Unavailable,
            format!("{what} is being changed or deleted{codes}"),
        ),
        429 | 408 | 500..=599 => {
            return status_error(&format!("Key Vault, {what}"), status, retry_after)
        }
        s => Error::new(
            ErrorKind::InvalidResponse,
            format!("Key Vault answered HTTP {s} for {what}{codes}"),
        ),
    };
    e.with_provider(provider)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host_policy::VaultHost;

    fn id() -> SecretIdentifier {
        SecretIdentifier::parse(
            "https://kv1.vault.azure.net/secrets/db",
            &[] as &[VaultHost],
        )
        .unwrap()
    }

    fn map(status: u16, body: &str) -> Error {
        map_error(
            &id(),
            StatusCode::from_u16(status).unwrap(),
            body.as_bytes(),
            None,
        )
    }

    #[test]
    fn parses_nested_codes() {
        let e = KeyVaultError::parse(
            br#"{"error":{"code":"Forbidden","message":"x","innererror":{"code":"ForbiddenByRbac"}}}"#,
        );
        assert_eq!(e.codes, ["Forbidden", "ForbiddenByRbac"]);
        assert_eq!(KeyVaultError::parse(b"<html>"), KeyVaultError::default());
    }

    #[test]
    fn statuses_map_to_kinds() {
        let e = map(
            403,
            r#"{"error":{"code":"Forbidden","message":"Caller is not authorized to perform action on resource.","innererror":{"code":"ForbiddenByRbac"}}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert!(e.message().contains(READER_ROLE), "{e}");
        let e = map(
            403,
            r#"{"error":{"code":"Forbidden","message":"Operation get is not allowed on a disabled secret.","innererror":{"code":"SecretDisabled"}}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        let e = map(
            403,
            r#"{"error":{"code":"Forbidden","message":"Operation get is not allowed on a disabled secret."}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        let e = map(
            403,
            r#"{"error":{"code":"Forbidden","message":"Client address is not authorized","innererror":{"code":"ForbiddenByFirewall"}}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert!(e.message().contains("firewall"));
        let e = map(
            404,
            r#"{"error":{"code":"SecretNotFound","message":"A secret with (name/id) db was not found in this key vault."}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.message().contains("SecretNotFound"));
        assert_eq!(
            map(400, r#"{"error":{"code":"BadParameter"}}"#).kind(),
            ErrorKind::InvalidRequest
        );
        let e = map(429, r#"{"error":{"code":"Throttled"}}"#);
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(e.is_retryable());
        let e = map(503, "");
        assert_eq!(e.kind(), ErrorKind::Unreachable);
        assert!(e.is_retryable());
        assert_eq!(map(418, "").kind(), ErrorKind::InvalidResponse);
    }

    #[test]
    fn hostile_codes_are_not_echoed() {
        let e = map(
            404,
            r#"{"error":{"code":"<script>alert(1)</script>","message":"value=hunter2"}}"#,
        );
        assert!(!e.to_string().contains("script"));
        assert!(!e.to_string().contains("hunter2"));
    }
}
