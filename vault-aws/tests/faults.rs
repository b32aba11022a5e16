//! Fault injection against local servers: each test checks that the call ends within its
//! deadline, that the server saw no more requests than the retry policy allows, that the
//! error kind is the right one, and that nothing we sent comes back in a message.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::link;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;
use vault_aws::{AwsProvider, AwsProviderBuilder, Credentials, Endpoints, Mfa, RetryPolicy};
use vault_core::{ErrorKind, NoInteraction, Provider};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf";
const TOKEN: &str = "SESSION-TOKEN-CANARY-0123456789";
const KEY_ID: &str = "ASIAKEYIDCANARY00000";

fn builder(uri: &str) -> AwsProviderBuilder {
    AwsProvider::builder()
        .static_credentials(Credentials::new(KEY_ID, "secret-canary").with_session_token(TOKEN))
        .endpoints(Endpoints::default().all(Url::parse(uri).unwrap()))
        .mfa(Mfa::Off)
        .retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_retry_after: Duration::from_secs(5),
        })
}

/// A raw server: reads a request head, then runs `behave` on the socket; counts connections.
async fn raw_server<F, Fut>(behave: F) -> (String, Arc<AtomicUsize>)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let behave = Arc::new(behave);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            let behave = behave.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = sock.read(&mut buf).await;
                behave(sock).await;
            });
        }
    });
    (uri, count)
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_cap() {
    let (uri, _) = raw_server(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
            .await;
        let chunk = format!("{:x}\r\n{}\r\n", 65536, "a".repeat(65536));
        // About 200 MB if nobody stops reading.
        for _ in 0..3200 {
            if s.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    let p = builder(&uri).body_limit(1 << 20).build().unwrap();
    let started = Instant::now();
    let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    assert!(e.message().contains("limit of 1048576 bytes"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_declared_200_mb_body_is_refused_before_reading() {
    let (uri, _) = raw_server(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 209715200\r\n\r\n{\"SecretString\":\"")
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let p = builder(&uri).build().unwrap();
    let started = Instant::now();
    let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once"
    );
}

#[tokio::test]
async fn a_server_that_hangs_after_accept_ends_within_the_deadline() {
    let (uri, count) = raw_server(|s| async move {
        let _open = s;
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    let p = builder(&uri)
        .timeout(Duration::from_millis(300))
        .deadline(Duration::from_secs(2))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(took < Duration::from_millis(2500), "{took:?}");
    assert!(count.load(Ordering::SeqCst) <= 3);
}

#[tokio::test]
async fn a_slow_drip_body_is_bounded_by_the_deadline() {
    let (uri, _) = raw_server(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
            .await;
        for _ in 0..100_000 {
            if s.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let p = builder(&uri)
        .timeout(Duration::from_secs(10))
        .deadline(Duration::from_secs(1))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(started.elapsed() < Duration::from_millis(1500));
}

fn throttled(retry_after: &str) -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("retry-after", retry_after)
        .insert_header("x-amzn-errortype", "ThrottlingException")
        .set_body_json(json!({"__type": "ThrottlingException", "message": "slow down"}))
}

#[tokio::test]
async fn retry_after_one_second_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(throttled("1"))
        .expect(2)
        .mount(&server)
        .await;
    let p = builder(&server.uri())
        .retry(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_retry_after: Duration::from_secs(5),
        })
        .build()
        .unwrap();
    let started = Instant::now();
    let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_huge_retry_after_gives_up_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(throttled("86400"))
        .expect(1)
        .mount(&server)
        .await;
    let p = builder(&server.uri()).build().unwrap();
    let started = Instant::now();
    let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_500_always_is_tried_as_often_as_the_policy_says() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(3)
        .mount(&server)
        .await;
    let e = builder(&server.uri())
        .build()
        .unwrap()
        .fetch(&link(ARN), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unreachable, "{e}");
    assert!(e.message().contains("after 3 attempts"), "{e}");
}

#[tokio::test]
async fn a_server_message_repeating_our_credentials_is_scrubbed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("x-amzn-errortype", "InvalidRequestException")
                .set_body_json(json!({"__type": "InvalidRequestException",
                    "message": format!("bad request signed by {KEY_ID} with token {TOKEN}")})),
        )
        .mount(&server)
        .await;
    let e = builder(&server.uri())
        .build()
        .unwrap()
        .fetch(&link(ARN), &NoInteraction)
        .await
        .unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(TOKEN) && !shown.contains(KEY_ID), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
}

#[tokio::test]
async fn a_client_that_follows_redirects_is_refused() {
    let target = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"SecretString": "leaked"})))
        .mount(&target)
        .await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/elsewhere", target.uri())),
        )
        .mount(&server)
        .await;
    let following = reqwest::Client::builder().build().unwrap();
    let e = builder(&server.uri())
        .http_client(following)
        .build()
        .unwrap()
        .fetch(&link(ARN), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{e}");
    assert!(e.message().contains("redirect"), "{e}");
}
