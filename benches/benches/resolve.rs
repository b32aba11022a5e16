//! Resolve paths. Targets: a cache-hit resolve of a 1 KB template with 10 references under
//! 1 µs; 100 distinct links at 10 ms each in one resolve in at most 30 ms of wall time.
//! Also times 1,000 concurrent resolves of one uncached link (the single fetch itself is
//! asserted in vault-core's tests).
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use vault_benches::{linked_resolver, runtime, template_1k};

fn cache_hit(c: &mut Criterion) {
    let rt = runtime();
    let (r, _) = linked_resolver(10, Duration::ZERO);
    let t = template_1k();
    rt.block_on(r.resolve(&t, None)).expect("warm the cache");
    c.bench_function("resolve/cache_hit_1k_10_refs", |b| {
        b.iter(|| {
            let out = futures_executor_block_on(r.resolve(black_box(&t), None));
            black_box(out.expect("resolved"))
        })
    });
}

/// The cache-hit path never awaits anything, so it is polled to completion in place: this
/// measures the resolver, not a runtime's scheduling.
fn futures_executor_block_on<F: std::future::Future>(f: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn concurrent_one_link(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("resolve");
    g.sample_size(10);
    g.bench_function("1000_concurrent_one_uncached_link_10ms", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (r, f) = linked_resolver(1, Duration::from_millis(10));
                let start = Instant::now();
                rt.block_on(async {
                    let tasks: Vec<_> = (0..1000)
                        .map(|_| {
                            let r = r.clone();
                            tokio::spawn(async move { r.resolve("{{vault:s0}}", None).await })
                        })
                        .collect();
                    for t in tasks {
                        t.await.expect("task").expect("resolved");
                    }
                });
                total += start.elapsed();
                assert_eq!(f.fetches(), 1);
            }
            total
        })
    });
    g.bench_function("100_distinct_links_10ms_one_resolve", |b| {
        let text: String = (0..100).map(|i| format!("{{{{vault:s{i}}}}} ")).collect();
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (r, _) = linked_resolver(100, Duration::from_millis(10));
                let start = Instant::now();
                rt.block_on(r.resolve(&text, None)).expect("resolved");
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, cache_hit, concurrent_one_link);
criterion_main!(benches);
