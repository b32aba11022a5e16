//! Which KV version each mount is, so that a read is one request instead of two (the mount
//! lookup, then the read).
//!
//! In order, the version comes from:
//! 1. the link's `kv_version`, then the integration's `kv_versions` table (stated by the
//!    admin: trusted, never looked up);
//! 2. what this process found earlier, then what an earlier process found and left in the
//!    session store (a [`SessionStore`] record per Vault address and namespace);
//! 3. a lookup (`sys/internal/ui/mounts/<mount>`), whose answer goes to 2.
//!
//! A remembered answer can be stale (a mount was moved or re-created as the other version):
//! a read that then answers 404 ("not a KV v2 path" and a missing path look alike) or is a
//! pinned version on what was remembered as KV v1 asks again, and reads again only when the
//! fresh answer differs. A configured version is never second-guessed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use secrecy::{ExposeSecret, SecretString};
use vault_core::{Error, ErrorKind, SessionStore, StoreKey};

use crate::address::VaultAddress;
use crate::http::VaultApi;
use crate::kv::{self, KvSecret, KvVersion};
use crate::kv_link::KvLink;
use crate::namespace::Namespace;
use crate::PROVIDER_ID;

/// The mount versions one provider (one address and namespace) knows.
pub(crate) struct MountMemory {
    known: Mutex<BTreeMap<String, KvVersion>>,
    configured: BTreeMap<String, KvVersion>,
    store: Option<Arc<dyn SessionStore>>,
    key: StoreKey,
    /// Whether the store's record was read into `known` (once per process).
    loaded: OnceLock<()>,
}

impl std::fmt::Debug for MountMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MountMemory")
            .field("known", &*self.lock())
            .field("configured", &self.configured)
            .field("store", &self.store.is_some())
            .finish()
    }
}

/// Where a version came from: only a remembered one is checked again after a failed read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    Configured,
    Remembered,
    LookedUp,
}

