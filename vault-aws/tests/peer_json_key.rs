//! `json_key` against a real moto server (SigV4 and IAM checking on): two references to two
//! fields of one JSON secret cost one GetSecretValue, counted by a byte-forwarding proxy in
//! front of moto; a missing field and a value that is not JSON are reported clearly, naming
//! the field and never the value. Uses the secrets `.ci/peers/moto-seed.py` seeds: `app/db`
//! (JSON `{"username": …, "password": …}`) and `app/eu` (plain text).
#![cfg(feature = "peers")]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use support::{link, peer_var};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;
use vault_aws::{AwsProvider, Credentials, Endpoints, Mfa, RetryPolicy};
use vault_core::{ErrorKind, Outcome, Resolver, Vault, VaultSecret};

const TARGET: &[u8] = b"secretsmanager.GetSecretValue";

/// Forwards connections to `upstream` byte for byte (SigV4 signs the Host header the client
/// sent, which moto checks as received) and counts the GetSecretValue calls going up.
async fn counting_proxy(upstream: String) -> (Url, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let server = TcpStream::connect(&upstream).await.unwrap();
            let counter = counter.clone();
            tokio::spawn(async move {
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    // The last bytes of the previous read, so a name split across reads counts.
                    let mut tail: Vec<u8> = Vec::new();
                    loop {
                        let n = match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let mut window = std::mem::take(&mut tail);
                        window.extend_from_slice(&buf[..n]);
                        let hits = window
                            .windows(TARGET.len())
                            .filter(|w| *w == TARGET)
                            .count();
                        counter.fetch_add(hits, Ordering::SeqCst);
                        let keep = window.len().min(TARGET.len() - 1);
                        tail = window[window.len() - keep..].to_vec();
                        if sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = sw.shutdown().await;
                };
                let down = async move {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                    let _ = cw.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    (Url::parse(&format!("http://{addr}")).unwrap(), count)
}

fn provider(endpoint: Url) -> AwsProvider {
    AwsProvider::builder()
        .region(peer_var("VAULT_TEST_AWS_REGION"))
        .static_credentials(Credentials::new(
            peer_var("VAULT_TEST_AWS_ACCESS_KEY_ID"),
            peer_var("VAULT_TEST_AWS_SECRET_ACCESS_KEY"),
        ))
        .endpoints(Endpoints::default().all(endpoint))
        .mfa(Mfa::Discover)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn two_fields_of_one_json_secret_cost_one_get_secret_value() {
    let moto = Url::parse(&peer_var("VAULT_TEST_AWS_ENDPOINT")).unwrap();
    let upstream = format!(
        "{}:{}",
        moto.host_str().unwrap(),
        moto.port_or_known_default().unwrap()
    );
    let (proxy, calls) = counting_proxy(upstream).await;
    let db = peer_var("VAULT_TEST_AWS_SECRET_ARN");
    let eu = peer_var("VAULT_TEST_AWS_EU_SECRET_ARN");
    let current: serde_json::Value =
        serde_json::from_str(&peer_var("VAULT_TEST_AWS_SECRET_V2_VALUE")).unwrap();
    let field = |k: &str| VaultSecret::link(link(&db).with("json_key", k));
    let vault = Vault::new()
        .with("db-user", field("username"))
        .with("db-pass", field("/password"))
        .with("db-missing", field("/replica/host"))
        .with(
            "eu-field",
            VaultSecret::link(link(&eu).with("json_key", "password")),
        );
    let r = Resolver::builder(vault)
        .provider(Arc::new(provider(proxy)))
        .build();

    let res = r
        .resolve(
            "postgres://{{vault:db-user}}:{{vault:db-pass}}@db/app",
            None,
        )
        .await
        .unwrap();
    assert!(res.report.is_complete(), "{:?}", res.report);
    assert_eq!(
        res.expose(),
        format!(
            "postgres://{}:{}@db/app",
            current["username"].as_str().unwrap(),
            current["password"].as_str().unwrap()
        )
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "two fields of one secret: one GetSecretValue"
    );

    // A missing field of the cached document: no new request, a clear reason.
    let res = r.resolve("{{vault:db-missing}}", None).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let Outcome::Unresolved(e) = &res.report.entries()[0].outcome else {
        panic!("the field is missing");
    };
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let text = e.to_string();
    assert!(text.contains("/replica/host"), "{text}");
    assert!(
        text.contains("db-missing") && text.contains("aws"),
        "{text}"
    );

    // A value that is not JSON at all.
    let res = r.resolve("{{vault:eu-field}}", None).await.unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "one GetSecretValue for app/eu"
    );
    let Outcome::Unresolved(e2) = &res.report.entries()[0].outcome else {
        panic!("app/eu is not JSON");
    };
    assert_eq!(e2.kind(), ErrorKind::Unavailable, "{e2}");
    assert!(e2.to_string().contains("not a JSON document"), "{e2}");
    assert!(e2.to_string().contains("password"), "{e2}");

    // Never a value in what is reported.
    let secrets = [
        current["password"].as_str().unwrap().to_owned(),
        peer_var("VAULT_TEST_AWS_EU_SECRET_VALUE"),
    ];
    for shown in [
        e.to_string(),
        format!("{e:?}"),
        e2.to_string(),
        format!("{e2:?}"),
        format!("{:?}", res.report),
    ] {
        for s in &secrets {
            assert!(!shown.contains(s.as_str()), "a value leaked: {shown}");
        }
    }
}
