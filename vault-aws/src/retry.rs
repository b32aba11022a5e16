//! Bounded retries with jittered exponential backoff, honouring `Retry-After`.
//!
//! Only throttling, 5xx answers and transport failures (connect errors, timeouts) are retried:
//! anything else would fail the same way again. Full jitter spreads the retries of many
//! clients throttled at once.

use std::time::Duration;

use rand::Rng;
use time::OffsetDateTime;

/// How often and how patiently to retry a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: never retry).
    pub max_attempts: u32,
    /// The backoff before the first retry, doubled at each retry.
    pub base_delay: Duration,
    /// The most one backoff may be.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a server asking for more gets this much.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, 100 ms doubling up to 2 s, `Retry-After` up to 20 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry number `retry` (1 for the first retry): a random time up to the
    /// exponential backoff, but at least what the server asked for in `Retry-After`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(self.max_delay);
        let jittered = if exp.is_zero() {
            Duration::ZERO
        } else {
            rand::thread_rng().gen_range(Duration::ZERO..=exp)
        };
        match retry_after {
            Some(ra) => jittered.max(ra.min(self.max_retry_after)),
            None => jittered,
        }
    }
}

/// Parses a `Retry-After` value: whole seconds, or an HTTP date (`Sun, 06 Nov 1994 08:49:37
/// GMT`) taken relative to `now`. A date in the past means no wait.
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(v, format).ok()?.assume_utc();
    Some(Duration::try_from(at - now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn delays_are_bounded_and_respect_retry_after() {
        let p = RetryPolicy::default();
        for retry in 1..40 {
            let d = p.delay(retry, None);
            assert!(d <= p.max_delay, "{retry}: {d:?}");
        }
        assert!(p.delay(1, None) <= Duration::from_millis(100));
        assert!(p.delay(1, Some(Duration::from_secs(3))) >= Duration::from_secs(3));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(20)
        );
        let zero = RetryPolicy {
            base_delay: Duration::ZERO,
            ..RetryPolicy::default()
        };
        assert_eq!(zero.delay(3, None), Duration::ZERO);
    }

    #[test]
    fn retry_after_forms() {
        let now = datetime!(1994-11-06 08:49:30 UTC);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
