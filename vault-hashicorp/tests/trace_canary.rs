//! Everything a `tracing` subscriber records at TRACE (every target, and every `log` record)
//! while resolving through HashiCorp Vault: an AppRole login (secret id, token), the session
//! saved, a KV read answered 500 then retried, a value fetched, a 403 echoing the token. The
//! canary appears nowhere; the events a host relies on do.

mod mock;

use std::sync::Arc;
use std::time::Duration;

use mock::{fast_retry, link, mount_kv};
use secrecy::ExposeSecret;
use serde_json::json;
use vault_core::trace_capture::TraceRecorder;
use vault_core::{ErrorKind, MapEnv, MemorySessionStore, Resolver, Vault, VaultSecret};
use vault_hashicorp::{HashicorpBuilder, RawSettings};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CANARY: &str = "CANARYhcTRACE7b";

#[tokio::test]
async fn approle_login_retry_fetch_and_errors_record_no_secret() {
    let server = MockServer::start().await;
    let token = format!("s.token-{CANARY}");
    let dir = std::env::temp_dir().join(format!("vh-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sid"), format!("sid-{CANARY}\n")).unwrap();
    Mock::given(method("POST"))
        .and(path("/v1/auth/approle/login"))
        .and(body_json(
            json!({"role_id": "rid-1", "secret_id": format!("sid-{CANARY}")}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "auth": {"client_token": token, "lease_duration": 3600, "renewable": true}
        })))
        .expect(1)
        .mount(&server)
        .await;
    mount_kv(&server, "secret", "2").await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"errors": ["sealed"]})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"data": {"k": format!("value-{CANARY}")}}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/echo"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"errors": [format!("token {token} may not read this")]})),
        )
        .mount(&server)
        .await;

    let raw = RawSettings {
        address: Some(server.uri()),
        auth_method: Some("approle".into()),
        role_id: Some("rid-1".into()),
        secret_id_file: Some(dir.join("sid").to_string_lossy().into_owned()),
        ..Default::default()
    };
    let provider = HashicorpBuilder::from_raw(raw)
        .env(&MapEnv::new())
        .retry(fast_retry())
        .timeout(Duration::from_secs(5))
        .session_store(Arc::new(MemorySessionStore::new()))
        .build()
        .unwrap();
    let vault = Vault::new()
        .with("app", VaultSecret::link(link("secret", "app", "k")))
        .with("echo", VaultSecret::link(link("secret", "echo", "k")));
    let resolver = Resolver::builder(vault)
        .provider(Arc::new(provider))
        .build();

    let recorder = TraceRecorder::new();
    let guard = recorder.install();
    let v = resolver.value("app").await.unwrap();
    assert_eq!(v.expose_secret(), format!("value-{CANARY}"));
    let e = resolver.value("echo").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    drop(guard);
    std::fs::remove_dir_all(dir).unwrap();

    // Everything but the mock server's own logs (it is the other end: it sees every secret).
    let text = recorder.text_without("wiremock");
    assert!(!text.contains(CANARY), "the canary was recorded:\n{text}");
    let sign_in = recorder.events("sign-in");
    assert!(
        sign_in
            .iter()
            .any(|e| e.field("provider") == Some("hashicorp")
                && e.field("method") == Some("approle")
                && e.field("outcome") == Some("ok")),
        "{text}"
    );
    assert!(
        recorder
            .events("retry")
            .iter()
            .any(|e| e.field("provider") == Some("hashicorp")
                && e.field("reason") == Some("status 500")),
        "{text}"
    );
    assert!(
        recorder
            .events("session")
            .iter()
            .any(|e| e.field("action") == Some("save") && e.field("outcome") == Some("ok")),
        "{text}"
    );
    let fetches = recorder.events("fetch");
    assert!(fetches.iter().any(|e| e.field("outcome") == Some("ok")));
    assert!(fetches
        .iter()
        .any(|e| e.field("error_kind") == Some("permission denied")));
    let m = resolver.metrics();
    assert_eq!((m.sign_ins, m.retries, m.fetches), (1, 1, 2), "{m:?}");
}
