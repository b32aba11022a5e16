//! End-to-end tests against a real moto server with SigV4 signature and IAM policy checking
//! switched on (started and seeded by `.ci/peers/peer-moto.sh`).
#![cfg(feature = "peers")]

mod support;

use std::sync::Arc;

use secrecy::ExposeSecret;
use support::{link, peer_var};
use url::Url;
use vault_aws::{AwsProvider, Credentials, Endpoints, Mfa, RetryPolicy};
use vault_core::{Config, ErrorKind, MapEnv, NoInteraction, Provider, Resolver};

fn endpoint() -> Url {
    Url::parse(&peer_var("VAULT_TEST_AWS_ENDPOINT")).unwrap()
}

fn alice() -> Credentials {
    Credentials::new(
        peer_var("VAULT_TEST_AWS_ACCESS_KEY_ID"),
        peer_var("VAULT_TEST_AWS_SECRET_ACCESS_KEY"),
    )
}

fn provider(creds: Credentials) -> AwsProvider {
    AwsProvider::builder()
        .region(peer_var("VAULT_TEST_AWS_REGION"))
        .static_credentials(creds)
        .endpoints(Endpoints::default().all(endpoint()))
        // Discovery runs for real: alice has no MFA device on this server.
        .mfa(Mfa::Discover)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

async fn fetch(p: &AwsProvider, l: vault_core::Link) -> Result<String, vault_core::Error> {
    p.validate_link(&l)?;
    p.fetch(&l, &NoInteraction)
        .await
        .map(|v| v.expose_secret().to_owned())
}

#[tokio::test]
async fn right_keys_read_the_current_value() {
    let p = provider(alice());
    let v = fetch(&p, link(&peer_var("VAULT_TEST_AWS_SECRET_ARN")))
        .await
        .unwrap();
    assert_eq!(v, peer_var("VAULT_TEST_AWS_SECRET_V2_VALUE"));
    assert!(p.session().is_signed_in());
}

#[tokio::test]
async fn version_id_and_version_stage() {
    let p = provider(alice());
    let arn = peer_var("VAULT_TEST_AWS_SECRET_ARN");
    let v1 = peer_var("VAULT_TEST_AWS_SECRET_V1_VALUE");
    let v2 = peer_var("VAULT_TEST_AWS_SECRET_V2_VALUE");
    for (version, want) in [
        (peer_var("VAULT_TEST_AWS_SECRET_V1"), &v1),
        (peer_var("VAULT_TEST_AWS_SECRET_V2"), &v2),
        ("AWSPREVIOUS".to_owned(), &v1),
        ("AWSCURRENT".to_owned(), &v2),
        ("blue".to_owned(), &v1),
    ] {
        let got = fetch(&p, link(&arn).with("version", version.as_str()))
            .await
            .unwrap();
        assert_eq!(&got, want, "version {version}");
    }
    let e = fetch(&p, link(&arn).with("version", "no-such-label"))
        .await
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::NotFound | ErrorKind::InvalidRequest),
        "{e}"
    );
}

