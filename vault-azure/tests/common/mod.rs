//! Shared pieces of the integration tests: a headless "browser" Interaction and helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use secrecy::SecretString;
use url::Url;
use vault_core::{DeviceCode, Error, ErrorKind, Interaction};

/// A variable the peer harness sets; panics with a clear message when it is missing.
pub fn peer_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} not set: run the tests through .ci/test, which starts the peers (or: .ci/peers/start.sh oidc; set -a; . ~/.cache/vault-refs-peers/run/all.env; set +a)")
    })
}

/// Plays the user's browser: follows the identity provider's redirects with a cookie jar
/// until a `Location` leaves the provider's origin (the loopback redirect), then GETs it.
pub struct HeadlessBrowser {
    http: reqwest::Client,
    /// How many times the provider asked to open a URL (= interactive sign-ins).
    pub opened: AtomicUsize,
    /// The callback URLs delivered, newest last.
    pub callbacks: Mutex<Vec<Url>>,
    /// When set, the code of this callback is delivered instead of the fresh one (replay).
    pub replay_code_of: Mutex<Option<Url>>,
    /// Authorization request URLs seen.
    pub authorize_urls: Mutex<Vec<Url>>,
}

impl Default for HeadlessBrowser {
    fn default() -> Self {
        HeadlessBrowser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            opened: AtomicUsize::new(0),
            callbacks: Mutex::new(Vec::new()),
            replay_code_of: Mutex::new(None),
            authorize_urls: Mutex::new(Vec::new()),
        }
    }
}

impl HeadlessBrowser {
    pub fn opened(&self) -> usize {
        self.opened.load(Ordering::SeqCst)
    }
}

fn browser_error(msg: String) -> Error {
    Error::new(ErrorKind::Other, msg)
}

#[async_trait]
impl Interaction for HeadlessBrowser {
    async fn open_url(&self, url: &Url) -> Result<(), Error> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        self.authorize_urls.lock().unwrap().push(url.clone());
        let origin = url.origin();
        let mut jar: BTreeMap<String, String> = BTreeMap::new();
        let mut current = url.clone();
        for _hop in 0..20 {
            let cookie = jar
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            let mut req = self.http.get(current.clone());
            if !cookie.is_empty() {
                req = req.header(reqwest::header::COOKIE, cookie);
            }
            let resp = req
                .send()
                .await
                .map_err(|e| browser_error(format!("browser GET failed: {e}")))?;
            for sc in resp.headers().get_all(reqwest::header::SET_COOKIE) {
                let sc = sc.to_str().unwrap_or_default();
                if let Some((k, v)) = sc.split(';').next().and_then(|kv| kv.split_once('=')) {
                    jar.insert(k.trim().to_owned(), v.trim().to_owned());
                }
            }
            let status = resp.status();
            let Some(loc) = resp.headers().get(reqwest::header::LOCATION) else {
                let body = resp.text().await.unwrap_or_default();
                return Err(browser_error(format!(
                    "no redirect at {current} (HTTP {status}): {}",
                    body.chars().take(300).collect::<String>()
                )));
            };
            let next = current.join(loc.to_str().unwrap()).unwrap();
            if next.origin() != origin {
                let mut deliver = next.clone();
                self.callbacks.lock().unwrap().push(next.clone());
                if let Some(old) = self.replay_code_of.lock().unwrap().clone() {
                    let old_code = old
                        .query_pairs()
                        .find(|(k, _)| k == "code")
                        .unwrap()
                        .1
                        .into_owned();
                    let pairs: Vec<(String, String)> = next
                        .query_pairs()
                        .map(|(k, v)| {
                            let v = if k == "code" {
                                old_code.clone()
                            } else {
                                v.into_owned()
                            };
                            (k.into_owned(), v)
                        })
                        .collect();
                    deliver.query_pairs_mut().clear().extend_pairs(pairs);
                }
                let r = self
                    .http
                    .get(deliver)
                    .send()
                    .await
                    .map_err(|e| browser_error(format!("loopback GET failed: {e}")))?;
                let page = r.text().await.unwrap_or_default();
                assert!(page.contains("close this tab"), "loopback page: {page}");
                return Ok(());
            }
            current = next;
        }
        Err(browser_error("too many redirects".into()))
    }

    async fn show_device_code(&self, _code: &DeviceCode) -> Result<(), Error> {
        Err(browser_error(
            "this browser does not do device codes".into(),
        ))
    }

    async fn ask_mfa_code(&self, _serial: &str) -> Result<SecretString, Error> {
        Err(browser_error("no MFA here".into()))
    }
}

/// An interaction that must never be used (silent renewals).
pub struct NoUser;

#[async_trait]
impl Interaction for NoUser {
    async fn open_url(&self, url: &Url) -> Result<(), Error> {
        panic!("unexpected interactive sign-in: {url}")
    }
    async fn show_device_code(&self, _code: &DeviceCode) -> Result<(), Error> {
        panic!("unexpected device code sign-in")
    }
    async fn ask_mfa_code(&self, _serial: &str) -> Result<SecretString, Error> {
        panic!("unexpected MFA prompt")
    }
}

