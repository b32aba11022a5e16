//! The session: the newest access and refresh token, held in memory only.
//!
//! Rotation: every token response replaces the whole set, so the newest refresh token always
//! replaces the old one (an identity provider that rotates refresh tokens revokes the whole
//! grant when an old one is replayed). A response without a refresh token keeps the current
//! one, as Entra may omit it.

use oauth2::TokenResponse;
use secrecy::SecretString;
use time::{Duration, OffsetDateTime};
use vault_core::{Error, ErrorKind, ProviderId, SessionState};

use crate::PROVIDER_ID;

/// Renew this long before the access token expires: the token must still be valid when it
/// reaches Key Vault, and clocks differ.
pub const REFRESH_SKEW: Duration = Duration::minutes(5);

/// The longest lifetime believed of an access token. Entra's tokens live one to 28 hours
/// (continuous access evaluation); a longer `expires_in` only means an earlier renewal, and
/// an absurd one (say 10^12 s) cannot push the expiry past the calendar.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::days(1);

/// The tokens of a signed-in session.
pub struct TokenSet {
    /// The bearer for Key Vault.
    pub(crate) access: SecretString,
    /// When the access token expires.
    pub(crate) expires_at: OffsetDateTime,
    /// The refresh token, if the flow gave one.
    pub(crate) refresh: Option<SecretString>,
    /// Loaded from the session store and not yet renewed in this process: a refusal means
    /// "sign in normally", not "session expired".
    pub(crate) resumed: bool,
}

impl TokenSet {
    /// From a token response received at `now` (no `expires_in`: one hour, Entra's default;
    /// more than [`MAX_TOKEN_LIFETIME`]: that much). An expiry the calendar cannot hold is an
    /// `InvalidResponse`, never a panic.
    pub(crate) fn from_response(
        r: &crate::oauth_context::EntraTokenResponse,
        now: OffsetDateTime,
    ) -> Result<Self, Error> {
        let ttl = match r.expires_in() {
            None => Duration::hours(1),
            Some(d) => Duration::try_from(d)
                .unwrap_or(MAX_TOKEN_LIFETIME)
                .min(MAX_TOKEN_LIFETIME),
        };
        let expires_at = now.checked_add(ttl).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidResponse,
                "the token endpoint's expires_in gives an expiry out of range",
            )
            .with_provider(ProviderId::from_static(PROVIDER_ID))
        })?;
        Ok(TokenSet {
            access: SecretString::from(r.access_token().secret().as_str()),
            expires_at,
            refresh: r
                .refresh_token()
                .map(|t| SecretString::from(t.secret().as_str())),
            resumed: false,
        })
    }

    /// This set after a refresh answered `next`: the new refresh token wins, the old one is
    /// kept only when no new one came.
    pub(crate) fn rotated(self, next: TokenSet) -> TokenSet {
        TokenSet {
            refresh: next.refresh.or(self.refresh),
            ..next
        }
    }

    /// Whether the access token is still good at `now`, with [`REFRESH_SKEW`] to spare.
    pub(crate) fn fresh_at(&self, now: OffsetDateTime) -> bool {
        self.expires_at
            .checked_sub(REFRESH_SKEW)
            .is_some_and(|due| due > now)
    }

    /// When the access token expires.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }

    /// Whether a refresh token is held.
    pub fn has_refresh_token(&self) -> bool {
        self.refresh.is_some()
    }
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("access", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("refresh", &self.refresh.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// Where the session stands.
#[derive(Debug, Default)]
pub(crate) enum Slot {
    /// Nobody signed in yet: the first fetch may sign in.
    #[default]
    SignedOut,
    /// The user signed out: nothing signs in again until [`vault_core::Provider::sign_in`].
    SignedOutByUser,
    /// Tokens at hand.
    Active(TokenSet),
    /// Renewal failed: only a new sign-in helps.
    Expired,
}

impl Slot {
    /// The state core sees. With a refresh token (or unattended credentials) the session has
    /// no known end: it is renewed silently.
    pub(crate) fn state(&self, renewable: bool) -> SessionState {
        match self {
            Slot::SignedOut | Slot::SignedOutByUser => SessionState::SignedOut,
            Slot::Expired => SessionState::Expired,
            Slot::Active(t) if t.refresh.is_some() || renewable => {
                SessionState::SignedIn { until: None }
            }
            Slot::Active(t) => SessionState::SignedIn {
                until: Some(t.expires_at),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn set(access: &str, refresh: Option<&str>) -> TokenSet {
        TokenSet {
            access: access.into(),
            expires_at: OffsetDateTime::UNIX_EPOCH + Duration::hours(1),
            refresh: refresh.map(SecretString::from),
            resumed: false,
        }
    }

    #[test]
    fn newest_refresh_token_wins() {
        let s = set("a1", Some("r1")).rotated(set("a2", Some("r2")));
        assert_eq!(s.access.expose_secret(), "a2");
        assert_eq!(s.refresh.as_ref().unwrap().expose_secret(), "r2");
        let s = s.rotated(set("a3", None));
        assert_eq!(s.access.expose_secret(), "a3");
        assert_eq!(s.refresh.as_ref().unwrap().expose_secret(), "r2");
    }

    #[test]
    fn formatting_never_shows_tokens() {
        let s = set("access-CANARY", Some("refresh-CANARY"));
        let text = format!("{s:?} {:?}", Slot::Active(set("access-CANARY", None)));
        assert!(!text.contains("CANARY"), "{text}");
    }

    fn response(expires_in: Option<u64>) -> crate::oauth_context::EntraTokenResponse {
        let mut r = oauth2::StandardTokenResponse::new(
            oauth2::AccessToken::new("a".into()),
            oauth2::basic::BasicTokenType::Bearer,
            Default::default(),
        );
        r.set_expires_in(expires_in.map(std::time::Duration::from_secs).as_ref());
        r
    }

    #[test]
    fn server_lifetimes_are_bounded_and_never_panic() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let at = |e| {
            TokenSet::from_response(&response(e), now)
                .unwrap()
                .expires_at
        };
        assert_eq!(at(Some(3599)), now + Duration::seconds(3599));
        assert_eq!(at(None), now + Duration::hours(1));
        assert_eq!(at(Some(1_000_000_000_000)), now + MAX_TOKEN_LIFETIME);
        assert_eq!(at(Some(u64::MAX)), now + MAX_TOKEN_LIFETIME);
        // A clock at the end of the calendar: an error, not an overflow panic.
        let end = time::PrimitiveDateTime::MAX.assume_utc();
        let e = TokenSet::from_response(&response(Some(60)), end).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
        // Nor does freshness at the start of it.
        let s = TokenSet {
            expires_at: time::PrimitiveDateTime::MIN.assume_utc(),
            ..set("a", None)
        };
        assert!(!s.fresh_at(OffsetDateTime::UNIX_EPOCH));
    }

    #[test]
    fn freshness_has_skew() {
        let s = set("a", None);
        let exp = s.expires_at;
        assert!(s.fresh_at(exp - Duration::minutes(6)));
        assert!(!s.fresh_at(exp - Duration::minutes(4)));
        assert_eq!(
            Slot::Active(set("a", None)).state(false),
            SessionState::SignedIn { until: Some(exp) }
        );
        assert_eq!(
            Slot::Active(set("a", Some("r"))).state(false),
            SessionState::SignedIn { until: None }
        );
    }
}
