//! The resolver end to end over the in-memory provider: outcomes, modes, domains, requests,
//! concurrency, single-flight, integrations and the cache.

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use vault_core::testing::FakeProvider;
use vault_core::{
    AllowedDomains, CacheConfig, ErrorKind, Field, HttpRequest, ManualClock, MapEnv, Mode, Outcome,
    Resolver, Role, SessionState, SettingsPolicy, Vault, VaultSecret,
};

fn domains(p: &[&str]) -> AllowedDomains {
    AllowedDomains::parse(p).unwrap()
}

fn fake() -> Arc<FakeProvider> {
    let f = FakeProvider::new("fake");
    f.set("k1", "remote-1");
    f.set("k2", "remote-2");
    Arc::new(f)
}

fn vault(f: &FakeProvider) -> Vault {
    Vault::new()
        .with("local", VaultSecret::local("local-value"))
        .with("empty", VaultSecret::local(""))
        .with("off", VaultSecret::local("x").enabled(false))
        .with("env", VaultSecret::env("DB_PASSWORD"))
        .with("unset-env", VaultSecret::env("NOPE"))
        .with(
            "gh",
            VaultSecret::local("ghp").allowed_domains(domains(&["api.github.com"])),
        )
        .with("remote", VaultSecret::link(f.link("k1")))
        .with("remote2", VaultSecret::link(f.link("k2")))
        .with("missing", VaultSecret::link(f.link("absent")))
        .with("sneaky", VaultSecret::local("{{vault:local}}"))
}

fn resolver(f: &Arc<FakeProvider>, mode: Mode) -> Resolver {
    Resolver::builder(vault(f))
        .provider(f.clone())
        .env(Arc::new(MapEnv::new().with("DB_PASSWORD", "from-env")))
        .mode(mode)
        .build()
}

