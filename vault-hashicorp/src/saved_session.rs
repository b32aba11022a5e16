//! The Vault token this crate obtained, kept in the host's [`SessionStore`] so that the next
//! process resumes the session without a sign-in (issue: sessions that survive a restart).
//!
//! Only tokens this crate obtained are saved (a token the user brought already lives in the
//! Vault CLI's places). The key is `hashicorp` + address + namespace + auth method, mount and
//! role ([`crate::settings::AuthSettings::identity`]), so two configurations never read each
//! other's token. The record is JSON: the token, its end (unix seconds), its lease and
//! whether it is renewable. A record that cannot be read, or that has expired, is removed.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use vault_core::{SessionStore, StoreKey};
use zeroize::Zeroizing;

use crate::settings::HashicorpSettings;
use crate::token::VaultToken;
use crate::PROVIDER_ID;

#[derive(Serialize, Deserialize)]
struct Record {
    v: u8,
    token: String,
    expires_at: Option<i64>,
    lease: i64,
    renewable: bool,
}

impl Drop for Record {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.token);
    }
}

/// The store and this integration's key in it.
#[derive(Clone)]
pub(crate) struct SavedSession {
    store: Arc<dyn SessionStore>,
    key: StoreKey,
}

impl std::fmt::Debug for SavedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SavedSession")
            .field("key", &self.key)
            .finish()
    }
}

/// The store key of an integration (no secret in it).
pub(crate) fn key(settings: &HashicorpSettings) -> StoreKey {
    StoreKey::new(
        PROVIDER_ID,
        format!(
            "{}|{}|{}",
            settings.address,
            settings.namespace.as_str(),
            settings.auth.identity()
        ),
    )
}

impl SavedSession {
    pub fn new(store: Arc<dyn SessionStore>, settings: &HashicorpSettings) -> Self {
        SavedSession {
            store,
            key: key(settings),
        }
    }

    /// The saved token, if there is a usable one at `now`; an unreadable or expired record
    /// is removed. Store failures mean "nothing saved" (never fatal).
    pub fn load(&self, now: OffsetDateTime) -> Option<VaultToken> {
        let record = self.store.load(&self.key).ok()??;
        let parsed: Option<Record> = serde_json::from_str(record.expose_secret()).ok();
        let token = parsed.and_then(|r| {
            if r.v != 1 || r.token.is_empty() {
                return None;
            }
            let expires_at = match r.expires_at {
                Some(t) => Some(OffsetDateTime::from_unix_timestamp(t).ok()?),
                None => None,
            };
            Some(VaultToken::restored(
                SecretString::from(r.token.clone()),
                expires_at,
                Duration::seconds(r.lease.max(0)),
                r.renewable,
            ))
        });
        match token {
            Some(t) if !t.is_expired(now) => Some(t),
            _ => {
                self.remove();
                None
            }
        }
    }

    /// Saves `token` (replacing the earlier one).
    pub fn save(&self, token: &VaultToken) {
        let record = Record {
            v: 1,
            token: token.secret().expose_secret().to_owned(),
            expires_at: token.expires_at.map(OffsetDateTime::unix_timestamp),
            lease: token.lease.whole_seconds(),
            renewable: token.renewable,
        };
        if let Ok(text) = serde_json::to_string(&record).map(Zeroizing::new) {
            let _ = self
                .store
                .save(&self.key, &SecretString::from(text.as_str().to_owned()));
        }
    }

    /// Removes the saved token.
    pub fn remove(&self) {
        let _ = self.store.remove(&self.key);
    }
}
