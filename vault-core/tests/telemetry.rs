//! Tracing and counters of the resolver: the events a host filters on happen, with their
//! fields, the counters count, and at TRACE nothing recorded holds a value.

use std::sync::Arc;
use std::time::Duration;

use vault_core::testing::FakeProvider;
use vault_core::trace_capture::TraceRecorder;
use vault_core::{
    AllowedDomains, CacheConfig, ErrorKind, HttpRequest, ProviderId, Resolver, Vault, VaultSecret,
};

const CANARY: &str = "canary-tele-51d0";

fn vault(f: &FakeProvider) -> Vault {
    Vault::new()
        .with("local", VaultSecret::local(CANARY))
        .with("a", VaultSecret::link(f.link("a")))
        .with("b", VaultSecret::link(f.link("b")))
        .with("gone", VaultSecret::link(f.link("gone")))
        .with(
            "fenced",
            VaultSecret::local(CANARY)
                .allowed_domains(AllowedDomains::parse(["x.example"]).unwrap()),
        )
}

#[tokio::test]
async fn resolves_cache_and_fetches_are_traced_and_counted_without_values() {
    let f = Arc::new(FakeProvider::new("fake"));
    f.set("a", &format!("{CANARY}-a"));
    f.set("b", &format!("{CANARY}-b"));
    f.fail("gone", ErrorKind::NotFound);
    let r = Resolver::builder(vault(&f)).provider(f.clone()).build();
    let recorder = TraceRecorder::new();
    let guard = recorder.install();

    // Misses and fetches, one error, one refused domain.
    let out = r
        .resolve(
            "{{vault:local}} {{vault:a}} {{vault:b}} {{vault:gone}} {{vault:fenced}}",
            Some("https://elsewhere.example/"),
        )
        .await
        .unwrap();
    assert!(out.expose().contains(CANARY));
    // Hits (the fast path) and a request.
    r.resolve("{{vault:a}} {{vault:b}}", None).await.unwrap();
    let req = HttpRequest::new("GET", "https://x.example/").header("A", "{{vault:a}}");
    r.resolve_request(&req).await.unwrap();
    assert!(r.get("gone", None).await.is_err());
    drop(guard);

    let m = r.metrics();
    assert_eq!(m.resolves, 4, "{m:?}");
    assert_eq!(m.cache_misses, 3 + 1, "a, b, gone, then gone again: {m:?}");
    assert_eq!(m.cache_hits, 2 + 1, "{m:?}");
    assert_eq!(m.fetches, 4, "{m:?}");
    assert_eq!(m.fetch_errors, 2, "{m:?}");
    assert_eq!(m.errors_of(ErrorKind::NotFound), 2, "{m:?}");
    assert_eq!(m.errors_of(ErrorKind::DomainNotAllowed), 1, "{m:?}");
    assert_eq!(m.total_errors(), 3, "{m:?}");
    assert_eq!(m.sign_ins, 0);

    // The events a host filters on, with their fields.
    let fetches = recorder.events("fetch");
    assert_eq!(fetches.len(), 4, "{}", recorder.text());
    assert!(fetches
        .iter()
        .any(|e| e.field("outcome") == Some("ok") && e.level == "DEBUG"));
    let failed = fetches
        .iter()
        .find(|e| e.field("outcome") == Some("error"))
        .expect("a failed fetch");
    assert_eq!(failed.level, "WARN");
    assert_eq!(failed.field("error_kind"), Some("not found"));
    assert!(failed.field("duration_ms").is_some());
    let spans: Vec<_> = recorder
        .records()
        .into_iter()
        .filter(|r| r.kind == "span" && r.name == "vault.fetch")
        .collect();
    assert!(spans
        .iter()
        .any(|s| s.field("provider") == Some("fake") && s.field("secret") == Some("gone")));
    let cache = recorder.events("cache");
    assert!(cache
        .iter()
        .any(|e| e.field("outcome") == Some("miss") && e.field("secret") == Some("a")));
    let resolves = recorder.events("resolve");
    assert_eq!(resolves.len(), 4, "{}", recorder.text());
    assert_eq!(resolves[0].field("references"), Some("5"));
    assert_eq!(resolves[0].field("unresolved"), Some("2"));
    assert_eq!(resolves[0].field("outcome"), Some("partial"));
    assert_eq!(resolves[1].field("outcome"), Some("resolved"));
    assert!(recorder
        .events("cache: every reference at hand")
        .iter()
        .any(|e| e.field("hits") == Some("2")));

    let text = recorder.text();
    assert!(!text.contains(CANARY), "a value was traced:\n{text}");
}

