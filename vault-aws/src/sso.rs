//! IAM Identity Center (SSO): a profile with `sso_session = NAME` (and an
//! `[sso-session NAME]` section with `sso_start_url`, `sso_region`) or the legacy
//! `sso_start_url`/`sso_region` keys, plus `sso_account_id` and `sso_role_name`.
//!
//! The access token comes from the cache that `aws sso login` writes
//! (`~/.aws/sso/cache/<sha1 of the session name, or of the start URL for legacy profiles>.json`);
//! an expired one is refreshed with its refresh token when the cache holds one; with neither,
//! the user signs in with the OIDC device authorization flow (RegisterClient,
//! StartDeviceAuthorization, then CreateToken polled while the user approves the code shown
//! through [`Interaction::show_device_code`](vault_core::Interaction::show_device_code)), and
//! the token is written back to the cache the way the CLI writes it (owner-only file, atomic
//! rename), so both tools share one sign-in. The token is exchanged at the portal
//! (GetRoleCredentials) for the role's credentials.
//!
//! Endpoints: `https://portal.sso.REGION.amazonaws.com` and `https://oidc.REGION.amazonaws.com`,
//! moved by `AWS_ENDPOINT_URL_SSO` and `AWS_ENDPOINT_URL_SSO_OIDC` (tests).

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use url::Url;
use vault_core::{DeviceCode, Environment, Error, ErrorKind};
use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::endpoint::check_endpoint_url;
use crate::plan::SourceContext;
use crate::transport::{PlainRequest, Transport};
use crate::PROVIDER_ID;

/// A token is refreshed this long before it expires.
const MARGIN: time::Duration = time::Duration::minutes(5);

/// The longest the device flow waits for the user.
pub const DEVICE_FLOW_DEADLINE: Duration = Duration::from_secs(600);

/// What a profile says about its SSO sign-in.
#[derive(Clone, Debug)]
pub(crate) struct SsoProfile {
    pub profile: String,
    pub session_name: Option<String>,
    pub start_url: String,
    pub region: String,
    pub account_id: String,
    pub role_name: String,
    pub cache_dir: PathBuf,
}

fn err(kind: ErrorKind, m: String) -> Error {
    Error::new(kind, m).with_provider(PROVIDER_ID)
}

/// The cache file of the CLI, `aws sso login`'s format.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CacheEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    access_token: Zeroizing<String>,
    expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_secret: Option<Zeroizing<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    registration_expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<Zeroizing<String>>,
}

