//! Exact requests and every error, against wiremock: what goes on the wire (target header,
//! body, credential scope region, session token header, form bodies of STS/IAM) and how each
//! answer is understood (JSON and XML errors, retries, timeouts, MFA and role flows).

mod support;

use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::json;
use support::{link, CodeInteraction};
use url::Url;
use vault_aws::{AwsProvider, AwsProviderBuilder, Credentials, Endpoints, Mfa, RetryPolicy};
use vault_core::{ErrorKind, NoInteraction, Provider};
use wiremock::matchers::{
    body_json, body_string, body_string_contains, header, header_exists, method, path,
};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db-AbCdEf";
const ROLE: &str = "arn:aws:iam::123456789012:role/reader";
const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY: &str = "secret-key-canary";

fn builder(server: &MockServer) -> AwsProviderBuilder {
    AwsProvider::builder()
        .region("us-east-1")
        .static_credentials(Credentials::new(KEY_ID, SECRET_KEY))
        .endpoints(Endpoints::default().all(Url::parse(&server.uri()).unwrap()))
        .mfa(Mfa::Off)
        .retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_retry_after: Duration::from_millis(20),
        })
}

fn target(action: &str) -> impl wiremock::Match {
    header("x-amz-target", format!("secretsmanager.{action}").as_str())
}

/// Matches requests whose SigV4 credential scope is `<key>/<date>/<region>/<service>/aws4_request`.
fn scope(key: &'static str, region: &'static str, service: &'static str) -> impl wiremock::Match {
    move |r: &Request| {
        let auth = r
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={key}/"))
            && auth.contains(&format!("/{region}/{service}/aws4_request"))
    }
}

fn no_header(name: &'static str) -> impl wiremock::Match {
    move |r: &Request| !r.headers.contains_key(name)
}

fn value(v: &str) -> ResponseTemplate {
    // moto sends text/html here; AWS application/x-amz-json-1.1: the type is not relied on.
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_json(
            json!({"ARN": ARN, "Name": "app/db", "VersionId": "v", "SecretString": v,
                              "VersionStages": ["AWSCURRENT"], "CreatedDate": 1.7e9}),
        )
}

fn json_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .insert_header("x-amzn-errortype", code)
        .set_body_json(json!({"__type": code, "message": message}))
}

fn xml_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "text/xml")
        .set_body_string(format!(
            "<ErrorResponse><Errors><Error><Code>{code}</Code><Message>{message}</Message><Type>Sender</Type></Error></Errors></ErrorResponse>"
        ))
}

#[tokio::test]
async fn get_secret_value_request_is_exact() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/"))
        .and(target("GetSecretValue"))
        .and(header("content-type", "application/x-amz-json-1.1"))
        .and(body_json(json!({"SecretId": ARN})))
        .and(scope(KEY_ID, "eu-west-1", "secretsmanager"))
        .and(header_exists("x-amz-date"))
        .and(no_header("x-amz-security-token"))
        .respond_with(value("s3cr3t value, exactly"))
        .expect(1)
        .mount(&server)
        .await;
    let p = builder(&server).build().unwrap();
    let v = p.fetch(&link(ARN), &NoInteraction).await.unwrap();
    assert_eq!(v.expose_secret(), "s3cr3t value, exactly");
}

#[tokio::test]
async fn version_id_and_stage_bodies() {
    let server = MockServer::start().await;
    Mock::given(body_json(
        json!({"SecretId": ARN, "VersionId": "11111111-1111-4111-8111-111111111111"}),
    ))
    .respond_with(value("by id"))
    .expect(1)
    .mount(&server)
    .await;
    Mock::given(body_json(
        json!({"SecretId": ARN, "VersionStage": "AWSPREVIOUS"}),
    ))
    .respond_with(value("by stage"))
    .expect(1)
    .mount(&server)
    .await;
    let p = builder(&server).build().unwrap();
    let by_id = link(ARN).with("version", "11111111-1111-4111-8111-111111111111");
    let by_stage = link(ARN).with("version", "AWSPREVIOUS");
    assert_eq!(
        p.fetch(&by_id, &NoInteraction)
            .await
            .unwrap()
            .expose_secret(),
        "by id"
    );
    assert_eq!(
        p.fetch(&by_stage, &NoInteraction)
            .await
            .unwrap()
            .expose_secret(),
        "by stage"
    );
}

