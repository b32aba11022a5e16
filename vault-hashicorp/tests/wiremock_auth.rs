//! The auth methods on wiremock, with their exact requests: AppRole, JWT from a variable,
//! Kubernetes (service-account token file), the Vault CLI's token (VAULT_TOKEN, token helper,
//! ~/.vault-token), Vault Agent (no token sent), `oidc` with Vault as the relying party; the
//! session store (save, resume, drop when refused, remove on sign-out); and sign-out never
//! waiting behind a browser sign-in.

mod mock;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mock::{fast_retry, link, mount_kv};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use url::Url;
use vault_core::{
    DeviceCode, Error, ErrorKind, Interaction, MapEnv, MemorySessionStore, NoInteraction, Provider,
    SessionState, SessionStore,
};
use vault_hashicorp::{HashicorpBuilder, RawSettings};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn raw(server: &MockServer, method: &str) -> RawSettings {
    RawSettings {
        address: Some(server.uri()),
        auth_method: Some(method.into()),
        ..Default::default()
    }
}

fn build(raw: RawSettings, env: &MapEnv) -> vault_hashicorp::HashicorpProvider {
    HashicorpBuilder::from_raw(raw)
        .env(env)
        .retry(fast_retry())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vh-auth-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn login_answer(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "auth": {"client_token": token, "lease_duration": 3600, "renewable": true}
    }))
}

async fn secret_for(server: &MockServer, token: &str, value: &str) {
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app"))
        .and(header("X-Vault-Token", token))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"data": {"k": value}}})),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn approle_logs_in_with_role_id_and_secret_id_from_a_file() {
    let server = MockServer::start().await;
    let dir = temp_dir("approle");
    std::fs::write(dir.join("sid"), "secret-id-1\n").unwrap();
    Mock::given(method("POST"))
        .and(path("/v1/auth/ci/approle/login"))
        .and(body_json(
            json!({"role_id": "rid-1", "secret_id": "secret-id-1"}),
        ))
        .respond_with(login_answer("s.approle"))
        .expect(1)
        .mount(&server)
        .await;
    mount_kv(&server, "secret", "2").await;
    secret_for(&server, "s.approle", "v").await;
    let mut r = raw(&server, "approle");
    r.mount = Some("ci/approle".into());
    r.role_id = Some("rid-1".into());
    r.secret_id_file = Some(dir.join("sid").to_string_lossy().into_owned());
    let p = build(r, &MapEnv::new());
    assert_eq!(p.session(), SessionState::SignedOut);
    let v = p
        .fetch(&link("secret", "app", "k"), &NoInteraction)
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), "v");
    assert!(matches!(
        p.session(),
        SessionState::SignedIn { until: Some(_) }
    ));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn jwt_from_a_variable_and_kubernetes_from_a_token_file() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/jwt/login"))
        .and(body_json(json!({"jwt": "ci.jwt.token", "role": "ci"})))
        .respond_with(login_answer("s.jwt"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/kubernetes/login"))
        .and(body_json(json!({"jwt": "k8s.sa.token", "role": "app"})))
        .respond_with(login_answer("s.k8s"))
        .expect(1)
        .mount(&server)
        .await;
    mount_kv(&server, "secret", "2").await;
    secret_for(&server, "s.jwt", "from-jwt").await;
    secret_for(&server, "s.k8s", "from-k8s").await;

    let mut r = raw(&server, "jwt");
    r.role = Some("ci".into());
    r.jwt_env = Some("CI_JWT".into());
    let env = MapEnv::new().with("CI_JWT", "ci.jwt.token\n");
    let p = build(r.clone(), &env);
    let v = p
        .fetch(&link("secret", "app", "k"), &NoInteraction)
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), "from-jwt");
    // a missing variable is a typed error naming it, before any request
    let p = build(r, &MapEnv::new());
    let e = p
        .fetch(&link("secret", "app", "k"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MissingEnv, "{e}");
    assert!(e.message().contains("CI_JWT"));

    let dir = temp_dir("k8s");
    std::fs::write(dir.join("token"), "k8s.sa.token").unwrap();
    let mut r = raw(&server, "kubernetes");
    r.role = Some("app".into());
    r.jwt_file = Some(dir.join("token").to_string_lossy().into_owned());
    let p = build(r, &MapEnv::new());
    let v = p
        .fetch(&link("secret", "app", "k"), &NoInteraction)
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), "from-k8s");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_refused_login_is_auth_failed_with_the_server_reason_filtered() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/approle/login"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"errors": ["invalid secret id \u{1b}[31m s.leakedtokenvalue1234567"]}),
        ))
        .mount(&server)
        .await;
    let mut r = raw(&server, "approle");
    r.role_id = Some("rid".into());
    r.secret_id_env = Some("SID".into());
    let p = build(r, &MapEnv::new().with("SID", "the-secret-id"));
    let e = p
        .fetch(&link("secret", "app", "k"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed);
    assert!(e.message().contains("invalid secret id"), "{e}");
    assert!(
        !e.message().contains('\u{1b}') && !e.message().contains("s.leaked"),
        "{e}"
    );
    assert!(!e.message().contains("the-secret-id"));
}

