//! Load: 10,000 concurrent resolves over 1,000 links against a fake provider with random
//! latency (1–20 ms) and a 5 % rate of transient errors, for two TTL windows (an injected
//! clock moves between them). Checks, and prints: at most one successful fetch per link per
//! TTL window (single-flight holds under load), errors are never cached (a link whose fetch
//! failed is fetched again by the next resolve), the fetch limit holds, and the heap stays
//! bounded (dhat's counting allocator: peak and what is left after the resolver is dropped).
//!
//! `cargo bench -p vault-benches --bench load`
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use vault_core::testing::FakeProvider;
use vault_core::{CacheConfig, ManualClock, Resolver, Vault, VaultSecret};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const LINKS: usize = 1_000;
const RESOLVES: usize = 10_000;
const REFS_PER_RESOLVE: usize = 3;

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let rt = vault_benches::runtime();
    let start_heap = dhat::HeapStats::get().curr_bytes;
    let f = Arc::new(
        FakeProvider::new("fake")
            .latency_between(Duration::from_millis(1), Duration::from_millis(20)),
    );
    let mut vault = Vault::new();
    for i in 0..LINKS {
        f.set(&format!("k{i}"), &format!("{i:064}"));
        vault
            .insert(format!("s{i}"), VaultSecret::link(f.link(&format!("k{i}"))))
            .expect("valid name");
    }
    let clock = Arc::new(ManualClock::default());
    let r = Resolver::builder(vault)
        .provider(f.clone())
        .clock(clock.clone())
        .cache(CacheConfig::with_ttl_minutes(60))
        .build();
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    let templates: Vec<String> = (0..RESOLVES)
        .map(|_| {
            (0..REFS_PER_RESOLVE)
                .map(|_| format!("{{{{vault:s{}}}}} ", rng.gen_range(0..LINKS)))
                .collect()
        })
        .collect();
    let templates = Arc::new(templates);

    for window in 1..=2 {
        f.clear_successes();
        f.set_error_rate(0.05);
        let fetches_before = f.fetches();
        let started = Instant::now();
        let (latencies, unresolved) = rt.block_on(async {
            let tasks: Vec<_> = (0..RESOLVES)
                .map(|i| {
                    let r = r.clone();
                    let templates = templates.clone();
                    tokio::spawn(async move {
                        let t = Instant::now();
                        let res = r.resolve(&templates[i], None).await.expect("lenient");
                        (t.elapsed(), res.report.unresolved().count())
                    })
                })
                .collect();
            let mut latencies = Vec::with_capacity(RESOLVES);
            let mut unresolved = 0;
            for t in tasks {
                let (d, u) = t.await.expect("task");
                latencies.push(d);
                unresolved += u;
            }
            (latencies, unresolved)
        });
        let wall = started.elapsed();
        let fetches = f.fetches() - fetches_before;
        let max_successes = f.max_successes_per_key();
        assert!(
            max_successes <= 1,
            "a link was fetched twice in one TTL window"
        );
        assert!(f.max_in_flight() <= 64, "the per-provider limit holds");
        println!(
            "load window {window}: {RESOLVES} concurrent resolves x {REFS_PER_RESOLVE} refs over \
             {LINKS} links: wall {:.1} ms, {fetches} fetches ({} errors, 5 % rate), \
             {unresolved} references unresolved by a transient error, at most {max_successes} \
             successful fetch per link, peak {} fetches in flight",
            wall.as_secs_f64() * 1e3,
            fetches
                - (0..LINKS)
                    .filter(|i| f.successes(&format!("k{i}")) == 1)
                    .count(),
            f.max_in_flight(),
        );
        vault_benches::print_percentiles(
            &format!("load window {window} resolve latency"),
            latencies,
        );

        // Errors are not cached: with the provider healthy again, every link resolves, and
        // the ones already fetched are not fetched again.
        f.set_error_rate(0.0);
        let before = f.fetches();
        let all: String = (0..LINKS).map(|i| format!("{{{{vault:s{i}}}}}")).collect();
        let res = rt.block_on(r.resolve(&all, None)).expect("lenient");
        assert!(res.report.is_complete(), "every link resolves once healthy");
        let refetched = f.fetches() - before;
        assert!(f.max_successes_per_key() <= 1);
        println!(
            "load window {window}: after the storm, {refetched} links fetched again (their \
             earlier fetches had failed and were not cached); every link resolved"
        );
        let heap = dhat::HeapStats::get();
        println!(
            "load window {window}: heap now {} KB, peak so far {} KB, cache holds {} values",
            heap.curr_bytes.saturating_sub(start_heap) / 1024,
            heap.max_bytes / 1024,
            r.cache().len()
        );
        // The next TTL window.
        clock.advance(time::Duration::minutes(61));
    }
    drop(r);
    drop(templates);
    let left = dhat::HeapStats::get().curr_bytes.saturating_sub(start_heap);
    println!(
        "load: after dropping the resolver, {} KB of heap remain above the start",
        left / 1024
    );
}