fn kinds(r: &vault_core::Report) -> Vec<Option<ErrorKind>> {
    r.entries()
        .iter()
        .map(|e| match &e.outcome {
            Outcome::Unresolved(err) => Some(err.kind()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn every_outcome_in_lenient_mode() {
    let f = fake();
    let r = resolver(&f, Mode::Lenient);
    let text = "{{vault:local}} {{vault:env}} {{vault:remote}} [{{vault:empty}}] {{vault:nope}} \
                {{vault:off}} {{vault:unset-env}} {{vault:missing}} {{vault:bad name}}";
    let res = r.resolve(text, None).await.unwrap();
    assert_eq!(
        res.expose(),
        "local-value from-env remote-1 [] {{vault:nope}} {{vault:off}} {{vault:unset-env}} \
         {{vault:missing}} {{vault:bad name}}"
    );
    assert_eq!(
        kinds(&res.report),
        [
            None,
            None,
            None,
            None,
            Some(ErrorKind::UnknownName),
            Some(ErrorKind::Disabled),
            Some(ErrorKind::MissingEnv),
            Some(ErrorKind::NotFound),
            Some(ErrorKind::InvalidReference),
        ]
    );
    assert_eq!(res.report.entries()[3].outcome, Outcome::Empty);
    let missing = &res.report.entries()[7];
    let Outcome::Unresolved(e) = &missing.outcome else {
        panic!()
    };
    assert_eq!(e.secret(), Some("missing"));
    assert_eq!(e.provider().map(|p| p.as_str()), Some("fake"));
    let bad = &res.report.entries()[8];
    assert_eq!(&*bad.name, "bad");
    assert_eq!(&text[bad.span.clone()], "{{vault:bad");
}

#[tokio::test]
async fn strict_mode_fails_with_the_first_reason() {
    let f = fake();
    let r = resolver(&f, Mode::Strict);
    assert_eq!(
        r.resolve("{{vault:local}}", None).await.unwrap().expose(),
        "local-value"
    );
    let e = r
        .resolve("a {{vault:nope}} {{vault:off}}", None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownName);
    assert_eq!(e.secret(), Some("nope"));
    let e = r.resolve("{{vault:", None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidReference);
}

#[tokio::test]
async fn values_are_never_parsed_again() {
    let f = fake();
    let r = resolver(&f, Mode::Strict);
    let res = r.resolve("x{{vault:sneaky}}x", None).await.unwrap();
    assert_eq!(res.expose(), "x{{vault:local}}x");
    assert_eq!(res.report.entries().len(), 1);
}

#[tokio::test]
async fn allowed_domains_are_checked_before_fetching() {
    let f = Arc::new(FakeProvider::new("fake"));
    f.set("k", "v");
    let vault = Vault::new().with(
        "restricted",
        VaultSecret::link(f.link("k")).allowed_domains(domains(&["*.example.com"])),
    );
    let r = Resolver::builder(vault).provider(f.clone()).build();
    for url in [
        None,
        Some("https://evil.com/"),
        Some("https://example.com/"),
        Some("https://a.example.com@evil.com/"),
    ] {
        let res = r.resolve("{{vault:restricted}}", url).await.unwrap();
        assert!(res.report.has(ErrorKind::DomainNotAllowed), "{url:?}");
        assert_eq!(res.expose(), "{{vault:restricted}}");
    }
    assert_eq!(f.fetches(), 0, "a refused secret is never read");
    let res = r
        .resolve("{{vault:restricted}}", Some("https://api.example.com/x"))
        .await
        .unwrap();
    assert_eq!(res.expose(), "v");
    let refused = r
        .resolve("{{vault:restricted}}", Some("https://evil.com/"))
        .await
        .unwrap();
    let Outcome::Unresolved(e) = &refused.report.entries()[0].outcome else {
        panic!()
    };
    assert!(
        e.to_string().contains("*.example.com") && e.to_string().contains("evil.com"),
        "{e}"
    );
}

#[tokio::test]
async fn requests_resolve_url_headers_and_body() {
    let f = fake();
    let r = resolver(&f, Mode::Lenient);
    let req = HttpRequest::new("POST", "https://api.github.com/repos?t={{vault:local}}")
        .header("Authorization", "Bearer {{vault:gh}}")
        .header("X-Remote", "{{vault:remote}}")
        .body(r#"{"pw":"{{vault:env}}"}"#);
    let out = r.resolve_request(&req).await.unwrap();
    assert_eq!(
        out.url.expose_secret(),
        "https://api.github.com/repos?t=local-value"
    );
    assert_eq!(out.headers[0].1.expose_secret(), "Bearer ghp");
    assert_eq!(out.headers[1].1.expose_secret(), "remote-1");
    assert_eq!(
        out.body.as_ref().unwrap().expose_secret(),
        r#"{"pw":"from-env"}"#
    );
    assert!(out.report.is_complete());
    let fields: Vec<&Field> = out.report.entries().iter().map(|e| &e.field).collect();
    assert!(fields.contains(&&Field::Url) && fields.contains(&&Field::Body));
    assert!(fields.contains(&&Field::Header("Authorization".into())));

    // Same headers to another host: the restricted token stays out.
    let req = HttpRequest {
        url: "https://evil.com/".into(),
        ..req
    };
    let out = r.resolve_request(&req).await.unwrap();
    assert_eq!(out.headers[0].1.expose_secret(), "Bearer {{vault:gh}}");
    assert!(out.report.has(ErrorKind::DomainNotAllowed));
}

#[tokio::test]
async fn host_from_a_reference_is_resolved_first() {
    let f = fake();
    let vault = vault(&f)
        .with("host", VaultSecret::local("api.github.com"))
        .with("evil-host", VaultSecret::local("evil.com"));
    let r = Resolver::builder(vault).provider(f.clone()).build();
    let req = HttpRequest::new("GET", "https://{{vault:host}}/user")
        .header("Authorization", "{{vault:gh}}");
    let out = r.resolve_request(&req).await.unwrap();
    assert_eq!(out.url.expose_secret(), "https://api.github.com/user");
    assert_eq!(out.headers[0].1.expose_secret(), "ghp");

    let req = HttpRequest::new("GET", "https://{{vault:evil-host}}/user")
        .header("Authorization", "{{vault:gh}}");
    let out = r.resolve_request(&req).await.unwrap();
    assert_eq!(out.headers[0].1.expose_secret(), "{{vault:gh}}");

    // A restricted secret cannot choose the host itself.
    let req = HttpRequest::new("GET", "https://{{vault:gh}}.example/");
    let out = r.resolve_request(&req).await.unwrap();
    assert!(out.report.has(ErrorKind::DomainNotAllowed));
}

#[tokio::test]
async fn an_escape_cannot_move_the_request_to_another_host() {
    let f = fake();
    let r = resolver(&f, Mode::Lenient);
    // Written, the backslash ends the host (good.com); resolved, it is gone and the host
    // would be evil.com.
    let req = HttpRequest::new("GET", r"https://api.github.com\{{vault:x}}@evil.com/")
        .header("Authorization", "Bearer {{vault:gh}}");
    let e = r.resolve_request(&req).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DomainNotAllowed, "{e}");
}

#[tokio::test]
async fn escapes_render_the_same_with_or_without_references() {
    let f = fake();
    let r = resolver(&f, Mode::Strict);
    assert_eq!(
        r.resolve(r"a \{{vault:x}}", None).await.unwrap().expose(),
        "a {{vault:x}}"
    );
    assert_eq!(
        r.resolve(r"a \{{vault:x}} {{vault:local}}", None)
            .await
            .unwrap()
            .expose(),
        "a {{vault:x}} local-value"
    );
    assert_eq!(r.resolve("", None).await.unwrap().expose(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_links_of_one_call_are_fetched_concurrently() {
    let f = Arc::new(FakeProvider::new("fake").latency(Duration::from_millis(10)));
    let mut vault = Vault::new();
    let mut text = String::new();
    for i in 0..100 {
        f.set(&format!("k{i}"), &format!("v{i}"));
        vault
            .insert(format!("s{i}"), VaultSecret::link(f.link(&format!("k{i}"))))
            .unwrap();
        text.push_str(&format!("{{{{vault:s{i}}}}},{{{{vault:s{i}}}}};"));
    }
    let r = Resolver::builder(vault)
        .provider(f.clone())
        .mode(Mode::Strict)
        .max_concurrent_fetches(100)
        .build();
    let res = r.resolve(&text, None).await.unwrap();
    assert!(res.expose().starts_with("v0,v0;v1,v1;"));
    assert_eq!(f.fetches(), 100, "each distinct link once");
    assert_eq!(f.max_in_flight(), 100, "all fetched at the same time");
    r.resolve(&text, None).await.unwrap();
    assert_eq!(f.fetches(), 100, "second call served from the cache");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_resolves_of_one_link_fetch_once() {
    let f = Arc::new(FakeProvider::new("fake").latency(Duration::from_millis(10)));
    f.set("k", "v");
    let vault = Vault::new().with("s", VaultSecret::link(f.link("k")));
    let r = Resolver::builder(vault)
        .provider(f.clone())
        .mode(Mode::Strict)
        .build();
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let r = r.clone();
            tokio::spawn(async move {
                r.resolve("{{vault:s}}", None)
                    .await
                    .map(|x| x.expose().to_owned())
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), "v");
    }
    assert_eq!(f.fetches(), 1);
}

#[tokio::test]
async fn ttl_relink_reset_and_sign_out() {
    let f = fake();
    let clock = Arc::new(ManualClock::default());
    let r = Resolver::builder(vault(&f))
        .provider(f.clone())
        .clock(clock.clone())
        .cache(CacheConfig::with_ttl_minutes(5))
        .build();
    assert_eq!(
        r.get("remote", None).await.unwrap().expose_secret(),
        "remote-1"
    );
    f.set("k1", "remote-1b");
    assert_eq!(
        r.get("remote", None).await.unwrap().expose_secret(),
        "remote-1",
        "cached"
    );
    clock.advance(time::Duration::minutes(5));
    assert_eq!(
        r.get("remote", None).await.unwrap().expose_secret(),
        "remote-1b",
        "expired"
    );
    assert_eq!(f.fetches(), 2);

    // Relinking to another key never serves the old value.
    r.set_secret("remote", VaultSecret::link(f.link("k2")))
        .unwrap();
    assert_eq!(
        r.get("remote", None).await.unwrap().expose_secret(),
        "remote-2"
    );

    // Resetting one secret refetches it.
    f.set("k2", "remote-2b");
    assert!(r.reset_cached("remote"));
    assert_eq!(
        r.get("remote", None).await.unwrap().expose_secret(),
        "remote-2b"
    );

    // Invalid links are refused when made.
    let e = r
        .set_secret("bad", VaultSecret::link(f.link("k").with("typo", "x")))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidLink);
    assert!(e.to_string().contains("`typo`"), "{e}");

    // Signing out drops cached values; the provider then refuses.
    r.sign_out(&f.link("x").provider().clone()).await.unwrap();
    let e = r.get("remote", None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignedOut);
    r.sign_in(&f.link("x").provider().clone()).await.unwrap();
    assert!(r.get("remote", None).await.is_ok());
}

#[tokio::test]
async fn expired_session_is_reported() {
    let f = fake();
    let clock = Arc::new(ManualClock::default());
    let r = Resolver::builder(vault(&f))
        .provider(f.clone())
        .clock(clock.clone())
        .build();
    let id = f.link("x").provider().clone();
    let until = clock.now_for_test() + time::Duration::minutes(1);
    f.set_session(SessionState::SignedIn { until: Some(until) });
    assert!(r.session(&id).unwrap().is_signed_in());
    clock.advance(time::Duration::minutes(2));
    assert_eq!(r.session(&id).unwrap(), SessionState::Expired);
    f.set_session(SessionState::Expired);
    let res = r.resolve("{{vault:remote}}", None).await.unwrap();
    assert!(res.report.has(ErrorKind::SessionExpired));
    assert!(r.reauthenticate(&id).await.unwrap().is_signed_in());
    assert_eq!(
        r.get("remote", None).await.unwrap().expose_secret(),
        "remote-1"
    );
}

trait NowForTest {
    fn now_for_test(&self) -> time::OffsetDateTime;
}
impl NowForTest for ManualClock {
    fn now_for_test(&self) -> time::OffsetDateTime {
        vault_core::Clock::now(self)
    }
}

#[tokio::test]
async fn disconnect_leaves_references_unresolved_and_admin_rules() {
    let f = Arc::new(FakeProvider::new("fake").policy(SettingsPolicy::AdminOnly));
    f.set("k1", "v");
    let vault = Vault::new().with("remote", VaultSecret::link(f.link("k1")));
    let r = Resolver::builder(vault).provider(f.clone()).build();
    let id = f.link("x").provider().clone();
    assert_eq!(r.get("remote", None).await.unwrap().expose_secret(), "v");

    let e = r.disconnect(&id, Role::Member).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotAllowed);
    r.disconnect(&id, Role::Admin).await.unwrap();
    assert_eq!(f.sign_outs(), 1);
    let res = r.resolve("{{vault:remote}}", None).await.unwrap();
    assert!(res.report.has(ErrorKind::Disconnected));
    assert_eq!(f.fetches(), 1, "the cached value was dropped, not served");

    let e = r.connect(f.clone(), Role::Member).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotAllowed);
    r.connect(f.clone(), Role::Admin).await.unwrap();
    f.sign_in_for_test().await;
    assert_eq!(r.get("remote", None).await.unwrap().expose_secret(), "v");
    assert_eq!(f.fetches(), 2);
}

trait SignIn {
    async fn sign_in_for_test(&self);
}
impl SignIn for FakeProvider {
    async fn sign_in_for_test(&self) {
        vault_core::Provider::sign_in(self, &vault_core::NoInteraction)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn missing_provider_and_check_and_describe() {
    let f = fake();
    // No provider registered: links stay unresolved with a clear reason.
    let r = Resolver::builder(vault(&f))
        .env(Arc::new(MapEnv::new()))
        .build();
    let e = r.get("remote", None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);

    let r = resolver(&f, Mode::Lenient);
    let statuses = r.check().await;
    let by_name = |n: &str| statuses.iter().find(|s| s.name == n).unwrap();
    assert_eq!(by_name("remote").outcome, Outcome::Resolved);
    assert_eq!(by_name("remote").source, "fake link");
    assert_eq!(by_name("empty").outcome, Outcome::Empty);
    assert_eq!(
        by_name("gh").outcome,
        Outcome::Resolved,
        "check ignores domains"
    );
    assert!(
        matches!(&by_name("off").outcome, Outcome::Unresolved(e) if e.kind() == ErrorKind::Disabled)
    );
    assert_eq!(statuses.len(), r.names().len());

    let d = r.describe("remote").await.unwrap();
    assert_eq!(d.name.as_deref(), Some("k1"));
    assert_eq!(
        r.describe("local").await.unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        r.describe("nope").await.unwrap_err().kind(),
        ErrorKind::UnknownName
    );
}
