//! Sign-in on a terminal: the URL goes to stderr as `sign-in URL: <url>` (and to the system
//! browser unless told not to), device codes are shown on stderr, each followed by one line
//! saying what is awaited and that Ctrl-C cancels; MFA codes are read from stdin after the
//! prompt `MFA code for <serial>: `.

use std::io::{BufRead, Write};

use async_trait::async_trait;
use secrecy::SecretString;
use url::Url;
use vault_core::{DeviceCode, Error, ErrorKind, Interaction};

/// The terminal's side of sign-in.
#[derive(Clone, Copy, Debug, Default)]
pub struct CliInteraction {
    /// Print the sign-in URL only; never start a browser.
    pub no_browser: bool,
}

impl CliInteraction {
    /// `no_browser` from the flag or from `VAULT_NO_BROWSER=1`.
    pub fn new(no_browser_flag: bool) -> Self {
        let env = std::env::var("VAULT_NO_BROWSER").is_ok_and(|v| v == "1" || v == "true");
        CliInteraction {
            no_browser: no_browser_flag || env,
        }
    }
}

fn open_browser(url: &Url) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(target_os = "windows") {
        "explorer"
    } else {
        "xdg-open"
    };
    // Best effort: the URL is already on stderr for the user to open by hand.
    let _ = std::process::Command::new(opener)
        .arg(url.as_str())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

#[async_trait]
impl Interaction for CliInteraction {
    async fn open_url(&self, url: &Url) -> Result<(), Error> {
        eprintln!("sign-in URL: {url}");
        if !self.no_browser {
            open_browser(url);
        }
        eprintln!("waiting for the sign-in in the browser to finish (Ctrl-C cancels)");
        Ok(())
    }

    async fn show_device_code(&self, code: &DeviceCode) -> Result<(), Error> {
        // The provider's text goes to a terminal: no control characters (escape sequences).
        let clean = |t: &str| t.chars().filter(|c| !c.is_control()).collect::<String>();
        // The provider's own words first (Entra's repeat the URL and code, AWS IAM Identity
        // Center's do not), then always the URL and the code themselves.
        if let Some(m) = &code.message {
            eprintln!("{}", clean(m));
        }
        eprintln!(
            "To sign in, open {} and enter the code {}",
            code.verification_uri,
            clean(&code.user_code)
        );
        eprintln!("waiting for the code to be entered (Ctrl-C cancels)");
        Ok(())
    }

    async fn ask_mfa_code(&self, serial: &str) -> Result<SecretString, Error> {
        let prompt = format!("MFA code for {serial}: ");
        tokio::task::spawn_blocking(move || {
            let mut err = std::io::stderr();
            let _ = err.write_all(prompt.as_bytes());
            let _ = err.flush();
            let mut line = String::new();
            match std::io::stdin().lock().read_line(&mut line) {
                Ok(0) => Err(Error::new(
                    ErrorKind::Cancelled,
                    "no MFA code given (end of input)",
                )),
                Ok(_) => {
                    let code = line.trim().to_owned();
                    line.clear();
                    if code.is_empty() {
                        Err(Error::new(ErrorKind::Cancelled, "no MFA code given"))
                    } else {
                        Ok(SecretString::from(code))
                    }
                }
                Err(e) => Err(Error::new(
                    ErrorKind::Cancelled,
                    format!("cannot read the MFA code: {e}"),
                )),
            }
        })
        .await
        .unwrap_or_else(|_| {
            Err(Error::new(
                ErrorKind::Cancelled,
                "MFA prompt was interrupted",
            ))
        })
    }
}
