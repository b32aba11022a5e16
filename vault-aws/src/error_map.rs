//! AWS error codes and HTTP statuses mapped to the workspace's error kinds.
//!
//! | AWS code | kind |
//! | --- | --- |
//! | `AccessDenied`, `AccessDeniedException` | permission denied |
//! | `SignatureDoesNotMatch`, `InvalidClientTokenId`, `UnrecognizedClientException`, `IncompleteSignature`, `MissingAuthenticationToken`, `InvalidSignatureException` | authentication failed |
//! | `ExpiredToken`, `ExpiredTokenException`, `RequestExpired` | session expired |
//! | `ResourceNotFoundException`, `NoSuchEntity` | not found |
//! | `DecryptionFailure` | unavailable |
//! | `InvalidRequestException`, `InvalidParameterException`, `ValidationError`, `ValidationException` | invalid request |
//! | `Throttling`, `ThrottlingException`, `TooManyRequestsException`, `RequestLimitExceeded` | rate limited (retried) |
//! | `InternalServiceError`, `InternalFailure`, `ServiceUnavailable` and any 5xx | unreachable (retried) |
//!
//! Other codes fall back on the status (401/403, 404, 429, 5xx). Messages name the call, the
//! status and the code; the service's own message is added except for signature and token
//! errors, whose messages may echo signing material.

use vault_core::{Error, ErrorKind};

use crate::error_body::ErrorBody;
use crate::PROVIDER_ID;

/// The kind of an AWS error.
pub fn kind_of(status: u16, code: Option<&str>) -> ErrorKind {
    match code.unwrap_or("") {
        "AccessDenied" | "AccessDeniedException" => ErrorKind::PermissionDenied,
        "SignatureDoesNotMatch"
        | "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "IncompleteSignature"
        | "InvalidSignatureException"
        | "MissingAuthenticationToken" => ErrorKind::AuthFailed,
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => ErrorKind::SessionExpired,
        "ResourceNotFoundException" | "NoSuchEntity" => ErrorKind::NotFound,
        "DecryptionFailure" => ErrorKind::Unavailable,
        "InvalidRequestException"
        | "InvalidParameterException"
        | "ValidationError"
        | "ValidationException" => ErrorKind::InvalidRequest,
        "Throttling"
        | "ThrottlingException"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => ErrorKind::RateLimited,
        "InternalServiceError" | "InternalFailure" | "ServiceUnavailable" => ErrorKind::Unreachable,
        _ => match status {
            401 => ErrorKind::AuthFailed,
            403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::Unreachable,
            _ => ErrorKind::InvalidRequest,
        },
    }
}

/// The error of a failed call: `what` names the call and the secret (`GetSecretValue of
/// app/db-AbCdEf`).
pub fn to_error(what: &str, status: u16, body: &ErrorBody) -> Error {
    let code = body.code.as_deref();
    let kind = kind_of(status, code);
    let mut message = format!("{what}: HTTP {status}");
    if let Some(code) = code {
        // An error code is a short identifier; anything else from the server is dropped.
        let shown: String = code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
            .take(80)
            .collect();
        message.push(' ');
        message.push_str(&shown);
    }
    let quiet = kind == ErrorKind::AuthFailed || kind == ErrorKind::SessionExpired;
    if let Some(m) = body.message.as_deref().filter(|_| !quiet) {
        let m: String = m.chars().filter(|c| !c.is_control()).take(300).collect();
        if !m.is_empty() {
            message.push_str(": ");
            message.push_str(&m);
        }
    }
    match kind {
        ErrorKind::AuthFailed if code == Some("SignatureDoesNotMatch") => {
            message.push_str(" (the secret access key is wrong for this access key id)");
        }
        ErrorKind::AuthFailed if code == Some("InvalidClientTokenId") => {
            message.push_str(" (the access key id or session token is not known to AWS)");
        }
        ErrorKind::SessionExpired => message.push_str(" (sign in again)"),
        _ => {}
    }
    Error::new(kind, message).with_provider(PROVIDER_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str, message: &str) -> ErrorBody {
        ErrorBody {
            code: Some(code.into()),
            message: Some(message.into()),
        }
    }

    #[test]
    fn codes_map_to_kinds() {
        let cases = [
            ("AccessDeniedException", 400, ErrorKind::PermissionDenied),
            ("AccessDenied", 403, ErrorKind::PermissionDenied),
            ("SignatureDoesNotMatch", 403, ErrorKind::AuthFailed),
            ("InvalidClientTokenId", 403, ErrorKind::AuthFailed),
            ("UnrecognizedClientException", 400, ErrorKind::AuthFailed),
            ("ExpiredTokenException", 400, ErrorKind::SessionExpired),
            ("ExpiredToken", 403, ErrorKind::SessionExpired),
            ("ResourceNotFoundException", 400, ErrorKind::NotFound),
            ("DecryptionFailure", 400, ErrorKind::Unavailable),
            ("InvalidRequestException", 400, ErrorKind::InvalidRequest),
            ("ThrottlingException", 400, ErrorKind::RateLimited),
            ("Throttling", 400, ErrorKind::RateLimited),
            ("InternalServiceError", 500, ErrorKind::Unreachable),
            ("SomethingNew", 503, ErrorKind::Unreachable),
            ("SomethingNew", 404, ErrorKind::NotFound),
            ("SomethingNew", 400, ErrorKind::InvalidRequest),
        ];
        for (code, status, kind) in cases {
            assert_eq!(kind_of(status, Some(code)), kind, "{code}");
        }
        assert_eq!(kind_of(429, None), ErrorKind::RateLimited);
        assert!(to_error("x", 400, &body("ThrottlingException", "")).is_retryable());
        assert!(!to_error("x", 400, &body("AccessDeniedException", "")).is_retryable());
    }

    #[test]
    fn messages_name_call_status_and_code() {
        let e = to_error(
            "GetSecretValue of app/db-AbCdEf",
            400,
            &body(
                "ResourceNotFoundException",
                "Secrets Manager can't find the specified secret.",
            ),
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(
            e.message(),
            "GetSecretValue of app/db-AbCdEf: HTTP 400 ResourceNotFoundException: Secrets Manager can't find the specified secret."
        );
        let e = to_error(
            "GetSecretValue of x",
            403,
            &body("SignatureDoesNotMatch", "canary"),
        );
        assert!(!e.message().contains("canary"), "{e}");
        assert!(e.message().contains("SignatureDoesNotMatch"), "{e}");
        assert!(e.message().contains("secret access key is wrong"), "{e}");
    }
}