/// An identity provider that approves at once: `open_url` sends `code` straight to the
/// authorization request's redirect_uri with its state. For tests against a mocked token
/// endpoint.
pub struct InstantApproval {
    pub code: String,
    pub opened: AtomicUsize,
    pub urls: Mutex<Vec<Url>>,
    pub device_codes: Mutex<Vec<DeviceCode>>,
    /// The nonce of the newest authorization request, for [`IdTokens`].
    pub nonce: Arc<Mutex<Option<String>>>,
}

impl InstantApproval {
    pub fn new(code: &str) -> Self {
        InstantApproval {
            code: code.into(),
            opened: AtomicUsize::new(0),
            urls: Mutex::new(Vec::new()),
            device_codes: Mutex::new(Vec::new()),
            nonce: Arc::new(Mutex::new(None)),
        }
    }

    /// A token endpoint answer with an ID token for this approval's newest sign-in.
    pub fn id_tokens(&self, issuer: &str, client_id: &str) -> IdTokens {
        IdTokens {
            nonce: self.nonce.clone(),
            issuer: issuer.into(),
            client_id: client_id.into(),
            body: serde_json::Value::Null,
            clock: None,
            forged: false,
        }
    }
}

/// A wiremock responder: `body` plus an unsigned `id_token` that repeats the nonce the
/// [`InstantApproval`] saw, issued by `issuer` to `client_id`, valid for an hour.
#[derive(Clone)]
pub struct IdTokens {
    nonce: Arc<Mutex<Option<String>>>,
    issuer: String,
    client_id: String,
    body: serde_json::Value,
    clock: Option<Arc<dyn vault_core::Clock>>,
    forged: bool,
}

impl IdTokens {
    /// The same claims, under a signature the tenant's key did not make.
    pub fn forged(mut self) -> Self {
        self.forged = true;
        self
    }

    pub fn body(mut self, body: serde_json::Value) -> Self {
        self.body = body;
        self
    }

    /// Issue at this clock's now (default: the real one).
    pub fn clock(mut self, clock: Arc<dyn vault_core::Clock>) -> Self {
        self.clock = Some(clock);
        self
    }
}

/// A JWT with `claims`, signed RS256 by the test key (kid `test-key`) that
/// [`mount_jwks`] publishes.
pub fn jwt(claims: &serde_json::Value) -> String {
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(include_str!("../testdata/test-rsa-key.der.b64").trim())
        .unwrap();
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    h.kid = Some("test-key".into());
    jsonwebtoken::encode(&h, claims, &jsonwebtoken::EncodingKey::from_rsa_der(&der)).unwrap()
}

/// Publishes the test key as every tenant's JWKS (`/<tenant>/discovery/v2.0/keys`).
pub async fn mount_jwks(server: &wiremock::MockServer) {
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path_regex(r"^/[^/]+/discovery/v2\.0/keys$"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "keys": [{"kty": "RSA", "use": "sig", "kid": "test-key", "alg": "RS256", "e": "AQAB",
                      "n": include_str!("../testdata/test-rsa-key.n").trim()}]
        })))
        .mount(server)
        .await;
}

impl wiremock::Respond for IdTokens {
    fn respond(&self, _request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let nonce = self.nonce.lock().unwrap().clone().unwrap_or_default();
        let now = self
            .clock
            .as_ref()
            .map_or_else(time::OffsetDateTime::now_utc, |c| c.now());
        let exp = now.unix_timestamp() + 3600;
        let mut body = self.body.clone();
        let mut token = jwt(&serde_json::json!({
            "iss": self.issuer, "aud": self.client_id, "nonce": nonce, "exp": exp, "sub": "user"
        }));
        if self.forged {
            let cut = token.rfind('.').unwrap();
            token.truncate(cut);
            token.push_str(".Zm9yZ2Vk");
        }
        body["id_token"] = serde_json::Value::String(token);
        wiremock::ResponseTemplate::new(200).set_body_json(body)
    }
}

#[async_trait]
impl Interaction for InstantApproval {
    async fn open_url(&self, url: &Url) -> Result<(), Error> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        self.urls.lock().unwrap().push(url.clone());
        let q: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        *self.nonce.lock().unwrap() = q.get("nonce").cloned();
        let mut cb = Url::parse(&q["redirect_uri"]).unwrap();
        cb.query_pairs_mut()
            .append_pair("code", &self.code)
            .append_pair("state", &q["state"]);
        let body = reqwest::get(cb).await.unwrap().text().await.unwrap();
        assert!(body.contains("close this tab"));
        Ok(())
    }

    async fn show_device_code(&self, code: &DeviceCode) -> Result<(), Error> {
        self.device_codes.lock().unwrap().push(code.clone());
        Ok(())
    }

    async fn ask_mfa_code(&self, _serial: &str) -> Result<SecretString, Error> {
        Err(browser_error("no MFA here".into()))
    }
}

