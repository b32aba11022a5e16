//! vault-hashicorp against the local OpenBao of the test harness: the figures of issue 4.
//!
//! * `kv_v2_read`: one KV v2 read through the provider (signed in, token cached, one
//!   keep-alive connection); before criterion runs, 200 sequential reads are timed one by one
//!   and their p50/p90/p99 printed.
//! * `sign_in`: the whole sign-in: discovery, loopback listener, the scripted browser
//!   (userpass login + API authorize + callback), code exchange, JWKS + id_token validation,
//!   JWT login.
//!
//! ```text
//! .ci/peers/start.sh openbao
//! set -a; . ~/.cache/vault-refs-peers/run/all.env; set +a
//! cargo bench -p vault-benches --bench hashicorp_peer
//! ```
#![forbid(unsafe_code)]
// criterion_group! generates an undocumented function
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};
use vault_benches::{peer_var, print_percentiles, runtime};

use criterion::{criterion_group, criterion_main, Criterion};
use secrecy::{ExposeSecret, SecretString};
use vault_core::{Link, Provider};
use vault_hashicorp::headless::UserpassBrowser;
use vault_hashicorp::setup::{self, Mode, PlannedRequest, SetupConfig, SetupOutcome};
use vault_hashicorp::{HashicorpProvider, Namespace, VaultAddress};

struct World {
    rt: tokio::runtime::Runtime,
    outcome: SetupOutcome,
    browser: Arc<UserpassBrowser>,
}

fn world() -> World {
    let rt = runtime();
    let addr = peer_var("VAULT_TEST_BAO_ADDR", "openbao");
    let outcome = rt.block_on(async {
        let mut c = SetupConfig::new(
            &addr,
            SecretString::from(peer_var("VAULT_TEST_BAO_ROOT_TOKEN", "openbao")),
        )
        .unwrap();
        c.read = vec![vault_hashicorp::read_policy::ReadPath::parse("secret/app/*").unwrap()];
        setup::run(&c, Mode::Apply, &mut |_: &PlannedRequest| true)
            .await
            .expect("setup")
    });
    let browser = Arc::new(UserpassBrowser::new(
        VaultAddress::parse(&addr).unwrap(),
        Namespace::root(),
        &peer_var("VAULT_TEST_BAO_USER", "openbao"),
        SecretString::from(peer_var("VAULT_TEST_BAO_PASS", "openbao")),
        &outcome.oidc_provider_url,
    ));
    World {
        rt,
        outcome,
        browser,
    }
}

fn provider(o: &SetupOutcome) -> HashicorpProvider {
    HashicorpProvider::builder(&o.oidc_provider_url, &o.client_id)
        .redirect_uri("http://127.0.0.1:0/")
        .build()
        .unwrap()
}

fn benches(c: &mut Criterion) {
    let w = world();
    let p = provider(&w.outcome);
    let link = Link::new(vault_hashicorp::PROVIDER_ID)
        .with("engine", "secret")
        .with("path", "app/db")
        .with("key", "password");
    w.rt.block_on(p.sign_in(w.browser.as_ref())).unwrap();

    // the figure asked for: p50 of 200 sequential reads on one connection
    let samples: Vec<Duration> = w.rt.block_on(async {
        let _ = p.fetch(&link, w.browser.as_ref()).await.unwrap(); // warm: mount version, connection
        let mut v = Vec::with_capacity(200);
        for _ in 0..200 {
            let t = Instant::now();
            let s = p.fetch(&link, w.browser.as_ref()).await.unwrap();
            v.push(t.elapsed());
            assert!(!s.expose_secret().is_empty());
        }
        v
    });
    print_percentiles("hashicorp_peer/kv_v2_read", samples);

    c.bench_function("hashicorp_peer/kv_v2_read", |b| {
        b.iter(|| w.rt.block_on(p.fetch(&link, w.browser.as_ref())).unwrap())
    });

    let mut group = c.benchmark_group("hashicorp_peer");
    group.sample_size(20);
    group.bench_function("sign_in", |b| {
        b.iter(|| {
            let fresh = provider(&w.outcome);
            w.rt.block_on(fresh.sign_in(w.browser.as_ref())).unwrap()
        })
    });
    group.finish();
}

criterion_group!(hashicorp, benches);
criterion_main!(hashicorp);
