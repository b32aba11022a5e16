//! The one error type of the workspace: a kind to match on, the provider and the secret's
//! *name*, and whether trying again could help. Never a value or a token.

use std::fmt;
use std::sync::Arc;

use crate::link::ProviderId;

/// What went wrong, coarse enough to match on and stable across providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The template names a secret the vault does not hold.
    UnknownName,
    /// The secret exists but is turned off.
    Disabled,
    /// The secret may not be sent to the request's host.
    DomainNotAllowed,
    /// A `value_env` secret names an environment variable that is not set.
    MissingEnv,
    /// A reference in the template is malformed (unclosed, empty or invalid name).
    InvalidReference,
    /// A link's locator is malformed (bad identifier, ARN, path...).
    InvalidLink,
    /// The config file or a setting is wrong.
    InvalidConfig,
    /// The link names a provider this build or this resolver does not have.
    ProviderUnavailable,
    /// The integration was disconnected: its references stay unresolved until it is connected.
    Disconnected,
    /// Nobody is signed in to the provider.
    SignedOut,
    /// The session expired and cannot be renewed silently: sign in again.
    SessionExpired,
    /// Sign-in failed or credentials were refused (bad key, bad signature, bad code).
    AuthFailed,
    /// The caller's role may not do this (for example: change admin-only settings).
    NotAllowed,
    /// The external secret does not exist.
    NotFound,
    /// The signed-in identity may not read the secret.
    PermissionDenied,
    /// The external secret exists but cannot be used (disabled, deleted, undecryptable).
    Unavailable,
    /// The provider asked us to slow down.
    RateLimited,
    /// The provider could not be reached (DNS, connect, TLS, sealed server, 5xx).
    Unreachable,
    /// The provider did not answer in time.
    Timeout,
    /// The provider answered something we do not understand.
    InvalidResponse,
    /// The request was refused by the provider as malformed.
    InvalidRequest,
    /// The host cancelled an interaction (closed the browser, no MFA code...).
    Cancelled,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// A short lower-case phrase, used in messages and reports (`"not found"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::UnknownName => "unknown name",
            ErrorKind::Disabled => "disabled",
            ErrorKind::DomainNotAllowed => "domain not allowed",
            ErrorKind::MissingEnv => "environment variable not set",
            ErrorKind::InvalidReference => "invalid reference",
            ErrorKind::InvalidLink => "invalid link",
            ErrorKind::InvalidConfig => "invalid config",
            ErrorKind::ProviderUnavailable => "provider unavailable",
            ErrorKind::Disconnected => "disconnected",
            ErrorKind::SignedOut => "signed out",
            ErrorKind::SessionExpired => "session expired",
            ErrorKind::AuthFailed => "authentication failed",
            ErrorKind::NotAllowed => "not allowed",
            ErrorKind::NotFound => "not found",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::Timeout => "timed out",
            ErrorKind::InvalidResponse => "invalid response",
            ErrorKind::InvalidRequest => "invalid request",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Other => "error",
        }
    }

    /// Whether the same call, made again later without any change, could succeed.
    pub fn default_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Unreachable | ErrorKind::Timeout
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of the vault, a provider or the resolver.
///
/// Messages are written by this workspace and never hold a secret value, a token, a key or a
/// password: providers build them from status codes, error codes and *names* only.
///
/// An error may keep its cause ([`with_source`](Self::with_source)): a DNS or TLS failure of
/// the HTTP client stays reachable through [`std::error::Error::source`]. Two errors compare
/// equal when all but their causes do.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    provider: Option<ProviderId>,
    secret: Option<String>,
    message: String,
    retryable: bool,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.provider == other.provider
            && self.secret == other.secret
            && self.message == other.message
            && self.retryable == other.retryable
    }
}

impl Eq for Error {}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl Error {
    /// A new error of `kind` with a human message (no secret material in it).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            provider: None,
            secret: None,
            message: message.into(),
            retryable: kind.default_retryable(),
            source: None,
        }
    }

    /// Keeps `source` as this error's cause ([`std::error::Error::source`]). Its own message
    /// and chain must hold no secret material either: give a `reqwest::Error` through
    /// `without_url()`, so no URL (userinfo, query) reaches it.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Names the provider involved.
    pub fn with_provider(mut self, provider: ProviderId) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Names the vault secret involved (its *name*, never its value). Keeps an earlier name.
    pub fn with_secret(mut self, name: impl Into<String>) -> Self {
        if self.secret.is_none() {
            self.secret = Some(name.into());
        }
        self
    }

    /// The same error (kind, provider, secret, retryability, cause) with its message replaced:
    /// for a caller that adds context (`… (role X)`) without losing the cause.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Overrides whether a retry could help.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The provider involved, if any.
    pub fn provider(&self) -> Option<&ProviderId> {
        self.provider.as_ref()
    }

    /// The name of the vault secret involved, if any.
    pub fn secret(&self) -> Option<&str> {
        self.secret.as_deref()
    }

    /// The human message, without the kind, provider and secret prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the same call could succeed if tried again later.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(secret) = &self.secret {
            write!(f, "secret `{secret}`")?;
            if let Some(provider) = &self.provider {
                write!(f, " ({provider})")?;
            }
            f.write_str(": ")?;
        } else if let Some(provider) = &self.provider {
            write!(f, "{provider}: ")?;
        }
        f.write_str(self.kind.as_str())?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("provider", &self.provider)
            .field("secret", &self.secret)
            .field("message", &self.message)
            .field("retryable", &self.retryable)
            .field("source", &self.source.as_ref().map(|e| e.to_string()))
            .finish()
    }
}

/// Shorthand for results of this workspace.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_secret_provider_and_kind() {
        let e = Error::new(ErrorKind::NotFound, "SecretNotFound")
            .with_provider(ProviderId::new("azure").unwrap())
            .with_secret("api-key");
        assert_eq!(
            e.to_string(),
            "secret `api-key` (azure): not found: SecretNotFound"
        );
        assert!(!e.is_retryable());
        let e = Error::new(ErrorKind::Timeout, "");
        assert_eq!(e.to_string(), "timed out");
        assert!(e.is_retryable());
    }

    #[test]
    fn the_cause_is_kept_and_ignored_by_equality() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = Error::new(ErrorKind::Unreachable, "cannot connect").with_source(io);
        assert_eq!(e.source().unwrap().to_string(), "refused");
        assert_eq!(e, Error::new(ErrorKind::Unreachable, "cannot connect"));
        assert!(e.clone().source().is_some());
        let e = e.with_message("cannot connect (role r)");
        assert_eq!(e.message(), "cannot connect (role r)");
        assert!(e.source().is_some() && e.is_retryable());
    }

    #[test]
    fn with_secret_keeps_first_name() {
        let e = Error::new(ErrorKind::Other, "x")
            .with_secret("a")
            .with_secret("b");
        assert_eq!(e.secret(), Some("a"));
    }
}