async fn lookup_self(server: &MockServer, token: &str, renewable: bool) {
    Mock::given(method("GET"))
        .and(path("/v1/auth/token/lookup-self"))
        .and(header("X-Vault-Token", token))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"ttl": 600, "creation_ttl": 3600, "renewable": renewable}
        })))
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_cli_token_comes_from_vault_token_then_the_helper_then_the_file() {
    let server = MockServer::start().await;
    mount_kv(&server, "secret", "2").await;
    for t in ["s.env", "s.helper", "s.file"] {
        lookup_self(&server, t, false).await;
        secret_for(&server, t, t).await;
    }
    let home = temp_dir("home");
    std::fs::write(home.join(".vault-token"), "s.file\n").unwrap();
    let uri = server.uri();
    let home_s = home.to_str().unwrap().to_owned();
    let base = || MapEnv::new().with("HOME", &home_s).with("VAULT_ADDR", &uri);
    let get = |env: MapEnv| {
        let r = RawSettings::default();
        let p = build(r, &env);
        async move {
            p.fetch(&link("secret", "app", "k"), &NoInteraction)
                .await
                .map(|v| v.expose_secret().to_owned())
        }
    };
    // an empty table with VAULT_ADDR: the CLI's token, here from ~/.vault-token
    assert_eq!(get(base()).await.unwrap(), "s.file");
    // a token helper named in ~/.vault wins over the file
    let helper = home.join("helper.sh");
    std::fs::write(
        &helper,
        "#!/bin/sh\n[ \"$1\" = get ] || exit 3\n[ -n \"$VAULT_ADDR\" ] || exit 4\necho s.helper\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(
        home.join(".vault"),
        format!("token_helper = \"{}\"\n", helper.display()),
    )
    .unwrap();
    assert_eq!(get(base()).await.unwrap(), "s.helper");
    // VAULT_TOKEN wins over both
    assert_eq!(
        get(base().with("VAULT_TOKEN", "s.env")).await.unwrap(),
        "s.env"
    );
    // a helper that fails is an error naming the helper, not its output
    std::fs::write(&helper, "#!/bin/sh\necho s.should-not-show >&2\nexit 1\n").unwrap();
    let e = get(base()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(e.message().contains("helper.sh") && !e.message().contains("should-not-show"));
    // a helper that hangs is stopped (the timeout is 10 s; a hung helper must not hang us)
    std::fs::write(&helper, "#!/bin/sh\nexec sleep 30\n").unwrap();
    let t0 = std::time::Instant::now();
    let e = get(base()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(t0.elapsed() < Duration::from_secs(20));
    // a token for another VAULT_ADDR is not sent here
    std::fs::remove_file(home.join(".vault")).unwrap();
    let r = RawSettings {
        address: Some(server.uri()),
        ..Default::default()
    };
    let p = build(
        r,
        &MapEnv::new()
            .with("HOME", &home_s)
            .with("VAULT_ADDR", "https://other.example"),
    );
    let e = p
        .fetch(&link("secret", "app", "k"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{e}");
    // nothing anywhere: signed out, saying how to sign in
    std::fs::remove_file(home.join(".vault-token")).unwrap();
    let e = get(base()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignedOut, "{e}");
    // we never wrote to the CLI's places
    assert!(!home.join(".vault-token").exists());
    std::fs::remove_dir_all(home).unwrap();
}

#[tokio::test]
async fn a_renewable_cli_token_is_renewed_and_never_revoked() {
    let server = MockServer::start().await;
    mount_kv(&server, "secret", "2").await;
    Mock::given(method("GET"))
        .and(path("/v1/auth/token/lookup-self"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"ttl": 5, "creation_ttl": 3600, "renewable": true}
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/token/renew-self"))
        .and(body_json(json!({"increment": "3600s"})))
        .respond_with(login_answer("s.user"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/token/revoke-self"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    secret_for(&server, "s.user", "v").await;
    let p = build(
        RawSettings::default(),
        &MapEnv::new()
            .with("VAULT_ADDR", &server.uri())
            .with("VAULT_TOKEN", "s.user"),
    );
    // the token has 5 s left of a 1 h lease: the second read renews it first
    p.fetch(&link("secret", "app", "k"), &NoInteraction)
        .await
        .unwrap();
    p.fetch(&link("secret", "app", "k"), &NoInteraction)
        .await
        .unwrap();
    p.sign_out().await.unwrap();
}

#[tokio::test]
async fn agent_mode_sends_no_token_and_needs_no_sign_in() {
    let server = MockServer::start().await;
    mount_kv(&server, "secret", "2").await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"data": {"k": "agent"}}})),
        )
        .mount(&server)
        .await;
    let p = build(
        raw(&server, "agent"),
        &MapEnv::new().with("VAULT_TOKEN", "s.nope"),
    );
    assert_eq!(p.session(), SessionState::SignedIn { until: None });
    let v = p
        .fetch(&link("secret", "app", "k"), &NoInteraction)
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), "agent");
    for r in server.received_requests().await.unwrap() {
        assert!(!r.headers.contains_key("x-vault-token"), "{}", r.url);
    }
}

