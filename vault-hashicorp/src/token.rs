//! The Vault token of a session: its secret, when it ends, and whether it can be renewed.
//!
//! The token is renewed with `auth/token/renew-self` once less than a third of its lease is
//! left, so a long-running program keeps its session without a new browser sign-in; when the
//! server stops extending it (max TTL) or it has already expired, the caller gets a typed
//! "sign in again" error instead.

use std::fmt;

use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};
use vault_core::{Error, ErrorKind};

use crate::http::VaultApi;
use crate::PROVIDER_ID;

/// A Vault token with its lease.
#[derive(Clone)]
pub struct VaultToken {
    secret: SecretString,
    /// When it stops working (`None`: no expiry, such as a root token).
    pub expires_at: Option<OffsetDateTime>,
    /// The lease length granted at the last login or renewal.
    pub lease: Duration,
    /// Whether `renew-self` may extend it.
    pub renewable: bool,
}

impl fmt::Debug for VaultToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultToken")
            .field("secret", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("lease", &self.lease)
            .field("renewable", &self.renewable)
            .finish()
    }
}

impl VaultToken {
    /// A token with a known lease, from `now`. A lease too long to be represented as a date
    /// ends at the latest representable date (this never panics).
    pub fn new(
        secret: SecretString,
        lease: Duration,
        renewable: bool,
        now: OffsetDateTime,
    ) -> Self {
        VaultToken {
            secret,
            expires_at: (lease > Duration::ZERO).then(|| now.saturating_add(lease)),
            lease,
            renewable,
        }
    }

    /// A token restored from a saved session: its end as saved.
    pub(crate) fn restored(
        secret: SecretString,
        expires_at: Option<OffsetDateTime>,
        lease: Duration,
        renewable: bool,
    ) -> Self {
        VaultToken {
            secret,
            expires_at,
            lease,
            renewable,
        }
    }

    /// A token whose lease is not known (given by the host, for example `VAULT_TOKEN`).
    pub fn unmanaged(secret: SecretString) -> Self {
        VaultToken {
            secret,
            expires_at: None,
            lease: Duration::ZERO,
            renewable: false,
        }
    }

    /// The secret, to send as `X-Vault-Token`.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// Reads the `auth` block of a login or renewal answer. The lease comes from the server:
    /// one that is negative, not an integer, or ends past the last representable date is
    /// [`ErrorKind::InvalidResponse`] (never a panic, never a token silently without expiry).
    pub(crate) fn from_auth(body: &Value, now: OffsetDateTime, what: &str) -> Result<Self, Error> {
        let auth = body.get("auth").filter(|a| a.is_object()).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidResponse,
                format!("{what}: the answer has no `auth` block"),
            )
            .with_provider(PROVIDER_ID)
        })?;
        let token = auth
            .get("client_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidResponse,
                    format!("{what}: the answer has no client token"),
                )
                .with_provider(PROVIDER_ID)
            })?;
        let bad_lease = || {
            Error::new(
                ErrorKind::InvalidResponse,
                format!("{what}: the answer's `lease_duration` is not a usable number of seconds"),
            )
            .with_provider(PROVIDER_ID)
        };
        let lease = match auth.get("lease_duration") {
            None | Some(Value::Null) => 0,
            Some(v) => v.as_i64().filter(|l| *l >= 0).ok_or_else(bad_lease)?,
        };
        let lease = Duration::seconds(lease);
        let expires_at = if lease > Duration::ZERO {
            Some(now.checked_add(lease).ok_or_else(bad_lease)?)
        } else {
            None
        };
        let renewable = auth
            .get("renewable")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(VaultToken {
            secret: SecretString::from(token),
            expires_at,
            lease,
            renewable,
        })
    }

    /// Whether the token is past its end at `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// Whether it is time to renew: renewable, not expired, and less than a third of the
    /// lease left (at least 10 s before the end for very short leases).
    pub fn wants_renewal(&self, now: OffsetDateTime) -> bool {
        let Some(end) = self.expires_at else {
            return false;
        };
        self.renewable
            && !self.is_expired(now)
            && end - now < std::cmp::max(self.lease / 3_i32, Duration::seconds(10))
    }

    /// `POST auth/token/renew-self`, asking for the original lease again. A refusal (403, the
    /// token is gone) is [`ErrorKind::SessionExpired`].
    pub(crate) async fn renew(
        &self,
        api: &VaultApi,
        now: OffsetDateTime,
    ) -> Result<VaultToken, Error> {
        let what = "renew the Vault token";
        let url = api.url("auth/token/renew-self")?;
        let body = json!({ "increment": format!("{}s", self.lease.whole_seconds()) });
        let reply = api
            .call(Method::POST, url, Some(&self.secret), Some(&body), what)
            .await?;
        if matches!(reply.status.as_u16(), 400 | 401 | 403) {
            return Err(expired("the Vault server refused to renew the token"));
        }
        let body = reply.ok(what)?;
        let mut renewed = VaultToken::from_auth(&body, now, what)?;
        // renew-self may answer with another token string only in theory; keep ours otherwise
        if renewed.lease <= Duration::ZERO {
            renewed.expires_at = self.expires_at;
        }
        Ok(renewed)
    }
}

