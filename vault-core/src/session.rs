//! Session state of an integration.

use std::fmt;

use time::OffsetDateTime;

/// Whether someone is signed in to a provider, and until when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// Nobody is signed in.
    SignedOut,
    /// Signed in; `until` is when the credentials stop working unless renewed (`None`: no
    /// known end, as with long-lived keys).
    SignedIn {
        /// End of the session, if known.
        until: Option<OffsetDateTime>,
    },
    /// The session ended and cannot be renewed silently: sign in again.
    Expired,
}

impl SessionState {
    /// The state as seen at `now`: a session past its end is [`SessionState::Expired`].
    pub fn at(self, now: OffsetDateTime) -> Self {
        match self {
            SessionState::SignedIn { until: Some(t) } if t <= now => SessionState::Expired,
            s => s,
        }
    }

    /// Whether the session can be used.
    pub fn is_signed_in(&self) -> bool {
        matches!(self, SessionState::SignedIn { .. })
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionState::SignedOut => f.write_str("signed out"),
            SessionState::SignedIn { until: None } => f.write_str("signed in"),
            SessionState::SignedIn { until: Some(t) } => write!(f, "signed in until {t}"),
            SessionState::Expired => f.write_str("session expired"),
        }
    }
}

/// A session with what `status` shows beside its state: who is signed in and where the
/// session came from. Never a token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// Signed out, signed in until, expired.
    pub state: SessionState,
    /// Who is signed in (a user name, an ARN, a client id), when known.
    pub identity: Option<String>,
    /// Where the credentials came from (`browser sign-in`, `saved session`,
    /// `environment`, `profile dev`...), when known.
    pub source: Option<String>,
}

impl SessionInfo {
    /// A state with no identity or source.
    pub fn new(state: SessionState) -> Self {
        SessionInfo {
            state,
            identity: None,
            source: None,
        }
    }

    /// With who is signed in (builder style).
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = Some(identity.into());
        self
    }

    /// With where the session came from (builder style).
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn expiry_is_seen_at_a_time() {
        let t = OffsetDateTime::UNIX_EPOCH + Duration::hours(1);
        let s = SessionState::SignedIn { until: Some(t) };
        assert_eq!(s.at(t - Duration::seconds(1)), s);
        assert_eq!(s.at(t), SessionState::Expired);
        assert_eq!(
            SessionState::SignedIn { until: None }.at(t),
            SessionState::SignedIn { until: None }
        );
    }
}
