//! The loopback redirect listener of the browser sign-in (RFC 8252 §7.3).
//!
//! It binds `127.0.0.1` (or `[::1]`) on the configured port, or on any free port when the
//! port is 0, and waits for exactly one callback that carries the right `state`. Anything
//! else (a favicon request, a stray or forged callback) gets a short error page and the
//! listener keeps waiting, so a hostile local page cannot end a sign-in in progress. Each
//! connection is served by its own task, so a connection that sends nothing (a browser's
//! preconnect, a local process holding a socket) does not delay the real callback; the
//! first connection with the right state wins, a later one gets a short "already received"
//! page. The wait is bounded: a user who closes the browser gets a clean timeout, not a hung
//! program.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use url::Url;
use vault_core::{Error, ErrorKind, ProviderId};

use crate::PROVIDER_ID;

/// The longest request head read from a connection.
const MAX_HEAD: usize = 16 * 1024;
/// How long one connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to pause after a failed `accept` (out of descriptors, say) before the next.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

const DONE_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Signed in</title></head><body><h1>Signed in</h1><p>You can close this tab and return to the application.</p></body></html>";

/// What the authorization server sent back.
pub(crate) struct Callback {
    /// The authorization code.
    pub code: SecretString,
    /// The RFC 9207 `iss` parameter, if sent.
    pub iss: Option<String>,
}

/// A bound listener, waiting for its one callback.
pub(crate) struct LoopbackListener {
    listener: TcpListener,
    redirect_uri: Url,
}

fn err(kind: ErrorKind, msg: impl Into<String>) -> Error {
    Error::new(kind, msg).with_provider(ProviderId::from_static(PROVIDER_ID))
}

impl LoopbackListener {
    /// Binds the address of `redirect_uri` (http, loopback host); port 0 picks a free port
    /// and the returned [`redirect_uri`](Self::redirect_uri) names it.
    pub async fn bind(redirect_uri: &Url) -> Result<Self, Error> {
        let host = redirect_uri.host_str().unwrap_or_default();
        let ip = match host {
            "localhost" | "127.0.0.1" => "127.0.0.1",
            "[::1]" => "::1",
            _ => {
                return Err(err(
                    ErrorKind::InvalidConfig,
                    "redirect_uri must be http://127.0.0.1:<port>/…, http://[::1]:<port>/… or http://localhost:<port>/…",
                ))
            }
        };
        let port = redirect_uri.port().unwrap_or(80);
        let listener = TcpListener::bind((ip, port)).await.map_err(|e| {
            err(
                ErrorKind::Other,
                format!("cannot listen for the sign-in redirect on {host}:{port}: {e}"),
            )
        })?;
        let actual = listener
            .local_addr()
            .map_err(|_| err(ErrorKind::Other, "cannot read the listener's port"))?
            .port();
        let mut redirect_uri = redirect_uri.clone();
        redirect_uri
            .set_port(Some(actual))
            .map_err(|_| err(ErrorKind::InvalidConfig, "redirect_uri cannot take a port"))?;
        Ok(LoopbackListener {
            listener,
            redirect_uri,
        })
    }

