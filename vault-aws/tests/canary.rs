//! No secret ever shows in `{:?}` or `{}`: every public type of the crate that holds a secret
//! (keys, session tokens, credentials files, values, MFA codes) is formatted with a canary in
//! it, and the canary must not appear.

mod support;

use secrecy::ExposeSecret;
use serde_json::json;
use support::link;
use url::Url;
use vault_aws::{
    AwsProvider, CredentialSource, Credentials, Endpoints, Mfa, ProfileFile, ProfileFileSource,
    RetryPolicy,
};
use vault_core::{NoInteraction, Provider};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CANARY: &str = "CANARY-7f3a9c";
const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf";

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(CANARY), "{what} leaks the canary: {text}");
}

fn creds() -> Credentials {
    Credentials::new(format!("AKIA{CANARY}"), format!("secret-{CANARY}"))
        .with_session_token(format!("token-{CANARY}"))
}

#[test]
fn credentials_and_sources() {
    let c = creds();
    assert_clean("Credentials", &format!("{c:?}"));
    assert_clean("Credentials key hint", &c.key_hint());
    let s = CredentialSource::Chain(vec![
        CredentialSource::Static(c.clone()),
        CredentialSource::Environment,
        CredentialSource::ProfileFile(ProfileFileSource::default()),
    ]);
    assert_clean("CredentialSource", &format!("{s:?}"));
}

#[test]
fn profile_files_and_their_errors() {
    let text = format!(
        "[main]\naws_access_key_id = AKIA{CANARY}\naws_secret_access_key = {CANARY}\naws_session_token = {CANARY}\n"
    );
    let f = ProfileFile::parse(&text).unwrap();
    assert_clean("ProfileFile", &format!("{f:?}"));
    assert_clean("Profile", &format!("{:?}", f.profile("main").unwrap()));
    let e = ProfileFile::parse(&format!("[main]\n{CANARY}\n")).unwrap_err();
    assert_clean("ProfileFileError", &format!("{e} {e:?}"));
    let e = ProfileFile::parse(&format!("{CANARY} = 1\n")).unwrap_err();
    assert_clean("ProfileFileError", &format!("{e} {e:?}"));
}

#[test]
fn provider_and_builder() {
    let b = AwsProvider::builder()
        .static_credentials(creds())
        .mfa(Mfa::Off);
    assert_clean("AwsProviderBuilder", &format!("{b:?}"));
    let p = b.build().unwrap();
    assert_clean("AwsProvider", &format!("{p:?}"));
}

#[tokio::test]
async fn values_and_errors() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::header(
        "x-amz-target",
        "secretsmanager.GetSecretValue",
    ))
    .and(wiremock::matchers::body_string_contains("AWSPREVIOUS"))
    .respond_with(
        ResponseTemplate::new(200).set_body_json(json!({"SecretString": 5, "Name": CANARY})),
    )
    .mount(&server)
    .await;
    Mock::given(wiremock::matchers::header(
        "x-amz-target",
        "secretsmanager.GetSecretValue",
    ))
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({"SecretString": CANARY})))
    .mount(&server)
    .await;
    let p = AwsProvider::builder()
        .static_credentials(creds())
        .endpoints(Endpoints::default().all(Url::parse(&server.uri()).unwrap()))
        .mfa(Mfa::Off)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let v = p.fetch(&link(ARN), &NoInteraction).await.unwrap();
    assert_eq!(v.expose_secret(), CANARY);
    assert_clean("the fetched SecretString", &format!("{v:?}"));
    let e = p
        .fetch(&link(ARN).with("version", "AWSPREVIOUS"), &NoInteraction)
        .await
        .unwrap_err();
    assert_clean("an invalid-response error", &format!("{e} {e:?}"));

    // A refused key: the error names the call, never the key or the token.
    let refused = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(403).set_body_string(format!(
            "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>canonical {CANARY}</Message></Error></ErrorResponse>"
        )))
        .mount(&refused)
        .await;
    let p = AwsProvider::builder()
        .static_credentials(creds())
        .endpoints(Endpoints::default().all(Url::parse(&refused.uri()).unwrap()))
        .mfa(Mfa::Off)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
    assert_clean("an auth error", &format!("{e} {e:?}"));
}

#[test]
fn credential_errors_name_what_was_looked_for_not_values() {
    let env = vault_core::MapEnv::new().with("AWS_ACCESS_KEY_ID", CANARY);
    let e = CredentialSource::Environment.describe(&env).unwrap_err();
    assert_clean("a half-set environment error", &format!("{e} {e:?}"));
}
