//! The bound on concurrent upstream calls per provider: thousands of links in one resolve
//! queue for a slot instead of opening thousands of connections at once (and running out of
//! file descriptors). The wait for a slot has a deadline; an error from it says it comes from
//! this limit, not from the provider.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, ErrorKind};

pub use crate::cache::DEFAULT_MAX_CONCURRENT_FETCHES;
use crate::link::ProviderId;
use crate::telemetry::{event, Counters};

/// Default longest wait for a free slot.
pub const DEFAULT_FETCH_QUEUE_TIMEOUT: Duration = Duration::from_secs(30);

/// One semaphore per provider id.
pub(super) struct Limits {
    max: usize,
    wait: Duration,
    slots: Mutex<HashMap<ProviderId, Arc<Semaphore>>>,
}

impl Limits {
    pub(super) fn new(max: usize, wait: Duration) -> Self {
        Limits {
            max: max.max(1),
            wait,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a slot of `provider`; the slot is given back when the permit drops.
    pub(super) async fn acquire(
        &self,
        provider: &ProviderId,
        counters: &Counters,
    ) -> Result<OwnedSemaphorePermit, Error> {
        let semaphore = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots
                .entry(provider.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(self.max)))
                .clone()
        };
        if let Ok(permit) = semaphore.clone().try_acquire_owned() {
            return Ok(permit);
        }
        // Every slot is taken: this fetch queues.
        Counters::add(&counters.fetches_queued, 1);
        let start = std::time::Instant::now();
        event!(
            tracing::Level::DEBUG,
            provider = provider.as_str(),
            limit = self.max as u64,
            outcome = "queued",
            "fetch queued"
        );
        match tokio::time::timeout(self.wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => {
                let _ = start;
                event!(
                    tracing::Level::DEBUG,
                    provider = provider.as_str(),
                    limit = self.max as u64,
                    outcome = "ok",
                    duration_ms = crate::telemetry::millis(start.elapsed()),
                    "fetch queued"
                );
                Ok(permit)
            }
            Ok(Err(_)) => Err(Error::new(ErrorKind::Other, "the fetch limit was closed")),
            Err(_) => {
                event!(
                    tracing::Level::WARN,
                    provider = provider.as_str(),
                    limit = self.max as u64,
                    outcome = "timeout",
                    duration_ms = crate::telemetry::millis(start.elapsed()),
                    "fetch queued"
                );
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                    "waited {} s for a free slot among this program's {} concurrent requests to \
                     `{provider}` (vault-refs' own limit, `[cache] max_concurrent_fetches`); \
                     the provider was not asked",
                    self.wait.as_secs_f32(),
                    self.max
                ),
                )
                .with_provider(provider.clone()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_full_limit_queues_then_says_it_is_ours() {
        let limits = Limits::new(2, Duration::from_secs(5));
        let counters = Counters::default();
        let id = ProviderId::from_static("aws");
        let a = limits.acquire(&id, &counters).await.unwrap();
        let _b = limits.acquire(&id, &counters).await.unwrap();
        // Another provider has its own slots.
        let _other = limits
            .acquire(&ProviderId::from_static("azure"), &counters)
            .await
            .unwrap();
        let e = limits.acquire(&id, &counters).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.to_string().contains("vault-refs' own limit"), "{e}");
        assert!(e.is_retryable());
        assert_eq!(
            counters.snapshot().fetches_queued,
            1,
            "only the third one queued"
        );
        drop(a);
        assert!(limits.acquire(&id, &counters).await.is_ok());
    }
}
