//! The value cache: TTL, bounded LRU, single-flight, stale-if-error and refresh-ahead.
//!
//! Keyed by [`Locator`] (provider + canonical locator), so relinking a secret never serves the
//! old link's value. A miss starts exactly one fetch per locator, however many callers ask at
//! once; the fetch runs as its own task, so it completes (and is cached) even when the caller
//! that started it is cancelled. Values are `SecretString`s, zeroized when the last holder
//! drops them: on eviction, expiry, reset and when the cache is dropped.
//!
//! Ages are measured on the clock's monotonic reading ([`Clock::monotonic`]): stepping the
//! wall clock back never extends a value's life.
//!
//! Resets (a sign-out, a disconnect, a settings change, `cache reset`) are ordered with
//! fetches by [`Generation`]s: a fetch that started before a reset never stores its value,
//! and a caller that planned after a reset never joins a fetch started before it.
//!
//! Two opt-in behaviours ([`CacheConfig`]):
//! * **stale-if-error**: when refreshing an expired value fails for a transient reason
//!   ([`ErrorKind::Unreachable`] (which covers 5xx), [`ErrorKind::Timeout`],
//!   [`ErrorKind::RateLimited`]), the last value is served, flagged stale, for at most
//!   `stale_if_error` past its TTL; after such a failure the next attempt waits
//!   [`STALE_RETRY_INTERVAL`] (stale values are served meanwhile without a fetch). Any other
//!   error (not found, permission denied, signed out...) drops the value at once, and resets
//!   drop it too, so it is never served stale after them.
//! * **refresh-ahead**: a value read in the last tenth of its TTL is refreshed in the
//!   background (single-flight); readers keep getting the cached value meanwhile. Each value's
//!   refresh point is drawn at random between 80 % and 90 % of the TTL, so that many
//!   processes do not refresh in step.

use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use lru::LruCache;
use rand::Rng;
use secrecy::SecretString;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::error::{Error, ErrorKind};
use crate::link::{BuildLocatorHasher, Locator, ProviderId};
use crate::persist::{Forget, PersistentValues};

/// Default time to live: 60 minutes.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60 * 60);
/// Default bound on the number of cached values.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// Default number of fetches one provider runs at the same time (see
/// [`CacheConfig::max_concurrent_fetches`]).
pub const DEFAULT_MAX_CONCURRENT_FETCHES: usize = 64;
/// After a transient failure to refresh an expired value, stale-if-error serves the old value
/// for this long without trying again (still never past the stale window).
pub const STALE_RETRY_INTERVAL: Duration = Duration::from_secs(10);
/// After a failed refresh-ahead, the next one waits at least this long.
const REFRESH_RETRY_FLOOR: Duration = Duration::from_secs(1);

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
    /// Stale-if-error: how long past its TTL a value may still be served when refreshing it
    /// fails for a transient reason (`[cache] stale_if_error_minutes`). Zero: never.
    pub stale_if_error: Duration,
    /// Refresh-ahead: a value read in the last tenth of its TTL is refreshed in the
    /// background (`[cache] refresh_ahead`).
    pub refresh_ahead: bool,
    /// At most this many fetches of one provider run at the same time; the others queue
    /// (`[cache] max_concurrent_fetches`). The resolver applies it, around the cache's
    /// single flights.
    pub max_concurrent_fetches: usize,
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
            stale_if_error: Duration::ZERO,
            refresh_ahead: false,
            max_concurrent_fetches: DEFAULT_MAX_CONCURRENT_FETCHES,
        }
    }
}

/// What a lookup found (see [`Cache::with_lookup`]).
#[derive(Clone, Debug)]
pub enum Lookup {
    /// A fresh value.
    Fresh(SharedSecret),
    /// A fresh value due for refresh-ahead: serve it, and start a background refresh with
    /// [`Cache::refresh`] (this caller is the only one told so).
    Refresh(SharedSecret, Generation),
    /// A value past its TTL served stale after a recent transient failure (stale-if-error):
    /// flag it as such.
    Stale(SharedSecret),
    /// Nothing usable: fetch, with this generation.
    Miss(Generation),
}

