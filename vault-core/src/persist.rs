//! Persisted values: the narrow hook through which the [`Cache`](crate::Cache) keeps fetched
//! values beyond the process (`[cache] persist = true`), so the TTL holds across processes.
//!
//! On a miss, before asking the provider, the cache asks the hook for a value fetched within
//! the TTL (by this process or another) and serves it with its original fetch time; a value it
//! fetched is handed to the hook with its fetch time. Every reset of the cache (all, one
//! provider on sign-out or disconnect, one value) is passed on. The hook does its own error
//! handling: a store that fails is a miss, never an error of the resolve.
//!
//! [`FileStore`](crate::store::FileStore) implements it in the encrypted store file.
//!
//! Values are keyed by locator (provider + canonical locator), as in memory: two configs of
//! the same user that link the same secret with different credentials share its kept value
//! within the TTL. Turn `persist` on only where that is acceptable (it is for one person's
//! command line; `cache reset` and `logout` forget the values).

use std::time::Duration;

use secrecy::SecretString;
use time::OffsetDateTime;

use crate::link::{Locator, ProviderId};

/// Which persisted values to forget.
#[derive(Clone, Copy, Debug)]
pub enum Forget<'a> {
    /// Every value.
    All,
    /// Every value of one provider (sign-out, disconnect, reconfiguration).
    Provider(&'a ProviderId),
    /// One value.
    One(&'a Locator),
}

/// Where the cache keeps values beyond the process.
pub trait PersistentValues: Send + Sync + 'static {
    /// The value of `key` and when it was fetched, if kept (the cache judges freshness).
    fn load_value(&self, key: &Locator) -> Option<(SecretString, OffsetDateTime)>;

    /// Keeps `value`, fetched at `fetched_at`; values older than `ttl` may be dropped now.
    fn save_value(
        &self,
        key: &Locator,
        value: &SecretString,
        fetched_at: OffsetDateTime,
        ttl: Duration,
    );

    /// Forgets values.
    fn forget_values(&self, which: Forget<'_>);
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use secrecy::ExposeSecret;

    use super::*;
    use crate::cache::{Cache, CacheConfig, FetchFuture};
    use crate::clock::{Clock, ManualClock};

    /// Another "process": a map shared by several caches.
    #[derive(Default)]
    struct Shared(Mutex<HashMap<String, (String, OffsetDateTime)>>);

    impl PersistentValues for Shared {
        fn load_value(&self, key: &Locator) -> Option<(SecretString, OffsetDateTime)> {
            let m = self.0.lock().unwrap();
            m.get(&key.to_string())
                .map(|(v, t)| (SecretString::from(v.as_str()), *t))
        }
        fn save_value(&self, key: &Locator, value: &SecretString, at: OffsetDateTime, _: Duration) {
            use secrecy::ExposeSecret;
            self.0
                .lock()
                .unwrap()
                .insert(key.to_string(), (value.expose_secret().to_owned(), at));
        }
        fn forget_values(&self, which: Forget<'_>) {
            let mut m = self.0.lock().unwrap();
            match which {
                Forget::All => m.clear(),
                Forget::Provider(p) => m.retain(|k, _| !k.starts_with(&format!("{p}:"))),
                Forget::One(l) => {
                    m.remove(&l.to_string());
                }
            }
        }
    }

    fn counting(n: &Arc<AtomicUsize>) -> impl FnOnce() -> FetchFuture {
        let n = n.clone();
        move || {
            Box::pin(async move {
                let i = n.fetch_add(1, Ordering::SeqCst);
                Ok(SecretString::from(format!("v{i}")))
            })
        }
    }

    #[tokio::test]
    async fn the_ttl_holds_across_caches_and_resets_reach_the_store() {
        let shared = Arc::new(Shared::default());
        let clock = Arc::new(ManualClock::default());
        let new_cache = || {
            Cache::with_persistence(
                CacheConfig::with_ttl_minutes(60),
                clock.clone(),
                Some(shared.clone() as Arc<dyn PersistentValues>),
            )
        };
        let n = Arc::new(AtomicUsize::new(0));
        let k = Locator::new(ProviderId::from_static("aws"), "arn");
        for _ in 0..10 {
            let v = new_cache().get_or_fetch(&k, counting(&n)).await.unwrap();
            assert_eq!(v.expose_secret(), "v0");
        }
        assert_eq!(
            n.load(Ordering::SeqCst),
            1,
            "one upstream call for ten processes"
        );

        // 59 minutes later a new process still serves it, and its memory copy expires with
        // the original fetch time, not with its own load time.
        clock.advance(time::Duration::minutes(59));
        let c = new_cache();
        c.get_or_fetch(&k, counting(&n)).await.unwrap();
        assert_eq!(n.load(Ordering::SeqCst), 1);
        clock.advance(time::Duration::minutes(1));
        assert!(c.get(&k).is_none());
        let v = c.get_or_fetch(&k, counting(&n)).await.unwrap();
        assert_eq!((v.expose_secret(), n.load(Ordering::SeqCst)), ("v1", 2));

        new_cache().reset(&k);
        new_cache().get_or_fetch(&k, counting(&n)).await.unwrap();
        assert_eq!(
            n.load(Ordering::SeqCst),
            3,
            "a reset in one process reaches the others"
        );
        new_cache().reset_provider(&ProviderId::from_static("aws"));
        assert!(shared.0.lock().unwrap().is_empty());
        new_cache().get_or_fetch(&k, counting(&n)).await.unwrap();
        new_cache().reset_all();
        assert!(shared.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn zero_ttl_and_future_times_are_not_served() {
        let shared = Arc::new(Shared::default());
        let clock = Arc::new(ManualClock::default());
        let k = Locator::new(ProviderId::from_static("aws"), "arn");
        let future = clock.now() + time::Duration::hours(1);
        shared.save_value(&k, &SecretString::from("forged"), future, Duration::ZERO);
        let c = Cache::with_persistence(
            CacheConfig::with_ttl_minutes(60),
            clock.clone(),
            Some(shared.clone() as Arc<dyn PersistentValues>),
        );
        let n = Arc::new(AtomicUsize::new(0));
        assert_eq!(
            c.get_or_fetch(&k, counting(&n))
                .await
                .unwrap()
                .expose_secret(),
            "v0"
        );
        let off = Cache::with_persistence(
            CacheConfig::with_ttl_minutes(0),
            clock,
            Some(shared.clone() as Arc<dyn PersistentValues>),
        );
        off.get_or_fetch(&k, counting(&n)).await.unwrap();
        off.get_or_fetch(&k, counting(&n)).await.unwrap();
        assert_eq!(
            n.load(Ordering::SeqCst),
            3,
            "TTL 0: nothing cached or served"
        );
    }
}
