//! Managed identity: the token endpoint the Azure host itself offers, no secret on disk.
//!
//! - **App Service and Functions**: when `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set,
//!   `GET $IDENTITY_ENDPOINT?api-version=2019-08-01&resource=<vault resource>[&client_id=…]`
//!   with the header `X-IDENTITY-HEADER: $IDENTITY_HEADER`.
//! - **VMs, scale sets, AKS nodes (IMDS)**: otherwise
//!   `GET http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=…[&client_id=…]`
//!   with `Metadata: true`. The base URL can be changed (tests, proxies) with the builder or
//!   `AZURE_POD_IDENTITY_AUTHORITY_HOST`, as in the Azure SDKs.
//!
//! A user-assigned identity is picked by its client id (`client_id` / `AZURE_CLIENT_ID`);
//! without one the host's system-assigned identity answers. IMDS is first probed once with
//! a short deadline ([`PROBE_TIMEOUT`]; a request without `Metadata`, which IMDS answers at
//! once with 400): off Azure nothing listens at 169.254.169.254 and the source says "not
//! mine" within a second instead of waiting for a long timeout. The answer
//! carries `expires_on` (Unix seconds, a string or a number) and `expires_in`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;
use vault_core::{Error, ErrorKind, ProviderId};

use super::{Answer, TokenSource};
use crate::oauth_context::OAuthContext;
use crate::token_cache::{TokenSet, MAX_TOKEN_LIFETIME};
use crate::transport::{retryable, status_error};
use crate::PROVIDER_ID;

/// IMDS's address on every Azure VM.
pub const DEFAULT_IMDS: &str = "http://169.254.169.254";

/// The deadline of the first IMDS request.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Where the managed identity token comes from.
pub(crate) enum Endpoint {
    /// IMDS at this base URL.
    Imds(Url),
    /// App Service / Functions: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`.
    AppService { endpoint: Url, header: SecretString },
}

/// The managed identity source.
pub(crate) struct ManagedIdentity {
    pub endpoint: Endpoint,
    /// A user-assigned identity's client id.
    pub client_id: Option<String>,
    pub probe_timeout: Duration,
    probed: AtomicBool,
}

impl ManagedIdentity {
    pub(crate) fn new(endpoint: Endpoint, client_id: Option<String>) -> Self {
        ManagedIdentity {
            endpoint,
            client_id,
            probe_timeout: PROBE_TIMEOUT,
            probed: AtomicBool::new(false),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Int(i64),
    Text(String),
}

impl Number {
    fn get(&self) -> Option<i64> {
        match self {
            Number::Int(n) => Some(*n),
            Number::Text(s) => s.trim().parse().ok(),
        }
    }
}

#[derive(Deserialize)]
struct Response {
    access_token: Option<String>,
    #[serde(default)]
    expires_on: Option<Number>,
    #[serde(default)]
    expires_in: Option<Number>,
}

fn named(kind: ErrorKind, msg: String) -> Error {
    Error::new(kind, msg).with_provider(ProviderId::from_static(PROVIDER_ID))
}

#[async_trait]
impl TokenSource for ManagedIdentity {
    fn name(&self) -> &'static str {
        "managed_identity"
    }

    async fn token(&self, ctx: &OAuthContext<'_>) -> Result<Answer, Error> {
        let (mut url, what) = match &self.endpoint {
            Endpoint::Imds(base) => {
                let mut u = base.clone();
                u.set_path("/metadata/identity/oauth2/token");
                u.query_pairs_mut().append_pair("api-version", "2018-02-01");
                (u, "managed identity (IMDS)")
            }
            Endpoint::AppService { endpoint, .. } => {
                let mut u = endpoint.clone();
                u.query_pairs_mut().append_pair("api-version", "2019-08-01");
                (u, "managed identity (App Service)")
            }
        };
        url.query_pairs_mut().append_pair("resource", ctx.resource);
        if let Some(id) = &self.client_id {
            url.query_pairs_mut().append_pair("client_id", id);
        }
        // Is IMDS there at all? A request without the `Metadata` header is answered at
        // once (HTTP 400) by IMDS; off Azure nothing answers within the probe deadline. The
        // token request itself then gets the normal timeout (IMDS may take seconds to mint
        // the first token).
        if matches!(self.endpoint, Endpoint::Imds(_)) && !self.probed.load(Ordering::SeqCst) {
            let probe = ctx
                .transport
                .single_shot()
                .with_call_timeout(self.probe_timeout);
            match probe.send(what, || probe.client().get(url.clone())).await {
                Ok(_) => self.probed.store(true, Ordering::SeqCst),
                Err(e) if matches!(e.kind(), ErrorKind::Timeout | ErrorKind::Unreachable) => {
                    return Ok(Answer::NotMine(format!(
                        "no managed identity endpoint answered within {} ms",
                        self.probe_timeout.as_millis()
                    )))
                }
                Err(e) => return Err(e),
            }
        }
        let transport = ctx.transport;
        let now = ctx.transport.clock().now();
        let reply = transport
            .send(what, || {
                let req = transport.client().get(url.clone());
                match &self.endpoint {
                    Endpoint::Imds(_) => req.header("Metadata", "true"),
                    Endpoint::AppService { header, .. } => {
                        // Checked when the provider was built.
                        let mut v = reqwest::header::HeaderValue::from_str(header.expose_secret())
                            .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static(""));
                        v.set_sensitive(true);
                        req.header("X-IDENTITY-HEADER", v)
                    }
                }
            })
            .await?;
        match reply.status {
            StatusCode::OK => {}
            // IMDS: no identity assigned, or the user-assigned id is unknown. Docker
            // Desktop's network answers 403 for the link-local address.
            StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN
                if matches!(self.endpoint, Endpoint::Imds(_)) =>
            {
                return Ok(Answer::NotMine(format!(
                    "IMDS answered HTTP {}: no managed identity{} is assigned to this host",
                    reply.status.as_u16(),
                    if self.client_id.is_some() {
                        " with this client id"
                    } else {
                        ""
                    }
                )))
            }
            s if retryable(s) => return Err(status_error(what, s, reply.retry_after)),
            s => {
                return Err(named(
                    ErrorKind::AuthFailed,
                    format!("{what} refused the token request (HTTP {})", s.as_u16()),
                ))
            }
        }
        let body: Response = serde_json::from_slice(&reply.body).map_err(|_| {
            named(
                ErrorKind::InvalidResponse,
                format!("{what} answered something that is not a token"),
            )
        })?;
        let access = body.access_token.filter(|t| !t.is_empty()).ok_or_else(|| {
            named(
                ErrorKind::InvalidResponse,
                format!("{what} answered without an access_token"),
            )
        })?;
        let max = now + MAX_TOKEN_LIFETIME;
        let expires_at = body
            .expires_on
            .as_ref()
            .and_then(Number::get)
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .or_else(|| {
                let secs = body.expires_in.as_ref().and_then(Number::get)?;
                now.checked_add(time::Duration::seconds(secs.clamp(0, 86_400)))
            })
            .unwrap_or(now + time::Duration::hours(1))
            .min(max);
        Ok(Answer::Token(TokenSet {
            access: SecretString::from(access),
            expires_at,
            refresh: None,
            resumed: false,
        }))
    }
}
