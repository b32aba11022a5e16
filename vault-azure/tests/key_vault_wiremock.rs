//! Key Vault REST behaviour against wiremock, with bodies from the published REST reference
//! (Get Secret, KeyVaultError) and an app-only token from a mocked token endpoint.

mod common;

use std::time::Duration;

use secrecy::ExposeSecret;
use vault_azure::{AzureProvider, RetryPolicy, SignInFlow, API_VERSION};
use vault_core::{ErrorKind, Link, NoInteraction, Provider, ProviderId};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const VERSION: &str = "4387e9f3d6e14c459867679a90fd0f79";

fn token_body(token: &str) -> serde_json::Value {
    serde_json::json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})
}

/// A token endpoint answering `tok-1` (client credentials).
async fn mount_token(server: &MockServer, token: &str) {
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(token)))
        .mount(server)
        .await;
}

fn host(server: &MockServer) -> String {
    server.uri().trim_start_matches("http://").to_owned()
}

fn provider(server: &MockServer, retry: RetryPolicy, timeout: Duration) -> AzureProvider {
    AzureProvider::builder()
        .tenant(TENANT)
        .client_id("app-1")
        .authority(server.uri())
        .vault_host(host(server))
        .flow(SignInFlow::ClientCredentials)
        .client_secret("cc-secret".to_owned().into())
        .retry(retry)
        .timeout(timeout)
        .build()
        .unwrap()
}

fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(5),
    }
}

fn link(server: &MockServer, tail: &str) -> Link {
    Link::new(ProviderId::from_static("azure"))
        .with("identifier", format!("{}/secrets/{tail}", server.uri()))
}

/// The Get Secret example of the REST reference, at this server.
fn bundle(server: &MockServer, name: &str) -> serde_json::Value {
    serde_json::json!({
        "value": "mysecretvalue",
        "id": format!("{}/secrets/{name}/{VERSION}", server.uri()),
        "contentType": "text/plain",
        "attributes": {"enabled": true, "nbf": 1493938000, "exp": 1893456000, "created": 1493938410, "updated": 1493938411,
                       "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
        "tags": {"team": "payments"}
    })
}

fn kv_error(code: &str, message: &str, inner: Option<&str>) -> serde_json::Value {
    let mut e = serde_json::json!({"error": {"code": code, "message": message}});
    if let Some(i) = inner {
        e["error"]["innererror"] = serde_json::json!({"code": i});
    }
    e
}

#[tokio::test]
async fn reads_latest_and_pinned_versions_with_exact_requests() {
    let server = MockServer::start().await;
    mount_token(&server, "tok-1").await;
    Mock::given(method("GET"))
        .and(path("/secrets/mysecretname"))
        .and(query_param("api-version", API_VERSION))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bundle(&server, "mysecretname")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/secrets/mysecretname/{VERSION}")))
        .and(query_param("api-version", API_VERSION))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bundle(&server, "mysecretname")))
        .expect(2)
        .mount(&server)
        .await;
    let p = provider(&server, fast_retry(1), Duration::from_secs(5));
    let v = p
        .fetch(&link(&server, "mysecretname"), &NoInteraction)
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), "mysecretvalue");
    let pinned = link(&server, &format!("mysecretname/{VERSION}"));
    let v = p.fetch(&pinned, &NoInteraction).await.unwrap();
    assert_eq!(v.expose_secret(), "mysecretvalue");
    let d = p.describe(&pinned, &NoInteraction).await.unwrap();
    assert_eq!(d.version.as_deref(), Some(VERSION));
    assert_eq!(d.enabled, Some(true));
    assert_eq!(d.content_type.as_deref(), Some("text/plain"));
    assert_eq!(d.created.unwrap().unix_timestamp(), 1493938410);
    assert_eq!(d.updated.unwrap().unix_timestamp(), 1493938411);
    assert_eq!(d.expires.unwrap().unix_timestamp(), 1893456000);
    assert!(d.extra.contains(&("tag:team".into(), "payments".into())));
    assert!(!format!("{d:?}").contains("mysecretvalue"));
    // One token for everything.
    let tokens = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/token"))
        .count();
    assert_eq!(tokens, 1);
}

async fn error_case(status: u16, body: serde_json::Value) -> vault_core::Error {
    let server = MockServer::start().await;
    mount_token(&server, "tok-1").await;
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    let p = provider(&server, fast_retry(1), Duration::from_secs(5));
    p.fetch(&link(&server, "s1"), &NoInteraction)
        .await
        .unwrap_err()
}

