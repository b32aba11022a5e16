//! Which Microsoft identity platform flow signs the provider in.

use serde::Deserialize;

/// How the provider gets its Key Vault token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInFlow {
    /// Authorization code + PKCE in the system browser, with a loopback redirect: the
    /// default for people at a desktop.
    #[default]
    Browser,
    /// Device code (RFC 8628): the user signs in on another device; for machines without a
    /// browser (SSH sessions, containers).
    DeviceCode,
    /// Client credentials of a service principal (secret from `AZURE_CLIENT_SECRET`): for
    /// unattended use. No user, no refresh token: a new token is simply requested.
    ClientCredentials,
}

impl SignInFlow {
    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInFlow::Browser => "browser",
            SignInFlow::DeviceCode => "device_code",
            SignInFlow::ClientCredentials => "client_credentials",
        }
    }
}
