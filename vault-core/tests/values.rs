//! How values are served: JSON fields (`json_key`), stale-if-error flagged in the report,
//! refresh-ahead, the per-provider fetch limit, and ages on the monotonic clock, all through
//! the resolver over the in-memory provider and the manual clock.

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use vault_core::testing::FakeProvider;
use vault_core::{
    CacheConfig, ErrorKind, Link, ManualClock, Mode, Outcome, ProviderId, Resolver, Role, Vault,
    VaultSecret,
};

const DOC: &str = r#"{"username":"admin","password":"s3cr3t-canary","port":5432,
    "db":{"host":"db.internal","replicas":["r0","r1"]}}"#;

fn json_link(f: &FakeProvider, key: &str, field: &str) -> VaultSecret {
    VaultSecret::link(f.link(key).with("json_key", field))
}

fn clocked(
    f: &Arc<FakeProvider>,
    vault: Vault,
    cache: CacheConfig,
) -> (Resolver, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::default());
    let r = Resolver::builder(vault)
        .provider(f.clone())
        .clock(clock.clone())
        .cache(cache)
        .build();
    (r, clock)
}

#[tokio::test]
async fn json_fields_of_one_secret_cost_one_fetch() {
    let f = Arc::new(FakeProvider::new("fake"));
    f.set("db", DOC);
    f.set("plain", "not-json-canary");
    let vault = Vault::new()
        .with("user", json_link(&f, "db", "username"))
        .with("pass", json_link(&f, "db", "password"))
        .with("port", json_link(&f, "db", "port"))
        .with("host", json_link(&f, "db", "/db/host"))
        .with("replica", json_link(&f, "db", "/db/replicas/1"))
        .with("nested", json_link(&f, "db", "/db/replicas"))
        .with("whole", VaultSecret::link(f.link("db")))
        .with("missing", json_link(&f, "db", "/db/password"))
        .with("notjson", json_link(&f, "plain", "password"));
    let r = Resolver::builder(vault).provider(f.clone()).build();
    let res = r
        .resolve(
            "{{vault:user}}:{{vault:pass}}@{{vault:host}}:{{vault:port}} {{vault:replica}} \
             {{vault:nested}} {{vault:missing}} {{vault:notjson}}",
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        res.expose(),
        r#"admin:s3cr3t-canary@db.internal:5432 r1 ["r0","r1"] {{vault:missing}} {{vault:notjson}}"#
    );
    assert_eq!(f.fetches(), 2, "one fetch per source: `db` and `plain`");
    // The whole document is the same cached source.
    let whole = r.value("whole").await.unwrap();
    assert_eq!(whole.expose_secret(), DOC);
    assert_eq!(f.fetches(), 2);
    let unresolved: Vec<_> = res.report.unresolved().collect();
    assert_eq!(unresolved.len(), 2);
    for (entry, (kind, field)) in unresolved.iter().zip([
        (ErrorKind::NotFound, "/db/password"),
        (ErrorKind::Unavailable, "password"),
    ]) {
        let Outcome::Unresolved(e) = &entry.outcome else {
            unreachable!()
        };
        assert_eq!(e.kind(), kind);
        let text = e.to_string();
        assert!(text.contains(field), "{text}");
        assert!(text.contains("(fake)"), "names the provider: {text}");
        assert!(!text.contains("canary"), "never the value: {text}");
        assert!(!format!("{e:?}").contains("canary"));
    }
}

#[tokio::test]
async fn a_bad_json_key_is_an_invalid_link_and_the_provider_never_sees_the_key() {
    let f = Arc::new(FakeProvider::new("fake"));
    f.set("db", DOC);
    let vault = Vault::new()
        .with("bad", json_link(&f, "db", "/a~2"))
        .with("empty", json_link(&f, "db", ""));
    let r = Resolver::builder(vault).provider(f.clone()).build();
    let errors = r.invalid_links();
    assert_eq!(errors.len(), 2);
    assert!(errors.iter().all(|e| e.kind() == ErrorKind::InvalidLink));
    // FakeProvider rejects unknown link keys: `json_key` was stripped before validation.
    r.set_secret("ok", json_link(&f, "db", "username")).unwrap();
    assert_eq!(r.value("ok").await.unwrap().expose_secret(), "admin");
    let details = r.describe("ok").await.unwrap();
    assert_eq!(details.id, "fake:db");
}

fn stale_config(ttl_minutes: u64, stale_minutes: u64) -> CacheConfig {
    let mut c = CacheConfig::with_ttl_minutes(ttl_minutes);
    c.stale_if_error = Duration::from_secs(stale_minutes * 60);
    c
}

