//! Role credentials, one set per role ARN, shared by every secret that names the role and
//! kept until shortly before they expire. Concurrent first uses of a role assume it once: each
//! role has its own async lock, held while AssumeRole runs.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};
use vault_core::Error;

use crate::arn::RoleArn;
use crate::credentials::Credentials;

/// Role credentials are renewed this long before they expire.
pub const REFRESH_MARGIN: Duration = Duration::minutes(5);

type Slot = Arc<tokio::sync::Mutex<Option<Arc<Credentials>>>>;

/// The role credentials cache.
#[derive(Default)]
pub(crate) struct RoleCache {
    roles: Mutex<HashMap<RoleArn, Slot>>,
}

impl RoleCache {
    /// The role's credentials, assuming it with `assume` when none are cached or they are about
    /// to expire.
    pub async fn get<F, Fut>(
        &self,
        role: &RoleArn,
        now: OffsetDateTime,
        assume: F,
    ) -> Result<Arc<Credentials>, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Credentials, Error>>,
    {
        let slot = {
            let mut roles = self.roles.lock().unwrap_or_else(|e| e.into_inner());
            roles.entry(role.clone()).or_default().clone()
        };
        let mut cached = slot.lock().await;
        if let Some(c) = cached.as_ref() {
            if !matches!(c.expires(), Some(t) if t - REFRESH_MARGIN <= now) {
                return Ok(c.clone());
            }
        }
        let fresh = Arc::new(assume().await?);
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    /// Puts credentials resumed from the session store.
    pub fn put(&self, role: RoleArn, creds: Credentials) {
        let slot: Slot = Arc::new(tokio::sync::Mutex::new(Some(Arc::new(creds))));
        self.roles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(role, slot);
    }

    /// Forgets one role's credentials (AWS said they expired before we expected).
    pub fn forget(&self, role: &RoleArn) {
        self.roles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(role);
    }

    /// Forgets every role's credentials (sign-in, sign-out).
    pub fn clear(&self) {
        self.roles.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn assumed_once_and_refreshed_before_expiry() {
        let cache = Arc::new(RoleCache::default());
        let role = RoleArn::parse("arn:aws:iam::123456789012:role/r").unwrap();
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let calls = Arc::new(AtomicUsize::new(0));
        let assume = move |calls: Arc<AtomicUsize>| async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(Credentials::new("ASIA", "s").with_expiry(t0 + Duration::hours(1)))
        };
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (cache, role, calls) = (cache.clone(), role.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache.get(&role, t0, || assume(calls)).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let near_end = t0 + Duration::minutes(56);
        cache
            .get(&role, near_end, || assume(calls.clone()))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        cache.clear();
        cache
            .get(&role, t0, || assume(calls.clone()))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
