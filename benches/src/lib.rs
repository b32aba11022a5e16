//! Benchmarks of vault-core's hot paths (criterion). Run them with
//! `cargo bench -p vault-benches`; figures are reported in the notes, never asserted in tests.
//!
//! * `template`: scanning text for references (64 KB without references, and with some).
//! * `resolve`: a cache-hit resolve of a 1 KB template with 10 references; 1,000 concurrent
//!   resolves of one uncached link; 100 distinct links fetched in one resolve.
//! * `cache_memory`: heap bytes held by the cache for 10,000 values of 64 bytes (dhat).
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
