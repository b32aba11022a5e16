//! Azure Key Vault through vault-azure against the local peers started by
//! `.ci/peers/start.sh oidc` (the real oidc-provider behind Microsoft identity platform URLs,
//! and the Key Vault stand-in that verifies each bearer JWT's signature against the JWKS):
//!
//! - `azure_peer/browser_sign_in`: one whole browser sign-in through `Provider::sign_in`:
//!   loopback listener on a free port, authorize URL, the headless "browser" following the
//!   identity provider's redirects (auto-approved login and consent, 5 hops with cookies),
//!   the callback, and the code + PKCE exchange at the token endpoint;
//! - `azure_peer/get_secret`: one Get Secret through `AzureProvider::fetch` with the
//!   session's access token, one provider (one HTTP client, one kept-alive connection).
//!
//! Before the criterion runs it prints the time of a first (cold) sign-in and the p50 (p90)
//! of 200 sequential reads, the figures of the issue.
//!
//! ```text
//! .ci/peers/start.sh oidc && set -a && . ~/.cache/vault-refs-peers/run/all.env && set +a
//! cargo bench -p vault-benches --bench azure_peer
//! ```
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::time::Instant;
use vault_benches::{peer_var, print_percentiles, runtime};

use async_trait::async_trait;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use secrecy::SecretString;
use url::Url;
use vault_azure::AzureProvider;
use vault_core::{
    DeviceCode, Error, ErrorKind, Interaction, Link, NoInteraction, Provider, ProviderId,
};

/// Follows the identity provider's redirects with a cookie jar up to the loopback redirect.
struct Browser(reqwest::Client);

#[async_trait]
impl Interaction for Browser {
    async fn open_url(&self, url: &Url) -> Result<(), Error> {
        let fail = |m: String| Error::new(ErrorKind::Other, m);
        let mut cookies = BTreeMap::new();
        let mut at = url.clone();
        for _ in 0..20 {
            let jar: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let resp = self
                .0
                .get(at.clone())
                .header(reqwest::header::COOKIE, jar.join("; "))
                .send()
                .await
                .map_err(|e| fail(e.to_string()))?;
            for c in resp.headers().get_all(reqwest::header::SET_COOKIE) {
                let kv = c.to_str().unwrap_or("").split(';').next().unwrap_or("");
                if let Some((k, v)) = kv.split_once('=') {
                    cookies.insert(k.to_owned(), v.to_owned());
                }
            }
            let loc = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .ok_or_else(|| fail(format!("no redirect ({})", resp.status())))?;
            let next = at
                .join(loc.to_str().unwrap_or(""))
                .map_err(|e| fail(e.to_string()))?;
            if next.origin() != url.origin() {
                self.0
                    .get(next)
                    .send()
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                return Ok(());
            }
            at = next;
        }
        Err(fail("too many redirects".into()))
    }

    async fn show_device_code(&self, _code: &DeviceCode) -> Result<(), Error> {
        Err(Error::new(ErrorKind::Cancelled, "no device codes here"))
    }

    async fn ask_mfa_code(&self, _serial: &str) -> Result<SecretString, Error> {
        Err(Error::new(ErrorKind::Cancelled, "no MFA here"))
    }
}

fn browser() -> Browser {
    Browser(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
    )
}

fn provider() -> AzureProvider {
    AzureProvider::builder()
        .tenant(peer_var("VAULT_TEST_AZURE_TENANT", "oidc"))
        .client_id(peer_var("VAULT_TEST_AZURE_CLIENT_ID", "oidc"))
        .authority(peer_var("VAULT_TEST_AZURE_AUTHORITY", "oidc"))
        .vault_host(peer_var("VAULT_TEST_AZURE_VAULT_HOST", "oidc"))
        .build()
        .expect("provider")
}

fn link() -> Link {
    Link::new(ProviderId::from_static("azure"))
        .with("identifier", peer_var("VAULT_TEST_AZURE_SECRET_ID", "oidc"))
}

fn browser_sign_in(c: &mut Criterion) {
    let rt = runtime();
    let p = provider();
    let b = browser();
    let t = Instant::now();
    rt.block_on(p.sign_in(&b)).expect("first sign-in");
    println!(
        "azure_peer first (cold) browser sign-in: {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut g = c.benchmark_group("azure_peer");
    g.sample_size(20);
    g.bench_function("browser_sign_in", |bench| {
        bench.iter(|| rt.block_on(p.sign_in(&b)).expect("sign-in"))
    });
    g.finish();
}

fn get_secret(c: &mut Criterion) {
    let rt = runtime();
    let p = provider();
    let l = link();
    rt.block_on(p.sign_in(&browser())).expect("sign-in");
    rt.block_on(p.fetch(&l, &NoInteraction))
        .expect("warm-up read");
    let samples = rt.block_on(async {
        let mut s = Vec::with_capacity(200);
        for _ in 0..200 {
            let t = Instant::now();
            black_box(p.fetch(&l, &NoInteraction).await.expect("read"));
            s.push(t.elapsed());
        }
        s
    });
    print_percentiles("azure_peer get_secret", samples);
    c.bench_function("azure_peer/get_secret", |bench| {
        bench.iter(|| black_box(rt.block_on(p.fetch(&l, &NoInteraction)).expect("read")))
    });
}

criterion_group!(benches, browser_sign_in, get_secret);
criterion_main!(benches);
