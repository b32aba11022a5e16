//! Transport failures keep their cause: a DNS failure and a TLS failure each say so in the
//! error's message and through its `source()` chain, and neither shows a key, a token, or the
//! endpoint URL's userinfo or query.

mod support;

use std::time::Duration;

use support::link;
use url::Url;
use vault_aws::{AwsProvider, Credentials, Endpoints, Mfa, RetryPolicy};
use vault_core::{ErrorKind, NoInteraction, Provider};

const ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db-AbCdEf";

fn provider(endpoint: &str) -> AwsProvider {
    AwsProvider::builder()
        .region("eu-west-1")
        .static_credentials(
            Credentials::new("AKIAIOSFODNN7EXAMPLE", "key-CANARY")
                .with_session_token("token-CANARY"),
        )
        .endpoints(Endpoints::default().all(Url::parse(endpoint).unwrap()))
        .mfa(Mfa::Off)
        .retry(RetryPolicy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A local plain-TCP listener that answers every connection with plain HTTP text and closes
/// it: spoken to with https, the TLS handshake fails.
async fn plain_tcp_listener() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            use tokio::io::AsyncWriteExt;
            let _ = s
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    addr
}

/// The error's display and every cause in its `source()` chain, one a line.
fn chain(e: &vault_core::Error) -> (String, Vec<String>) {
    let mut causes = Vec::new();
    let mut next = std::error::Error::source(e);
    while let Some(c) = next {
        causes.push(c.to_string());
        next = c.source();
    }
    (e.to_string(), causes)
}

#[tokio::test]
async fn a_dns_failure_says_dns_and_keeps_its_cause() {
    let p = provider("https://nonexistent.invalid/");
    let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
    let (display, causes) = chain(&e);
    assert_eq!(e.kind(), ErrorKind::Unreachable, "{display}");
    assert!(
        display.contains("cannot connect to nonexistent.invalid: dns error"),
        "{display}"
    );
    assert!(causes.iter().any(|c| c.contains("dns error")), "{causes:?}");
    let all = format!("{display} {causes:?} {e:?}");
    assert!(!all.contains("CANARY"), "{all}");
}

#[tokio::test]
async fn a_tls_failure_says_tls_and_keeps_its_cause() {
    let addr = plain_tcp_listener().await;
    let p = provider(&format!("https://{addr}/"));
    let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
    let (display, causes) = chain(&e);
    assert_eq!(e.kind(), ErrorKind::Unreachable, "{display}");
    assert!(display.contains("tls error"), "{display}");
    assert!(
        causes.iter().any(|c| c.contains("corrupt message")),
        "{causes:?}"
    );
    let all = format!("{display} {causes:?} {e:?}");
    assert!(!all.contains("CANARY"), "{all}");
}
