//! Canary: a token and a value that must never appear in any `Debug` or `Display` output of
//! this crate's public types, nor in its errors (even when the server echoes them back).

mod mock;

use std::sync::Arc;

use mock::*;
use secrecy::SecretString;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use vault_core::{Interaction, NoInteraction, Provider};
use vault_hashicorp::headless::UserpassBrowser;
use vault_hashicorp::setup::SetupConfig;
use vault_hashicorp::token::VaultToken;
use vault_hashicorp::{Namespace, VaultAddress};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "s.CANARYTOKEN0123456789abcdef";
const VALUE: &str = "CANARY-VALUE-9f8e7d";

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains("CANARY"), "{what} leaks a canary: {text}");
}

#[tokio::test]
async fn no_public_type_or_error_prints_a_token_or_value() {
    let server = Arc::new(MockServer::start().await);
    mount_kv(&server, "secret", "2").await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app/db"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"data": {"password": VALUE}}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app/echo"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"errors": [format!("token {TOKEN} may not read {VALUE}")]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/auth/token/lookup-self"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {}})))
        .mount(&server)
        .await;

    let b = builder(&server, "").token(SecretString::from(TOKEN));
    assert_clean("HashicorpBuilder {:?}", &format!("{b:?}"));
    let p = b.build().unwrap();
    let v = p
        .fetch(&link("secret", "app/db", "password"), &NoInteraction)
        .await
        .unwrap();
    assert_clean("SecretString {:?}", &format!("{v:?}"));
    assert_clean("HashicorpProvider {:?}", &format!("{p:?}"));
    assert_clean("settings {:?}", &format!("{:?}", p.settings()));
    assert_clean("session {}", &format!("{} {:?}", p.session(), p.session()));

    let e = p
        .fetch(&link("secret", "app/db", "nope"), &NoInteraction)
        .await
        .unwrap_err();
    assert_clean("missing-key error", &format!("{e} {e:?}"));
    let e = p
        .fetch(&link("secret", "app/echo", "password"), &NoInteraction)
        .await
        .unwrap_err();
    // the server's echo of the token is redacted (the value is not ours to know, but the
    // token is)
    assert!(!format!("{e} {e:?}").contains(TOKEN), "{e}");

    let t = VaultToken::new(
        SecretString::from(TOKEN),
        Duration::hours(1),
        true,
        OffsetDateTime::UNIX_EPOCH,
    );
    assert_clean("VaultToken {:?}", &format!("{t:?}"));
    let c = SetupConfig::new("http://127.0.0.1:8200", SecretString::from(TOKEN)).unwrap();
    assert_clean("SetupConfig {:?}", &format!("{c:?}"));
    let raw = vault_hashicorp::RawSettings::default();
    assert_clean("RawSettings {:?}", &format!("{raw:?}"));

    // the scripted browser holds a password and obtains a token from the server
    Mock::given(method("POST"))
        .and(path("/v1/auth/userpass/login/alice"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"auth": {"client_token": TOKEN}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/identity/oidc/provider/vault-refs/authorize"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": format!("{TOKEN} {VALUE}"), "code": VALUE})),
        )
        .mount(&server)
        .await;
    let b = UserpassBrowser::new(
        VaultAddress::parse(&server.uri()).unwrap(),
        Namespace::root(),
        "alice",
        SecretString::from(VALUE),
        &format!("{}/v1/identity/oidc/provider/vault-refs", server.uri()),
    );
    assert_clean("UserpassBrowser {:?}", &format!("{b:?}"));
    let url = url::Url::parse(&format!(
        "{}/ui/authorize?redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=s",
        server.uri()
    ))
    .unwrap();
    let e = b.open_url(&url).await.unwrap_err();
    assert!(!format!("{e} {e:?}").contains(TOKEN), "{e}");
}