/// A browser for Vault's OIDC auth method: delivers `code=idp-code` with the URL's state
/// to the redirect URI the authorization URL names.
struct IdpBrowser {
    opened: AtomicUsize,
}

#[async_trait]
impl Interaction for IdpBrowser {
    async fn open_url(&self, url: &Url) -> Result<(), Error> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| {
            q.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        let mut cb = Url::parse(&get("redirect_uri")).unwrap();
        cb.query_pairs_mut()
            .append_pair("code", "idp-code")
            .append_pair("state", &get("state"));
        reqwest::get(cb).await.unwrap();
        Ok(())
    }
    async fn show_device_code(&self, _: &DeviceCode) -> Result<(), Error> {
        Err(vault_core::Error::new(
            vault_core::ErrorKind::Cancelled,
            "this test's browser answers no device code or MFA prompt",
        ))
    }
    async fn ask_mfa_code(&self, _: &str) -> Result<SecretString, Error> {
        Err(vault_core::Error::new(
            vault_core::ErrorKind::Cancelled,
            "this test's browser answers no device code or MFA prompt",
        ))
    }
}

#[tokio::test]
async fn oidc_with_vault_as_relying_party() {
    let server = MockServer::start().await;
    let nonce = Arc::new(std::sync::Mutex::new(String::new()));
    let seen = nonce.clone();
    Mock::given(method("POST"))
        .and(path("/v1/auth/oidc/oidc/auth_url"))
        .respond_with(move |req: &Request| {
            let b: Value = serde_json::from_slice(&req.body).unwrap();
            assert_eq!(b["role"], "dev");
            let n = b["client_nonce"].as_str().unwrap().to_owned();
            assert!(n.len() >= 20);
            *seen.lock().unwrap() = n;
            let mut u = Url::parse("https://idp.example/authorize?state=st-1").unwrap();
            u.query_pairs_mut()
                .append_pair("redirect_uri", b["redirect_uri"].as_str().unwrap());
            ResponseTemplate::new(200).set_body_json(json!({"data": {"auth_url": u.as_str()}}))
        })
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/auth/oidc/oidc/callback"))
        .and(query_param("state", "st-1"))
        .and(query_param("code", "idp-code"))
        .respond_with(login_answer("s.oidc"))
        .expect(1)
        .mount(&server)
        .await;
    mount_kv(&server, "secret", "2").await;
    secret_for(&server, "s.oidc", "via-idp").await;
    let mut r = raw(&server, "oidc");
    r.role = Some("dev".into());
    r.redirect_uri = Some("http://127.0.0.1:0/oidc/callback".into());
    let p = build(r, &MapEnv::new());
    let browser = IdpBrowser {
        opened: AtomicUsize::new(0),
    };
    let v = p
        .fetch(&link("secret", "app", "k"), &browser)
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), "via-idp");
    let callback = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().ends_with("/oidc/callback"))
        .unwrap();
    let sent = callback
        .url
        .query_pairs()
        .find(|(k, _)| k == "client_nonce")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(
        sent,
        *nonce.lock().unwrap(),
        "the callback proves it is the same client"
    );
}