#[tokio::test]
async fn stale_values_are_flagged_in_the_report_and_check() {
    let f = Arc::new(FakeProvider::new("fake"));
    f.set("k", "v1");
    let vault = Vault::new().with("s", VaultSecret::link(f.link("k")));
    let (r, clock) = clocked(&f, vault, stale_config(60, 15));
    let res = r.resolve("{{vault:s}}", None).await.unwrap();
    assert!(!res.report.entries()[0].stale);
    clock.advance(time::Duration::minutes(61));
    f.fail("k", ErrorKind::Unreachable);
    let res = r.resolve("{{vault:s}}", None).await.unwrap();
    assert_eq!(res.expose(), "v1");
    assert!(res.report.entries()[0].stale, "flagged stale");
    assert_eq!(res.report.stale().count(), 1);
    assert!(res.report.is_complete());
    let status = r.check().await;
    assert!(status[0].stale);
    assert_eq!(status[0].outcome, Outcome::Resolved);
    // Past TTL + 15 minutes: the error, in strict mode too.
    clock.advance(time::Duration::minutes(15));
    let res = r.resolve("{{vault:s}}", None).await.unwrap();
    assert!(res.report.has(ErrorKind::Unreachable));
    // A permission error is never ridden out.
    f.set("k", "v2");
    r.resolve("{{vault:s}}", None).await.unwrap();
    clock.advance(time::Duration::minutes(61));
    f.fail("k", ErrorKind::PermissionDenied);
    let res = r.resolve("{{vault:s}}", None).await.unwrap();
    assert!(res.report.has(ErrorKind::PermissionDenied));
}

#[tokio::test]
async fn stale_is_never_served_after_sign_out_disconnect_or_relink() {
    let f = Arc::new(FakeProvider::new("fake"));
    f.set("k", "v1");
    f.set("k2", "other");
    let id = ProviderId::new("fake").unwrap();
    let vault = Vault::new().with("s", VaultSecret::link(f.link("k")));
    let (r, clock) = clocked(&f, vault, stale_config(60, 60));
    r.resolve("{{vault:s}}", None).await.unwrap();
    clock.advance(time::Duration::minutes(61));
    f.fail("k", ErrorKind::Timeout);
    r.sign_out(&id).await.unwrap();
    r.sign_in(&id).await.unwrap();
    let res = r.resolve("{{vault:s}}", None).await.unwrap();
    assert!(res.report.has(ErrorKind::Timeout), "after sign-out");

    f.set("k", "v1");
    r.resolve("{{vault:s}}", None).await.unwrap();
    clock.advance(time::Duration::minutes(61));
    f.fail("k", ErrorKind::Timeout);
    r.disconnect(&id, Role::Admin).await.unwrap();
    r.connect(f.clone(), Role::Admin).await.unwrap();
    r.sign_in(&id).await.unwrap();
    let res = r.resolve("{{vault:s}}", None).await.unwrap();
    assert!(res.report.has(ErrorKind::Timeout), "after disconnect");

    f.set("k", "v1");
    r.resolve("{{vault:s}}", None).await.unwrap();
    clock.advance(time::Duration::minutes(61));
    f.fail("k2", ErrorKind::Timeout);
    r.set_secret("s", VaultSecret::link(f.link("k2"))).unwrap();
    let res = r.resolve("{{vault:s}}", None).await.unwrap();
    assert!(res.report.has(ErrorKind::Timeout), "after relink");

    f.set("k", "v1");
    r.set_secret("s", VaultSecret::link(f.link("k"))).unwrap();
    r.resolve("{{vault:s}}", None).await.unwrap();
    clock.advance(time::Duration::minutes(61));
    f.fail("k", ErrorKind::Timeout);
    assert!(r.reset_cached("s"));
    let res = r.resolve("{{vault:s}}", None).await.unwrap();
    assert!(res.report.has(ErrorKind::Timeout), "after reset");
}

