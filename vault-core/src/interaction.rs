//! What a provider needs from the host during sign-in: open a URL, show a device code, ask
//! for an MFA code. A desktop app, a CLI and a headless test each implement it their way.

use async_trait::async_trait;
use secrecy::SecretString;
use url::Url;

use crate::error::{Error, ErrorKind};

/// A device-code prompt (OAuth 2.0 device authorization grant, RFC 8628).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceCode {
    /// Where the user goes on another device.
    pub verification_uri: Url,
    /// The short code the user types there (not a secret: it is meant to be shown).
    pub user_code: String,
    /// The provider's own instruction text, if it sent one.
    pub message: Option<String>,
}

/// The host side of sign-in.
#[async_trait]
pub trait Interaction: Send + Sync + 'static {
    /// Shows `url` to the user, usually by opening the system browser. Returning does not
    /// mean the user finished: the provider waits on its own redirect listener.
    async fn open_url(&self, url: &Url) -> Result<(), Error>;

    /// Shows a device code for the user to enter on another device.
    async fn show_device_code(&self, code: &DeviceCode) -> Result<(), Error>;

    /// Asks for the current code of the MFA device `serial`.
    async fn ask_mfa_code(&self, serial: &str) -> Result<SecretString, Error>;
}

/// An interaction for unattended use: every request for the user fails with
/// [`ErrorKind::SignedOut`], so sign-in never blocks a headless program.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoInteraction;

#[async_trait]
impl Interaction for NoInteraction {
    async fn open_url(&self, _url: &Url) -> Result<(), Error> {
        Err(Error::new(
            ErrorKind::SignedOut,
            "sign-in needs a browser, and this host has no interaction",
        ))
    }

    async fn show_device_code(&self, _code: &DeviceCode) -> Result<(), Error> {
        Err(Error::new(
            ErrorKind::SignedOut,
            "sign-in needs a user, and this host has no interaction",
        ))
    }

    async fn ask_mfa_code(&self, serial: &str) -> Result<SecretString, Error> {
        Err(Error::new(
            ErrorKind::SignedOut,
            format!("an MFA code for {serial} is needed, and this host has no interaction"),
        ))
    }
}