#[tokio::test]
async fn wrong_secret_key_is_a_clear_signature_error() {
    let creds = Credentials::new(
        peer_var("VAULT_TEST_AWS_ACCESS_KEY_ID"),
        "wrong-secret-key-canary",
    );
    let e = fetch(
        &provider(creds),
        link(&peer_var("VAULT_TEST_AWS_SECRET_ARN")),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    let text = format!("{e} {e:?}");
    assert!(text.contains("SignatureDoesNotMatch"), "{text}");
    assert!(text.contains("HTTP 403"), "{text}");
    assert!(!text.contains("canary"), "{text}");
}

#[tokio::test]
async fn unknown_access_key_is_refused() {
    let creds = Credentials::new("AKIAUNKNOWNUNKNOWN00", "whatever");
    let e = fetch(
        &provider(creds),
        link(&peer_var("VAULT_TEST_AWS_SECRET_ARN")),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(e.message().contains("InvalidClientTokenId"), "{e}");
}

#[tokio::test]
async fn key_without_permission_is_denied() {
    let creds = Credentials::new(
        peer_var("VAULT_TEST_AWS_DENIED_ACCESS_KEY_ID"),
        peer_var("VAULT_TEST_AWS_DENIED_SECRET_ACCESS_KEY"),
    );
    let e = fetch(
        &provider(creds),
        link(&peer_var("VAULT_TEST_AWS_SECRET_ARN")),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(e.message().contains("AccessDenied"), "{e}");
    assert!(e.message().contains("GetSecretValue of app/db"), "{e}");
}

#[tokio::test]
async fn assumed_role_credentials_work_and_are_shared() {
    let p = provider(alice());
    let role = peer_var("VAULT_TEST_AWS_ROLE_ARN");
    let arn = peer_var("VAULT_TEST_AWS_SECRET_ARN");
    let eu = peer_var("VAULT_TEST_AWS_EU_SECRET_ARN");
    let (a, b, c) = tokio::join!(
        fetch(&p, link(&arn).with("role_arn", role.as_str())),
        fetch(&p, link(&eu).with("role_arn", role.as_str())),
        fetch(
            &p,
            link(&arn)
                .with("role_arn", role.as_str())
                .with("version", "AWSPREVIOUS")
        ),
    );
    assert_eq!(a.unwrap(), peer_var("VAULT_TEST_AWS_SECRET_V2_VALUE"));
    assert_eq!(b.unwrap(), peer_var("VAULT_TEST_AWS_EU_SECRET_VALUE"));
    assert_eq!(c.unwrap(), peer_var("VAULT_TEST_AWS_SECRET_V1_VALUE"));
}

#[tokio::test]
async fn a_role_that_does_not_trust_the_user_is_denied() {
    let p = provider(alice());
    let role = peer_var("VAULT_TEST_AWS_LOCKED_ROLE_ARN");
    let e = fetch(
        &p,
        link(&peer_var("VAULT_TEST_AWS_SECRET_ARN")).with("role_arn", role.as_str()),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(e.message().contains("AssumeRole"), "{e}");
    assert!(e.message().contains(&role), "{e}");
}

#[tokio::test]
async fn secret_in_another_region() {
    let p = provider(alice());
    let eu = peer_var("VAULT_TEST_AWS_EU_SECRET_ARN");
    assert!(eu.contains(":eu-west-1:"), "{eu}");
    assert_eq!(
        fetch(&p, link(&eu)).await.unwrap(),
        peer_var("VAULT_TEST_AWS_EU_SECRET_VALUE")
    );
}

#[tokio::test]
async fn binary_secret_comes_back_as_base64() {
    let p = provider(alice());
    assert_eq!(
        fetch(&p, link(&peer_var("VAULT_TEST_AWS_BINARY_SECRET_ARN")))
            .await
            .unwrap(),
        peer_var("VAULT_TEST_AWS_BINARY_SECRET_BASE64")
    );
}

#[tokio::test]
async fn missing_secret_is_not_found() {
    let p = provider(alice());
    let arn = peer_var("VAULT_TEST_AWS_SECRET_ARN");
    let (prefix, _) = arn.rsplit_once(":secret:").unwrap();
    let missing = format!("{prefix}:secret:no/such-secret-AbCdEf");
    let e = fetch(&p, link(&missing)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.message().contains("ResourceNotFoundException"), "{e}");
}

#[tokio::test]
async fn describe_gives_metadata_never_the_value() {
    let p = provider(alice());
    let d = p
        .describe(
            &link(&peer_var("VAULT_TEST_AWS_SECRET_ARN")),
            &NoInteraction,
        )
        .await
        .unwrap();
    assert_eq!(d.name.as_deref(), Some("app/db"));
    assert_eq!(d.version, Some(peer_var("VAULT_TEST_AWS_SECRET_V2")));
    assert!(d.created.is_some());
    let text = format!("{d:?}");
    assert!(text.contains("AWSPREVIOUS"), "{text}");
    assert!(
        !text.contains("v1-pass") && !text.contains("v2-pass"),
        "{text}"
    );
}

/// A credentials file with `default` (a key without permission) and `main` (the right key):
/// `main` wins. Goes through the config file, `from_settings` and the resolver.
#[tokio::test]
async fn config_file_profile_main_before_default() {
    let dir = std::env::temp_dir().join(format!(
        "vault-aws-peer-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let creds = dir.join("credentials");
    std::fs::write(
        &creds,
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n# the one to use\n[main]\naws_access_key_id={}\naws_secret_access_key={}\n",
            peer_var("VAULT_TEST_AWS_DENIED_ACCESS_KEY_ID"),
            peer_var("VAULT_TEST_AWS_DENIED_SECRET_ACCESS_KEY"),
            peer_var("VAULT_TEST_AWS_ACCESS_KEY_ID"),
            peer_var("VAULT_TEST_AWS_SECRET_ACCESS_KEY"),
        ),
    )
    .unwrap();
    let config = Config::parse(&format!(
        r#"
[integrations.aws]
region = "{region}"
credentials_file = "{file}"
endpoint_url = "{endpoint}"

[secrets.db.aws]
secret_arn = "{arn}"
version = "AWSPREVIOUS"
"#,
        region = peer_var("VAULT_TEST_AWS_REGION"),
        file = creds.display(),
        endpoint = peer_var("VAULT_TEST_AWS_ENDPOINT"),
        arn = peer_var("VAULT_TEST_AWS_SECRET_ARN"),
    ))
    .unwrap();
    let settings = config.integrations.values().next().unwrap();
    let provider = vault_aws::from_settings(settings, &MapEnv::new()).unwrap();
    let resolver = Resolver::builder(config.vault.clone())
        .provider(provider)
        .env(Arc::new(MapEnv::new()))
        .build();
    let v = resolver.get("db", None).await;
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        v.unwrap().expose_secret(),
        peer_var("VAULT_TEST_AWS_SECRET_V1_VALUE")
    );
}

#[tokio::test]
async fn login_checks_the_keys_on_the_wire() {
    let build = |creds| {
        AwsProvider::builder()
            .static_credentials(creds)
            .endpoints(Endpoints::default().all(endpoint()))
            .mfa(Mfa::Off)
            .retry(RetryPolicy::none())
            .build()
            .unwrap()
    };
    let state = build(alice()).sign_in(&NoInteraction).await.unwrap();
    assert_eq!(state, vault_core::SessionState::SignedIn { until: None });
    let wrong = Credentials::new(peer_var("VAULT_TEST_AWS_ACCESS_KEY_ID"), "wrong");
    let e = build(wrong).sign_in(&NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(e.message().contains("SignatureDoesNotMatch"), "{e}");
}
