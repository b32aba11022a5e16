//! The signed-in state: the credentials every call starts from (base keys, or the MFA session
//! made from them), and single-flight sign-in.
//!
//! Concurrent fetches that need a sign-in share one: the first runs it (and asks for the MFA
//! code once), the others wait and use its result, success or failure. A session that ends is
//! reported as [`ErrorKind::SessionExpired`] until the host signs in again: a new MFA prompt
//! must be the host's decision, not a side effect of a background fetch.

use std::future::Future;
use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};
use vault_core::{Error, ErrorKind, SessionState};

use crate::budget::{wait_for_person, Budget};
use crate::credentials::Credentials;
use crate::PROVIDER_ID;

/// A session counts as ended this long before its credentials do, so that a call signed just
/// before the end does not fail in flight.
pub const EXPIRY_MARGIN: Duration = Duration::seconds(30);

/// An established session.
#[derive(Debug)]
pub(crate) struct Session {
    pub creds: Arc<Credentials>,
    pub until: Option<OffsetDateTime>,
    /// When it ends, may it be made again without the user (no MFA code involved)? Then an
    /// expired session is renewed by the next fetch instead of reported.
    pub renews: bool,
    /// Which source won, for `status` (never a key).
    pub source: String,
    /// Where the session store keeps it, when there is a store.
    pub store_key: Option<vault_core::StoreKey>,
    /// Whether it was resumed from the store (the server may still refuse it).
    pub resumed: bool,
}

enum Slot {
    /// Never signed in: the first fetch signs in.
    Fresh,
    Active(Arc<Session>),
    /// Signed out by the host: no automatic sign-in.
    SignedOut,
    Expired,
}

struct State {
    slot: Slot,
    /// Bumped by every sign-out: a sign-in that started before it must not revive the session.
    epoch: u64,
    /// Counts sign-in attempts ended, so that a waiter learns whether one ended while it
    /// waited (also one that had already begun when it came).
    finished: u64,
    /// The last ended attempt's failure, by its `finished` count.
    last_failure: Option<(u64, Error)>,
}

/// How a fetch waits for the sign-in gate: its budget (paused meanwhile) and the limit.
#[derive(Clone, Copy)]
pub(crate) struct GateWait<'a> {
    pub budget: &'a Budget,
    pub limit: std::time::Duration,
}

/// The session and the gate that makes sign-in single-flight.
pub(crate) struct SessionManager {
    state: Mutex<State>,
    gate: tokio::sync::Mutex<()>,
}

