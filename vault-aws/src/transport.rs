//! One signed AWS call: sign, send with a timeout, read the answer, map errors, and retry what
//! is worth retrying. Every call of the crate goes through here.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use vault_core::body::{BodyBuffer, BodyLimit};
use vault_core::retry::parse_retry_after;
use vault_core::{telemetry, Clock, Error, ErrorKind, RetryPolicy};
use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::endpoint::{Endpoint, Service};
use crate::error_body::ErrorBody;
use crate::error_map::to_error;
use crate::sigv4::{sign_headers, Signable};
use crate::PROVIDER_ID;

/// The default timeout of one attempt (connect, send and read the whole answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The default deadline of one call across all its attempts and waits between them.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

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
    deadline: Duration,
    limit: BodyLimit,
    clock: Arc<dyn Clock>,
}

/// A plain (unsigned) HTTP request: instance metadata, container credentials, the SSO portal
/// and OIDC service.
pub(crate) struct PlainRequest<'a> {
    pub method: reqwest::Method,
    pub url: &'a url::Url,
    /// Extra headers; their values are marked sensitive (tokens travel here).
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Zeroizing<Vec<u8>>>,
    /// Names the call in errors.
    pub what: &'a str,
    /// Overrides the transport's timeout (metadata probes use a short one).
    pub timeout: Option<Duration>,
}

/// The answer to a plain request, whatever its status.
pub(crate) struct PlainReply {
    pub status: u16,
    pub body: Zeroizing<Vec<u8>>,
}

impl Transport {
    pub fn new(
        client: reqwest::Client,
        retry: RetryPolicy,
        timeout: Duration,
        deadline: Duration,
        limit: BodyLimit,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Transport {
            client,
            retry,
            timeout,
            deadline,
            limit,
            clock,
        }
    }

    /// The clock calls are signed with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Sends a plain request once, within its timeout (the body read included), the body
    /// capped.
    pub async fn plain(&self, req: PlainRequest<'_>) -> Result<PlainReply, Error> {
        let timeout = req.timeout.unwrap_or(self.timeout);
        let host = req.url.host_str().unwrap_or("?").to_owned();
        let fail = |e: reqwest::Error| plain_transport_error(req.what, &host, timeout, e);
        let run = async {
            let mut headers = HeaderMap::new();
            for (k, v) in &req.headers {
                let mut value = HeaderValue::from_str(v).map_err(|_| {
                    Error::new(
                        ErrorKind::InvalidConfig,
                        format!("{}: header `{k}` is not a valid header value", req.what),
                    )
                    .with_provider(PROVIDER_ID)
                })?;
                value.set_sensitive(true);
                headers.insert(HeaderName::from_static(k), value);
            }
            let mut builder = self
                .client
                .request(req.method.clone(), req.url.as_str())
                .headers(headers)
                .timeout(timeout);
            if let Some(b) = &req.body {
                builder = builder.body(b.to_vec());
            }
            let response = builder.send().await.map_err(fail)?;
            if response.url() != req.url {
                return Err(redirected(req.what));
            }
            let status = response.status().as_u16();
            let body = read_body(response, self.limit, req.what)
                .await
                .map_err(|e| match e {
                    BodyError::Limit(e) => e,
                    BodyError::Transport(e) => fail(e),
                })?;
            Ok(PlainReply { status, body })
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(r) => r,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("{}: no answer within {timeout:?} from {host}", req.what),
            )
            .with_provider(PROVIDER_ID)
            .with_retryable(true)),
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

