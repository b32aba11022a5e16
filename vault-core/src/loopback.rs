//! The loopback redirect listener of an OAuth browser sign-in (RFC 8252 §7.3), shared by the
//! provider crates so that each one does not hand-write its own small HTTP server.
//!
//! A provider binds a [`LoopbackListener`] on its redirect URI (`http://127.0.0.1:<port>/…`,
//! `http://[::1]:<port>/…` or `http://localhost:<port>/…`; port 0 = any free port), sends
//! [`redirect_uri`](LoopbackListener::redirect_uri) (the real port) in its authorization
//! request, opens the authorization URL through the host's
//! [`Interaction`](crate::Interaction) and waits with [`accept`](LoopbackListener::accept).
//! A provider with fixed ports registered at its server (one port, and a fallback when it is
//! taken) binds with [`bind_first`](LoopbackListener::bind_first) instead.
//!
//! ```no_run
//! # async fn demo() -> Result<(), vault_core::Error> {
//! use std::time::Duration;
//! use vault_core::loopback::LoopbackListener;
//! use vault_core::secrecy::ExposeSecret;
//!
//! let uri = url::Url::parse("http://127.0.0.1:0/callback").unwrap();
//! let listener = LoopbackListener::bind(&uri).await?;
//! let redirect_uri = listener.redirect_uri(); // http://127.0.0.1:<free port>/callback
//! # let _ = redirect_uri;
//! // ... send the user to the authorization URL with this redirect_uri and `state` ...
//! let callback = listener.accept("the-state", Duration::from_secs(300)).await?;
//! let code = callback.code.expose_secret(); // redeem it with the PKCE verifier
//! # let _ = code;
//! # Ok(()) }
//! ```
//!
//! What it guarantees, and why:
//!
//! - **Only loopback, only http.** The code must not leave this machine, and a browser cannot
//!   reach a TLS listener with a certificate it trusts on `127.0.0.1`; anything else is refused
//!   with [`ErrorKind::InvalidConfig`] before a socket is opened.
//! - **Exactly one callback counts**: the first one on the redirect path with the right
//!   `state`. Anything else (a favicon request, a stale tab, a forged link with another state)
//!   gets a short error page and the wait goes on, so a hostile local page cannot end a
//!   sign-in in progress. A later callback with the right state (a reload, a second tab) gets
//!   a `409` "already received" page.
//! - **No connection can hold up another.** Each connection is served by its own task, so an
//!   idle one (a browser's preconnect, a local process holding a socket open) does not delay
//!   the real callback; a connection gets 10 s to send its request head (16 KiB at most). The
//!   tasks end with [`accept`](LoopbackListener::accept), whatever its outcome.
//! - **A bounded wait.** A user who closes the browser gets a clean [`ErrorKind::Timeout`]
//!   ("sign in again"), not a hung program; a failed `accept` (out of descriptors) pauses
//!   briefly instead of spinning.
//! - **No secret in errors.** The code is held as a [`SecretString`] (redacted in `Debug`) and
//!   never put in a message; an OAuth `error` callback becomes an [`Error`] quoting only the
//!   error code and description reduced to short runs of safe characters.
//!
//! Errors name no provider: callers add theirs with [`Error::with_provider`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use url::{Host, Url};

use crate::error::{Error, ErrorKind};

/// The longest request head read from a connection: a callback is one short line.
const MAX_HEAD: usize = 16 * 1024;
/// How long one connection may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to pause after a failed `accept` (out of descriptors, say) before the next.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);
/// The longest OAuth `error` code quoted in an error message.
const MAX_ERROR_CODE: usize = 48;
/// The longest OAuth `error_description` quoted in an error message.
const MAX_DESCRIPTION: usize = 160;

const DONE_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Signed in</title></head><body><h1>Signed in</h1><p>You can close this tab and return to the application.</p></body></html>";
const FAILED_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign-in failed</title></head><body><h1>Sign-in failed</h1><p>You can close this tab and return to the application.</p></body></html>";

