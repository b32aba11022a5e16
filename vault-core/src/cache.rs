//! The value cache: TTL, bounded LRU, single-flight.
//!
//! Keyed by [`Locator`] (provider + canonical locator), so relinking a secret never serves the
//! old link's value. A miss starts exactly one fetch per locator, however many callers ask at
//! once; the fetch runs as its own task, so it completes (and is cached) even when the caller
//! that started it is cancelled. Values are `SecretString`s, zeroized when the last holder
//! drops them: on eviction, expiry, reset and when the cache is dropped.

use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use lru::LruCache;
use secrecy::SecretString;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::error::{Error, ErrorKind};
use crate::link::{BuildLocatorHasher, Locator, ProviderId};
use crate::persist::{Forget, PersistentValues};

/// Default time to live: 60 minutes.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60 * 60);
/// Default bound on the number of cached values.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// A value shared between the cache and its readers.
pub type SharedSecret = Arc<SecretString>;

/// A boxed fetch, as handed to [`Cache::get_or_fetch`].
pub type FetchFuture = Pin<Box<dyn Future<Output = Result<SecretString, Error>> + Send>>;

/// When a miss was seen, as far as resets go: a fetch started for that miss stores its value
/// only if no reset of its provider (or of everything) happened since. Take it *before*
/// choosing the provider that will fetch, so a fetch by a provider that was replaced or signed
/// out meanwhile is never cached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generation(u64, u64);

/// Cache settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// How long a fetched value is served before it is fetched again. Zero: no caching.
    pub ttl: Duration,
    /// At most this many values are kept; the least recently used goes first.
    pub capacity: NonZeroUsize,
}

impl CacheConfig {
    /// A TTL given in minutes, as the config file's `ttl_minutes`.
    pub fn with_ttl_minutes(minutes: u64) -> Self {
        CacheConfig {
            ttl: Duration::from_secs(minutes.saturating_mul(60)),
            ..Self::default()
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            ttl: DEFAULT_TTL,
            capacity: NonZeroUsize::new(DEFAULT_CAPACITY).expect("non-zero"),
        }
    }
}

struct Entry {
    value: SharedSecret,
    /// Unix time in nanoseconds: plain integer comparisons on the hot path.
    fetched_at: i128,
}

fn nanos(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos()
}

type FlightResult = Option<Result<SharedSecret, Error>>;

struct State {
    ttl: Duration,
    ttl_nanos: i128,
    entries: LruCache<Locator, Entry, BuildLocatorHasher>,
    inflight: HashMap<Locator, watch::Receiver<FlightResult>>,
    /// Bumped by every reset that touches a provider: a fetch that started before it must not
    /// store its (possibly stale) result.
    generations: HashMap<ProviderId, u64>,
    global_generation: u64,
}

impl State {
    fn generation(&self, provider: &ProviderId) -> Generation {
        Generation(
            self.global_generation,
            self.generations.get(provider).copied().unwrap_or(0),
        )
    }

    fn fresh(&mut self, key: &Locator, now: i128) -> Option<SharedSecret> {
        let ttl = self.ttl_nanos;
        match self.entries.get(key) {
            Some(e) if now - e.fetched_at < ttl => Some(e.value.clone()),
            Some(_) => {
                self.entries.pop(key);
                None
            }
            None => None,
        }
    }

    /// Drops expired values from the cold end of the LRU list.
    fn purge_cold_expired(&mut self, now: i128) {
        while let Some((_, e)) = self.entries.peek_lru() {
            if now - e.fetched_at >= self.ttl_nanos {
                self.entries.pop_lru();
            } else {
                break;
            }
        }
    }
}

/// The shared cache. Cloning is cheap and shares the same values.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    /// persist hook: where values outlive the process (`[cache] persist = true`).
    persist: Option<Arc<dyn PersistentValues>>,
}

impl Cache {
    /// A cache with `config`, reading time from `clock`.
    pub fn new(config: CacheConfig, clock: Arc<dyn Clock>) -> Self {
        Self::with_persistence(config, clock, None)
    }

