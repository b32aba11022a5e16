//! One fetch's time budget, and the waits for a person that it does not count.
//!
//! Each AWS call has its own deadline (the transport's); a fetch may make several (MFA
//! discovery, GetSessionToken, AssumeRole, GetSecretValue), so without a budget of its own a
//! fetch against a server that never answers could take several call deadlines. `Budget`
//! is that one deadline: the fetch, its retries and its sign-in calls end within it
//! ([`DEFAULT_FETCH_TIMEOUT`] by default).
//!
//! Time spent waiting for a person is not network time and is not counted: typing an MFA
//! code, approving an SSO device code, a `credential_process` that may prompt, and waiting
//! for another task's sign-in (which may be any of those, or only network calls: a waiting
//! fetch does not know). Each such wait has a limit of its own: the MFA prompt and the wait
//! for another sign-in the sign-in timeout ([`DEFAULT_SIGN_IN_TIMEOUT`]); the SSO approval
//! the device code's lifetime (at most 10 minutes); a `credential_process` its 60 s. None of
//! them holds a lock on the session's state (sign-out and `status` never wait behind them).
//!
//! When the budget runs out during a sign-in, that sign-in fails with the timeout and the
//! fetches waiting for it receive the same error (they do not each start another).

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::Notify;
use tokio::time::Instant;
use vault_core::{DeviceCode, Error, ErrorKind, Interaction};

use crate::PROVIDER_ID;

/// Default budget of one fetch without a person: its calls, retries and sign-in calls.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Default limit of one wait for a person (an MFA code, a device-code approval) or for
/// another task's sign-in.
pub const DEFAULT_SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);

/// The deadline of one fetch, paused while a person is waited for.
pub(crate) struct Budget {
    limit: Duration,
    state: Mutex<State>,
    changed: Notify,
}

struct State {
    deadline: Instant,
    /// Waits for a person in progress (nested waits count once).
    paused: usize,
    paused_since: Option<Instant>,
}

impl Budget {
    /// A budget of `limit`, starting now.
    pub fn new(limit: Duration) -> Self {
        Budget {
            limit,
            state: Mutex::new(State {
                deadline: later(Instant::now(), limit),
                paused: 0,
                paused_since: None,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `op` within the budget: its result, or a timeout error once the budget is spent.
    ///
    /// `op` is polled first: an inner `run` on the same budget (the sign-in inside a fetch)
    /// sees the end of the budget before the outer one and reports it as its own failure.
    pub async fn run<T>(&self, op: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        tokio::select! {
            biased;
            r = op => r,
            () = self.spent() => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "AWS did not answer within {} s (the calls, retries and sign-in calls of \
                     one fetch or sign-in together)",
                    self.limit.as_secs_f64()
                ),
            )
            .with_provider(PROVIDER_ID)
            .with_retryable(true)),
        }
    }

    /// Runs `wait` (a wait for a person) with the budget paused.
    pub async fn paused<F: Future>(&self, wait: F) -> F::Output {
        let _pause = Pause::start(self);
        wait.await
    }

    /// Resolves once the deadline has passed while nothing was paused.
    async fn spent(&self) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before the state is read: a change after the read still wakes us.
            changed.as_mut().enable();
            let (deadline, paused) = {
                let s = self.lock();
                (s.deadline, s.paused > 0)
            };
            if paused {
                changed.await;
                continue;
            }
            if Instant::now() >= deadline {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = changed => {}
            }
        }
    }
}

/// `at + by`, saturating far in the future instead of overflowing (a limit of years).
fn later(at: Instant, by: Duration) -> Instant {
    at.checked_add(by)
        .unwrap_or_else(|| at + Duration::from_secs(100 * 365 * 86_400))
}

/// One wait for a person; the time it took is added to the deadline when the last such wait
/// ends (also when it is cancelled).
struct Pause<'a>(&'a Budget);

impl<'a> Pause<'a> {
    fn start(budget: &'a Budget) -> Self {
        let mut s = budget.lock();
        if s.paused == 0 {
            s.paused_since = Some(Instant::now());
        }
        s.paused += 1;
        drop(s);
        budget.changed.notify_waiters();
        Pause(budget)
    }
}