/// What the authorization server sent back to the redirect URI.
///
/// `non_exhaustive`: only [`LoopbackListener::accept`] makes one, and more parameters may be
/// added without breaking providers.
#[non_exhaustive]
pub struct Callback {
    /// The authorization code: a secret until redeemed (with the PKCE verifier), so it is
    /// redacted in `Debug` and never quoted in an error.
    pub code: SecretString,
    /// The RFC 9207 `iss` parameter, if the server sent one: the provider compares it with
    /// the issuer it expects (mix-up defence).
    pub iss: Option<String>,
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("code", &"[redacted]")
            .field("iss", &self.iss)
            .finish()
    }
}

/// A bound loopback listener, waiting for the one callback of a sign-in.
///
/// Bound before the authorization URL is built, so that the URL names a port that is really
/// ours (port 0 resolved) and the callback cannot arrive before anyone listens.
pub struct LoopbackListener {
    listener: TcpListener,
    redirect_uri: Url,
}

impl fmt::Debug for LoopbackListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopbackListener")
            .field("redirect_uri", &self.redirect_uri.as_str())
            .finish()
    }
}

fn invalid_uri(uri: &Url) -> Error {
    Error::new(
        ErrorKind::InvalidConfig,
        format!(
            "redirect_uri `{}` must be http://127.0.0.1:<port>/<path> (or [::1], localhost) without user, query or fragment: the sign-in response is received on this machine",
            crate::url_text::for_message(uri.as_str())
        ),
    )
}

/// The socket address `uri` names, if it is an acceptable loopback redirect URI.
fn loopback_addr(uri: &Url) -> Result<SocketAddr, Error> {
    let ip = match uri.host() {
        Some(Host::Ipv4(ip)) if ip.is_loopback() => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) if ip.is_loopback() => IpAddr::V6(ip),
        // RFC 8252 §8.3 prefers the literal, but `localhost` is common in registrations;
        // bind the IPv4 literal rather than whatever the resolver says `localhost` is.
        Some(Host::Domain("localhost")) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        _ => return Err(invalid_uri(uri)),
    };
    // A listener serves plain http; the server's query would mix with a fixed one, and a
    // fragment never reaches a server at all.
    if uri.scheme() != "http"
        || !uri.username().is_empty()
        || uri.password().is_some()
        || uri.query().is_some()
        || uri.fragment().is_some()
    {
        return Err(invalid_uri(uri));
    }
    Ok(SocketAddr::new(
        ip,
        uri.port_or_known_default().unwrap_or(80),
    ))
}

/// Checks that `uri` is a redirect URI [`LoopbackListener::bind`] accepts, without binding:
/// `http`, a loopback host (`127.x.y.z`, `[::1]` or `localhost`), no user, query or
/// fragment. Providers call it when they read their settings, so a bad redirect URI is a
/// config error at startup rather than at the first sign-in.
pub fn check_redirect_uri(uri: &Url) -> Result<(), Error> {
    loopback_addr(uri).map(|_| ())
}

impl LoopbackListener {
    /// Binds the address of `redirect_uri` (see [`check_redirect_uri`]); port 0 picks a free
    /// port, which [`redirect_uri`](Self::redirect_uri) then names.
    ///
    /// [`ErrorKind::InvalidConfig`] for a URI that is not loopback http,
    /// [`ErrorKind::Other`] when the port cannot be bound (taken, say).
    pub async fn bind(redirect_uri: &Url) -> Result<Self, Error> {
        Self::bind_first(std::slice::from_ref(redirect_uri)).await
    }