#[tokio::test]
async fn session_token_header_with_temporary_keys() {
    let server = MockServer::start().await;
    Mock::given(target("GetSecretValue"))
        .and(header("x-amz-security-token", "session-token-1"))
        .and(scope("ASIATEMPORARY0000000", "eu-west-1", "secretsmanager"))
        .respond_with(value("v"))
        .expect(1)
        .mount(&server)
        .await;
    let p = builder(&server)
        .static_credentials(
            Credentials::new("ASIATEMPORARY0000000", "s").with_session_token("session-token-1"),
        )
        .build()
        .unwrap();
    p.fetch(&link(ARN), &NoInteraction).await.unwrap();
}

#[tokio::test]
async fn binary_secret_is_returned_as_base64_text() {
    let server = MockServer::start().await;
    Mock::given(target("GetSecretValue"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ARN": ARN, "SecretBinary": "AAFiaW5hcnktc2VjcmV0/w=="})),
        )
        .mount(&server)
        .await;
    let p = builder(&server).build().unwrap();
    let v = p.fetch(&link(ARN), &NoInteraction).await.unwrap();
    assert_eq!(v.expose_secret(), "AAFiaW5hcnktc2VjcmV0/w==");
}

#[tokio::test]
async fn every_error_maps_to_its_kind() {
    let cases: Vec<(ResponseTemplate, ErrorKind, &str)> = vec![
        (
            json_error(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."),
            ErrorKind::NotFound,
            "HTTP 400 ResourceNotFoundException: Secrets Manager can't find",
        ),
        (
            json_error(400, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/mallory is not authorized"),
            ErrorKind::PermissionDenied,
            "AccessDeniedException: User: arn:aws:iam::123456789012:user/mallory",
        ),
        (
            xml_error(403, "AccessDenied", "not authorized to perform: secretsmanager:GetSecretValue"),
            ErrorKind::PermissionDenied,
            "HTTP 403 AccessDenied",
        ),
        (
            xml_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match"),
            ErrorKind::AuthFailed,
            "HTTP 403 SignatureDoesNotMatch",
        ),
        (
            xml_error(403, "InvalidClientTokenId", "The security token included in the request is invalid."),
            ErrorKind::AuthFailed,
            "InvalidClientTokenId",
        ),
        (
            json_error(400, "UnrecognizedClientException", "The security token included in the request is invalid."),
            ErrorKind::AuthFailed,
            "UnrecognizedClientException",
        ),
        (
            json_error(400, "ExpiredTokenException", "The security token included in the request is expired"),
            ErrorKind::SessionExpired,
            "ExpiredTokenException",
        ),
        (
            json_error(400, "DecryptionFailure", "Secrets Manager can't decrypt the protected secret text using the provided KMS key."),
            ErrorKind::Unavailable,
            "DecryptionFailure",
        ),
        (
            json_error(400, "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion."),
            ErrorKind::InvalidRequest,
            "InvalidRequestException: You can't perform",
        ),
        (
            json_error(400, "InvalidParameterException", "bad parameter"),
            ErrorKind::InvalidRequest,
            "InvalidParameterException",
        ),
        (
            ResponseTemplate::new(200).set_body_string("<html>not json</html>"),
            ErrorKind::InvalidResponse,
            "not the expected JSON",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"ARN": ARN})),
            ErrorKind::InvalidResponse,
            "neither SecretString nor SecretBinary",
        ),
        (
            ResponseTemplate::new(418),
            ErrorKind::InvalidRequest,
            "HTTP 418",
        ),
    ];
    for (response, kind, text) in cases {
        let server = MockServer::start().await;
        Mock::given(target("GetSecretValue"))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let p = builder(&server).build().unwrap();
        let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{e}");
        assert!(e.message().contains(text), "{text:?} not in {e}");
        assert!(
            e.message().starts_with("GetSecretValue of app/db-AbCdEf"),
            "{e}"
        );
        assert_eq!(e.provider().map(|p| p.as_str()), Some("aws"));
        assert!(!e.is_retryable(), "{e}");
        assert!(!format!("{e:?}").contains("canary"), "{e:?}");
    }
}

