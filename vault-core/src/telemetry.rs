//! Tracing and metrics: what the resolver and the providers tell a host about their work,
//! never a secret.
//!
//! # Events and spans (feature `tracing`, on by default)
//!
//! Every span and event is emitted with the [`tracing`](https://docs.rs/tracing) crate; its
//! target is the emitting module (`vault_core::…`, `vault_aws::…`, `vault_azure::…`,
//! `vault_hashicorp::…`), so `vault_core=debug,vault_aws=debug` selects them. A host that
//! does not want the dependency turns the feature off (`default-features = false` on
//! `vault-core` and on each provider crate); the [counters](Metrics) work either way.
//!
//! | what | level | name / message | fields |
//! | --- | --- | --- | --- |
//! | a resolve | DEBUG | span `vault.resolve`, event `resolve` | `references`, `unresolved`, `outcome`, `duration_ms` |
//! | a cache lookup | TRACE | `cache` | `provider`, `secret`, `outcome` (`hit`, `miss`, `stale`) |
//! | a refresh-ahead started | DEBUG | `cache refresh-ahead` | `provider`, `secret` |
//! | a fetch | DEBUG (WARN when it fails) | span `vault.fetch`, event `fetch` | `provider`, `secret`, `outcome`, `error_kind`, `error`, `duration_ms` |
//! | a fetch waits for the concurrency limit | DEBUG (WARN on timeout) | `fetch queued` | `provider`, `limit`, `outcome`, `duration_ms` |
//! | a sign-in | INFO (WARN when it fails) | `sign-in` | `provider`, `method`, `outcome`, `error_kind`, `error`, `duration_ms` |
//! | a retry | INFO | `retry` | `provider`, `call`, `attempt`, `wait_ms`, `reason` |
//! | a session resumed / saved | DEBUG | `session` | `provider`, `action` (`resume`, `save`), `outcome` |
//!
//! Field names (see [`fields`]): a host filters and aggregates on them.
//!
//! * `provider`: the integration's id (`aws`, `azure`, `hashicorp`...).
//! * `secret`: the vault secret's *name*, never its value and never its link's locator.
//! * `outcome`: `ok`, `error`, `hit`, `miss`, `stale`, `resolved`, `partial`, `unresolved`,
//!   `queued`, `timeout`, `none`.
//! * `error_kind`: [`ErrorKind::as_str`] (`not found`, `rate limited`...).
//! * `error`: the [`Error`]'s display, which by contract never holds a secret value, a token,
//!   a URL's userinfo or query, or server text repeating a credential.
//! * `attempt` (1-based), `wait_ms`, `duration_ms`: numbers.
//! * `method`: how a provider signed in (`client secret`, `refresh token`, `approle`,
//!   `profile`...): the method's name, never its material.
//! * `call`, `reason`: what a provider retried (`GetSecretValue`, `token`) and why (`status
//!   429`, `unreachable`).
//!
//! **Guarantee**: at every level, TRACE included, no field and no message of these crates
//! holds a secret value, a token, a password or client secret, an authorization header, a
//! request body or server text that could repeat a credential (the workspace's canary tests
//! record every field of every event of every target at TRACE and search them). Dependencies
//! (`hyper`, `h2`, `rustls`, `reqwest`) emit their own events under their own targets;
//! enable them only when debugging a connection.
//!
//! # Counters
//!
//! [`Resolver::metrics`](crate::Resolver::metrics) returns a [`Metrics`] snapshot: plain
//! atomics, counted whether or not the `tracing` feature is on. Sign-ins and retries are
//! reported by the providers through [`sign_in`] and [`retry`]; they are counted for the
//! resolver whose fetch or sign-in the provider is running (a sign-in started elsewhere, by
//! a host calling the provider directly, is traced but counted nowhere).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind};

/// The field names of the events and spans of this workspace (documentation for hosts that
/// filter on them; see the [module](self) for what each holds).
pub mod fields {
    /// The integration's id.
    pub const PROVIDER: &str = "provider";
    /// The vault secret's name (never a value).
    pub const SECRET: &str = "secret";
    /// How it ended (`ok`, `error`, `hit`, `miss`...).
    pub const OUTCOME: &str = "outcome";
    /// The error's kind ([`ErrorKind::as_str`](crate::ErrorKind::as_str)).
    pub const ERROR_KIND: &str = "error_kind";
    /// The error's display (never secret material).
    pub const ERROR: &str = "error";
    /// The attempt number, 1-based.
    pub const ATTEMPT: &str = "attempt";
    /// The wait before the next attempt, in milliseconds.
    pub const WAIT_MS: &str = "wait_ms";
    /// How long it took, in milliseconds.
    pub const DURATION_MS: &str = "duration_ms";
    /// The sign-in method or credential source.
    pub const METHOD: &str = "method";
    /// The provider call retried.
    pub const CALL: &str = "call";
    /// Why it is retried (`status 429`, `unreachable`).
    pub const REASON: &str = "reason";
    /// The number of references of a resolve.
    pub const REFERENCES: &str = "references";
    /// The number of them left unresolved.
    pub const UNRESOLVED: &str = "unresolved";
}

