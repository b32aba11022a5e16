//! Where providers keep what lets a sign-in outlast the process: a small key-value store of
//! opaque, secret records.
//!
//! A provider saves only what resumes its session without the user (a refresh token, a Vault
//! token with its TTL, temporary AWS credentials with their expiry) under a [`StoreKey`]: its
//! id plus the identity of the integration (tenant + client, Vault address + namespace + role,
//! AWS profile or key id + MFA serial), so two configurations never read each other's session.
//! The record's format is the provider's own (JSON, as a rule), and the store never looks
//! inside it. A record the provider cannot use, or that the server refuses, is removed and the
//! normal sign-in runs.
//!
//! [`MemorySessionStore`] keeps records for the life of the process (tests, hosts that keep
//! their own persistence); durable, encrypted stores implement the same trait.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use secrecy::{ExposeSecret, SecretString};

use crate::link::ProviderId;

/// The key of one saved session: the provider and the identity of its integration.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey {
    provider: ProviderId,
    identity: String,
}

impl StoreKey {
    /// The key for `provider`'s session with the integration described by `identity` (what
    /// tells one configuration from another, never a secret: `tenant|client`, an address and
    /// role, a profile name or an access key id).
    pub fn new(provider: ProviderId, identity: impl Into<String>) -> Self {
        StoreKey {
            provider,
            identity: identity.into(),
        }
    }

    /// The provider.
    pub fn provider(&self) -> &ProviderId {
        &self.provider
    }

    /// The integration's identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreKey({}, {:?})", self.provider, self.identity)
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.provider, self.identity)
    }
}

/// Why a store could not do what was asked. Never carries a record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading or writing the store's files failed.
    #[error("session store: {what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The store cannot be used (no key, locked, misconfigured).
    #[error("session store: {0}")]
    Unavailable(String),
}

/// Load, save and remove opaque session records.
///
/// Calls are short and synchronous (a durable store reads or writes one small file); a
/// provider calls them outside its own locks. Failing to save is never fatal for the caller:
/// the session simply does not outlast the process.
pub trait SessionStore: Send + Sync + 'static {
    /// The record saved under `key`, if any.
    fn load(&self, key: &StoreKey) -> Result<Option<SecretString>, StoreError>;

    /// Saves `record` under `key`, replacing any earlier one.
    fn save(&self, key: &StoreKey, record: &SecretString) -> Result<(), StoreError>;

    /// Removes the record under `key` (no error when there is none).
    fn remove(&self, key: &StoreKey) -> Result<(), StoreError>;
}

/// Records kept in memory for the life of the process; wiped when removed or dropped.
#[derive(Default)]
pub struct MemorySessionStore {
    records: Mutex<HashMap<StoreKey, SecretString>>,
}

impl MemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<StoreKey, SecretString>> {
        // A panic elsewhere while holding the lock leaves a map that is still consistent.
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl fmt::Debug for MemorySessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySessionStore")
            .field("records", &self.len())
            .finish()
    }
}

impl SessionStore for MemorySessionStore {
    fn load(&self, key: &StoreKey) -> Result<Option<SecretString>, StoreError> {
        Ok(self
            .lock()
            .get(key)
            .map(|r| SecretString::from(r.expose_secret())))
    }

    fn save(&self, key: &StoreKey, record: &SecretString) -> Result<(), StoreError> {
        self.lock()
            .insert(key.clone(), SecretString::from(record.expose_secret()));
        Ok(())
    }

    fn remove(&self, key: &StoreKey) -> Result<(), StoreError> {
        self.lock().remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> StoreKey {
        StoreKey::new(ProviderId::from_static("aws"), id)
    }

    #[test]
    fn save_load_remove() {
        let s = MemorySessionStore::new();
        assert!(s.load(&key("a")).unwrap().is_none());
        s.save(&key("a"), &SecretString::from("r1")).unwrap();
        s.save(&key("b"), &SecretString::from("r2")).unwrap();
        assert_eq!(s.load(&key("a")).unwrap().unwrap().expose_secret(), "r1");
        s.save(&key("a"), &SecretString::from("r3")).unwrap();
        assert_eq!(s.load(&key("a")).unwrap().unwrap().expose_secret(), "r3");
        s.remove(&key("a")).unwrap();
        s.remove(&key("a")).unwrap();
        assert!(s.load(&key("a")).unwrap().is_none());
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn keys_of_different_providers_differ() {
        let s = MemorySessionStore::new();
        s.save(&key("x"), &SecretString::from("r")).unwrap();
        let other = StoreKey::new(ProviderId::from_static("azure"), "x");
        assert!(s.load(&other).unwrap().is_none());
    }

    #[test]
    fn debug_never_shows_a_record() {
        let s = MemorySessionStore::new();
        s.save(&key("a"), &SecretString::from("canary-token"))
            .unwrap();
        assert!(!format!("{s:?}").contains("canary"));
    }
}