impl SessionManager {
    pub fn new() -> Self {
        SessionManager {
            state: Mutex::new(State {
                slot: Slot::Fresh,
                epoch: 0,
                finished: 0,
                last_failure: None,
            }),
            gate: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The usable session at `now`, `Ok(None)` when a first sign-in is due, or why not.
    fn current(state: &mut State, now: OffsetDateTime) -> Result<Option<Arc<Session>>, Error> {
        match &state.slot {
            Slot::Fresh => Ok(None),
            Slot::Active(s) => match s.until {
                Some(until) if until - EXPIRY_MARGIN <= now && s.renews => Ok(None),
                Some(until) if until - EXPIRY_MARGIN <= now => {
                    state.slot = Slot::Expired;
                    Err(expired())
                }
                _ => Ok(Some(s.clone())),
            },
            Slot::SignedOut => Err(Error::new(
                ErrorKind::SignedOut,
                "signed out of AWS: sign in again",
            )
            .with_provider(PROVIDER_ID)),
            Slot::Expired => Err(expired()),
        }
    }

    /// The session, signing in with `establish` when none was made yet.
    pub async fn get_or_sign_in<F, Fut>(
        &self,
        now: OffsetDateTime,
        waits: Option<GateWait<'_>>,
        establish: F,
    ) -> Result<Arc<Session>, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Session, Error>>,
    {
        let seen = {
            let mut st = self.lock();
            match Self::current(&mut st, now)? {
                Some(s) => return Ok(s),
                None => st.finished,
            }
        };
        let _gate = self.enter(waits).await?;
        let epoch = {
            let mut st = self.lock();
            if let Some(s) = Self::current(&mut st, now)? {
                return Ok(s);
            }
            // A sign-in ended while this caller waited (maybe begun before it came): its
            // failure is this caller's too, rather than a sign-in of its own.
            if st.finished != seen {
                if let Some((f, e)) = &st.last_failure {
                    if *f == st.finished {
                        return Err(e.clone());
                    }
                }
            }
            st.epoch
        };
        self.finish(epoch, Self::within(waits, establish()).await)
    }

    /// Signs in again whatever the state, replacing the session.
    pub async fn sign_in<F, Fut>(
        &self,
        waits: Option<GateWait<'_>>,
        establish: F,
    ) -> Result<Arc<Session>, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Session, Error>>,
    {
        let _gate = self.enter(waits).await?;
        let epoch = self.lock().epoch;
        self.finish(epoch, Self::within(waits, establish()).await)
    }

    /// Runs a sign-in within the fetch's budget, so that running out of it is this attempt's
    /// recorded failure (shared with the fetches waiting at the gate) rather than a dropped
    /// future that leaves each of them to start a sign-in of its own.
    async fn within<Fut>(waits: Option<GateWait<'_>>, establish: Fut) -> Result<Session, Error>
    where
        Fut: Future<Output = Result<Session, Error>>,
    {
        match waits {
            Some(w) => w.budget.run(establish).await,
            None => establish.await,
        }
    }

    /// Takes the single-flight gate. Waiting for it is waiting for another task's sign-in,
    /// which may be waiting for a person: with `waits`, bounded by its limit and not counted
    /// against the fetch's budget.
    async fn enter(
        &self,
        waits: Option<GateWait<'_>>,
    ) -> Result<tokio::sync::MutexGuard<'_, ()>, Error> {
        match waits {
            None => Ok(self.gate.lock().await),
            Some(w) => {
                wait_for_person(w.budget, w.limit, "another AWS sign-in", async {
                    Ok(self.gate.lock().await)
                })
                .await
            }
        }
    }

    fn finish(&self, epoch: u64, result: Result<Session, Error>) -> Result<Arc<Session>, Error> {
        let mut st = self.lock();
        st.finished += 1;
        if st.epoch != epoch {
            // Signed out while this sign-in ran: the sign-out wins.
            return Err(Error::new(
                ErrorKind::SignedOut,
                "signed out of AWS while signing in: sign in again",
            )
            .with_provider(PROVIDER_ID));
        }
        match result {
            Ok(s) => {
                let s = Arc::new(s);
                st.slot = Slot::Active(s.clone());
                st.last_failure = None;
                Ok(s)
            }
            Err(e) => {
                st.last_failure = Some((st.finished, e.clone()));
                Err(e)
            }
        }
    }

    /// Forgets the session; fetches fail with "signed out" until the next sign-in.
    pub fn sign_out(&self) -> Option<Arc<Session>> {
        let mut st = self.lock();
        st.epoch += 1;
        st.last_failure = None;
        match std::mem::replace(&mut st.slot, Slot::SignedOut) {
            Slot::Active(s) => Some(s),
            _ => None,
        }
    }

    /// Forgets `session` (resumed from the store, refused by the server) so that the next
    /// fetch signs in normally, if it is still the current one.
    pub fn drop_resumed(&self, session: &Arc<Session>) {
        let mut st = self.lock();
        if matches!(&st.slot, Slot::Active(s) if Arc::ptr_eq(s, session)) {
            st.slot = Slot::Fresh;
            st.last_failure = None;
        }
    }

    /// The current session, if any (expired or not).
    pub fn current_session(&self) -> Option<Arc<Session>> {
        match &self.lock().slot {
            Slot::Active(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// Marks `session` as ended (AWS said its token expired), if it is still the current one.
    pub fn expire(&self, session: &Arc<Session>) {
        let mut st = self.lock();
        if matches!(&st.slot, Slot::Active(s) if Arc::ptr_eq(s, session)) {
            st.slot = Slot::Expired;
        }
    }

    /// The state at `now`, as the host sees it.
    pub fn state(&self, now: OffsetDateTime) -> SessionState {
        let st = self.lock();
        match &st.slot {
            Slot::Fresh | Slot::SignedOut => SessionState::SignedOut,
            Slot::Expired => SessionState::Expired,
            Slot::Active(s) => match s.until {
                Some(until) if until - EXPIRY_MARGIN <= now && !s.renews => SessionState::Expired,
                until => SessionState::SignedIn { until },
            },
        }
    }
}

fn expired() -> Error {
    Error::new(
        ErrorKind::SessionExpired,
        "the AWS MFA session has ended: sign in again",
    )
    .with_provider(PROVIDER_ID)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn t0() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    fn session(until: Option<OffsetDateTime>) -> Session {
        Session {
            creds: Arc::new(Credentials::new("AKIA", "s")),
            until,
            renews: false,
            source: "test".into(),
            store_key: None,
            resumed: false,
        }
    }

    #[tokio::test]
    async fn expiry_then_typed_error_until_sign_in() {
        let m = SessionManager::new();
        assert_eq!(m.state(t0()), SessionState::SignedOut);
        let until = t0() + Duration::hours(1);
        m.get_or_sign_in(t0(), None, || async move { Ok(session(Some(until))) })
            .await
            .unwrap();
        assert_eq!(m.state(t0()), SessionState::SignedIn { until: Some(until) });
        let later = until;
        let e = m
            .get_or_sign_in(later, None, || async {
                panic!("no silent sign-in after expiry")
            })
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SessionExpired);
        assert_eq!(m.state(later), SessionState::Expired);
        m.sign_in(None, || async { Ok(session(None)) })
            .await
            .unwrap();
        assert!(m
            .get_or_sign_in(later, None, || async { unreachable!() })
            .await
            .is_ok());
        m.sign_out();
        let e = m
            .get_or_sign_in(later, None, || async {
                panic!("no sign-in after sign-out")
            })
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SignedOut);
    }

    #[tokio::test]
    async fn sign_out_during_sign_in_wins_and_renewable_sessions_renew() {
        let m = Arc::new(SessionManager::new());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let m2 = m.clone();
        let signing = tokio::spawn(async move {
            m2.sign_in(None, || async move {
                rx.await.ok();
                Ok(session(None))
            })
            .await
        });
        tokio::task::yield_now().await;
        while m.gate.try_lock().is_ok() {
            tokio::task::yield_now().await;
        }
        m.sign_out();
        tx.send(()).unwrap();
        let e = signing.await.unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SignedOut);
        assert_eq!(m.state(t0()), SessionState::SignedOut);

        let m = SessionManager::new();
        let until = t0() + Duration::hours(1);
        m.get_or_sign_in(t0(), None, || async move {
            Ok(Session {
                renews: true,
                ..session(Some(until))
            })
        })
        .await
        .unwrap();
        let calls = AtomicUsize::new(0);
        m.get_or_sign_in(until, None, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(session(None))
        })
        .await
        .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "renewed silently");
    }

