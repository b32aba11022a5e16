//! The store's side of persisted values ([`PersistentValues`]): each value with its fetch
//! time, keyed by provider and canonical locator, inside the encrypted file. Failures are
//! misses (the value is fetched again), never errors of a resolve.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::link::Locator;
use crate::persist::{Forget, PersistentValues};

use super::format::StoredValue;
use super::FileStore;

fn value_key(key: &Locator) -> String {
    format!("{}\n{}", key.provider(), key.canonical())
}

fn nanos(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

impl PersistentValues for FileStore {
    fn load_value(&self, key: &Locator) -> Option<(SecretString, OffsetDateTime)> {
        let records = self.read().ok()?;
        let v = records.values.get(&value_key(key))?;
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(v.fetched_at)).ok()?;
        Some((SecretString::from(v.value.as_str()), at))
    }

    fn save_value(
        &self,
        key: &Locator,
        value: &SecretString,
        fetched_at: OffsetDateTime,
        ttl: Duration,
    ) {
        let at = nanos(fetched_at);
        let ttl = i64::try_from(ttl.as_nanos()).unwrap_or(i64::MAX);
        let _ = self.update(|r| {
            // Values past their TTL are of no use to anyone: drop them while writing anyway.
            r.values
                .retain(|_, v| at.saturating_sub(v.fetched_at) < ttl);
            r.values.insert(
                value_key(key),
                StoredValue {
                    value: value.expose_secret().to_owned(),
                    fetched_at: at,
                },
            );
            ((), true)
        });
    }

    fn forget_values(&self, which: Forget<'_>) {
        if !self.exists() {
            return;
        }
        let _ = self.update(|r| {
            let before = r.values.len();
            match which {
                Forget::All => r.values.clear(),
                Forget::Provider(p) => {
                    let prefix = format!("{p}\n");
                    r.values.retain(|k, _| !k.starts_with(&prefix));
                }
                Forget::One(l) => {
                    r.values.remove(&value_key(l));
                }
            }
            ((), r.values.len() != before)
        });
    }
}
