//! The sign-in on wiremock: exact OIDC and JWT-login requests (namespace in the provider
//! URL's path, header only on the Vault API), id_token checks before login, concurrent
//! fetches sharing one sign-in, renewal, and revocation on sign-out.

mod mock;

use std::sync::Arc;

use mock::*;
use secrecy::ExposeSecret;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use vault_core::{ErrorKind, ManualClock, Provider, SessionState};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn kv_value(server: &MockServer, token: &str) {
    mount_kv(server, "secret", "2").await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app/db"))
        .and(header("X-Vault-Token", token))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"data": {"password": "pw", "user": "u"}}})),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn full_sign_in_in_a_namespace_sends_exact_requests() {
    let server = Arc::new(MockServer::start().await);
    mount_oidc(&server, "team1").await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/vault-refs-jwt/login"))
        .and(header("X-Vault-Namespace", "team1"))
        .and(body_partial_json(json!({"role": "vault-refs"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "auth": {"client_token": "s.jwt-token", "lease_duration": 3600, "renewable": true}
        })))
        .expect(1)
        .mount(&server)
        .await;
    kv_value(&server, "s.jwt-token").await;
    let p = builder(&server, "team1").build().unwrap();
    let browser = MockBrowser::new(server.clone(), "team1");
    let v = p
        .fetch(&link("secret", "app/db", "password"), browser.as_ref())
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), "pw");
    assert!(matches!(
        p.session(),
        SessionState::SignedIn { until: Some(_) }
    ));

    let reqs = server.received_requests().await.unwrap();
    let token_req = reqs
        .iter()
        .find(|r| r.url.path().ends_with("/token"))
        .expect("token request");
    assert_eq!(
        token_req.url.path(),
        "/v1/team1/identity/oidc/provider/vault-refs/token"
    );
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&token_req.body)
            .into_owned()
            .collect();
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code"], "the-code");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert!(form["redirect_uri"].starts_with("http://127.0.0.1:"));
    assert!(form["code_verifier"].len() >= 43);
    assert!(
        token_req.headers.get("authorization").is_none(),
        "a public client sends no secret"
    );
    for r in &reqs {
        let has_header = r.headers.get("X-Vault-Namespace").is_some();
        let has_prefix = r.url.path().starts_with("/v1/team1/");
        assert!(!(has_header && has_prefix), "namespace doubled: {}", r.url);
        assert!(has_header || has_prefix, "namespace missing: {}", r.url);
    }
    let login = reqs
        .iter()
        .find(|r| r.url.path().ends_with("/login"))
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&login.body).unwrap();
    assert_eq!(body["jwt"].as_str().unwrap().split('.').count(), 3);
}

#[tokio::test]
async fn concurrent_fetches_share_one_sign_in() {
    let server = Arc::new(MockServer::start().await);
    mount_oidc(&server, "").await;
    mount_login(&server, "s.shared", 3600).await;
    kv_value(&server, "s.shared").await;
    let p = Arc::new(builder(&server, "").build().unwrap());
    let browser = MockBrowser::new(server.clone(), "");
    let mut tasks = Vec::new();
    for key in ["password", "user", "password", "user", "password"] {
        let (p, b) = (p.clone(), browser.clone());
        tasks.push(tokio::spawn(async move {
            p.fetch(&link("secret", "app/db", key), b.as_ref()).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(browser.opened(), 1);
    let logins = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/login"))
        .count();
    assert_eq!(logins, 1);
}

/// The `groups` scope is asked for exactly when discovery lists it (the setup tool's `--group`
/// puts it there); a discovery document without `scopes_supported`, or with other scopes
/// only, gives the plain `openid` sign-in of older setups.
#[tokio::test]
async fn the_groups_scope_is_requested_when_discovery_lists_it() {
    for (supported, asked) in [
        (json!(["openid", "groups"]), "openid groups"),
        (json!(["openid"]), "openid"),
        (json!(["openid", "email", "Groups"]), "openid"),
        (json!(null), "openid"),
        (json!("groups"), "openid"),
    ] {
        let server = Arc::new(MockServer::start().await);
        mount_oidc_scopes(&server, "", supported.clone()).await;
        mount_login(&server, "s.t", 3600).await;
        let p = builder(&server, "").build().unwrap();
        let b = MockBrowser::new(server.clone(), "");
        p.sign_in(b.as_ref())
            .await
            .unwrap_or_else(|e| panic!("{supported}: {e}"));
        assert_eq!(*b.scopes.lock().unwrap(), [asked], "{supported}");
    }
}

#[tokio::test]
async fn a_bad_id_token_never_reaches_the_login() {
    let server = Arc::new(MockServer::start().await);
    mount_oidc(&server, "").await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/vault-refs-jwt/login"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let p = builder(&server, "").build().unwrap();
    let mut b = Arc::try_unwrap(MockBrowser::new(server.clone(), ""))
        .ok()
        .unwrap();
    b.tweak = |c| c["aud"] = json!("someone-else");
    let e = p.sign_in(&b).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed);
    assert!(e.message().contains("audience"), "{e}");
    b.tweak = |c| c["nonce"] = json!("replayed");
    let e = p.sign_in(&b).await.unwrap_err();
    assert!(e.message().contains("nonce"), "{e}");
    assert_eq!(p.session(), SessionState::SignedOut);
}

#[tokio::test]
async fn a_refused_code_or_login_is_auth_failed() {
    let server = Arc::new(MockServer::start().await);
    mount_oidc(&server, "").await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/vault-refs-jwt/login"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"errors": ["error validating token: invalid audience (aud) claim"]}),
        ))
        .mount(&server)
        .await;
    let p = builder(&server, "").build().unwrap();
    let e = p
        .sign_in(MockBrowser::new(server.clone(), "").as_ref())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed);
    assert!(e.message().contains("invalid audience"), "{e}");

    // a token endpoint that refuses the code (mounted first: highest priority)
    let server = Arc::new(MockServer::start().await);
    mount_oidc(&server, "").await;
    Mock::given(method("POST"))
        .and(path("/v1/identity/oidc/provider/vault-refs/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant", "error_description": "authorization grant is invalid or expired"})))
        .with_priority(1)
        .mount(&server)
        .await;
    let p = builder(&server, "").build().unwrap();
    let e = p
        .sign_in(MockBrowser::new(server.clone(), "").as_ref())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed);
    assert!(e.message().contains("invalid_grant"), "{e}");
}