    #[tokio::test]
    async fn callers_arriving_during_a_failing_sign_in_share_its_failure() {
        let m = Arc::new(SessionManager::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(tokio::sync::Notify::new());
        let (m1, c1, r1) = (m.clone(), calls.clone(), release.clone());
        let first = tokio::spawn(async move {
            m1.get_or_sign_in(t0(), None, || async move {
                c1.fetch_add(1, Ordering::SeqCst);
                r1.notified().await;
                Err::<Session, _>(Error::new(ErrorKind::Timeout, "no answer"))
            })
            .await
        });
        // the first sign-in has begun before the others come
        while calls.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let later: Vec<_> = (0..3)
            .map(|_| {
                let (m, calls) = (m.clone(), calls.clone());
                tokio::spawn(async move {
                    m.get_or_sign_in(t0(), None, || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        Ok(session(None))
                    })
                    .await
                })
            })
            .collect();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        release.notify_one();
        assert_eq!(first.await.unwrap().unwrap_err().kind(), ErrorKind::Timeout);
        for t in later {
            assert_eq!(t.await.unwrap().unwrap_err().kind(), ErrorKind::Timeout);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one sign-in for all four");
        // a caller coming after the failure tries again
        assert!(m
            .get_or_sign_in(t0(), None, || async { Ok(session(None)) })
            .await
            .is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_first_uses_sign_in_once_and_share_failure() {
        let m = Arc::new(SessionManager::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (m, calls) = (m.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                m.get_or_sign_in(t0(), None, || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    Err::<Session, _>(Error::new(ErrorKind::Cancelled, "no code"))
                })
                .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap_err().kind(), ErrorKind::Cancelled);
        }
        // Everyone who queued behind the failing attempt got its error; only callers that
        // arrived after it finished may try again.
        assert!(calls.load(Ordering::SeqCst) < 8);

        let m = Arc::new(SessionManager::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (m, calls) = (m.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                m.get_or_sign_in(t0(), None, || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    Ok(session(None))
                })
                .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