/// Emits a `tracing` event when the feature is on; nothing (and no field evaluated) when off.
macro_rules! event {
    ($($t:tt)*) => {{
        #[cfg(feature = "tracing")]
        {
            ::tracing::event!($($t)*);
        }
    }};
}
pub(crate) use event;

/// Every [`ErrorKind`], in the order of [`Metrics::errors`].
const KINDS: [ErrorKind; 23] = [
    ErrorKind::UnknownName,
    ErrorKind::Disabled,
    ErrorKind::DomainNotAllowed,
    ErrorKind::MissingEnv,
    ErrorKind::InvalidReference,
    ErrorKind::InvalidLink,
    ErrorKind::InvalidConfig,
    ErrorKind::ProviderUnavailable,
    ErrorKind::Disconnected,
    ErrorKind::SignedOut,
    ErrorKind::SessionExpired,
    ErrorKind::AuthFailed,
    ErrorKind::NotAllowed,
    ErrorKind::NotFound,
    ErrorKind::PermissionDenied,
    ErrorKind::Unavailable,
    ErrorKind::RateLimited,
    ErrorKind::Unreachable,
    ErrorKind::Timeout,
    ErrorKind::InvalidResponse,
    ErrorKind::InvalidRequest,
    ErrorKind::Cancelled,
    ErrorKind::Other,
];

/// The counter of `kind`: an exhaustive match, so a new kind does not compile until it has
/// its place in [`KINDS`].
fn kind_index(kind: ErrorKind) -> usize {
    match kind {
        ErrorKind::UnknownName => 0,
        ErrorKind::Disabled => 1,
        ErrorKind::DomainNotAllowed => 2,
        ErrorKind::MissingEnv => 3,
        ErrorKind::InvalidReference => 4,
        ErrorKind::InvalidLink => 5,
        ErrorKind::InvalidConfig => 6,
        ErrorKind::ProviderUnavailable => 7,
        ErrorKind::Disconnected => 8,
        ErrorKind::SignedOut => 9,
        ErrorKind::SessionExpired => 10,
        ErrorKind::AuthFailed => 11,
        ErrorKind::NotAllowed => 12,
        ErrorKind::NotFound => 13,
        ErrorKind::PermissionDenied => 14,
        ErrorKind::Unavailable => 15,
        ErrorKind::RateLimited => 16,
        ErrorKind::Unreachable => 17,
        ErrorKind::Timeout => 18,
        ErrorKind::InvalidResponse => 19,
        ErrorKind::InvalidRequest => 20,
        ErrorKind::Cancelled => 21,
        ErrorKind::Other => 22,
    }
}

/// A snapshot of a resolver's counters since it was built (see
/// [`Resolver::metrics`](crate::Resolver::metrics)). Counters only grow; subtract two
/// snapshots for a rate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Resolve calls (a template, a request, a JSON document, one `get`, one `check`).
    pub resolves: u64,
    /// Linked references answered from the cache (fresh or stale).
    pub cache_hits: u64,
    /// Linked references the cache did not hold (each led to a fetch or joined one).
    pub cache_misses: u64,
    /// Values served past their TTL after a transient failure (stale-if-error).
    pub stale_served: u64,
    /// Background refreshes started before a value expired (refresh-ahead).
    pub refreshes_ahead: u64,
    /// Fetches asked of a provider (joined fetches count once).
    pub fetches: u64,
    /// Fetches that failed.
    pub fetch_errors: u64,
    /// Fetches that had to wait for a slot of their provider's concurrency limit.
    pub fetches_queued: u64,
    /// Sign-ins the providers made for this resolver (interactive or silent, successful or
    /// not).
    pub sign_ins: u64,
    /// Sign-ins that failed.
    pub sign_in_errors: u64,
    /// Retries of provider calls (429, 5xx, transport failures).
    pub retries: u64,
    /// Unresolved references by kind, one per distinct name per resolve; kinds never seen
    /// are left out. See [`errors_of`](Self::errors_of).
    pub errors: Vec<(ErrorKind, u64)>,
}

impl Metrics {
    /// The unresolved references of `kind`.
    pub fn errors_of(&self, kind: ErrorKind) -> u64 {
        self.errors
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }

    /// All unresolved references, whatever the kind.
    pub fn total_errors(&self) -> u64 {
        self.errors.iter().map(|(_, n)| n).sum()
    }
}