/// `GET auth/token/lookup-self`: the lease of a token this crate did not obtain (the Vault
/// CLI's), so that it is renewed while renewable and its end is known. A refusal (401/403) is
/// [`ErrorKind::AuthFailed`] naming where the token came from (`place`).
pub(crate) async fn lookup(
    api: &VaultApi,
    secret: SecretString,
    place: &str,
    now: OffsetDateTime,
) -> Result<VaultToken, Error> {
    let what = format!("look up the Vault token from {place}");
    let url = api.url("auth/token/lookup-self")?;
    let reply = api
        .call(Method::GET, url, Some(&secret), None, &what)
        .await?;
    if matches!(reply.status.as_u16(), 400 | 401 | 403) {
        return Err(Error::new(
            ErrorKind::AuthFailed,
            format!(
                "the Vault token from {place} is not accepted by {} (HTTP {}): run `vault login` again",
                api.address(),
                reply.status.as_u16()
            ),
        )
        .with_provider(PROVIDER_ID));
    }
    let body = reply.ok(&what)?;
    let data = body.get("data").filter(|d| d.is_object()).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidResponse,
            format!("{what}: the answer has no `data` block"),
        )
        .with_provider(PROVIDER_ID)
    })?;
    let secs = |key: &str| data.get(key).and_then(Value::as_i64).filter(|s| *s >= 0);
    let ttl = secs("ttl").unwrap_or(0);
    let lease = secs("creation_ttl").filter(|c| *c > 0).unwrap_or(ttl);
    let renewable = data
        .get("renewable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let expires_at = if ttl > 0 {
        Some(now.checked_add(Duration::seconds(ttl)).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidResponse,
                format!("{what}: the answer's `ttl` is out of range"),
            )
            .with_provider(PROVIDER_ID)
        })?)
    } else {
        None
    };
    crate::http::scrub(body);
    Ok(VaultToken {
        secret,
        expires_at,
        lease: Duration::seconds(lease),
        renewable,
    })
}

/// The "sign in again" error.
pub(crate) fn expired(why: &str) -> Error {
    Error::new(ErrorKind::SessionExpired, format!("{why}: sign in again"))
        .with_provider(PROVIDER_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_window_is_the_last_third() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let t = VaultToken::new(SecretString::from("x"), Duration::hours(1), true, t0);
        assert!(!t.wants_renewal(t0 + Duration::minutes(39)));
        assert!(t.wants_renewal(t0 + Duration::minutes(41)));
        assert!(
            !t.wants_renewal(t0 + Duration::hours(1)),
            "expired: too late to renew"
        );
        assert!(t.is_expired(t0 + Duration::hours(1)));
        let fixed = VaultToken::new(SecretString::from("x"), Duration::hours(1), false, t0);
        assert!(!fixed.wants_renewal(t0 + Duration::minutes(59)));
        let root = VaultToken::new(SecretString::from("x"), Duration::ZERO, false, t0);
        assert!(!root.is_expired(t0 + Duration::days(999)));
    }

    #[test]
    fn reads_auth_block() {
        let body = serde_json::json!({"auth": {"client_token": "s.x", "lease_duration": 3600, "renewable": true}});
        let t = VaultToken::from_auth(&body, OffsetDateTime::UNIX_EPOCH, "login").unwrap();
        assert_eq!(t.lease, Duration::hours(1));
        assert!(t.renewable);
        assert!(VaultToken::from_auth(
            &serde_json::json!({"data": {}}),
            OffsetDateTime::UNIX_EPOCH,
            "login"
        )
        .is_err());
        assert!(!format!("{t:?}").contains("s.x"));
    }

    #[test]
    fn overflowing_or_bogus_lease_is_an_invalid_response_not_a_panic() {
        let now = OffsetDateTime::now_utc();
        for lease in [
            json!(i64::MAX),
            json!(u64::MAX),
            json!(-1),
            json!(1.5),
            json!("3600"),
        ] {
            let body = json!({"auth": {"client_token": "s.x", "lease_duration": lease, "renewable": true}});
            let e = VaultToken::from_auth(&body, now, "login").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{lease}: {e}");
            assert!(!e.message().contains("s.x"));
        }
        // a lease that fits, but not from a clock near the end of time
        let late = time::PrimitiveDateTime::MAX.assume_utc() - Duration::days(1);
        let body = json!({"auth": {"client_token": "s.x", "lease_duration": 7 * 86_400}});
        let e = VaultToken::from_auth(&body, late, "renew").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
        // the public constructor saturates instead of panicking
        let t = VaultToken::new(SecretString::from("x"), Duration::MAX, true, now);
        assert!(t.expires_at.is_some_and(|end| end > now));
    }
}
