//! Credential sources moto lacks, against wiremock: instance metadata (IMDSv2), container
//! credentials, IAM Identity Center (portal and OIDC device flow), renewal of expiring
//! credentials, and the session store (resume, MFA discovery remembered, refused records).

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use support::{link, CodeInteraction, SettableClock};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use url::Url;
use vault_aws::credential_source::ProfileFileSource;
use vault_aws::{AwsProvider, CredentialSource, Credentials, Endpoints, Mfa, RetryPolicy};
use vault_core::{
    DeviceCode, Error, ErrorKind, Interaction, MapEnv, MemorySessionStore, NoInteraction, Provider,
    SessionStore, StoreKey,
};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf";

struct Dir(PathBuf);
impl Dir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "vault-aws-wire-{tag}-{}-{}",
            std::process::id(),
            OffsetDateTime::now_utc().unix_timestamp_nanos()
        ));
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn s(&self) -> String {
        self.0.display().to_string()
    }
    fn write(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rfc(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0).unwrap().format(&Rfc3339).unwrap()
}

fn value_for(token: &'static str) -> Mock {
    Mock::given(method("POST"))
        .and(header("x-amz-target", "secretsmanager.GetSecretValue"))
        .and(header("x-amz-security-token", token))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"ARN": ARN, "Name": "app/db", "VersionId": "v", "SecretString": "the-value"}),
        ))
}

fn provider_with(server: &MockServer, env: MapEnv) -> vault_aws::AwsProviderBuilder {
    AwsProvider::builder()
        .env(Arc::new(env))
        .endpoints(Endpoints::default().all(Url::parse(&server.uri()).unwrap()))
        .retry(RetryPolicy::none())
}

fn creds_json(id: &str, token: &str, until: OffsetDateTime) -> serde_json::Value {
    json!({"Code": "Success", "AccessKeyId": id, "SecretAccessKey": "s", "Token": token,
           "Expiration": rfc(until)})
}

#[tokio::test]
async fn imds_v2_token_then_role_then_credentials_and_renewal_before_expiry() {
    let server = MockServer::start().await;
    let home = Dir::new("imds");
    let now = OffsetDateTime::now_utc();
    Mock::given(method("PUT"))
        .and(path("/latest/api/token"))
        .and(header("x-aws-ec2-metadata-token-ttl-seconds", "21600"))
        .respond_with(ResponseTemplate::new(200).set_body_string("IMDS-TOKEN"))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/latest/meta-data/iam/security-credentials/"))
        .and(header("x-aws-ec2-metadata-token", "IMDS-TOKEN"))
        .respond_with(ResponseTemplate::new(200).set_body_string("web-role\n"))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/latest/meta-data/iam/security-credentials/web-role"))
        .and(header("x-aws-ec2-metadata-token", "IMDS-TOKEN"))
        .respond_with(ResponseTemplate::new(200).set_body_json(creds_json(
            "ASIAIMDS",
            "imds-session",
            now + Duration::minutes(20),
        )))
        .expect(2)
        .mount(&server)
        .await;
    value_for("imds-session").expect(2).mount(&server).await;
    let clock = Arc::new(SettableClock::new(now));
    let env = MapEnv::new()
        .with("HOME", &home.s())
        .with("AWS_EC2_METADATA_SERVICE_ENDPOINT", &server.uri());
    let p = provider_with(&server, env)
        .clock(clock.clone())
        .build()
        .unwrap();
    // The default chain: nothing in the environment or files, so instance metadata.
    assert_eq!(p.source_description().unwrap(), "EC2 instance metadata");
    let v = p.fetch(&link(ARN), &NoInteraction).await.unwrap();
    assert_eq!(v.expose_secret(), "the-value");
    // Past the credentials' end (less the margin): renewed silently, no sign-in asked.
    clock.set(now + Duration::minutes(19) + Duration::seconds(45));
    p.fetch(&link(ARN), &NoInteraction).await.unwrap();
}

