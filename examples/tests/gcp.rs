//! The Google Cloud Secret Manager example provider (`vault_examples::gcp`), against wiremock
//! answering as the REST reference describes: built by its factory like the built-in
//! providers, resolving through `vault-core` unchanged (`json_key` included).

use base64::Engine;
use vault_core::{
    ErrorKind, IntegrationSettings, Link, MapEnv, Outcome, ProviderContext, ProviderFactory,
    ProviderId, Resolver, Vault, VaultSecret,
};
use vault_examples::gcp::GcpFactory;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DOC: &str = r#"{"user":"app","password":"canary-pw-1234"}"#;

fn settings(server: &MockServer) -> IntegrationSettings {
    let mut t = toml::Table::new();
    t.insert("project".into(), "proj-1".into());
    t.insert("endpoint".into(), server.uri().into());
    t.insert("access_token_env".into(), "GCP_TEST_TOKEN".into());
    IntegrationSettings::new(t)
}

fn provider(server: &MockServer, token: Option<&str>) -> vault_core::DynProvider {
    let env = match token {
        Some(t) => MapEnv::new().with("GCP_TEST_TOKEN", t),
        None => MapEnv::new(),
    };
    GcpFactory
        .build(&settings(server), &ProviderContext::new(&env))
        .expect("valid settings")
}

fn link(secret: &str) -> Link {
    Link::new(ProviderId::new("gcp").unwrap()).with("secret", secret)
}

fn access_body(value: &str) -> serde_json::Value {
    serde_json::json!({
        "name": "projects/123/secrets/db/versions/3",
        "payload": {
            "data": base64::engine::general_purpose::STANDARD.encode(value),
            "dataCrc32c": "12345"
        }
    })
}

#[tokio::test]
async fn two_fields_of_one_secret_cost_one_access_call() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/v1/projects/proj-1/secrets/db/versions/latest:access",
        ))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(access_body(DOC)))
        .expect(1)
        .mount(&server)
        .await;
    let vault = Vault::new()
        .with(
            "user",
            VaultSecret::link(link("db").with("json_key", "user")),
        )
        .with(
            "pass",
            VaultSecret::link(link("db").with("json_key", "/password")),
        );
    let r = Resolver::builder(vault)
        .provider(provider(&server, Some("tok-1")))
        .build();
    let res = r
        .resolve("{{vault:user}}:{{vault:pass}}", None)
        .await
        .unwrap();
    assert_eq!(res.expose(), "app:canary-pw-1234");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn versions_and_full_resource_names() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/projects/other/secrets/api/versions/7:access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(access_body("v7")))
        .mount(&server)
        .await;
    let vault = Vault::new().with(
        "api",
        VaultSecret::link(link("projects/other/secrets/api").with("version", "7")),
    );
    let r = Resolver::builder(vault)
        .provider(provider(&server, Some("t")))
        .build();
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&r.value("api").await.unwrap()),
        "v7"
    );
}