impl MountMemory {
    /// For the provider at `address` in `namespace`; `configured` is the integration's
    /// `kv_versions`; `store` keeps what lookups found for later processes.
    pub fn new(
        address: &VaultAddress,
        namespace: &Namespace,
        configured: BTreeMap<String, KvVersion>,
        store: Option<Arc<dyn SessionStore>>,
    ) -> Self {
        MountMemory {
            known: Mutex::new(BTreeMap::new()),
            configured,
            store,
            // its own record, apart from the session's token record of the same integration
            key: StoreKey::new(
                PROVIDER_ID,
                format!("kv-mounts|{}|{}", address.as_str(), namespace.as_str()),
            ),
            loaded: OnceLock::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, KvVersion>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the store's record once (outside the lock); a record this code cannot read is
    /// removed, as the store's contract asks.
    fn load(&self) {
        if self.loaded.get().is_some() {
            return;
        }
        let _ = self.loaded.set(());
        let Some(store) = &self.store else { return };
        let Ok(Some(record)) = store.load(&self.key) else {
            return;
        };
        match parse_record(record.expose_secret()) {
            Some(found) => {
                let mut known = self.lock();
                for (m, v) in found {
                    known.entry(m).or_insert(v);
                }
            }
            None => {
                let _ = store.remove(&self.key);
            }
        }
    }

    /// The remembered version of `mount`.
    fn remembered(&self, mount: &str) -> Option<KvVersion> {
        self.load();
        self.lock().get(mount).copied()
    }

    /// Remembers `version` for `mount`, here and in the store (failing to save is not an
    /// error: the next process looks up again).
    fn remember(&self, mount: &str, version: KvVersion) {
        let snapshot = {
            let mut known = self.lock();
            if known.insert(mount.to_owned(), version) == Some(version) {
                return;
            }
            known.clone()
        };
        if let Some(store) = &self.store {
            let _ = store.save(&self.key, &SecretString::from(record(&snapshot)));
        }
    }

    /// Forgets what this process remembered (sign-out: another identity may be told other
    /// mounts). The store's record stays: a stale entry costs one lookup, not a wrong read.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The version of `link`'s mount, and where it came from.
    pub async fn version(
        &self,
        api: &VaultApi,
        token: &SecretString,
        link: &KvLink,
    ) -> Result<(KvVersion, Origin), Error> {
        if let Some(v) = link
            .kv_version
            .or_else(|| self.configured.get(&link.engine).copied())
        {
            return Ok((v, Origin::Configured));
        }
        if let Some(v) = self.remembered(&link.engine) {
            return Ok((v, Origin::Remembered));
        }
        self.look_up(api, token, &link.engine)
            .await
            .map(|v| (v, Origin::LookedUp))
    }

    async fn look_up(
        &self,
        api: &VaultApi,
        token: &SecretString,
        mount: &str,
    ) -> Result<KvVersion, Error> {
        let v = kv::lookup_version(api, token, mount).await?;
        self.remember(mount, v);
        Ok(v)
    }

    /// Reads `link`'s secret: one request when the mount's version is configured or
    /// remembered; a remembered version the read contradicts is looked up again.
    pub async fn read(
        &self,
        api: &VaultApi,
        token: &SecretString,
        link: &KvLink,
    ) -> Result<KvSecret, Error> {
        let (version, origin) = self.version(api, token, link).await?;
        match kv::read(api, token, version, link).await {
            Err(e) if origin == Origin::Remembered && contradicts(&e, version, link) => {
                let fresh = self.look_up(api, token, &link.engine).await?;
                if fresh == version {
                    Err(e)
                } else {
                    kv::read(api, token, fresh, link).await
                }
            }
            other => other,
        }
    }
}

/// Whether a failed read may come from reading the mount as the wrong version.
fn contradicts(e: &Error, version: KvVersion, link: &KvLink) -> bool {
    e.kind() == ErrorKind::NotFound
        || (e.kind() == ErrorKind::InvalidLink
            && version == KvVersion::V1
            && link.version.is_some())
}

/// The store record: JSON `{"mount": 1|2, …}` (mount names, no secret).
fn record(known: &BTreeMap<String, KvVersion>) -> String {
    let map: serde_json::Map<String, serde_json::Value> = known
        .iter()
        .map(|(m, v)| (m.clone(), serde_json::Value::from(v.number())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

fn parse_record(text: &str) -> Option<BTreeMap<String, KvVersion>> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value
        .as_object()?
        .iter()
        .map(|(m, v)| {
            let v = KvVersion::parse(&v.as_u64()?.to_string())?;
            Some((m.clone(), v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vault_core::MemorySessionStore;

    fn memory(store: Option<Arc<dyn SessionStore>>) -> MountMemory {
        MountMemory::new(
            &VaultAddress::parse("http://127.0.0.1:8200").unwrap(),
            &Namespace::root(),
            BTreeMap::new(),
            store,
        )
    }

    #[test]
    fn records_round_trip_and_bad_ones_are_removed() {
        let mut m = BTreeMap::new();
        m.insert("secret".to_owned(), KvVersion::V2);
        m.insert("team/kv".to_owned(), KvVersion::V1);
        assert_eq!(parse_record(&record(&m)), Some(m));
        assert_eq!(parse_record("{\"a\":3}"), None);
        assert_eq!(parse_record("not json"), None);

        let store = Arc::new(MemorySessionStore::new());
        let key = memory(None).key.clone();
        store.save(&key, &SecretString::from("garbage")).unwrap();
        let mem = memory(Some(store.clone()));
        assert_eq!(mem.remembered("secret"), None);
        assert!(store.is_empty(), "an unreadable record is removed");
    }

    #[test]
    fn a_later_process_sees_what_an_earlier_one_found() {
        let store: Arc<MemorySessionStore> = Arc::new(MemorySessionStore::new());
        let first = memory(Some(store.clone()));
        first.remember("secret", KvVersion::V2);
        first.remember("kv1", KvVersion::V1);
        let second = memory(Some(store.clone()));
        assert_eq!(second.remembered("secret"), Some(KvVersion::V2));
        assert_eq!(second.remembered("kv1"), Some(KvVersion::V1));
        second.clear();
        assert_eq!(second.remembered("secret"), None, "cleared in memory");
        let other_ns = MountMemory::new(
            &VaultAddress::parse("http://127.0.0.1:8200").unwrap(),
            &Namespace::parse("team1").unwrap(),
            BTreeMap::new(),
            Some(store),
        );
        assert_eq!(
            other_ns.remembered("secret"),
            None,
            "one record per namespace"
        );
    }
}