    /// A cache whose values are also kept in `persist` (see [`crate::persist`]): a miss is
    /// first looked up there, a fetched value is saved there, every reset is passed on.
    pub fn with_persistence(
        config: CacheConfig,
        clock: Arc<dyn Clock>,
        persist: Option<Arc<dyn PersistentValues>>,
    ) -> Self {
        Cache {
            inner: Arc::new(Inner {
                persist,
                clock,
                state: Mutex::new(State {
                    ttl: config.ttl,
                    ttl_nanos: config.ttl.as_nanos() as i128,
                    entries: LruCache::with_hasher(config.capacity, BuildLocatorHasher::default()),
                    inflight: HashMap::new(),
                    generations: HashMap::new(),
                    global_generation: 0,
                }),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state inconsistent in a way that
        // matters more than losing the cache: keep serving.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached value of `key`, if fresh. Never fetches.
    pub fn get(&self, key: &Locator) -> Option<SharedSecret> {
        let now = nanos(self.inner.clock.now());
        self.lock().fresh(key, now)
    }

    /// Runs `f` with a lookup of fresh values, under one lock and one reading of the clock:
    /// for callers that look up many keys at once. A miss comes back with its [`Generation`]
    /// for [`get_or_fetch_since`](Self::get_or_fetch_since). `f` must not call back into the
    /// cache.
    pub fn with_lookup<R>(
        &self,
        f: impl FnOnce(&mut dyn FnMut(&Locator) -> Result<SharedSecret, Generation>) -> R,
    ) -> R {
        let now = nanos(self.inner.clock.now());
        let mut st = self.lock();
        f(&mut |k: &Locator| st.fresh(k, now).ok_or_else(|| st.generation(k.provider())))
    }

    /// The cached value of `key`, or the result of one shared fetch.
    ///
    /// `fetch` is called at most once per miss, and only when no fetch of `key` is running;
    /// every concurrent caller waits for that one fetch. Errors are shared with the waiters and
    /// never cached. Must be called within a Tokio runtime (the fetch runs as a task).
    pub async fn get_or_fetch<F>(&self, key: &Locator, fetch: F) -> Result<SharedSecret, Error>
    where
        F: FnOnce() -> FetchFuture,
    {
        self.get_or_fetch_since(key, None, fetch).await
    }

    /// [`get_or_fetch`](Self::get_or_fetch) for a miss seen at `since` (from
    /// [`with_lookup`](Self::with_lookup)): the fetched value is stored only if no reset
    /// happened since then. `None`: since now.
    pub async fn get_or_fetch_since<F>(
        &self,
        key: &Locator,
        since: Option<Generation>,
        fetch: F,
    ) -> Result<SharedSecret, Error>
    where
        F: FnOnce() -> FetchFuture,
    {
        let mut rx = {
            let now = nanos(self.inner.clock.now());
            let mut st = self.lock();
            if let Some(v) = st.fresh(key, now) {
                return Ok(v);
            }
            match st.inflight.get(key) {
                Some(rx) => rx.clone(),
                None => {
                    let (tx, rx) = watch::channel(None);
                    st.inflight.insert(key.clone(), rx.clone());
                    let generation = since.unwrap_or_else(|| st.generation(key.provider()));
                    drop(st);
                    self.spawn_flight(key.clone(), generation, tx, fetch());
                    rx
                }
            }
        };
        loop {
            if let Some(result) = rx.borrow_and_update().as_ref() {
                return result.clone();
            }
            if rx.changed().await.is_err() {
                // The sender is gone without a result: the fetch task panicked or the runtime
                // is shutting down.
                return Err(Error::new(
                    ErrorKind::Other,
                    "the fetch task ended without a result",
                ));
            }
        }
    }

    fn spawn_flight(
        &self,
        key: Locator,
        generation: Generation,
        tx: watch::Sender<FlightResult>,
        fetch: FetchFuture,
    ) {
        /// Removes the in-flight marker however the task ends (also on panic).
        struct Landing {
            cache: Cache,
            key: Locator,
            rx: watch::Receiver<FlightResult>,
        }
        impl Drop for Landing {
            fn drop(&mut self) {
                let mut st = self.cache.lock();
                if st
                    .inflight
                    .get(&self.key)
                    .is_some_and(|r| r.same_channel(&self.rx))
                {
                    st.inflight.remove(&self.key);
                }
            }
        }
        let landing = Landing {
            cache: self.clone(),
            key,
            rx: tx.subscribe(),
        };
        tokio::spawn(async move {
            // persist hook: a value fetched within the TTL (maybe by another process) is
            // served with its own fetch time, and the provider is not asked.
            let persisted = landing.cache.load_persisted(&landing.key);
            let from_store = persisted.is_some();
            let (result, persisted_at) = match persisted {
                Some((value, at)) => (Ok(Arc::new(value)), Some(at)),
                None => (fetch.await.map(Arc::new), None),
            };
            let mut to_persist = None;
            {
                let cache = &landing.cache;
                let now = nanos(cache.inner.clock.now());
                let mut st = cache.lock();
                if let Ok(value) = &result {
                    let current = st.generation(landing.key.provider());
                    if current == generation && !st.ttl.is_zero() {
                        st.purge_cold_expired(now);
                        st.entries.put(
                            landing.key.clone(),
                            Entry {
                                value: value.clone(),
                                fetched_at: persisted_at.unwrap_or(now),
                            },
                        );
                        if !from_store {
                            to_persist = Some((value.clone(), now));
                        }
                    }
                }
                if st
                    .inflight
                    .get(&landing.key)
                    .is_some_and(|r| r.same_channel(&landing.rx))
                {
                    st.inflight.remove(&landing.key);
                }
            }
            // persist hook: saved before the waiters hear, so a program that exits on the
            // answer (`vaultctl get`) has kept it.
            if let Some((value, at)) = to_persist {
                landing
                    .cache
                    .save_persisted(&landing.key, &value, at, generation);
            }
            // Waiters may be gone (all cancelled): nothing to do then.
            let _ = tx.send(Some(result));
            drop(landing);
        });
    }

    /// Forgets every value (they are zeroized as their last reader lets go).
    pub fn reset_all(&self) {
        {
            let mut st = self.lock();
            st.global_generation += 1;
            st.entries.clear();
            st.inflight.clear();
        }
        self.forget_persisted(Forget::All);
    }

    /// Forgets one value. Returns whether it was cached.
    pub fn reset(&self, key: &Locator) -> bool {
        let had = {
            let mut st = self.lock();
            *st.generations.entry(key.provider().clone()).or_insert(0) += 1;
            st.inflight.remove(key);
            st.entries.pop(key).is_some()
        };
        self.forget_persisted(Forget::One(key));
        had
    }

    /// Forgets every value of one provider (on disconnect or a settings change).
    pub fn reset_provider(&self, provider: &ProviderId) {
        let mut st = self.lock();
        *st.generations.entry(provider.clone()).or_insert(0) += 1;
        st.inflight.retain(|k, _| k.provider() != provider);
        let stale: Vec<Locator> = st
            .entries
            .iter()
            .filter(|(k, _)| k.provider() == provider)
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            st.entries.pop(&k);
        }
        drop(st);
        self.forget_persisted(Forget::Provider(provider));
    }

    /// Drops every expired value now (they are otherwise dropped when next looked up, or
    /// when they reach the cold end of the LRU list).
    pub fn purge_expired(&self) {
        let now = nanos(self.inner.clock.now());
        let mut st = self.lock();
        let ttl = st.ttl_nanos;
        let stale: Vec<Locator> = st
            .entries
            .iter()
            .filter(|(_, e)| now - e.fetched_at >= ttl)
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            st.entries.pop(&k);
        }
    }

    /// Changes the TTL; it applies to cached values too (they are judged by when they were
    /// fetched).
    pub fn set_ttl(&self, ttl: Duration) {
        let mut st = self.lock();
        st.ttl = ttl;
        st.ttl_nanos = ttl.as_nanos() as i128;
    }

    /// The current TTL.
    pub fn ttl(&self) -> Duration {
        self.lock().ttl
    }

    /// Number of values held (fresh or not yet purged).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no value is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

// persist hook: the cache's side of `crate::persist`, kept apart from the rest. The store is
// called outside the cache's lock.
impl Cache {
    /// A value kept by the persist hook and still fresh by this cache's TTL and clock.
    fn load_persisted(&self, key: &Locator) -> Option<(SecretString, i128)> {
        let persist = self.inner.persist.as_ref()?;
        let ttl = self.lock().ttl_nanos;
        if ttl == 0 {
            return None;
        }
        let (value, at) = persist.load_value(key)?;
        let (now, at) = (nanos(self.inner.clock.now()), nanos(at));
        // A fetch time in the future is not trusted.
        (at <= now && now - at < ttl).then_some((value, at))
    }

    /// Hands a fetched value to the persist hook; forgets it again if a reset came meanwhile.
    fn save_persisted(
        &self,
        key: &Locator,
        value: &SecretString,
        at: i128,
        generation: Generation,
    ) {
        let Some(persist) = &self.inner.persist else {
            return;
        };
        let ttl = self.lock().ttl;
        let Ok(at) = OffsetDateTime::from_unix_timestamp_nanos(at) else {
            return;
        };
        persist.save_value(key, value, at, ttl);
        if self.lock().generation(key.provider()) != generation {
            persist.forget_values(Forget::One(key));
        }
    }

    fn forget_persisted(&self, which: Forget<'_>) {
        if let Some(persist) = &self.inner.persist {
            persist.forget_values(which);
        }
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("Cache")
            .field("ttl", &st.ttl)
            .field("len", &st.entries.len())
            .field("capacity", &st.entries.cap())
            .field("inflight", &st.inflight.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use secrecy::ExposeSecret;

    use super::*;
    use crate::clock::ManualClock;

    fn loc(p: &'static str, c: &str) -> Locator {
        Locator::new(ProviderId::from_static(p), c)
    }

    fn counting(
        count: &Arc<AtomicUsize>,
        value: &'static str,
        delay: Duration,
    ) -> impl FnOnce() -> FetchFuture {
        let count = count.clone();
        move || {
            Box::pin(async move {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                Ok(SecretString::from(value))
            })
        }
    }

    fn setup(ttl_minutes: u64, cap: usize) -> (Cache, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::default());
        let mut cfg = CacheConfig::with_ttl_minutes(ttl_minutes);
        cfg.capacity = NonZeroUsize::new(cap).unwrap();
        (Cache::new(cfg, clock.clone()), clock)
    }

    #[tokio::test]
    async fn ttl_expires_values() {
        let (cache, clock) = setup(60, 10);
        let n = Arc::new(AtomicUsize::new(0));
        let k = loc("aws", "a");
        let v = cache
            .get_or_fetch(&k, counting(&n, "v1", Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(v.expose_secret(), "v1");
        clock.advance(time::Duration::minutes(59));
        cache
            .get_or_fetch(&k, counting(&n, "v2", Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(n.load(Ordering::SeqCst), 1);
        clock.advance(time::Duration::minutes(1));
        assert!(cache.get(&k).is_none());
        let v = cache
            .get_or_fetch(&k, counting(&n, "v2", Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(v.expose_secret(), "v2");
        assert_eq!(n.load(Ordering::SeqCst), 2);
        cache.set_ttl(Duration::from_secs(30));
        clock.advance(time::Duration::seconds(31));
        assert!(
            cache.get(&k).is_none(),
            "a shorter TTL applies to cached values"
        );
    }

    #[tokio::test]
    async fn zero_ttl_caches_nothing() {
        let (cache, _) = setup(0, 10);
        let n = Arc::new(AtomicUsize::new(0));
        let k = loc("aws", "a");
        cache
            .get_or_fetch(&k, counting(&n, "v", Duration::ZERO))
            .await
            .unwrap();
        cache
            .get_or_fetch(&k, counting(&n, "v", Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(n.load(Ordering::SeqCst), 2);
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn lru_bound_evicts_least_recently_used() {
        let (cache, _) = setup(60, 2);
        let n = Arc::new(AtomicUsize::new(0));
        for c in ["a", "b"] {
            cache
                .get_or_fetch(&loc("aws", c), counting(&n, "v", Duration::ZERO))
                .await
                .unwrap();
        }
        assert!(cache.get(&loc("aws", "a")).is_some()); // a is now most recent
        cache
            .get_or_fetch(&loc("aws", "c"), counting(&n, "v", Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&loc("aws", "b")).is_none());
        assert!(cache.get(&loc("aws", "a")).is_some());
    }

    #[tokio::test]
    async fn evicted_and_reset_values_are_dropped() {
        let (cache, _) = setup(60, 1);
        let n = Arc::new(AtomicUsize::new(0));
        let a = cache
            .get_or_fetch(&loc("aws", "a"), counting(&n, "v", Duration::ZERO))
            .await
            .unwrap();
        let weak = Arc::downgrade(&a);
        drop(a);
        assert!(weak.upgrade().is_some(), "held by the cache");
        cache
            .get_or_fetch(&loc("aws", "b"), counting(&n, "v", Duration::ZERO))
            .await
            .unwrap();
        assert!(
            weak.upgrade().is_none(),
            "evicted value is dropped (and so zeroized)"
        );
        let b = Arc::downgrade(&cache.get(&loc("aws", "b")).unwrap());
        cache.reset_all();
        assert!(b.upgrade().is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn single_flight_under_concurrency() {
        let (cache, _) = setup(60, 10);
        let n = Arc::new(AtomicUsize::new(0));
        let k = loc("hashicorp", "secret/app#k");
        let mut tasks = Vec::new();
        for _ in 0..1000 {
            let cache = cache.clone();
            let k = k.clone();
            let f = counting(&n, "v", Duration::from_millis(10));
            tasks.push(tokio::spawn(async move { cache.get_or_fetch(&k, f).await }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().expose_secret(), "v");
        }
        assert_eq!(n.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn cancelled_first_caller_does_not_cancel_the_fetch() {
        let (cache, _) = setup(60, 10);
        let n = Arc::new(AtomicUsize::new(0));
        let k = loc("aws", "a");
        let first = {
            let cache = cache.clone();
            let k = k.clone();
            let f = counting(&n, "v", Duration::from_millis(20));
            tokio::spawn(async move { cache.get_or_fetch(&k, f).await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        first.abort();
        let v = cache
            .get_or_fetch(&k, counting(&n, "other", Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(
            v.expose_secret(),
            "v",
            "the second caller joined the running fetch"
        );
        assert_eq!(n.load(Ordering::SeqCst), 1);
        assert!(cache.get(&k).is_some(), "the result was cached");
    }

    #[tokio::test]
    async fn errors_are_shared_not_cached() {
        let (cache, _) = setup(60, 10);
        let k = loc("aws", "a");
        let e = cache
            .get_or_fetch(&k, || {
                Box::pin(async { Err(Error::new(ErrorKind::NotFound, "nope")) })
            })
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let n = Arc::new(AtomicUsize::new(0));
        cache
            .get_or_fetch(&k, counting(&n, "v", Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(n.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn panicking_fetch_is_an_error_and_not_stuck() {
        let (cache, _) = setup(60, 10);
        let k = loc("aws", "a");
        let e = cache
            .get_or_fetch(&k, || Box::pin(async { panic!("provider bug") }))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Other);
        let n = Arc::new(AtomicUsize::new(0));
        cache
            .get_or_fetch(&k, counting(&n, "v", Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(n.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn reset_during_fetch_does_not_store_stale_value() {
        let (cache, _) = setup(60, 10);
        let n = Arc::new(AtomicUsize::new(0));
        let k = loc("aws", "a");
        let running = {
            let cache = cache.clone();
            let k = k.clone();
            let f = counting(&n, "old", Duration::from_millis(20));
            tokio::spawn(async move { cache.get_or_fetch(&k, f).await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        cache.reset_provider(&ProviderId::from_static("aws"));
        running.await.unwrap().unwrap();
        assert!(cache.get(&k).is_none());
    }

    #[tokio::test]
    async fn a_miss_seen_before_a_reset_is_not_stored() {
        let (cache, _) = setup(60, 10);
        let n = Arc::new(AtomicUsize::new(0));
        let k = loc("aws", "a");
        let since = cache.with_lookup(|fresh| fresh(&k).unwrap_err());
        // The provider is replaced or signed out between the miss and the fetch.
        cache.reset_provider(&ProviderId::from_static("aws"));
        let v = cache
            .get_or_fetch_since(&k, Some(since), counting(&n, "old", Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(v.expose_secret(), "old", "the caller still gets its answer");
        assert!(cache.get(&k).is_none(), "but it is not cached");
        let since = cache.with_lookup(|fresh| fresh(&k).unwrap_err());
        cache
            .get_or_fetch_since(&k, Some(since), counting(&n, "new", Duration::ZERO))
            .await
            .unwrap();
        assert!(cache.get(&k).is_some());
    }

    #[tokio::test]
    async fn reset_one_and_by_provider() {
        let (cache, _) = setup(60, 10);
        let n = Arc::new(AtomicUsize::new(0));
        for (p, c) in [("aws", "a"), ("aws", "b"), ("azure", "a")] {
            cache
                .get_or_fetch(&loc(p, c), counting(&n, "v", Duration::ZERO))
                .await
                .unwrap();
        }
        assert!(cache.reset(&loc("aws", "a")));
        assert!(!cache.reset(&loc("aws", "a")));
        cache.reset_provider(&ProviderId::from_static("aws"));
        assert!(cache.get(&loc("aws", "b")).is_none());
        assert!(cache.get(&loc("azure", "a")).is_some());
    }

    #[tokio::test]
    async fn purge_drops_expired() {
        let (cache, clock) = setup(1, 10);
        let n = Arc::new(AtomicUsize::new(0));
        cache
            .get_or_fetch(&loc("aws", "a"), counting(&n, "v", Duration::ZERO))
            .await
            .unwrap();
        clock.advance(time::Duration::minutes(2));
        cache.purge_expired();
        assert!(cache.is_empty());
    }
}
