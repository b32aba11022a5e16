//! AWS Secrets Manager against the local moto (SigV4 + IAM checking on), started by
//! `.ci/peers/start.sh moto`:
//!
//! - `aws_peer/get_secret_value`: one signed GetSecretValue through `AwsProvider::fetch`,
//!   one provider (one HTTP client and connection pool) for all calls;
//! - `aws_peer/resolve_cold_cache`: the full path, `Resolver::resolve` of a one-reference
//!   template with the cache reset before every call (parse, lookup, domain check,
//!   single-flight, fetch, cache insert, render).
//!
//! Before each criterion run it prints the p50 (and p90) of 200 sequential calls, the figure
//! the issue asks for. moto's Werkzeug server answers `Connection: close`, so every call opens
//! a new TCP connection: "one reused connection" is what the client offers, not what moto
//! accepts.
//!
//! ```text
//! .ci/peers/start.sh moto && set -a && . ~/.cache/vault-refs-peers/run/all.env && set +a
//! cargo bench -p vault-benches --bench aws_peer
//! ```
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};
use vault_benches::{peer_var, print_percentiles, runtime};

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use url::Url;
use vault_aws::{AwsProvider, Credentials, Endpoints, Mfa};
use vault_core::{Link, NoInteraction, Provider, Resolver, Vault, VaultSecret};

fn provider() -> AwsProvider {
    AwsProvider::builder()
        .region(peer_var("VAULT_TEST_AWS_REGION", "moto"))
        .static_credentials(Credentials::new(
            peer_var("VAULT_TEST_AWS_ACCESS_KEY_ID", "moto"),
            peer_var("VAULT_TEST_AWS_SECRET_ACCESS_KEY", "moto"),
        ))
        .endpoints(
            Endpoints::default()
                .all(Url::parse(&peer_var("VAULT_TEST_AWS_ENDPOINT", "moto")).unwrap()),
        )
        .mfa(Mfa::Off)
        .build()
        .expect("provider")
}

fn link() -> Link {
    Link::new(vault_aws::PROVIDER_ID)
        .with("secret_arn", peer_var("VAULT_TEST_AWS_SECRET_ARN", "moto"))
}

fn get_secret_value(c: &mut Criterion) {
    let rt = runtime();
    let p = provider();
    let l = link();
    rt.block_on(p.fetch(&l, &NoInteraction))
        .expect("warm-up fetch");
    let samples = rt.block_on(async {
        let mut s = Vec::with_capacity(200);
        for _ in 0..200 {
            let t = Instant::now();
            black_box(p.fetch(&l, &NoInteraction).await.expect("fetch"));
            s.push(t.elapsed());
        }
        s
    });
    print_percentiles("aws_peer/get_secret_value", samples);
    c.bench_function("aws_peer/get_secret_value", |b| {
        b.iter(|| black_box(rt.block_on(p.fetch(&l, &NoInteraction)).expect("fetch")))
    });
}

fn resolve_cold_cache(c: &mut Criterion) {
    let rt = runtime();
    let vault = Vault::new().with("db", VaultSecret::link(link()));
    let resolver = Resolver::builder(vault)
        .provider(Arc::new(provider()))
        .build();
    let text = "password={{vault:db}}";
    let once = |r: &Resolver| {
        r.cache().reset_all();
        let out = rt.block_on(r.resolve(text, None)).expect("resolve");
        assert!(
            out.report.is_complete(),
            "unresolved: {:?}",
            out.report.first_error()
        );
        out
    };
    black_box(once(&resolver));
    let mut samples = Vec::with_capacity(200);
    for _ in 0..200 {
        let t = Instant::now();
        black_box(once(&resolver));
        samples.push(t.elapsed());
    }
    print_percentiles("aws_peer/resolve_cold_cache", samples);
    c.bench_function("aws_peer/resolve_cold_cache", |b| {
        b.iter(|| black_box(once(&resolver)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(8));
    targets = get_secret_value, resolve_cold_cache
}
criterion_main!(benches);
