//! The unattended credential sources against wiremock stand-ins (IMDS, App Service, the
//! token endpoint) and a fake `az` on PATH: exact requests, "not mine", errors, the auto
//! chain's order and the source it reports.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use common::{form_field, jwt_part, make_cert, NoUser};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use vault_azure::{AzureProvider, AzureProviderBuilder, RetryPolicy, SignInFlow};
use vault_core::{Clock, ErrorKind, Link, ManualClock, Provider, ProviderId};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "11111111-2222-3333-4444-555555555555";

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(5),
    }
}

/// A builder whose Key Vault is `server`; no client id, no flow.
fn base(server: &MockServer) -> AzureProviderBuilder {
    AzureProvider::builder()
        .authority(server.uri())
        .vault_host(server.uri().trim_start_matches("http://"))
        .retry(fast())
}

fn app(server: &MockServer) -> AzureProviderBuilder {
    base(server).tenant(TENANT).client_id(CLIENT)
}

fn link(server: &MockServer) -> Link {
    Link::new(ProviderId::from_static("azure"))
        .with("identifier", format!("{}/secrets/s1", server.uri()))
}

/// Key Vault answers `value-<token>` for bearer `<token>`.
async fn mount_vault(server: &MockServer, tokens: &[&str]) {
    for t in tokens {
        Mock::given(method("GET"))
            .and(path("/secrets/s1"))
            .and(header("authorization", format!("Bearer {t}").as_str()))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"value": format!("value-{t}")})),
            )
            .mount(server)
            .await;
    }
}

async fn value(p: &AzureProvider, server: &MockServer) -> Result<String, vault_core::Error> {
    p.fetch(&link(server), &NoUser)
        .await
        .map(|v| v.expose_secret().to_owned())
}

fn token_json(access: &str) -> serde_json::Value {
    serde_json::json!({"token_type": "Bearer", "expires_in": 3599, "access_token": access})
}

// ---- managed identity ----

#[tokio::test]
async fn imds_is_asked_with_metadata_header_api_version_and_resource() {
    let server = MockServer::start().await;
    let expires_on = (OffsetDateTime::now_utc().unix_timestamp() + 3600).to_string();
    Mock::given(method("GET"))
        .and(path("/metadata/identity/oauth2/token"))
        .and(header("Metadata", "true"))
        .and(query_param("api-version", "2018-02-01"))
        .and(query_param("resource", "https://vault.azure.net"))
        .and(query_param_is_missing("client_id"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "mi-system", "expires_in": "3599", "expires_on": expires_on,
            "resource": "https://vault.azure.net", "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    mount_vault(&server, &["mi-system"]).await;
    let p = base(&server)
        .flow(SignInFlow::ManagedIdentity)
        .managed_identity_endpoint(server.uri())
        .build()
        .unwrap();
    assert_eq!(value(&p, &server).await.unwrap(), "value-mi-system");
    // The token is reused while it is fresh (expect(1) above).
    assert_eq!(value(&p, &server).await.unwrap(), "value-mi-system");
    assert_eq!(p.credential_source(), Some("managed_identity"));
    assert!(p.session().is_signed_in());
    // One probe first (no Metadata header: IMDS answers it at once), then the token request.
    let seen = server.received_requests().await.unwrap();
    let imds: Vec<_> = seen
        .iter()
        .filter(|r| r.url.path() == "/metadata/identity/oauth2/token")
        .collect();
    assert_eq!(imds.len(), 2);
    assert!(imds[0].headers.get("Metadata").is_none());
    assert_eq!(imds[1].headers.get("Metadata").unwrap(), "true");
}

#[tokio::test]
async fn a_user_assigned_identity_is_picked_by_client_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/metadata/identity/oauth2/token"))
        .and(query_param("client_id", CLIENT))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "mi-user", "expires_in": 3599
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/metadata/identity/oauth2/token"))
        .and(query_param(
            "client_id",
            "00000000-0000-0000-0000-000000000000",
        ))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_request", "error_description": "Identity not found"
        })))
        .mount(&server)
        .await;
    mount_vault(&server, &["mi-user"]).await;
    let p = base(&server)
        .client_id(CLIENT)
        .flow(SignInFlow::ManagedIdentity)
        .managed_identity_endpoint(server.uri())
        .build()
        .unwrap();
    assert_eq!(value(&p, &server).await.unwrap(), "value-mi-user");
    let p = base(&server)
        .client_id("00000000-0000-0000-0000-000000000000")
        .flow(SignInFlow::ManagedIdentity)
        .managed_identity_endpoint(server.uri())
        .build()
        .unwrap();
    let e = value(&p, &server).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignedOut, "{e}");
    assert!(
        e.message()
            .contains("no managed identity with this client id"),
        "{e}"
    );
}