/// The live counters of one resolver.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) resolves: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    pub(crate) cache_misses: AtomicU64,
    pub(crate) stale_served: AtomicU64,
    pub(crate) refreshes_ahead: AtomicU64,
    pub(crate) fetches: AtomicU64,
    pub(crate) fetch_errors: AtomicU64,
    pub(crate) fetches_queued: AtomicU64,
    pub(crate) sign_ins: AtomicU64,
    pub(crate) sign_in_errors: AtomicU64,
    pub(crate) retries: AtomicU64,
    errors: [AtomicU64; KINDS.len()],
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Relaxed);
        }
    }

    pub(crate) fn error(&self, kind: ErrorKind) {
        self.errors[kind_index(kind)].fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Metrics {
        let get = |c: &AtomicU64| c.load(Relaxed);
        Metrics {
            resolves: get(&self.resolves),
            cache_hits: get(&self.cache_hits),
            cache_misses: get(&self.cache_misses),
            stale_served: get(&self.stale_served),
            refreshes_ahead: get(&self.refreshes_ahead),
            fetches: get(&self.fetches),
            fetch_errors: get(&self.fetch_errors),
            fetches_queued: get(&self.fetches_queued),
            sign_ins: get(&self.sign_ins),
            sign_in_errors: get(&self.sign_in_errors),
            retries: get(&self.retries),
            errors: KINDS
                .iter()
                .zip(&self.errors)
                .map(|(k, n)| (*k, get(n)))
                .filter(|(_, n)| *n > 0)
                .collect(),
        }
    }
}

tokio::task_local! {
    /// The counters of the resolver whose fetch or sign-in is running in this task.
    static CURRENT: Arc<Counters>;
}

/// Runs `f` with `counters` as the ones providers' [`sign_in`] and [`retry`] reports count in.
pub(crate) fn scoped<F: Future>(counters: Arc<Counters>, f: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(counters, f)
}

fn with_current(f: impl FnOnce(&Counters)) {
    let _ = CURRENT.try_with(|c| f(c));
}

/// Milliseconds, for the `duration_ms` and `wait_ms` fields.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The start of something to time, when an event at `DEBUG` could record its duration
/// (`None` otherwise: the clock is not read on hot paths nobody listens to).
pub(crate) fn start() -> Option<Instant> {
    #[cfg(feature = "tracing")]
    if tracing::level_enabled!(tracing::Level::DEBUG) {
        return Some(Instant::now());
    }
    None
}

/// Milliseconds since `start`, 0 when not timed.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn since(start: Option<Instant>) -> u64 {
    start.map_or(0, |s| millis(s.elapsed()))
}

/// For providers: a sign-in to `provider` by `method` (a source or flow name, never its
/// material) ended with `result` after `elapsed`. Emits the `sign-in` event and counts it for
/// the resolver whose call is running.
pub fn sign_in(provider: &str, method: &str, result: Result<(), &Error>, elapsed: Duration) {
    with_current(|c| {
        Counters::add(&c.sign_ins, 1);
        if result.is_err() {
            Counters::add(&c.sign_in_errors, 1);
        }
    });
    let _ = (provider, method, elapsed);
    match result {
        Ok(()) => event!(
            tracing::Level::INFO,
            provider,
            method,
            outcome = "ok",
            duration_ms = millis(elapsed),
            "sign-in"
        ),
        Err(e) => {
            let _ = e;
            event!(
                tracing::Level::WARN,
                provider,
                method,
                outcome = "error",
                error_kind = e.kind().as_str(),
                error = %e,
                duration_ms = millis(elapsed),
                "sign-in"
            )
        }
    }
}

/// For providers: call `call` (`GetSecretValue`, `token`: a name, never a URL) failed on
/// attempt `attempt` (1-based) for `reason` (`status 429`, `unreachable`) and is tried again
/// after `wait`. Emits the `retry` event and counts it for the resolver whose call is running.
pub fn retry(provider: &str, call: &str, attempt: u32, wait: Duration, reason: &str) {
    with_current(|c| Counters::add(&c.retries, 1));
    let _ = (provider, call, attempt, wait, reason);
    event!(
        tracing::Level::INFO,
        provider,
        call,
        attempt,
        wait_ms = millis(wait),
        reason,
        "retry"
    );
}

/// What a session event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionAction {
    /// A saved session was read back at start.
    Resume,
    /// The session was saved for the next process.
    Save,
}

/// For providers: a saved session was resumed or the session saved, with `outcome` (`ok`,
/// `none` when there was nothing to resume, `error`). Emits the `session` event.
pub fn session(provider: &str, action: SessionAction, outcome: &str) {
    let action = match action {
        SessionAction::Resume => "resume",
        SessionAction::Save => "save",
    };
    let _ = (provider, action, outcome);
    event!(tracing::Level::DEBUG, provider, action, outcome, "session");
}

