//! The HTTP side of the Vault API: one `reqwest` client per provider (so reads reuse one
//! keep-alive connection), a timeout on every call, bounded retries with jittered backoff that
//! honour `Retry-After`, and the mapping of statuses to error kinds.
//!
//! A Vault token is attached only to URLs under the provider's own Vault address, and
//! redirects are never followed: `X-Vault-Token` is a custom header that an HTTP client would
//! happily carry to another host.

use std::fmt;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;
use vault_core::body::{BodyBuffer, BodyLimit, BodyTooLarge};
use vault_core::retry::parse_retry_after;
use vault_core::{telemetry, Error, ErrorKind, RetryPolicy};
use zeroize::{Zeroize, Zeroizing};

use crate::address::VaultAddress;
use crate::namespace::Namespace;
use crate::tls::TlsSettings;
use crate::PROVIDER_ID;

/// A client with the system's roots and no client certificate (the setup tool, the test
/// browser).
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, Error> {
    let any = VaultAddress::parse("https://127.0.0.1")
        .map_err(|e| Error::new(ErrorKind::Other, e.to_string()).with_provider(PROVIDER_ID))?;
    client_for(timeout, TlsSettings::default(), &any).map(|(c, _)| c)
}

/// Builds the `reqwest` client of a provider: rustls, no redirects, a timeout on every call
/// (which also bounds reading the body), TLS from the Vault CLI's variables. Returns the
/// address to use (re-written when `VAULT_TLS_SERVER_NAME` names the server).
pub(crate) fn client_for(
    timeout: Duration,
    tls: TlsSettings,
    address: &VaultAddress,
) -> Result<(reqwest::Client, VaultAddress), Error> {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("vault-hashicorp/", env!("CARGO_PKG_VERSION")));
    let (builder, address) = tls.apply(builder, address)?;
    let client = builder.build().map_err(|e| {
        Error::new(
            ErrorKind::Other,
            format!("cannot build the HTTP client: {e}"),
        )
        .with_provider(PROVIDER_ID)
    })?;
    Ok((client, address))
}

/// An answer of the Vault API: status and JSON body (`Null` when empty).
///
/// The body may hold secrets (a KV read, a login's token): `Debug` shows only the status, and
/// the strings still in the body are zeroized when the reply is dropped.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("body", &"[redacted]")
            .finish()
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        scrub(std::mem::take(&mut self.body));
    }
}

impl Reply {
    /// The body of a 2xx reply, else the error for the status.
    pub fn ok(mut self, what: &str) -> Result<Value, Error> {
        if self.status.is_success() {
            Ok(std::mem::take(&mut self.body))
        } else {
            Err(status_error(self.status, &self.body, what))
        }
    }

    /// Takes the body out (the reply is left with `Null`).
    pub fn take_body(&mut self) -> Value {
        std::mem::take(&mut self.body)
    }
}

