//! The Azure CLI's sign-in: `az account get-access-token --output json --resource
//! <vault resource> [--tenant <tenant>]`, for a developer who already ran `az login`.
//!
//! `az` is looked up on the `PATH` of the injected environment and run directly (no shell,
//! arguments as separate words, stdin closed), killed when it takes longer than its timeout
//! ([`DEFAULT_TIMEOUT`]). Its output is never logged or shown: stdout is parsed for the
//! token, stderr only searched for the few phrases that tell "not signed in" from "wrong
//! tenant". The expiry comes from `expires_on` (Unix seconds, az 2.54 and later); older
//! versions only print a local time without a zone, so their token is used for ten minutes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;
use tokio::io::AsyncReadExt;
use vault_core::{Error, ErrorKind, ProviderId};

use super::{Answer, TokenSource};
use crate::oauth_context::OAuthContext;
use crate::token_cache::{TokenSet, MAX_TOKEN_LIFETIME};
use crate::PROVIDER_ID;

/// How long `az` may take (it starts Python: a second or two is normal).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of its stdout read.
const MAX_OUTPUT: u64 = 256 * 1024;

/// The Azure CLI source.
pub(crate) struct AzureCli {
    /// The `PATH` to look `az` up in.
    pub path_var: Option<String>,
    pub timeout: Duration,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Output {
    access_token: Option<String>,
    #[serde(default, rename = "expires_on")]
    expires_on: Option<serde_json::Value>,
}

fn named(kind: ErrorKind, msg: String) -> Error {
    Error::new(kind, msg).with_provider(ProviderId::from_static(PROVIDER_ID))
}

/// The first executable `az` on `path_var`.
pub(crate) fn find_az(path_var: &str) -> Option<PathBuf> {
    std::env::split_paths(path_var)
        .filter(|d| d.is_absolute())
        .map(|d| d.join("az"))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

#[async_trait]
impl TokenSource for AzureCli {
    fn name(&self) -> &'static str {
        "azure_cli"
    }

    async fn token(&self, ctx: &OAuthContext<'_>) -> Result<Answer, Error> {
        let Some(az) = self.path_var.as_deref().and_then(find_az) else {
            return Ok(Answer::NotMine("`az` is not on PATH".into()));
        };
        let mut cmd = tokio::process::Command::new(&az);
        cmd.args([
            "account",
            "get-access-token",
            "--output",
            "json",
            "--resource",
        ])
        .arg(ctx.resource);
        let tenant = (!ctx.authority.is_multi_tenant()).then(|| ctx.authority.tenant());
        if let Some(t) = tenant {
            cmd.args(["--tenant", t]);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let now = ctx.transport.clock().now();
        let mut child = cmd.spawn().map_err(|e| {
            named(
                ErrorKind::Unreachable,
                format!("cannot run `{}`: {e}", az.display()),
            )
        })?;
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let run = async {
            let mut out = zeroize::Zeroizing::new(Vec::new());
            let mut err = zeroize::Zeroizing::new(Vec::new());
            let mut o = (&mut stdout).take(MAX_OUTPUT);
            let mut e = (&mut stderr).take(MAX_OUTPUT);
            let (a, b) = tokio::join!(o.read_to_end(&mut out), e.read_to_end(&mut err));
            a.and(b)?;
            let status = child.wait().await?;
            Ok::<_, std::io::Error>((status, out, err))
        };
        let (status, out, err) = match tokio::time::timeout(self.timeout, run).await {
            Err(_) => {
                return Err(named(
                    ErrorKind::Timeout,
                    format!(
                        "`az account get-access-token` did not finish within {} s (it was stopped)",
                        self.timeout.as_secs()
                    ),
                ))
            }
            Ok(Err(e)) => {
                return Err(named(
                    ErrorKind::Unreachable,
                    format!("running `az` failed: {}", e.kind()),
                ))
            }
            Ok(Ok(r)) => r,
        };
        if !status.success() {
            let text = String::from_utf8_lossy(&err);
            if text.contains("az login") && !text.contains("AADSTS") {
                return Ok(Answer::NotMine(
                    "the Azure CLI is not signed in: run `az login`".into(),
                ));
            }
            if let Some(t) = tenant.filter(|_| text.contains("AADSTS") || text.contains("enant")) {
                return Err(named(
                    ErrorKind::AuthFailed,
                    format!(
                        "the Azure CLI has no token for tenant `{t}`: run `az login --tenant {t}`"
                    ),
                ));
            }
            return Err(named(
                ErrorKind::AuthFailed,
                format!(
                    "`az account get-access-token` failed (exit status {})",
                    status.code().map_or("none".into(), |c| c.to_string())
                ),
            ));
        }
        let parsed: Output = serde_json::from_slice(&out).map_err(|_| {
            named(
                ErrorKind::InvalidResponse,
                "`az account get-access-token` printed no token JSON".into(),
            )
        })?;
        let access = parsed
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                named(
                    ErrorKind::InvalidResponse,
                    "`az account get-access-token` printed no accessToken".into(),
                )
            })?;
        let expires_on = parsed.expires_on.as_ref().and_then(|v| match v {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        let expires_at = expires_on
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .unwrap_or(now + time::Duration::minutes(10))
            .min(now + MAX_TOKEN_LIFETIME);
        Ok(Answer::Token(TokenSet {
            access: SecretString::from(access),
            expires_at,
            refresh: None,
            resumed: false,
        }))
    }
}