/// What a lookup under [`Cache::with_locked`] found, without cloning the value (read it with
/// [`Locked::value`] while still locked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// A fresh value.
    Fresh,
    /// A fresh value due for refresh-ahead (see [`Lookup::Refresh`]).
    Refresh(Generation),
    /// A value served stale (see [`Lookup::Stale`]).
    Stale,
    /// Nothing usable.
    Miss(Generation),
}

/// The cache, locked, for a caller that renders values in place (no reference counting).
pub struct Locked<'a> {
    st: &'a mut State,
    now: Nanos,
}

impl Locked<'_> {
    /// Looks `key` up, as [`Cache::with_lookup`] does, without cloning its value.
    pub fn find(&mut self, key: &Locator) -> Found {
        self.st.find(key, self.now)
    }

    /// The value of a key [`find`](Self::find) found (fresh, refresh or stale).
    pub fn value(&self, key: &Locator) -> Option<&SecretString> {
        self.st.entries.peek(key).map(|e| &*e.value)
    }
}

/// A value as the cache hands it out, with whether it is served stale.
#[derive(Clone, Debug)]
pub struct Hit {
    /// The value.
    pub value: SharedSecret,
    /// Served past its TTL because refreshing it failed for a transient reason.
    pub stale: bool,
}

/// Monotonic nanoseconds: plain integer comparisons on the hot path.
type Nanos = u64;

/// Cache times start here rather than at zero, so that a value persisted by an earlier
/// process can be placed at its true age (`now - age`) in a process that started a moment ago.
const MONOTONIC_ORIGIN: Nanos = 1 << 62;

fn nanos(d: Duration) -> Nanos {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

struct Entry {
    value: SharedSecret,
    fetched_at: Nanos,
    /// A read at or after this starts a refresh-ahead (`Nanos::MAX`: none due).
    refresh_at: Nanos,
    /// Past the TTL, after a transient failure: serve stale without fetching until then.
    retry_at: Nanos,
}

type FlightResult = Option<Result<Hit, Error>>;

struct Flight {
    rx: watch::Receiver<FlightResult>,
    /// The generation the flight's provider was chosen at.
    generation: Generation,
}

struct State {
    ttl: Duration,
    ttl_nanos: Nanos,
    stale_nanos: Nanos,
    refresh_ahead: bool,
    entries: LruCache<Locator, Entry, BuildLocatorHasher>,
    inflight: HashMap<Locator, Flight>,
    /// Bumped by every reset that touches a provider: a fetch that started before it must not
    /// store its (possibly stale) result.
    generations: HashMap<ProviderId, u64>,
    global_generation: u64,
}

/// Whether an error is one stale-if-error rides out: the vault is briefly unwell, not
/// telling us anything about the secret or our right to it.
fn transient(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Unreachable | ErrorKind::Timeout | ErrorKind::RateLimited
    )
}

impl State {
    fn generation(&self, provider: &ProviderId) -> Generation {
        Generation(
            self.global_generation,
            self.generations.get(provider).copied().unwrap_or(0),
        )
    }

    /// How long past its fetch a value is kept at all: its TTL plus the stale window.
    fn keep_nanos(&self) -> Nanos {
        self.ttl_nanos.saturating_add(self.stale_nanos)
    }

    fn lookup(&mut self, key: &Locator, now: Nanos) -> Lookup {
        let found = self.find(key, now);
        let value = || {
            self.entries
                .peek(key)
                .map(|e| e.value.clone())
                .expect("found just now, under the same lock")
        };
        match found {
            Found::Fresh => Lookup::Fresh(value()),
            Found::Refresh(generation) => Lookup::Refresh(value(), generation),
            Found::Stale => Lookup::Stale(value()),
            Found::Miss(generation) => Lookup::Miss(generation),
        }
    }

