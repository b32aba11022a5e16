//! The token endpoint side against wiremock: the code exchange, refresh-token rotation,
//! invalid_grant, retries, device code and client credentials.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{InstantApproval, NoUser};
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use vault_azure::{AzureProvider, RetryPolicy, SignInFlow};
use vault_core::{ErrorKind, Link, ManualClock, NoInteraction, Provider, ProviderId, SessionState};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "/contoso.onmicrosoft.com/oauth2/v2.0/token";
const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
/// The tenant id of contoso.onmicrosoft.com, as Entra's issuer names it.
const TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// Entra's v2 issuer at the mock authority.
fn issuer(server: &MockServer) -> String {
    format!("{}/{TENANT_ID}/v2.0", server.uri())
}

fn tokens(access: &str, refresh: &str) -> serde_json::Value {
    serde_json::json!({
        "token_type": "Bearer", "scope": "https://vault.azure.net/user_impersonation https://vault.azure.net/.default",
        "expires_in": 3600, "ext_expires_in": 3600, "access_token": access, "refresh_token": refresh
    })
}

fn invalid_grant() -> serde_json::Value {
    serde_json::json!({
        "error": "invalid_grant",
        "error_description": "AADSTS70000: Provided grant is invalid or malformed. Trace ID: 0000 Correlation ID: 1111 Timestamp: 2026-11-28 10:00:00Z",
        "error_codes": [70000], "timestamp": "2026-11-28 10:00:00Z", "trace_id": "0000", "correlation_id": "1111"
    })
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(5),
    }
}

fn builder(server: &MockServer) -> vault_azure::AzureProviderBuilder {
    AzureProvider::builder()
        .tenant("contoso.onmicrosoft.com")
        .client_id("11111111-2222-3333-4444-555555555555")
        .authority(server.uri())
        .vault_host(server.uri().trim_start_matches("http://"))
        .retry(fast())
}

/// Key Vault answers `value-<n>` for bearer `a<n>`.
async fn mount_vault(server: &MockServer, accesses: &[&str]) {
    for a in accesses {
        Mock::given(method("GET"))
            .and(path("/secrets/s1"))
            .and(header("authorization", format!("Bearer {a}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "value": format!("value-{a}"), "id": format!("{}/secrets/s1/4387e9f3d6e14c459867679a90fd0f79", server.uri()),
                "attributes": {"enabled": true, "created": 1, "updated": 2}
            })))
            .mount(server)
            .await;
    }
}

fn link(server: &MockServer) -> Link {
    Link::new(ProviderId::from_static("azure"))
        .with("identifier", format!("{}/secrets/s1", server.uri()))
}

#[tokio::test]
async fn code_exchange_then_rotating_refreshes() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    let browser = InstantApproval::new("the-code");
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains("code_verifier="))
        .and(body_string_contains(
            "client_id=11111111-2222-3333-4444-555555555555",
        ))
        .and(body_string_contains(
            "redirect_uri=http%3A%2F%2F127.0.0.1%3A",
        ))
        .respond_with(
            browser
                .id_tokens(&issuer(&server), CLIENT)
                .body(tokens("a1", "r1")),
        )
        .expect(1)
        .mount(&server)
        .await;
    for (old, access, new) in [("r1", "a2", "r2"), ("r2", "a3", "r3")] {
        Mock::given(method("POST"))
            .and(path(TOKEN))
            .and(body_string_contains("grant_type=refresh_token"))
            .and(body_string_contains(
                format!("refresh_token={old}&").as_str(),
            ))
            .and(body_string_contains("offline_access"))
            .respond_with(ResponseTemplate::new(200).set_body_json(tokens(access, new)))
            .expect(1)
            .mount(&server)
            .await;
    }
    mount_vault(&server, &["a1", "a2", "a3"]).await;
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let p = builder(&server).clock(clock.clone()).build().unwrap();
    assert_eq!(
        p.fetch(&link(&server), &browser)
            .await
            .unwrap()
            .expose_secret(),
        "value-a1"
    );
    // Still fresh: no token call.
    clock.advance(time::Duration::minutes(50));
    assert_eq!(
        p.fetch(&link(&server), &NoUser)
            .await
            .unwrap()
            .expose_secret(),
        "value-a1"
    );
    // Inside the 5 minute margin: silent refresh with r1, then with the rotated r2.
    clock.advance(time::Duration::minutes(6));
    assert_eq!(
        p.fetch(&link(&server), &NoUser)
            .await
            .unwrap()
            .expose_secret(),
        "value-a2"
    );
    clock.advance(time::Duration::minutes(56));
    assert_eq!(
        p.fetch(&link(&server), &NoUser)
            .await
            .unwrap()
            .expose_secret(),
        "value-a3"
    );
    assert_eq!(p.session(), SessionState::SignedIn { until: None });
    // The client secret never appears in a public client's requests.
    for r in server.received_requests().await.unwrap() {
        assert!(!String::from_utf8_lossy(&r.body).contains("client_secret"));
        assert!(r.headers.get("authorization").is_none() || r.url.path().starts_with("/secrets"));
    }
}

