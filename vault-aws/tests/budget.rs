//! One budget per fetch (its calls, retries and sign-in calls together), and waits for a
//! person outside it, against wiremock: a fetch whose calls are each within their own
//! deadline but together over the budget ends at the budget; an MFA prompt that takes longer
//! than the budget does not fail the fetch, nor the fetches waiting for that sign-in; an
//! unanswered prompt ends at the sign-in timeout.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use support::link;
use url::Url;
use vault_aws::{AwsProvider, AwsProviderBuilder, Credentials, Endpoints, Mfa, RetryPolicy};
use vault_core::{DeviceCode, Error, ErrorKind, Interaction, NoInteraction, Provider};
use wiremock::matchers::{body_string_contains, header};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db-AbCdEf";
const ROLE: &str = "arn:aws:iam::123456789012:role/reader";
const SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";

const ASSUME_ROLE_OK: &str = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult><Credentials><AccessKeyId>ASIAROLE000000000000</AccessKeyId><SecretAccessKey>role-secret</SecretAccessKey><SessionToken>role-token</SessionToken><Expiration>2999-01-01T00:00:00Z</Expiration></Credentials>
  <AssumedRoleUser><AssumedRoleId>AROA:vault-aws</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/reader/vault-aws</Arn></AssumedRoleUser></AssumeRoleResult>
</AssumeRoleResponse>"#;

const SESSION: &str = r#"<GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetSessionTokenResult><Credentials><AccessKeyId>ASIASESSION000000000</AccessKeyId><SecretAccessKey>session-secret</SecretAccessKey><SessionToken>mfa-session-token</SessionToken><Expiration>2999-01-01T00:00:00Z</Expiration></Credentials></GetSessionTokenResult>
</GetSessionTokenResponse>"#;

fn builder(server: &MockServer) -> AwsProviderBuilder {
    AwsProvider::builder()
        .static_credentials(Credentials::new("AKIAIOSFODNN7EXAMPLE", "secret-key"))
        .endpoints(Endpoints::default().all(Url::parse(&server.uri()).unwrap()))
        .mfa(Mfa::Off)
        .retry(RetryPolicy::none())
        // each call may take 10 s: only the budget can end these fetches earlier
        .timeout(Duration::from_secs(10))
        .deadline(Duration::from_secs(10))
        .fetch_timeout(Duration::from_secs(2))
}

fn value(v: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"ARN": ARN, "Name": "app/db", "SecretString": v}))
}

async fn mount(server: &MockServer, body: &str, answer: ResponseTemplate) {
    Mock::given(body_string_contains(body))
        .respond_with(answer)
        .mount(server)
        .await;
}

#[tokio::test]
async fn calls_each_within_their_deadline_but_over_the_budget_end_at_the_budget() {
    let server = MockServer::start().await;
    // two calls of 3 s each, each well within its 10 s deadline: 6 s without a budget
    let slow = Duration::from_secs(3);
    mount(
        &server,
        "Action=AssumeRole",
        ResponseTemplate::new(200)
            .set_body_string(ASSUME_ROLE_OK)
            .set_delay(slow),
    )
    .await;
    Mock::given(header("x-amz-target", "secretsmanager.GetSecretValue"))
        .respond_with(value("late").set_delay(slow))
        .mount(&server)
        .await;
    let p = builder(&server)
        .fetch_timeout(Duration::from_secs(4))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = p
        .fetch(&link(ARN).with("role_arn", ROLE), &NoInteraction)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.message().contains("within 4 s"), "{e}");
    assert!(
        took >= Duration::from_millis(3900) && took < Duration::from_millis(5800),
        "{took:?}"
    );
    // and with a budget that fits both calls, the same fetch succeeds
    let p = builder(&server)
        .fetch_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let v = p
        .fetch(&link(ARN).with("role_arn", ROLE), &NoInteraction)
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), "late");
}