    /// The lookup itself: marks the entry most recently used, claims a due refresh-ahead,
    /// drops what is past the stale window.
    fn find(&mut self, key: &Locator, now: Nanos) -> Found {
        let ttl = self.ttl_nanos;
        let keep = self.keep_nanos();
        let refresh_ahead = self.refresh_ahead;
        match self.entries.get_mut(key) {
            Some(e) if now.saturating_sub(e.fetched_at) < ttl => {
                if refresh_ahead && now >= e.refresh_at {
                    // Only this reader starts the refresh; a failed one sets a new point.
                    e.refresh_at = Nanos::MAX;
                    Found::Refresh(self.generation(key.provider()))
                } else {
                    Found::Fresh
                }
            }
            Some(e) if now.saturating_sub(e.fetched_at) < keep => {
                if now < e.retry_at {
                    Found::Stale
                } else {
                    // Kept for stale-if-error, but due for a fetch.
                    Found::Miss(self.generation(key.provider()))
                }
            }
            Some(_) => {
                self.entries.pop(key);
                Found::Miss(self.generation(key.provider()))
            }
            None => Found::Miss(self.generation(key.provider())),
        }
    }

    /// Drops expired values from the cold end of the LRU list.
    fn purge_cold_expired(&mut self, now: Nanos) {
        let keep = self.keep_nanos();
        while let Some((_, e)) = self.entries.peek_lru() {
            if now.saturating_sub(e.fetched_at) >= keep {
                self.entries.pop_lru();
            } else {
                break;
            }
        }
    }

    /// Stores a freshly fetched value.
    fn store(&mut self, key: Locator, value: SharedSecret, now: Nanos) {
        if self.ttl.is_zero() {
            return;
        }
        self.purge_cold_expired(now);
        let refresh_at = if self.refresh_ahead {
            // Between 80 % and 90 % of the TTL: any read in the last tenth is past it.
            let jitter = rand::thread_rng().gen_range(0.0..0.1);
            now.saturating_add((self.ttl_nanos as f64 * (0.9 - jitter)) as Nanos)
        } else {
            Nanos::MAX
        };
        self.entries.put(
            key,
            Entry {
                value,
                fetched_at: now,
                refresh_at,
                retry_at: 0,
            },
        );
    }

