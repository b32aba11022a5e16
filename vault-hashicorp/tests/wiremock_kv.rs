//! Exact KV requests and every error status, on wiremock: paths, `X-Vault-Token`,
//! `X-Vault-Namespace` (never doubled with a path prefix), the per-mount version cache,
//! retries with `Retry-After`, timeouts, and a dead token told apart from a denied path.

mod mock;

use std::time::Duration;

use mock::*;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use vault_core::{ErrorKind, NoInteraction, Provider};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn signed_in(server: &MockServer, ns: &str) -> vault_hashicorp::HashicorpProvider {
    builder(server, ns)
        .token(SecretString::from("s.testtoken"))
        .build()
        .unwrap()
}

#[tokio::test]
async fn kv_v2_in_a_namespace_sends_the_header_and_no_prefix() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sys/internal/ui/mounts/secret"))
        .and(header("X-Vault-Token", "s.testtoken"))
        .and(header("X-Vault-Namespace", "team1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"type": "kv", "options": {"version": "2"}}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app/db"))
        .and(header("X-Vault-Token", "s.testtoken"))
        .and(header("X-Vault-Namespace", "team1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"data": {"password": "p2", "port": 5432}, "metadata": {"version": 2}}
        })))
        .expect(2)
        .mount(&server)
        .await;
    let p = signed_in(&server, "team1");
    let l = link("secret", "app/db", "password");
    assert_eq!(
        p.fetch(&l, &NoInteraction).await.unwrap().expose_secret(),
        "p2"
    );
    // a non-string value comes back as JSON text; the mount version is not asked again
    let port = p
        .fetch(&link("secret", "app/db", "port"), &NoInteraction)
        .await
        .unwrap();
    assert_eq!(port.expose_secret(), "5432");
    for r in server.received_requests().await.unwrap() {
        assert!(
            !r.url.path().contains("team1"),
            "namespace doubled in {}",
            r.url
        );
    }
}

#[tokio::test]
async fn pinned_version_and_kv_v1_paths() {
    let server = MockServer::start().await;
    mount_kv(&server, "secret", "2").await;
    mount_kv(&server, "kv1", "1").await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app/db"))
        .and(query_param("version", "1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"data": {"password": "p1"}}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/kv1/app/api"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"api_key": "k"}, "lease_duration": 2764800})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let p = signed_in(&server, "");
    let pinned = link("secret", "app/db", "password").with("version", "1");
    assert_eq!(
        p.fetch(&pinned, &NoInteraction)
            .await
            .unwrap()
            .expose_secret(),
        "p1"
    );
    assert_eq!(
        p.fetch(&link("kv1", "app/api", "api_key"), &NoInteraction)
            .await
            .unwrap()
            .expose_secret(),
        "k"
    );
    for r in server.received_requests().await.unwrap() {
        assert!(
            r.headers.get("X-Vault-Namespace").is_none(),
            "root namespace sends no header"
        );
    }
}

async fn status_case(
    status: u16,
    body: serde_json::Value,
    lookup_self: u16,
) -> (vault_core::Error, usize) {
    let server = MockServer::start().await;
    mount_kv(&server, "secret", "2").await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app/db"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/auth/token/lookup-self"))
        .respond_with(ResponseTemplate::new(lookup_self).set_body_json(json!({"data": {}})))
        .mount(&server)
        .await;
    let p = signed_in(&server, "");
    let e = p
        .fetch(&link("secret", "app/db", "password"), &NoInteraction)
        .await
        .unwrap_err();
    let reads = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/v1/secret/data/app/db")
        .count();
    (e, reads)
}

