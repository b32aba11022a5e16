//! End-to-end against the real oidc-provider (Microsoft-shaped URLs) and the Key Vault
//! stand-in that verifies the bearer JWT, both started by `.ci/peers/peer-oidc.sh`.
#![cfg(feature = "peers")]

mod common;

use std::sync::Arc;

use common::{peer_env, DeviceUser, HeadlessBrowser, NoUser};
use secrecy::ExposeSecret;
use time::Duration;
use vault_azure::{AzureProvider, SignInFlow};
use vault_core::{
    Config, ErrorKind, Link, ManualClock, MapEnv, Provider, ProviderId, SessionState,
};

fn link(identifier: &str) -> Link {
    Link::new(ProviderId::from_static("azure")).with("identifier", identifier)
}

/// The provider exactly as the CLI builds it: from the config file's table.
fn provider_from_config() -> vault_core::DynProvider {
    let toml = format!(
        r#"
[integrations.azure]
tenant = "{}"
client_id = "{}"
authority = "{}"
vault_hosts = ["{}"]
redirect_uri = "http://127.0.0.1:0/"
"#,
        peer_env("VAULT_TEST_AZURE_TENANT"),
        peer_env("VAULT_TEST_AZURE_CLIENT_ID"),
        peer_env("VAULT_TEST_AZURE_AUTHORITY"),
        peer_env("VAULT_TEST_AZURE_VAULT_HOST"),
    );
    let config = Config::parse(&toml).unwrap();
    let settings = &config.integrations[&ProviderId::from_static("azure")];
    vault_azure::from_settings(settings, &MapEnv::new()).unwrap()
}