    /// What a failed fetch of `key` (started at `generation`) gives its callers: the old value
    /// flagged stale when stale-if-error allows it, else the error.
    fn failed(
        &mut self,
        key: &Locator,
        generation: Generation,
        error: Error,
        now: Nanos,
    ) -> Result<Hit, Error> {
        if self.generation(key.provider()) != generation {
            return Err(error);
        }
        if !transient(error.kind()) {
            // Not found, permission denied, signed out...: never serve this value again.
            self.entries.pop(key);
            return Err(error);
        }
        let (ttl, keep) = (self.ttl_nanos, self.keep_nanos());
        let Some(e) = self.entries.peek_mut(key) else {
            return Err(error);
        };
        let age = now.saturating_sub(e.fetched_at);
        if age < ttl {
            // A refresh-ahead failed; the value is still fresh: try again later.
            let remaining = Duration::from_nanos(ttl - age);
            e.refresh_at = now.saturating_add(nanos((remaining / 2).max(REFRESH_RETRY_FLOOR)));
            Err(error)
        } else if age < keep {
            e.retry_at = now.saturating_add(nanos(STALE_RETRY_INTERVAL));
            Ok(Hit {
                value: e.value.clone(),
                stale: true,
            })
        } else {
            Err(error)
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
                    ttl_nanos: nanos(config.ttl),
                    stale_nanos: nanos(config.stale_if_error),
                    refresh_ahead: config.refresh_ahead,
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

    /// The monotonic reading, shifted by [`MONOTONIC_ORIGIN`].
    fn now(&self) -> Nanos {
        nanos(self.inner.clock.monotonic()).saturating_add(MONOTONIC_ORIGIN)
    }

    /// The cached value of `key`, if fresh (or served stale). Never fetches, never starts a
    /// refresh.
    pub fn get(&self, key: &Locator) -> Option<SharedSecret> {
        let now = self.now();
        let mut st = self.lock();
        match st.lookup(key, now) {
            Lookup::Fresh(v) | Lookup::Stale(v) => Some(v),
            Lookup::Refresh(v, _) => {
                // Not refreshed by this reader: let the next one start it.
                if let Some(e) = st.entries.peek_mut(key) {
                    e.refresh_at = now;
                }
                Some(v)
            }
            Lookup::Miss(_) => None,
        }
    }

    /// Runs `f` with a lookup of values, under one lock and one reading of the clock: for
    /// callers that look up many keys at once. A miss comes back with its [`Generation`] for
    /// [`get_or_fetch_since`](Self::get_or_fetch_since). `f` must not call back into the
    /// cache. A [`Lookup::Refresh`] asks the caller to call [`refresh`](Self::refresh).
    pub fn with_lookup<R>(&self, f: impl FnOnce(&mut dyn FnMut(&Locator) -> Lookup) -> R) -> R {
        let now = self.now();
        let mut st = self.lock();
        f(&mut |k: &Locator| st.lookup(k, now))
    }

    /// Runs `f` with the cache locked (one lock, one clock reading), for a caller that looks
    /// values up with [`Locked::find`] and reads them in place with [`Locked::value`]: no
    /// reference counting per value. Keep `f` short (it holds the lock) and do not call back
    /// into the cache from it.
    pub fn with_locked<R>(&self, f: impl FnOnce(&mut Locked<'_>) -> R) -> R {
        let now = self.now();
        let mut st = self.lock();
        f(&mut Locked { st: &mut st, now })
    }

    /// The cached value of `key`, or the result of one shared fetch.
    ///
    /// `fetch` is called at most once per miss, and only when no fetch of `key` is running;
    /// every concurrent caller waits for that one fetch. Errors are shared with the waiters and
    /// never cached. Must be called within a Tokio runtime (the fetch runs as a task). A value
    /// served stale (stale-if-error) comes back like a fresh one; see
    /// [`fetch_since`](Self::fetch_since) for the flag.
    pub async fn get_or_fetch<F>(&self, key: &Locator, fetch: F) -> Result<SharedSecret, Error>
    where
        F: FnOnce() -> FetchFuture,
    {
        self.fetch_since(key, None, fetch).await.map(|h| h.value)
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
        self.fetch_since(key, since, fetch).await.map(|h| h.value)
    }

    /// [`get_or_fetch_since`](Self::get_or_fetch_since), telling whether the value is served
    /// stale.
    ///
    /// A running fetch of `key` is joined only if it started with the provider of the current
    /// generation or of `since`: a caller that planned after a reset never receives a value
    /// fetched by the provider that was reset.
    pub async fn fetch_since<F>(
        &self,
        key: &Locator,
        since: Option<Generation>,
        fetch: F,
    ) -> Result<Hit, Error>
    where
        F: FnOnce() -> FetchFuture,
    {
        let mut rx = {
            let now = self.now();
            let mut st = self.lock();
            let current = st.generation(key.provider());
            match st.lookup(key, now) {
                Lookup::Fresh(v) | Lookup::Refresh(v, _) => {
                    return Ok(Hit {
                        value: v,
                        stale: false,
                    })
                }
                Lookup::Stale(v) => {
                    return Ok(Hit {
                        value: v,
                        stale: true,
                    })
                }
                Lookup::Miss(_) => {}
            }
            let mine = since.unwrap_or(current);
            match st.inflight.get(key) {
                Some(f) if f.generation == current || f.generation == mine => f.rx.clone(),
                _ => {
                    // Registered under the lock the miss was seen under: a caller arriving
                    // now joins this flight instead of starting another.
                    let (tx, rx) = Self::register(&mut st, key, mine);
                    drop(st);
                    self.spawn_flight(key.clone(), mine, tx, fetch());
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

    /// Starts a background refresh of `key` (after a [`Lookup::Refresh`]) unless a fetch of it
    /// is running already; returns at once. Needs a Tokio runtime: without one, nothing is
    /// started and the value is fetched again when it expires.
    pub fn refresh<F>(&self, key: &Locator, since: Generation, fetch: F)
    where
        F: FnOnce() -> FetchFuture,
    {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let tx = {
            let mut st = self.lock();
            if st.inflight.get(key).is_some_and(|f| f.generation == since) {
                return;
            }
            Self::register(&mut st, key, since).0
        };
        self.spawn_flight(key.clone(), since, tx, fetch());
    }

    /// Registers a flight of `key` while the caller holds the lock (so that a caller seeing
    /// the same miss joins it); the caller spawns it once the lock is released.
    fn register(
        st: &mut State,
        key: &Locator,
        generation: Generation,
    ) -> (watch::Sender<FlightResult>, watch::Receiver<FlightResult>) {
        let (tx, rx) = watch::channel(None);
        st.inflight.insert(
            key.clone(),
            Flight {
                rx: rx.clone(),
                generation,
            },
        );
        (tx, rx)
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
        impl Landing {
            fn unregister(&self, st: &mut State) {
                if st
                    .inflight
                    .get(&self.key)
                    .is_some_and(|f| f.rx.same_channel(&self.rx))
                {
                    st.inflight.remove(&self.key);
                }
            }
        }
        impl Drop for Landing {
            fn drop(&mut self) {
                let mut st = self.cache.lock();
                self.unregister(&mut st);
            }
        }
        let landing = Landing {
            cache: self.clone(),
            key,
            rx: tx.subscribe(),
        };
        tokio::spawn(async move {
            // persist hook: a value fetched within the TTL (maybe by another process) is
            // served at its own age, and the provider is not asked.
            let persisted = landing.cache.load_persisted(&landing.key);
            let from_store = persisted.is_some();
            let (fetched, age) = match persisted {
                Some((value, age)) => (Ok(value), age),
                None => (fetch.await, 0),
            };
            let mut to_persist = None;
            let result = {
                let cache = &landing.cache;
                let now = cache.now();
                let mut st = cache.lock();
                let result = match fetched {
                    Ok(value) => {
                        let value = Arc::new(value);
                        if st.generation(landing.key.provider()) == generation {
                            st.store(landing.key.clone(), value.clone(), now.saturating_sub(age));
                            if !from_store {
                                to_persist = Some(value.clone());
                            }
                        }
                        Ok(Hit {
                            value,
                            stale: false,
                        })
                    }
                    Err(e) => st.failed(&landing.key, generation, e, now),
                };
                landing.unregister(&mut st);
                result
            };
            // persist hook: saved before the waiters hear, so a program that exits on the
            // answer (`vaultctl get`) has kept it.
            // The store's file I/O (a locked, fsynced write: ~12 ms) runs off the async
            // workers.
            if let Some(value) = to_persist {
                let at = landing.cache.inner.clock.now();
                let (cache, key) = (landing.cache.clone(), landing.key.clone());
                let save = move || cache.save_persisted(&key, &value, at, generation);
                let _ = tokio::task::spawn_blocking(save).await;
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

    /// Drops every value past its TTL and stale window now (they are otherwise dropped when
    /// next looked up, or when they reach the cold end of the LRU list).
    pub fn purge_expired(&self) {
        let now = self.now();
        let mut st = self.lock();
        let keep = st.keep_nanos();
        let stale: Vec<Locator> = st
            .entries
            .iter()
            .filter(|(_, e)| now.saturating_sub(e.fetched_at) >= keep)
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
        st.ttl_nanos = nanos(ttl);
    }

    /// The current TTL.
    pub fn ttl(&self) -> Duration {
        self.lock().ttl
    }

    /// Number of values held (fresh, kept for stale-if-error, or not yet purged).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no value is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of fetches running now.
    pub fn in_flight(&self) -> usize {
        self.lock().inflight.len()
    }
}

// persist hook: the cache's side of `crate::persist`, kept apart from the rest. The store is
// called outside the cache's lock.
impl Cache {
    /// A value kept by the persist hook and still fresh by this cache's TTL, with its age
    /// (from its wall-clock fetch time, maybe in another process).
    fn load_persisted(&self, key: &Locator) -> Option<(SecretString, Nanos)> {
        let persist = self.inner.persist.as_ref()?;
        let ttl = self.lock().ttl_nanos;
        if ttl == 0 {
            return None;
        }
        let (value, at) = persist.load_value(key)?;
        let age = self.inner.clock.now() - at;
        // A fetch time in the future is not trusted.
        if age.is_negative() {
            return None;
        }
        let age = nanos(age.unsigned_abs());
        (age < ttl).then_some((value, age))
    }

    /// Hands a fetched value to the persist hook; forgets it again if a reset came meanwhile.
    fn save_persisted(
        &self,
        key: &Locator,
        value: &SecretString,
        at: time::OffsetDateTime,
        generation: Generation,
    ) {
        let Some(persist) = &self.inner.persist else {
            return;
        };
        let ttl = self.lock().ttl;
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
            .field("stale_if_error", &Duration::from_nanos(st.stale_nanos))
            .field("refresh_ahead", &st.refresh_ahead)
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

    fn miss(cache: &Cache, k: &Locator) -> Generation {
        cache.with_lookup(|lookup| match lookup(k) {
            Lookup::Miss(g) => g,
            other => panic!("expected a miss, got {other:?}"),
        })
    }

    fn failing(count: &Arc<AtomicUsize>, kind: ErrorKind) -> impl FnOnce() -> FetchFuture {
        let count = count.clone();
        move || {
            Box::pin(async move {
                count.fetch_add(1, Ordering::SeqCst);
                Err(Error::new(kind, "fake failure"))
            })
        }
    }

    fn setup_with(cfg: CacheConfig) -> (Cache, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::default());
        (Cache::new(cfg, clock.clone()), clock)
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
        let since = miss(&cache, &k);
        // The provider is replaced or signed out between the miss and the fetch.
        cache.reset_provider(&ProviderId::from_static("aws"));
        let v = cache
            .get_or_fetch_since(&k, Some(since), counting(&n, "old", Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(v.expose_secret(), "old", "the caller still gets its answer");
        assert!(cache.get(&k).is_none(), "but it is not cached");
        let since = miss(&cache, &k);
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

    #[tokio::test]
    async fn a_wall_clock_step_back_does_not_extend_a_value() {
        let (cache, clock) = setup(60, 10);
        let n = Arc::new(AtomicUsize::new(0));
        let k = loc("aws", "a");
        cache
            .get_or_fetch(&k, counting(&n, "v1", Duration::ZERO))
            .await
            .unwrap();
        // Someone sets the wall clock back an hour; then an hour really passes.
        clock.step_wall(time::Duration::hours(-1));
        clock.advance(time::Duration::minutes(60));
        assert!(cache.get(&k).is_none(), "expired after 60 real minutes");
        let v = cache
            .get_or_fetch(&k, counting(&n, "v2", Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(v.expose_secret(), "v2");
        // And a step forward does not cut a value's life short either.
        clock.step_wall(time::Duration::hours(5));
        assert!(cache.get(&k).is_some());
    }

    #[tokio::test]
    async fn a_caller_planning_after_a_reset_never_joins_an_older_flight() {
        let (cache, _) = setup(60, 10);
        let n = Arc::new(AtomicUsize::new(0));
        let k = loc("aws", "a");
        // A caller planned with the old provider...
        let before = miss(&cache, &k);
        cache.reset_provider(&ProviderId::from_static("aws"));
        // ...and starts its fetch after the reset.
        let old = {
            let cache = cache.clone();
            let k = k.clone();
            let f = counting(&n, "old", Duration::from_millis(50));
            tokio::spawn(async move { cache.get_or_fetch_since(&k, Some(before), f).await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        // A caller that planned after the reset gets the new provider's value.
        let after = miss(&cache, &k);
        let v = cache
            .get_or_fetch_since(
                &k,
                Some(after),
                counting(&n, "new", Duration::from_millis(5)),
            )
            .await
            .unwrap();
        assert_eq!(v.expose_secret(), "new");
        assert_eq!(old.await.unwrap().unwrap().expose_secret(), "old");
        assert_eq!(cache.get(&k).unwrap().expose_secret(), "new");
        // Later callers join the current flight, not the stale one.
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }

    fn stale_cfg(ttl_minutes: u64, stale_minutes: u64) -> CacheConfig {
        let mut cfg = CacheConfig::with_ttl_minutes(ttl_minutes);
        cfg.stale_if_error = Duration::from_secs(stale_minutes * 60);
        cfg
    }

    #[tokio::test]
    async fn stale_if_error_serves_the_last_value_only_for_transient_errors_inside_the_window() {
        for kind in [
            ErrorKind::Unreachable,
            ErrorKind::Timeout,
            ErrorKind::RateLimited,
        ] {
            let (cache, clock) = setup_with(stale_cfg(60, 10));
            let n = Arc::new(AtomicUsize::new(0));
            let k = loc("aws", "a");
            cache
                .get_or_fetch(&k, counting(&n, "v1", Duration::ZERO))
                .await
                .unwrap();
            clock.advance(time::Duration::minutes(61));
            let hit = cache
                .fetch_since(&k, None, failing(&n, kind))
                .await
                .unwrap();
            assert!(hit.stale, "{kind:?}");
            assert_eq!(hit.value.expose_secret(), "v1");
            // Within the retry interval: served stale without another fetch.
            let hit = cache
                .fetch_since(&k, None, failing(&n, kind))
                .await
                .unwrap();
            assert!(hit.stale);
            assert_eq!(n.load(Ordering::SeqCst), 2);
            // Past the window (TTL + 10 minutes): the error.
            clock.advance(time::Duration::minutes(9));
            let e = cache
                .fetch_since(&k, None, failing(&n, kind))
                .await
                .unwrap_err();
            assert_eq!(e.kind(), kind);
            // A success afterwards is fresh again.
            let hit = cache
                .fetch_since(&k, None, counting(&n, "v2", Duration::ZERO))
                .await
                .unwrap();
            assert!(!hit.stale);
            assert_eq!(hit.value.expose_secret(), "v2");
        }
    }

    #[tokio::test]
    async fn stale_if_error_never_after_not_found_permission_or_reset() {
        for kind in [
            ErrorKind::NotFound,
            ErrorKind::PermissionDenied,
            ErrorKind::SignedOut,
            ErrorKind::SessionExpired,
            ErrorKind::AuthFailed,
        ] {
            let (cache, clock) = setup_with(stale_cfg(60, 10));
            let n = Arc::new(AtomicUsize::new(0));
            let k = loc("aws", "a");
            cache
                .get_or_fetch(&k, counting(&n, "v1", Duration::ZERO))
                .await
                .unwrap();
            clock.advance(time::Duration::minutes(61));
            let e = cache
                .fetch_since(&k, None, failing(&n, kind))
                .await
                .unwrap_err();
            assert_eq!(e.kind(), kind);
            // Nor after a transient error that follows: the value is gone.
            let e = cache
                .fetch_since(&k, None, failing(&n, ErrorKind::Unreachable))
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unreachable, "{kind:?}");
        }
        // Resets (sign-out, disconnect, relink of a provider's settings) drop the value.
        let (cache, clock) = setup_with(stale_cfg(60, 10));
        let n = Arc::new(AtomicUsize::new(0));
        let k = loc("aws", "a");
        cache
            .get_or_fetch(&k, counting(&n, "v1", Duration::ZERO))
            .await
            .unwrap();
        clock.advance(time::Duration::minutes(61));
        cache.reset_provider(&ProviderId::from_static("aws"));
        let e = cache
            .fetch_since(&k, None, failing(&n, ErrorKind::Timeout))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        // Off by default.
        let (cache, clock) = setup(60, 10);
        cache
            .get_or_fetch(&k, counting(&n, "v1", Duration::ZERO))
            .await
            .unwrap();
        clock.advance(time::Duration::minutes(61));
        assert!(cache
            .fetch_since(&k, None, failing(&n, ErrorKind::Timeout))
            .await
            .is_err());
    }

    #[tokio::test]
    async fn refresh_ahead_refreshes_in_the_last_tenth_once_and_in_the_background() {
        let mut cfg = CacheConfig::with_ttl_minutes(100);
        cfg.refresh_ahead = true;
        let (cache, clock) = setup_with(cfg);
        let n = Arc::new(AtomicUsize::new(0));
        let k = loc("aws", "a");
        cache
            .get_or_fetch(&k, counting(&n, "v1", Duration::ZERO))
            .await
            .unwrap();
        // Before 80 % of the TTL: no refresh is due, whatever the jitter.
        clock.advance(time::Duration::minutes(79));
        assert!(matches!(cache.with_lookup(|l| l(&k)), Lookup::Fresh(_)));
        // In the last tenth: exactly one reader is asked to refresh.
        clock.advance(time::Duration::minutes(12));
        let Lookup::Refresh(v, generation) = cache.with_lookup(|l| l(&k)) else {
            panic!("a refresh is due");
        };
        assert_eq!(v.expose_secret(), "v1");
        assert!(matches!(cache.with_lookup(|l| l(&k)), Lookup::Fresh(_)));
        cache.refresh(
            &k,
            generation,
            counting(&n, "v2", Duration::from_millis(20)),
        );
        // A second request to refresh while one runs starts nothing.
        cache.refresh(&k, generation, counting(&n, "v3", Duration::ZERO));
        // Readers are served the cached value meanwhile.
        assert_eq!(cache.get(&k).unwrap().expose_secret(), "v1");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(cache.get(&k).unwrap().expose_secret(), "v2");
        assert_eq!(n.load(Ordering::SeqCst), 2);
        // The refreshed value lives a whole TTL from its refresh.
        clock.advance(time::Duration::minutes(50));
        assert_eq!(cache.get(&k).unwrap().expose_secret(), "v2");
    }

    #[tokio::test]
    async fn a_failed_refresh_ahead_keeps_the_value_and_tries_later() {
        let mut cfg = CacheConfig::with_ttl_minutes(100);
        cfg.refresh_ahead = true;
        let (cache, clock) = setup_with(cfg);
        let n = Arc::new(AtomicUsize::new(0));
        let k = loc("aws", "a");
        cache
            .get_or_fetch(&k, counting(&n, "v1", Duration::ZERO))
            .await
            .unwrap();
        clock.advance(time::Duration::minutes(91));
        let Lookup::Refresh(_, generation) = cache.with_lookup(|l| l(&k)) else {
            panic!("a refresh is due");
        };
        cache.refresh(&k, generation, failing(&n, ErrorKind::Unreachable));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(cache.get(&k).unwrap().expose_secret(), "v1");
        assert!(matches!(cache.with_lookup(|l| l(&k)), Lookup::Fresh(_)));
        // Halfway to expiry, it is due again.
        clock.advance(time::Duration::minutes(5));
        assert!(matches!(cache.with_lookup(|l| l(&k)), Lookup::Refresh(..)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_first_misses_share_one_flight_for_every_key() {
        // Found by the load bench: a flight must be registered under the lock its miss was
        // seen under, or two callers of a new key can each start one.
        let (cache, _) = setup(60, 10_000);
        let counts: Arc<Vec<AtomicUsize>> =
            Arc::new((0..300).map(|_| AtomicUsize::new(0)).collect());
        let mut tasks = Vec::new();
        for round in 0..8 {
            for i in 0..300 {
                let cache = cache.clone();
                let counts = counts.clone();
                tasks.push(tokio::spawn(async move {
                    let k = loc("aws", &format!("k{i}"));
                    let _ = round;
                    cache
                        .get_or_fetch(&k, move || {
                            Box::pin(async move {
                                counts[i].fetch_add(1, Ordering::SeqCst);
                                tokio::task::yield_now().await;
                                Ok(SecretString::from("v"))
                            })
                        })
                        .await
                        .unwrap();
                }));
            }
        }
        for t in tasks {
            t.await.unwrap();
        }
        for (i, c) in counts.iter().enumerate() {
            assert_eq!(
                c.load(Ordering::SeqCst),
                1,
                "key {i} fetched more than once"
            );
        }
    }
}
