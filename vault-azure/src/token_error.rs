//! What a refusal of the token endpoint means, in the flow that got it.
//!
//! OAuth errors (`invalid_grant`, `access_denied`...) come with Entra's `AADSTSnnnnn` codes in
//! the description; we keep the OAuth code and the AADSTS number, never the rest of the text
//! and never the response body (a half-parsed token response is still a token).

use oauth2::{ErrorResponse, RequestTokenError, StandardErrorResponse};
use vault_core::{Error, ErrorKind, ProviderId};

use crate::PROVIDER_ID;

/// Which grant was being redeemed: the same OAuth error means different things.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grant {
    /// Authorization code (+ PKCE) from the browser.
    Code,
    /// A refresh token: a refusal means the session is over.
    Refresh,
    /// Device code polling.
    Device,
    /// Device authorization request (getting the user code).
    DeviceStart,
    /// Client credentials.
    ClientCredentials,
    /// Client credentials with a client assertion (certificate, federated token).
    Assertion,
}

/// Maps an `oauth2` error of `grant` to a core error.
pub(crate) fn map_token_error<T>(
    grant: Grant,
    e: RequestTokenError<Error, StandardErrorResponse<T>>,
) -> Error
where
    T: oauth2::ErrorResponseType + AsRef<str> + 'static,
    StandardErrorResponse<T>: ErrorResponse,
{
    match e {
        RequestTokenError::Request(e) => e,
        RequestTokenError::ServerResponse(r) => oauth_error(
            grant,
            r.error().as_ref(),
            r.error_description().map(String::as_str),
        ),
        RequestTokenError::Parse(..) => Error::new(
            ErrorKind::InvalidResponse,
            "the token endpoint answered something that is not a token response",
        )
        .with_provider(ProviderId::from_static(PROVIDER_ID)),
        RequestTokenError::Other(_) => Error::new(
            ErrorKind::InvalidResponse,
            "the token endpoint answered with an unexpected status or content type",
        )
        .with_provider(ProviderId::from_static(PROVIDER_ID)),
    }
}

/// The `AADSTSnnnnn` code at the start of an Entra error description, if any.
fn aadsts(description: Option<&str>) -> Option<&str> {
    let d = description?.trim_start();
    let end = d
        .char_indices()
        .find(|(i, c)| *i >= 6 && !c.is_ascii_digit())
        .map_or(d.len(), |(i, _)| i);
    let code = &d[..end];
    (code.starts_with("AADSTS") && code.len() > 6).then_some(code)
}

/// Maps an OAuth error code (`invalid_grant`...) received while redeeming `grant`.
pub(crate) fn oauth_error(grant: Grant, code: &str, description: Option<&str>) -> Error {
    let safe_code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(48)
        .collect();
    let tag = match aadsts(description) {
        Some(a) => format!("{safe_code}, {a}"),
        None => safe_code.clone(),
    };
    let (kind, text) = match (grant, safe_code.as_str()) {
        (Grant::Refresh, "invalid_grant" | "interaction_required" | "consent_required" | "login_required") => (
            ErrorKind::SessionExpired,
            format!("the session can no longer be renewed ({tag}): sign in again"),
        ),
        (Grant::Code, "invalid_grant") => (
            ErrorKind::AuthFailed,
            format!("the sign-in code was refused ({tag}): it was used already, expired, or the PKCE check failed; sign in again"),
        ),
        (Grant::Device, "access_denied" | "authorization_declined") => (
            ErrorKind::Cancelled,
            format!("the device sign-in was declined ({tag})"),
        ),
        (Grant::Device, "expired_token") => (
            ErrorKind::AuthFailed,
            format!("the device code expired before the sign-in finished ({tag}): sign in again"),
        ),
        (Grant::ClientCredentials, "invalid_client" | "unauthorized_client") => (
            ErrorKind::AuthFailed,
            format!("the service principal's credentials were refused ({tag}): check client_id, tenant and AZURE_CLIENT_SECRET"),
        ),
        (Grant::Assertion, "invalid_client" | "unauthorized_client" | "invalid_grant") => (
            ErrorKind::AuthFailed,
            format!("the client assertion was refused ({tag}): check client_id, tenant and that the certificate or federated credential is registered for the app"),
        ),
        (_, "invalid_client" | "unauthorized_client") => (
            ErrorKind::InvalidConfig,
            format!("the app registration refused this sign-in ({tag}): check client_id and that public client flows are allowed"),
        ),
        (_, "invalid_scope" | "invalid_target" | "invalid_resource") => (
            ErrorKind::InvalidConfig,
            format!("the Key Vault scope was refused ({tag}): check the authority's cloud"),
        ),
        (_, "temporarily_unavailable") => (
            ErrorKind::Unreachable,
            format!("the sign-in service is temporarily unavailable ({tag})"),
        ),
        (_, "access_denied") => (ErrorKind::Cancelled, format!("the sign-in was cancelled ({tag})")),
        _ => (ErrorKind::AuthFailed, format!("the token endpoint refused the request ({tag})")),
    };
    Error::new(kind, text).with_provider(ProviderId::from_static(PROVIDER_ID))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_refusal_means_sign_in_again() {
        let e = oauth_error(
            Grant::Refresh,
            "invalid_grant",
            Some("AADSTS70043: The refresh token has expired due to inactivity. Trace ID: x"),
        );
        assert_eq!(e.kind(), ErrorKind::SessionExpired);
        assert!(e.message().contains("sign in again"));
        assert!(e.message().contains("AADSTS70043"));
        assert!(!e.message().contains("Trace"));
    }

    #[test]
    fn other_grants() {
        assert_eq!(
            oauth_error(Grant::Code, "invalid_grant", None).kind(),
            ErrorKind::AuthFailed
        );
        assert_eq!(
            oauth_error(Grant::Device, "authorization_declined", None).kind(),
            ErrorKind::Cancelled
        );
        assert_eq!(
            oauth_error(Grant::Device, "expired_token", None).kind(),
            ErrorKind::AuthFailed
        );
        assert_eq!(
            oauth_error(Grant::Code, "invalid_client", None).kind(),
            ErrorKind::InvalidConfig
        );
        assert_eq!(
            oauth_error(
                Grant::ClientCredentials,
                "invalid_client",
                Some("AADSTS7000215: Invalid client secret")
            )
            .kind(),
            ErrorKind::AuthFailed
        );
        let e = oauth_error(Grant::Code, "weird<code>", Some("secret stuff"));
        assert!(!e.to_string().contains('<'));
        assert!(!e.to_string().contains("secret stuff"));
        assert_eq!(aadsts(Some("AADSTS")), None);
        assert_eq!(aadsts(Some("AADSTS50058")), Some("AADSTS50058"));
    }
}