#[tokio::test]
async fn imds_refusing_the_token_is_an_error_and_no_v1_fallback() {
    let server = MockServer::start().await;
    let home = Dir::new("imds-refused");
    Mock::given(method("PUT"))
        .and(path("/latest/api/token"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("web-role"))
        .expect(0)
        .mount(&server)
        .await;
    let env = MapEnv::new()
        .with("HOME", &home.s())
        .with("AWS_EC2_METADATA_SERVICE_ENDPOINT", &server.uri());
    let p = provider_with(&server, env).build().unwrap();
    let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(
        e.message().contains("IMDSv2 session token was refused"),
        "{e}"
    );

    let env = MapEnv::new()
        .with("HOME", &home.s())
        .with("AWS_EC2_METADATA_DISABLED", "true");
    let p = provider_with(&server, env).build().unwrap();
    let e = p.fetch(&link(ARN), &NoInteraction).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignedOut, "{e}");
    assert!(e.message().contains("AWS_EC2_METADATA_DISABLED"), "{e}");
}

#[tokio::test]
async fn container_credentials_with_a_token_file() {
    let server = MockServer::start().await;
    let home = Dir::new("container");
    let token_file = home.write("token", "container-token\n");
    Mock::given(method("GET"))
        .and(path("/v1/credentials"))
        .and(header("authorization", "container-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(creds_json(
            "ASIACONT",
            "container-session",
            OffsetDateTime::now_utc() + Duration::hours(1),
        )))
        .expect(1)
        .mount(&server)
        .await;
    value_for("container-session")
        .expect(1)
        .mount(&server)
        .await;
    let env = MapEnv::new()
        .with("HOME", &home.s())
        .with(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            &format!("{}/v1/credentials", server.uri()),
        )
        .with("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token_file);
    let p = provider_with(&server, env).build().unwrap();
    assert!(p
        .source_description()
        .unwrap()
        .starts_with("container credentials"));
    p.fetch(&link(ARN), &NoInteraction).await.unwrap();

    let env = MapEnv::new().with("HOME", &home.s()).with(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "http://192.0.2.1/creds",
    );
    let e = provider_with(&server, env)
        .build()
        .unwrap()
        .fetch(&link(ARN), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{e}");
}

/// Records device codes shown; MFA prompts are refused.
#[derive(Default)]
struct DeviceHost(Mutex<Vec<DeviceCode>>);

#[async_trait]
impl Interaction for DeviceHost {
    async fn open_url(&self, _url: &Url) -> Result<(), Error> {
        Err(Error::new(ErrorKind::Cancelled, "no browser"))
    }
    async fn show_device_code(&self, code: &DeviceCode) -> Result<(), Error> {
        self.0.lock().unwrap().push(code.clone());
        Ok(())
    }
    async fn ask_mfa_code(&self, _serial: &str) -> Result<SecretString, Error> {
        Err(Error::new(ErrorKind::Cancelled, "no MFA"))
    }
}

fn sso_config() -> &'static str {
    "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Reader\nregion = us-east-1\n\n\
     [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n\
     sso_registration_scopes = sso:account:access\n"
}

async fn mount_portal(server: &MockServer, token: &'static str) {
    Mock::given(method("GET"))
        .and(path("/federation/credentials"))
        .and(query_param("account_id", "111122223333"))
        .and(query_param("role_name", "Reader"))
        .and(header("x-amz-sso_bearer_token", token))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"roleCredentials": {
            "accessKeyId": "ASIASSO", "secretAccessKey": "s", "sessionToken": "sso-session",
            "expiration": (OffsetDateTime::now_utc() + Duration::hours(1)).unix_timestamp() * 1000}})))
        .expect(1)
        .mount(server)
        .await;
}

fn sso_provider(server: &MockServer, home: &Dir) -> AwsProvider {
    let env = MapEnv::new()
        .with("HOME", &home.s())
        .with("AWS_ENDPOINT_URL_SSO", &server.uri())
        .with(
            "AWS_ENDPOINT_URL_SSO_OIDC",
            &format!("{}/oidc", server.uri()),
        );
    provider_with(server, env)
        .credentials(CredentialSource::ProfileFile(ProfileFileSource {
            path: Some(home.write("credentials", "")),
            profile: Some("dev".into()),
            config_path: Some(home.write("config", sso_config())),
        }))
        .build()
        .unwrap()
}

