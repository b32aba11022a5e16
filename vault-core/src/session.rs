//! Session state of an integration.

use std::fmt;

use time::OffsetDateTime;

/// Whether someone is signed in to a provider, and until when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