#[tokio::test]
async fn a_sign_in_cut_by_the_budget_fails_once_for_every_fetch_waiting_on_it() {
    let server = MockServer::start().await;
    // MFA discovery's first call never answers (within its 10 s deadline)
    Mock::given(body_string_contains("Action=GetCallerIdentity"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3600)))
        .expect(1)
        .mount(&server)
        .await;
    let p = builder(&server).mfa(Mfa::Discover).build().unwrap();
    let l = link(ARN);
    let started = Instant::now();
    let (a, b, c) = tokio::join!(
        p.fetch(&l, &NoInteraction),
        p.fetch(&l, &NoInteraction),
        p.fetch(&l, &NoInteraction)
    );
    let took = started.elapsed();
    for r in [a, b, c] {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(e.message().contains("within 2 s"), "{e}");
    }
    // one sign-in attempt, not one per waiting fetch (3 × 2 s)
    assert!(took < Duration::from_millis(3800), "{took:?}");
    server.verify().await;
}

/// A person who takes `typing` to enter the code.
struct SlowTypist {
    typing: Duration,
    asks: AtomicUsize,
}

#[async_trait]
impl Interaction for SlowTypist {
    async fn open_url(&self, _url: &Url) -> Result<(), Error> {
        Err(Error::new(ErrorKind::Cancelled, "no browser in tests"))
    }

    async fn show_device_code(&self, _code: &DeviceCode) -> Result<(), Error> {
        Err(Error::new(ErrorKind::Cancelled, "no device code in tests"))
    }

    async fn ask_mfa_code(&self, _serial: &str) -> Result<SecretString, Error> {
        self.asks.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.typing).await;
        Ok(SecretString::from("123456".to_owned()))
    }
}

#[tokio::test]
async fn a_person_typing_longer_than_the_budget_does_not_fail_the_fetches() {
    let server = MockServer::start().await;
    let net = Duration::from_millis(500);
    mount(
        &server,
        "Action=GetSessionToken",
        ResponseTemplate::new(200)
            .set_body_string(SESSION)
            .set_delay(net),
    )
    .await;
    Mock::given(header("x-amz-target", "secretsmanager.GetSecretValue"))
        .and(header("x-amz-security-token", "mfa-session-token"))
        .respond_with(value("behind mfa").set_delay(net))
        .mount(&server)
        .await;
    let p = builder(&server)
        .mfa(Mfa::Serial(SERIAL.into()))
        .build()
        .unwrap();
    let host = SlowTypist {
        typing: Duration::from_secs(3),
        asks: AtomicUsize::new(0),
    };
    let l = link(ARN);
    let started = Instant::now();
    // the second and third fetch wait for the first one's sign-in (and its person)
    let (a, b, c) = tokio::join!(p.fetch(&l, &host), p.fetch(&l, &host), p.fetch(&l, &host));
    for v in [a, b, c] {
        assert_eq!(v.unwrap().expose_secret(), "behind mfa");
    }
    assert_eq!(host.asks.load(Ordering::SeqCst), 1);
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unanswered_mfa_prompt_ends_at_the_sign_in_timeout() {
    let server = MockServer::start().await;
    let p = builder(&server)
        .mfa(Mfa::Serial(SERIAL.into()))
        .sign_in_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let host = SlowTypist {
        typing: Duration::from_secs(3600),
        asks: AtomicUsize::new(0),
    };
    let started = Instant::now();
    let e = p.fetch(&link(ARN), &host).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.message().contains("MFA code"), "{e}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(2),
        "{took:?}"
    );
    // the session's state is not locked meanwhile, nor afterwards: sign-out is immediate
    let t = Instant::now();
    p.sign_out().await.unwrap();
    assert!(t.elapsed() < Duration::from_millis(100));
}

#[tokio::test]
async fn sign_out_does_not_wait_behind_a_person() {
    let server = MockServer::start().await;
    let p = std::sync::Arc::new(
        builder(&server)
            .mfa(Mfa::Serial(SERIAL.into()))
            .build()
            .unwrap(),
    );
    let host = std::sync::Arc::new(SlowTypist {
        typing: Duration::from_secs(3600),
        asks: AtomicUsize::new(0),
    });
    let (p2, h2) = (p.clone(), host.clone());
    let fetch = tokio::spawn(async move { p2.fetch(&link(ARN), h2.as_ref()).await });
    while host.asks.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let t = Instant::now();
    p.sign_out().await.unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "{:?}",
        t.elapsed()
    );
    fetch.abort();
}