#[tokio::test]
async fn error_statuses_map_to_kinds() {
    let e = error_case(
        403,
        kv_error(
            "Forbidden",
            "Caller is not authorized to perform action on resource.",
            Some("ForbiddenByRbac"),
        ),
    )
    .await;
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert!(e.message().contains("Key Vault Secrets User"), "{e}");
    assert!(!e.is_retryable());
    let e = error_case(403, kv_error("Forbidden", "The user, group or application 'appid=…' does not have secrets get permission on key vault 'kv1'.", Some("AccessDenied"))).await;
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    let e = error_case(
        403,
        kv_error(
            "Forbidden",
            "Operation get is not allowed on a disabled secret.",
            Some("SecretDisabled"),
        ),
    )
    .await;
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    let e = error_case(
        404,
        kv_error(
            "SecretNotFound",
            "A secret with (name/id) s1 was not found in this key vault.",
            None,
        ),
    )
    .await;
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.message().contains("s1"));
    let e = error_case(
        400,
        kv_error(
            "BadParameter",
            "The request URI contains an invalid name: s1",
            None,
        ),
    )
    .await;
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    let e = error_case(500, kv_error("InternalServerError", "x", None)).await;
    assert_eq!(e.kind(), ErrorKind::Unreachable);
    assert!(e.is_retryable());
    assert_eq!(e.provider().map(|p| p.as_str()), Some("azure"));
}

#[tokio::test]
async fn throttling_is_retried_after_retry_after_then_reported() {
    let server = MockServer::start().await;
    mount_token(&server, "tok-1").await;
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "0")
                .set_body_json(kv_error(
                    "Throttled",
                    "Request was not processed because too many requests were received.",
                    None,
                )),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bundle(&server, "s1")))
        .with_priority(2)
        .mount(&server)
        .await;
    let p = provider(&server, fast_retry(3), Duration::from_secs(5));
    assert_eq!(
        p.fetch(&link(&server, "s1"), &NoInteraction)
            .await
            .unwrap()
            .expose_secret(),
        "mysecretvalue"
    );

    // Always throttled: bounded attempts, then RateLimited saying when to come back.
    let server = MockServer::start().await;
    mount_token(&server, "tok-1").await;
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "0")
                .set_body_json(kv_error("Throttled", "x", None)),
        )
        .expect(3)
        .mount(&server)
        .await;
    let p = provider(&server, fast_retry(3), Duration::from_secs(5));
    let e = p
        .fetch(&link(&server, "s1"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert!(e.is_retryable());

    // A Retry-After longer than we wait for: no retry, the time is in the message.
    let server = MockServer::start().await;
    mount_token(&server, "tok-1").await;
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "120")
                .set_body_json(kv_error("Throttled", "x", None)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let p = provider(&server, fast_retry(3), Duration::from_secs(5));
    let e = p
        .fetch(&link(&server, "s1"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert!(e.message().contains("retry after 120 s"), "{e}");
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let server = MockServer::start().await;
    mount_token(&server, "tok-1").await;
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bundle(&server, "s1")))
        .with_priority(2)
        .mount(&server)
        .await;
    let p = provider(&server, fast_retry(3), Duration::from_secs(5));
    assert!(p.fetch(&link(&server, "s1"), &NoInteraction).await.is_ok());

    let server = MockServer::start().await;
    mount_token(&server, "tok-1").await;
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .respond_with(ResponseTemplate::new(502))
        .expect(3)
        .mount(&server)
        .await;
    let p = provider(&server, fast_retry(3), Duration::from_secs(5));
    let e = p
        .fetch(&link(&server, "s1"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unreachable);
}

#[tokio::test]
async fn a_slow_vault_times_out() {
    let server = MockServer::start().await;
    mount_token(&server, "tok-1").await;
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(bundle(&server, "s1"))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let p = provider(&server, RetryPolicy::none(), Duration::from_millis(200));
    let e = p
        .fetch(&link(&server, "s1"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn a_401_challenge_renews_the_token_once() {
    let server = MockServer::start().await;
    // First token tok-1, then tok-2.
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-1")))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-2")))
        .with_priority(2)
        .mount(&server)
        .await;
    let challenge = format!(
        r#"Bearer authorization="https://login.microsoftonline.com/{TENANT}", resource="https://vault.azure.net""#
    );
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("WWW-Authenticate", challenge.as_str())
                .set_body_json(kv_error("Unauthorized", "AKV10032: Invalid issuer.", None)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bundle(&server, "s1")))
        .expect(1)
        .mount(&server)
        .await;
    let p = provider(&server, fast_retry(1), Duration::from_secs(5));
    assert!(p.fetch(&link(&server, "s1"), &NoInteraction).await.is_ok());
}

#[tokio::test]
async fn a_challenge_for_another_tenant_or_cloud_is_explained_not_followed() {
    for (challenge, want) in [
        (
            r#"Bearer authorization="https://login.microsoftonline.com/other-tenant", resource="https://vault.azure.net""#,
            "other-tenant",
        ),
        (
            r#"Bearer authorization="https://login.chinacloudapi.cn/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.cn""#,
            "https://vault.azure.cn",
        ),
    ] {
        let server = MockServer::start().await;
        mount_token(&server, "tok-1").await;
        Mock::given(method("GET"))
            .and(path("/secrets/s1"))
            .respond_with(
                ResponseTemplate::new(401)
                    .insert_header("WWW-Authenticate", challenge)
                    .set_body_json(kv_error("Unauthorized", "x", None)),
            )
            .expect(1)
            .mount(&server)
            .await;
        let p = provider(&server, fast_retry(1), Duration::from_secs(5));
        let e = p
            .fetch(&link(&server, "s1"), &NoInteraction)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthFailed);
        assert!(e.message().contains(want), "{e}");
        let reqs = server.received_requests().await.unwrap();
        // No request went to the challenge's sign-in server, and no second token was asked.
        assert_eq!(
            reqs.iter()
                .filter(|r| r.url.path().ends_with("/token"))
                .count(),
            1
        );
    }
}

