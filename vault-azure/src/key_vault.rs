//! The Key Vault REST call: Get Secret.
//!
//! `GET {vault}/secrets/{name}[/{version}]?api-version=7.5` with `Authorization: Bearer …`;
//! without a version Key Vault serves the latest one. 7.5 is the newest api-version that is
//! generally available in every cloud this crate knows (public, China, US Government) as of
//! writing; the Get Secret request and the `SecretBundle` answer are unchanged since 7.0,
//! so older vault deployments answer it too.

use std::collections::BTreeMap;

use reqwest::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use time::OffsetDateTime;
use vault_core::{Error, ErrorKind, ProviderId, SecretDetails};
use zeroize::Zeroizing;

use crate::challenge::Challenge;
use crate::error_body::map_error;
use crate::identifier::SecretIdentifier;
use crate::transport::Transport;
use crate::PROVIDER_ID;

/// The Key Vault REST api-version sent with every call.
pub const API_VERSION: &str = "7.5";

/// A secret as Key Vault returns it: the value (a [`SecretString`]) and its attributes.
pub struct SecretBundle {
    /// The value.
    pub value: SecretString,
    /// The full identifier Key Vault reports, with the version served.
    pub id: Option<String>,
    /// The declared content type.
    pub content_type: Option<String>,
    /// Whether the secret is enabled.
    pub enabled: Option<bool>,
    /// Created.
    pub created: Option<OffsetDateTime>,
    /// Last updated.
    pub updated: Option<OffsetDateTime>,
    /// Expires (`exp`).
    pub expires: Option<OffsetDateTime>,
    /// Not valid before (`nbf`).
    pub not_before: Option<OffsetDateTime>,
    /// Soft-delete recovery level.
    pub recovery_level: Option<String>,
    /// Whether Key Vault manages it (a certificate's secret).
    pub managed: Option<bool>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl std::fmt::Debug for SecretBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBundle")
            .field("value", &"[redacted]")
            .field("id", &self.id)
            .field("content_type", &self.content_type)
            .field("enabled", &self.enabled)
            .field("updated", &self.updated)
            .finish_non_exhaustive()
    }
}

impl SecretBundle {
    /// The version served: the last segment of `id`.
    pub fn version(&self) -> Option<&str> {
        let id = self.id.as_deref()?;
        let v = id.trim_end_matches('/').rsplit('/').next()?;
        (v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit())).then_some(v)
    }

    /// The metadata, without the value.
    pub fn details(&self, identifier: &SecretIdentifier) -> SecretDetails {
        let mut d = SecretDetails::new(self.id.clone().unwrap_or_else(|| identifier.canonical()));
        d.name = Some(identifier.name().to_owned());
        d.version = self
            .version()
            .map(str::to_owned)
            .or_else(|| identifier.version().map(str::to_owned));
        d.enabled = self.enabled;
        d.created = self.created;
        d.updated = self.updated;
        d.expires = self.expires;
        d.content_type = self.content_type.clone();
        if let Some(nbf) = self.not_before {
            d.extra.push(("not_before".into(), nbf.to_string()));
        }
        if let Some(r) = &self.recovery_level {
            d.extra.push(("recovery_level".into(), r.clone()));
        }
        if let Some(m) = self.managed {
            d.extra.push(("managed".into(), m.to_string()));
        }
        for (k, v) in &self.tags {
            d.extra.push((format!("tag:{k}"), v.clone()));
        }
        d
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBundle {
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    attributes: Option<RawAttributes>,
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    managed: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAttributes {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    created: Option<i64>,
    #[serde(default)]
    updated: Option<i64>,
    #[serde(default)]
    recovery_level: Option<String>,
}

/// What a Get Secret call ended with, short of an error.
pub(crate) enum Outcome {
    /// 200: the secret.
    Found(SecretBundle),
    /// 401: the token was refused; the challenge says what the vault wants.
    Unauthorized(Option<Challenge>),
}

fn ts(t: Option<i64>) -> Option<OffsetDateTime> {
    t.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
}

/// `Bearer <token>`, marked sensitive. A token that cannot be a header value (control
/// characters, non-ASCII) is an error: sending the request without it would only earn a
/// confusing 401. The message does not show the token.
fn bearer_header(token: &SecretString) -> Result<HeaderValue, Error> {
    let text = Zeroizing::new(format!("Bearer {}", token.expose_secret()));
    let mut bearer = HeaderValue::from_str(&text).map_err(|_| {
        Error::new(
            ErrorKind::InvalidResponse,
            "the access token from the token endpoint cannot be sent in an HTTP header (invalid characters)",
        )
        .with_provider(ProviderId::from_static(PROVIDER_ID))
    })?;
    bearer.set_sensitive(true);
    Ok(bearer)
}

/// GET the secret with `token`. The identifier was validated: its host may receive it.
pub(crate) async fn get_secret(
    transport: &Transport,
    id: &SecretIdentifier,
    token: &SecretString,
) -> Result<Outcome, Error> {
    let url = id.request_url(API_VERSION);
    let bearer = bearer_header(token)?;
    let reply = transport
        .send("Key Vault", || {
            transport
                .client()
                .get(&url)
                .header(AUTHORIZATION, bearer.clone())
                .header(reqwest::header::ACCEPT, "application/json")
        })
        .await?;
    match reply.status {
        StatusCode::OK => {
            let raw: RawBundle = serde_json::from_slice(&reply.body).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidResponse,
                    format!(
                        "Key Vault answered secret `{}` with an unreadable body",
                        id.name()
                    ),
                )
                .with_provider(ProviderId::from_static(PROVIDER_ID))
            })?;
            let Some(value) = raw.value else {
                return Err(Error::new(
                    ErrorKind::InvalidResponse,
                    format!("Key Vault answered secret `{}` without a value", id.name()),
                )
                .with_provider(ProviderId::from_static(PROVIDER_ID)));
            };
            let attrs = raw.attributes;
            Ok(Outcome::Found(SecretBundle {
                value: SecretString::from(value),
                id: raw.id,
                content_type: raw.content_type,
                enabled: attrs.as_ref().and_then(|a| a.enabled),
                created: ts(attrs.as_ref().and_then(|a| a.created)),
                updated: ts(attrs.as_ref().and_then(|a| a.updated)),
                expires: ts(attrs.as_ref().and_then(|a| a.exp)),
                not_before: ts(attrs.as_ref().and_then(|a| a.nbf)),
                recovery_level: attrs.and_then(|a| a.recovery_level),
                managed: raw.managed,
                tags: raw.tags.unwrap_or_default(),
            }))
        }
        StatusCode::UNAUTHORIZED => Ok(Outcome::Unauthorized(
            reply
                .headers
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(Challenge::parse),
        )),
        status => Err(map_error(id, status, &reply.body, reply.retry_after)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_unfit_for_a_header_is_an_error_not_a_bare_bearer() {
        let ok = bearer_header(&SecretString::from("eyJ0eXAi.abc-_~+/=")).unwrap();
        assert!(ok.is_sensitive());
        assert_eq!(ok.as_bytes(), b"Bearer eyJ0eXAi.abc-_~+/=");
        for bad in ["tok\r\nX-Injected: 1-CANARY", "tok\0CANARY"] {
            let e = bearer_header(&SecretString::from(bad)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidResponse);
            assert!(!format!("{e} {e:?}").contains("CANARY"), "{e:?}");
        }
    }
}
