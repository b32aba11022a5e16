//! The HTTP transport shared by the token endpoint, the managed identity endpoint and Key
//! Vault: one `reqwest` client (one connection pool, no redirects), a deadline on every
//! attempt, a budget for all attempts of one call, bounded retries, capped bodies.
//!
//! - Redirects are never followed: a bearer token or a client secret must go to the URL that
//!   was validated, not wherever a response points.
//! - Every body is read chunk by chunk into a [`BodyBuffer`] (capped, wiped on drop), inside
//!   the attempt's deadline, so a server that drips an endless body ends the attempt.
//! - One call, retries included, never takes longer than its budget ([`DEFAULT_BUDGET`]):
//!   a backoff or `Retry-After` that would cross it ends the call instead.
//! - Single-use grants (an authorization code, a rotating refresh token, a signed client
//!   assertion) go through [`Transport::single_shot`]: sent once, never again after an
//!   ambiguous failure, because the server may have redeemed it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use tokio::time::Instant;
use vault_core::body::{BodyBuffer, BodyLimit};
use vault_core::retry::parse_retry_after;
use vault_core::{telemetry, Clock, Error, ErrorKind, ProviderId, RetryPolicy};
use zeroize::Zeroizing;

use crate::PROVIDER_ID;

/// The longest one call may take, all attempts and waits included.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(30);

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
    /// One attempt: connect, headers and the whole body.
    call_timeout: Duration,
    /// All attempts of one call.
    budget: Duration,
    limit: BodyLimit,
}

/// Statuses worth another try: throttling and transient server trouble.
pub(crate) fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// Why one attempt failed before a status was read.
enum Failure {
    /// No complete answer within the attempt's deadline.
    Timeout,
    /// Connect or read error.
    Io(reqwest::Error),
    /// The body passed the cap: not retried, the next answer would be as large.
    TooLarge(vault_core::body::BodyTooLarge),
}

fn named(e: Error) -> Error {
    e.with_provider(ProviderId::from_static(PROVIDER_ID))
}

impl Transport {
    pub fn new(
        call_timeout: Duration,
        budget: Duration,
        retry: RetryPolicy,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(call_timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("vault-azure/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| named(Error::new(ErrorKind::Other, "cannot build the HTTP client")))?;
        Ok(Transport {
            client,
            retry,
            clock,
            call_timeout,
            budget,
            limit: BodyLimit::default(),
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// This transport with no retries: for requests that must reach the server at most
    /// once (single-use grants).
    pub fn single_shot(&self) -> Transport {
        Transport {
            retry: RetryPolicy::none(),
            ..self.clone()
        }
    }

    /// This transport with a shorter attempt deadline (the managed identity probe).
    pub fn with_call_timeout(&self, call_timeout: Duration) -> Transport {
        Transport {
            call_timeout,
            ..self.clone()
        }
    }

    /// Sends, reads status, headers and the capped body within `deadline`.
    async fn attempt(&self, request: reqwest::RequestBuilder) -> Result<Reply, Failure> {
        let mut resp = request.send().await.map_err(Failure::Io)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, self.clock.now()));
        let mut buf =
            BodyBuffer::new(self.limit, resp.content_length()).map_err(Failure::TooLarge)?;
        while let Some(chunk) = resp.chunk().await.map_err(Failure::Io)? {
            buf.push(&chunk).map_err(Failure::TooLarge)?;
        }
        Ok(Reply {
            status,
            headers,
            body: buf.into_inner(),
            retry_after,
        })
    }

    /// Sends the request `build` makes, retrying transport failures and retryable statuses
    /// within the budget. The last reply is returned whatever its status; `what` names the
    /// call in errors.
    pub async fn send(
        &self,
        what: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Reply, Error> {
        let deadline = Instant::now() + self.budget;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timeout_error(what, self.budget));
            }
            let outcome = tokio::time::timeout(self.call_timeout.min(left), self.attempt(build()))
                .await
                .unwrap_or(Err(Failure::Timeout));
            let (retry_after, last) = match outcome {
                Ok(reply) if retryable(reply.status) => (reply.retry_after, Ok(reply)),
                Ok(reply) => return Ok(reply),
                Err(Failure::TooLarge(e)) => return Err(named(e.into_error(what))),
                Err(Failure::Timeout) => {
                    (None, Err(timeout_error(what, self.call_timeout.min(left))))
                }
                Err(Failure::Io(e)) => (None, Err(transport_error(what, e))),
            };
            let wait = self.retry.next_wait(attempt, retry_after);
            match wait {
                Some(w) if Instant::now() + w < deadline => {
                    let reason = match &last {
                        Ok(reply) => format!("status {}", reply.status.as_u16()),
                        Err(e) => e.kind().as_str().to_owned(),
                    };
                    telemetry::retry(PROVIDER_ID, what, attempt, w, &reason);
                    tokio::time::sleep(w).await
                }
                _ => return last,
            }
        }
    }
}

fn timeout_error(what: &str, after: Duration) -> Error {
    named(Error::new(
        ErrorKind::Timeout,
        format!(
            "{what}: no answer in time ({} s)",
            after.as_secs_f32().ceil() as u64
        ),
    ))
}

/// A transport failure in our own words plus its cause (`dns error`, `tls error: …`): the
/// host only, never the URL (reqwest's text may quote it with userinfo or a query). The
/// reqwest error stays reachable through `source()`, stripped of its URL.
fn transport_error(what: &str, e: reqwest::Error) -> Error {
    let (kind, why) = if e.is_timeout() {
        (ErrorKind::Timeout, "no answer in time")
    } else if e.is_connect() {
        (ErrorKind::Unreachable, "cannot connect")
    } else {
        (ErrorKind::Unreachable, "the connection failed")
    };
    let host = e
        .url()
        .and_then(|u| u.host_str())
        .map(|h| format!(" to {h}"))
        .unwrap_or_default();
    let e = e.without_url();
    let cause = telemetry::transport_cause(&e)
        .map(|c| format!(": {c}"))
        .unwrap_or_default();
    named(Error::new(kind, format!("{what}: {why}{host}{cause}")).with_source(e))
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
    named(e)
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
                named(Error::new(
                    ErrorKind::InvalidResponse,
                    "token endpoint: unreadable response",
                ))
            })
        })
    }
}
