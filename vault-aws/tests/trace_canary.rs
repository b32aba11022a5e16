//! Everything a `tracing` subscriber records at TRACE (every target: ours, reqwest's, hyper's,
//! aws-sigv4's, and every `log` record) while resolving through AWS: a sign-in with an MFA
//! code, a throttled call retried, a value fetched, an error echoing the session token. The
//! canary (in the value, the secret key, the session token, the MFA code) appears nowhere;
//! the events a host relies on do happen.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use support::{link, CodeInteraction};
use url::Url;
use vault_aws::{AwsProvider, Credentials, Endpoints, Mfa, RetryPolicy};
use vault_core::trace_capture::TraceRecorder;
use vault_core::{ErrorKind, Resolver, Vault, VaultSecret};
use wiremock::matchers::{body_string_contains, header};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CANARY: &str = "CANARYawsTRACE93";
/// The MFA code: six digits, searched for too.
const CODE: &str = "739148";
const ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db-AbCdEf";
const DENIED: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/no-QwErTy";

fn session() -> String {
    format!(
        r#"<GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetSessionTokenResult><Credentials><AccessKeyId>ASIASESSION000000000</AccessKeyId><SecretAccessKey>session-{CANARY}</SecretAccessKey><SessionToken>token-{CANARY}</SessionToken><Expiration>2999-01-01T00:00:00Z</Expiration></Credentials></GetSessionTokenResult>
</GetSessionTokenResponse>"#
    )
}

#[tokio::test]
async fn nothing_recorded_at_trace_holds_a_secret() {
    let server = MockServer::start().await;
    Mock::given(body_string_contains("Action=GetSessionToken"))
        .respond_with(ResponseTemplate::new(200).set_body_string(session()))
        .mount(&server)
        .await;
    let target = || header("x-amz-target", "secretsmanager.GetSecretValue");
    Mock::given(target())
        .and(body_string_contains("no-QwErTy"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("x-amzn-errortype", "AccessDeniedException")
                .set_body_json(json!({
                    "__type": "AccessDeniedException",
                    "message": format!("token token-{CANARY} may not read this")
                })),
        )
        .mount(&server)
        .await;
    Mock::given(target())
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(target())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ARN": ARN, "Name": "app/db", "SecretString": CANARY})),
        )
        .mount(&server)
        .await;
    let provider = AwsProvider::builder()
        .region("us-east-1")
        .static_credentials(
            Credentials::new("AKIAIOSFODNN7EXAMPLE", format!("key-{CANARY}"))
                .with_session_token(format!("base-{CANARY}")),
        )
        .endpoints(Endpoints::default().all(Url::parse(&server.uri()).unwrap()))
        .mfa(Mfa::Serial("arn:aws:iam::123456789012:mfa/alice".into()))
        .retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_retry_after: Duration::from_secs(1),
        })
        .build()
        .unwrap();
    let vault = Vault::new()
        .with("db", VaultSecret::link(link(ARN)))
        .with("denied", VaultSecret::link(link(DENIED)));
    let resolver = Resolver::builder(vault)
        .provider(Arc::new(provider))
        .interaction(Arc::new(CodeInteraction::new(CODE)))
        .build();

    let recorder = TraceRecorder::new();
    let guard = recorder.install();
    let db = resolver.value("db").await.unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(&db), CANARY);
    let e = resolver.value("denied").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    drop(guard);

    // Everything but the mock server's own logs (it is the other end: it sees every secret).
    let text = recorder.text_without("wiremock");
    for secret in [CANARY, CODE] {
        assert!(!text.contains(secret), "{secret} recorded:\n{text}");
    }
    // The events happened, with their fields.
    let sign_in = recorder.events("sign-in");
    assert!(
        sign_in
            .iter()
            .any(|e| e.field("provider") == Some("aws") && e.field("outcome") == Some("ok")),
        "{text}"
    );
    let retry = recorder.events("retry");
    assert!(
        retry.iter().any(|e| e.field("provider") == Some("aws")
            && e.field("attempt") == Some("1")
            && e.field("reason") == Some("rate limited")),
        "{text}"
    );
    let fetches = recorder.events("fetch");
    assert!(fetches.iter().any(|e| e.field("outcome") == Some("ok")));
    assert!(fetches
        .iter()
        .any(|e| e.field("error_kind") == Some("permission denied")));
    assert!(recorder
        .records()
        .iter()
        .any(|r| r.kind == "span" && r.field("secret") == Some("denied")));
    let m = resolver.metrics();
    assert_eq!((m.sign_ins, m.retries, m.fetches), (1, 1, 2), "{m:?}");
    assert_eq!(m.errors_of(ErrorKind::PermissionDenied), 1, "{m:?}");
}
