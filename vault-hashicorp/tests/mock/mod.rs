//! A Vault/OpenBao stand-in on wiremock for exact-request tests: the OIDC provider's
//! discovery, keys and token endpoint, JWT login, and a headless browser that signs a test
//! id_token with the nonce of the authorization request.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde_json::{json, Value};
use url::Url;
use vault_core::{DeviceCode, Error, ErrorKind, Interaction, Link};
use vault_hashicorp::{HashicorpBuilder, HashicorpProvider, RetryPolicy};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const N: &str = include_str!("../../testdata/test-rsa-key.n");
const DER: &str = include_str!("../../testdata/test-rsa-key.der.b64");
pub const CLIENT_ID: &str = "test-client";

pub fn issuer(server: &MockServer, ns: &str) -> String {
    let ns = if ns.is_empty() {
        String::new()
    } else {
        format!("{ns}/")
    };
    format!("{}/v1/{ns}identity/oidc/provider/vault-refs", server.uri())
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(5),
    }
}

/// A provider on `server` in namespace `ns` (the provider URL carries it).
pub fn builder(server: &MockServer, ns: &str) -> HashicorpBuilder {
    HashicorpProvider::builder(issuer(server, ns), CLIENT_ID)
        .redirect_uri("http://127.0.0.1:0/")
        .retry(fast_retry())
        .timeout(Duration::from_secs(5))
}

pub fn link(engine: &str, p: &str, key: &str) -> Link {
    Link::new(vault_hashicorp::PROVIDER_ID)
        .with("engine", engine)
        .with("path", p)
        .with("key", key)
}

pub async fn mount_kv(server: &MockServer, mount: &str, version: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v1/sys/internal/ui/mounts/{mount}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"type": "kv", "path": format!("{mount}/"), "options": {"version": version}}
        })))
        .mount(server)
        .await;
}

/// Discovery and keys of the OIDC provider (namespace in the path, as Vault serves them).
pub async fn mount_oidc(server: &MockServer, ns: &str) {
    mount_oidc_scopes(server, ns, json!(["openid"])).await
}

/// [`mount_oidc`] with this `scopes_supported` in the discovery document.
pub async fn mount_oidc_scopes(server: &MockServer, ns: &str, scopes_supported: Value) {
    let iss = issuer(server, ns);
    let prefix = Url::parse(&iss).unwrap().path().to_owned();
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/.well-known/openid-configuration")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": iss,
            "authorization_endpoint": format!("{}/ui/vault/identity/oidc/provider/vault-refs/authorize", server.uri()),
            "token_endpoint": format!("{iss}/token"),
            "jwks_uri": format!("{iss}/.well-known/keys"),
            "scopes_supported": scopes_supported,
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/.well-known/keys")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": N.trim(), "e": "AQAB"}]
        })))
        .mount(server)
        .await;
}

pub async fn mount_login(server: &MockServer, token: &str, lease: i64) {
    Mock::given(method("POST"))
        .and(path("/v1/auth/vault-refs-jwt/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "auth": {"client_token": token, "lease_duration": lease, "renewable": true, "policies": ["default"]}
        })))
        .mount(server)
        .await;
}

pub fn sign(claims: Value) -> String {
    let der = base64::engine::general_purpose::STANDARD
        .decode(DER.trim())
        .unwrap();
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("k1".into());
    encode(&h, &claims, &EncodingKey::from_rsa_der(&der)).unwrap()
}

/// The headless browser: on `open_url` it mounts a token endpoint answering an id_token
/// with the request's nonce (claims adjustable), then delivers `?code=&state=`.
pub struct MockBrowser {
    pub server: Arc<MockServer>,
    pub ns: String,
    pub opened: AtomicUsize,
    pub tweak: fn(&mut Value),
    /// The `scope` parameter of each URL opened.
    pub scopes: std::sync::Mutex<Vec<String>>,
}

impl MockBrowser {
    pub fn new(server: Arc<MockServer>, ns: &str) -> Arc<Self> {
        Arc::new(MockBrowser {
            server,
            ns: ns.to_owned(),
            opened: AtomicUsize::new(0),
            tweak: |_| {},
            scopes: std::sync::Mutex::new(Vec::new()),
        })
    }
    pub fn opened(&self) -> usize {
        self.opened.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Interaction for MockBrowser {
    async fn open_url(&self, url: &Url) -> Result<(), Error> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        self.scopes
            .lock()
            .unwrap()
            .push(q.get("scope").cloned().unwrap_or_default());
        let iss = issuer(&self.server, &self.ns);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut claims = json!({
            "iss": iss, "aud": CLIENT_ID, "sub": "entity-1", "nonce": q["nonce"],
            "iat": now, "exp": now + 1800, "namespace": "root"
        });
        (self.tweak)(&mut claims);
        let prefix = Url::parse(&iss).unwrap().path().to_owned();
        Mock::given(method("POST"))
            .and(path(format!("{prefix}/token")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "b.AAAA", "expires_in": 3600, "id_token": sign(claims), "token_type": "Bearer"
            })))
            // a code is single use, like on the real server
            .up_to_n_times(1)
            .mount(&self.server)
            .await;
        let resp = reqwest::Client::new()
            .get(&q["redirect_uri"])
            .query(&[("code", "the-code"), ("state", q["state"].as_str())])
            .send()
            .await
            .map_err(|e| Error::new(ErrorKind::Other, e.to_string()))?;
        assert_eq!(resp.status().as_u16(), 200);
        Ok(())
    }

    async fn show_device_code(&self, _code: &DeviceCode) -> Result<(), Error> {
        Err(Error::new(ErrorKind::Cancelled, "none"))
    }

    async fn ask_mfa_code(&self, _serial: &str) -> Result<SecretString, Error> {
        Err(Error::new(ErrorKind::Cancelled, "none"))
    }
}
