//! The HTTP transport shared by the token endpoint and Key Vault: one `reqwest` client (one
//! connection pool, no redirects, a timeout on every call) plus bounded retries.
//!
//! Redirects are never followed: a bearer token or a client secret must go to the URL that
//! was validated, not wherever a response points.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use vault_core::retry::parse_retry_after;
use vault_core::{Clock, Error, ErrorKind, ProviderId, RetryPolicy};
use zeroize::Zeroizing;

use crate::PROVIDER_ID;

/// A finished HTTP exchange. The body is wiped from memory when dropped: it may hold a
/// secret value or a token.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Zeroizing<Vec<u8>>,
    /// The server's `Retry-After`, if it sent one.
    pub retry_after: Option<Duration>,
}

/// Client, timeouts and retry policy.
#[derive(Clone)]
pub(crate) struct Transport {
    client: reqwest::Client,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
}

/// Statuses worth another try: throttling and transient server trouble.
fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

impl Transport {
    pub fn new(
        timeout: Duration,
        retry: RetryPolicy,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("vault-azure/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| {
                Error::new(ErrorKind::Other, "cannot build the HTTP client")
                    .with_provider(ProviderId::from_static(PROVIDER_ID))
            })?;
        Ok(Transport {
            client,
            retry,
            clock,
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Sends the request `build` makes, retrying transport failures and retryable statuses.
    /// The last reply is returned whatever its status; `what` names the call in errors.
    pub async fn send(
        &self,
        what: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Reply, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match build().send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let retry_after = headers
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, self.clock.now()));
                    let body = match resp.bytes().await {
                        Ok(b) => Zeroizing::new(b.to_vec()),
                        Err(e) => match self.retry.next_wait(attempt, None) {
                            Some(wait) => {
                                tokio::time::sleep(wait).await;
                                continue;
                            }
                            None => return Err(transport_error(what, &e)),
                        },
                    };
                    if retryable(status) {
                        if let Some(wait) = self.retry.next_wait(attempt, retry_after) {
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                    }
                    return Ok(Reply {
                        status,
                        headers,
                        body,
                        retry_after,
                    });
                }
                Err(e) => match self.retry.next_wait(attempt, None) {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => return Err(transport_error(what, &e)),
                },
            }
        }
    }
}

/// A transport failure in our own words: reqwest's text may quote URLs and is not needed.
fn transport_error(what: &str, e: &reqwest::Error) -> Error {
    let (kind, why) = if e.is_timeout() {
        (ErrorKind::Timeout, "no answer in time")
    } else if e.is_connect() {
        (ErrorKind::Unreachable, "cannot connect")
    } else {
        (ErrorKind::Unreachable, "the connection failed")
    };
    Error::new(kind, format!("{what}: {why}")).with_provider(ProviderId::from_static(PROVIDER_ID))
}

/// The error for a final throttling or server-error status.
pub(crate) fn status_error(what: &str, status: StatusCode, retry_after: Option<Duration>) -> Error {
    let e = if status == StatusCode::TOO_MANY_REQUESTS {
        let when = retry_after
            .map(|d| format!("; retry after {} s", d.as_secs().max(1)))
            .unwrap_or_default();
        Error::new(
            ErrorKind::RateLimited,
            format!("{what}: too many requests (HTTP 429){when}"),
        )
    } else if status == StatusCode::REQUEST_TIMEOUT || status == StatusCode::GATEWAY_TIMEOUT {
        Error::new(
            ErrorKind::Timeout,
            format!("{what}: HTTP {}", status.as_u16()),
        )
    } else {
        Error::new(
            ErrorKind::Unreachable,
            format!("{what}: server error (HTTP {})", status.as_u16()),
        )
    };
    e.with_provider(ProviderId::from_static(PROVIDER_ID))
}

/// The token endpoint speaks through `oauth2`: this adapter lends it our client, timeouts
/// and retries. Final 429/5xx answers become errors here, so that `oauth2` only ever parses
/// token and OAuth error bodies.
impl<'c> oauth2::AsyncHttpClient<'c> for Transport {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, Error>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = Zeroizing::new(body);
            let url = parts.uri.to_string();
            let reply = self
                .send("token endpoint", || {
                    self.client
                        .request(parts.method.clone(), &url)
                        .headers(parts.headers.clone())
                        .body(body.to_vec())
                })
                .await?;
            if retryable(reply.status) {
                return Err(status_error(
                    "token endpoint",
                    reply.status,
                    reply.retry_after,
                ));
            }
            let mut builder = oauth2::http::Response::builder().status(reply.status);
            for (k, v) in reply.headers.iter() {
                builder = builder.header(k, v);
            }
            builder.body(reply.body.to_vec()).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidResponse,
                    "token endpoint: unreadable response",
                )
                .with_provider(ProviderId::from_static(PROVIDER_ID))
            })
        })
    }
}