    /// The redirect URI to send in the authorization request (with the real port).
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Waits up to `timeout` for the callback carrying `state`.
    pub async fn accept(&self, state: &str, timeout: Duration) -> Result<Callback, Error> {
        tokio::time::timeout(timeout, self.accept_loop(state))
            .await
            .unwrap_or_else(|_| {
                Err(err(
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
            redirect_uri: self.redirect_uri.clone(),
            state: state.to_owned(),
            claimed: AtomicBool::new(false),
        });
        // Every connection is handled in its own task, so an idle one (a browser preconnect,
        // a local process holding a socket) cannot hold up the real callback. The tasks end
        // with this future: on success, error or timeout, the set is dropped and aborts
        // whatever is still reading.
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
    redirect_uri: Url,
    state: String,
    /// Set by the first connection that carries the right state: only it ends the wait.
    claimed: AtomicBool,
}

/// One connection: `Some` when it was our callback (success or an OAuth error) and the
/// first one to carry the right state.
async fn handle(mut stream: TcpStream, shared: Arc<Shared>) -> Option<Result<Callback, Error>> {
    let target = match tokio::time::timeout(READ_TIMEOUT, read_target(&mut stream)).await {
        Ok(Some(t)) => t,
        _ => {
            respond(&mut stream, 400, "Bad Request", "Bad request.").await;
            return None;
        }
    };
    let Ok(url) = shared.redirect_uri.join(&target) else {
        respond(&mut stream, 400, "Bad Request", "Bad request.").await;
        return None;
    };
    if url.path() != shared.redirect_uri.path() {
        respond(&mut stream, 404, "Not Found", "Not found.").await;
        return None;
    }
    let mut got_state = None;
    let mut code = None;
    let mut error = None;
    let mut iss = None;
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "state" => got_state = Some(v.into_owned()),
            "code" => code = Some(SecretString::from(v.into_owned())),
            "error" => error = Some(v.into_owned()),
            "iss" => iss = Some(v.into_owned()),
            _ => {}
        }
    }
    if got_state.as_deref() != Some(shared.state.as_str()) {
        respond(
            &mut stream,
            400,
            "Bad Request",
            "This response does not belong to the sign-in in progress.",
        )
        .await;
        return None;
    }
    if shared.claimed.swap(true, Ordering::SeqCst) {
        // A repeated callback (a reload, a second tab): the first one counts.
        respond(
            &mut stream,
            409,
            "Conflict",
            "This sign-in has already received its response. You can close this tab.",
        )
        .await;
        return None;
    }
    if let Some(e) = error {
        respond(
            &mut stream,
            200,
            "OK",
            "Sign-in failed. You can close this tab and return to the application.",
        )
        .await;
        let code: String = e
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(48)
            .collect();
        let kind = if code == "access_denied" {
            ErrorKind::Cancelled
        } else {
            ErrorKind::AuthFailed
        };
        return Some(Err(err(kind, format!("the sign-in failed ({code})"))));
    }
    let Some(code) = code else {
        respond(&mut stream, 400, "Bad Request", "The response has no code.").await;
        return Some(Err(err(
            ErrorKind::InvalidResponse,
            "the sign-in response had neither a code nor an error",
        )));
    };
    let _ = stream
        .write_all(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{DONE_PAGE}",
                DONE_PAGE.len()
            )
            .as_bytes(),
        )
        .await;
    let _ = stream.shutdown().await;
    Some(Ok(Callback { code, iss }))
}

/// Reads the request head and returns the target of a `GET`.
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
    let head = std::str::from_utf8(&buf).ok()?;
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    let (method, target) = (parts.next()?, parts.next()?);
    (method == "GET" && target.starts_with('/')).then(|| target.to_owned())
}

async fn respond(stream: &mut TcpStream, status: u16, reason: &str, text: &str) {
    let _ = stream
        .write_all(
            format!(
                "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            )
            .as_bytes(),
        )
        .await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    async fn get(url: &str) -> (u16, String) {
        let r = reqwest::get(url).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    #[tokio::test]
    async fn accepts_one_callback_with_the_right_state() {
        let l = LoopbackListener::bind(&Url::parse("http://127.0.0.1:0/cb").unwrap())
            .await
            .unwrap();
        let base = l.redirect_uri().clone();
        assert_ne!(base.port(), Some(0));
        let client = tokio::spawn(async move {
            let b = base.as_str().to_owned();
            let r1 = get(&format!("{}favicon.ico", &b[..b.len() - 2])).await;
            let r2 = get(&format!("{b}?code=evil&state=wrong")).await;
            let r3 = get(&format!("{b}?code=c0de&state=s1&iss=http%3A%2F%2Fx")).await;
            (r1, r2, r3)
        });
        let cb = l.accept("s1", Duration::from_secs(30)).await.unwrap();
        assert_eq!(cb.code.expose_secret(), "c0de");
        assert_eq!(cb.iss.as_deref(), Some("http://x"));
        let (r1, r2, r3) = client.await.unwrap();
        assert_eq!(r1.0, 404);
        assert_eq!(r2.0, 400);
        assert_eq!(r3.0, 200);
        assert!(r3.1.contains("You can close this tab"));
    }

    #[tokio::test]
    async fn oauth_error_ends_the_wait() {
        let l = LoopbackListener::bind(&Url::parse("http://localhost:0/").unwrap())
            .await
            .unwrap();
        let u = format!("{}?error=access_denied&state=s", l.redirect_uri());
        tokio::spawn(async move { get(&u).await });
        let e = l.accept("s", Duration::from_secs(30)).await.err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Cancelled);
    }

    #[tokio::test]
    async fn times_out_cleanly() {
        let l = LoopbackListener::bind(&Url::parse("http://127.0.0.1:0/").unwrap())
            .await
            .unwrap();
        let e = l
            .accept("s", Duration::from_millis(20))
            .await
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.message().contains("sign in again"));
    }

    #[tokio::test]
    async fn an_idle_connection_does_not_hold_up_the_callback() {
        let l = LoopbackListener::bind(&Url::parse("http://127.0.0.1:0/cb").unwrap())
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
            get(&format!("{base}?code=c0de&state=s1")).await
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
        let l = LoopbackListener::bind(&Url::parse("http://127.0.0.1:0/").unwrap())
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
    async fn refuses_other_hosts() {
        let e = LoopbackListener::bind(&Url::parse("http://example.com:0/").unwrap())
            .await
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    }
}