#[tokio::test]
async fn refresh_ahead_serves_the_cached_value_while_refreshing() {
    let f = Arc::new(FakeProvider::new("fake").latency(Duration::from_millis(30)));
    f.set("k", "v1");
    let vault = Vault::new().with("s", VaultSecret::link(f.link("k")));
    let mut cache = CacheConfig::with_ttl_minutes(10);
    cache.refresh_ahead = true;
    let (r, clock) = clocked(&f, vault, cache);
    r.resolve("{{vault:s}}", None).await.unwrap();
    f.set("k", "v2");
    clock.advance(time::Duration::minutes(9) + time::Duration::seconds(30));
    // In the last tenth: served at once from the cache, refreshed in the background.
    let started = std::time::Instant::now();
    let res = r.resolve("{{vault:s}}", None).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(25),
        "did not wait"
    );
    assert_eq!(res.expose(), "v1");
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(f.fetches(), 2, "one background refresh");
    // Past the old value's TTL: the refreshed one, no wait, no further fetch.
    clock.advance(time::Duration::minutes(1));
    let started = std::time::Instant::now();
    let res = r.resolve("{{vault:s}}", None).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(25));
    assert_eq!(res.expose(), "v2");
    assert_eq!(f.fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_links_queue_behind_the_per_provider_limit() {
    let f = Arc::new(FakeProvider::new("fake").latency(Duration::from_millis(2)));
    let mut vault = Vault::new();
    let mut text = String::new();
    for i in 0..1500 {
        f.set(&format!("k{i}"), "v");
        vault
            .insert(format!("s{i}"), VaultSecret::link(f.link(&format!("k{i}"))))
            .unwrap();
        text.push_str(&format!("{{{{vault:s{i}}}}}"));
    }
    let r = Resolver::builder(vault.clone())
        .provider(f.clone())
        .mode(Mode::Strict)
        .build();
    let res = r.resolve(&text, None).await.unwrap();
    assert_eq!(res.expose().len(), 1500);
    assert_eq!(f.fetches(), 1500);
    assert!(f.max_in_flight() <= 64, "{}", f.max_in_flight());
    assert!(
        f.max_in_flight() >= 32,
        "still concurrent: {}",
        f.max_in_flight()
    );

    // A queue that does not move in time fails with an error naming our own limit.
    let slow = Arc::new(FakeProvider::new("fake").latency(Duration::from_millis(300)));
    slow.set("k0", "v");
    slow.set("k1", "v");
    let vault = Vault::new()
        .with("a", VaultSecret::link(slow.link("k0")))
        .with("b", VaultSecret::link(slow.link("k1")));
    let r = Resolver::builder(vault)
        .provider(slow.clone())
        .max_concurrent_fetches(1)
        .fetch_queue_timeout(Duration::from_millis(50))
        .build();
    let res = r.resolve("{{vault:a}} {{vault:b}}", None).await.unwrap();
    let errors: Vec<_> = res
        .report
        .unresolved()
        .map(|e| match &e.outcome {
            Outcome::Unresolved(e) => e.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind(), ErrorKind::Timeout);
    assert!(errors[0].to_string().contains("own limit"), "{}", errors[0]);
    assert_eq!(
        slow.fetches(),
        1,
        "the queued fetch never reached the provider"
    );
}

#[tokio::test]
async fn a_wall_clock_step_back_does_not_extend_a_cached_value() {
    let f = Arc::new(FakeProvider::new("fake"));
    f.set("k", "v1");
    let vault = Vault::new().with("s", VaultSecret::link(f.link("k")));
    let (r, clock) = clocked(&f, vault, CacheConfig::with_ttl_minutes(60));
    r.resolve("{{vault:s}}", None).await.unwrap();
    f.set("k", "v2");
    clock.step_wall(time::Duration::hours(-2));
    clock.advance(time::Duration::minutes(60));
    assert_eq!(r.resolve("{{vault:s}}", None).await.unwrap().expose(), "v2");
    assert_eq!(f.fetches(), 2);
}

#[test]
fn json_key_is_a_link_field_in_config_files() {
    let config = vault_core::Config::parse(
        r#"
        [cache]
        stale_if_error_minutes = 30
        refresh_ahead = true
        max_concurrent_fetches = 8

        [secrets.db-password.fake]
        key = "db"
        json_key = "/db/password"
        "#,
    )
    .unwrap();
    assert_eq!(config.cache.stale_if_error, Duration::from_secs(1800));
    assert!(config.cache.refresh_ahead);
    assert_eq!(config.cache.max_concurrent_fetches, 8);
    let link = config
        .vault
        .get("db-password")
        .unwrap()
        .source()
        .link()
        .unwrap();
    assert_eq!(link.get("json_key"), Some("/db/password"));
    let _: &Link = link;
    for (bad, what) in [
        ("refresh_ahead = 1", "true or false"),
        ("stale_if_error_minutes = -1", "whole number"),
        ("max_concurrent_fetches = 0", "1 to 100000"),
    ] {
        let e = vault_core::Config::parse(&format!("[cache]\n{bad}\n")).unwrap_err();
        assert!(e.to_string().contains(what), "{e}");
    }
}
