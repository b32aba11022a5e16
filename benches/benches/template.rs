//! Template scanning throughput. Target: at least 1 GB/s on 64 KB without references.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use vault_core::Template;

fn scan(c: &mut Criterion) {
    let plain: String = "GET /api/v1/items?page=2 {{not-vault}} Authorization: Bearer xyz\n"
        .repeat(1024)
        .chars()
        .take(64 * 1024)
        .collect();
    let mut g = c.benchmark_group("template");
    g.throughput(Throughput::Bytes(plain.len() as u64));
    g.bench_function("scan_64k_no_refs", |b| {
        b.iter(|| Template::parse(black_box(&plain)))
    });
    let with_refs = vault_benches::template_1k().repeat(64);
    g.throughput(Throughput::Bytes(with_refs.len() as u64));
    g.bench_function("scan_64k_640_refs", |b| {
        b.iter(|| Template::parse(black_box(&with_refs)))
    });
    g.finish();
}

criterion_group!(benches, scan);
criterion_main!(benches);