#[tokio::test]
async fn statuses_map_to_kinds_and_never_echo_the_server() {
    for (status, kind) in [
        (401, ErrorKind::SessionExpired),
        (403, ErrorKind::PermissionDenied),
        (404, ErrorKind::NotFound),
        (429, ErrorKind::RateLimited),
        (503, ErrorKind::Unreachable),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(status).set_body_json(serde_json::json!({
                    "error": {"code": status, "message": "canary-server-text tok-1", "status": "X"}
                })),
            )
            .mount(&server)
            .await;
        let vault = Vault::new().with("s", VaultSecret::link(link("db")));
        let r = Resolver::builder(vault)
            .provider(provider(&server, Some("tok-1")))
            .build();
        let res = r.resolve("{{vault:s}}", None).await.unwrap();
        let Outcome::Unresolved(e) = &res.report.entries()[0].outcome else {
            panic!("{status} resolves nothing");
        };
        assert_eq!(e.kind(), kind, "{status}: {e}");
        let shown = format!("{e} {e:?}");
        assert!(
            !shown.contains("canary") && !shown.contains("tok-1"),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn bad_payloads_links_settings_and_no_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/v1/projects/proj-1/secrets/junk/versions/latest:access",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"payload\":{\"data\":\"%%\"}}"))
        .mount(&server)
        .await;
    let vault = Vault::new()
        .with("junk", VaultSecret::link(link("junk")))
        .with(
            "bad-version",
            VaultSecret::link(link("db").with("version", "x/../y")),
        )
        .with(
            "bad-key",
            VaultSecret::link(link("db").with("region", "eu")),
        );
    let r = Resolver::builder(vault)
        .provider(provider(&server, Some("t")))
        .build();
    assert_eq!(
        r.value("junk").await.unwrap_err().kind(),
        ErrorKind::InvalidResponse
    );
    let invalid: Vec<_> = r
        .invalid_links()
        .iter()
        .map(|e| e.secret().map(str::to_owned))
        .collect();
    assert_eq!(
        invalid,
        [Some("bad-key".to_owned()), Some("bad-version".to_owned())]
    );

    // No token: signed out, and no request is made.
    let before = server.received_requests().await.unwrap().len();
    let vault = Vault::new().with("s", VaultSecret::link(link("db")));
    let r = Resolver::builder(vault)
        .provider(provider(&server, None))
        .build();
    assert_eq!(r.value("s").await.unwrap_err().kind(), ErrorKind::SignedOut);
    assert_eq!(server.received_requests().await.unwrap().len(), before);

    // Settings: plain http only on loopback, unknown keys named.
    let env = MapEnv::new();
    for (key, value, what) in [
        ("endpoint", "http://example.com", "https"),
        ("projekt", "p", "projekt"),
    ] {
        let mut t = toml::Table::new();
        t.insert(key.into(), value.into());
        let e = GcpFactory
            .build(&IntegrationSettings::new(t), &ProviderContext::new(&env))
            .err()
            .expect("refused");
        assert!(e.to_string().contains(what), "{e}");
    }
}

/// The plugin seam end to end: `vaultctl` builds the example provider from the config file
/// through the same factory list as the built-in ones, and `check` and `get` use it.
#[test]
fn vaultctl_reads_a_field_through_the_gcp_factory() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(
                "/v1/projects/proj-1/secrets/db/versions/latest:access",
            ))
            .and(header("authorization", "Bearer tok-cli"))
            .respond_with(ResponseTemplate::new(200).set_body_json(access_body(DOC)))
            .expect(1)
            .mount(&server)
            .await;
        server
    });
    let dir = std::env::temp_dir().join(format!("vault-examples-gcp-cli-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("home")).unwrap();
    let config = dir.join("vault.toml");
    std::fs::write(
        &config,
        format!(
            "[integrations.gcp]\nproject = \"proj-1\"\nendpoint = \"{}\"\naccess_token_env = \"GCP_TEST_TOKEN\"\n\n[secrets.db-user.gcp]\nsecret = \"db\"\njson_key = \"user\"\n",
            server.uri()
        ),
    )
    .unwrap();
    let exe = {
        let me = std::env::current_exe().unwrap();
        me.parent()
            .and_then(|d| d.parent())
            .unwrap()
            .join("examples")
            .join("vaultctl")
    };
    let out = std::process::Command::new(exe)
        .args(["--config", config.to_str().unwrap(), "get", "db-user"])
        .env("HOME", dir.join("home"))
        .env("VAULT_REFS_DATA_DIR", dir.join("store"))
        .env("GCP_TEST_TOKEN", "tok-cli")
        .env("VAULT_NO_BROWSER", "1")
        .output()
        .expect("run vaultctl");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "app\n");
    assert!(!stderr.contains("canary-pw-1234"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
    rt.block_on(async move {
        server.verify().await; // exactly the one expected call
    });
}
