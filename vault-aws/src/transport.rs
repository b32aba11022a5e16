//! One signed AWS call: sign, send with a timeout, read the answer, map errors, and retry what
//! is worth retrying. Every call of the crate goes through here.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use vault_core::retry::parse_retry_after;
use vault_core::{Clock, Error, ErrorKind, RetryPolicy};
use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::endpoint::{Endpoint, Service};
use crate::error_body::ErrorBody;
use crate::error_map::to_error;
use crate::sigv4::{sign_headers, Signable};
use crate::PROVIDER_ID;

/// The default timeout of one attempt (connect, send and read the whole answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A request to send.
pub(crate) struct Call<'a> {
    pub endpoint: &'a Endpoint,
    pub service: Service,
    /// Headers besides host and the signature's, lower-case names.
    pub headers: Vec<(&'static str, String)>,
    pub body: Zeroizing<Vec<u8>>,
    /// Names the call in errors (`GetSecretValue of app/db-AbCdEf`), never a value.
    pub what: String,
    /// Whether sending it twice is harmless. A call carrying a one-time MFA code is not: a
    /// retry would spend the code again (and AWS refuses a reused code).
    pub idempotent: bool,
}

/// A successful answer; the body is zeroized on drop (it may hold a secret value).
pub(crate) struct Reply {
    pub body: Zeroizing<Vec<u8>>,
}

/// Sends signed calls.
#[derive(Clone)]
pub(crate) struct Transport {
    client: reqwest::Client,
    retry: RetryPolicy,
    timeout: Duration,
    clock: Arc<dyn Clock>,
}

impl Transport {
    pub fn new(
        client: reqwest::Client,
        retry: RetryPolicy,
        timeout: Duration,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Transport {
            client,
            retry,
            timeout,
            clock,
        }
    }

    /// A client for AWS calls: no redirects (a signed request must not be replayed
    /// elsewhere), rustls, keep-alive.
    pub fn default_client() -> Result<reqwest::Client, Error> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(DEFAULT_TIMEOUT)
            .user_agent(concat!("vault-aws/", env!("CARGO_PKG_VERSION")))
            .build()
            // Never fall back to a default client: it would follow redirects.
            .map_err(|_| {
                Error::new(
                    ErrorKind::Other,
                    "cannot build the HTTP client (TLS setup failed)",
                )
                .with_provider(PROVIDER_ID)
            })
    }

    /// Sends `call` signed with `creds`, retrying throttling, 5xx and transport failures.
    pub async fn send(&self, call: &Call<'_>, creds: &Credentials) -> Result<Reply, Error> {
        let mut attempt = 1;
        loop {
            let (err, retry_after) = match self.attempt(call, creds).await {
                Ok(reply) => return Ok(reply),
                Err(failure) => failure,
            };
            let wait = match err.is_retryable() && call.idempotent {
                true => self.retry.next_wait(attempt, retry_after),
                false => None,
            };
            let Some(wait) = wait else {
                return Err(if attempt > 1 {
                    let m = format!("{} (after {attempt} attempts)", err.message());
                    Error::new(err.kind(), m)
                        .with_provider(PROVIDER_ID)
                        .with_retryable(err.is_retryable())
                } else {
                    err
                });
            };
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        call: &Call<'_>,
        creds: &Credentials,
    ) -> Result<Reply, (Error, Option<Duration>)> {
        let url = call.endpoint.url.as_str();
        let now = self.clock.now();
        let signed = sign_headers(
            &Signable {
                method: "POST",
                url,
                headers: &call.headers,
                body: &call.body,
                service: call.service.signing_name(),
                region: &call.endpoint.signing_region,
            },
            creds,
            now.into(),
        )
        .map_err(|e| (e, None))?;
        let mut headers = HeaderMap::new();
        for (k, v) in call.headers.iter().chain(signed.iter()) {
            let value = HeaderValue::from_str(v).map_err(|_| {
                (
                    Error::new(ErrorKind::Other, format!("header `{k}` is not valid"))
                        .with_provider(PROVIDER_ID),
                    None,
                )
            })?;
            headers.insert(HeaderName::from_static(k), value);
        }
        if let Some(v) = headers.get_mut("x-amz-security-token") {
            v.set_sensitive(true);
        }
        if let Some(v) = headers.get_mut("authorization") {
            v.set_sensitive(true);
        }
        let response = self
            .client
            .post(url)
            .headers(headers)
            .body(call.body.to_vec())
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| (self.transport_error(call, &e), None))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, self.clock.now()));
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| (self.transport_error(call, &e), None))?;
        let body = Zeroizing::new(bytes.to_vec());
        drop(bytes);
        if (200..300).contains(&status) {
            return Ok(Reply { body });
        }
        let parsed = ErrorBody::parse(&body, error_type.as_deref());
        Err((to_error(&call.what, status, &parsed), retry_after))
    }

    fn transport_error(&self, call: &Call<'_>, e: &reqwest::Error) -> Error {
        let host = call.endpoint.url.host_str().unwrap_or("?");
        let (kind, what) = if e.is_timeout() {
            (
                ErrorKind::Timeout,
                format!("no answer within {:?}", self.timeout),
            )
        } else if e.is_connect() {
            (ErrorKind::Unreachable, "cannot connect".to_owned())
        } else {
            (ErrorKind::Unreachable, "the connection failed".to_owned())
        };
        Error::new(kind, format!("{}: {what} to {host}", call.what)).with_provider(PROVIDER_ID)
    }
}
