//! Cost of the encrypted store at start: what a `vaultctl` run pays before its first request
//! (open the handle, read + decrypt + parse the file, find one session; list the local
//! secrets), and the cost of one locked, atomic save, for a realistic store: 3 sessions of
//! 2 KB (Azure refresh tokens are about that), 50 persisted values of 64 bytes, 20 local
//! secrets.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use secrecy::SecretString;
use vault_core::{FileStore, Locator, PersistentValues, ProviderId, SessionStore, StoreKey};

fn dir() -> PathBuf {
    std::env::temp_dir().join(format!("vault-bench-store-{}", std::process::id()))
}

fn store(dir: &PathBuf) -> FileStore {
    FileStore::builder()
        .dir(dir)
        .keychain(false)
        .build()
        .expect("store")
}

fn fill(s: &FileStore) {
    for p in ["azure", "hashicorp", "aws"] {
        let key = StoreKey::new(ProviderId::new(p).unwrap(), format!("{p}-identity"));
        s.save(&key, &SecretString::from("x".repeat(2048))).unwrap();
    }
    let now = time::OffsetDateTime::now_utc();
    for i in 0..50 {
        let l = Locator::new(ProviderId::from_static("aws"), format!("arn:{i}"));
        s.save_value(
            &l,
            &SecretString::from(format!("{i:0>64}")),
            now,
            Duration::from_secs(3600),
        );
    }
    for i in 0..20 {
        s.set_local_secret(
            &format!("local-{i}"),
            &SecretString::from(format!("{i:0>40}")),
            &[],
        )
        .unwrap();
    }
}

fn load(c: &mut Criterion) {
    let d = dir();
    let _ = std::fs::remove_dir_all(&d);
    fill(&store(&d));
    let size = std::fs::metadata(d.join("store.enc")).unwrap().len();
    println!("store file: {size} bytes");
    let key = StoreKey::new(ProviderId::from_static("aws"), "aws-identity");
    let mut g = c.benchmark_group("store");
    g.bench_function("open_and_load_one_session", |b| {
        b.iter(|| black_box(store(&d).load(black_box(&key)).unwrap()))
    });
    let s = store(&d);
    g.bench_function("local_secrets", |b| {
        b.iter(|| black_box(s.local_secrets().unwrap()))
    });
    g.bench_function("save_one_session_locked_atomic", |b| {
        b.iter(|| s.save(&key, &SecretString::from("y".repeat(2048))).unwrap())
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&d);
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = load
}
criterion_main!(benches);
