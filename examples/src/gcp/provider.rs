//! The provider: links, one REST call per fetch, errors by status.

use std::borrow::Cow;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;
use vault_core::body::{BodyBuffer, BodyLimit};
use vault_core::{
    Error, ErrorKind, Interaction, Link, Locator, Provider, ProviderId, SecretDetails, SessionState,
};
use zeroize::{Zeroize, Zeroizing};

/// Secret Manager's public endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://secretmanager.googleapis.com";
const ID: ProviderId = ProviderId::from_static("gcp");
const TIMEOUT: Duration = Duration::from_secs(30);

/// Google Cloud Secret Manager over REST, with an OAuth access token given by the host.
pub struct GcpProvider {
    endpoint: Url,
    project: Option<String>,
    token: Mutex<Option<SecretString>>,
    http: reqwest::Client,
}

impl GcpProvider {
    /// A provider calling `endpoint`, resolving links without a project in `project`, with
    /// `token` (`None`: signed out).
    pub fn new(endpoint: Url, project: Option<String>, token: Option<SecretString>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        GcpProvider {
            endpoint,
            project,
            token: Mutex::new(token),
            http,
        }
    }

    fn token(&self) -> Option<SecretString> {
        self.token.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `projects/P/secrets/S/versions/V` of a link.
    fn resource(&self, link: &Link) -> Result<String, Error> {
        link.reject_unknown_fields(&["secret", "version", "project"])?;
        let secret = link.require("secret")?;
        let invalid = |m: &str| Error::new(ErrorKind::InvalidLink, m.to_owned()).with_provider(ID);
        let (project, name) = match secret.strip_prefix("projects/") {
            Some(rest) => match rest.split('/').collect::<Vec<_>>().as_slice() {
                [p, "secrets", s] => ((*p).to_owned(), (*s).to_owned()),
                _ => return Err(invalid("`secret` must be a name or projects/P/secrets/S")),
            },
            None => {
                let project = link
                    .get("project")
                    .map(str::to_owned)
                    .or_else(|| self.project.clone())
                    .ok_or_else(|| invalid("no `project` in the link or in [integrations.gcp]"))?;
                (project, secret.to_owned())
            }
        };
        let version = link.get("version").unwrap_or("latest");
        let ok = |s: &str, max: usize| {
            !s.is_empty()
                && s.len() <= max
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !ok(&project, 30) || !ok(&name, 255) {
            return Err(invalid("project and secret names take A-Z a-z 0-9 - _"));
        }
        if version != "latest" && !(version.bytes().all(|b| b.is_ascii_digit()) && ok(version, 20))
        {
            return Err(invalid("`version` must be a version number or `latest`"));
        }
        Ok(format!(
            "projects/{project}/secrets/{name}/versions/{version}"
        ))
    }

    async fn get(&self, path: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
        let token = self
            .token()
            .ok_or_else(|| Error::new(ErrorKind::SignedOut, "no access token").with_provider(ID))?;
        let url = self.endpoint.join(path).map_err(|_| {
            Error::new(ErrorKind::InvalidLink, "bad resource name").with_provider(ID)
        })?;
        let mut response = self
            .http
            .get(url)
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(|e| {
                let kind = if e.is_timeout() {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Unreachable
                };
                Error::new(kind, "Secret Manager did not answer").with_provider(ID)
            })?;
        let status = response.status();
        let mut body = BodyBuffer::new(BodyLimit::default(), response.content_length())
            .map_err(|e| e.into_error("Secret Manager's answer"))?;
        while let Some(chunk) = response.chunk().await.map_err(|_| {
            Error::new(ErrorKind::Unreachable, "the answer was cut short").with_provider(ID)
        })? {
            body.push(&chunk)
                .map_err(|e| e.into_error("Secret Manager's answer"))?;
        }
        // The server's message may repeat names we sent; say only what the status means.
        let kind = match status.as_u16() {
            200 => return Ok(body.into_inner()),
            401 => ErrorKind::SessionExpired,
            403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            429 => ErrorKind::RateLimited,
            400 => ErrorKind::InvalidRequest,
            500..=599 => ErrorKind::Unreachable,
            _ => ErrorKind::InvalidResponse,
        };
        Err(Error::new(
            kind,
            format!("Secret Manager answered HTTP {}", status.as_u16()),
        )
        .with_provider(ID))
    }
}

#[derive(Deserialize)]
struct Access<'a> {
    #[serde(borrow)]
    payload: Payload<'a>,
}

/// The value, base64: borrowed from the (wiped) body, or a copy wiped after decoding.
#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Version {
    name: String,
    state: Option<String>,
    create_time: Option<String>,
}

fn invalid_response() -> Error {
    Error::new(
        ErrorKind::InvalidResponse,
        "Secret Manager's answer has no readable payload",
    )
    .with_provider(ID)
}

#[async_trait]
impl Provider for GcpProvider {
    fn id(&self) -> ProviderId {
        ID
    }

    fn display_name(&self) -> &str {
        "Google Cloud Secret Manager"
    }

    fn validate_link(&self, link: &Link) -> Result<Locator, Error> {
        Ok(Locator::new(ID, self.resource(link)?))
    }

    async fn fetch(&self, link: &Link, _: &dyn Interaction) -> Result<SecretString, Error> {
        let resource = self.resource(link)?;
        let body = self.get(&format!("v1/{resource}:access")).await?;
        let access: Access<'_> = serde_json::from_slice(&body).map_err(|_| invalid_response())?;
        let decoded =
            base64::engine::general_purpose::STANDARD.decode(access.payload.data.as_bytes());
        if let Cow::Owned(mut copy) = access.payload.data {
            copy.zeroize();
        }
        let bytes = Zeroizing::new(decoded.map_err(|_| invalid_response())?);
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            Error::new(
                ErrorKind::Unavailable,
                "the secret's value is not UTF-8 text",
            )
            .with_provider(ID)
        })?;
        Ok(SecretString::from(text))
    }

    async fn describe(&self, link: &Link, _: &dyn Interaction) -> Result<SecretDetails, Error> {
        let resource = self.resource(link)?;
        let body = self.get(&format!("v1/{resource}")).await?;
        let v: Version = serde_json::from_slice(&body).map_err(|_| invalid_response())?;
        let mut d = SecretDetails::new(resource);
        d.version = v.name.rsplit('/').next().map(str::to_owned);
        d.enabled = v.state.as_deref().map(|s| s == "ENABLED");
        d.created = v.create_time.as_deref().and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        });
        Ok(d)
    }

    async fn sign_in(&self, _: &dyn Interaction) -> Result<SessionState, Error> {
        match self.token() {
            Some(_) => Ok(SessionState::SignedIn { until: None }),
            None => Err(Error::new(
                ErrorKind::SignedOut,
                "give an access token (gcloud auth print-access-token) in the environment",
            )
            .with_provider(ID)),
        }
    }

    async fn sign_out(&self) -> Result<(), Error> {
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }

    fn session(&self) -> SessionState {
        match self.token() {
            Some(_) => SessionState::SignedIn { until: None },
            None => SessionState::SignedOut,
        }
    }
}