#[tokio::test]
async fn sso_uses_the_cli_token_cache() {
    let server = MockServer::start().await;
    let home = Dir::new("sso-cache");
    let key = vault_aws_cache_key("corp");
    home.write(
        &format!(".aws/sso/cache/{key}.json"),
        &json!({"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1",
                "accessToken": "cached-token",
                "expiresAt": rfc(OffsetDateTime::now_utc() + Duration::hours(2))})
        .to_string(),
    );
    mount_portal(&server, "cached-token").await;
    value_for("sso-session").expect(1).mount(&server).await;
    let p = sso_provider(&server, &home);
    p.fetch(&link(ARN), &DeviceHost::default()).await.unwrap();
    assert!(p
        .source_description()
        .unwrap()
        .contains("IAM Identity Center"));
}

fn vault_aws_cache_key(s: &str) -> String {
    // The SHA-1 the CLI names its cache files by, computed independently here.
    use std::process::Command;
    let out = Command::new("sha1sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(s.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap()[..40].to_owned()
}

#[tokio::test]
async fn sso_device_flow_signs_in_and_writes_the_cache() {
    let server = MockServer::start().await;
    let home = Dir::new("sso-device");
    Mock::given(method("POST"))
        .and(path("/oidc/client/register"))
        .and(body_string_contains("\"clientType\":\"public\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "clientId": "cid", "clientSecret": "csecret", "clientSecretExpiresAt": 4102444800i64})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oidc/device_authorization"))
        .and(body_string_contains("https://corp.awsapps.com/start"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "deviceCode": "dev-code", "userCode": "ABCD-EFGH",
            "verificationUri": "https://device.sso.eu-west-1.amazonaws.com/",
            "verificationUriComplete": "https://device.sso.eu-west-1.amazonaws.com/?user_code=ABCD-EFGH",
            "expiresIn": 600, "interval": 1})))
        .expect(1)
        .mount(&server)
        .await;
    let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let p2 = polls.clone();
    Mock::given(method("POST"))
        .and(path("/oidc/token"))
        .and(body_string_contains("device_code"))
        .respond_with(move |_: &Request| {
            if p2.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                ResponseTemplate::new(400).set_body_json(json!({"error": "authorization_pending"}))
            } else {
                ResponseTemplate::new(200).set_body_json(json!({
                    "accessToken": "fresh-token", "expiresIn": 28800, "refreshToken": "r", "tokenType": "Bearer"}))
            }
        })
        .mount(&server)
        .await;
    mount_portal(&server, "fresh-token").await;
    value_for("sso-session").expect(1).mount(&server).await;
    let host = DeviceHost::default();
    let p = sso_provider(&server, &home);
    p.fetch(&link(ARN), &host).await.unwrap();
    let shown = host.0.lock().unwrap().clone();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].user_code, "ABCD-EFGH");
    assert_eq!(polls.load(std::sync::atomic::Ordering::SeqCst), 2);
    let file = home.path().join(format!(
        ".aws/sso/cache/{}.json",
        vault_aws_cache_key("corp")
    ));
    let cached: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(cached["accessToken"], "fresh-token");
    assert_eq!(cached["startUrl"], "https://corp.awsapps.com/start");
    assert!(OffsetDateTime::parse(cached["expiresAt"].as_str().unwrap(), &Rfc3339).is_ok());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

fn xml(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/xml")
        .set_body_string(body.to_owned())
}

async fn mount_mfa_flow(server: &MockServer, lists: u64, sessions: u64) {
    Mock::given(method("POST"))
        .and(body_string_contains("Action=GetCallerIdentity"))
        .respond_with(xml("<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/alice</Arn><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"))
        .expect(lists)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("Action=ListMFADevices"))
        .respond_with(xml("<ListMFADevicesResponse><ListMFADevicesResult><MFADevices><member><SerialNumber>arn:aws:iam::123456789012:mfa/alice</SerialNumber></member></MFADevices></ListMFADevicesResult></ListMFADevicesResponse>"))
        .expect(lists)
        .mount(server)
        .await;
    let exp = rfc(OffsetDateTime::now_utc() + Duration::hours(12));
    Mock::given(method("POST"))
        .and(body_string_contains("Action=GetSessionToken"))
        .respond_with(xml(&format!("<GetSessionTokenResponse><GetSessionTokenResult><Credentials><AccessKeyId>ASIAMFA</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>mfa-session</SessionToken><Expiration>{exp}</Expiration></Credentials></GetSessionTokenResult></GetSessionTokenResponse>")))
        .expect(sessions)
        .mount(server)
        .await;
}

