//! The scripted browser (`headless::UserpassBrowser`) on wiremock: the code goes only to a
//! loopback redirect_uri, the userpass token only to the issuer on the given Vault address,
//! and redirects are not followed.

use secrecy::SecretString;
use serde_json::json;
use url::Url;
use vault_core::{ErrorKind, Interaction};
use vault_hashicorp::headless::UserpassBrowser;
use vault_hashicorp::{Namespace, VaultAddress};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PROVIDER: &str = "/v1/identity/oidc/provider/vault-refs";

fn issuer(server: &MockServer) -> String {
    format!("{}{PROVIDER}", server.uri())
}

fn browser(server: &MockServer, issuer: &str) -> UserpassBrowser {
    UserpassBrowser::new(
        VaultAddress::parse(&server.uri()).unwrap(),
        Namespace::root(),
        "alice",
        SecretString::from("CANARY-PASSWORD"),
        issuer,
    )
}

fn authorization_url(server: &MockServer, redirect_uri: &str) -> Url {
    let mut u = Url::parse(&format!(
        "{}/ui/vault/identity/oidc/provider/vault-refs/authorize",
        server.uri()
    ))
    .unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", "cid")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("state", "st-1");
    u
}

/// Userpass login and authorize on `server`.
async fn mount_vault(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v1/auth/userpass/login/alice"))
        .and(body_json(json!({"password": "CANARY-PASSWORD"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"auth": {"client_token": "s.userpass-token"}})),
        )
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{PROVIDER}/authorize")))
        .and(header("X-Vault-Token", "s.userpass-token"))
        .and(query_param("client_id", "cid"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"code": "the-code", "state": "st-1"})),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn delivers_the_code_to_the_loopback_listener() {
    let vault = MockServer::start().await;
    mount_vault(&vault).await;
    let listener = MockServer::start().await; // wiremock listens on 127.0.0.1
    Mock::given(method("GET"))
        .and(path("/cb"))
        .and(query_param("code", "the-code"))
        .and(query_param("state", "st-1"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&listener)
        .await;
    let b = browser(&vault, &issuer(&vault));
    b.open_url(&authorization_url(
        &vault,
        &format!("{}/cb", listener.uri()),
    ))
    .await
    .unwrap();
    assert_eq!(b.opened(), 1);
    assert!(!format!("{b:?}").contains("CANARY"), "{b:?}");
}

#[tokio::test]
async fn refuses_a_redirect_uri_that_is_not_loopback() {
    let vault = MockServer::start().await;
    mount_vault(&vault).await;
    let b = browser(&vault, &issuer(&vault));
    for bad in [
        "http://evil.example:8080/cb",
        "https://127.0.0.1:8080/cb",
        "http://localhost:8080/cb",
        "http://10.0.0.1:8080/cb",
        "not a url",
    ] {
        let e = b
            .open_url(&authorization_url(&vault, bad))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthFailed, "{bad}: {e}");
        assert!(e.message().contains("redirect_uri"), "{e}");
    }
    // refused before anything was sent: no userpass login, no authorize
    assert!(vault.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn sends_its_token_only_to_an_issuer_on_the_vault_address() {
    let vault = MockServer::start().await;
    let other = MockServer::start().await;
    mount_vault(&vault).await;
    mount_vault(&other).await;
    let listener = MockServer::start().await;
    let foreign = issuer(&other);
    let e = UserpassBrowser::try_new(
        VaultAddress::parse(&vault.uri()).unwrap(),
        Namespace::root(),
        "alice",
        SecretString::from("CANARY-PASSWORD"),
        &foreign,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{e}");
    assert!(e.message().contains("not on the Vault server"), "{e}");
    // `new` cannot fail: the same error comes from every open_url, with nothing sent
    let b = browser(&vault, &foreign);
    let e = b
        .open_url(&authorization_url(
            &vault,
            &format!("{}/cb", listener.uri()),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{e}");
    for s in [&vault, &other, &listener] {
        assert!(s.received_requests().await.unwrap().is_empty());
    }
    // plain http to a host that is not loopback is refused too
    let e = UserpassBrowser::try_new(
        VaultAddress::parse("https://vault.example.com").unwrap(),
        Namespace::root(),
        "alice",
        SecretString::from("CANARY-PASSWORD"),
        "http://vault.example.com/v1/identity/oidc/provider/vault-refs",
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{e}");
    assert!(!format!("{e} {e:?}").contains("CANARY"));
}

#[tokio::test]
async fn does_not_follow_a_redirect_with_its_token() {
    let vault = MockServer::start().await;
    let thief = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/userpass/login/alice"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"auth": {"client_token": "s.userpass-token"}})),
        )
        .mount(&vault)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{PROVIDER}/authorize")))
        .respond_with(
            ResponseTemplate::new(307).insert_header("Location", format!("{}/grab", thief.uri())),
        )
        .mount(&vault)
        .await;
    let listener = MockServer::start().await;
    let b = browser(&vault, &issuer(&vault));
    let e = b
        .open_url(&authorization_url(
            &vault,
            &format!("{}/cb", listener.uri()),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(e.message().contains("HTTP 307"), "{e}");
    assert!(thief.received_requests().await.unwrap().is_empty());
    assert!(listener.received_requests().await.unwrap().is_empty());
    assert!(!format!("{e} {e:?}").contains("s.userpass"));
}

#[tokio::test]
async fn a_user_name_cannot_leave_the_login_path() {
    let vault = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400))
        .mount(&vault)
        .await;
    let listener = MockServer::start().await;
    let b = UserpassBrowser::new(
        VaultAddress::parse(&vault.uri()).unwrap(),
        Namespace::root(),
        "../../../sys/seal",
        SecretString::from("pw"),
        &issuer(&vault),
    );
    assert!(b
        .open_url(&authorization_url(
            &vault,
            &format!("{}/cb", listener.uri())
        ))
        .await
        .is_err());
    let reqs = vault.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    assert!(
        reqs[0].url.path().starts_with("/v1/auth/userpass/login/"),
        "{}",
        reqs[0].url.path()
    );
}
