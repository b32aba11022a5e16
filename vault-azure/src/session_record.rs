//! The session as saved in a [`vault_core::SessionStore`]: the refresh token, and the access
//! token with its expiry, as one small JSON record under the key
//! `azure` + `<authority>|<tenant>|<client id>` (so two configurations never read each
//! other's session). A record that does not parse is dropped; one the server refuses is
//! removed by the provider and the normal sign-in runs.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use vault_core::{ProviderId, StoreKey};
use zeroize::Zeroizing;

use crate::authority::Authority;
use crate::token_cache::TokenSet;
use crate::PROVIDER_ID;

/// The record format's version.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Record {
    v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    expires_at: i64,
}

impl Drop for Record {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.refresh_token.zeroize();
        self.access_token.zeroize();
    }
}

/// The store key of this integration.
pub(crate) fn key(authority: &Authority, client_id: &str) -> StoreKey {
    StoreKey::new(
        ProviderId::from_static(PROVIDER_ID),
        format!("{}|{}|{client_id}", authority.base(), authority.tenant()),
    )
}

/// What to save of `set` at `now`: the refresh token, and the access token while it is valid.
/// `None` when nothing outlasts the process (an expired token without a refresh token).
pub(crate) fn encode(set: &TokenSet, now: OffsetDateTime) -> Option<SecretString> {
    let access_valid = set.expires_at > now;
    if set.refresh.is_none() && !access_valid {
        return None;
    }
    let r = Record {
        v: VERSION,
        refresh_token: set.refresh.as_ref().map(|t| t.expose_secret().to_owned()),
        access_token: access_valid.then(|| set.access.expose_secret().to_owned()),
        expires_at: set.expires_at.unix_timestamp(),
    };
    let text = Zeroizing::new(serde_json::to_string(&r).ok()?);
    Some(SecretString::from(text.as_str()))
}

/// The session in a saved record, marked as resumed; `None` for a record that is unusable
/// (unknown version, garbage, nothing left).
pub(crate) fn decode(record: &SecretString, now: OffsetDateTime) -> Option<TokenSet> {
    let r: Record = serde_json::from_str(record.expose_secret()).ok()?;
    if r.v != VERSION {
        return None;
    }
    let expires_at = OffsetDateTime::from_unix_timestamp(r.expires_at).ok()?;
    let access = r.access_token.as_deref().filter(|_| expires_at > now);
    if access.is_none() && r.refresh_token.is_none() {
        return None;
    }
    Some(TokenSet {
        // An expired access token is never sent: the empty one is renewed first.
        access: SecretString::from(access.unwrap_or_default()),
        expires_at: if access.is_some() {
            expires_at
        } else {
            OffsetDateTime::UNIX_EPOCH
        },
        refresh: r.refresh_token.as_deref().map(SecretString::from),
        resumed: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(refresh: Option<&str>, expires_in: i64) -> TokenSet {
        TokenSet {
            access: "access-CANARY".into(),
            expires_at: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1000 + expires_in),
            refresh: refresh.map(SecretString::from),
            resumed: false,
        }
    }

    #[test]
    fn round_trip_and_expiry() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1000);
        let r = encode(&set(Some("rt"), 600), now).unwrap();
        let back = decode(&r, now).unwrap();
        assert!(back.resumed);
        assert_eq!(back.access.expose_secret(), "access-CANARY");
        assert_eq!(back.refresh.unwrap().expose_secret(), "rt");
        // Later: the access token is past, the refresh token still resumes.
        let later = now + time::Duration::hours(2);
        let back = decode(&r, later).unwrap();
        assert_eq!(back.access.expose_secret(), "");
        assert!(!back.fresh_at(later));
        // No refresh token, access expired: nothing worth saving or loading.
        assert!(encode(&set(None, -1), now).is_none());
        let r = encode(&set(None, 600), now).unwrap();
        assert!(decode(&r, later).is_none());
        for bad in ["", "{}", "{\"v\":2,\"refresh_token\":\"x\"}", "nonsense"] {
            assert!(decode(&SecretString::from(bad), now).is_none(), "{bad}");
        }
    }

    #[test]
    fn keys_differ_per_integration() {
        let a = Authority::new("https://login.microsoftonline.com", "t1").unwrap();
        let b = Authority::new("https://login.microsoftonline.com", "t2").unwrap();
        assert_ne!(key(&a, "c"), key(&b, "c"));
        assert_ne!(key(&a, "c"), key(&a, "d"));
        assert_eq!(key(&a, "c").provider().as_str(), "azure");
    }
}