    /// Binds the first of `candidates` that can be bound, in order: for servers that match
    /// redirect URIs on their exact port, a provider registers a few and falls back to the
    /// next when a port is taken by another program.
    ///
    /// Every candidate is checked before any is bound ([`ErrorKind::InvalidConfig`] for a bad
    /// one, or for an empty list), so a misconfigured fallback is reported even when the
    /// first port is free. [`ErrorKind::Other`] when none can be bound.
    pub async fn bind_first(candidates: &[Url]) -> Result<Self, Error> {
        if candidates.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "no redirect URI to listen on",
            ));
        }
        let addrs = candidates
            .iter()
            .map(loopback_addr)
            .collect::<Result<Vec<_>, _>>()?;
        let mut failures = Vec::new();
        for (uri, addr) in candidates.iter().zip(addrs) {
            match TcpListener::bind(addr).await {
                Ok(listener) => {
                    let port = listener
                        .local_addr()
                        .map_err(|e| {
                            Error::new(
                                ErrorKind::Other,
                                format!("cannot read the port of the sign-in listener: {e}"),
                            )
                        })?
                        .port();
                    let mut redirect_uri = uri.clone();
                    redirect_uri
                        .set_port(Some(port))
                        .map_err(|()| invalid_uri(uri))?;
                    return Ok(LoopbackListener {
                        listener,
                        redirect_uri,
                    });
                }
                Err(e) => failures.push(format!("{uri}: {e}")),
            }
        }
        Err(Error::new(
            ErrorKind::Other,
            format!(
                "cannot listen for the sign-in redirect on {}",
                failures.join("; ")
            ),
        ))
    }

    /// The redirect URI to send in the authorization request: the configured one with the
    /// port actually bound (port 0 resolved; the default port 80 is left out, as URLs do).
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Waits up to `timeout` for the first callback on the redirect path carrying `state`,
    /// answers its browser with a "you can close this tab" page and returns its code and
    /// `iss`.
    ///
    /// Errors: [`ErrorKind::Timeout`] when no such callback came in time;
    /// [`ErrorKind::Cancelled`] for an OAuth `error=access_denied` callback (the user
    /// declined), [`ErrorKind::AuthFailed`] for any other OAuth error;
    /// [`ErrorKind::InvalidResponse`] for a callback with the right state but no code.
    pub async fn accept(&self, state: &str, timeout: Duration) -> Result<Callback, Error> {
        tokio::time::timeout(timeout, self.accept_loop(state))
            .await
            .unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "no sign-in response reached {} within {} s: sign in again",
                        self.redirect_uri,
                        timeout.as_secs()
                    ),
                ))
            })
    }

    async fn accept_loop(&self, state: &str) -> Result<Callback, Error> {
        let shared = Arc::new(Shared {
            path: self.redirect_uri.path().to_owned(),
            state: state.to_owned(),
            claimed: AtomicBool::new(false),
        });
        // Every connection is handled in its own task, so an idle one cannot hold up the
        // real callback. The tasks end with this future: on success, error or timeout the set
        // is dropped and aborts whatever is still reading.
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        connections.spawn(handle(stream, shared.clone()));
                    }
                    // Out of descriptors or the like: do not spin, the deadline still holds.
                    Err(_) => tokio::time::sleep(ACCEPT_ERROR_PAUSE).await,
                },
                Some(done) = connections.join_next() => {
                    if let Ok(Some(outcome)) = done {
                        return outcome;
                    }
                }
            }
        }
    }
}

/// What the connection tasks share.
struct Shared {
    path: String,
    state: String,
    /// Set by the first connection that carries the right state: only it ends the wait.
    claimed: AtomicBool,
}

/// The query parameters of a callback that matter; `None` when one is repeated (RFC 6749
/// §3.1: parameters must not be), as no server sends that and a repeated `state` or `code`
/// is ambiguous.
struct Params {
    state: Option<String>,
    code: Option<SecretString>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

fn params(url: &Url) -> Option<Params> {
    let mut p = Params {
        state: None,
        code: None,
        error: None,
        error_description: None,
        iss: None,
    };
    fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
        slot.replace(value).is_none().then_some(())
    }
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "state" => once(&mut p.state, v.into_owned())?,
            "code" => once(&mut p.code, SecretString::from(v.into_owned()))?,
            "error" => once(&mut p.error, v.into_owned())?,
            "error_description" => once(&mut p.error_description, v.into_owned())?,
            "iss" => once(&mut p.iss, v.into_owned())?,
            _ => {}
        }
    }
    Some(p)
}

