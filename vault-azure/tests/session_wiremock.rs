//! The session's life: kept in a session store between runs, refused records dropped,
//! sign-out that sticks, and sign-ins that wait for a person without holding the session.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use common::{InstantApproval, NoUser};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use url::Url;
use vault_azure::{AzureProvider, RetryPolicy};
use vault_core::{
    DeviceCode, Error, ErrorKind, Interaction, Link, ManualClock, MemorySessionStore, Provider,
    ProviderId, SessionState, SessionStore,
};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "/contoso.onmicrosoft.com/oauth2/v2.0/token";
const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
const TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn issuer(server: &MockServer) -> String {
    format!("{}/{TENANT_ID}/v2.0", server.uri())
}

fn tokens(access: &str, refresh: &str) -> serde_json::Value {
    serde_json::json!({"token_type": "Bearer", "expires_in": 3600, "access_token": access, "refresh_token": refresh})
}

fn builder(server: &MockServer, clock: &Arc<ManualClock>) -> vault_azure::AzureProviderBuilder {
    AzureProvider::builder()
        .tenant("contoso.onmicrosoft.com")
        .client_id(CLIENT)
        .authority(server.uri())
        .vault_host(server.uri().trim_start_matches("http://"))
        .clock(clock.clone())
        .retry(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            max_retry_after: Duration::from_secs(1),
        })
}

async fn mount_vault(server: &MockServer, accesses: &[&str]) {
    for a in accesses {
        Mock::given(method("GET"))
            .and(path("/secrets/s1"))
            .and(header("authorization", format!("Bearer {a}").as_str()))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"value": format!("value-{a}")})),
            )
            .mount(server)
            .await;
    }
}

fn link(server: &MockServer) -> Link {
    Link::new(ProviderId::from_static("azure"))
        .with("identifier", format!("{}/secrets/s1", server.uri()))
}

fn refresh_bodies(requests: &[wiremock::Request]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .filter(|b| b.contains("grant_type=refresh_token"))
        .collect()
}

#[tokio::test]
async fn a_stored_session_is_resumed_rotated_refused_and_removed() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let browser = InstantApproval::new("code-1");
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
        .and(body_string_contains("refresh_token=r1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tokens("a2", "r2")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .and(body_string_contains("refresh_token=r2"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": "invalid_grant"})),
        )
        .mount(&server)
        .await;
    mount_vault(&server, &["a1", "a2"]).await;
    let store = Arc::new(MemorySessionStore::new());

    // Run 1: a browser sign-in, saved.
    let p = builder(&server, &clock)
        .session_store(store.clone())
        .build()
        .unwrap();
    assert_eq!(
        p.fetch(&link(&server), &browser)
            .await
            .unwrap()
            .expose_secret(),
        "value-a1"
    );
    assert_eq!(browser.opened.load(Ordering::SeqCst), 1);
    assert_eq!(store.len(), 1);

    // Run 2: resumed without the browser, the access token reused as is.
    let p = builder(&server, &clock)
        .session_store(store.clone())
        .build()
        .unwrap();
    assert!(p.session().is_signed_in());
    assert_eq!(p.credential_source(), Some("session store"));
    assert_eq!(
        p.fetch(&link(&server), &NoUser)
            .await
            .unwrap()
            .expose_secret(),
        "value-a1"
    );

    // Run 3, two hours later: the refresh token renews, the rotated one is saved.
    clock.advance(time::Duration::hours(2));
    let p = builder(&server, &clock)
        .session_store(store.clone())
        .build()
        .unwrap();
    assert_eq!(
        p.fetch(&link(&server), &NoUser)
            .await
            .unwrap()
            .expose_secret(),
        "value-a2"
    );
    let saved = store
        .load(&vault_core::StoreKey::new(
            ProviderId::from_static("azure"),
            format!("{}|contoso.onmicrosoft.com|{CLIENT}", server.uri()),
        ))
        .unwrap()
        .unwrap();
    assert!(saved.expose_secret().contains("r2"));
    assert!(!saved.expose_secret().contains("r1"));

    // Run 4, later again: the server refuses r2; the record goes, the browser signs in.
    clock.advance(time::Duration::hours(2));
    let p = builder(&server, &clock)
        .session_store(store.clone())
        .build()
        .unwrap();
    assert_eq!(
        p.fetch(&link(&server), &browser)
            .await
            .unwrap()
            .expose_secret(),
        "value-a1"
    );
    assert_eq!(browser.opened.load(Ordering::SeqCst), 2);
    assert_eq!(
        refresh_bodies(&server.received_requests().await.unwrap()).len(),
        2,
        "r1 once, r2 once"
    );
    assert_eq!(store.len(), 1, "the new sign-in is saved");

    // Sign-out removes the record.
    p.sign_out().await.unwrap();
    assert!(store.is_empty());
    let p = builder(&server, &clock)
        .session_store(store.clone())
        .build()
        .unwrap();
    assert_eq!(p.session(), SessionState::SignedOut);
}

