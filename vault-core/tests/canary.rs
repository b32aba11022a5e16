//! No secret in any `Debug` or `Display`: every public type that holds a value or a resolved
//! output is formatted with a canary value inside, and the canary must not appear.

use std::sync::Arc;

use vault_core::cache::SharedSecret;
use vault_core::testing::FakeProvider;
use vault_core::{Config, HttpRequest, MapEnv, Mode, Resolver, SecretSource, Vault, VaultSecret};

const CANARY: &str = "canary-7f3a9b";

fn assert_clean(what: &str, text: String) {
    assert!(!text.contains(CANARY), "{what} leaks the value: {text}");
}

#[tokio::test]
async fn no_type_prints_a_secret() {
    let f = Arc::new(FakeProvider::new("fake"));
    f.set("k", CANARY);
    let vault = Vault::new()
        .with("local", VaultSecret::local(CANARY))
        .with("env", VaultSecret::env("CANARY_VAR"))
        .with("remote", VaultSecret::link(f.link("k")));
    assert_clean("Vault", format!("{vault:?}"));
    assert_clean("VaultSecret", format!("{:?}", vault.get("local").unwrap()));
    assert_clean(
        "SecretSource",
        format!("{:?}", SecretSource::Local(CANARY.into())),
    );
    let env = MapEnv::new().with("CANARY_VAR", CANARY);
    assert_clean("MapEnv", format!("{env:?}"));

    let r = Resolver::builder(vault)
        .provider(f.clone())
        .env(Arc::new(env))
        .build();
    let res = r
        .resolve("{{vault:local}} {{vault:env}} {{vault:remote}}", None)
        .await
        .unwrap();
    assert!(
        res.expose().contains(CANARY),
        "the value itself is resolved"
    );
    assert_clean("Resolution", format!("{res:?}"));
    assert_clean("Report", format!("{:?}", res.report));
    assert_clean("Resolver", format!("{r:?}"));
    assert_clean("Cache", format!("{:?}", r.cache()));
    let shared: SharedSecret = r
        .cache()
        .get(&vault_core::Provider::validate_link(&*f, &f.link("k")).unwrap())
        .unwrap();
    assert_clean("SharedSecret", format!("{shared:?}"));
    let got = r.get("local", None).await.unwrap();
    assert_clean("SecretString", format!("{got:?}"));

    let req = HttpRequest::new("POST", "https://x.example/{{vault:local}}")
        .header("A", "{{vault:local}}")
        .body("{{vault:remote}}");
    let out = r.resolve_request(&req).await.unwrap();
    assert_clean("ResolvedRequest", format!("{out:?}"));

    // Errors about secrets name them, never their values.
    f.fail("k", vault_core::ErrorKind::PermissionDenied);
    r.cache().reset_all();
    let strict = Resolver::builder(Vault::new().with("remote", VaultSecret::link(f.link("k"))))
        .provider(f.clone())
        .mode(Mode::Strict)
        .build();
    let e = strict.resolve("{{vault:remote}}", None).await.unwrap_err();
    assert_clean("Error Display", e.to_string());
    assert_clean("Error Debug", format!("{e:?}"));

    let config = Config::parse(&format!(
        "[integrations.x]\nclient_secret = \"{CANARY}\"\n[secrets.a]\nvalue = \"{CANARY}\"\n"
    ))
    .unwrap();
    assert_clean("Config", format!("{config:?}"));
}