/// One connection: `Some` when it was the callback (success or an OAuth error) and the first
/// one to carry the right state.
async fn handle(mut stream: TcpStream, shared: Arc<Shared>) -> Option<Result<Callback, Error>> {
    let target = match tokio::time::timeout(READ_TIMEOUT, read_target(&mut stream)).await {
        Ok(Some(t)) => t,
        _ => {
            respond(&mut stream, "400 Bad Request", "Bad request.").await;
            return None;
        }
    };
    let Some(url) = target_url(&target) else {
        respond(&mut stream, "400 Bad Request", "Bad request.").await;
        return None;
    };
    if url.path() != shared.path {
        respond(&mut stream, "404 Not Found", "Not found.").await;
        return None;
    }
    let Some(p) = params(&url).filter(|p| p.state.as_deref() == Some(shared.state.as_str())) else {
        // Not this sign-in's (a stale tab, a forged link): refuse it and keep waiting.
        respond(
            &mut stream,
            "400 Bad Request",
            "This response does not belong to the sign-in in progress.",
        )
        .await;
        return None;
    };
    if shared.claimed.swap(true, Ordering::SeqCst) {
        // A repeated callback (a reload, a second tab): the first one counts.
        respond(
            &mut stream,
            "409 Conflict",
            "This sign-in has already received its response. You can close this tab.",
        )
        .await;
        return None;
    }
    if let Some(e) = p.error {
        respond_html(&mut stream, FAILED_PAGE).await;
        return Some(Err(oauth_error(&e, p.error_description.as_deref())));
    }
    let Some(code) = p.code.filter(|c| !c.expose_secret().is_empty()) else {
        respond(&mut stream, "400 Bad Request", "The response has no code.").await;
        return Some(Err(Error::new(
            ErrorKind::InvalidResponse,
            "the sign-in response had neither a code nor an error",
        )));
    };
    respond_html(&mut stream, DONE_PAGE).await;
    Some(Ok(Callback { code, iss: p.iss }))
}

/// The error for an OAuth `error` callback: the code (RFC 6749: `%x20-21 / %x23-5B /
/// %x5D-7E`, in practice `snake_case`) kept to letters, digits and `_`, the description to
/// short words of safe characters, so a hostile server cannot put markup, terminal escapes
/// or a long token into our messages.
fn oauth_error(code: &str, description: Option<&str>) -> Error {
    let code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(MAX_ERROR_CODE)
        .collect();
    let code = if code.is_empty() { "unknown" } else { &code };
    let description = description.map(sanitize_description).unwrap_or_default();
    let detail = if description.is_empty() {
        String::new()
    } else {
        format!(": {description}")
    };
    if code == "access_denied" {
        Error::new(
            ErrorKind::Cancelled,
            format!("the sign-in was declined ({code}){detail}"),
        )
    } else {
        Error::new(
            ErrorKind::AuthFailed,
            format!("the authorization server refused the sign-in ({code}){detail}"),
        )
    }
}

