//! `vaultctl` against the oidc-provider peer and its Key Vault stand-in (which verifies the
//! bearer JWT) with the unattended Azure flows: `certificate` (PEM, and PKCS#12 with a
//! password) and `workload_identity` (a federated token file). The test makes its own RSA
//! key and certificate with the `openssl` CLI and registers them as a `private_key_jwt`
//! client at the peer (dynamic registration), as one uploads a certificate or a federated
//! credential to an Entra app registration.
#![cfg(all(feature = "peers", feature = "azure"))]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{config, run, texts};

fn peer_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} not set: run through .ci/test, or .ci/peers/start.sh then `set -a; . ~/.cache/vault-refs-peers/run/all.env; set +a`")
    })
}

fn openssl(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the openssl CLI is needed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.unwrap_or_default())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A temp dir with `key.pem`, `cert.pem`, `both.pem`, `cert.p12` (password `p12-pass`),
/// and the key's JWK modulus.
fn make_key(test: &str) -> (PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("vaultctl-azure-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-subj",
            "/CN=vaultctl-azure-test",
        ],
        None,
    );
    openssl(
        &dir,
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "key.pem",
            "-in",
            "cert.pem",
            "-out",
            "cert.p12",
            "-passout",
            "pass:p12-pass",
        ],
        None,
    );
    let mut both = std::fs::read(dir.join("cert.pem")).unwrap();
    both.extend(std::fs::read(dir.join("key.pem")).unwrap());
    std::fs::write(dir.join("both.pem"), both).unwrap();
    let m = String::from_utf8(openssl(
        &dir,
        &["rsa", "-in", "key.pem", "-noout", "-modulus"],
        None,
    ))
    .unwrap();
    let hex = m.trim().trim_start_matches("Modulus=");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    (dir, URL_SAFE_NO_PAD.encode(bytes))
}

/// Registers a `private_key_jwt` client for the key at the peer; returns its client id.
fn register(n: &str) -> String {
    let url = format!(
        "{}/{}/reg",
        peer_env("VAULT_TEST_AZURE_AUTHORITY"),
        peer_env("VAULT_TEST_AZURE_TENANT")
    );
    let body = serde_json::json!({
        "token_endpoint_auth_method": "private_key_jwt",
        "grant_types": ["client_credentials"], "response_types": [], "redirect_uris": [],
        "jwks": {"keys": [{"kty": "RSA", "use": "sig", "e": "AQAB", "n": n}]}
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "registration refused");
        let v: serde_json::Value = r.json().await.unwrap();
        v["client_id"].as_str().unwrap().to_owned()
    })
}

fn vault_toml(dir: &Path, client_id: &str, flow: &str) -> PathBuf {
    let text = format!(
        r#"
[integrations.azure]
tenant = "{tenant}"
client_id = "{client_id}"
authority = "{authority}"
vault_hosts = ["{host}"]
flow = "{flow}"

[secrets.db.azure]
identifier = "{id}"
"#,
        tenant = peer_env("VAULT_TEST_AZURE_TENANT"),
        authority = peer_env("VAULT_TEST_AZURE_AUTHORITY"),
        host = peer_env("VAULT_TEST_AZURE_VAULT_HOST"),
        id = peer_env("VAULT_TEST_AZURE_SECRET_ID"),
    );
    let _ = dir;
    config(&format!("azure-{flow}"), &text)
}

/// `vaultctl --config FILE get db` with `env`, a private HOME and store.
fn get_db(dir: &Path, config: &Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    // A store of its own per run: these tests are about the flows, and a session saved by an
    // earlier run (with another key or token) would be resumed instead.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run_no = RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let store = home.join(format!("store-{run_no}"));
    let mut all: Vec<(&str, &str)> = vec![
        ("HOME", home.to_str().unwrap()),
        ("VAULT_REFS_DATA_DIR", store.to_str().unwrap()),
    ];
    all.extend_from_slice(env);
    let out = run(
        "vaultctl",
        &["--config", config.to_str().unwrap(), "get", "db"],
        &all,
    );
    let (o, e) = texts(&out);
    (out.status.code().unwrap_or(-1), o, e)
}

