//! A headless "browser" for OpenBao / Vault sign-in, for tests, demos and benches: it plays
//! the person at the browser by logging a userpass user in, calling the OIDC provider's API
//! authorize endpoint (`<issuer>/authorize` answers JSON `{code, state}` to a request with
//! that user's `X-Vault-Token`, where a browser would go through the UI), and delivering
//! `?code=&state=` to the loopback listener named by the authorization URL's `redirect_uri`.
//!
//! Nothing in the provider depends on it: a real host implements
//! [`Interaction::open_url`] by opening the system browser.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use url::Url;
use vault_core::{DeviceCode, Error, ErrorKind, Interaction};

use crate::address::VaultAddress;
use crate::namespace::Namespace;
use crate::PROVIDER_ID;

/// Signs a userpass user in on `open_url`.
pub struct UserpassBrowser {
    address: VaultAddress,
    namespace: Namespace,
    user: String,
    password: SecretString,
    issuer: String,
    http: reqwest::Client,
    opened: AtomicUsize,
}

impl std::fmt::Debug for UserpassBrowser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserpassBrowser")
            .field("address", &self.address)
            .field("namespace", &self.namespace)
            .field("user", &self.user)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

fn err(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::AuthFailed, message).with_provider(PROVIDER_ID)
}

impl UserpassBrowser {
    /// A browser for `user` (userpass at `auth/userpass` in `namespace`) signing in to the
    /// OIDC provider `issuer` on the Vault at `address`.
    pub fn new(
        address: VaultAddress,
        namespace: Namespace,
        user: &str,
        password: SecretString,
        issuer: &str,
    ) -> Self {
        UserpassBrowser {
            address,
            namespace,
            user: user.to_owned(),
            password,
            issuer: issuer.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            opened: AtomicUsize::new(0),
        }
    }

    /// How many sign-ins it was asked to do.
    pub fn opened(&self) -> usize {
        self.opened.load(Ordering::SeqCst)
    }

    async fn userpass_token(&self) -> Result<SecretString, Error> {
        let url = self
            .address
            .api_url(&format!("auth/userpass/login/{}", self.user))
            .map_err(|e| err(e.to_string()))?;
        let mut req = self
            .http
            .post(url)
            .json(&json!({ "password": self.password.expose_secret() }));
        if let Some(ns) = self.namespace.header() {
            req = req.header("X-Vault-Namespace", ns);
        }
        let resp = req
            .send()
            .await
            .map_err(|_| err("browser: cannot reach the userpass login"))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        match body.pointer("/auth/client_token").and_then(Value::as_str) {
            Some(t) if status.is_success() => Ok(SecretString::from(t.to_owned())),
            _ => Err(err(format!(
                "browser: userpass login of `{}` failed (HTTP {})",
                self.user,
                status.as_u16()
            ))),
        }
    }
}

#[async_trait]
impl Interaction for UserpassBrowser {
    async fn open_url(&self, url: &Url) -> Result<(), Error> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| query.iter().find(|(q, _)| q == k).map(|(_, v)| v.clone());
        let redirect =
            get("redirect_uri").ok_or_else(|| err("browser: no redirect_uri in the URL"))?;
        let state = get("state").unwrap_or_default();
        let token = self.userpass_token().await?;
        // the issuer's path holds the namespace already: no X-Vault-Namespace here
        let resp = self
            .http
            .get(format!("{}/authorize", self.issuer))
            .query(&query)
            .header("X-Vault-Token", token.expose_secret())
            .send()
            .await
            .map_err(|_| err("browser: cannot reach the authorize endpoint"))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let code = match body.get("code").and_then(Value::as_str) {
            Some(c) if status.is_success() => c.to_owned(),
            _ => {
                let why = body
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("no code");
                return Err(err(format!(
                    "browser: authorize refused (HTTP {}): {why}",
                    status.as_u16()
                )));
            }
        };
        self.http
            .get(&redirect)
            .query(&[("code", code.as_str()), ("state", state.as_str())])
            .send()
            .await
            .map_err(|_| err("browser: cannot reach the loopback listener"))?;
        Ok(())
    }

    async fn show_device_code(&self, _code: &DeviceCode) -> Result<(), Error> {
        Err(Error::new(
            ErrorKind::Cancelled,
            "the headless browser shows no device codes",
        ))
    }

    async fn ask_mfa_code(&self, _serial: &str) -> Result<SecretString, Error> {
        Err(Error::new(
            ErrorKind::Cancelled,
            "the headless browser has no MFA device",
        ))
    }
}
