//! Everything a `tracing` subscriber records at TRACE (every target, and every `log` record)
//! while resolving through Azure: a browser sign-in (authorization code, tokens), a Key Vault
//! 500 retried, a value fetched, a 403 echoing the token, a refused refresh token, and a
//! client-credentials sign-in throttled once. The canary (in the value, the code, the access
//! and refresh tokens, the client secret) appears nowhere; the events a host relies on do.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::InstantApproval;
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use vault_azure::{AzureProvider, SignInFlow};
use vault_core::trace_capture::TraceRecorder;
use vault_core::{
    ErrorKind, Link, ManualClock, ProviderId, Resolver, RetryPolicy, Vault, VaultSecret,
};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CANARY: &str = "CANARYazTRACE5e";

fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(1),
    }
}

async fn mount_vault(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/secrets/ok"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/secrets/ok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "value": format!("value-{CANARY}"),
            "id": format!("{}/secrets/ok/4387e9f3d6e14c459867679a90fd0f79", server.uri()),
            "attributes": {"enabled": true}
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/secrets/denied"))
        .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!({
            "error": {"code": "Forbidden", "message": format!("token access-{CANARY} lacks permission"),
                      "innererror": {"code": "ForbiddenByRbac"}}
        })))
        .mount(server)
        .await;
}

fn vault(server: &MockServer) -> Vault {
    let link = |n: &str| {
        Link::new(ProviderId::from_static("azure"))
            .with("identifier", format!("{}/secrets/{n}", server.uri()))
    };
    Vault::new()
        .with("ok", VaultSecret::link(link("ok")))
        .with("denied", VaultSecret::link(link("denied")))
}

fn assert_clean(recorder: &TraceRecorder) {
    // Everything but the mock server's own logs (it is the other end: it sees every secret).
    let text = recorder.text_without("wiremock");
    assert!(!text.contains(CANARY), "the canary was recorded:\n{text}");
}

#[tokio::test]
async fn browser_sign_in_retry_fetch_and_errors_record_no_secret() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    let token = "/t1/oauth2/v2.0/token";
    let browser = Arc::new(InstantApproval::new(&format!("code-{CANARY}")));
    Mock::given(method("POST"))
        .and(path(token))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(
            browser
                .id_tokens(&format!("{}/t1/v2.0", server.uri()), "app")
                .body(serde_json::json!({
                    "token_type": "Bearer", "expires_in": 3600,
                    "access_token": format!("access-{CANARY}"), "refresh_token": format!("refresh-{CANARY}")
                })),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(token))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_grant",
            "error_description": format!("AADSTS700082: refresh token refresh-{CANARY} expired")
        })))
        .mount(&server)
        .await;
    mount_vault(&server).await;
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let provider = AzureProvider::builder()
        .tenant("t1")
        .client_id("app")
        .authority(server.uri())
        .vault_host(server.uri().trim_start_matches("http://"))
        .retry(retry())
        .clock(clock.clone())
        .build()
        .unwrap();
    let resolver = Resolver::builder(vault(&server))
        .provider(Arc::new(provider))
        .interaction(browser.clone())
        .clock(clock.clone())
        .build();

    let recorder = TraceRecorder::new();
    let guard = recorder.install();
    let v = resolver.value("ok").await.unwrap();
    assert_eq!(v.expose_secret(), format!("value-{CANARY}"));
    let e = resolver.value("denied").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    // Two hours on: the refresh token is refused.
    clock.advance(time::Duration::hours(2));
    resolver.cache().reset_all();
    assert!(resolver.value("ok").await.is_err());
    drop(guard);

    assert_clean(&recorder);
    // Everything but the mock server's own logs (it is the other end: it sees every secret).
    let text = recorder.text_without("wiremock");
    let sign_ins = recorder.events("sign-in");
    assert!(
        sign_ins.iter().any(|e| e.field("provider") == Some("azure")
            && e.field("method") == Some(SignInFlow::Browser.as_str())
            && e.field("outcome") == Some("ok")),
        "{text}"
    );
    assert!(
        sign_ins
            .iter()
            .any(|e| e.field("method") == Some("refresh token")
                && e.field("outcome") == Some("error")
                && e.level == "WARN"),
        "{text}"
    );
    assert!(
        recorder
            .events("retry")
            .iter()
            .any(|e| e.field("provider") == Some("azure")
                && e.field("reason") == Some("status 500")
                && e.field("attempt") == Some("1")),
        "{text}"
    );
    let fetches = recorder.events("fetch");
    assert!(fetches.iter().any(|e| e.field("outcome") == Some("ok")));
    assert!(fetches
        .iter()
        .any(|e| e.field("error_kind") == Some("permission denied")));
    let m = resolver.metrics();
    assert_eq!((m.sign_ins, m.sign_in_errors), (2, 1), "{m:?}");
    assert!(m.retries >= 1, "{m:?}");
}

#[tokio::test]
async fn client_credentials_throttled_once_record_no_secret() {
    let server = MockServer::start().await;
    let token = "/t2/oauth2/v2.0/token";
    Mock::given(method("POST"))
        .and(path(token))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(token))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer", "expires_in": 3600, "access_token": format!("access-{CANARY}")
        })))
        .mount(&server)
        .await;
    mount_vault(&server).await;
    let provider = AzureProvider::builder()
        .tenant("t2")
        .client_id("app")
        .authority(server.uri())
        .vault_host(server.uri().trim_start_matches("http://"))
        .flow(SignInFlow::ClientCredentials)
        .client_secret(format!("secret-{CANARY}").into())
        .retry(retry())
        .build()
        .unwrap();
    let resolver = Resolver::builder(vault(&server))
        .provider(Arc::new(provider))
        .build();
    let recorder = TraceRecorder::new();
    let guard = recorder.install();
    let v = resolver.value("ok").await.unwrap();
    assert_eq!(v.expose_secret(), format!("value-{CANARY}"));
    drop(guard);

    assert_clean(&recorder);
    // Everything but the mock server's own logs (it is the other end: it sees every secret).
    let text = recorder.text_without("wiremock");
    assert!(
        recorder
            .events("sign-in")
            .iter()
            .any(|e| e.field("provider") == Some("azure") && e.field("outcome") == Some("ok")),
        "{text}"
    );
    assert!(
        recorder
            .events("retry")
            .iter()
            .any(|e| e.field("reason") == Some("status 429")),
        "{text}"
    );
    let m = resolver.metrics();
    assert_eq!(m.sign_ins, 1, "{m:?}");
    assert_eq!(m.retries, 2, "the token call and the Key Vault 500: {m:?}");
}
