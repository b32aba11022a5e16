//! The loopback redirect listener: the browser lands here with `?code=&state=` after
//! sign-in. It accepts exactly one callback carrying the expected state, answers the browser
//! with a short "you can close this tab" page, ignores strays (favicon, preconnects, a wrong
//! state), and gives up cleanly at its deadline.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use vault_core::{Error, ErrorKind};

use crate::redirect::{LoopbackUri, RedirectPlan};
use crate::PROVIDER_ID;

const DONE_PAGE: &str = "<!doctype html><meta charset=utf-8><title>Signed in</title>\
<p>Signed in to HashiCorp Vault. You can close this tab.</p>";
const FAILED_PAGE: &str = "<!doctype html><meta charset=utf-8><title>Sign-in failed</title>\
<p>Sign-in to HashiCorp Vault failed. You can close this tab and try again.</p>";

fn err(kind: ErrorKind, message: impl Into<String>) -> Error {
    Error::new(kind, message).with_provider(PROVIDER_ID)
}

/// A bound listener waiting for one callback.
#[derive(Debug)]
pub struct Loopback {
    listener: TcpListener,
    uri: LoopbackUri,
    redirect_uri: String,
}

/// What one connection brought.
enum Callback {
    Code(SecretString),
    Refused(String),
}

impl Loopback {
    /// Binds the first free address of `plan` (the default plan: 10545, then 10534).
    pub async fn bind(plan: &RedirectPlan) -> Result<Self, Error> {
        let mut last = None;
        for uri in &plan.0 {
            match TcpListener::bind((uri.ip, uri.port)).await {
                Ok(listener) => {
                    let port = listener
                        .local_addr()
                        .map_err(|e| err(ErrorKind::Other, format!("loopback listener: {e}")))?
                        .port();
                    return Ok(Loopback {
                        redirect_uri: uri.with_port(port),
                        uri: uri.clone(),
                        listener,
                    });
                }
                Err(e) => last = Some((uri.with_port(uri.port), e)),
            }
        }
        let (uri, e) = last.map_or_else(
            || ("(none)".to_owned(), "no redirect URI".to_owned()),
            |(u, e)| (u, e.to_string()),
        );
        Err(err(
            ErrorKind::Other,
            format!("cannot listen for the sign-in redirect on {uri}: {e}"),
        ))
    }

    /// The redirect URI with the bound port.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits for the callback with `state`, at most `timeout`.
    pub async fn wait(
        self,
        state: &SecretString,
        timeout: Duration,
    ) -> Result<SecretString, Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        let (tx, mut rx) = mpsc::channel::<Callback>(4);
        let expected_state = state.expose_secret().to_owned();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let Ok((stream, _)) = accepted else {
                        // out of descriptors or the like: do not spin, the deadline still holds
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    };
                    let tx = tx.clone();
                    let path = self.uri.path.clone();
                    let state = expected_state.clone();
                    // one task per connection: a browser's idle preconnect must not hold up
                    // the real callback
                    tokio::spawn(async move {
                        if let Some(cb) = handle(stream, &path, &state).await {
                            let _ = tx.send(cb).await;
                        }
                    });
                }
                Some(cb) = rx.recv() => {
                    return match cb {
                        Callback::Code(code) => Ok(code),
                        Callback::Refused(why) => Err(err(ErrorKind::AuthFailed, why)),
                    };
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(err(
                        ErrorKind::Timeout,
                        format!("no sign-in callback on {} within {} s", self.redirect_uri, timeout.as_secs()),
                    ));
                }
            }
        }
    }
}

async fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Reads one request head and answers it; `Some` only for a callback with the right state.
async fn handle(mut stream: TcpStream, path: &str, state: &str) -> Option<Callback> {
    let mut buf = Vec::with_capacity(1024);
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Some(())
    })
    .await;
    if !matches!(read, Ok(Some(()))) {
        return None;
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{target}")) else {
        respond(&mut stream, "400 Bad Request", FAILED_PAGE).await;
        return None;
    };
    if method != "GET" || url.path() != path {
        respond(
            &mut stream,
            "404 Not Found",
            "<!doctype html><title>Not found</title>",
        )
        .await;
        return None;
    }
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    if q.get("state").map(String::as_str) != Some(state) {
        // not our sign-in (stale tab, forged link): refuse it and keep waiting
        respond(&mut stream, "400 Bad Request", FAILED_PAGE).await;
        return None;
    }
    if let Some(e) = q.get("error") {
        respond(&mut stream, "200 OK", FAILED_PAGE).await;
        let what: String = e
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        let desc = q
            .get("error_description")
            .map(|d| format!(": {}", crate::http::sanitize(d)))
            .unwrap_or_default();
        return Some(Callback::Refused(format!(
            "the OIDC provider refused the sign-in ({what}){desc}"
        )));
    }
    match q.get("code").filter(|c| !c.is_empty()) {
        Some(code) => {
            respond(&mut stream, "200 OK", DONE_PAGE).await;
            Some(Callback::Code(SecretString::from(code.clone())))
        }
        None => {
            respond(&mut stream, "400 Bad Request", FAILED_PAGE).await;
            Some(Callback::Refused(
                "the sign-in callback carried no code".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(uri: &str) -> (u16, String) {
        let r = reqwest::get(uri).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    fn plan() -> RedirectPlan {
        RedirectPlan::only(LoopbackUri::parse("http://127.0.0.1:0/cb").unwrap())
    }

    #[tokio::test]
    async fn accepts_only_the_right_state() {
        let lb = Loopback::bind(&plan()).await.unwrap();
        let base = lb.redirect_uri().to_owned();
        assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/cb"));
        let state = SecretString::from("st-1");
        let waiter = tokio::spawn(async move { lb.wait(&state, Duration::from_secs(30)).await });
        let root = base.trim_end_matches("/cb");
        assert_eq!(get(&format!("{root}/favicon.ico")).await.0, 404);
        assert_eq!(get(&format!("{base}?code=c0&state=wrong")).await.0, 400);
        let (status, page) = get(&format!("{base}?code=c1&state=st-1")).await;
        assert_eq!(status, 200);
        assert!(page.contains("You can close this tab"));
        let code = waiter.await.unwrap().unwrap();
        assert_eq!(code.expose_secret(), "c1");
    }

    #[tokio::test]
    async fn provider_error_is_auth_failed() {
        let lb = Loopback::bind(&plan()).await.unwrap();
        let base = lb.redirect_uri().to_owned();
        let state = SecretString::from("s");
        let waiter = tokio::spawn(async move { lb.wait(&state, Duration::from_secs(30)).await });
        get(&format!(
            "{base}?error=access_denied&error_description=no&state=s"
        ))
        .await;
        let e = waiter.await.unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthFailed);
        assert!(e.message().contains("access_denied"));
    }

    #[tokio::test]
    async fn times_out_cleanly() {
        let lb = Loopback::bind(&plan()).await.unwrap();
        let e = lb
            .wait(&SecretString::from("s"), Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
    }

    #[tokio::test]
    async fn falls_back_when_the_first_port_is_taken() {
        let taken = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = taken.local_addr().unwrap().port();
        let plan = RedirectPlan(vec![
            LoopbackUri::parse(&format!("http://127.0.0.1:{port}/")).unwrap(),
            LoopbackUri::parse("http://127.0.0.1:0/").unwrap(),
        ]);
        let lb = Loopback::bind(&plan).await.unwrap();
        assert_ne!(lb.redirect_uri(), format!("http://127.0.0.1:{port}/"));
        let only = RedirectPlan(vec![LoopbackUri::parse(&format!(
            "http://127.0.0.1:{port}/"
        ))
        .unwrap()]);
        assert!(Loopback::bind(&only).await.is_err());
    }
}