/// The lower-case hex SHA-1 of `text`: the cache file's name.
pub fn cache_key(text: &str) -> String {
    let digest = Sha1::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn endpoint(env: &dyn Environment, var: &str, default: String) -> Result<Url, Error> {
    match env
        .var(var)
        .map(|v| v.expose_secret().trim().to_owned())
        .filter(|v| !v.is_empty())
    {
        Some(u) => check_endpoint_url(&u)
            .map_err(|e| err(ErrorKind::InvalidConfig, format!("{var}: {}", e.message()))),
        None => Url::parse(&default).map_err(|_| {
            err(
                ErrorKind::InvalidConfig,
                "sso_region is not valid".to_owned(),
            )
        }),
    }
}

fn join(base: &Url, path: &str) -> Result<Url, Error> {
    let mut u = base.clone();
    let p = format!("{}{path}", base.path().trim_end_matches('/'));
    u.set_path(&p);
    Ok(u)
}

impl SsoProfile {
    fn cache_file(&self) -> PathBuf {
        let key = self.session_name.as_deref().unwrap_or(&self.start_url);
        self.cache_dir.join(format!("{}.json", cache_key(key)))
    }

    /// Fetches the role's credentials, signing in when the cache has no usable token.
    /// A cached token the portal refuses (revoked, signed out elsewhere) makes way for one
    /// new sign-in.
    pub async fn credentials(&self, ctx: &SourceContext<'_>) -> Result<Credentials, Error> {
        let now = ctx.transport.clock().now();
        let token = self.token(ctx, now, false).await?;
        match self.role_credentials(ctx, &token).await {
            Err(e) if e.kind() == ErrorKind::SessionExpired => {
                let token = self.token(ctx, now, true).await?;
                self.role_credentials(ctx, &token).await
            }
            r => r,
        }
    }

    async fn role_credentials(
        &self,
        ctx: &SourceContext<'_>,
        token: &SecretString,
    ) -> Result<Credentials, Error> {
        let portal = endpoint(
            ctx.env,
            "AWS_ENDPOINT_URL_SSO",
            format!("https://portal.sso.{}.amazonaws.com", self.region),
        )?;
        let mut url = join(&portal, "/federation/credentials")?;
        url.query_pairs_mut()
            .append_pair("account_id", &self.account_id)
            .append_pair("role_name", &self.role_name);
        let what = "SSO GetRoleCredentials";
        let r = ctx
            .transport
            .plain(PlainRequest {
                method: reqwest::Method::GET,
                url: &url,
                headers: vec![("x-amz-sso_bearer_token", token.expose_secret().to_owned())],
                body: None,
                what,
                timeout: None,
            })
            .await?;
        if r.status != 200 {
            let kind = match r.status {
                401 => ErrorKind::SessionExpired,
                403 => ErrorKind::PermissionDenied,
                404 => ErrorKind::NotFound,
                429 => ErrorKind::RateLimited,
                _ => ErrorKind::Unavailable,
            };
            return Err(err(
                kind,
                format!(
                    "{what}: HTTP {} for account {} role {} (profile `{}`)",
                    r.status, self.account_id, self.role_name, self.profile
                ),
            ));
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Rc {
            access_key_id: String,
            secret_access_key: Zeroizing<String>,
            session_token: Zeroizing<String>,
            expiration: i64,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Answer {
            role_credentials: Rc,
        }
        let a: Answer = serde_json::from_slice(&r.body).map_err(|_| {
            err(
                ErrorKind::InvalidResponse,
                format!("{what}: the answer is not the credentials JSON expected"),
            )
        })?;
        let rc = a.role_credentials;
        let expires = OffsetDateTime::from_unix_timestamp(rc.expiration / 1000).map_err(|_| {
            err(
                ErrorKind::InvalidResponse,
                format!("{what}: expiration is out of range"),
            )
        })?;
        Ok(
            Credentials::new(rc.access_key_id, rc.secret_access_key.as_str())
                .with_session_token(rc.session_token.as_str())
                .with_expiry(expires),
        )
    }

    fn read_cache(&self) -> Option<CacheEntry> {
        let text = Zeroizing::new(std::fs::read(self.cache_file()).ok()?);
        serde_json::from_slice(&text).ok()
    }

    /// The access token: the cache's while valid, else refreshed, else a new sign-in;
    /// `fresh` skips straight to the sign-in.
    async fn token(
        &self,
        ctx: &SourceContext<'_>,
        now: OffsetDateTime,
        fresh: bool,
    ) -> Result<SecretString, Error> {
        let cached = if fresh { None } else { self.read_cache() };
        if let Some(c) = &cached {
            let valid =
                OffsetDateTime::parse(&c.expires_at, &Rfc3339).is_ok_and(|t| t - MARGIN > now);
            if valid {
                return Ok(SecretString::from(c.access_token.as_str()));
            }
        }
        let oidc = endpoint(
            ctx.env,
            "AWS_ENDPOINT_URL_SSO_OIDC",
            format!("https://oidc.{}.amazonaws.com", self.region),
        )?;
        // A refresh token and a registration that is still valid: no user needed.
        if let Some(c) = &cached {
            if let (Some(id), Some(secret), Some(refresh)) =
                (&c.client_id, &c.client_secret, &c.refresh_token)
            {
                let body = serde_json::json!({
                    "clientId": id,
                    "clientSecret": secret.as_str(),
                    "grantType": "refresh_token",
                    "refreshToken": refresh.as_str(),
                });
                if let Ok(Some(t)) = self.create_token(ctx.transport, &oidc, &body).await {
                    return self.save(
                        c.client_id.clone(),
                        c.client_secret.clone(),
                        c.registration_expires_at.clone(),
                        t,
                        now,
                    );
                }
            }
        }
        self.device_flow(ctx, &oidc, now).await
    }

    fn save(
        &self,
        client_id: Option<String>,
        client_secret: Option<Zeroizing<String>>,
        registration_expires_at: Option<String>,
        t: TokenAnswer,
        now: OffsetDateTime,
    ) -> Result<SecretString, Error> {
        let expires = now + time::Duration::seconds(t.expires_in.clamp(0, 90 * 24 * 3600));
        let entry = CacheEntry {
            start_url: Some(self.start_url.clone()),
            region: Some(self.region.clone()),
            access_token: t.access_token,
            expires_at: expires
                .replace_nanosecond(0)
                .unwrap_or(expires)
                .format(&Rfc3339)
                .unwrap_or_default(),
            client_id,
            client_secret,
            registration_expires_at,
            refresh_token: t.refresh_token,
        };
        let token = SecretString::from(entry.access_token.as_str());
        // Failing to write the cache costs a sign-in next time, nothing more.
        let _ = write_private(&self.cache_file(), &entry);
        Ok(token)
    }

    /// CreateToken; `Ok(None)` while the user has not approved yet (device grant).
    async fn create_token(
        &self,
        transport: &Transport,
        oidc: &Url,
        body: &serde_json::Value,
    ) -> Result<Option<TokenAnswer>, Error> {
        let url = join(oidc, "/token")?;
        let r = post_json(transport, &url, body, "SSO OIDC CreateToken").await?;
        if r.status == 200 {
            return serde_json::from_slice(&r.body).map(Some).map_err(|_| {
                err(
                    ErrorKind::InvalidResponse,
                    "SSO OIDC CreateToken: the answer is not the token JSON expected".to_owned(),
                )
            });
        }
        #[derive(Deserialize)]
        struct E {
            error: Option<String>,
        }
        let code = serde_json::from_slice::<E>(&r.body)
            .ok()
            .and_then(|e| e.error);
        match code.as_deref() {
            Some("authorization_pending") | Some("slow_down") => Ok(None),
            Some("expired_token") => Err(err(
                ErrorKind::SessionExpired,
                "SSO sign-in: the device code expired before it was approved".to_owned(),
            )),
            Some("access_denied") => Err(err(
                ErrorKind::AuthFailed,
                "SSO sign-in: the request was denied".to_owned(),
            )),
            _ => Err(err(
                ErrorKind::AuthFailed,
                format!("SSO OIDC CreateToken: HTTP {}", r.status),
            )),
        }
    }

    async fn device_flow(
        &self,
        ctx: &SourceContext<'_>,
        oidc: &Url,
        now: OffsetDateTime,
    ) -> Result<SecretString, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Registration {
            client_id: String,
            client_secret: Zeroizing<String>,
            #[serde(default)]
            client_secret_expires_at: Option<i64>,
        }
        let r = post_json(
            ctx.transport,
            &join(oidc, "/client/register")?,
            &serde_json::json!({
                "clientName": "vault-refs",
                "clientType": "public",
                "scopes": ["sso:account:access"],
            }),
            "SSO OIDC RegisterClient",
        )
        .await?;
        let reg: Registration = ok_json(&r, "SSO OIDC RegisterClient")?;
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Start {
            device_code: Zeroizing<String>,
            user_code: String,
            verification_uri: String,
            #[serde(default)]
            verification_uri_complete: Option<String>,
            expires_in: i64,
            #[serde(default)]
            interval: Option<u64>,
        }
        let r = post_json(
            ctx.transport,
            &join(oidc, "/device_authorization")?,
            &serde_json::json!({
                "clientId": reg.client_id,
                "clientSecret": reg.client_secret.as_str(),
                "startUrl": self.start_url,
            }),
            "SSO OIDC StartDeviceAuthorization",
        )
        .await?;
        let start: Start = ok_json(&r, "SSO OIDC StartDeviceAuthorization")?;
        let shown = start
            .verification_uri_complete
            .as_deref()
            .unwrap_or(&start.verification_uri);
        let verification_uri = Url::parse(shown)
            .ok()
            .filter(|u| {
                u.scheme() == "https" || crate::endpoint::check_endpoint_url(u.as_str()).is_ok()
            })
            .ok_or_else(|| {
                err(
                    ErrorKind::InvalidResponse,
                    "SSO sign-in: the verification URI is not an https URL".to_owned(),
                )
            })?;
        let user_code: String = start
            .user_code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(32)
            .collect();
        ctx.interaction
            .show_device_code(&DeviceCode {
                verification_uri,
                user_code,
                message: Some(format!(
                    "Sign in to AWS IAM Identity Center (profile `{}`)",
                    self.profile
                )),
            })
            .await?;
        let mut interval = Duration::from_secs(start.interval.unwrap_or(5).clamp(1, 60));
        let deadline = tokio::time::Instant::now()
            + Duration::from_secs(start.expires_in.clamp(1, 3600) as u64).min(DEVICE_FLOW_DEADLINE);
        let body = serde_json::json!({
            "clientId": reg.client_id,
            "clientSecret": reg.client_secret.as_str(),
            "grantType": "urn:ietf:params:oauth:grant-type:device_code",
            "deviceCode": start.device_code.as_str(),
        });
        // Polling until the person approves is waiting for them: not counted against the
        // fetch's budget (each poll has its call deadline, the whole its own limit).
        let poll = async {
            loop {
                if let Some(t) = self.create_token(ctx.transport, oidc, &body).await? {
                    let reg_exp = reg
                        .client_secret_expires_at
                        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
                        .and_then(|t| t.format(&Rfc3339).ok());
                    return self.save(
                        Some(reg.client_id),
                        Some(reg.client_secret),
                        reg_exp,
                        t,
                        now,
                    );
                }
                if tokio::time::Instant::now() + interval > deadline {
                    return Err(err(
                        ErrorKind::Timeout,
                        "SSO sign-in: the device code was not approved in time".to_owned(),
                    ));
                }
                tokio::time::sleep(interval).await;
                interval = interval.min(Duration::from_secs(60));
            }
        };
        ctx.budget.paused(poll).await
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenAnswer {
    access_token: Zeroizing<String>,
    expires_in: i64,
    #[serde(default)]
    refresh_token: Option<Zeroizing<String>>,
}

async fn post_json(
    transport: &Transport,
    url: &Url,
    body: &serde_json::Value,
    what: &str,
) -> Result<crate::transport::PlainReply, Error> {
    let bytes = Zeroizing::new(serde_json::to_vec(body).unwrap_or_default());
    transport
        .plain(PlainRequest {
            method: reqwest::Method::POST,
            url,
            headers: vec![("content-type", "application/json".to_owned())],
            body: Some(bytes),
            what,
            timeout: None,
        })
        .await
}

fn ok_json<T: serde::de::DeserializeOwned>(
    r: &crate::transport::PlainReply,
    what: &str,
) -> Result<T, Error> {
    if r.status != 200 {
        return Err(err(
            if r.status >= 500 {
                ErrorKind::Unavailable
            } else {
                ErrorKind::AuthFailed
            },
            format!("{what}: HTTP {}", r.status),
        ));
    }
    serde_json::from_slice(&r.body).map_err(|_| {
        err(
            ErrorKind::InvalidResponse,
            format!("{what}: the answer is not the JSON expected"),
        )
    })
}

/// Writes `entry` to `path` readable by the owner only, through a temporary file and a rename.
fn write_private(path: &Path, entry: &CacheEntry) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("cache"),
        std::process::id()
    ));
    let text = Zeroizing::new(serde_json::to_vec(entry).map_err(std::io::Error::other)?);
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_key_is_sha1_hex() {
        // The FIPS 180 test vector.
        assert_eq!(cache_key("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
