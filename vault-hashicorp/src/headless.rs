//! A scripted "browser" for OpenBao / Vault sign-in, **for tests and demos only** (the
//! `hashicorp` example, the peer tests and benches use it): it plays the person at the browser
//! by logging a userpass user in, calling the OIDC provider's API authorize endpoint
//! (`<issuer>/authorize` answers JSON `{code, state}` to a request with that user's
//! `X-Vault-Token`, where a browser would go through the UI), and delivering `?code=&state=`
//! to the loopback listener named by the authorization URL's `redirect_uri`.
//!
//! Nothing in the provider depends on it: a real host implements
//! [`Interaction::open_url`] by opening the system browser.
//!
//! It holds a password and obtains a token, so it follows the crate's rules all the same:
//! the issuer must be on the given Vault address (https, or http to a loopback host only),
//! the userpass token is sent only there (as a sensitive header, with a timeout and without
//! following redirects), and the authorization code is delivered only to a loopback
//! `redirect_uri` (`http://127.x.y.z:<port>/<path>`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;
use url::Url;
use vault_core::{DeviceCode, Error, ErrorKind, Interaction};
use zeroize::Zeroizing;

use crate::address::{ProviderUrl, VaultAddress};
use crate::http::{self, scrub, short};
use crate::namespace::Namespace;
use crate::redirect::LoopbackUri;
use crate::PROVIDER_ID;

/// The timeout of each of the browser's requests.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Signs a userpass user in on `open_url` (a scripted browser for tests and demos).
pub struct UserpassBrowser {
    address: VaultAddress,
    namespace: Namespace,
    user: String,
    password: SecretString,
    issuer: String,
    /// The checked endpoints and the client, or why the browser cannot be used.
    ready: Result<Ready, Error>,
    opened: AtomicUsize,
}

/// What [`UserpassBrowser::try_new`] checked once.
struct Ready {
    http: reqwest::Client,
    login: Url,
    authorize: Url,
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

fn config_err(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidConfig, message).with_provider(PROVIDER_ID)
}

/// The body of the userpass login (serialized straight into zeroized memory).
#[derive(Serialize)]
struct Login<'a> {
    password: &'a str,
}

impl UserpassBrowser {
    /// A browser for `user` (userpass at `auth/userpass` in `namespace`) signing in to the
    /// OIDC provider `issuer` on the Vault at `address`.
    ///
    /// The checks of [`UserpassBrowser::try_new`] are made here too; when one fails, every
    /// [`Interaction::open_url`] returns its error (and sends nothing).
    pub fn new(
        address: VaultAddress,
        namespace: Namespace,
        user: &str,
        password: SecretString,
        issuer: &str,
    ) -> Self {
        let ready = Self::check(&address, user, issuer);
        UserpassBrowser {
            address,
            namespace,
            user: user.to_owned(),
            password,
            issuer: issuer.trim().trim_end_matches('/').to_owned(),
            ready,
            opened: AtomicUsize::new(0),
        }
    }

    /// Like [`UserpassBrowser::new`], but says at once when the browser could not be used:
    /// `issuer` must be an OIDC provider URL on `address` (which the userpass token is sent
    /// to), with https or http to a loopback host only ([`ErrorKind::InvalidConfig`]).
    pub fn try_new(
        address: VaultAddress,
        namespace: Namespace,
        user: &str,
        password: SecretString,
        issuer: &str,
    ) -> Result<Self, Error> {
        let browser = Self::new(address, namespace, user, password, issuer);
        if let Err(e) = &browser.ready {
            return Err(e.clone());
        }
        Ok(browser)
    }

