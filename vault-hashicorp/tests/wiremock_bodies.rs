//! Hostile or broken servers: an endless body, a slow drip, a hang after accept, 429 with a
//! short and a huge Retry-After, 500 forever, and a mount lookup answering junk. Each ends
//! in a typed error within the retry policy and the timeouts, never a hang.

mod mock;

use std::time::{Duration, Instant};

use mock::{fast_retry, link, mount_kv};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vault_core::{ErrorKind, NoInteraction, Provider, RetryPolicy};
use vault_hashicorp::{HashicorpBuilder, HashicorpProvider, RawSettings};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn provider(address: &str, timeout: Duration, retry: RetryPolicy) -> HashicorpProvider {
    HashicorpBuilder::from_raw(RawSettings {
        address: Some(address.into()),
        auth_method: Some("token".into()),
        ..Default::default()
    })
    .token(SecretString::from("s.test"))
    .timeout(timeout)
    .retry(retry)
    .build()
    .unwrap()
}

fn requests_to(reqs: &[wiremock::Request], p: &str) -> usize {
    reqs.iter().filter(|r| r.url.path() == p).count()
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_as_invalid_response() {
    let server = MockServer::start().await;
    mount_kv(&server, "secret", "2").await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/big"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'a'; 5 << 20]))
        .mount(&server)
        .await;
    let p = provider(&server.uri(), Duration::from_secs(10), fast_retry());
    let e = p
        .fetch(&link("secret", "big", "k"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    assert!(e.message().contains("limit"), "{e}");
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(requests_to(&reqs, "/v1/secret/data/big"), 1, "not retried");
}

/// A raw server: answers every connection with `head`, then drips `drip` bytes, one every
/// `every` (or, with an empty head, accepts and says nothing).
async fn raw_server(head: &'static str, drip: usize, every: Duration) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                if head.is_empty() {
                    tokio::time::sleep(Duration::from_secs(120)).await;
                    return;
                }
                let _ = s.write_all(head.as_bytes()).await;
                for _ in 0..drip {
                    tokio::time::sleep(every).await;
                    if s.write_all(b" ").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn one_try() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 1,
        ..fast_retry()
    }
}

#[tokio::test]
async fn an_endless_slow_drip_body_ends_at_the_deadline() {
    let addr = raw_server(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        0,
        Duration::ZERO,
    )
    .await;
    // chunked with no chunk ever: the body never ends
    let p = provider(&addr, Duration::from_millis(400), one_try());
    let t0 = Instant::now();
    let e = p
        .fetch(&link("secret", "app", "k"), &NoInteraction)
        .await
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Timeout | ErrorKind::Unreachable),
        "{e}"
    );
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());

    // a byte every 50 ms of a body declared 100 KB long: bounded by the deadline too
    let addr = raw_server(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
        100_000,
        Duration::from_millis(50),
    )
    .await;
    let p = provider(&addr, Duration::from_millis(400), one_try());
    let t0 = Instant::now();
    let e = p
        .fetch(&link("secret", "app", "k"), &NoInteraction)
        .await
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Timeout | ErrorKind::Unreachable),
        "{e}"
    );
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}

#[tokio::test]
async fn a_hang_after_accept_is_a_timeout_within_the_retries() {
    let addr = raw_server("", 0, Duration::ZERO).await;
    let retry = RetryPolicy {
        max_attempts: 2,
        ..fast_retry()
    };
    let p = provider(&addr, Duration::from_millis(300), retry);
    let t0 = Instant::now();
    let e = p
        .fetch(&link("secret", "app", "k"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
}

#[tokio::test]
async fn rate_limits_and_server_errors_stay_within_the_retry_policy() {
    let server = MockServer::start().await;
    mount_kv(&server, "secret", "2").await;
    // 429 with Retry-After: 1 once, then the value
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/limited"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/limited"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"data": {"k": "ok"}}})),
        )
        .mount(&server)
        .await;
    // 429 asking for a day: given up at once
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/day"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "86400"))
        .mount(&server)
        .await;
    // 500 forever
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/broken"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"errors": ["boom"]})))
        .mount(&server)
        .await;
    let p = provider(&server.uri(), Duration::from_secs(5), fast_retry());
    let t0 = Instant::now();
    let v = p
        .fetch(&link("secret", "limited", "k"), &NoInteraction)
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), "ok");
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "Retry-After honoured"
    );
    let t0 = Instant::now();
    let e = p
        .fetch(&link("secret", "day", "k"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    assert!(t0.elapsed() < Duration::from_secs(2));
    let e = p
        .fetch(&link("secret", "broken", "k"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unreachable, "{e}");
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(requests_to(&reqs, "/v1/secret/data/limited"), 2);
    assert_eq!(requests_to(&reqs, "/v1/secret/data/day"), 1);
    assert_eq!(
        requests_to(&reqs, "/v1/secret/data/broken"),
        fast_retry().max_attempts as usize
    );
}

#[tokio::test]
async fn a_mount_lookup_answering_junk_is_the_servers_fault_not_the_links() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sys/internal/ui/mounts/secret"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>proxy login</html>"))
        .mount(&server)
        .await;
    let p = provider(&server.uri(), Duration::from_secs(5), fast_retry());
    let e = p
        .fetch(&link("secret", "app", "k"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    assert!(!e.message().contains("html"), "{e}");
}

#[tokio::test]
async fn missing_key_names_from_the_server_are_filtered_and_capped() {
    let server = MockServer::start().await;
    mount_kv(&server, "secret", "2").await;
    let mut data = serde_json::Map::new();
    data.insert("evil\u{1b}]0;title\u{7}name".into(), json!("x"));
    for i in 0..30 {
        data.insert(format!("key{i:02}"), json!("x"));
    }
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"data": data}})))
        .mount(&server)
        .await;
    let p = provider(&server.uri(), Duration::from_secs(5), fast_retry());
    let e = p
        .fetch(&link("secret", "app", "nope"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(!e.message().chars().any(char::is_control), "{e:?}");
    assert!(e.message().contains("more"), "{e}");
    assert!(!e.message().contains("key29"), "{e}");
}
