//! The token the Vault CLI would use (`auth_method = "token"`), found where the CLI looks, in
//! its order:
//!
//! 1. `VAULT_TOKEN`;
//! 2. the token helper named by `token_helper = "/abs/path"` in the CLI config file
//!    (`VAULT_CONFIG_PATH`, else `~/.vault`), run as `HELPER get` — no shell, `VAULT_ADDR`
//!    set to the integration's address, stdin and stderr closed, a 10 s timeout, at most
//!    64 KiB of output, which is never logged or shown;
//! 3. else the CLI's own file `~/.vault-token`.
//!
//! This crate only reads these places: it never writes, stores or erases a token there (the
//! user's `vault login` / `vault token revoke` manage them).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::io::AsyncReadExt;
use vault_core::{Environment, Error, ErrorKind};
use zeroize::Zeroizing;

use crate::address::VaultAddress;
use crate::credential::{self, MAX_CREDENTIAL_BYTES};
use crate::settings::{expand_home, CredentialSource};
use crate::PROVIDER_ID;

/// How long a token helper may take to answer `get`.
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the token was found (shown in messages and `status`; never the token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPlace {
    /// `VAULT_TOKEN`.
    EnvVar,
    /// The token helper of the CLI config.
    Helper,
    /// `~/.vault-token`.
    File,
}

impl TokenPlace {
    /// A short description.
    pub fn describe(self) -> &'static str {
        match self {
            TokenPlace::EnvVar => "VAULT_TOKEN",
            TokenPlace::Helper => "the Vault CLI's token helper",
            TokenPlace::File => "~/.vault-token",
        }
    }
}

fn err(kind: ErrorKind, message: impl Into<String>) -> Error {
    Error::new(kind, message).with_provider(PROVIDER_ID)
}

/// The `token_helper` of a CLI config file (HCL; only this one key is read), if any.
pub(crate) fn helper_of(config: &str) -> Option<String> {
    config.lines().find_map(|line| {
        let line = line.trim();
        let rest = line.strip_prefix("token_helper")?.trim_start();
        let rest = rest.strip_prefix('=')?.trim();
        let rest = rest.strip_prefix('"')?;
        let end = rest.find('"')?;
        Some(rest[..end].to_owned())
    })
}

fn config_path(env: &dyn Environment) -> Option<PathBuf> {
    match env.var("VAULT_CONFIG_PATH") {
        Some(p) if !p.expose_secret().is_empty() => Some(PathBuf::from(p.expose_secret())),
        _ => env
            .var("HOME")
            .map(|h| PathBuf::from(h.expose_secret()).join(".vault")),
    }
}

/// Finds the CLI's token for `address`. `Ok(None)`: none anywhere (the caller says how to
/// get one). A helper that fails, hangs or is not an absolute path is an error naming the
/// helper (its output is not quoted).
pub async fn find(
    env: &dyn Environment,
    address: &VaultAddress,
) -> Result<Option<(SecretString, TokenPlace)>, Error> {
    if let Some(t) = env.var("VAULT_TOKEN") {
        let t = t.expose_secret().trim();
        if !t.is_empty() {
            return Ok(Some((SecretString::from(t.to_owned()), TokenPlace::EnvVar)));
        }
    }
    if let Some(path) = config_path(env) {
        if let Ok(text) = std::fs::read_to_string(&path) {
            if let Some(helper) = helper_of(&text) {
                let helper = expand_home(&helper, env);
                return run_helper(&helper, env, address)
                    .await
                    .map(|t| t.map(|t| (t, TokenPlace::Helper)));
            }
        }
    }
    let Some(file) = env
        .var("HOME")
        .map(|h| PathBuf::from(h.expose_secret()).join(".vault-token"))
    else {
        return Ok(None);
    };
    if !file.exists() {
        return Ok(None);
    }
    match credential::read(&CredentialSource::File(file), "the Vault CLI's token", env) {
        Ok(t) => Ok(Some((t, TokenPlace::File))),
        Err(e) if e.message().ends_with("is empty") => Ok(None),
        Err(e) => Err(e),
    }
}

/// Runs `helper get`. Empty output: no token.
async fn run_helper(
    helper: &Path,
    env: &dyn Environment,
    address: &VaultAddress,
) -> Result<Option<SecretString>, Error> {
    let shown = helper.display().to_string();
    if !helper.is_absolute() {
        return Err(err(
            ErrorKind::InvalidConfig,
            format!(
                "the token helper `{shown}` must be an absolute path (as the Vault CLI requires)"
            ),
        ));
    }
    let mut cmd = tokio::process::Command::new(helper);
    cmd.arg("get")
        .env("VAULT_ADDR", address.as_str())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(home) = env.var("HOME") {
        cmd.env("HOME", home.expose_secret());
    }
    let mut child = cmd.spawn().map_err(|e| {
        err(
            ErrorKind::InvalidConfig,
            format!("cannot run the token helper `{shown}`: {}", e.kind()),
        )
    })?;
    let mut stdout = child.stdout.take().ok_or_else(|| {
        err(
            ErrorKind::Other,
            "the token helper's output is not readable",
        )
    })?;
    let work = async {
        let mut out = Zeroizing::new(Vec::new());
        (&mut stdout)
            .take(MAX_CREDENTIAL_BYTES + 1)
            .read_to_end(&mut out)
            .await?;
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((out, status))
    };
    let (out, status) = match tokio::time::timeout(HELPER_TIMEOUT, work).await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => {
            return Err(err(
                ErrorKind::Other,
                format!("the token helper `{shown}` failed: {}", e.kind()),
            ))
        }
        Err(_) => {
            // kill_on_drop ends it with the child handle
            return Err(err(
                ErrorKind::Timeout,
                format!(
                    "the token helper `{shown}` did not answer within {} s",
                    HELPER_TIMEOUT.as_secs()
                ),
            ));
        }
    };
    if !status.success() {
        return Err(err(
            ErrorKind::AuthFailed,
            format!(
                "the token helper `{shown}` failed ({status}); run it by hand to see its message"
            ),
        ));
    }
    if out.len() as u64 > MAX_CREDENTIAL_BYTES {
        return Err(err(
            ErrorKind::InvalidResponse,
            format!("the token helper `{shown}` printed more than {MAX_CREDENTIAL_BYTES} bytes"),
        ));
    }
    let text = std::str::from_utf8(&out).map_err(|_| {
        err(
            ErrorKind::InvalidResponse,
            format!("the token helper `{shown}` printed something that is not text"),
        )
    })?;
    let t = text.trim();
    Ok((!t.is_empty()).then(|| SecretString::from(t.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_helper_line_only() {
        assert_eq!(
            helper_of("# cfg\ntoken_helper = \"/usr/bin/h\"\nother = 1").as_deref(),
            Some("/usr/bin/h")
        );
        assert_eq!(helper_of("token_helper=\"/a b\"").as_deref(), Some("/a b"));
        assert_eq!(helper_of("token_helpers = \"/x\""), None);
        assert_eq!(helper_of(""), None);
    }
}