#[tokio::test]
async fn a_full_fetch_limit_is_traced_as_queueing() {
    let f = Arc::new(FakeProvider::new("fake").latency(Duration::from_millis(30)));
    f.set("a", CANARY);
    f.set("b", CANARY);
    let r = Resolver::builder(vault(&f))
        .provider(f.clone())
        .cache(CacheConfig::default())
        .max_concurrent_fetches(1)
        .build();
    let recorder = TraceRecorder::new();
    let _guard = recorder.install();
    r.resolve("{{vault:a}} {{vault:b}}", None).await.unwrap();
    assert_eq!(r.metrics().fetches_queued, 1);
    let queued = recorder.events("fetch queued");
    assert!(
        queued.iter().any(|e| e.field("outcome") == Some("queued")
            && e.field("provider") == Some("fake")
            && e.field("limit") == Some("1")),
        "{}",
        recorder.text()
    );
    assert!(queued.iter().any(|e| e.field("outcome") == Some("ok")));
    assert!(!recorder.text().contains(CANARY));
}

#[tokio::test]
async fn refresh_ahead_and_stale_values_are_counted() {
    let clock = Arc::new(vault_core::ManualClock::new(time::OffsetDateTime::now_utc()));
    let f = Arc::new(FakeProvider::new("fake"));
    f.set("a", CANARY);
    let mut cache = CacheConfig::with_ttl_minutes(10);
    cache.refresh_ahead = true;
    cache.stale_if_error = Duration::from_secs(600);
    let r = Resolver::builder(vault(&f))
        .provider(f.clone())
        .clock(clock.clone())
        .cache(cache)
        .build();
    let recorder = TraceRecorder::new();
    let _guard = recorder.install();
    r.resolve("{{vault:a}}", None).await.unwrap();
    // Past 90 % of the TTL: the read starts a refresh-ahead.
    clock.advance(time::Duration::seconds(9 * 60 + 30));
    r.resolve("{{vault:a}}", None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(r.metrics().refreshes_ahead, 1, "{:?}", r.metrics());
    assert!(recorder
        .events("cache refresh-ahead")
        .iter()
        .any(|e| e.field("secret") == Some("a")));
    // Expired, the provider down: served stale.
    f.fail("a", ErrorKind::Unreachable);
    clock.advance(time::Duration::seconds(11 * 60));
    let out = r.resolve("{{vault:a}}", None).await.unwrap();
    assert!(out.report.stale().next().is_some());
    assert_eq!(r.metrics().stale_served, 1, "{:?}", r.metrics());
    assert!(!recorder.text().contains(CANARY));
}

#[tokio::test]
async fn counters_are_per_resolver_and_sign_ins_reported_by_providers_count() {
    let f = Arc::new(FakeProvider::new("fake"));
    let r = Resolver::builder(Vault::new()).provider(f.clone()).build();
    let other = Resolver::builder(Vault::new()).provider(f.clone()).build();
    let recorder = TraceRecorder::new();
    let _guard = recorder.install();
    r.sign_in(&ProviderId::new("fake").unwrap()).await.unwrap();
    assert_eq!(r.metrics().sign_ins, 1);
    assert_eq!(r.metrics().sign_in_errors, 0);
    assert_eq!(other.metrics(), vault_core::Metrics::default());
    let e = &recorder.events("sign-in")[0];
    assert_eq!(
        (e.field("provider"), e.field("method"), e.field("outcome")),
        (Some("fake"), Some("fake"), Some("ok"))
    );
    assert_eq!(e.level, "INFO");
}

#[cfg(feature = "json")]
#[tokio::test]
async fn a_json_document_is_one_resolve() {
    let f = Arc::new(FakeProvider::new("fake"));
    f.set("a", CANARY);
    let r = Resolver::builder(vault(&f)).provider(f.clone()).build();
    let recorder = TraceRecorder::new();
    let _guard = recorder.install();
    let mut doc =
        serde_json::json!({"h": ["{{vault:a}}", "{{vault:local}}"], "x": "{{vault:nope}}"});
    r.resolve_json(&mut doc, None).await.unwrap();
    let m = r.metrics();
    assert_eq!((m.resolves, m.cache_misses, m.fetches), (1, 1, 1), "{m:?}");
    assert_eq!(m.errors_of(ErrorKind::UnknownName), 1, "{m:?}");
    let e = &recorder.events("resolve")[0];
    assert_eq!(
        (e.field("references"), e.field("outcome")),
        (Some("3"), Some("partial"))
    );
    assert!(!recorder.text().contains(CANARY));
}
