//! Benchmarks of vault-core's hot paths (criterion). Run them with
//! `cargo bench -p vault-benches`; figures are reported in the notes, never asserted in tests.
//!
//! * `template`: scanning text for references (64 KB without references, and with some).
//! * `resolve`: a cache-hit resolve of a 1 KB template with 10 references; 1,000 concurrent
//!   resolves of one uncached link; 100 distinct links fetched in one resolve.
//! * `cache_memory`: heap bytes held by the cache for 10,000 values of 64 bytes (dhat).
//! * `cold_start`: a one-shot `vaultctl get` per provider against the local peers, a new
//!   process per run (build `vaultctl` in release first; see the bench's doc).
//! * `store_load`: the encrypted store at start (open, decrypt, find a session; list local
//!   secrets) and one locked, atomic save.
//! * `middleware`: a request with 10 cached references through a `reqwest-middleware` client
//!   with and without `VaultMiddleware` (no network), and `resolve_http` alone.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use vault_core::testing::FakeProvider;
use vault_core::{Mode, Resolver, Vault, VaultSecret};

/// A resolver over `n` linked secrets `s0..s{n-1}` of a fake provider with `latency`, values
/// of 32 bytes.
pub fn linked_resolver(n: usize, latency: Duration) -> (Resolver, Arc<FakeProvider>) {
    let f = Arc::new(FakeProvider::new("fake").latency(latency));
    let mut vault = Vault::new();
    for i in 0..n {
        f.set(&format!("k{i}"), &format!("{:0>32}", i));
        vault
            .insert(format!("s{i}"), VaultSecret::link(f.link(&format!("k{i}"))))
            .expect("valid name");
    }
    let r = Resolver::builder(vault)
        .provider(f.clone())
        .mode(Mode::Strict)
        .build();
    (r, f)
}

/// About 1 KB of request-like text with references to `s0..s9`.
pub fn template_1k() -> String {
    let mut t = String::new();
    for i in 0..10 {
        t.push_str(&format!(
            "header-{i}: Bearer {{{{vault:s{i}}}}}; lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor\n"
        ));
    }
    t
}

/// A two-worker Tokio runtime, as the benches share the machine's two cores.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A variable written by the peer script of `peer`; a bench without it cannot run, so it
/// stops with the way to start the peer.
pub fn peer_var(name: &str, peer: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} not set: run `.ci/peers/start.sh {peer}`, then \
             `set -a; . ~/.cache/vault-refs-peers/run/all.env; set +a`"
        )
    })
}

/// Prints p50, p90, p99, min and max of sequential call times: the figures the issues ask
/// for, which criterion's mean does not give.
pub fn print_percentiles(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let Some(max) = samples.last().copied() else {
        return;
    };
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{label}: {} sequential calls, p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, min {:.3} ms, max {:.3} ms",
        samples.len(),
        ms(at(0.5)),
        ms(at(0.9)),
        ms(at(0.99)),
        ms(samples[0]),
        ms(max),
    );
}