#[test]
fn certificate_flow_reads_a_secret_through_vaultctl() {
    let (dir, n) = make_key("cert");
    let client_id = register(&n);
    let config = vault_toml(&dir, &client_id, "certificate");
    let want = format!("{}\n", peer_env("VAULT_TEST_AZURE_SECRET_VALUE"));

    let pem = dir.join("both.pem");
    let (code, out, err) = get_db(
        &dir,
        &config,
        &[("AZURE_CLIENT_CERTIFICATE_PATH", pem.to_str().unwrap())],
    );
    assert_eq!((code, out.as_str()), (0, want.as_str()), "{err}");

    let p12 = dir.join("cert.p12");
    let (code, out, err) = get_db(
        &dir,
        &config,
        &[
            ("AZURE_CLIENT_CERTIFICATE_PATH", p12.to_str().unwrap()),
            ("AZURE_CLIENT_CERTIFICATE_PASSWORD", "p12-pass"),
        ],
    );
    if cfg!(feature = "pkcs12") {
        assert_eq!((code, out.as_str()), (0, want.as_str()), "{err}");
    } else {
        // Off by default in vaultctl: refused, naming the feature that reads it.
        assert_eq!(out, "", "{err}");
        assert!(code != 0 && err.contains("feature `pkcs12`"), "{err}");
    }

    // Another key than the registered one: refused by the identity provider, exit 1.
    let (other, _) = make_key("cert-other");
    let pem = other.join("both.pem");
    let (code, out, err) = get_db(
        &dir,
        &config,
        &[("AZURE_CLIENT_CERTIFICATE_PATH", pem.to_str().unwrap())],
    );
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("secret `db` (azure)"), "{err}");
    assert!(err.contains("invalid_client"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other);
}

/// A federated token as a workload's platform would write it: a JWT signed by the key
/// registered for the client (here RS256, signed with the openssl CLI).
fn federated_token(dir: &Path, client_id: &str) -> String {
    let token_url = format!(
        "{}/{}/oauth2/v2.0/token",
        peer_env("VAULT_TEST_AZURE_AUTHORITY"),
        peer_env("VAULT_TEST_AZURE_TENANT")
    );
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let now = since.as_secs();
    // Unique per token: the peer refuses a replayed jti.
    let jti = format!("{}-{}", std::process::id(), since.as_nanos());
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(
        serde_json::json!({"iss": client_id, "sub": client_id, "aud": token_url, "jti": jti, "iat": now, "exp": now + 600})
            .to_string(),
    );
    let input = format!("{header}.{claims}");
    let sig = openssl(
        dir,
        &["dgst", "-sha256", "-sign", "key.pem"],
        Some(input.as_bytes()),
    );
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

#[test]
fn workload_identity_flow_reads_a_secret_through_vaultctl() {
    let (dir, n) = make_key("wi");
    let client_id = register(&n);
    let config = vault_toml(&dir, &client_id, "workload_identity");
    let want = format!("{}\n", peer_env("VAULT_TEST_AZURE_SECRET_VALUE"));
    let file = dir.join("federated-token");
    // Each run reads the file anew: the platform rotates it between runs.
    for _ in 0..2 {
        std::fs::write(&file, federated_token(&dir, &client_id)).unwrap();
        let (code, out, err) = get_db(
            &dir,
            &config,
            &[("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap())],
        );
        assert_eq!((code, out.as_str()), (0, want.as_str()), "{err}");
    }
    // A token the identity provider does not trust (wrong audience): exit 1, nothing leaked.
    let token = federated_token(&dir, "someone-else");
    std::fs::write(&file, &token).unwrap();
    let (code, out, err) = get_db(
        &dir,
        &config,
        &[("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap())],
    );
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(!err.contains(&token), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
