//! Refresh-ahead: a hot key read in a tight loop across several TTL boundaries, with
//! `refresh_ahead` on and off, against a fake provider answering in 20 ms. With it on, every
//! read stays at cache-hit latency (the refresh runs in the background before the value
//! expires); with it off, one read per TTL window waits for the fetch.
//!
//! `cargo bench -p vault-benches --bench refresh_ahead`
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use vault_core::testing::FakeProvider;
use vault_core::{CacheConfig, Resolver, Vault, VaultSecret};

const TTL: Duration = Duration::from_millis(500);
const RUN: Duration = Duration::from_millis(2_600);
const LATENCY: Duration = Duration::from_millis(20);

fn run(refresh_ahead: bool) {
    let rt = vault_benches::runtime();
    let f = Arc::new(FakeProvider::new("fake").latency(LATENCY));
    f.set("k", &"v".repeat(32));
    let vault = Vault::new().with("hot", VaultSecret::link(f.link("k")));
    let cache = CacheConfig {
        ttl: TTL,
        refresh_ahead,
        ..CacheConfig::default()
    };
    let r = Resolver::builder(vault)
        .provider(f.clone())
        .cache(cache)
        .build();
    let text = "Authorization: Bearer {{vault:hot}}";
    rt.block_on(r.resolve(text, None)).expect("warm");
    let mut samples = Vec::with_capacity(2_000_000);
    let mut waited = 0;
    rt.block_on(async {
        let start = Instant::now();
        while start.elapsed() < RUN {
            let fetches = f.fetches();
            let t = Instant::now();
            let res = r.resolve(text, None).await.expect("resolved");
            let took = t.elapsed();
            samples.push(took);
            // A read that waited for a fetch: one started meanwhile, and the read took at
            // least the provider's latency.
            if took >= LATENCY && f.fetches() > fetches {
                waited += 1;
            }
            assert!(res.report.is_complete());
        }
    });
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let slow = samples
        .iter()
        .filter(|d| **d > Duration::from_millis(1))
        .count();
    println!(
        "refresh_ahead={refresh_ahead}: {} reads over {} TTL windows of {} ms: p50 {:.2} µs, \
         p99 {:.2} µs, p99.9 {:.2} µs, max {:.1} µs; {slow} reads over 1 ms (scheduling \
         included), {waited} reads waited for a fetch; {} fetches",
        samples.len(),
        RUN.as_millis() / TTL.as_millis(),
        TTL.as_millis(),
        us(at(0.5)),
        us(at(0.99)),
        us(at(0.999)),
        us(*samples.last().expect("samples")),
        f.fetches(),
    );
}

fn main() {
    run(false);
    run(true);
}
