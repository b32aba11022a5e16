//! `credential_process`: a profile names a program that prints credentials as JSON
//! (`{"Version": 1, "AccessKeyId": …, "SecretAccessKey": …, "SessionToken": …,
//! "Expiration": "RFC 3339"}`). It runs without a shell (the command line is split into
//! words the way the AWS CLI does: whitespace, single and double quotes, backslash escapes),
//! with a timeout; its standard output is read capped and wiped, and neither it nor its
//! standard error is ever logged or shown: a failure names the profile, the program and its
//! exit status only.

use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;
use vault_core::{Error, ErrorKind};
use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::PROVIDER_ID;

/// How long the program may run.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The most output read from it.
const MAX_OUTPUT: u64 = 64 * 1024;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Output {
    version: u32,
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    #[serde(default)]
    session_token: Option<Zeroizing<String>>,
    #[serde(default)]
    expiration: Option<String>,
}

fn error(kind: ErrorKind, profile: &str, what: String) -> Error {
    Error::new(
        kind,
        format!("credential_process of profile `{profile}`: {what}"),
    )
    .with_provider(PROVIDER_ID)
}

/// Splits a command line into words: whitespace separates, `'…'` keeps everything,
/// `"…"` keeps everything but `\"` and `\\`, a backslash outside quotes escapes the next
/// character. `None` for an unclosed quote.
pub fn split_command(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\') => word.push(c),
                            c => {
                                word.push('\\');
                                word.push(c);
                            }
                        },
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                // A trailing backslash stands for itself (Windows paths end in one rarely).
                word.push(chars.next().unwrap_or('\\'));
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// Runs `command` for `profile` and parses what it prints.
pub(crate) async fn run(command: &str, profile: &str) -> Result<Credentials, Error> {
    run_with_timeout(command, profile, TIMEOUT).await
}

pub(crate) async fn run_with_timeout(
    command: &str,
    profile: &str,
    timeout: Duration,
) -> Result<Credentials, Error> {
    let words = split_command(command).ok_or_else(|| {
        error(
            ErrorKind::InvalidConfig,
            profile,
            "the command line has an unclosed quote".to_owned(),
        )
    })?;
    let Some((program, args)) = words.split_first() else {
        return Err(error(
            ErrorKind::InvalidConfig,
            profile,
            "the command line is empty".to_owned(),
        ));
    };
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            error(
                ErrorKind::InvalidConfig,
                profile,
                format!("cannot start `{program}`: {}", e.kind()),
            )
        })?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let work = async {
        let mut out = Zeroizing::new(Vec::new());
        // One byte over the cap tells an oversized output from one that fits exactly.
        (&mut stdout)
            .take(MAX_OUTPUT + 1)
            .read_to_end(&mut out)
            .await?;
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((out, status))
    };
    let (out, status) = match tokio::time::timeout(timeout, work).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return Err(error(
                ErrorKind::Other,
                profile,
                format!("reading `{program}` failed: {}", e.kind()),
            ))
        }
        Err(_) => {
            // kill_on_drop ends it.
            return Err(error(
                ErrorKind::Timeout,
                profile,
                format!("`{program}` did not finish within {timeout:?}"),
            ));
        }
    };
    if !status.success() {
        let how = match status.code() {
            Some(c) => format!("exit status {c}"),
            None => "a signal".to_owned(),
        };
        return Err(error(
            ErrorKind::AuthFailed,
            profile,
            format!("`{program}` failed ({how})"),
        ));
    }
    if out.len() as u64 > MAX_OUTPUT {
        return Err(error(
            ErrorKind::InvalidResponse,
            profile,
            format!("`{program}` printed more than {MAX_OUTPUT} bytes"),
        ));
    }
    parse(&out, profile, program)
}

fn parse(out: &[u8], profile: &str, program: &str) -> Result<Credentials, Error> {
    // serde_json's message names a position, never the text.
    let o: Output = serde_json::from_slice(out).map_err(|e| {
        error(
            ErrorKind::InvalidResponse,
            profile,
            format!(
                "`{program}` printed no valid credentials JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    if o.version != 1 {
        return Err(error(
            ErrorKind::InvalidResponse,
            profile,
            format!(
                "`{program}` printed Version {} (only 1 is known)",
                o.version
            ),
        ));
    }
    if o.access_key_id.trim().is_empty() || o.secret_access_key.trim().is_empty() {
        return Err(error(
            ErrorKind::InvalidResponse,
            profile,
            format!("`{program}` printed an empty AccessKeyId or SecretAccessKey"),
        ));
    }
    let mut c = Credentials::new(o.access_key_id, o.secret_access_key.as_str());
    if let Some(t) = &o.session_token {
        c = c.with_session_token(t.as_str());
    }
    if let Some(exp) = &o.expiration {
        let t = OffsetDateTime::parse(exp.trim(), &Rfc3339).map_err(|_| {
            error(
                ErrorKind::InvalidResponse,
                profile,
                format!("`{program}` printed an Expiration that is not an RFC 3339 time"),
            )
        })?;
        c = c.with_expiry(t);
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_the_cli() {
        assert_eq!(
            split_command(r#"/bin/tool --a "b c" 'd "e"' f\ g "h\"i""#).unwrap(),
            ["/bin/tool", "--a", "b c", "d \"e\"", "f g", "h\"i"]
        );
        assert_eq!(split_command("  ").unwrap(), Vec::<String>::new());
        assert!(split_command("tool 'open").is_none());
        assert_eq!(split_command(r#""""#).unwrap(), [""]);
    }

    #[test]
    fn parses_output_and_says_what_is_wrong() {
        let c = parse(
            br#"{"Version":1,"AccessKeyId":"AKIAPROC","SecretAccessKey":"s","SessionToken":"t","Expiration":"2030-01-01T00:00:00Z"}"#,
            "p",
            "tool",
        )
        .unwrap();
        assert_eq!(c.access_key_id(), "AKIAPROC");
        assert!(c.has_session_token());
        assert!(c.expires().is_some());
        let e = parse(
            br#"{"Version":2,"AccessKeyId":"A","SecretAccessKey":"s"}"#,
            "p",
            "tool",
        )
        .unwrap_err();
        assert!(e.message().contains("Version 2"), "{e}");
        let e = parse(b"canary-not-json", "p", "tool").unwrap_err();
        assert!(!e.message().contains("canary"), "{e}");
        assert!(e.message().contains("profile `p`"), "{e}");
        let e = parse(
            br#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"canary","Expiration":"soon"}"#,
            "p",
            "tool",
        )
        .unwrap_err();
        assert!(e.message().contains("RFC 3339") && !e.message().contains("canary"));
    }

    #[tokio::test]
    async fn runs_without_a_shell_and_reports_failures() {
        let e = run(
            "/bin/sh -c 'echo canary-out; echo canary-err >&2; exit 3'",
            "p",
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthFailed);
        assert!(e.message().contains("exit status 3"), "{e}");
        assert!(!e.message().contains("canary"), "{e}");
        // `$HOME` is not expanded: no shell.
        let e = run("/bin/echo $HOME", "p").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
        let e = run("/nonexistent/tool", "p").await.unwrap_err();
        assert!(e.message().contains("cannot start"), "{e}");
        let e = run_with_timeout("/bin/sleep 5", "p", Duration::from_millis(200))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        let ok = run(
            r#"/bin/echo '{"Version":1,"AccessKeyId":"AKIAECHO","SecretAccessKey":"s"}'"#,
            "p",
        )
        .await
        .unwrap();
        assert_eq!(ok.access_key_id(), "AKIAECHO");
    }
}
