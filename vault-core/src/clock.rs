//! The clock, injected so that TTLs and session expiry are tested without sleeping.
//!
//! Two readings: wall time ([`Clock::now`], for session ends and anything shown to a user) and
//! a monotonic reading ([`Clock::monotonic`], for measuring how long something has been held:
//! the cache's TTLs). A wall clock can be stepped back (NTP, a user, a VM resumed); measuring
//! a value's age on it would extend the value's life, so ages are measured on the monotonic one.

use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use time::{Duration, OffsetDateTime};

/// A source of the current time (UTC) and of a monotonic reading.
pub trait Clock: Send + Sync + 'static {
    /// Now, on the wall clock.
    fn now(&self) -> OffsetDateTime;

    /// Time elapsed since a fixed, arbitrary origin, on a clock that never goes back: only
    /// differences between two readings mean anything. The default reads the process's
    /// monotonic clock; a test clock that drives TTLs implements it too (as [`ManualClock`]
    /// does), or the cache ages values in real time.
    fn monotonic(&self) -> std::time::Duration {
        process_monotonic()
    }
}

/// The process's monotonic clock as a duration since its first reading.
fn process_monotonic() -> std::time::Duration {
    static ORIGIN: LazyLock<Instant> = LazyLock::new(Instant::now);
    ORIGIN.elapsed()
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn monotonic(&self) -> std::time::Duration {
        process_monotonic()
    }
}

/// A clock that moves only when told to: for tests. [`advance`](Self::advance) moves the wall
/// and the monotonic reading together; [`step_wall`](Self::step_wall) moves the wall clock
/// alone, as an NTP correction or a user changing the time would.
#[derive(Debug)]
pub struct ManualClock(Mutex<Readings>);

#[derive(Debug, Clone, Copy)]
struct Readings {
    wall: OffsetDateTime,
    monotonic: std::time::Duration,
}

impl ManualClock {
    /// A clock standing at `start` (its monotonic reading starts at zero).
    pub fn new(start: OffsetDateTime) -> Self {
        ManualClock(Mutex::new(Readings {
            wall: start,
            monotonic: std::time::Duration::ZERO,
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Readings> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves the clock forward by `by`: wall time and the monotonic reading alike. A negative
    /// `by` moves the wall clock back and leaves the monotonic reading where it is.
    pub fn advance(&self, by: Duration) {
        let mut t = self.lock();
        t.wall += by;
        if let Ok(forward) = std::time::Duration::try_from(by) {
            t.monotonic += forward;
        }
    }

    /// Steps the wall clock alone by `by` (forward or back); the monotonic reading stays.
    pub fn step_wall(&self, by: Duration) {
        self.lock().wall += by;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new(OffsetDateTime::UNIX_EPOCH + Duration::days(20_000))
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        self.lock().wall
    }

    fn monotonic(&self) -> std::time::Duration {
        self.lock().monotonic
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_drives_both_readings() {
        let c = ManualClock::default();
        let (w0, m0) = (c.now(), c.monotonic());
        c.advance(Duration::minutes(5));
        assert_eq!(c.now() - w0, Duration::minutes(5));
        assert_eq!(c.monotonic() - m0, std::time::Duration::from_secs(300));
        c.step_wall(Duration::hours(-1));
        assert_eq!(c.now() - w0, Duration::minutes(-55));
        assert_eq!(c.monotonic() - m0, std::time::Duration::from_secs(300));
    }

    #[test]
    fn system_monotonic_never_goes_back() {
        let a = SystemClock.monotonic();
        let b = SystemClock.monotonic();
        assert!(b >= a);
    }
}