    fn check(address: &VaultAddress, user: &str, issuer: &str) -> Result<Ready, Error> {
        let provider = ProviderUrl::parse(issuer)
            .map_err(|e| config_err(format!("browser: bad issuer: {e}")))?;
        let authorize = Url::parse(&provider.endpoint("authorize"))
            .map_err(|_| config_err("browser: bad issuer"))?;
        if !address.owns(&authorize) {
            return Err(config_err(format!(
                "browser: the issuer `{}` is not on the Vault server {address}; its token is not sent there",
                provider.issuer()
            )));
        }
        if user.is_empty() {
            return Err(config_err("browser: no user name"));
        }
        let mut login = address
            .api_url("auth/userpass/login")
            .map_err(|_| config_err("browser: bad Vault address"))?;
        login
            .path_segments_mut()
            .map_err(|_| config_err("browser: bad Vault address"))?
            // one percent-encoded segment: a user name cannot walk out of the login path
            .push(user);
        Ok(Ready {
            http: http::client(TIMEOUT)?,
            login,
            authorize,
        })
    }

    /// How many sign-ins it was asked to do.
    pub fn opened(&self) -> usize {
        self.opened.load(Ordering::SeqCst)
    }

    async fn userpass_token(&self, ready: &Ready) -> Result<SecretString, Error> {
        let body = Zeroizing::new(
            serde_json::to_vec(&Login {
                password: self.password.expose_secret(),
            })
            .map_err(|_| err("browser: cannot encode the userpass login"))?,
        );
        let mut req = ready
            .http
            .post(ready.login.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(ns) = self.namespace.header() {
            req = req.header("X-Vault-Namespace", ns);
        }
        let resp = req
            .send()
            .await
            .map_err(|_| err("browser: cannot reach the userpass login"))?;
        let status = resp.status();
        let body = read_json(resp).await;
        let token = body
            .pointer("/auth/client_token")
            .and_then(Value::as_str)
            .filter(|t| status.is_success() && !t.is_empty())
            .map(|t| SecretString::from(t.to_owned()));
        scrub(body);
        token.ok_or_else(|| {
            err(format!(
                "browser: userpass login of `{}` failed (HTTP {})",
                self.user,
                status.as_u16()
            ))
        })
    }
}

/// A JSON body read into zeroized memory (`Null` when it is not JSON).
async fn read_json(resp: reqwest::Response) -> Value {
    match http::read_body(resp, TIMEOUT).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

#[async_trait]
impl Interaction for UserpassBrowser {
    async fn open_url(&self, url: &Url) -> Result<(), Error> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        let ready = self.ready.as_ref().map_err(Clone::clone)?;
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| query.iter().find(|(q, _)| q == k).map(|(_, v)| v.as_str());
        // checked before anything is sent: the code goes to a loopback listener only
        let redirect = get("redirect_uri")
            .ok_or_else(|| err("browser: no redirect_uri in the URL"))
            .and_then(|r| {
                LoopbackUri::parse(r).map_err(|_| {
                    err("browser: the redirect_uri is not http://127.x.y.z:<port>/<path>; the code is not delivered there")
                })
            })?;
        let mut callback = Url::parse(&redirect.with_port(redirect.port))
            .map_err(|_| err("browser: bad redirect_uri"))?;
        let state = get("state").unwrap_or_default().to_owned();
        let token = self.userpass_token(ready).await?;
        let mut value = HeaderValue::from_str(token.expose_secret())
            .map_err(|_| err("browser: the userpass token is not a valid header value"))?;
        value.set_sensitive(true);
        // the issuer's path holds the namespace already: no X-Vault-Namespace here
        let resp = ready
            .http
            .get(ready.authorize.clone())
            .query(&query)
            .header("X-Vault-Token", value)
            .send()
            .await
            .map_err(|_| err("browser: cannot reach the authorize endpoint"))?;
        let status = resp.status();
        let body = read_json(resp).await;
        let code = body
            .get("code")
            .and_then(Value::as_str)
            .filter(|_| status.is_success())
            .map(|c| SecretString::from(c.to_owned()));
        let why = short(
            body.get("error")
                .and_then(Value::as_str)
                .unwrap_or("no code"),
        );
        scrub(body);
        let code = code.ok_or_else(|| {
            err(format!(
                "browser: authorize refused (HTTP {}): {why}",
                status.as_u16()
            ))
        })?;
        callback
            .query_pairs_mut()
            .append_pair("code", code.expose_secret())
            .append_pair("state", &state);
        ready
            .http
            .get(callback)
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