/// Printable ASCII only (no control characters, no `<>"'` markup), whitespace collapsed,
/// words over 32 characters (token-shaped) left out, at most [`MAX_DESCRIPTION`] characters.
fn sanitize_description(text: &str) -> String {
    let kept: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " .,:;()-_/=+#".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    let mut out = String::new();
    for word in kept.split_whitespace().filter(|w| w.len() <= 32) {
        if out.len() + word.len() + 1 > MAX_DESCRIPTION {
            out.push('…');
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Reads the request head and returns the target of a `GET` (`None` for anything else, a
/// head over [`MAX_HEAD`] or a closed connection).
async fn read_target(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() + n > MAX_HEAD {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    request_target(&buf).map(str::to_owned)
}

/// The target of a `GET` request head (`GET /path?query HTTP/1.1`), `None` for anything
/// else. Pure, so that it is fuzzed (`vault-core/fuzz`, target `loopback_request`).
fn request_target(head: &[u8]) -> Option<&str> {
    let head = std::str::from_utf8(head).ok()?;
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    let (method, target) = (parts.next()?, parts.next()?);
    (method == "GET" && target.starts_with('/')).then_some(target)
}

/// A request target as a URL on a fixed origin: only its path and query matter (`//host/x`
/// stays a path).
fn target_url(target: &str) -> Option<Url> {
    Url::parse(&format!("http://127.0.0.1{target}")).ok()
}

/// Entry points for the fuzz targets in `vault-core/fuzz`; not an API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    /// Runs a raw request head through the listener's parsing: target, URL, parameters, and
    /// the error a callback would produce. Must never panic.
    pub fn request(head: &[u8]) {
        let Some(target) = request_target(head) else {
            return;
        };
        let Some(url) = target_url(target) else {
            return;
        };
        if let Some(p) = params(&url) {
            if let Some(e) = p.error {
                let err = oauth_error(&e, p.error_description.as_deref());
                let text = err.to_string();
                assert!(!text.chars().any(char::is_control), "{text:?}");
            }
        }
    }
}

async fn write_response(stream: &mut TcpStream, status: &str, content_type: &str, body: &str) {
    let _ = stream
        .write_all(
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await;
    let _ = stream.shutdown().await;
}

async fn respond(stream: &mut TcpStream, status: &str, text: &str) {
    write_response(stream, status, "text/plain", text).await;
}

async fn respond_html(stream: &mut TcpStream, page: &str) {
    write_response(stream, "200 OK", "text/html", page).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_get_with_a_path_has_a_target() {
        assert_eq!(
            request_target(b"GET /cb?code=1 HTTP/1.1\r\n\r\n"),
            Some("/cb?code=1")
        );
        assert_eq!(request_target(b"POST /cb HTTP/1.1\r\n\r\n"), None);
        assert_eq!(request_target(b"GET http://x/cb HTTP/1.1\r\n\r\n"), None);
        assert_eq!(request_target(b"GET\r\n\r\n"), None);
        assert_eq!(request_target(b"GET /\xff HTTP/1.1\r\n\r\n"), None);
        assert_eq!(request_target(b""), None);
    }

    #[test]
    fn a_target_keeps_its_fixed_origin() {
        let url = target_url("//evil.example/cb?x=1").unwrap();
        assert_eq!(url.host_str(), Some("127.0.0.1"));
        assert_eq!(url.path(), "//evil.example/cb");
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    /// Sends `GET target` to the listener of `base` and returns the status and body.
    async fn get(base: &Url, target: &str) -> (u16, String) {
        let addr = format!(
            "{}:{}",
            base.host_str().unwrap(),
            base.port_or_known_default().unwrap()
        );
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).await.unwrap();
        let status = reply
            .strip_prefix("HTTP/1.1 ")
            .and_then(|r| r.get(..3))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = reply
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    #[tokio::test]
    async fn accepts_one_callback_with_the_right_state() {
        let l = LoopbackListener::bind(&url("http://127.0.0.1:0/cb"))
            .await
            .unwrap();
        let base = l.redirect_uri().clone();
        assert_ne!(base.port(), Some(0), "port 0 is resolved");
        assert!(base.as_str().starts_with("http://127.0.0.1:") && base.path() == "/cb");
        let client = tokio::spawn(async move {
            let r1 = get(&base, "/favicon.ico").await;
            let r2 = get(&base, "/cb?code=evil&state=wrong").await;
            let r3 = get(&base, "/cb?code=evil&state=s1&state=s1").await;
            let r4 = get(&base, "//cb?code=evil&state=s1").await;
            let r5 = get(&base, "/cb?code=c0de&state=s1&iss=http%3A%2F%2Fx").await;
            (r1, r2, r3, r4, r5)
        });
        let cb = l.accept("s1", Duration::from_secs(30)).await.unwrap();
        assert_eq!(cb.code.expose_secret(), "c0de");
        assert_eq!(cb.iss.as_deref(), Some("http://x"));
        let (r1, r2, r3, r4, r5) = client.await.unwrap();
        assert_eq!(r1.0, 404, "another path");
        assert_eq!(r2.0, 400, "wrong state");
        assert_eq!(r3.0, 400, "repeated state");
        assert_eq!(r4.0, 404, "`//cb` is another path, not a host");
        assert_eq!(r5.0, 200);
        assert!(r5.1.contains("<h1>Signed in</h1>"));
        assert!(r5.1.contains("You can close this tab"));
    }

    #[tokio::test]
    async fn the_code_is_in_no_debug_output() {
        let l = LoopbackListener::bind(&url("http://localhost:0/"))
            .await
            .unwrap();
        let base = l.redirect_uri().clone();
        assert_eq!(base.host_str(), Some("localhost"));
        tokio::spawn(async move { get(&base, "/?code=TOPSECRETCODE&state=s").await });
        let cb = l.accept("s", Duration::from_secs(30)).await.unwrap();
        let shown = format!("{cb:?} {l:?}");
        assert!(!shown.contains("TOPSECRETCODE"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[tokio::test]
    async fn an_oauth_error_ends_the_wait_with_a_sanitized_error() {
        let l = LoopbackListener::bind(&url("http://127.0.0.1:0/"))
            .await
            .unwrap();
        let base = l.redirect_uri().clone();
        let b = base.clone();
        tokio::spawn(async move { get(&b, "/?error=access_denied&state=s").await });
        let e = l.accept("s", Duration::from_secs(30)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
        assert!(e.message().contains("access_denied"), "{e}");

        let long = "A".repeat(200);
        let target = format!(
            "/?state=s&error=server%1b[31m_error%3Cscript%3E{long}&error_description=the+%3Cb%3Eserver%3C%2Fb%3E+said%0d%0ano+eyJ{long}"
        );
        let client = tokio::spawn(async move { get(&base, &target).await });
        let e = l.accept("s", Duration::from_secs(30)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
        let m = e.message();
        assert!(m.contains("(server31m_errorscriptAAA"), "{m}");
        assert!(m.contains("the b server /b said no"), "{m}");
        for bad in ['<', '>', '\u{1b}', '\r', '\n'] {
            assert!(!m.contains(bad), "{m:?}");
        }
        assert!(!m.contains("eyJ") && m.len() < 300, "{m}");
        let (status, page) = client.await.unwrap();
        assert_eq!(status, 200);
        assert!(page.contains("Sign-in failed") && page.contains("close this tab"));
    }

    #[tokio::test]
    async fn a_callback_without_code_or_error_is_invalid() {
        let l = LoopbackListener::bind(&url("http://127.0.0.1:0/"))
            .await
            .unwrap();
        let base = l.redirect_uri().clone();
        let client = tokio::spawn(async move { get(&base, "/?state=s&code=").await });
        let e = l.accept("s", Duration::from_secs(30)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
        assert_eq!(client.await.unwrap().0, 400);
    }

    #[tokio::test]
    async fn times_out_cleanly() {
        let l = LoopbackListener::bind(&url("http://127.0.0.1:0/"))
            .await
            .unwrap();
        let e = l.accept("s", Duration::from_millis(20)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.message().contains("sign in again"), "{e}");
    }

    #[tokio::test]
    async fn an_idle_connection_does_not_hold_up_the_callback() {
        let l = LoopbackListener::bind(&url("http://127.0.0.1:0/cb"))
            .await
            .unwrap();
        let base = l.redirect_uri().clone();
        let addr = format!("127.0.0.1:{}", base.port().unwrap());
        // Opened first, sends nothing (a preconnect), and one that sends half a request.
        let idle = TcpStream::connect(&addr).await.unwrap();
        let mut half = TcpStream::connect(&addr).await.unwrap();
        half.write_all(b"GET /cb?state=s1 HTTP/1.1\r\n")
            .await
            .unwrap();
        let client = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            get(&base, "/cb?code=c0de&state=s1").await
        });
        // Far less than READ_TIMEOUT: serving the idle connections first would miss it.
        let started = std::time::Instant::now();
        let cb = l.accept("s1", Duration::from_secs(3)).await.unwrap();
        assert!(started.elapsed() < READ_TIMEOUT / 2);
        assert_eq!(cb.code.expose_secret(), "c0de");
        let (status, page) = client.await.unwrap();
        assert_eq!(status, 200);
        assert!(page.contains("You can close this tab"));
        drop((idle, half));
    }

    #[tokio::test]
    async fn only_the_first_right_callback_counts() {
        let l = LoopbackListener::bind(&url("http://127.0.0.1:0/"))
            .await
            .unwrap();
        let base = l.redirect_uri().clone();
        let addr = format!("127.0.0.1:{}", base.port().unwrap());
        // Two callbacks with the right state, sent at once on two connections.
        let send = move |code: &'static str| {
            let addr = addr.clone();
            async move {
                let mut s = TcpStream::connect(&addr).await.unwrap();
                s.write_all(
                    format!("GET /?code={code}&state=s1 HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
                )
                .await
                .unwrap();
                let mut reply = String::new();
                let _ = s.read_to_string(&mut reply).await;
                reply
            }
        };
        let both = tokio::spawn(async move { tokio::join!(send("first"), send("second")) });
        let cb = l.accept("s1", Duration::from_secs(5)).await.unwrap();
        assert!(["first", "second"].contains(&cb.code.expose_secret()));
        let (a, b) = both.await.unwrap();
        let done = [&a, &b]
            .iter()
            .filter(|r| r.contains("<h1>Signed in</h1>"))
            .count();
        assert_eq!(done, 1, "{a}\n{b}");
        // The loser, when it was answered before the winner ended the wait, was told so.
        for r in [&a, &b] {
            assert!(
                r.is_empty() || r.starts_with("HTTP/1.1 200") || r.starts_with("HTTP/1.1 409"),
                "{r}"
            );
        }
    }

    #[tokio::test]
    async fn refuses_what_is_not_loopback_http() {
        for bad in [
            "http://example.com:0/",
            "http://10.0.0.1:0/",
            "http://localhost.example.com:0/",
            "https://127.0.0.1:0/",
            "ftp://127.0.0.1:0/",
            "http://127.0.0.1:0/?a=b",
            "http://127.0.0.1:0/#f",
            "http://user@127.0.0.1:0/",
        ] {
            let e = LoopbackListener::bind(&url(bad)).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{bad}: {e}");
            assert!(check_redirect_uri(&url(bad)).is_err(), "{bad}");
        }
        for good in [
            "http://127.0.0.1:0/",
            "http://127.0.0.2:1/cb",
            "http://[::1]:0/",
            "http://localhost/",
        ] {
            assert!(check_redirect_uri(&url(good)).is_ok(), "{good}");
        }
    }

    #[tokio::test]
    async fn falls_back_when_the_first_port_is_taken() {
        let taken = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = taken.local_addr().unwrap().port();
        let first = url(&format!("http://127.0.0.1:{port}/cb"));
        let l = LoopbackListener::bind_first(&[first.clone(), url("http://127.0.0.1:0/cb")])
            .await
            .unwrap();
        assert_ne!(l.redirect_uri().port(), Some(port));
        assert_ne!(l.redirect_uri().port(), Some(0));
        assert_eq!(l.redirect_uri().path(), "/cb");
        // nothing left to fall back to
        let e = LoopbackListener::bind(&first).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Other);
        assert!(e.message().contains(&port.to_string()), "{e}");
        // every candidate is checked first, even when the first one could be bound
        let e = LoopbackListener::bind_first(&[
            url("http://127.0.0.1:0/"),
            url("http://example.com:0/"),
        ])
        .await
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        let e = LoopbackListener::bind_first(&[]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    }
}