#[tokio::test]
async fn a_refused_refresh_means_sign_in_again() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    let browser = InstantApproval::new("c");
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(
            browser
                .id_tokens(&issuer(&server), CLIENT)
                .clock(clock.clone())
                .body(tokens("a1", "r1")),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(invalid_grant()))
        .expect(1)
        .mount(&server)
        .await;
    mount_vault(&server, &["a1"]).await;
    let p = builder(&server).clock(clock.clone()).build().unwrap();
    p.sign_in(&browser).await.unwrap();
    clock.advance(time::Duration::hours(2));
    let e = p.fetch(&link(&server), &NoUser).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SessionExpired);
    assert!(e.message().contains("sign in again"), "{e}");
    assert!(e.message().contains("AADSTS70000"), "{e}");
    assert!(!e.message().contains("Trace"), "{e}");
    assert_eq!(p.session(), SessionState::Expired);
    // Stays expired, with no further token call, until an explicit sign-in.
    let e = p.fetch(&link(&server), &NoUser).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SessionExpired);
    p.sign_in(&browser).await.unwrap();
    assert_eq!(
        p.fetch(&link(&server), &NoUser)
            .await
            .unwrap()
            .expose_secret(),
        "value-a1"
    );
}

#[tokio::test]
async fn a_code_exchange_that_fails_ambiguously_is_never_resent() {
    // The token endpoint receives the authorization code and answers 503 (it may have
    // redeemed the code): the code is sent once, and the error says to sign in again.
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    let browser = InstantApproval::new("single-use-code");
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .and(body_string_contains("code=single-use-code"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "0"))
        .expect(1)
        .mount(&server)
        .await;
    mount_vault(&server, &["a1"]).await;
    let p = builder(&server).build().unwrap();
    let e = p.fetch(&link(&server), &browser).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(e.message().contains("sign in again"), "{e}");
    assert!(e.message().contains("503"), "{e}");
    assert!(!e.to_string().contains("single-use-code"), "{e}");
    assert_eq!(p.session(), SessionState::SignedOut);
    server.verify().await;

    // A timeout after the code was sent: the same, within the attempt deadline.
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .expect(1)
        .mount(&server)
        .await;
    let p = builder(&server)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let e = p
        .fetch(&link(&server), &InstantApproval::new("c"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(e.message().contains("no answer in time"), "{e}");
    assert!(e.message().contains("sign in again"), "{e}");
}

#[tokio::test]
async fn a_refresh_that_fails_ambiguously_is_never_resent() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    let browser = InstantApproval::new("c1");
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(
            browser
                .id_tokens(&issuer(&server), CLIENT)
                .clock(clock.clone())
                .body(tokens("a1", "r1")),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    mount_vault(&server, &["a1"]).await;
    let p = builder(&server).clock(clock.clone()).build().unwrap();
    p.fetch(&link(&server), &browser).await.unwrap();
    // Past the access token's life: the refresh token is sent once, fails, is dropped.
    clock.advance(time::Duration::hours(2));
    let e = p.fetch(&link(&server), &NoUser).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SessionExpired, "{e}");
    assert!(e.message().contains("not sent again"), "{e}");
    let e = p.fetch(&link(&server), &NoUser).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SessionExpired, "{e}");
    server.verify().await;
}

#[tokio::test]
async fn a_refused_code_is_an_auth_failure() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(ResponseTemplate::new(400).set_body_json(invalid_grant()))
        .mount(&server)
        .await;
    let p = builder(&server).build().unwrap();
    let e = p
        .sign_in(&InstantApproval::new("stolen"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed);
    assert!(!e.to_string().contains("stolen"));
}