/// Describes the cause of a transport failure in a few words for an error message (`dns
/// error`, `tls error: invalid peer certificate`, `connection refused`...), from its
/// [`source`](std::error::Error::source) chain; `None` when nothing in the chain says.
///
/// For providers mapping a `reqwest::Error` (or any other client's): the words come from the
/// chain's own messages, with anything looking like a URL left out, so the result never holds
/// a URL's userinfo or query.
pub fn transport_cause(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut chain: Vec<&(dyn std::error::Error + 'static)> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        chain.push(e);
        next = e.source();
    }
    let texts: Vec<String> = chain.iter().map(|e| e.to_string()).collect();
    let lower: Vec<String> = texts.iter().map(|t| t.to_ascii_lowercase()).collect();
    let any = |needle: &str| lower.iter().any(|t| t.contains(needle));
    // The innermost message that is not a URL-bearing wrapper, for detail.
    let detail = texts
        .iter()
        .rev()
        .find(|t| !t.contains("://") && !t.trim().is_empty())
        .map(|t| t.trim().to_owned());
    let io_kind = chain.iter().find_map(|e| {
        e.downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .filter(|k| *k != std::io::ErrorKind::Other)
    });
    let head = if any("dns error") || any("failed to lookup address") || any("name or service") {
        "dns error"
    } else if any("certificate")
        || any("tls")
        || any("handshake")
        || any("corrupt message")
        || any("close_notify")
    {
        "tls error"
    } else if let Some(kind) = io_kind {
        match kind {
            std::io::ErrorKind::ConnectionRefused => "connection refused",
            std::io::ErrorKind::ConnectionReset => "connection reset",
            std::io::ErrorKind::ConnectionAborted => "connection aborted",
            std::io::ErrorKind::TimedOut => "timed out",
            std::io::ErrorKind::UnexpectedEof => "connection closed early",
            _ => "i/o error",
        }
    } else if any("connection refused") {
        "connection refused"
    } else if any("connection closed") || any("incomplete message") {
        "connection closed early"
    } else {
        return detail.map(|d| clip(&d));
    };
    Some(match detail {
        // "connection refused (os error 111)": the detail says it already.
        Some(d) if d.to_ascii_lowercase().starts_with(head) => clip(&d),
        Some(d) => format!("{head}: {}", clip(&d)),
        None => head.to_owned(),
    })
}

/// At most 160 characters of a dependency's message, control characters out.
fn clip(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(160).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_their_indices_agree() {
        for (i, k) in KINDS.iter().enumerate() {
            assert_eq!(kind_index(*k), i, "{k:?}");
        }
    }

    #[test]
    fn every_kind_has_its_own_counter() {
        let c = Counters::default();
        for k in KINDS {
            c.error(k);
        }
        c.error(ErrorKind::NotFound);
        let m = c.snapshot();
        assert_eq!(m.errors.len(), KINDS.len());
        assert_eq!(m.errors_of(ErrorKind::NotFound), 2);
        assert_eq!(m.errors_of(ErrorKind::Other), 1);
        assert_eq!(m.total_errors(), KINDS.len() as u64 + 1);
    }

    #[tokio::test]
    async fn provider_reports_count_only_inside_a_resolver_scope() {
        let c = Arc::new(Counters::default());
        let e = Error::new(ErrorKind::AuthFailed, "bad code");
        sign_in("aws", "profile", Ok(()), Duration::ZERO);
        scoped(c.clone(), async {
            sign_in("aws", "profile", Ok(()), Duration::ZERO);
            sign_in("aws", "profile", Err(&e), Duration::ZERO);
            retry("aws", "GetSecretValue", 1, Duration::ZERO, "status 429");
        })
        .await;
        let m = c.snapshot();
        assert_eq!((m.sign_ins, m.sign_in_errors, m.retries), (2, 1, 1));
    }

    #[derive(Debug)]
    struct Wrap(&'static str, Option<std::io::Error>);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Wrap {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_ref().map(|e| e as _)
        }
    }

    #[test]
    fn transport_cause_names_dns_tls_and_io_without_urls() {
        let dns = Wrap(
            "error sending request for url (https://user:pw@x.invalid/?sig=1)",
            Some(std::io::Error::other("dns error: failed to lookup address")),
        );
        let cause = transport_cause(&dns).unwrap();
        assert!(cause.starts_with("dns error"), "{cause}");
        assert!(!cause.contains("pw") && !cause.contains("sig="), "{cause}");
        let tls = Wrap(
            "client error (Connect)",
            Some(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "invalid peer certificate: UnknownIssuer",
            )),
        );
        assert_eq!(
            transport_cause(&tls).unwrap(),
            "tls error: invalid peer certificate: UnknownIssuer"
        );
        let refused = Wrap(
            "tcp connect error",
            Some(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        );
        assert!(transport_cause(&refused)
            .unwrap()
            .starts_with("connection refused"));
    }
}