#[tokio::test]
async fn a_foreign_host_never_sees_a_request() {
    let server = MockServer::start().await;
    mount_token(&server, "tok-1").await;
    let p = provider(&server, fast_retry(1), Duration::from_secs(5));
    for id in [
        "https://evil.example/secrets/s1".to_owned(),
        "http://127.0.0.2:1/secrets/s1".to_owned(),
        server.uri().replace("127.0.0.1", "localhost") + "/secrets/s1",
        format!("{}@evil.example/secrets/s1", server.uri()),
        "https://kv1.vault.azure.cn/secrets/s1".to_owned(),
    ] {
        let l = Link::new(ProviderId::from_static("azure")).with("identifier", id.as_str());
        let e = p.validate_link(&l).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidLink, "{id}");
        let e = p.fetch(&l, &NoInteraction).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidLink, "{id}");
    }
    let l = Link::new(ProviderId::from_static("azure"))
        .with("identifier", "https://kv1.vault.azure.net/secrets/s1")
        .with("version", "x");
    assert!(p
        .validate_link(&l)
        .unwrap_err()
        .message()
        .contains("`version`"));
    // Not even the token endpoint was called.
    let reqs: Vec<Request> = server.received_requests().await.unwrap();
    assert!(reqs.is_empty(), "{} requests", reqs.len());
}

#[tokio::test]
async fn locators_are_canonical() {
    let server = MockServer::start().await;
    let p = provider(&server, fast_retry(1), Duration::from_secs(5));
    let a = Link::new(ProviderId::from_static("azure"))
        .with("identifier", "https://KV1.vault.azure.net/secrets/Api-Key/");
    let b = Link::new(ProviderId::from_static("azure")).with(
        "identifier",
        "https://kv1.vault.azure.net:443/secrets/api-key",
    );
    let c = Link::new(ProviderId::from_static("azure")).with(
        "identifier",
        format!("https://kv1.vault.azure.net/secrets/api-key/{VERSION}"),
    );
    assert_eq!(p.validate_link(&a).unwrap(), p.validate_link(&b).unwrap());
    assert_ne!(p.validate_link(&a).unwrap(), p.validate_link(&c).unwrap());
    assert_eq!(
        p.validate_link(&a).unwrap().canonical(),
        "https://kv1.vault.azure.net/secrets/api-key"
    );
}

#[tokio::test]
async fn a_redirect_from_the_vault_is_not_followed() {
    let elsewhere = MockServer::start().await;
    let server = MockServer::start().await;
    mount_token(&server, "tok-1").await;
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/collect", elsewhere.uri()).as_str()),
        )
        .mount(&server)
        .await;
    let p = provider(&server, fast_retry(1), Duration::from_secs(5));
    let e = p
        .fetch(&link(&server, "s1"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "the token followed a redirect"
    );
}

#[tokio::test]
async fn a_token_unfit_for_a_header_is_refused_before_key_vault() {
    let server = MockServer::start().await;
    mount_token(&server, "tok-1\r\nX-Injected: CANARY").await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bundle(&server, "s1")))
        .expect(0)
        .mount(&server)
        .await;
    let p = provider(&server, fast_retry(1), Duration::from_secs(5));
    let e = p
        .fetch(&link(&server, "s1"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    assert!(!format!("{e} {e:?}").contains("CANARY"), "{e:?}");
}

#[tokio::test]
async fn a_hostile_challenge_audience_is_shown_sanitized() {
    let server = MockServer::start().await;
    mount_token(&server, "tok-1").await;
    let long = "A".repeat(500);
    let challenge = format!(
        r#"Bearer authorization="https://login.microsoftonline.com/{TENANT}", resource="https://evil.example/\" `forged` <b>x</b>; {long}""#
    );
    Mock::given(method("GET"))
        .and(path("/secrets/s1"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("WWW-Authenticate", challenge.as_str())
                .set_body_json(kv_error("Unauthorized", "x", None)),
        )
        .mount(&server)
        .await;
    let p = provider(&server, fast_retry(1), Duration::from_secs(5));
    let e = p
        .fetch(&link(&server, "s1"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    let m = e.message();
    assert!(m.contains("https://evil.example/"), "{m}");
    for bad in ["\"", "`forged`", "<b>", ";", " AAAA"] {
        assert!(!m.contains(bad), "{bad} in {m}");
    }
    assert!(m.len() < 300, "{m}");
}