#[tokio::test]
async fn without_a_user_sign_in_is_refused_not_hung() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    let p = builder(&server).build().unwrap();
    let e = p.fetch(&link(&server), &NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignedOut);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn device_code_flow_polls_until_approved() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/v2.0/devicecode"))
        .and(body_string_contains("client_id=11111111-2222-3333-4444-555555555555"))
        .and(body_string_contains("offline_access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "user_code": "FJ8Q2ZKLM", "device_code": "DAQABAAEAAAD--device", "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900, "interval": 0,
            "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FJ8Q2ZKLM to authenticate."
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .and(body_string_contains("device_code=DAQABAAEAAAD--device"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "authorization_pending", "error_description": "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending."
        })))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .and(body_string_contains(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(tokens("a1", "r1")))
        .with_priority(2)
        .mount(&server)
        .await;
    mount_vault(&server, &["a1"]).await;
    let p = builder(&server)
        .flow(SignInFlow::DeviceCode)
        .build()
        .unwrap();
    let host = InstantApproval::new("unused");
    assert_eq!(
        p.fetch(&link(&server), &host)
            .await
            .unwrap()
            .expose_secret(),
        "value-a1"
    );
    let shown = host.device_codes.lock().unwrap()[0].clone();
    assert_eq!(shown.user_code, "FJ8Q2ZKLM");
    assert_eq!(
        shown.verification_uri.as_str(),
        "https://microsoft.com/devicelogin"
    );
    assert!(shown.message.unwrap().contains("FJ8Q2ZKLM"));
    assert_eq!(host.opened.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn device_code_declined() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/v2.0/devicecode"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "user_code": "X", "device_code": "D", "verification_uri": "https://microsoft.com/devicelogin", "expires_in": 900, "interval": 0
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"error": "authorization_declined"})),
        )
        .mount(&server)
        .await;
    let p = builder(&server)
        .flow(SignInFlow::DeviceCode)
        .build()
        .unwrap();
    let e = p.sign_in(&InstantApproval::new("x")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
}

#[tokio::test]
async fn client_credentials_send_the_secret_and_the_default_scope() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_secret=cc-s3cret"))
        .and(body_string_contains(
            "scope=https%3A%2F%2Fvault.azure.net%2F.default",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "a1"
        })))
        .expect(2)
        .mount(&server)
        .await;
    mount_vault(&server, &["a1"]).await;
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let p = builder(&server)
        .flow(SignInFlow::ClientCredentials)
        .client_secret("cc-s3cret".to_owned().into())
        .clock(clock.clone())
        .build()
        .unwrap();
    assert_eq!(
        p.fetch(&link(&server), &NoUser)
            .await
            .unwrap()
            .expose_secret(),
        "value-a1"
    );
    assert_eq!(p.session(), SessionState::SignedIn { until: None });
    // Expired: a new token is simply requested, no user involved.
    clock.advance(time::Duration::hours(2));
    assert_eq!(
        p.fetch(&link(&server), &NoUser)
            .await
            .unwrap()
            .expose_secret(),
        "value-a1"
    );
    assert!(!format!("{p:?}").contains("cc-s3cret"));
}

#[tokio::test]
async fn an_id_token_not_signed_by_the_tenant_is_refused() {
    use base64::Engine;
    let enc = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    let browser = InstantApproval::new("c");
    // The right claims under a forged signature.
    let _ = enc;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(
            browser
                .id_tokens(&issuer(&server), CLIENT)
                .forged()
                .body(tokens("a1", "r1")),
        )
        .mount(&server)
        .await;
    let p = builder(&server).build().unwrap();
    let e = p.sign_in(&browser).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(e.message().contains("signature"), "{e}");
    assert_eq!(p.session(), SessionState::SignedOut);
}

#[tokio::test]
async fn an_id_token_from_another_sign_in_is_refused() {
    // Properly signed by the tenant, but for another sign-in.
    let id_token = common::jwt(&serde_json::json!(
        {"aud": "11111111-2222-3333-4444-555555555555", "nonce": "someone-elses-nonce", "sub": "x"}
    ));
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    let mut body = tokens("a1", "r1");
    body["id_token"] = serde_json::Value::String(id_token);
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let p = builder(&server).build().unwrap();
    let e = p.sign_in(&InstantApproval::new("c")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed);
    assert!(e.message().contains("nonce"), "{e}");
    assert_eq!(p.session(), SessionState::SignedOut);
}

/// A user who never finishes: the URL is "opened", nothing comes back.
struct WalksAway;

#[async_trait::async_trait]
impl vault_core::Interaction for WalksAway {
    async fn open_url(&self, _url: &url::Url) -> Result<(), vault_core::Error> {
        Ok(())
    }
    async fn show_device_code(
        &self,
        _code: &vault_core::DeviceCode,
    ) -> Result<(), vault_core::Error> {
        Ok(())
    }
    async fn ask_mfa_code(
        &self,
        _serial: &str,
    ) -> Result<secrecy::SecretString, vault_core::Error> {
        Err(vault_core::Error::new(ErrorKind::Cancelled, "no"))
    }
}

