//! Formats every public type of the crate that holds a secret, with `{:?}` and (where it
//! exists) `{}`, after real use, and checks that no token, code, client secret or value
//! shows. The canary is also echoed by the servers in their error texts.

mod common;

use std::sync::Arc;

use common::InstantApproval;
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use vault_azure::{AzureProvider, AzureSettings, SignInFlow};
use vault_core::{Interaction, Link, ManualClock, Provider, ProviderId};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CANARY: &str = "CANARY7f3a";

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(CANARY), "{what} leaks the canary: {text}");
}

#[tokio::test]
async fn no_secret_is_ever_formatted() {
    let server = MockServer::start().await;
    common::mount_jwks(&server).await;
    let token = "/t1/oauth2/v2.0/token";
    let browser = InstantApproval::new(&format!("code-{CANARY}"));
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
            "error": "invalid_grant", "error_description": format!("AADSTS700082: refresh token refresh-{CANARY} expired")
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/secrets/ok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "value": format!("value-{CANARY}"), "id": format!("{}/secrets/ok/4387e9f3d6e14c459867679a90fd0f79", server.uri()),
            "attributes": {"enabled": true}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/secrets/denied"))
        .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!({
            "error": {"code": "Forbidden", "message": format!("token access-{CANARY} lacks permission"), "innererror": {"code": "ForbiddenByRbac"}}
        })))
        .mount(&server)
        .await;

    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let builder = AzureProvider::builder()
        .tenant("t1")
        .client_id("app")
        .authority(server.uri())
        .vault_host(server.uri().trim_start_matches("http://"))
        .clock(clock.clone());
    assert_clean("builder", &format!("{builder:?}"));
    let p = builder.build().unwrap();
    let link = |n: &str| {
        Link::new(ProviderId::from_static("azure"))
            .with("identifier", format!("{}/secrets/{n}", server.uri()))
    };

    let bundle = p.get_secret(&link("ok"), &browser).await.unwrap();
    assert_eq!(bundle.value.expose_secret(), format!("value-{CANARY}"));
    assert_clean("bundle", &format!("{bundle:?}"));
    let value = p.fetch(&link("ok"), &browser).await.unwrap();
    assert_clean("value", &format!("{value:?}"));
    assert_clean("provider", &format!("{p:?}"));
    let details = p.describe(&link("ok"), &browser).await.unwrap();
    assert_clean("details", &format!("{details:?}"));

    let e = p.fetch(&link("denied"), &browser).await.unwrap_err();
    assert_clean("403 error", &format!("{e} {e:?}"));

    clock.advance(time::Duration::hours(2));
    let e = p.fetch(&link("ok"), &browser).await.unwrap_err();
    assert_clean("refresh error", &format!("{e} {e:?}"));
    assert_clean("provider after", &format!("{p:?} {}", p.session()));

    // Client credentials: the secret in builder, provider and errors.
    let b = AzureProvider::builder()
        .tenant("t2")
        .client_id("app")
        .authority(server.uri())
        .flow(SignInFlow::ClientCredentials)
        .client_secret(format!("secret-{CANARY}").into());
    assert_clean("cc builder", &format!("{b:?}"));
    let p = b.build().unwrap();
    assert_clean("cc provider", &format!("{p:?}"));
    let e = p
        .fetch(&link("ok"), &browser as &dyn Interaction)
        .await
        .unwrap_err();
    assert_clean("cc error", &format!("{e} {e:?}"));

    let s = AzureSettings::default();
    assert_clean("settings", &format!("{s:?}"));
}
