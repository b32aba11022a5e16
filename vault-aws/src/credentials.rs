//! AWS credentials: an access key id, a secret access key and, for temporary credentials, a
//! session token and an end time. The secret parts live in `secrecy` types (zeroized on drop)
//! and never appear in `Debug` output.

use std::fmt;
use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

/// A set of AWS credentials.
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: SecretString,
    session_token: Option<SecretString>,
    expires: Option<OffsetDateTime>,
}

impl Credentials {
    /// Long-lived keys (or temporary ones with [`Credentials::with_session_token`]).
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        // The untrimmed input is wiped once the trimmed copy is taken.
        let secret = zeroize::Zeroizing::new(secret_access_key.into());
        Credentials {
            access_key_id: access_key_id.into().trim().to_owned(),
            secret_access_key: SecretString::from(secret.trim()),
            session_token: None,
            expires: None,
        }
    }

    /// Adds a session token: these are temporary credentials (from STS).
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        let token = token.into();
        self.session_token = (!token.trim().is_empty()).then(|| SecretString::from(token));
        self
    }

    /// Sets when the credentials stop working.
    pub fn with_expiry(mut self, expires: OffsetDateTime) -> Self {
        self.expires = Some(expires);
        self
    }

    /// The access key id (an identifier, not a secret, but still not printed in full).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// Whether a session token is present (temporary credentials).
    pub fn has_session_token(&self) -> bool {
        self.session_token.is_some()
    }

    /// When the credentials stop working, if known.
    pub fn expires(&self) -> Option<OffsetDateTime> {
        self.expires
    }

    /// The credentials in the form `aws-sigv4` signs with. Built per request: it copies the
    /// secret into `aws-credential-types`' own zeroizing storage.
    pub(crate) fn to_signing(&self) -> aws_credential_types::Credentials {
        aws_credential_types::Credentials::new(
            self.access_key_id.clone(),
            self.secret_access_key.expose_secret().to_owned(),
            self.session_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            self.expires.map(SystemTime::from),
            "vault-aws",
        )
    }

    /// Every part of these credentials that goes on the wire or could be echoed back, for
    /// scrubbing server text.
    pub(crate) fn sent_parts(&self) -> Vec<&str> {
        let mut parts = vec![
            self.access_key_id.as_str(),
            self.secret_access_key.expose_secret(),
        ];
        if let Some(t) = &self.session_token {
            parts.push(t.expose_secret());
        }
        parts
    }

    /// The session token, for the store's record.
    pub(crate) fn session_token(&self) -> Option<&str> {
        self.session_token.as_ref().map(|t| t.expose_secret())
    }

    /// The secret access key, for the store's record.
    pub(crate) fn secret_access_key(&self) -> &str {
        self.secret_access_key.expose_secret()
    }

    /// The access key id shortened for messages: its 4-character kind prefix (`AKIA` for a
    /// user key, `ASIA` for temporary credentials) and its last 4 characters.
    pub fn key_hint(&self) -> String {
        let id = &self.access_key_id;
        if id.len() >= 12 && id.is_ascii() {
            format!("{}…{}", &id[..4], &id[id.len() - 4..])
        } else {
            "…".to_owned()
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.key_hint())
            .field("secret_access_key", &"[redacted]")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires", &self.expires)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secret_parts() {
        let c = Credentials::new("AKIAABCDEFGHIJKLMNOP", "canary-secret")
            .with_session_token("canary-token");
        let d = format!("{c:?}");
        assert!(!d.contains("canary"), "{d}");
        assert!(!d.contains("ABCDEFGHIJKL"), "{d}");
        assert!(d.contains("AKIA…MNOP"), "{d}");
        assert!(c.has_session_token());
        assert!(!Credentials::new("a", "b")
            .with_session_token(" ")
            .has_session_token());
    }
}
