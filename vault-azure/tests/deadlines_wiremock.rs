//! Slow, endless and throttling servers: every body is capped, every attempt has a
//! deadline, and a whole fetch ends within its budget however the server behaves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vault_azure::{AzureProvider, RetryPolicy, SignInFlow};
use vault_core::{ErrorKind, Link, NoInteraction, Provider, ProviderId};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// A token endpoint (client credentials) on wiremock.
async fn token_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "tok"
        })))
        .mount(&server)
        .await;
    server
}

fn provider(token: &MockServer, vault: &str, timeout: Duration, budget: Duration) -> AzureProvider {
    AzureProvider::builder()
        .tenant(TENANT)
        .client_id("app-1")
        .authority(token.uri())
        .vault_host(vault)
        .flow(SignInFlow::ClientCredentials)
        .client_secret("s".into())
        .timeout(timeout)
        .fetch_timeout(budget)
        .retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(5),
        })
        .build()
        .unwrap()
}

fn link(vault: &str) -> Link {
    Link::new(ProviderId::from_static("azure"))
        .with("identifier", format!("http://{vault}/secrets/s1"))
}

/// A raw server: `serve` runs for each accepted connection.
async fn raw_server<F, Fut>(serve: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(serve(s));
        }
    });
    addr
}

async fn read_request(s: &mut tokio::net::TcpStream) {
    let mut buf = vec![0u8; 8192];
    let _ = s.read(&mut buf).await;
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_cap() {
    let token = token_server().await;
    let vault = raw_server(|mut s| async move {
        read_request(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
            .await;
        let chunk = format!("{:x}\r\n{}\r\n", 65536, "x".repeat(65536));
        while s.write_all(chunk.as_bytes()).await.is_ok() {}
    })
    .await;
    let p = provider(
        &token,
        &vault,
        Duration::from_secs(20),
        Duration::from_secs(30),
    );
    let e = p.fetch(&link(&vault), &NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    assert!(e.message().contains("this client's limit"), "{e}");
}

#[tokio::test]
async fn a_slow_drip_body_ends_at_the_attempt_deadline_and_the_fetch_at_its_budget() {
    let token = token_server().await;
    let vault = raw_server(|mut s| async move {
        read_request(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n")
            .await;
        loop {
            if s.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let p = provider(
        &token,
        &vault,
        Duration::from_millis(700),
        Duration::from_millis(1800),
    );
    let started = Instant::now();
    let e = p.fetch(&link(&vault), &NoInteraction).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(took < Duration::from_millis(2500), "{took:?}");
}

#[tokio::test]
async fn a_server_that_accepts_and_never_answers_ends_the_fetch_within_the_budget() {
    let token = token_server().await;
    let vault = raw_server(|mut s| async move {
        read_request(&mut s).await;
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(s);
    })
    .await;
    // Per attempt 1 s, three attempts would be 3 s: the 2 s budget ends it first.
    let p = provider(
        &token,
        &vault,
        Duration::from_secs(1),
        Duration::from_secs(2),
    );
    let started = Instant::now();
    let e = p.fetch(&link(&vault), &NoInteraction).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_millis(2600),
        "{took:?}"
    );
}

#[tokio::test]
async fn the_default_fetch_budget_is_30_seconds() {
    // Measured with a paused clock: 30 s attempts would make 90 s; the budget stops at 30.
    let token = token_server().await;
    let vault = raw_server(|mut s| async move {
        read_request(&mut s).await;
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(s);
    })
    .await;
    let p = AzureProvider::builder()
        .tenant(TENANT)
        .client_id("app-1")
        .authority(token.uri())
        .vault_host(vault.as_str())
        .flow(SignInFlow::ClientCredentials)
        .client_secret("s".into())
        .build()
        .unwrap();
    // Get the token first (real time), then pause the clock for the hanging vault.
    let started = tokio::time::Instant::now();
    let l = link(&vault);
    let fetch = p.fetch(&l, &NoInteraction);
    tokio::pin!(fetch);
    // Let the fetch reach the vault before pausing time.
    let _ = tokio::time::timeout(Duration::from_millis(300), &mut fetch).await;
    tokio::time::pause();
    let e = fetch.await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        took >= Duration::from_secs(29) && took <= Duration::from_secs(31),
        "{took:?}"
    );
}

#[tokio::test]
async fn throttling_with_retry_after_one_then_huge() {
    let token = token_server().await;
    let vault = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&vault)
        .await;
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": "v"})))
        .with_priority(2)
        .mount(&vault)
        .await;
    let host = vault.uri().trim_start_matches("http://").to_owned();
    let p = provider(
        &token,
        &host,
        Duration::from_secs(5),
        Duration::from_secs(10),
    );
    let started = Instant::now();
    assert_eq!(
        p.fetch(&link(&host), &NoInteraction)
            .await
            .unwrap()
            .expose_secret(),
        "v"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );

    let vault = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "86400"))
        .expect(1)
        .mount(&vault)
        .await;
    let host = vault.uri().trim_start_matches("http://").to_owned();
    let p = provider(
        &token,
        &host,
        Duration::from_secs(5),
        Duration::from_secs(10),
    );
    let started = Instant::now();
    let e = p.fetch(&link(&host), &NoInteraction).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    assert!(e.message().contains("86400"), "{e}");
}

#[tokio::test]
async fn a_retry_after_past_the_budget_is_not_waited_for() {
    let token = token_server().await;
    let vault = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "4"))
        .expect(1)
        .mount(&vault)
        .await;
    let host = vault.uri().trim_start_matches("http://").to_owned();
    let p = provider(
        &token,
        &host,
        Duration::from_secs(1),
        Duration::from_secs(2),
    );
    let started = Instant::now();
    let e = p.fetch(&link(&host), &NoInteraction).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(e.kind(), ErrorKind::Unreachable, "{e}");
}

#[tokio::test]
async fn a_vault_that_always_fails_is_tried_three_times() {
    let token = token_server().await;
    let vault = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .respond_with(ResponseTemplate::new(500).set_body_string("<html>down</html>"))
        .expect(3)
        .mount(&vault)
        .await;
    let host = vault.uri().trim_start_matches("http://").to_owned();
    let p = provider(
        &token,
        &host,
        Duration::from_secs(5),
        Duration::from_secs(10),
    );
    let e = p.fetch(&link(&host), &NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unreachable, "{e}");
    assert!(e.message().contains("500"), "{e}");
}