#[tokio::test]
async fn each_status_has_its_kind() {
    let denied = json!({"errors": ["1 error occurred:\n\t* permission denied\n\n"]});
    let (e, n) = status_case(404, json!({"errors": []}), 200).await;
    assert_eq!((e.kind(), n), (ErrorKind::NotFound, 1), "{e}");
    let (e, _) = status_case(403, denied.clone(), 200).await;
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(e.message().contains("permission denied"));
    let (e, _) = status_case(403, denied, 403).await;
    assert_eq!(e.kind(), ErrorKind::SessionExpired, "a dead token: {e}");
    let (e, n) = status_case(503, json!({"errors": ["Vault is sealed"]}), 200).await;
    assert_eq!(
        (e.kind(), n),
        (ErrorKind::Unreachable, 1),
        "sealed: no retry: {e}"
    );
    assert!(e.message().contains("sealed") && e.is_retryable());
    let (e, n) = status_case(502, json!({}), 200).await;
    assert_eq!((e.kind(), n), (ErrorKind::Unreachable, 3), "{e}");
    let (e, n) = status_case(429, json!({"errors": ["rate limit"]}), 200).await;
    assert_eq!((e.kind(), n), (ErrorKind::RateLimited, 3), "{e}");
    let (e, _) = status_case(400, json!({"errors": ["bad"]}), 200).await;
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    let (e, _) = status_case(200, json!({"data": null}), 200).await;
    assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    let (e, _) = status_case(404, json!({"data": {"metadata": {"version": 3, "deletion_time": "2026-01-01T00:00:00Z", "destroyed": false}}}), 200).await;
    assert_eq!(e.kind(), ErrorKind::Unavailable, "a deleted version: {e}");
}

#[tokio::test]
async fn retries_honour_retry_after_then_succeed() {
    let server = MockServer::start().await;
    mount_kv(&server, "secret", "2").await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app/db"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app/db"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app/db"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"data": {"password": "ok"}}})),
        )
        .with_priority(3)
        .mount(&server)
        .await;
    let p = signed_in(&server, "");
    let v = p
        .fetch(&link("secret", "app/db", "password"), &NoInteraction)
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), "ok");
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let server = MockServer::start().await;
    mount_kv(&server, "secret", "2").await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app/db"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let p = builder(&server, "")
        .token(SecretString::from("s.testtoken"))
        .timeout(Duration::from_millis(100))
        .retry(vault_hashicorp::RetryPolicy {
            max_attempts: 1,
            ..fast_retry()
        })
        .build()
        .unwrap();
    let e = p
        .fetch(&link("secret", "app/db", "password"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn unreachable_server_and_signed_out_without_interaction() {
    // nothing listens on port 9 of loopback
    let p = vault_hashicorp::HashicorpProvider::builder(
        "http://127.0.0.1:9/v1/identity/oidc/provider/p",
        "c",
    )
    .retry(vault_hashicorp::RetryPolicy {
        max_attempts: 1,
        ..fast_retry()
    })
    .token(SecretString::from("s.x"))
    .build()
    .unwrap();
    let e = p
        .fetch(&link("secret", "a", "b"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unreachable, "{e}");

    let server = MockServer::start().await;
    mount_oidc(&server, "").await;
    let p = builder(&server, "").build().unwrap();
    let e = p
        .fetch(&link("secret", "a", "b"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignedOut, "{e}");
}

#[tokio::test]
async fn links_are_checked_without_network() {
    let p = vault_hashicorp::HashicorpProvider::builder(
        "https://vault.invalid/v1/team1/identity/oidc/provider/p",
        "c",
    )
    .build()
    .unwrap();
    let loc = p
        .validate_link(&link("secret", "app/db", "password"))
        .unwrap();
    assert_eq!(
        loc.canonical(),
        "https://vault.invalid|team1|secret|app/db|password|latest"
    );
    let e = p
        .validate_link(&link("secret", "app/db", "password").with("engin", "x"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidLink);
    assert_eq!(p.settings_policy(), vault_core::SettingsPolicy::AdminOnly);
}

#[tokio::test]
async fn a_hostile_engine_type_is_sanitized() {
    let server = MockServer::start().await;
    let hostile = format!("pki\u{1b}]0;owned\u{7}\n{}", "y".repeat(400));
    Mock::given(method("GET"))
        .and(path("/v1/sys/internal/ui/mounts/secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"type": hostile}})))
        .mount(&server)
        .await;
    let e = signed_in(&server, "")
        .fetch(&link("secret", "app/db", "password"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidLink, "{e}");
    assert!(e.message().contains("not a KV secrets engine"), "{e}");
    assert!(!e.message().chars().any(char::is_control), "{e:?}");
    assert!(e.message().chars().count() < 200, "{e}");
}