#[tokio::test]
async fn app_service_uses_identity_endpoint_and_header() {
    let server = MockServer::start().await;
    let expires_on = OffsetDateTime::now_utc().unix_timestamp() + 3600;
    Mock::given(method("GET"))
        .and(path("/msi/token"))
        .and(header("X-IDENTITY-HEADER", "id-header-secret"))
        .and(query_param("api-version", "2019-08-01"))
        .and(query_param("resource", "https://vault.azure.net"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "mi-appservice", "expires_on": expires_on.to_string(),
            "resource": "https://vault.azure.net", "token_type": "Bearer", "client_id": CLIENT
        })))
        .expect(1)
        .mount(&server)
        .await;
    mount_vault(&server, &["mi-appservice"]).await;
    let p = base(&server)
        .flow(SignInFlow::ManagedIdentity)
        .app_service_identity(
            format!("{}/msi/token", server.uri()),
            SecretString::from("id-header-secret"),
        )
        .build()
        .unwrap();
    assert_eq!(value(&p, &server).await.unwrap(), "value-mi-appservice");
    assert!(!format!("{p:?}").contains("id-header-secret"));
}

#[tokio::test]
async fn imds_that_does_not_answer_is_not_mine_within_the_probe_timeout() {
    // A listener that accepts and never answers: the probe gives up after its deadline.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let server = MockServer::start().await;
    let p = base(&server)
        .flow(SignInFlow::ManagedIdentity)
        .managed_identity_endpoint(format!("http://{addr}"))
        .managed_identity_probe_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = value(&p, &server).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(e.kind(), ErrorKind::SignedOut, "{e}");
    assert!(e.message().contains("managed_identity"), "{e}");
    assert!(e.message().contains("300 ms"), "{e}");
}

#[tokio::test]
async fn imds_server_errors_are_retried_then_reported() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/metadata/identity/oauth2/token"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let p = base(&server)
        .flow(SignInFlow::ManagedIdentity)
        .managed_identity_endpoint(server.uri())
        .build()
        .unwrap();
    let e = value(&p, &server).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unreachable, "{e}");
}

// ---- Azure CLI ----

