//! Device code sign-in (RFC 8628) for machines without a browser: the host shows a short
//! code and a URL, the user signs in on another device, we poll the token endpoint at the
//! interval the server asks (`slow_down` widens it) until the code expires.

use std::time::Duration;

use oauth2::{DeviceAuthorizationResponse, DeviceAuthorizationUrl, ExtraDeviceAuthorizationFields};
use serde::{Deserialize, Serialize};
use url::Url;
use vault_core::{DeviceCode, Error, ErrorKind, Interaction, ProviderId};

use crate::oauth_context::{bad_url, OAuthContext};
use crate::token_cache::TokenSet;
use crate::token_error::{map_token_error, Grant};
use crate::PROVIDER_ID;

/// The longest poll interval accepted from the server (Entra asks for 5 s).
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(300);

/// Entra adds a ready-made instruction text to the device authorization response.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct EntraDeviceFields {
    #[serde(default)]
    message: Option<String>,
}

impl ExtraDeviceAuthorizationFields for EntraDeviceFields {}

/// `text` without control characters (terminal escapes, carriage returns, newlines) and
/// bidirectional overrides, at most `max` characters: what a server may show on a terminal.
pub(crate) fn printable(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control() && !matches!(*c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}'))
        .take(max)
        .collect()
}

/// Runs the whole device code sign-in; gives up after `timeout` or when the code expires.
pub(crate) async fn sign_in(
    ctx: &OAuthContext<'_>,
    interaction: &dyn Interaction,
    timeout: Duration,
) -> Result<TokenSet, Error> {
    let client = ctx.token_client()?.set_device_authorization_url(
        DeviceAuthorizationUrl::new(ctx.authority.device_code_url()).map_err(|_| bad_url())?,
    );
    let details: DeviceAuthorizationResponse<EntraDeviceFields> = client
        .exchange_device_code()
        .add_scopes(ctx.user_scopes())
        .request_async(ctx.transport)
        .await
        .map_err(|e| map_token_error(Grant::DeviceStart, e))?;
    if details.interval() > MAX_POLL_INTERVAL {
        // The poll loop sleeps this long between polls (and adds 5 s on `slow_down`): an
        // absurd value would hang the sign-in past its timeout or overflow.
        return Err(Error::new(
            ErrorKind::InvalidResponse,
            format!(
                "the device authorization response asks to poll every {} s (at most {} s expected)",
                details.interval().as_secs(),
                MAX_POLL_INTERVAL.as_secs()
            ),
        )
        .with_provider(ProviderId::from_static(PROVIDER_ID)));
    }
    let verification_uri = Url::parse(details.verification_uri().as_str()).map_err(|_| {
        Error::new(
            ErrorKind::InvalidResponse,
            "the device authorization response has no valid verification URL",
        )
        .with_provider(ProviderId::from_static(PROVIDER_ID))
    })?;
    // Server text reaches a terminal: only printable characters, bounded.
    interaction
        .show_device_code(&DeviceCode {
            verification_uri,
            user_code: printable(details.user_code().secret(), 64),
            message: details
                .extra_fields()
                .message
                .as_deref()
                .map(|m| printable(m, 500))
                .filter(|m| !m.is_empty()),
        })
        .await?;
    let response = client
        .exchange_device_access_token(&details)
        .set_max_backoff_interval(Duration::from_secs(30))
        .request_async(ctx.transport, tokio::time::sleep, Some(timeout))
        .await
        .map_err(|e| map_token_error(Grant::Device, e))?;
    TokenSet::from_response(&response, ctx.transport.clock().now())
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn server_text_loses_control_characters() {
        let hostile = "To sign in, use a browser\x1b]0;pwned\x07\r\nFAKE PROMPT\u{202e}txt.exe";
        let shown = printable(hostile, 500);
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert!(!shown.contains('\u{202e}'));
        assert!(shown.starts_with("To sign in, use a browser"));
        assert_eq!(printable(&"x".repeat(1000), 500).len(), 500);
    }
}