fn keyed(server: &MockServer, store: &Arc<MemorySessionStore>) -> AwsProvider {
    provider_with(server, MapEnv::new())
        .static_credentials(Credentials::new("AKIAALICE0000000", "alice-secret"))
        .mfa(Mfa::Discover)
        .session_store(store.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_mfa_session_resumes_from_the_store_and_discovery_is_remembered() {
    let server = MockServer::start().await;
    mount_mfa_flow(&server, 1, 2).await;
    value_for("mfa-session").expect(3).mount(&server).await;
    let store = Arc::new(MemorySessionStore::new());
    let host = CodeInteraction::new("975310");
    keyed(&server, &store)
        .fetch(&link(ARN), &host)
        .await
        .unwrap();
    assert_eq!(host.asks(), 1);
    // A second process: no code, no STS/IAM call.
    keyed(&server, &store)
        .fetch(&link(ARN), &NoInteraction)
        .await
        .unwrap();
    let key = StoreKey::new(vault_aws::PROVIDER_ID, "key:AKIAALICE0000000");
    let record = store.load(&key).unwrap().unwrap();
    for secret in ["alice-secret", "975310"] {
        assert!(!record.expose_secret().contains(secret));
    }
    // The session is gone but the device is known: the code is asked without discovery
    // (ListMFADevices expected once in all).
    let mut r: serde_json::Value = serde_json::from_str(record.expose_secret()).unwrap();
    r.as_object_mut().unwrap().remove("session");
    store
        .save(&key, &SecretString::from(r.to_string()))
        .unwrap();
    keyed(&server, &store)
        .fetch(&link(ARN), &host)
        .await
        .unwrap();
    assert_eq!(host.asks(), 2);
}

#[tokio::test]
async fn a_stored_session_refused_by_the_server_is_dropped() {
    let server = MockServer::start().await;
    mount_mfa_flow(&server, 1, 1).await;
    Mock::given(method("POST"))
        .and(header("x-amz-security-token", "revoked-session"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("x-amzn-errortype", "ExpiredTokenException")
                .set_body_json(json!({"__type": "ExpiredTokenException", "message": "token revoked-session expired"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    value_for("mfa-session").expect(1).mount(&server).await;
    let store = Arc::new(MemorySessionStore::new());
    let key = StoreKey::new(vault_aws::PROVIDER_ID, "key:AKIAALICE0000000");
    let exp = rfc(OffsetDateTime::now_utc() + Duration::hours(1));
    store
        .save(&key, &SecretString::from(format!(
            r#"{{"v":1,"session":{{"id":"ASIAOLD","secret":"s","token":"revoked-session","expires":"{exp}"}}}}"#
        )))
        .unwrap();
    let host = CodeInteraction::new("123456");
    let p = keyed(&server, &store);
    p.fetch(&link(ARN), &host).await.unwrap();
    assert_eq!(host.asks(), 1, "the normal sign-in ran");
    assert!(!store
        .load(&key)
        .unwrap()
        .unwrap()
        .expose_secret()
        .contains("revoked"));
    p.sign_out().await.unwrap();
    assert!(store.is_empty());
}

#[tokio::test]
async fn no_such_entity_in_mfa_discovery_means_no_device() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("Action=GetCallerIdentity"))
        .respond_with(xml("<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/moto</Arn><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("Action=ListMFADevices"))
        .respond_with(ResponseTemplate::new(404).set_body_string(
            "<ErrorResponse><Error><Code>NoSuchEntity</Code><Message>The user with name moto cannot be found.</Message></Error></ErrorResponse>",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "secretsmanager.GetSecretValue"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"ARN": ARN, "Name": "app/db", "VersionId": "v", "SecretString": "ok"}),
        ))
        .mount(&server)
        .await;
    let p = provider_with(&server, MapEnv::new())
        .static_credentials(Credentials::new("AKIAMOTO00000000", "s"))
        .mfa(Mfa::Discover)
        .build()
        .unwrap();
    let v = p.fetch(&link(ARN), &NoInteraction).await.unwrap();
    assert_eq!(v.expose_secret(), "ok");
}

fn sts_creds(action: &str, token: &str) -> ResponseTemplate {
    let exp = rfc(OffsetDateTime::now_utc() + Duration::hours(1));
    xml(&format!("<{action}Response><{action}Result><Credentials><AccessKeyId>ASIA{action}</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>{token}</SessionToken><Expiration>{exp}</Expiration></Credentials></{action}Result></{action}Response>"))
}

#[tokio::test]
async fn web_identity_is_an_unsigned_form_post_with_the_token() {
    let server = MockServer::start().await;
    let home = Dir::new("webid-wire");
    let token = home.write("token", "jwt-canary-token\n");
    Mock::given(method("POST"))
        .and(body_string_contains("Action=AssumeRoleWithWebIdentity"))
        .and(body_string_contains("WebIdentityToken=jwt-canary-token"))
        .and(body_string_contains("RoleSessionName=ci-run"))
        .and(|r: &Request| !r.headers.contains_key("authorization"))
        .respond_with(sts_creds("AssumeRoleWithWebIdentity", "web-session"))
        .expect(1)
        .mount(&server)
        .await;
    value_for("web-session").expect(1).mount(&server).await;
    let env = MapEnv::new()
        .with("HOME", &home.s())
        .with("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
        .with("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ci")
        .with("AWS_ROLE_SESSION_NAME", "ci-run");
    provider_with(&server, env)
        .build()
        .unwrap()
        .fetch(&link(ARN), &NoInteraction)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_profile_role_with_mfa_serial_sends_the_code_with_assume_role() {
    let server = MockServer::start().await;
    let home = Dir::new("role-mfa");
    Mock::given(method("POST"))
        .and(body_string_contains("Action=AssumeRole&"))
        .and(body_string_contains(
            "SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fme",
        ))
        .and(body_string_contains("TokenCode=975310"))
        .and(body_string_contains("ExternalId=ext-7"))
        .and(body_string_contains("DurationSeconds=1800"))
        .respond_with(sts_creds("AssumeRole", "role-session"))
        .expect(1)
        .mount(&server)
        .await;
    value_for("role-session").expect(2).mount(&server).await;
    let config = "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/admin\nsource_profile = base\n\
                  mfa_serial = arn:aws:iam::123456789012:mfa/me\nexternal_id = ext-7\nduration_seconds = 1800\n";
    let p = provider_with(&server, MapEnv::new().with("HOME", &home.s()))
        .credentials(CredentialSource::ProfileFile(ProfileFileSource {
            path: Some(home.write(
                "credentials",
                "[base]\naws_access_key_id = AKIABASE00000000\naws_secret_access_key = s\n",
            )),
            profile: Some("admin".into()),
            config_path: Some(home.write("config", config)),
        }))
        .build()
        .unwrap();
    let host = CodeInteraction::new("975310");
    p.fetch(&link(ARN), &host).await.unwrap();
    p.fetch(&link(ARN), &host).await.unwrap();
    assert_eq!(host.asks(), 1);
    assert_eq!(
        host.serials.lock().unwrap().as_slice(),
        ["arn:aws:iam::123456789012:mfa/me"]
    );
}

#[tokio::test]
async fn sso_a_cached_token_the_portal_refuses_makes_way_for_one_sign_in() {
    let server = MockServer::start().await;
    let home = Dir::new("sso-revoked");
    home.write(
        &format!(".aws/sso/cache/{}.json", vault_aws_cache_key("corp")),
        &json!({"accessToken": "revoked-token",
                "expiresAt": rfc(OffsetDateTime::now_utc() + Duration::hours(2))})
        .to_string(),
    );
    Mock::given(method("GET"))
        .and(path("/federation/credentials"))
        .and(header("x-amz-sso_bearer_token", "revoked-token"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"message": "Session token not found or invalid"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oidc/client/register"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"clientId": "cid", "clientSecret": "cs"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oidc/device_authorization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "deviceCode": "dc", "userCode": "WXYZ-1234",
            "verificationUri": "https://device.sso.eu-west-1.amazonaws.com/", "expiresIn": 600, "interval": 1})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oidc/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"accessToken": "fresh-token", "expiresIn": 3600})),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_portal(&server, "fresh-token").await;
    value_for("sso-session").expect(1).mount(&server).await;
    let host = DeviceHost::default();
    sso_provider(&server, &home)
        .fetch(&link(ARN), &host)
        .await
        .unwrap();
    assert_eq!(host.0.lock().unwrap().len(), 1);
}