#[tokio::test]
async fn discovery_must_state_the_configured_issuer() {
    let server = Arc::new(MockServer::start().await);
    Mock::given(method("GET"))
        .and(path(
            "/v1/identity/oidc/provider/vault-refs/.well-known/openid-configuration",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"issuer": "https://elsewhere.example/v1/identity/oidc/provider/x"}),
        ))
        .mount(&server)
        .await;
    let p = builder(&server, "").build().unwrap();
    let e = p
        .sign_in(MockBrowser::new(server.clone(), "").as_ref())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{e}");
    let server = Arc::new(MockServer::start().await);
    let p = builder(&server, "").build().unwrap();
    let e = p
        .sign_in(MockBrowser::new(server.clone(), "").as_ref())
        .await
        .unwrap_err();
    assert!(e.message().contains("no OIDC provider"), "{e}");
}

#[tokio::test]
async fn renews_before_expiry_and_revokes_on_sign_out() {
    let server = Arc::new(MockServer::start().await);
    mount_oidc(&server, "").await;
    mount_login(&server, "s.renewable", 3600).await;
    kv_value(&server, "s.renewable").await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/token/renew-self"))
        .and(header("X-Vault-Token", "s.renewable"))
        .and(body_partial_json(json!({"increment": "3600s"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "auth": {"client_token": "s.renewable", "lease_duration": 3600, "renewable": true}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/token/revoke-self"))
        .and(header("X-Vault-Token", "s.renewable"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    // the id_token is checked against this clock: start it at the real time
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let p = builder(&server, "").clock(clock.clone()).build().unwrap();
    let browser = MockBrowser::new(server.clone(), "");
    let l = link("secret", "app/db", "password");
    p.fetch(&l, browser.as_ref()).await.unwrap();
    clock.advance(Duration::minutes(10));
    p.fetch(&l, browser.as_ref()).await.unwrap(); // not due yet: no renewal
    clock.advance(Duration::minutes(35));
    p.fetch(&l, browser.as_ref()).await.unwrap(); // 45 minutes in: renewed
    let SessionState::SignedIn { until: Some(t) } = p.session() else {
        panic!("{:?}", p.session())
    };
    assert!(t > clock_now(&clock) + Duration::minutes(59));
    p.sign_out().await.unwrap();
    assert_eq!(p.session(), SessionState::SignedOut);
    assert_eq!(browser.opened(), 1);
}

fn clock_now(c: &ManualClock) -> OffsetDateTime {
    vault_core::Clock::now(c)
}

#[tokio::test]
async fn refused_renewal_is_session_expired() {
    let server = Arc::new(MockServer::start().await);
    mount_oidc(&server, "").await;
    mount_login(&server, "s.t", 3600).await;
    kv_value(&server, "s.t").await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/token/renew-self"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"errors": ["permission denied"]})),
        )
        .mount(&server)
        .await;
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let p = builder(&server, "").clock(clock.clone()).build().unwrap();
    let browser = MockBrowser::new(server.clone(), "");
    let l = link("secret", "app/db", "password");
    p.fetch(&l, browser.as_ref()).await.unwrap();
    clock.advance(Duration::minutes(50));
    let e = p.fetch(&l, browser.as_ref()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SessionExpired, "{e}");
    assert_eq!(p.session(), SessionState::Expired);
    let e = p.fetch(&l, browser.as_ref()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SessionExpired);
    assert_eq!(browser.opened(), 1);

    // signing in again (the clock still agrees with the id_token's times) ends it
    clock.advance(Duration::minutes(-50));
    assert!(p.sign_in(browser.as_ref()).await.unwrap().is_signed_in());
    assert_eq!(
        p.fetch(&l, browser.as_ref()).await.unwrap().expose_secret(),
        "pw"
    );
    assert_eq!(browser.opened(), 2);
}

struct FailingBrowser(std::sync::atomic::AtomicUsize);

#[async_trait::async_trait]
impl vault_core::Interaction for FailingBrowser {
    async fn open_url(&self, _url: &url::Url) -> Result<(), vault_core::Error> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // slow enough that every caller is waiting on this one attempt
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        Err(vault_core::Error::new(
            ErrorKind::Cancelled,
            "the user closed the browser",
        ))
    }
    async fn show_device_code(&self, _c: &vault_core::DeviceCode) -> Result<(), vault_core::Error> {
        unreachable!()
    }
    async fn ask_mfa_code(&self, _s: &str) -> Result<secrecy::SecretString, vault_core::Error> {
        unreachable!()
    }
}

#[tokio::test]
async fn callers_waiting_on_a_failed_sign_in_share_its_error() {
    let server = Arc::new(MockServer::start().await);
    mount_oidc(&server, "").await;
    let p = Arc::new(builder(&server, "").build().unwrap());
    let browser = Arc::new(FailingBrowser(Default::default()));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (p, b) = (p.clone(), browser.clone());
            tokio::spawn(async move {
                p.fetch(&link("secret", "app/db", "password"), b.as_ref())
                    .await
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap_err().kind(), ErrorKind::Cancelled);
    }
    assert_eq!(
        browser.0.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one browser tab, not four"
    );
}

#[tokio::test]
async fn an_overflowing_lease_is_an_invalid_response_not_a_panic() {
    let server = Arc::new(MockServer::start().await);
    mount_oidc(&server, "").await;
    mount_login(&server, "s.forever", i64::MAX).await;
    let p = builder(&server, "").build().unwrap();
    let e = p
        .sign_in(MockBrowser::new(server.clone(), "").as_ref())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    assert!(e.message().contains("lease_duration"), "{e}");
    assert!(!format!("{e} {e:?}").contains("s.forever"), "{e}");
    assert!(
        matches!(p.session(), SessionState::SignedOut),
        "{:?}",
        p.session()
    );
}

/// Discovery on `server` whose `key` endpoint is on `elsewhere` instead.
async fn discovery_pointing(server: &MockServer, key: &str, elsewhere: &MockServer) {
    let iss = issuer(server, "");
    let mut doc = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{}/ui/vault/identity/oidc/provider/vault-refs/authorize", server.uri()),
        "token_endpoint": format!("{iss}/token"),
        "jwks_uri": format!("{iss}/.well-known/keys"),
    });
    doc[key] = json!(format!("{}/steal", elsewhere.uri()));
    Mock::given(method("GET"))
        .and(path(
            "/v1/identity/oidc/provider/vault-refs/.well-known/openid-configuration",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc))
        .mount(server)
        .await;
}

#[tokio::test]
async fn discovery_endpoints_off_the_vault_server_are_refused() {
    for key in ["token_endpoint", "jwks_uri"] {
        let server = Arc::new(MockServer::start().await);
        let thief = MockServer::start().await;
        discovery_pointing(&server, key, &thief).await;
        let p = builder(&server, "").build().unwrap();
        let browser = MockBrowser::new(server.clone(), "");
        let e = p.sign_in(browser.as_ref()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{key}: {e}");
        assert!(e.message().contains(key), "{e}");
        assert!(e.message().contains("not on the Vault server"), "{e}");
        // refused at discovery: no browser, and nothing (code, verifier) reached the thief
        assert_eq!(browser.opened(), 0);
        assert!(thief.received_requests().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn the_oauth_error_code_is_sanitized() {
    let server = Arc::new(MockServer::start().await);
    mount_oidc(&server, "").await;
    let hostile = format!("invalid_grant\u{1b}[2J{}", "x".repeat(500));
    Mock::given(method("POST"))
        .and(path("/v1/identity/oidc/provider/vault-refs/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": hostile})))
        .with_priority(1)
        .mount(&server)
        .await;
    let p = builder(&server, "").build().unwrap();
    let e = p
        .sign_in(MockBrowser::new(server.clone(), "").as_ref())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(e.message().contains("invalid_grant"), "{e}");
    assert!(!e.message().contains('\u{1b}'), "{e}");
    assert!(e.message().chars().count() < 200, "{e}");
}