#[tokio::test]
async fn throttling_and_5xx_are_retried_a_bounded_number_of_times() {
    for response in [
        json_error(400, "ThrottlingException", "Rate exceeded"),
        ResponseTemplate::new(400).insert_header(
            "x-amzn-errortype",
            "ThrottlingException:http://internal.amazon.com/coral/",
        ),
        xml_error(400, "Throttling", "Rate exceeded"),
        json_error(500, "InternalServiceError", "oops"),
        ResponseTemplate::new(503),
        ResponseTemplate::new(429).insert_header("retry-after", "0"),
    ] {
        let server = MockServer::start().await;
        Mock::given(target("GetSecretValue"))
            .respond_with(response)
            .expect(3)
            .mount(&server)
            .await;
        let p = builder(&server).build().unwrap();
        let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::RateLimited | ErrorKind::Unreachable),
            "{e}"
        );
        assert!(e.is_retryable(), "{e}");
        assert!(e.message().contains("after 3 attempts"), "{e}");
    }
}

#[tokio::test]
async fn a_retry_after_longer_than_the_policy_allows_is_not_waited_for() {
    let server = MockServer::start().await;
    Mock::given(target("GetSecretValue"))
        .respond_with(
            json_error(400, "ThrottlingException", "Rate exceeded")
                .insert_header("retry-after", "120"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let p = builder(&server).build().unwrap();
    let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    assert!(e.is_retryable(), "{e}");
}

#[tokio::test]
async fn a_retry_that_succeeds_returns_the_value() {
    let server = MockServer::start().await;
    Mock::given(target("GetSecretValue"))
        .respond_with(
            json_error(400, "ThrottlingException", "Rate exceeded")
                .insert_header("retry-after", "0"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(target("GetSecretValue"))
        .respond_with(value("after retry"))
        .expect(1)
        .mount(&server)
        .await;
    let p = builder(&server).build().unwrap();
    let v = p.fetch(&link(ARN), &NoInteraction).await.unwrap();
    assert_eq!(v.expose_secret(), "after retry");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(target("GetSecretValue"))
        .respond_with(json_error(400, "AccessDeniedException", "no"))
        .expect(1)
        .mount(&server)
        .await;
    let p = builder(&server).build().unwrap();
    let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let server = MockServer::start().await;
    Mock::given(target("GetSecretValue"))
        .respond_with(value("late").set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let p = builder(&server)
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn an_unreachable_endpoint_is_reported() {
    let p = AwsProvider::builder()
        .static_credentials(Credentials::new(KEY_ID, SECRET_KEY))
        .endpoints(Endpoints::default().all(Url::parse("http://127.0.0.1:9").unwrap()))
        .mfa(Mfa::Off)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unreachable, "{e}");
    assert!(e.message().contains("127.0.0.1"), "{e}");
}

const ASSUME_ROLE_OK: &str = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>ASIAROLE000000000000</AccessKeyId>
      <SecretAccessKey>role-secret</SecretAccessKey>
      <SessionToken>role-token</SessionToken>
      <Expiration>2999-01-01T00:00:00Z</Expiration>
    </Credentials>
    <AssumedRoleUser><AssumedRoleId>AROA:vault-aws</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/reader/vault-aws</Arn></AssumedRoleUser>
  </AssumeRoleResult>
</AssumeRoleResponse>"#;

#[tokio::test]
async fn role_is_assumed_once_for_concurrent_secrets_and_its_keys_sign() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ))
        .and(body_string(
            "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Freader&RoleSessionName=vault-aws",
        ))
        .and(scope(KEY_ID, "us-east-1", "sts"))
        .respond_with(ResponseTemplate::new(200).set_body_string(ASSUME_ROLE_OK))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(target("GetSecretValue"))
        .and(scope("ASIAROLE000000000000", "eu-west-1", "secretsmanager"))
        .and(header("x-amz-security-token", "role-token"))
        .respond_with(value("through the role"))
        .expect(4)
        .mount(&server)
        .await;
    let p = builder(&server).build().unwrap();
    let l = |v: &str| link(ARN).with("role_arn", ROLE).with("version", v);
    let (l1, l2, l3, l4) = (l("AWSCURRENT"), l("AWSPREVIOUS"), l("blue"), l("green"));
    let (a, b, c, d) = tokio::join!(
        p.fetch(&l1, &NoInteraction),
        p.fetch(&l2, &NoInteraction),
        p.fetch(&l3, &NoInteraction),
        p.fetch(&l4, &NoInteraction),
    );
    for v in [a, b, c, d] {
        assert_eq!(v.unwrap().expose_secret(), "through the role");
    }
}

#[tokio::test]
async fn assume_role_denied_names_the_role() {
    let server = MockServer::start().await;
    Mock::given(body_string_contains("Action=AssumeRole"))
        .respond_with(xml_error(
            403,
            "AccessDenied",
            "User is not authorized to perform: sts:AssumeRole",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let p = builder(&server).build().unwrap();
    let e = p
        .fetch(&link(ARN).with("role_arn", ROLE), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(
        e.message().contains("AssumeRole: HTTP 403 AccessDenied"),
        "{e}"
    );
    assert!(e.message().contains(ROLE), "{e}");
}

const CALLER: &str = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/team/alice</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult>
</GetCallerIdentityResponse>"#;

const DEVICES: &str = r#"<ListMFADevicesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ListMFADevicesResult><MFADevices><member><UserName>alice</UserName><SerialNumber>arn:aws:iam::123456789012:mfa/alice-mfa</SerialNumber><EnableDate>2026-01-01T00:00:00Z</EnableDate></member></MFADevices><IsTruncated>false</IsTruncated></ListMFADevicesResult>
</ListMFADevicesResponse>"#;

const SESSION: &str = r#"<GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetSessionTokenResult><Credentials><AccessKeyId>ASIASESSION000000000</AccessKeyId><SecretAccessKey>session-secret</SecretAccessKey><SessionToken>mfa-session-token</SessionToken><Expiration>2999-01-01T00:00:00Z</Expiration></Credentials></GetSessionTokenResult>
</GetSessionTokenResponse>"#;

async fn mount_mfa_flow(server: &MockServer, devices: ResponseTemplate) {
    Mock::given(body_string("Action=GetCallerIdentity&Version=2011-06-15"))
        .and(scope(KEY_ID, "us-east-1", "sts"))
        .respond_with(ResponseTemplate::new(200).set_body_string(CALLER))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(body_string(
        "Action=ListMFADevices&Version=2010-05-08&UserName=alice",
    ))
    .and(scope(KEY_ID, "us-east-1", "iam"))
    .respond_with(devices)
    .expect(1)
    .mount(server)
    .await;
}

#[tokio::test]
async fn mfa_discovery_session_token_and_signing_with_it() {
    let server = MockServer::start().await;
    mount_mfa_flow(&server, ResponseTemplate::new(200).set_body_string(DEVICES)).await;
    Mock::given(body_string(
        "Action=GetSessionToken&Version=2011-06-15&SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Falice-mfa&TokenCode=123456&DurationSeconds=900",
    ))
    .and(scope(KEY_ID, "us-east-1", "sts"))
    .respond_with(ResponseTemplate::new(200).set_body_string(SESSION))
    .expect(1)
    .mount(&server)
    .await;
    Mock::given(target("GetSecretValue"))
        .and(scope("ASIASESSION000000000", "eu-west-1", "secretsmanager"))
        .and(header("x-amz-security-token", "mfa-session-token"))
        .respond_with(value("behind mfa"))
        .expect(3)
        .mount(&server)
        .await;
    let p = builder(&server)
        .mfa(Mfa::Discover)
        .mfa_session_duration(Duration::from_secs(900))
        .build()
        .unwrap();
    let host = CodeInteraction::new("123456");
    let l = link(ARN);
    let (a, b, c) = tokio::join!(p.fetch(&l, &host), p.fetch(&l, &host), p.fetch(&l, &host),);
    for v in [a, b, c] {
        assert_eq!(v.unwrap().expose_secret(), "behind mfa");
    }
    assert_eq!(host.asks(), 1);
    assert_eq!(
        host.serials.lock().unwrap().as_slice(),
        ["arn:aws:iam::123456789012:mfa/alice-mfa"]
    );
}

#[tokio::test]
async fn no_device_or_no_permission_to_list_means_no_prompt() {
    for devices in [
        ResponseTemplate::new(200).set_body_string(
            "<ListMFADevicesResponse><ListMFADevicesResult><MFADevices/><IsTruncated>false</IsTruncated></ListMFADevicesResult></ListMFADevicesResponse>",
        ),
        xml_error(403, "AccessDenied", "not authorized to perform: iam:ListMFADevices"),
    ] {
        let server = MockServer::start().await;
        mount_mfa_flow(&server, devices).await;
        Mock::given(target("GetSecretValue"))
            .and(scope(KEY_ID, "eu-west-1", "secretsmanager"))
            .respond_with(value("plain"))
            .expect(1)
            .mount(&server)
            .await;
        let p = builder(&server).mfa(Mfa::Discover).build().unwrap();
        let host = CodeInteraction::new("123456");
        p.fetch(&link(ARN), &host).await.unwrap();
        assert_eq!(host.asks(), 0);
    }
}

#[tokio::test]
async fn wrong_mfa_code_is_an_auth_error_without_the_code() {
    let server = MockServer::start().await;
    Mock::given(body_string_contains("Action=GetSessionToken"))
        .respond_with(xml_error(
            403,
            "AccessDenied",
            "MultiFactorAuthentication failed with invalid MFA one time pass code.",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let p = builder(&server)
        .mfa(Mfa::Serial("arn:aws:iam::123456789012:mfa/alice".into()))
        .build()
        .unwrap();
    let host = CodeInteraction::new("987654");
    let e = p.fetch(&link(ARN), &host).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(e.message().contains("GetSessionToken"), "{e}");
    assert!(e.message().contains("mfa/alice"), "{e}");
    assert!(!format!("{e} {e:?}").contains("987654"), "{e:?}");
}

#[tokio::test]
async fn a_one_time_mfa_code_is_never_sent_twice() {
    let server = MockServer::start().await;
    Mock::given(body_string_contains("Action=GetSessionToken"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let p = builder(&server)
        .mfa(Mfa::Serial("arn:aws:iam::123456789012:mfa/alice".into()))
        .build()
        .unwrap();
    let e = p
        .fetch(&link(ARN), &CodeInteraction::new("123456"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unreachable, "{e}");
}

#[tokio::test]
async fn endpoints_must_be_https_or_loopback_http() {
    for bad in [
        "http://10.0.0.5:4566/",
        "http://example.com/",
        "ftp://127.0.0.1/",
    ] {
        let e = AwsProvider::builder()
            .region("us-east-1")
            .static_credentials(Credentials::new(KEY_ID, SECRET_KEY))
            .endpoints(
                Endpoints::default()
                    .service(vault_aws::endpoint::Service::Sts, Url::parse(bad).unwrap()),
            )
            .build()
            .err()
            .unwrap_or_else(|| panic!("{bad} was accepted"));
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{bad}: {e}");
    }
    let ok = AwsProvider::builder()
        .region("us-east-1")
        .static_credentials(Credentials::new(KEY_ID, SECRET_KEY))
        .endpoints(Endpoints::default().all(Url::parse("https://vpce.example.com/").unwrap()))
        .build();
    assert!(ok.is_ok());
}

#[tokio::test]
async fn server_error_codes_are_filtered_before_they_reach_messages() {
    let server = MockServer::start().await;
    Mock::given(target("GetSecretValue"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("content-type", "application/x-amz-json-1.1")
                .set_body_json(json!({"__type": "Weird\u{1b}[31m<script>Code", "message": "x"})),
        )
        .mount(&server)
        .await;
    let p = builder(&server).build().unwrap();
    let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
    assert!(
        !e.to_string().contains('\u{1b}') && !e.to_string().contains('<'),
        "{e}"
    );
}

#[tokio::test]
async fn expired_session_token_ends_the_session() {
    let server = MockServer::start().await;
    Mock::given(body_string_contains("Action=GetSessionToken"))
        .respond_with(ResponseTemplate::new(200).set_body_string(SESSION))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(target("GetSecretValue"))
        .respond_with(xml_error(
            403,
            "ExpiredToken",
            "The security token included in the request is expired",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let p = builder(&server)
        .mfa(Mfa::Serial("arn:aws:iam::123456789012:mfa/alice".into()))
        .build()
        .unwrap();
    let host = CodeInteraction::new("123456");
    let e = p.fetch(&link(ARN), &host).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SessionExpired, "{e}");
    // The next fetch knows without a call (the mocks' `expect(1)` checks it) and asks nobody.
    let e = p.fetch(&link(ARN), &host).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SessionExpired, "{e}");
    assert_eq!(host.asks(), 1);
    assert_eq!(p.session(), vault_core::SessionState::Expired);
}

#[tokio::test]
async fn describe_secret_request_and_details() {
    let server = MockServer::start().await;
    Mock::given(target("DescribeSecret"))
        .and(body_json(json!({"SecretId": ARN})))
        .and(scope(KEY_ID, "eu-west-1", "secretsmanager"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ARN": ARN, "Name": "app/db", "CreatedDate": 1700000000.0,
            "LastChangedDate": 1700000500.0,
            "VersionIdsToStages": {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let p = builder(&server).build().unwrap();
    let d = p
        .describe(&link(ARN).with("version", "AWSPREVIOUS"), &NoInteraction)
        .await
        .unwrap();
    assert_eq!(d.id, ARN);
    assert_eq!(d.version.as_deref(), Some("v1"));
    assert_eq!(d.updated.unwrap().unix_timestamp(), 1700000500);
}

#[tokio::test]
async fn endpoint_override_per_service_from_the_environment() {
    let sm = MockServer::start().await;
    let sts = MockServer::start().await;
    Mock::given(body_string_contains("Action=AssumeRole"))
        .respond_with(ResponseTemplate::new(200).set_body_string(ASSUME_ROLE_OK))
        .expect(1)
        .mount(&sts)
        .await;
    Mock::given(target("GetSecretValue"))
        .respond_with(value("split endpoints"))
        .expect(1)
        .mount(&sm)
        .await;
    let env = vault_core::MapEnv::new()
        .with("AWS_ACCESS_KEY_ID", KEY_ID)
        .with("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .with("AWS_ENDPOINT_URL", &sm.uri())
        .with("AWS_ENDPOINT_URL_STS", &sts.uri());
    let config = vault_core::Config::parse("[integrations.aws]\ndiscover_mfa = false\n").unwrap();
    let p = vault_aws::from_settings(config.integrations.values().next().unwrap(), &env).unwrap();
    let v = p
        .fetch(&link(ARN).with("role_arn", ROLE), &NoInteraction)
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), "split endpoints");
}

#[tokio::test]
async fn temporary_keys_skip_mfa_discovery() {
    let server = MockServer::start().await;
    Mock::given(body_string_contains("Action="))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(target("GetSecretValue"))
        .and(header("x-amz-security-token", "env-token"))
        .respond_with(value("v"))
        .expect(1)
        .mount(&server)
        .await;
    let env = vault_core::MapEnv::new()
        .with("AWS_ACCESS_KEY_ID", "ASIAENV0000000000000")
        .with("AWS_SECRET_ACCESS_KEY", "s")
        .with("AWS_SESSION_TOKEN", "env-token");
    let p = builder(&server)
        .credentials(vault_aws::CredentialSource::Environment)
        .env(std::sync::Arc::new(env))
        .mfa(Mfa::Discover)
        .build()
        .unwrap();
    p.fetch(&link(ARN), &NoInteraction).await.unwrap();
}

#[tokio::test]
async fn explicit_sign_in_checks_the_keys() {
    let server = MockServer::start().await;
    Mock::given(body_string("Action=GetCallerIdentity&Version=2011-06-15"))
        .respond_with(xml_error(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let p = builder(&server).mfa(Mfa::Off).build().unwrap();
    let e = p.sign_in(&NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert_eq!(p.session(), vault_core::SessionState::SignedOut);
}

#[tokio::test]
async fn an_expired_role_token_is_assumed_again_not_the_session_ended() {
    let server = MockServer::start().await;
    Mock::given(body_string_contains("Action=AssumeRole"))
        .and(body_string_contains("DurationSeconds=900"))
        .respond_with(ResponseTemplate::new(200).set_body_string(ASSUME_ROLE_OK))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(target("GetSecretValue"))
        .respond_with(xml_error(403, "ExpiredToken", "expired"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(target("GetSecretValue"))
        .respond_with(value("fresh role keys"))
        .expect(1)
        .mount(&server)
        .await;
    let p = builder(&server)
        .role_session_duration(Duration::from_secs(900))
        .build()
        .unwrap();
    let l = link(ARN).with("role_arn", ROLE);
    let e = p.fetch(&l, &NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SessionExpired, "{e}");
    let v = p.fetch(&l, &NoInteraction).await.unwrap();
    assert_eq!(v.expose_secret(), "fresh role keys");
    assert!(p.session().is_signed_in());
}