impl Drop for Pause<'_> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.paused -= 1;
        if s.paused == 0 {
            // A pause that began after the budget ran out gives nothing back.
            if let Some(since) = s.paused_since.take().filter(|t| *t < s.deadline) {
                s.deadline = later(s.deadline, since.elapsed());
            }
        }
        drop(s);
        self.0.changed.notify_waiters();
    }
}

/// A wait for a person, bounded by `limit`, with `budget` paused meanwhile.
pub(crate) async fn wait_for_person<T>(
    budget: &Budget,
    limit: Duration,
    what: &str,
    wait: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    budget
        .paused(tokio::time::timeout(limit, wait))
        .await
        .unwrap_or_else(|_| {
            Err(Error::new(
                ErrorKind::Timeout,
                format!("{what} did not finish within {} s", limit.as_secs()),
            )
            .with_provider(PROVIDER_ID))
        })
}

/// The host's [`Interaction`] as a fetch sees it: prompts pause the fetch's budget and are
/// bounded by the sign-in timeout. (Not an `Interaction` itself: that trait is for owned,
/// `'static` host objects.)
pub(crate) struct Attended<'a> {
    pub inner: &'a dyn Interaction,
    pub budget: &'a Budget,
    pub limit: Duration,
}

impl Attended<'_> {
    /// Shows a device code (returns at once; the polling that follows pauses the budget).
    pub async fn show_device_code(&self, code: &DeviceCode) -> Result<(), Error> {
        self.inner.show_device_code(code).await
    }

    /// Asks for a code of the MFA device `serial`, within the sign-in timeout.
    pub async fn ask_mfa_code(&self, serial: &str) -> Result<SecretString, Error> {
        wait_for_person(
            self.budget,
            self.limit,
            "waiting for the MFA code",
            self.inner.ask_mfa_code(serial),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_fetch_ends_at_its_budget() {
        let b = Budget::new(Duration::from_secs(30));
        let started = Instant::now();
        let r: Result<(), Error> = b.run(std::future::pending()).await;
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.message().contains("30 s"), "{e}");
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_for_a_person_is_not_counted() {
        let b = Budget::new(Duration::from_secs(30));
        let started = Instant::now();
        let r = b
            .run(async {
                tokio::time::sleep(Duration::from_secs(20)).await;
                // a person takes two minutes to type a code
                b.paused(tokio::time::sleep(Duration::from_secs(120))).await;
                tokio::time::sleep(Duration::from_secs(9)).await;
                Ok::<_, Error>("done")
            })
            .await;
        assert_eq!(r.unwrap(), "done");
        assert_eq!(started.elapsed(), Duration::from_secs(149));

        // ... but the network time after it still is: 20 + 11 s > 30 s
        let b = Budget::new(Duration::from_secs(30));
        let started = Instant::now();
        let r = b
            .run(async {
                tokio::time::sleep(Duration::from_secs(20)).await;
                b.paused(tokio::time::sleep(Duration::from_secs(120))).await;
                tokio::time::sleep(Duration::from_secs(11)).await;
                Ok::<_, Error>("done")
            })
            .await;
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Timeout);
        assert_eq!(started.elapsed(), Duration::from_secs(150));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_wait_resumes_the_budget() {
        let b = Budget::new(Duration::from_secs(30));
        let started = Instant::now();
        let r: Result<(), Error> = b
            .run(async {
                let wait = b.paused(std::future::pending::<()>());
                let _ = tokio::time::timeout(Duration::from_secs(50), wait).await;
                std::future::pending().await
            })
            .await;
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Timeout);
        assert_eq!(started.elapsed(), Duration::from_secs(80));
    }

    #[tokio::test(start_paused = true)]
    async fn a_person_has_the_sign_in_timeout() {
        let b = Budget::new(Duration::from_secs(30));
        let started = Instant::now();
        let r: Result<(), Error> = wait_for_person(
            &b,
            Duration::from_secs(300),
            "waiting for the MFA code",
            std::future::pending(),
        )
        .await;
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.message().contains("MFA code"), "{e}");
        assert_eq!(started.elapsed(), Duration::from_secs(300));
    }
}
