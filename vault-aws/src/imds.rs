//! EC2 instance metadata, IMDSv2 only: `PUT /latest/api/token` gives a session token, then
//! `GET /latest/meta-data/iam/security-credentials/` names the instance's role and
//! `GET …/security-credentials/ROLE` gives its credentials, both with the token header. A
//! refused token request is an error, never a fall back to IMDSv1.
//!
//! `AWS_EC2_METADATA_DISABLED=true` turns it off; `AWS_EC2_METADATA_SERVICE_ENDPOINT` moves it
//! (tests, IPv6 `http://[fd00:ec2::254]`). Every call has a 1 s timeout and is tried once, so a
//! laptop where nothing answers at 169.254.169.254 loses at most about a second, and only when
//! no earlier source of the chain had credentials.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;
use vault_core::{Environment, Error, ErrorKind};

use crate::credentials::Credentials;
use crate::transport::{PlainRequest, Transport};
use crate::{http_creds, PROVIDER_ID};

/// The default endpoint.
pub const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";

/// Timeout of each call.
pub const TIMEOUT: Duration = Duration::from_secs(1);

/// The session token's lifetime asked for.
const TOKEN_TTL: &str = "21600";

/// Where instance metadata is.
#[derive(Clone, Debug)]
pub(crate) struct ImdsSource {
    endpoint: Url,
    timeout: Duration,
}

impl ImdsSource {
    /// The source, `Ok(None)` when `AWS_EC2_METADATA_DISABLED` is `true`.
    pub fn from_env(env: &dyn Environment) -> Result<Option<Self>, Error> {
        let disabled = env
            .var("AWS_EC2_METADATA_DISABLED")
            .is_some_and(|v| v.expose_secret().trim().eq_ignore_ascii_case("true"));
        if disabled {
            return Ok(None);
        }
        let text = env
            .var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .map(|v| v.expose_secret().trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
        let endpoint = Url::parse(&text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.username().is_empty())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidConfig,
                    "AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http(s) URL",
                )
                .with_provider(PROVIDER_ID)
            })?;
        Ok(Some(ImdsSource {
            endpoint,
            timeout: TIMEOUT,
        }))
    }

    fn url(&self, path: &str) -> Result<Url, Error> {
        self.endpoint.join(path).map_err(|_| {
            Error::new(ErrorKind::InvalidResponse, "instance metadata: a bad path")
                .with_provider(PROVIDER_ID)
        })
    }

    fn refused(what: &str, status: u16) -> Error {
        let kind = match status {
            401 | 403 => ErrorKind::AuthFailed,
            404 => ErrorKind::SignedOut,
            _ => ErrorKind::Unavailable,
        };
        Error::new(kind, format!("instance metadata: {what}: HTTP {status}"))
            .with_provider(PROVIDER_ID)
            .with_retryable(status >= 500)
    }

    /// Fetches the instance role's credentials.
    pub async fn credentials(&self, transport: &Transport) -> Result<Credentials, Error> {
        let token_url = self.url("/latest/api/token")?;
        let r = transport
            .plain(PlainRequest {
                method: reqwest::Method::PUT,
                url: &token_url,
                headers: vec![("x-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL.to_owned())],
                body: None,
                what: "instance metadata (IMDSv2 token)",
                timeout: Some(self.timeout),
            })
            .await?;
        if r.status != 200 {
            return Err(Self::refused(
                "the IMDSv2 session token was refused",
                r.status,
            ));
        }
        let token = SecretString::from(
            std::str::from_utf8(&r.body)
                .map_err(|_| Self::refused("the token is not text", 200))?
                .trim(),
        );
        let auth = || vec![("x-aws-ec2-metadata-token", token.expose_secret().to_owned())];
        let list_url = self.url("/latest/meta-data/iam/security-credentials/")?;
        let r = transport
            .plain(PlainRequest {
                method: reqwest::Method::GET,
                url: &list_url,
                headers: auth(),
                body: None,
                what: "instance metadata (role name)",
                timeout: Some(self.timeout),
            })
            .await?;
        if r.status != 200 {
            return Err(Self::refused("no instance role", r.status));
        }
        let role = std::str::from_utf8(&r.body)
            .ok()
            .and_then(|t| t.lines().next())
            .map(str::trim)
            .filter(|n| {
                !n.is_empty()
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
            })
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidResponse,
                    "instance metadata: the role name is not a valid IAM role name",
                )
                .with_provider(PROVIDER_ID)
            })?
            .to_owned();
        let creds_url = self.url(&format!(
            "/latest/meta-data/iam/security-credentials/{role}"
        ))?;
        let what = "instance metadata (role credentials)";
        let r = transport
            .plain(PlainRequest {
                method: reqwest::Method::GET,
                url: &creds_url,
                headers: auth(),
                body: None,
                what,
                timeout: Some(self.timeout),
            })
            .await?;
        if r.status != 200 {
            return Err(Self::refused("the role's credentials", r.status));
        }
        http_creds::parse(&r.body, what)
    }
}