#[tokio::test]
async fn a_garbage_record_is_dropped_and_the_normal_sign_in_runs() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let store = Arc::new(MemorySessionStore::new());
    store
        .save(
            &vault_core::StoreKey::new(
                ProviderId::from_static("azure"),
                format!("{}|contoso.onmicrosoft.com|{CLIENT}", server.uri()),
            ),
            &SecretString::from("not json"),
        )
        .unwrap();
    let p = builder(&server, &clock)
        .session_store(store.clone())
        .build()
        .unwrap();
    assert_eq!(p.session(), SessionState::SignedOut);
    assert!(store.is_empty());
}

#[tokio::test]
async fn after_sign_out_no_fetch_signs_in_on_its_own() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let browser = InstantApproval::new("c");
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(
            browser
                .id_tokens(&issuer(&server), CLIENT)
                .clock(clock.clone())
                .body(tokens("a1", "r1")),
        )
        .mount(&server)
        .await;
    mount_vault(&server, &["a1"]).await;
    let p = builder(&server, &clock).build().unwrap();
    p.fetch(&link(&server), &browser).await.unwrap();
    p.sign_out().await.unwrap();
    // `NoUser` panics on any attempt to open a browser.
    let e = p.fetch(&link(&server), &NoUser).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignedOut, "{e}");
    assert!(e.message().contains("sign in again"), "{e}");
    assert_eq!(browser.opened.load(Ordering::SeqCst), 1);
    // An explicit sign-in ends it.
    p.sign_in(&browser).await.unwrap();
    assert_eq!(
        p.fetch(&link(&server), &NoUser)
            .await
            .unwrap()
            .expose_secret(),
        "value-a1"
    );
}

/// A browser the user never finishes with.
struct AbandonedTab;

#[async_trait]
impl Interaction for AbandonedTab {
    async fn open_url(&self, _url: &Url) -> Result<(), Error> {
        std::future::pending().await
    }
    async fn show_device_code(&self, _code: &DeviceCode) -> Result<(), Error> {
        std::future::pending().await
    }
    async fn ask_mfa_code(&self, _serial: &str) -> Result<SecretString, Error> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_sign_in_waiting_for_the_user_holds_no_session_lock_and_times_out() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let p = builder(&server, &clock)
        .sign_in_timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    let waiting = {
        let p = p.clone();
        let l = link(&server);
        tokio::spawn(async move { p.fetch(&l, &AbandonedTab).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The session is free: sign-out and status answer at once.
    let started = Instant::now();
    tokio::time::timeout(Duration::from_millis(500), p.sign_out())
        .await
        .expect("sign_out waited for the sign-in")
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(p.session(), SessionState::SignedOut);
    // The abandoned sign-in ends at its timeout, and nothing signs in after the sign-out.
    let e = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the sign-in wait has a deadline")
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Timeout | ErrorKind::SignedOut),
        "{e}"
    );
    assert_eq!(p.session(), SessionState::SignedOut);
}

#[tokio::test]
async fn device_code_text_from_the_server_is_filtered() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/v2.0/devicecode"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "user_code": "AB\u{1b}[2JCD", "device_code": "D", "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900, "interval": 0,
            "message": "Go to https://microsoft.com/devicelogin\r\n\u{1b}]0;owned\u{7}enter AB"
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
    let p = builder(&server, &clock)
        .flow(vault_azure::SignInFlow::DeviceCode)
        .build()
        .unwrap();
    let host = InstantApproval::new("x");
    let _ = p.sign_in(&host).await;
    let shown = host.device_codes.lock().unwrap()[0].clone();
    assert_eq!(shown.user_code, "AB[2JCD");
    let m = shown.message.unwrap();
    assert!(!m.chars().any(char::is_control), "{m:?}");
    assert!(
        m.starts_with("Go to https://microsoft.com/devicelogin"),
        "{m}"
    );
}
