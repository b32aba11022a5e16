//! Bounded retries with jittered exponential backoff, honouring `Retry-After`: the one policy
//! every provider's HTTP calls follow.
//!
//! Only what could succeed unchanged is retried (throttling, 5xx, transport failures); the
//! provider decides that. The wait doubles from [`RetryPolicy::base_delay`] up to
//! [`RetryPolicy::max_delay`], scaled by a random 50–100 % so that clients throttled together
//! do not come back together. A server's `Retry-After` is honoured as a minimum; when it asks
//! for longer than [`RetryPolicy::max_retry_after`], the call gives up at once and the caller
//! reports [`ErrorKind::RateLimited`](crate::ErrorKind::RateLimited) with the server's wait,
//! rather than blocking a request for minutes.

use std::time::Duration;

use rand::Rng;
use time::OffsetDateTime;

/// How often and how patiently to retry a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: never retry).
    pub max_attempts: u32,
    /// The backoff before the first retry, doubled at each further retry.
    pub base_delay: Duration,
    /// The most one computed backoff may be.
    pub max_delay: Duration,
    /// The longest `Retry-After` waited for; a longer one ends the retries.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, 200 ms doubling up to 4 s, `Retry-After` up to 30 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(30),
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

    /// The jittered backoff before retry number `retry` (1 for the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(self.max_delay);
        if exp.is_zero() {
            return Duration::ZERO;
        }
        exp.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }

    /// After failed attempt number `attempt` (1-based) of a retryable call: how long to wait
    /// before the next one, or `None` to give up (attempts used up, or the server asked to
    /// wait longer than [`max_retry_after`](Self::max_retry_after)).
    pub fn next_wait(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        match retry_after {
            Some(ra) if ra > self.max_retry_after => None,
            Some(ra) => Some(ra.max(self.backoff(attempt))),
            None => Some(self.backoff(attempt)),
        }
    }
}

/// Parses a `Retry-After` value (RFC 9110 §10.2.3): delay seconds, or an HTTP date
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) taken relative to `now`. A date in the past means no
/// wait; anything else is `None`.
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
    fn backoff_doubles_with_jitter_and_is_bounded() {
        let p = RetryPolicy::default();
        for retry in 1..64 {
            let d = p.backoff(retry);
            assert!(d <= p.max_delay, "{retry}: {d:?}");
        }
        let first = p.backoff(1);
        assert!(
            first >= p.base_delay / 2 && first <= p.base_delay,
            "{first:?}"
        );
        let third = p.backoff(3);
        assert!(
            third >= p.base_delay * 2 && third <= p.base_delay * 4,
            "{third:?}"
        );
        let zero = RetryPolicy {
            base_delay: Duration::ZERO,
            ..p
        };
        assert_eq!(zero.backoff(5), Duration::ZERO);
    }

    #[test]
    fn next_wait_counts_attempts_and_honours_retry_after() {
        let p = RetryPolicy::default();
        assert!(p.next_wait(1, None).is_some());
        assert!(p.next_wait(2, None).is_some());
        assert_eq!(p.next_wait(3, None), None, "3 attempts in all");
        assert_eq!(RetryPolicy::none().next_wait(1, None), None);
        let ra = Duration::from_secs(7);
        assert_eq!(p.next_wait(1, Some(ra)), Some(ra), "a minimum, not a hint");
        assert_eq!(
            p.next_wait(1, Some(Duration::from_secs(31))),
            None,
            "too long: give up"
        );
        let short = p.next_wait(1, Some(Duration::ZERO)).unwrap();
        assert!(
            short >= p.base_delay / 2,
            "backoff still applies: {short:?}"
        );
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
        for bad in ["soon", "", "-1", "1.5", "Sun, 06 Nov 1994 08:49:37 PST"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }
}
