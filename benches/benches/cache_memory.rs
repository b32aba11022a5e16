//! Heap held by the cache for 10,000 values of 64 bytes each (target: at most 4 MB),
//! measured with dhat's counting allocator: no unsafe code of ours.
#![allow(missing_docs)]

use std::sync::Arc;

use secrecy::SecretString;
use vault_core::{Cache, CacheConfig, Locator, ProviderId, SystemClock};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const N: usize = 10_000;

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let id = ProviderId::from_static("aws");
    // Realistic canonical locators (an AWS secret ARN is ~70 bytes).
    let keys: Vec<Locator> = (0..N)
        .map(|i| {
            Locator::new(
                id.clone(),
                format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:app/{i:05}-AbCdEf"),
            )
        })
        .collect();
    let key_bytes: usize = keys.iter().map(|k| k.canonical().len()).sum();
    let cache = Cache::new(CacheConfig::default(), Arc::new(SystemClock));
    let before = dhat::HeapStats::get().curr_bytes;
    rt.block_on(async {
        for (i, k) in keys.iter().enumerate() {
            cache
                .get_or_fetch(k, move || {
                    Box::pin(async move { Ok(SecretString::from(format!("{i:064}"))) })
                })
                .await
                .expect("fetched");
        }
    });
    let after = dhat::HeapStats::get().curr_bytes;
    assert_eq!(cache.len(), N);
    let held = after.saturating_sub(before);
    println!(
        "cache_memory: {N} values of 64 bytes: {held} bytes of heap held by the cache \
         ({:.2} MB, {:.0} bytes per entry; the locator texts themselves, {key_bytes} bytes, \
         are shared with the caller and not counted)",
        held as f64 / 1e6,
        held as f64 / N as f64
    );
    drop(cache);
    let released = dhat::HeapStats::get().curr_bytes;
    println!(
        "cache_memory: after dropping the cache, {} bytes remain above the start",
        released.saturating_sub(before)
    );
}