/// Zeroizes every string (keys included) of a JSON value while dropping it: what serde_json
/// parsed from a secret-bearing answer does not linger in freed memory.
pub(crate) fn scrub(value: Value) {
    match value {
        Value::String(mut s) => s.zeroize(),
        Value::Array(items) => items.into_iter().for_each(scrub),
        Value::Object(map) => {
            for (mut k, v) in map {
                k.zeroize();
                scrub(v);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Why a body could not be read.
pub(crate) enum BodyError {
    /// The transport failed (or the client's timeout passed) mid-body.
    Transport(reqwest::Error),
    /// Larger than [`BodyLimit::DEFAULT_MAX_BYTES`].
    TooLarge(BodyTooLarge),
    /// The server kept dripping bytes past the deadline.
    Deadline,
}

/// Reads a whole response body into a wiped, capped [`BodyBuffer`] before `deadline` (so a
/// server that sends a byte a second cannot hold the caller forever).
pub(crate) async fn read_body(
    mut resp: reqwest::Response,
    deadline: Duration,
) -> Result<Zeroizing<Vec<u8>>, BodyError> {
    let mut buf = BodyBuffer::new(BodyLimit::default(), resp.content_length())
        .map_err(BodyError::TooLarge)?;
    let read = async {
        while let Some(chunk) = resp.chunk().await.map_err(BodyError::Transport)? {
            buf.push(&chunk).map_err(BodyError::TooLarge)?;
        }
        Ok::<_, BodyError>(())
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(Ok(())) => Ok(buf.into_inner()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(BodyError::Deadline),
    }
}

/// Vault's error strings of a body `{"errors": [...]}`, joined and made safe to show.
pub(crate) fn vault_errors(body: &Value) -> String {
    let joined = body
        .get("errors")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    sanitize(&joined)
}

/// Collapses whitespace, drops control characters (no terminal escapes from a server),
/// redacts anything shaped like a token or JWT, and caps the length: server messages go into
/// our errors, and our errors never carry a secret.
pub(crate) fn sanitize(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let words: Vec<String> = text
        .split_whitespace()
        .filter(|w| *w != "*")
        .map(|w| {
            let looks_secret = w.starts_with("s.")
                || w.starts_with("hvs.")
                || w.starts_with("hvb.")
                || w.starts_with("b.")
                || w.starts_with("eyJ")
                || (w.len() > 40
                    && w.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)));
            if looks_secret && w.len() > 8 {
                "[redacted]".to_owned()
            } else {
                w.to_owned()
            }
        })
        .collect();
    let mut s = words.join(" ");
    if s.chars().count() > 240 {
        s = s.chars().take(240).collect::<String>() + "…";
    }
    s
}

/// [`sanitize`]d and capped at 64 characters: for a short server-given name (an error code, a
/// key id, an engine type) quoted in an error.
pub(crate) fn short(text: &str) -> String {
    let s = sanitize(text);
    if s.chars().count() > 64 {
        s.chars().take(64).collect::<String>() + "…"
    } else {
        s
    }
}

/// The error for a non-2xx status of the Vault API.
pub(crate) fn status_error(status: StatusCode, body: &Value, what: &str) -> Error {
    let detail = vault_errors(body);
    let sealed = detail.to_ascii_lowercase().contains("sealed");
    let kind = match status.as_u16() {
        400 | 405 | 422 => ErrorKind::InvalidRequest,
        401 | 403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        412 | 500 | 502 | 503 | 504 => ErrorKind::Unreachable,
        429 => ErrorKind::RateLimited,
        300..=399 => ErrorKind::InvalidResponse,
        _ => ErrorKind::InvalidResponse,
    };
    let mut message = if status == StatusCode::SERVICE_UNAVAILABLE && sealed {
        format!("{what}: the Vault server is sealed (HTTP 503)")
    } else if status.is_redirection() {
        format!("{what}: HTTP {status}: redirect not followed (a token is only sent to its own Vault address)")
    } else {
        format!("{what}: HTTP {}", status.as_u16())
    };
    if !detail.is_empty() && !sealed {
        message.push_str(": ");
        message.push_str(&detail);
    }
    Error::new(kind, message).with_provider(PROVIDER_ID)
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(v, time::OffsetDateTime::now_utc())
}

fn retryable_status(status: StatusCode, body: &Value) -> bool {
    match status.as_u16() {
        429 | 412 | 500 | 502 | 504 => true,
        // a sealed server will not unseal in the next second: fail fast
        503 => !vault_errors(body).to_ascii_lowercase().contains("sealed"),
        _ => false,
    }
}

/// How long one answer's body may take to arrive when no other deadline is given.
pub(crate) const DEFAULT_BODY_DEADLINE: Duration = Duration::from_secs(30);

/// The Vault API of one server and namespace.
#[derive(Clone, Debug)]
pub(crate) struct VaultApi {
    http: reqwest::Client,
    address: VaultAddress,
    namespace: Namespace,
    retry: RetryPolicy,
    body_deadline: Duration,
}

impl VaultApi {
    pub fn new(
        http: reqwest::Client,
        address: VaultAddress,
        namespace: Namespace,
        retry: RetryPolicy,
    ) -> Self {
        VaultApi {
            http,
            address,
            namespace,
            retry,
            body_deadline: DEFAULT_BODY_DEADLINE,
        }
    }

    /// The deadline for reading one answer's body (default 30 s).
    pub fn with_body_deadline(mut self, deadline: Duration) -> Self {
        self.body_deadline = deadline;
        self
    }

    pub fn address(&self) -> &VaultAddress {
        &self.address
    }

    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `<address>/v1/<segments...>`, each segment percent-encoded (a path never escapes its
    /// mount through `..` or `%2F` tricks).
    pub fn url(&self, path: &str) -> Result<Url, Error> {
        let mut url = self.address.api_url("").map_err(|e| {
            Error::new(ErrorKind::InvalidConfig, format!("bad Vault address: {e}"))
                .with_provider(PROVIDER_ID)
        })?;
        {
            let mut segs = url.path_segments_mut().map_err(|_| {
                Error::new(ErrorKind::InvalidConfig, "bad Vault address").with_provider(PROVIDER_ID)
            })?;
            segs.pop_if_empty();
            for s in path.split('/').filter(|s| !s.is_empty()) {
                segs.push(s);
            }
        }
        Ok(url)
    }

    /// One call with retries. `what` names the operation in errors. Statuses that are not
    /// retried come back as a [`Reply`] for the caller to interpret.
    pub async fn call(
        &self,
        method: Method,
        url: Url,
        token: Option<&SecretString>,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Reply, Error> {
        if token.is_some() && !self.address.owns(&url) {
            return Err(Error::new(
                ErrorKind::Other,
                format!(
                    "{what}: refusing to send a Vault token outside {}",
                    self.address
                ),
            )
            .with_provider(PROVIDER_ID));
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self.http.request(method.clone(), url.clone());
            if let Some(ns) = self.namespace.header() {
                req = req.header("X-Vault-Namespace", ns);
            }
            // an empty token is never sent (`auth_method = "agent"`: the proxy adds its own)
            if let Some(t) = token.filter(|t| !t.expose_secret().is_empty()) {
                let mut value =
                    reqwest::header::HeaderValue::from_str(t.expose_secret()).map_err(|_| {
                        Error::new(
                            ErrorKind::AuthFailed,
                            "the Vault token is not a valid header value",
                        )
                        .with_provider(PROVIDER_ID)
                    })?;
                value.set_sensitive(true);
                req = req.header("X-Vault-Token", value);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let err = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let after = retry_after(resp.headers());
                    match read_body(resp, self.body_deadline).await {
                        Ok(bytes) => {
                            let body = if bytes.is_empty() {
                                Value::Null
                            } else if status.is_success() {
                                serde_json::from_slice(&bytes).unwrap_or(Value::Null)
                            } else {
                                // an error body goes into messages: never with our token in it
                                let mut text =
                                    Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned());
                                if let Some(t) =
                                    token.map(|t| t.expose_secret()).filter(|t| !t.is_empty())
                                {
                                    text = Zeroizing::new(text.replace(t, "[redacted]"));
                                }
                                serde_json::from_str(&text).unwrap_or(Value::Null)
                            };
                            let wait = match retryable_status(status, &body) {
                                true => self.retry.next_wait(attempt, after),
                                false => None,
                            };
                            match wait {
                                Some(wait) => {
                                    scrub(body);
                                    let reason = format!("status {}", status.as_u16());
                                    telemetry::retry(
                                        PROVIDER_ID.as_str(),
                                        what,
                                        attempt,
                                        wait,
                                        &reason,
                                    );
                                    tokio::time::sleep(wait).await;
                                    continue;
                                }
                                // the caller maps the last status to an error kind
                                None => return Ok(Reply { status, body }),
                            }
                        }
                        Err(BodyError::Transport(e)) => transport_error(e, what, &self.address),
                        Err(BodyError::TooLarge(e)) => {
                            return Err(e.into_error(what).with_provider(PROVIDER_ID))
                        }
                        Err(BodyError::Deadline) => Error::new(
                            ErrorKind::Timeout,
                            format!(
                                "{what}: the answer did not arrive in full within {} s ({})",
                                self.body_deadline.as_secs(),
                                self.address
                            ),
                        )
                        .with_provider(PROVIDER_ID),
                    }
                }
                Err(e) => transport_error(e, what, &self.address),
            };
            match self.retry.next_wait(attempt, None) {
                Some(wait) => {
                    let reason = err.kind().as_str();
                    telemetry::retry(PROVIDER_ID.as_str(), what, attempt, wait, reason);
                    tokio::time::sleep(wait).await
                }
                None => return Err(err),
            }
        }
    }
}

/// The error for a failed connection, TLS handshake or timeout, with its cause (`dns error`,
/// `tls error: …`) in the message and through `source()` (the URL is left out of both).
pub(crate) fn transport_error(e: reqwest::Error, what: &str, address: &VaultAddress) -> Error {
    let (kind, why) = if e.is_timeout() {
        (ErrorKind::Timeout, "no answer in time")
    } else if e.is_connect() {
        (ErrorKind::Unreachable, "cannot connect")
    } else if e.is_body() || e.is_decode() {
        (
            ErrorKind::Unreachable,
            "the connection broke while reading the answer",
        )
    } else {
        (ErrorKind::Unreachable, "the request failed")
    };
    let e = e.without_url();
    let cause = telemetry::transport_cause(&e)
        .map(|c| format!(": {c}"))
        .unwrap_or_default();
    Error::new(kind, format!("{what}: {why} ({address}){cause}"))
        .with_provider(PROVIDER_ID)
        .with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        let b = serde_json::json!({"errors": ["1 error occurred:\n\t* permission denied\n\n"]});
        let e = status_error(StatusCode::FORBIDDEN, &b, "read secret/x");
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert_eq!(
            e.message(),
            "read secret/x: HTTP 403: 1 error occurred: permission denied"
        );
        let sealed = serde_json::json!({"errors": ["Vault is sealed"]});
        let e = status_error(StatusCode::SERVICE_UNAVAILABLE, &sealed, "read");
        assert_eq!(e.kind(), ErrorKind::Unreachable);
        assert!(e.message().contains("sealed"));
        assert!(e.is_retryable());
        assert!(!retryable_status(StatusCode::SERVICE_UNAVAILABLE, &sealed));
        assert_eq!(
            status_error(StatusCode::NOT_FOUND, &Value::Null, "r").kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            status_error(StatusCode::TOO_MANY_REQUESTS, &Value::Null, "r").kind(),
            ErrorKind::RateLimited
        );
        assert_eq!(
            status_error(StatusCode::TEMPORARY_REDIRECT, &Value::Null, "r").kind(),
            ErrorKind::InvalidResponse
        );
    }

    #[test]
    fn reply_debug_shows_no_body() {
        let r = Reply {
            status: StatusCode::OK,
            body: serde_json::json!({"data": {"data": {"password": "CANARY-VALUE"}}, "auth": {"client_token": "s.CANARY"}}),
        };
        let shown = format!("{r:?}");
        assert!(!shown.contains("CANARY"), "{shown}");
        assert!(shown.contains("200"), "{shown}");
        // the body still comes out whole for the caller
        assert_eq!(
            r.ok("read").unwrap()["data"]["data"]["password"],
            "CANARY-VALUE"
        );
    }

    #[test]
    fn sanitize_drops_control_characters() {
        let s = sanitize("bad\u{1b}[31mred\u{7}\r\nline");
        assert!(!s.chars().any(char::is_control), "{s:?}");
        assert_eq!(short(&"ab ".repeat(50)).chars().count(), 65);
        assert_eq!(short("kv"), "kv");
    }

    #[test]
    fn sanitize_redacts_token_shapes() {
        let s = sanitize("bad token s.abcdefghijklmnopqrstuvwx and eyJhbGciOiJSUzI1NiJ9.e30.sig");
        assert!(!s.contains("s.abcdef") && !s.contains("eyJ"), "{s}");
        assert!(sanitize(&"x ".repeat(500)).chars().count() <= 241);
    }

    #[test]
    fn url_encodes_segments_and_keeps_prefix() {
        let api = VaultApi::new(
            reqwest::Client::new(),
            VaultAddress::parse("https://proxy.example/vault").unwrap(),
            Namespace::root(),
            RetryPolicy::default(),
        );
        assert_eq!(
            api.url("secret/data/a b/%2F").unwrap().as_str(),
            "https://proxy.example/vault/v1/secret/data/a%20b/%252F"
        );
    }
}
