//! Overhead of `vault_core::middleware::VaultMiddleware`: one request with 10 cached
//! references (URL, headers, JSON body) through a `reqwest-middleware` client whose last
//! middleware answers in place (no network), against the same request without the vault
//! middleware. Target: under 5 µs of difference per request.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use http::Extensions;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use vault_benches::{linked_resolver, runtime};
use vault_core::middleware::VaultMiddleware;

/// Answers every request with an empty 200, so only the middleware chain is measured.
struct Answer;

#[async_trait::async_trait]
impl Middleware for Answer {
    async fn handle(
        &self,
        req: reqwest::Request,
        _: &mut Extensions,
        _: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        black_box(&req);
        Ok(http::Response::new(Vec::<u8>::new()).into())
    }
}

fn client(with_vault: Option<VaultMiddleware>) -> ClientWithMiddleware {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut b = ClientBuilder::new(http);
    if let Some(m) = with_vault {
        b = b.with(m);
    }
    b.with(Answer).build()
}

/// Polls a future that never waits (cache hits, in-place answer) to completion.
fn run<F: std::future::Future>(f: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

const BODY: &str = r#"{"a": "{{vault:s4}}", "b": "{{vault:s5}}", "c": "{{vault:s6}}", "d": "{{vault:s7}}", "e": "{{vault:s8}}", "f": "{{vault:s9}}"}"#;

fn send(client: &ClientWithMiddleware) -> reqwest::Response {
    let body = BODY;
    let req = client
        .post("https://api.example.com/v1/{{vault:s0}}/items?key={{vault:s1}}")
        .header("authorization", "Bearer {{vault:s2}}")
        .header("x-api-key", "{{vault:s3}}")
        .header("content-type", "application/json")
        .body(body);
    run(req.send()).expect("answered")
}

fn overhead(c: &mut Criterion) {
    let (resolver, _) = linked_resolver(10, Duration::ZERO);
    let all: String = (0..10).map(|i| format!("{{{{vault:s{i}}}}}")).collect();
    // Fetch every link once (on a runtime): every later request is all cache hits.
    runtime()
        .block_on(resolver.resolve(&all, None))
        .expect("warm the cache");
    let with = client(Some(VaultMiddleware::new(resolver.clone())));
    let without = client(None);
    send(&with);
    let mut g = c.benchmark_group("middleware");
    g.bench_function("request_10_cached_refs/with_vault_middleware", |b| {
        b.iter(|| black_box(send(&with)))
    });
    g.bench_function("request_10_cached_refs/without", |b| {
        b.iter(|| black_box(send(&without)))
    });
    // The resolver's share of the overhead: the same request as an `http::Request`.
    let options = vault_core::http::HttpOptions::default();
    g.bench_function("request_10_cached_refs/resolve_http_only", |b| {
        b.iter(|| {
            let req = http::Request::post(
                "https://api.example.com/v1/{{vault:s0}}/items?key={{vault:s1}}",
            )
            .header("authorization", "Bearer {{vault:s2}}")
            .header("x-api-key", "{{vault:s3}}")
            .header("content-type", "application/json")
            .body(BODY.as_bytes().to_vec())
            .expect("request");
            black_box(run(resolver.resolve_http(req, &options)).expect("resolved"))
        })
    });
    g.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
