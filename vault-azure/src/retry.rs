//! Bounded retries with jittered exponential backoff, honouring `Retry-After`.
//!
//! Key Vault throttles per vault and per caller (429 with `Retry-After` in seconds) and the
//! identity platform sheds load with 429/503: waiting as told is both polite and the fastest
//! way through. A `Retry-After` longer than [`RetryPolicy::max_retry_after`] is not waited
//! for: the caller gets a `RateLimited` error that says when to try again.

use std::time::Duration;

use rand::Rng;
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;

/// How often and how long to retry a failed call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubled each time, with jitter.
    pub base_delay: Duration,
    /// Cap of one computed backoff.
    pub max_delay: Duration,
    /// The longest `Retry-After` waited for.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        }
    }

    /// The wait before retry number `retry` (1-based): the server's `Retry-After` if it sent
    /// one, else `base * 2^(retry-1)` capped at `max_delay`, scaled by a random 50-100 % so
    /// that many clients do not retry in lockstep.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(d) = retry_after {
            return d;
        }
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        capped.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }
}

/// Parses a `Retry-After` value: delta seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = OffsetDateTime::parse(v, &Rfc2822).ok()?;
    let delta = when - now;
    Some(if delta.is_negative() {
        Duration::ZERO
    } else {
        Duration::try_from(delta).unwrap_or(Duration::ZERO)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = datetime!(2026-11-28 10:00:00 UTC);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sat, 28 Nov 2026 10:00:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after("Sat, 28 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            max_retry_after: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let d1 = p.delay(1, None);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d2 = p.delay(2, None);
            assert!(d2 >= Duration::from_millis(100) && d2 <= Duration::from_millis(200));
            let d9 = p.delay(9, None);
            assert!(d9 <= Duration::from_millis(300));
        }
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
    }
}