/// Plays the user of a device code sign-in on the oidc-provider peer: opens the
/// verification page with the code, submits the code and the confirmation (oidc-provider's
/// forms carry an xsrf token), then follows the login/consent redirects to "Sign-in Success".
/// All of it happens inside `show_device_code`, before the provider's first poll.
#[derive(Default)]
pub struct DeviceUser {
    pub shown: Mutex<Vec<DeviceCode>>,
}

fn form_value(html: &str, name: &str) -> Option<String> {
    let key = format!("name=\"{name}\" value=\"");
    let start = html.find(&key)? + key.len();
    Some(html[start..].split('"').next()?.to_owned())
}

#[async_trait]
impl Interaction for DeviceUser {
    async fn open_url(&self, url: &Url) -> Result<(), Error> {
        panic!("device flow must not open {url}")
    }

    async fn show_device_code(&self, code: &DeviceCode) -> Result<(), Error> {
        self.shown.lock().unwrap().push(code.clone());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut jar: BTreeMap<String, String> = BTreeMap::new();
        let cookie = |jar: &BTreeMap<String, String>| {
            jar.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let keep = |jar: &mut BTreeMap<String, String>, r: &reqwest::Response| {
            for sc in r.headers().get_all(reqwest::header::SET_COOKIE) {
                if let Some((k, v)) = sc
                    .to_str()
                    .unwrap()
                    .split(';')
                    .next()
                    .and_then(|kv| kv.split_once('='))
                {
                    jar.insert(k.trim().to_owned(), v.trim().to_owned());
                }
            }
        };
        let mut page = code.verification_uri.clone();
        page.query_pairs_mut()
            .append_pair("user_code", &code.user_code);
        let r = http.get(page.clone()).send().await.unwrap();
        keep(&mut jar, &r);
        let html = r.text().await.unwrap();
        let xsrf = form_value(&html, "xsrf").expect("xsrf in the code form");
        let mut form = vec![("xsrf", xsrf), ("user_code", code.user_code.clone())];
        let r = http
            .post(code.verification_uri.clone())
            .header(reqwest::header::COOKIE, cookie(&jar))
            .form(&form)
            .send()
            .await
            .unwrap();
        keep(&mut jar, &r);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("Confirm Device"),
            "no confirmation page: {html}"
        );
        form.push(("confirm", "yes".into()));
        let mut r = http
            .post(code.verification_uri.clone())
            .header(reqwest::header::COOKIE, cookie(&jar))
            .form(&form)
            .send()
            .await
            .unwrap();
        for _ in 0..10 {
            keep(&mut jar, &r);
            let Some(loc) = r.headers().get(reqwest::header::LOCATION) else {
                break;
            };
            let next = code.verification_uri.join(loc.to_str().unwrap()).unwrap();
            r = http
                .get(next)
                .header(reqwest::header::COOKIE, cookie(&jar))
                .send()
                .await
                .unwrap();
        }
        let html = r.text().await.unwrap();
        assert!(
            html.contains("Sign-in Success"),
            "device sign-in did not finish: {html}"
        );
        Ok(())
    }

    async fn ask_mfa_code(&self, _serial: &str) -> Result<SecretString, Error> {
        Err(browser_error("no MFA here".into()))
    }
}

/// A fresh RSA key and self-signed certificate made with the `openssl` CLI in `dir`:
/// `key.pem` (PKCS#8), `cert.pem`, `both.pem` (certificate + key, what
/// AZURE_CLIENT_CERTIFICATE_PATH names), `cert.p12` (password `p12-pass`) and the public
/// key's modulus as base64url (`n`, for a JWK).
pub struct TestCert {
    pub dir: std::path::PathBuf,
    pub both_pem: std::path::PathBuf,
    pub p12: std::path::PathBuf,
    pub n: String,
    pub cert_der: Vec<u8>,
}

pub fn make_cert(name: &str) -> TestCert {
    use base64::Engine;
    let dir = std::env::temp_dir().join(format!("vault-azure-cert-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("the openssl CLI is needed for the certificate tests");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    openssl(&[
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
        "/CN=vault-azure-test",
    ]);
    openssl(&[
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
    ]);
    let modulus =
        String::from_utf8(openssl(&["rsa", "-in", "key.pem", "-noout", "-modulus"])).unwrap();
    let hex = modulus.trim().trim_start_matches("Modulus=");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let der = openssl(&["x509", "-in", "cert.pem", "-outform", "DER"]);
    let mut both = std::fs::read(dir.join("cert.pem")).unwrap();
    both.extend(std::fs::read(dir.join("key.pem")).unwrap());
    std::fs::write(dir.join("both.pem"), both).unwrap();
    TestCert {
        both_pem: dir.join("both.pem"),
        p12: dir.join("cert.p12"),
        n: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        cert_der: der,
        dir,
    }
}

/// The JSON of the JWT segment `i` (0 header, 1 claims).
pub fn jwt_part(jwt: &str, i: usize) -> serde_json::Value {
    use base64::Engine;
    let seg = jwt.split('.').nth(i).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(seg)
            .unwrap(),
    )
    .unwrap()
}

/// A form field of a request body.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