/// A directory holding an executable `az` with `script` as its body.
fn fake_az(name: &str, script: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("vault-azure-az-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let az = dir.join("az");
    std::fs::write(&az, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn cli(server: &MockServer, dir: &Path) -> AzureProviderBuilder {
    base(server)
        .flow(SignInFlow::AzureCli)
        .cli_path(format!("/nonexistent:{}", dir.display()))
}

#[tokio::test]
async fn azure_cli_success_passes_resource_and_tenant_as_arguments() {
    let server = MockServer::start().await;
    let exp = OffsetDateTime::now_utc().unix_timestamp() + 3600;
    let dir = fake_az(
        "ok",
        &format!(
            r#"echo "$@" > "$(dirname "$0")/args"
echo '{{"accessToken": "cli-token", "expiresOn": "2030-01-01 00:00:00.000000", "expires_on": {exp}, "subscription": "s", "tenant": "{TENANT}", "tokenType": "Bearer"}}'"#
        ),
    );
    mount_vault(&server, &["cli-token"]).await;
    let p = cli(&server, &dir).tenant(TENANT).build().unwrap();
    assert_eq!(value(&p, &server).await.unwrap(), "value-cli-token");
    assert_eq!(p.credential_source(), Some("azure_cli"));
    let args = std::fs::read_to_string(dir.join("args")).unwrap();
    assert_eq!(
        args.trim(),
        format!("account get-access-token --output json --resource https://vault.azure.net --tenant {TENANT}")
    );
    // A multi-tenant alias sends no --tenant.
    let p = cli(&server, &dir).build().unwrap();
    assert_eq!(value(&p, &server).await.unwrap(), "value-cli-token");
    let args = std::fs::read_to_string(dir.join("args")).unwrap();
    assert!(!args.contains("--tenant"), "{args}");
}

#[tokio::test]
async fn azure_cli_not_signed_in_says_az_login_and_never_shows_output() {
    let server = MockServer::start().await;
    let dir = fake_az(
        "nologin",
        "echo \"ERROR: Please run 'az login' to setup account. CANARY-STDERR\" >&2; echo CANARY-STDOUT; exit 1",
    );
    let p = cli(&server, &dir).build().unwrap();
    let e = value(&p, &server).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignedOut, "{e}");
    assert!(e.message().contains("run `az login`"), "{e}");
    assert!(!format!("{e} {e:?}").contains("CANARY"), "{e:?}");
}

#[tokio::test]
async fn azure_cli_wrong_tenant_names_the_tenant() {
    let server = MockServer::start().await;
    let dir = fake_az(
        "tenant",
        "echo \"ERROR: AADSTS90002: Tenant '$7' not found. CANARY\" >&2; exit 1",
    );
    let p = cli(&server, &dir).tenant(TENANT).build().unwrap();
    let e = value(&p, &server).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(
        e.message().contains(&format!("az login --tenant {TENANT}")),
        "{e}"
    );
    assert!(!e.to_string().contains("CANARY"), "{e}");
}

#[tokio::test]
async fn azure_cli_that_hangs_is_stopped_at_its_timeout() {
    let server = MockServer::start().await;
    let dir = fake_az("hang", "exec sleep 30");
    let p = cli(&server, &dir)
        .cli_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = value(&p, &server).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.message().contains("stopped"), "{e}");
}

#[tokio::test]
async fn azure_cli_missing_is_not_mine() {
    let server = MockServer::start().await;
    let p = base(&server)
        .flow(SignInFlow::AzureCli)
        .cli_path("/nonexistent")
        .build()
        .unwrap();
    let e = value(&p, &server).await.unwrap_err();
    assert!(e.message().contains("`az` is not on PATH"), "{e}");
}

// ---- auto ----

#[tokio::test]
async fn auto_tries_the_documented_order_and_says_which_source_won() {
    let server = MockServer::start().await;
    let dir = fake_az(
        "auto",
        r#"echo '{"accessToken": "cli-token", "expires_on": 4102444800}'"#,
    );
    mount_vault(&server, &["cli-token", "mi-token"]).await;
    // No IMDS (refused connection), az signed in: the CLI wins.
    let p = base(&server)
        .managed_identity_endpoint("http://127.0.0.1:9")
        .cli_path(dir.display().to_string())
        .build()
        .unwrap();
    assert_eq!(p.flow(), SignInFlow::Auto);
    assert_eq!(p.credential_chain(), ["managed_identity", "azure_cli"]);
    assert_eq!(value(&p, &server).await.unwrap(), "value-cli-token");
    assert_eq!(p.credential_source(), Some("azure_cli"));

    // IMDS answers: managed identity comes first.
    Mock::given(method("GET"))
        .and(path("/metadata/identity/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "mi-token", "expires_in": "3599"
        })))
        .mount(&server)
        .await;
    let p = base(&server)
        .managed_identity_endpoint(server.uri())
        .cli_path(dir.display().to_string())
        .build()
        .unwrap();
    assert_eq!(value(&p, &server).await.unwrap(), "value-mi-token");
    assert_eq!(p.credential_source(), Some("managed_identity"));

    // Environment credentials come before both.
    let p = base(&server)
        .tenant(TENANT)
        .client_id(CLIENT)
        .flow(SignInFlow::Auto)
        .client_secret("s".into())
        .federated_token_file("/nonexistent/token")
        .managed_identity_endpoint(server.uri())
        .cli_path(dir.display().to_string())
        .build()
        .unwrap();
    assert_eq!(
        p.credential_chain(),
        [
            "client_secret",
            "workload_identity",
            "managed_identity",
            "azure_cli"
        ]
    );

    // Nothing available: one error naming every source tried.
    let p = base(&server)
        .managed_identity_endpoint("http://127.0.0.1:9")
        .cli_path("/nonexistent")
        .build()
        .unwrap();
    let e = value(&p, &server).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignedOut, "{e}");
    for s in ["managed_identity:", "azure_cli: `az` is not on PATH"] {
        assert!(e.message().contains(s), "{s} in {e}");
    }
}

// ---- certificate and workload identity ----

const TOKEN_PATH: &str = "/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token";

