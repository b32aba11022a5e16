//! Shared pieces of the end-to-end tests against the real OpenBao started by `.ci/test`:
//! the environment, the setup run once per test binary, and a headless "browser".
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tokio::sync::OnceCell;
use url::Url;
use vault_core::{DeviceCode, Error, ErrorKind, Interaction};
use vault_hashicorp::setup::{self, Mode, PlannedRequest, SetupConfig, SetupOutcome};
use vault_hashicorp::HashicorpProvider;

/// A `VAULT_TEST_*` variable, or a panic that says how to get it.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} not set: run the tests through .ci/test, which starts the peers (or .ci/peers/start.sh openbao and source its all.env)")
    })
}

pub fn addr() -> String {
    env("VAULT_TEST_BAO_ADDR")
}

pub fn root_token() -> SecretString {
    SecretString::from(env("VAULT_TEST_BAO_ROOT_TOKEN"))
}

/// A user of the seeded world: name, password, namespace ("" for root).
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub pass: String,
    pub namespace: String,
}

pub fn alice() -> User {
    User {
        name: env("VAULT_TEST_BAO_USER"),
        pass: env("VAULT_TEST_BAO_PASS"),
        namespace: String::new(),
    }
}

pub fn bob() -> User {
    User {
        name: env("VAULT_TEST_BAO_NS_USER"),
        pass: env("VAULT_TEST_BAO_NS_PASS"),
        namespace: env("VAULT_TEST_BAO_NAMESPACE"),
    }
}

static ROOT_SETUP: OnceCell<SetupOutcome> = OnceCell::const_new();
static NS_SETUP: OnceCell<SetupOutcome> = OnceCell::const_new();

/// The setup tool with the root token and the default names (idempotent; once per binary).
pub async fn setup_root() -> &'static SetupOutcome {
    ROOT_SETUP.get_or_init(|| run_setup("")).await
}

/// The same in the test namespace.
pub async fn setup_ns() -> &'static SetupOutcome {
    NS_SETUP
        .get_or_init(|| run_setup_owned(env("VAULT_TEST_BAO_NAMESPACE")))
        .await
}

async fn run_setup_owned(ns: String) -> SetupOutcome {
    run_setup(&ns).await
}

async fn run_setup(ns: &str) -> SetupOutcome {
    let mut c = SetupConfig::new(&addr(), root_token()).unwrap();
    c.namespace = vault_hashicorp::Namespace::parse(ns).unwrap();
    // the seed's broad policy: these tests read many paths (least privilege: peer_least_privilege.rs)
    c.broad_read = true;
    let mut yes = |_: &PlannedRequest| true;
    setup::run(&c, Mode::Apply, &mut yes)
        .await
        .expect("setup tool on the peer")
}

/// A provider for `outcome`, listening on any free loopback port.
pub fn provider(outcome: &SetupOutcome) -> vault_hashicorp::HashicorpBuilder {
    HashicorpProvider::builder(&outcome.oidc_provider_url, &outcome.client_id)
        .jwt_auth_path(&outcome.jwt_auth_path)
        .role(&outcome.role)
        .namespace(&outcome.namespace)
        .redirect_uri("http://127.0.0.1:0/")
}

/// Logs `user` in with userpass (the stand-in for the UI login a person does in a browser).
pub async fn userpass_token(user: &User) -> SecretString {
    let http = reqwest::Client::new();
    let mut req = http
        .post(format!("{}/v1/auth/userpass/login/{}", addr(), user.name))
        .json(&json!({ "password": user.pass }));
    if !user.namespace.is_empty() {
        req = req.header("X-Vault-Namespace", &user.namespace);
    }
    let body: Value = req
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    SecretString::from(body["auth"]["client_token"].as_str().unwrap().to_owned())
}

/// A raw API call with the root token.
pub async fn root_call(
    method: reqwest::Method,
    path: &str,
    namespace: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let http = reqwest::Client::new();
    let mut req = http
        .request(method, format!("{}/v1/{}", addr(), path))
        .header("X-Vault-Token", root_token().expose_secret());
    if !namespace.is_empty() {
        req = req.header("X-Vault-Namespace", namespace);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// The headless browser: on `open_url` it signs `user` in with userpass, calls the OIDC
/// provider's API authorize endpoint (`<issuer>/authorize`, JSON `{code,state}`) with that
/// token and the query of the URL it was given, and delivers `?code=&state=` to the
/// loopback listener named in `redirect_uri`.
pub struct Browser {
    pub user: User,
    pub issuer: String,
    pub opened: AtomicUsize,
    /// When set, the browser delivers this state instead of the right one first.
    pub wrong_state_first: bool,
}

impl Browser {
    pub fn new(user: User, issuer: &str) -> Arc<Self> {
        Arc::new(Browser {
            user,
            issuer: issuer.to_owned(),
            opened: AtomicUsize::new(0),
            wrong_state_first: false,
        })
    }

    pub fn opened(&self) -> usize {
        self.opened.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Interaction for Browser {
    async fn open_url(&self, url: &Url) -> Result<(), Error> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| {
            query
                .iter()
                .find(|(q, _)| q == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(get("response_type"), "code");
        assert_eq!(get("code_challenge_method"), "S256");
        assert!(get("scope").split(' ').any(|s| s == "openid"));
        assert!(!get("nonce").is_empty() && !get("state").is_empty());
        let token = userpass_token(&self.user).await;
        let http = reqwest::Client::new();
        let resp = http
            .get(format!("{}/authorize", self.issuer))
            .query(&query)
            .header("X-Vault-Token", token.expose_secret())
            .send()
            .await
            .map_err(|e| Error::new(ErrorKind::Other, format!("browser: {e}")))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(Error::new(
                ErrorKind::AuthFailed,
                format!("browser: authorize HTTP {status}: {body}"),
            ));
        }
        assert_eq!(
            body["state"].as_str(),
            Some(get("state").as_str()),
            "authorize echoes the state"
        );
        let code = body["code"].as_str().expect("authorize answers a code");
        let redirect = get("redirect_uri");
        if self.wrong_state_first {
            let r = http
                .get(&redirect)
                .query(&[("code", code), ("state", "forged")])
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status().as_u16(),
                400,
                "the listener refuses a wrong state"
            );
        }
        let page = http
            .get(&redirect)
            .query(&[("code", code), ("state", get("state").as_str())])
            .send()
            .await
            .map_err(|e| Error::new(ErrorKind::Other, format!("browser: callback: {e}")))?;
        assert_eq!(page.status().as_u16(), 200);
        assert!(page
            .text()
            .await
            .unwrap()
            .contains("You can close this tab"));
        Ok(())
    }

    async fn show_device_code(&self, _code: &DeviceCode) -> Result<(), Error> {
        Err(Error::new(ErrorKind::Cancelled, "no device codes here"))
    }

    async fn ask_mfa_code(&self, _serial: &str) -> Result<SecretString, Error> {
        Err(Error::new(ErrorKind::Cancelled, "no MFA here"))
    }
}

/// A link of this provider.
pub fn link(engine: &str, path: &str, key: &str) -> vault_core::Link {
    vault_core::Link::new(vault_hashicorp::PROVIDER_ID)
        .with("engine", engine)
        .with("path", path)
        .with("key", key)
}