fn builder() -> vault_azure::AzureProviderBuilder {
    AzureProvider::builder()
        .tenant(peer_env("VAULT_TEST_AZURE_TENANT"))
        .client_id(peer_env("VAULT_TEST_AZURE_CLIENT_ID"))
        .authority(peer_env("VAULT_TEST_AZURE_AUTHORITY"))
        .vault_host(peer_env("VAULT_TEST_AZURE_VAULT_HOST"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sign_in_then_reads_versions_details_and_errors() {
    let provider = provider_from_config();
    let browser = HeadlessBrowser::default();
    assert_eq!(provider.session(), SessionState::SignedOut);

    let latest = link(&peer_env("VAULT_TEST_AZURE_SECRET_ID"));
    let value = provider.fetch(&latest, &browser).await.unwrap();
    assert_eq!(
        value.expose_secret(),
        peer_env("VAULT_TEST_AZURE_SECRET_VALUE")
    );
    assert!(provider.session().is_signed_in());

    // The authorization request had everything Entra wants.
    let url = browser.authorize_urls.lock().unwrap()[0].clone();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert!(url.path().ends_with("/oauth2/v2.0/authorize"), "{url}");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["response_type"], "code");
    for k in ["state", "nonce", "code_challenge", "redirect_uri"] {
        assert!(q.contains_key(k), "{k} missing in {url}");
    }
    assert!(q["scope"].contains("offline_access"));
    assert!(q["scope"].contains("https://vault.azure.net/.default"));
    assert!(q["redirect_uri"].starts_with("http://127.0.0.1:"));
    // The callback carried code, state and iss (RFC 9207).
    let cb = browser.callbacks.lock().unwrap()[0].clone();
    assert!(cb.query_pairs().any(|(k, _)| k == "iss"), "{cb}");

    let v1 = link(&peer_env("VAULT_TEST_AZURE_SECRET_V1_ID"));
    let value = provider.fetch(&v1, &browser).await.unwrap();
    assert_eq!(
        value.expose_secret(),
        peer_env("VAULT_TEST_AZURE_SECRET_V1_VALUE")
    );

    let details = provider.describe(&latest, &browser).await.unwrap();
    assert_eq!(details.enabled, Some(true));
    assert_eq!(details.name.as_deref(), Some("db-password"));
    assert_eq!(details.version.as_deref().map(str::len), Some(32));
    assert!(details.created.is_some());
    assert!(!format!("{details:?}").contains(&peer_env("VAULT_TEST_AZURE_SECRET_VALUE")));

    let e = provider
        .fetch(&link(&peer_env("VAULT_TEST_AZURE_DISABLED_ID")), &browser)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    let e = provider
        .fetch(&link(&peer_env("VAULT_TEST_AZURE_MISSING_ID")), &browser)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    // One sign-in served every read.
    assert_eq!(browser.opened(), 1);

    provider.sign_out().await.unwrap();
    assert_eq!(provider.session(), SessionState::SignedOut);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_share_one_sign_in() {
    let provider = provider_from_config();
    let browser = Arc::new(HeadlessBrowser::default());
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (p, b) = (provider.clone(), browser.clone());
        tasks.push(tokio::spawn(async move {
            let l = link(&peer_env("VAULT_TEST_AZURE_SECRET_ID"));
            p.fetch(&l, b.as_ref())
                .await
                .map(|v| v.expose_secret().to_owned())
        }));
    }
    for t in tasks {
        assert_eq!(
            t.await.unwrap().unwrap(),
            peer_env("VAULT_TEST_AZURE_SECRET_VALUE")
        );
    }
    assert_eq!(browser.opened(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_refresh_keeps_the_newest_rotated_refresh_token() {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let provider = builder().clock(clock.clone()).build().unwrap();
    let browser = HeadlessBrowser::default();
    provider.sign_in(&browser).await.unwrap();
    let first = provider.token_expiry().await.unwrap();
    let l = link(&peer_env("VAULT_TEST_AZURE_SECRET_ID"));
    // Each step moves past the access token's life: the fetch must renew silently. The
    // peer rotates refresh tokens and refuses (and revokes the grant on) a used one, so the
    // second renewal only works if the first one's new refresh token replaced the old.
    for step in 1..=3 {
        clock.advance(Duration::minutes(58));
        let v = provider
            .fetch(&l, &NoUser)
            .await
            .unwrap_or_else(|e| panic!("renewal {step}: {e}"));
        assert_eq!(v.expose_secret(), peer_env("VAULT_TEST_AZURE_SECRET_VALUE"));
    }
    assert!(provider.token_expiry().await.unwrap() > first);
    assert_eq!(browser.opened(), 1);
    assert!(provider.session().is_signed_in());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_authorization_code_is_refused() {
    let provider = builder().build().unwrap();
    let browser = HeadlessBrowser::default();
    provider.sign_in(&browser).await.unwrap();
    let used = browser.callbacks.lock().unwrap()[0].clone();
    // A second sign-in where the "browser" hands over the first, already redeemed code
    // (with the new state, so the listener accepts it): the token endpoint must refuse.
    *browser.replay_code_of.lock().unwrap() = Some(used);
    let e = provider.sign_in(&browser).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(e.message().contains("invalid_grant"), "{e}");
    assert!(!e.to_string().contains("code="), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_read_without_a_user() {
    let provider = AzureProvider::builder()
        .tenant(peer_env("VAULT_TEST_AZURE_TENANT"))
        .client_id(peer_env("VAULT_TEST_AZURE_DAEMON_CLIENT_ID"))
        .authority(peer_env("VAULT_TEST_AZURE_AUTHORITY"))
        .vault_host(peer_env("VAULT_TEST_AZURE_VAULT_HOST"))
        .flow(SignInFlow::ClientCredentials)
        .client_secret(peer_env("VAULT_TEST_AZURE_DAEMON_SECRET").into())
        .build()
        .unwrap();
    let v = provider
        .fetch(&link(&peer_env("VAULT_TEST_AZURE_SECRET_ID")), &NoUser)
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), peer_env("VAULT_TEST_AZURE_SECRET_VALUE"));

    let wrong = AzureProvider::builder()
        .tenant(peer_env("VAULT_TEST_AZURE_TENANT"))
        .client_id(peer_env("VAULT_TEST_AZURE_DAEMON_CLIENT_ID"))
        .authority(peer_env("VAULT_TEST_AZURE_AUTHORITY"))
        .vault_host(peer_env("VAULT_TEST_AZURE_VAULT_HOST"))
        .flow(SignInFlow::ClientCredentials)
        .client_secret("not-the-secret".to_owned().into())
        .build()
        .unwrap();
    let e = wrong
        .fetch(&link(&peer_env("VAULT_TEST_AZURE_SECRET_ID")), &NoUser)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(!e.to_string().contains("not-the-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_vault_stand_in_refuses_a_foreign_token_with_a_challenge() {
    // Raw check of the peer the tests rely on: no token → 401 with the bearer challenge.
    let url = format!(
        "{}?api-version={}",
        peer_env("VAULT_TEST_AZURE_SECRET_ID"),
        vault_azure::API_VERSION
    );
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 401);
    let c = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    let c = vault_azure::challenge::Challenge::parse(&c).unwrap();
    assert_eq!(
        c.tenant(),
        Some(peer_env("VAULT_TEST_AZURE_TENANT").as_str())
    );
    assert_eq!(c.audience(), Some("https://vault.azure.net"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_sign_in_then_read() {
    let provider = builder().flow(SignInFlow::DeviceCode).build().unwrap();
    let user = DeviceUser::default();
    let v = provider
        .fetch(&link(&peer_env("VAULT_TEST_AZURE_SECRET_ID")), &user)
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), peer_env("VAULT_TEST_AZURE_SECRET_VALUE"));
    let shown = user.shown.lock().unwrap()[0].clone();
    assert!(
        shown
            .verification_uri
            .path()
            .ends_with("/oauth2/v2.0/deviceauth"),
        "{}",
        shown.verification_uri
    );
    assert_eq!(shown.user_code.len(), 9, "{}", shown.user_code);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_session_resumes_without_the_browser_and_a_refused_one_signs_in_again() {
    use vault_core::{MemorySessionStore, SessionStore, StoreKey};
    let store = Arc::new(MemorySessionStore::new());
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let l = link(&peer_env("VAULT_TEST_AZURE_SECRET_ID"));
    let want = peer_env("VAULT_TEST_AZURE_SECRET_VALUE");
    let browser = HeadlessBrowser::default();

    let first = builder()
        .clock(clock.clone())
        .session_store(store.clone())
        .build()
        .unwrap();
    assert_eq!(
        first.fetch(&l, &browser).await.unwrap().expose_secret(),
        want
    );
    assert_eq!(store.len(), 1);
    drop(first);

    // The next "run", an hour later: the saved refresh token renews at the real server
    // (which rotates it), no browser.
    clock.advance(Duration::minutes(61));
    let second = builder()
        .clock(clock.clone())
        .session_store(store.clone())
        .build()
        .unwrap();
    assert!(second.session().is_signed_in());
    assert_eq!(
        second.fetch(&l, &NoUser).await.unwrap().expose_secret(),
        want
    );
    assert_eq!(browser.opened(), 1);
    drop(second);

    // A record the server refuses (a made-up refresh token): removed, normal sign-in.
    let key = StoreKey::new(
        ProviderId::from_static("azure"),
        format!(
            "{}|{}|{}",
            peer_env("VAULT_TEST_AZURE_AUTHORITY"),
            peer_env("VAULT_TEST_AZURE_TENANT"),
            peer_env("VAULT_TEST_AZURE_CLIENT_ID")
        ),
    );
    store
        .save(
            &key,
            &r#"{"v":1,"refresh_token":"forged-refresh-token","expires_at":0}"#.into(),
        )
        .unwrap();
    let third = builder()
        .clock(clock.clone())
        .session_store(store.clone())
        .build()
        .unwrap();
    assert_eq!(
        third.fetch(&l, &browser).await.unwrap().expose_secret(),
        want
    );
    assert_eq!(browser.opened(), 2);
    assert!(!store
        .load(&key)
        .unwrap()
        .unwrap()
        .expose_secret()
        .contains("forged"));
    third.sign_out().await.unwrap();
    assert!(store.is_empty());
}

/// Registers a `private_key_jwt` client at the peer for a key made with openssl; returns
/// the client id and the PEM (certificate + key) path.
async fn registered_certificate(test: &str) -> (String, common::TestCert) {
    let cert = common::make_cert(test);
    let url = format!(
        "{}/{}/reg",
        peer_env("VAULT_TEST_AZURE_AUTHORITY"),
        peer_env("VAULT_TEST_AZURE_TENANT")
    );
    let r = reqwest::Client::new()
        .post(url)
        .json(&serde_json::json!({
            "token_endpoint_auth_method": "private_key_jwt",
            "grant_types": ["client_credentials"], "response_types": [], "redirect_uris": [],
            "jwks": {"keys": [{"kty": "RSA", "use": "sig", "e": "AQAB", "n": cert.n}]}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "the peer's registration endpoint");
    let v: serde_json::Value = r.json().await.unwrap();
    (v["client_id"].as_str().unwrap().to_owned(), cert)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_pem_and_pkcs12_read_a_secret() {
    let (client_id, cert) = registered_certificate("peer").await;
    let l = link(&peer_env("VAULT_TEST_AZURE_SECRET_ID"));
    for (file, password) in [(&cert.both_pem, None), (&cert.p12, Some("p12-pass"))] {
        let mut b = AzureProvider::builder()
            .tenant(peer_env("VAULT_TEST_AZURE_TENANT"))
            .client_id(client_id.clone())
            .authority(peer_env("VAULT_TEST_AZURE_AUTHORITY"))
            .vault_host(peer_env("VAULT_TEST_AZURE_VAULT_HOST"))
            .flow(SignInFlow::Certificate)
            .client_certificate(file);
        if let Some(pw) = password {
            b = b.client_certificate_password(pw.into());
        }
        let p = b.build().unwrap();
        let v = p.fetch(&l, &NoUser).await.unwrap();
        assert_eq!(v.expose_secret(), peer_env("VAULT_TEST_AZURE_SECRET_VALUE"));
        assert_eq!(p.credential_source(), Some("certificate"));
    }
    let _ = std::fs::remove_dir_all(&cert.dir);
}