#[tokio::test]
async fn certificate_sends_a_fresh_signed_assertion_with_the_thumbprint() {
    let cert = make_cert("wiremock");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json("cert-token")))
        .mount(&server)
        .await;
    mount_vault(&server, &["cert-token"]).await;
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    for (file, password) in [(&cert.both_pem, None), (&cert.p12, Some("p12-pass"))] {
        let mut b = app(&server)
            .flow(SignInFlow::Certificate)
            .client_certificate(file)
            .clock(clock.clone());
        if let Some(pw) = password {
            b = b.client_certificate_password(pw.into());
        }
        let p = b.build().unwrap();
        assert_eq!(value(&p, &server).await.unwrap(), "value-cert-token");
    }
    let requests = server.received_requests().await.unwrap();
    let posts: Vec<_> = requests
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    let thumb =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(&cert.cert_der));
    let mut jtis = Vec::new();
    for r in posts {
        let body = &r.body;
        assert_eq!(
            form_field(body, "grant_type").unwrap(),
            "client_credentials"
        );
        assert_eq!(form_field(body, "client_id").unwrap(), CLIENT);
        assert_eq!(
            form_field(body, "scope").unwrap(),
            "https://vault.azure.net/.default"
        );
        assert_eq!(
            form_field(body, "client_assertion_type").unwrap(),
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        );
        assert!(form_field(body, "client_secret").is_none());
        let jwt = form_field(body, "client_assertion").unwrap();
        let h = jwt_part(&jwt, 0);
        assert_eq!(h["alg"], "PS256");
        assert_eq!(h["typ"], "JWT");
        assert_eq!(h["x5t#S256"], thumb.as_str());
        let c = jwt_part(&jwt, 1);
        assert_eq!(c["aud"], format!("{}{TOKEN_PATH}", server.uri()));
        assert_eq!(c["iss"], CLIENT);
        assert_eq!(c["sub"], CLIENT);
        let now = clock.now().unix_timestamp();
        assert_eq!(c["nbf"], now);
        assert_eq!(c["exp"], now + 600);
        // The signature verifies with the certificate's public key.
        let key = jsonwebtoken::DecodingKey::from_rsa_components(&cert.n, "AQAB").unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::PS256);
        v.set_audience(&[c["aud"].as_str().unwrap()]);
        v.validate_exp = false;
        jsonwebtoken::decode::<serde_json::Value>(&jwt, &key, &v).unwrap();
        jtis.push(c["jti"].as_str().unwrap().to_owned());
    }
    assert_ne!(jtis[0], jtis[1]);

    // A wrong PKCS#12 password is a config error naming the variable.
    let e = app(&server)
        .flow(SignInFlow::Certificate)
        .client_certificate(&cert.p12)
        .client_certificate_password("wrong".into())
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(
        e.message().contains("AZURE_CLIENT_CERTIFICATE_PASSWORD"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&cert.dir);
}

#[tokio::test]
async fn a_signed_assertion_is_sent_once_even_on_a_server_error() {
    let cert = make_cert("once");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let p = app(&server)
        .flow(SignInFlow::Certificate)
        .client_certificate(&cert.both_pem)
        .build()
        .unwrap();
    let e = value(&p, &server).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unreachable, "{e}");
    let _ = std::fs::remove_dir_all(&cert.dir);
}

#[tokio::test]
async fn workload_identity_reads_the_token_file_for_every_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json("wi-token")))
        .mount(&server)
        .await;
    mount_vault(&server, &["wi-token"]).await;
    let dir = std::env::temp_dir().join(format!("vault-azure-wi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, "eyJ.first.sig\n").unwrap();
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let p = app(&server)
        .federated_token_file(&file)
        .clock(clock.clone())
        .build()
        .unwrap();
    assert_eq!(p.flow(), SignInFlow::WorkloadIdentity);
    assert_eq!(value(&p, &server).await.unwrap(), "value-wi-token");
    // The platform rotates the file; the next token request sends the new one.
    std::fs::write(&file, "eyJ.second.sig").unwrap();
    clock.advance(time::Duration::hours(2));
    assert_eq!(value(&p, &server).await.unwrap(), "value-wi-token");
    let requests = server.received_requests().await.unwrap();
    let sent: Vec<String> = requests
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| form_field(&r.body, "client_assertion").unwrap())
        .collect();
    assert_eq!(sent, ["eyJ.first.sig", "eyJ.second.sig"]);
    // A vanished file is an error naming it.
    std::fs::remove_file(&file).unwrap();
    clock.advance(time::Duration::hours(2));
    let e = value(&p, &server).await.unwrap_err();
    assert!(e.message().contains("AZURE_FEDERATED_TOKEN_FILE"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