#[tokio::test]
async fn an_abandoned_browser_sign_in_times_out_cleanly() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    let p = builder(&server)
        .sign_in_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let e = p.fetch(&link(&server), &WalksAway).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.message().contains("sign in again"), "{e}");
    assert_eq!(p.session(), SessionState::SignedOut);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_sign_in_without_an_id_token_is_refused() {
    // `openid` was requested: a response without an ID token cannot prove its nonce.
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(tokens("a1", "r1")))
        .expect(1)
        .mount(&server)
        .await;
    mount_vault(&server, &["a1"]).await;
    let p = builder(&server).build().unwrap();
    let e = p
        .fetch(&link(&server), &InstantApproval::new("c"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(e.message().contains("no id_token"), "{e}");
    assert_eq!(p.session(), SessionState::SignedOut);
    assert!(!server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .any(|r| r.url.path().starts_with("/secrets")));
}

#[tokio::test]
async fn an_id_token_from_another_issuer_or_tenant_is_refused() {
    for iss in [
        // Another server.
        format!("https://login.microsoftonline.com/{TENANT_ID}/v2.0"),
        // Not a tenant id (a domain tenant's issuer names the tenant's GUID).
        "{server}/contoso.onmicrosoft.com/v2.0".to_owned(),
        "{server}/v2.0".to_owned(),
    ] {
        let server = MockServer::start().await;
        common::mount_jwks(&server).await;
        let browser = InstantApproval::new("c");
        let iss = iss.replace("{server}", &server.uri());
        Mock::given(method("POST"))
            .and(path(TOKEN))
            .respond_with(browser.id_tokens(&iss, CLIENT).body(tokens("a1", "r1")))
            .mount(&server)
            .await;
        let p = builder(&server).build().unwrap();
        let e = p.sign_in(&browser).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthFailed, "{iss}: {e}");
        assert!(e.message().contains("authority"), "{e}");
        assert_eq!(p.session(), SessionState::SignedOut);
    }
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    let browser = InstantApproval::new("c");
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(
            browser
                .id_tokens(&issuer(&server), CLIENT)
                .body(tokens("a1", "r1")),
        )
        .mount(&server)
        .await;
    // The ID token is valid for an hour from the real now; this provider lives a day later.
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::now_utc() + time::Duration::days(1),
    ));
    let p = builder(&server).clock(clock).build().unwrap();
    let e = p.sign_in(&browser).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(e.message().contains("expired"), "{e}");
}

fn client_credentials(server: &MockServer, clock: Arc<ManualClock>) -> AzureProvider {
    builder(server)
        .flow(SignInFlow::ClientCredentials)
        .client_secret("cc".to_owned().into())
        .clock(clock)
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_absurd_expires_in_is_capped_not_a_panic() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer", "expires_in": 1_000_000_000_000u64, "access_token": "a1"
        })))
        .expect(2)
        .mount(&server)
        .await;
    mount_vault(&server, &["a1"]).await;
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let p = client_credentials(&server, clock.clone());
    assert!(p.fetch(&link(&server), &NoUser).await.is_ok());
    // Believed for a day at most: renewed after that.
    clock.advance(time::Duration::hours(23));
    assert!(p.fetch(&link(&server), &NoUser).await.is_ok());
    clock.advance(time::Duration::hours(2));
    assert!(p.fetch(&link(&server), &NoUser).await.is_ok());

    // u64::MAX seconds does not fit a time::Duration: the same cap.
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer", "expires_in": u64::MAX, "access_token": "a1"
        })))
        .mount(&server)
        .await;
    mount_vault(&server, &["a1"]).await;
    let p = client_credentials(
        &server,
        Arc::new(ManualClock::new(OffsetDateTime::now_utc())),
    );
    assert!(p.fetch(&link(&server), &NoUser).await.is_ok());
}

#[tokio::test]
async fn an_expiry_past_the_calendar_is_an_invalid_response() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer", "expires_in": 7200, "access_token": "a1"
        })))
        .mount(&server)
        .await;
    // A clock at the end of what `time` can represent: now + expires_in overflows.
    let end = time::PrimitiveDateTime::MAX.assume_utc() - time::Duration::minutes(30);
    let p = client_credentials(&server, Arc::new(ManualClock::new(end)));
    let e = p.fetch(&link(&server), &NoUser).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
}

#[tokio::test]
async fn an_absurd_device_poll_interval_is_refused() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/v2.0/devicecode"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "user_code": "X", "device_code": "D", "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900, "interval": u64::MAX - 1
        })))
        .mount(&server)
        .await;
    let p = builder(&server)
        .flow(SignInFlow::DeviceCode)
        .build()
        .unwrap();
    let e = tokio::time::timeout(
        Duration::from_secs(10),
        p.sign_in(&InstantApproval::new("x")),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    assert!(e.message().contains("poll"), "{e}");
}