#[tokio::test]
async fn the_default_oidc_redirect_is_the_cli_one() {
    let s = RawSettings {
        address: Some("https://vault.example".into()),
        auth_method: Some("oidc".into()),
        ..Default::default()
    }
    .check()
    .unwrap();
    match s.auth {
        vault_hashicorp::AuthSettings::Oidc { redirect, .. } => {
            assert_eq!(redirect.as_str(), "http://localhost:8250/oidc/callback")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_session_is_saved_resumed_dropped_when_refused_and_removed_on_sign_out() {
    let server = MockServer::start().await;
    mount_kv(&server, "secret", "2").await;
    // first login answers s.one, the next s.two
    Mock::given(method("POST"))
        .and(path("/v1/auth/approle/login"))
        .respond_with(login_answer("s.one"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/approle/login"))
        .respond_with(login_answer("s.two"))
        .expect(1)
        .mount(&server)
        .await;
    // s.one reads twice (the login's and the resumed session's), then is refused
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app"))
        .and(header("X-Vault-Token", "s.one"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"data": {"k": "v"}}})),
        )
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app"))
        .and(header("X-Vault-Token", "s.one"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"errors": ["permission denied"]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/auth/token/lookup-self"))
        .and(header("X-Vault-Token", "s.one"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"errors": ["permission denied"]})),
        )
        .mount(&server)
        .await;
    secret_for(&server, "s.two", "v").await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/token/revoke-self"))
        .and(header("X-Vault-Token", "s.two"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let store = Arc::new(MemorySessionStore::new());
    let mut r = raw(&server, "approle");
    r.role_id = Some("rid".into());
    let make = || {
        HashicorpBuilder::from_raw(r.clone())
            .retry(fast_retry())
            .session_store(store.clone())
            .build()
            .unwrap()
    };
    let l = link("secret", "app", "k");
    let p1 = make();
    p1.fetch(&l, &NoInteraction).await.unwrap();
    assert_eq!(store.len(), 1, "the token we obtained is saved");
    // a new process: resumed, no login
    let p2 = make();
    assert!(matches!(
        p2.session(),
        SessionState::SignedIn { until: Some(_) }
    ));
    p2.fetch(&l, &NoInteraction).await.unwrap();
    // a third: the saved token is refused now → dropped, logged in again, read works
    let p3 = make();
    assert_eq!(
        p3.fetch(&l, &NoInteraction).await.unwrap().expose_secret(),
        "v"
    );
    assert_eq!(store.len(), 1, "the new token replaced the refused one");
    let record = store
        .load(&vault_core::StoreKey::new(
            vault_hashicorp::PROVIDER_ID,
            format!("{}||approle|approle|rid", server.uri()),
        ))
        .unwrap()
        .expect("saved under address + namespace + method, mount and role");
    assert!(record.expose_secret().contains("s.two"));
    // sign-out removes it and revokes the token
    p3.sign_out().await.unwrap();
    assert!(store.is_empty());
    // and the next fetch does not sign in on its own
    let e = p3.fetch(&l, &NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignedOut);
    // a token the user brought is never saved
    let store2 = Arc::new(MemorySessionStore::new());
    lookup_self(&server, "s.two", false).await;
    let p = HashicorpBuilder::from_raw(RawSettings {
        address: Some(server.uri()),
        ..Default::default()
    })
    .env(&MapEnv::new().with("VAULT_TOKEN", "s.two"))
    .session_store(store2.clone())
    .build()
    .unwrap();
    p.fetch(&l, &NoInteraction).await.unwrap();
    assert!(store2.is_empty());
}

/// A browser that never comes back (the user walked away).
struct AwayBrowser {
    opened: AtomicUsize,
}

#[async_trait]
impl Interaction for AwayBrowser {
    async fn open_url(&self, _: &Url) -> Result<(), Error> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        std::future::pending::<()>().await;
        Ok(())
    }
    async fn show_device_code(&self, _: &DeviceCode) -> Result<(), Error> {
        Err(vault_core::Error::new(
            vault_core::ErrorKind::Cancelled,
            "this test's browser answers no device code or MFA prompt",
        ))
    }
    async fn ask_mfa_code(&self, _: &str) -> Result<SecretString, Error> {
        Err(vault_core::Error::new(
            vault_core::ErrorKind::Cancelled,
            "this test's browser answers no device code or MFA prompt",
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_does_not_wait_behind_a_browser_sign_in_and_stops_fetches_signing_in() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/oidc/oidc/auth_url"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"data": {"auth_url": "https://idp.example/authorize?state=s1"}}),
            ),
        )
        .mount(&server)
        .await;
    let mut r = raw(&server, "oidc");
    r.redirect_uri = Some("http://127.0.0.1:0/oidc/callback".into());
    let p = Arc::new(
        HashicorpBuilder::from_raw(r)
            .sign_in_wait(Duration::from_secs(300))
            .build()
            .unwrap(),
    );
    let browser = Arc::new(AwayBrowser {
        opened: AtomicUsize::new(0),
    });
    let fetch = {
        let (p, b) = (p.clone(), browser.clone());
        tokio::spawn(async move { p.fetch(&link("secret", "app", "k"), b.as_ref()).await })
    };
    while browser.opened.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::timeout(Duration::from_secs(2), p.sign_out())
        .await
        .expect("sign-out must not wait for the sign-in")
        .unwrap();
    let e = tokio::time::timeout(Duration::from_secs(2), fetch)
        .await
        .expect("the sign-in in progress is cancelled")
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignedOut, "{e}");
    // a later (background) fetch does not open the browser again
    let e = p
        .fetch(&link("secret", "app", "k"), browser.as_ref())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignedOut);
    assert_eq!(browser.opened.load(Ordering::SeqCst), 1);
    assert_eq!(p.session(), SessionState::SignedOut);
}
