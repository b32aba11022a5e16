//! A provider for tests and benchmarks of code that *uses* providers (the resolver, the
//! cache, a host app): values in memory, an optional latency, and counters. Behind the
//! `testing` feature; never a stand-in for a real provider's own tests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use secrecy::SecretString;

use crate::error::{Error, ErrorKind};
use crate::interaction::Interaction;
use crate::link::{Link, Locator, ProviderId};
use crate::provider::{Provider, SecretDetails, SettingsPolicy};
use crate::session::SessionState;

/// An in-memory provider. Links have one field, `key`; the value is looked up by key.
pub struct FakeProvider {
    id: ProviderId,
    latency: Duration,
    /// When set, each fetch takes a random time in `latency..=max_latency`.
    max_latency: Option<Duration>,
    /// Probability (in millionths) that a fetch fails as unreachable.
    error_ppm: AtomicU32,
    successes: Mutex<HashMap<String, usize>>,
    policy: SettingsPolicy,
    values: Mutex<HashMap<String, Result<String, ErrorKind>>>,
    session: Mutex<SessionState>,
    fetches: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    sign_outs: AtomicUsize,
}

impl FakeProvider {
    /// A provider with id `id`, no values, no latency, signed in.
    pub fn new(id: &str) -> Self {
        FakeProvider {
            id: ProviderId::new(id).expect("valid provider id"),
            latency: Duration::ZERO,
            max_latency: None,
            error_ppm: AtomicU32::new(0),
            successes: Mutex::new(HashMap::new()),
            policy: SettingsPolicy::AnyUser,
            values: Mutex::new(HashMap::new()),
            session: Mutex::new(SessionState::SignedIn { until: None }),
            fetches: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            sign_outs: AtomicUsize::new(0),
        }
    }

    /// Every fetch takes this long (builder style).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Every fetch takes a random time between `min` and `max` (builder style): for load
    /// tests.
    pub fn latency_between(mut self, min: Duration, max: Duration) -> Self {
        self.latency = min;
        self.max_latency = Some(max.max(min));
        self
    }

    /// Each fetch fails as [`ErrorKind::Unreachable`] with probability `rate` (0 to 1), after
    /// its latency: for load tests.
    pub fn set_error_rate(&self, rate: f64) {
        let ppm = (rate.clamp(0.0, 1.0) * 1e6) as u32;
        self.error_ppm.store(ppm, Ordering::SeqCst);
    }

    /// Number of fetches of `key` that returned a value.
    pub fn successes(&self, key: &str) -> usize {
        let s = self.successes.lock().unwrap_or_else(|e| e.into_inner());
        s.get(key).copied().unwrap_or(0)
    }

    /// The most successful fetches of any one key.
    pub fn max_successes_per_key(&self) -> usize {
        let s = self.successes.lock().unwrap_or_else(|e| e.into_inner());
        s.values().copied().max().unwrap_or(0)
    }

    /// Forgets the per-key success counts (say, at the start of a new TTL window).
    pub fn clear_successes(&self) {
        self.successes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Settings policy (builder style).
    pub fn policy(mut self, policy: SettingsPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the value served for `key`.
    pub fn set(&self, key: &str, value: &str) {
        self.lock_values()
            .insert(key.to_owned(), Ok(value.to_owned()));
    }

    /// Makes fetches of `key` fail with `kind`.
    pub fn fail(&self, key: &str, kind: ErrorKind) {
        self.lock_values().insert(key.to_owned(), Err(kind));
    }

    /// Sets the session state.
    pub fn set_session(&self, state: SessionState) {
        *self.session.lock().unwrap_or_else(|e| e.into_inner()) = state;
    }

    /// A link to `key` of this provider.
    pub fn link(&self, key: &str) -> Link {
        Link::new(self.id.clone()).with("key", key)
    }

    /// Number of fetches started.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// The most fetches that ran at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Number of sign-outs.
    pub fn sign_outs(&self) -> usize {
        self.sign_outs.load(Ordering::SeqCst)
    }

    fn lock_values(&self) -> std::sync::MutexGuard<'_, HashMap<String, Result<String, ErrorKind>>> {
        self.values.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Provider for FakeProvider {
    fn id(&self) -> ProviderId {
        self.id.clone()
    }

    fn display_name(&self) -> &str {
        "fake provider"
    }

    fn settings_policy(&self) -> SettingsPolicy {
        self.policy
    }

    fn validate_link(&self, link: &Link) -> Result<Locator, Error> {
        link.reject_unknown_fields(&["key"])?;
        let key = link.require("key")?;
        if key.is_empty() {
            return Err(Error::new(ErrorKind::InvalidLink, "`key` is empty"));
        }
        Ok(Locator::new(self.id.clone(), key))
    }

    async fn fetch(&self, link: &Link, _: &dyn Interaction) -> Result<SecretString, Error> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let latency = match self.max_latency {
            Some(max) => rand::thread_rng().gen_range(self.latency..=max),
            None => self.latency,
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let session = *self.session.lock().unwrap_or_else(|e| e.into_inner());
        match session {
            SessionState::SignedOut => {
                return Err(Error::new(ErrorKind::SignedOut, "sign in first"))
            }
            SessionState::Expired => {
                return Err(Error::new(ErrorKind::SessionExpired, "sign in again"))
            }
            SessionState::SignedIn { .. } => {}
        }
        let key = link.require("key")?;
        let ppm = self.error_ppm.load(Ordering::SeqCst);
        if ppm > 0 && rand::thread_rng().gen_range(0..1_000_000) < ppm {
            return Err(Error::new(
                ErrorKind::Unreachable,
                format!("fake transient failure for `{key}`"),
            ));
        }
        match self.lock_values().get(key) {
            Some(Ok(v)) => {
                *self
                    .successes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(key.to_owned())
                    .or_insert(0) += 1;
                Ok(SecretString::from(v.as_str()))
            }
            Some(Err(kind)) => Err(Error::new(*kind, format!("fake failure for `{key}`"))),
            None => Err(Error::new(
                ErrorKind::NotFound,
                format!("no fake value for `{key}`"),
            )),
        }
    }

    async fn describe(&self, link: &Link, _: &dyn Interaction) -> Result<SecretDetails, Error> {
        let key = link.require("key")?;
        let mut d = SecretDetails::new(format!("fake:{key}"));
        d.name = Some(key.to_owned());
        Ok(d)
    }

    async fn sign_in(&self, _: &dyn Interaction) -> Result<SessionState, Error> {
        let s = SessionState::SignedIn { until: None };
        self.set_session(s);
        // Reported as the real providers do (see `crate::telemetry::sign_in`).
        crate::telemetry::sign_in(self.id.as_str(), "fake", Ok(()), Duration::ZERO);
        Ok(s)
    }

    async fn sign_out(&self) -> Result<(), Error> {
        self.sign_outs.fetch_add(1, Ordering::SeqCst);
        self.set_session(SessionState::SignedOut);
        Ok(())
    }

    fn session(&self) -> SessionState {
        *self.session.lock().unwrap_or_else(|e| e.into_inner())
    }
}