    /// [`Transport::default_client`] trusting the PEM certificates of `path` too
    /// (`AWS_CA_BUNDLE`: a private CA, a TLS-inspecting proxy).
    pub fn client_with_ca_bundle(path: &str) -> Result<reqwest::Client, Error> {
        let bad = |why: String| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("AWS_CA_BUNDLE {path}: {why}"),
            )
            .with_provider(PROVIDER_ID)
        };
        let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read: {}", e.kind())))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|_| bad("not a PEM certificate bundle".to_owned()))?;
        if certs.is_empty() {
            return Err(bad("holds no certificate".to_owned()));
        }
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(DEFAULT_TIMEOUT)
            .user_agent(concat!("vault-aws/", env!("CARGO_PKG_VERSION")));
        for c in certs {
            b = b.add_root_certificate(c);
        }
        b.build().map_err(|_| {
            Error::new(
                ErrorKind::Other,
                "cannot build the HTTP client (TLS setup failed)",
            )
            .with_provider(PROVIDER_ID)
        })
    }

    /// Sends `call` signed with `creds` (unsigned with `None`: AssumeRoleWithWebIdentity),
    /// retrying throttling, 5xx and transport failures, all within the call's deadline.
    pub async fn send(&self, call: &Call<'_>, creds: Option<&Credentials>) -> Result<Reply, Error> {
        let started = tokio::time::Instant::now();
        let deadline = started + self.deadline;
        let mut attempt = 1;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let outcome = match tokio::time::timeout(left, self.attempt(call, creds)).await {
                Ok(o) => o,
                Err(_) => Err((self.deadline_error(call), None)),
            };
            let (err, retry_after) = match outcome {
                Ok(reply) => return Ok(reply),
                Err(failure) => failure,
            };
            let wait = match err.is_retryable() && call.idempotent {
                true => self
                    .retry
                    .next_wait(attempt, retry_after)
                    // A wait that would end past the deadline is not worth starting.
                    .filter(|w| tokio::time::Instant::now() + *w < deadline),
                false => None,
            };
            let Some(wait) = wait else {
                return Err(if attempt > 1 {
                    let m = format!("{} (after {attempt} attempts)", err.message());
                    err.with_message(m).with_provider(PROVIDER_ID)
                } else {
                    err
                });
            };
            telemetry::retry(
                PROVIDER_ID.as_str(),
                &call.what,
                attempt,
                wait,
                err.kind().as_str(),
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    fn deadline_error(&self, call: &Call<'_>) -> Error {
        let host = call.endpoint.url.host_str().unwrap_or("?");
        Error::new(
            ErrorKind::Timeout,
            format!(
                "{}: no answer from {host} within this client's deadline of {:?}",
                call.what, self.deadline
            ),
        )
        .with_provider(PROVIDER_ID)
        .with_retryable(true)
    }

    async fn attempt(
        &self,
        call: &Call<'_>,
        creds: Option<&Credentials>,
    ) -> Result<Reply, (Error, Option<Duration>)> {
        let url = call.endpoint.url.as_str();
        let now = self.clock.now();
        let signed = match creds {
            Some(creds) => sign_headers(
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
            .map_err(|e| (e, None))?,
            None => Vec::new(),
        };
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
            .map_err(|e| (self.transport_error(call, e), None))?;
        if response.url().as_str() != url {
            return Err((redirected(&call.what), None));
        }
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
        let body = read_body(response, self.limit, &call.what)
            .await
            .map_err(|e| match e {
                BodyError::Limit(e) => (e, None),
                BodyError::Transport(e) => (self.transport_error(call, e), None),
            })?;
        if (200..300).contains(&status) {
            return Ok(Reply { body });
        }
        let mut parsed = ErrorBody::parse(&body, error_type.as_deref());
        parsed.message = parsed.message.map(|m| scrub(&m, creds));
        parsed.code = parsed.code.map(|c| scrub(&c, creds));
        Err((to_error(&call.what, status, &parsed), retry_after))
    }

    fn transport_error(&self, call: &Call<'_>, e: reqwest::Error) -> Error {
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
        let (cause, e) = cause(e);
        Error::new(kind, format!("{}: {what} to {host}{cause}", call.what))
            .with_provider(PROVIDER_ID)
            .with_source(e)
    }
}

/// A host-supplied HTTP client followed a redirect: a signed request or a token went
/// somewhere else than asked. Refused, whatever the answer.
fn redirected(what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidConfig,
        format!("{what}: the HTTP client followed a redirect; a client given to this provider must not follow redirects"),
    )
    .with_provider(PROVIDER_ID)
}

enum BodyError {
    Limit(Error),
    Transport(reqwest::Error),
}

/// Reads a body chunk by chunk into a capped, zeroizing buffer.
async fn read_body(
    mut response: reqwest::Response,
    limit: BodyLimit,
    what: &str,
) -> Result<Zeroizing<Vec<u8>>, BodyError> {
    let too_large = |e: vault_core::body::BodyTooLarge| {
        BodyError::Limit(e.into_error(what).with_provider(PROVIDER_ID))
    };
    let mut buf = BodyBuffer::new(limit, response.content_length()).map_err(too_large)?;
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        buf.push(&chunk).map_err(too_large)?;
    }
    Ok(buf.into_inner())
}

/// The cause of a transport failure for a message (`: dns error`), and the error without its
/// URL for `source()` (userinfo and query never travel on).
fn cause(e: reqwest::Error) -> (String, reqwest::Error) {
    let e = e.without_url();
    let cause = telemetry::transport_cause(&e)
        .map(|c| format!(": {c}"))
        .unwrap_or_default();
    (cause, e)
}

fn plain_transport_error(what: &str, host: &str, timeout: Duration, e: reqwest::Error) -> Error {
    let (kind, why) = if e.is_timeout() {
        (ErrorKind::Timeout, format!("no answer within {timeout:?}"))
    } else if e.is_connect() {
        (ErrorKind::Unreachable, "cannot connect".to_owned())
    } else {
        (ErrorKind::Unreachable, "the connection failed".to_owned())
    };
    let (cause, e) = cause(e);
    Error::new(kind, format!("{what}: {why} to {host}{cause}"))
        .with_provider(PROVIDER_ID)
        .with_retryable(true)
        .with_source(e)
}

/// Removes from server text any credential we sent that it repeats (a session token, the
/// secret key, the access key id): server text must never carry them further.
pub(crate) fn scrub(text: &str, creds: Option<&Credentials>) -> String {
    let mut text = text.to_owned();
    if let Some(creds) = creds {
        for part in creds.sent_parts() {
            if !part.is_empty() && text.contains(part) {
                text = text.replace(part, "[redacted]");
            }
        }
    }
    text
}
