//! End to end against the real OpenBao dev server started by `.ci/test`: the setup tool on the
//! fresh server, then a user's whole sign-in driven headless, KV v1 and v2 reads, a pinned
//! version, a namespace, errors, one sign-in for many references, disconnect.
#![cfg(feature = "peers")]

mod common;

use std::sync::Arc;

use common::*;
use secrecy::ExposeSecret;
use vault_core::{ErrorKind, Provider, Resolver, Role, SessionState, Vault, VaultSecret};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_then_kv_v2_v1_and_pinned_version() {
    let outcome = setup_root().await;
    let p = provider(outcome).build().unwrap();
    assert_eq!(p.session(), SessionState::SignedOut);
    let browser = Browser::new(alice(), &outcome.oidc_provider_url);

    let v2 = p
        .fetch(&link("secret", "app/db", "password"), browser.as_ref())
        .await
        .unwrap();
    assert_eq!(v2.expose_secret(), "v2-pass");
    assert!(matches!(
        p.session(),
        SessionState::SignedIn { until: Some(_) }
    ));

    let pinned = p
        .fetch(
            &link("secret", "app/db", "password").with("version", "1"),
            browser.as_ref(),
        )
        .await
        .unwrap();
    assert_eq!(pinned.expose_secret(), "v1-pass");
    let v1 = p
        .fetch(&link("kv1", "app/api", "api_key"), browser.as_ref())
        .await
        .unwrap();
    assert_eq!(v1.expose_secret(), "kv1-key");
    assert_eq!(browser.opened(), 1, "one sign-in for every read");

    let d = p
        .describe(&link("secret", "app/db", "password"), browser.as_ref())
        .await
        .unwrap();
    assert_eq!(d.version.as_deref(), Some("2"));
    assert!(d.created.is_some());
    assert!(d.id.ends_with("/v1/secret/data/app/db"), "{}", d.id);
    let pinned = link("secret", "app/db", "password").with("version", "1");
    let d1 = p.describe(&pinned, browser.as_ref()).await.unwrap();
    assert_eq!(d1.version.as_deref(), Some("1"));
    assert!(
        d1.created.unwrap() <= d.updated.unwrap(),
        "version 1 was written first"
    );
    let e = p
        .describe(
            &link("secret", "app/db", "password").with("version", "99"),
            browser.as_ref(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_key_missing_path_and_version_errors_are_distinct() {
    let outcome = setup_root().await;
    let p = provider(outcome).build().unwrap();
    let browser = Browser::new(alice(), &outcome.oidc_provider_url);
    let e = p
        .fetch(&link("secret", "app/db", "nope"), browser.as_ref())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(
        e.message().contains("`nope`") && e.message().contains("`password`"),
        "{e}"
    );
    let e = p
        .fetch(&link("secret", "app/missing", "password"), browser.as_ref())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(
        e.message().contains("no secret at `secret/app/missing`"),
        "{e}"
    );
    let e = p
        .fetch(
            &link("secret", "app/db", "password").with("version", "99"),
            browser.as_ref(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = p
        .fetch(
            &link("kv1", "app/api", "api_key").with("version", "1"),
            browser.as_ref(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidLink, "{e}");
    assert!(!format!("{e:?}").contains("v2-pass"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_path_is_permission_denied_not_session_expired() {
    // a token with only the `default` policy (the user's own userpass token): KV is denied,
    // but the token itself is alive
    let token = userpass_token(&alice()).await;
    let outcome = setup_root().await;
    let p = provider(outcome).token(token).build().unwrap();
    let e = p
        .fetch(
            &link("secret", "app/db", "password"),
            &vault_core::NoInteraction,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(p.session().is_signed_in());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_sign_in_and_read() {
    let outcome = setup_ns().await;
    assert!(outcome.oidc_provider_url.contains(&format!(
        "/v1/{}/identity/",
        env("VAULT_TEST_BAO_NAMESPACE")
    )));
    let p = provider(outcome).build().unwrap();
    assert_eq!(p.namespace().as_str(), env("VAULT_TEST_BAO_NAMESPACE"));
    let browser = Browser::new(bob(), &outcome.oidc_provider_url);
    let v = p
        .fetch(&link("secret", "app/db", "password"), browser.as_ref())
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), "v2-pass-ns");
    let v = p
        .fetch(
            &link("secret", "app/db", "password").with("version", "1"),
            browser.as_ref(),
        )
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), "v1-pass-ns");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_state_is_refused_and_the_right_one_still_accepted() {
    let outcome = setup_root().await;
    let p = provider(outcome).build().unwrap();
    let browser = Arc::new(Browser {
        wrong_state_first: true,
        ..Arc::try_unwrap(Browser::new(alice(), &outcome.oidc_provider_url))
            .ok()
            .unwrap()
    });
    let state = p.sign_in(browser.as_ref()).await.unwrap();
    assert!(state.is_signed_in());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sign_in_serves_every_reference_and_disconnect_drops_them() {
    let outcome = setup_root().await;
    let p: vault_core::DynProvider = Arc::new(provider(outcome).build().unwrap());
    let browser = Browser::new(alice(), &outcome.oidc_provider_url);
    let vault = Vault::new()
        .with(
            "db",
            VaultSecret::link(link("secret", "app/db", "password")),
        )
        .with(
            "db-old",
            VaultSecret::link(link("secret", "app/db", "password").with("version", "1")),
        )
        .with("api", VaultSecret::link(link("kv1", "app/api", "api_key")))
        .with(
            "user",
            VaultSecret::link(link("secret", "app/db", "username")),
        );
    let resolver = Resolver::builder(vault)
        .provider(p.clone())
        .interaction(browser.clone())
        .build();
    let r = resolver
        .resolve(
            "{{vault:db}} {{vault:db-old}} {{vault:api}} {{vault:user}}",
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.expose(), "v2-pass v1-pass kv1-key dbuser");
    assert_eq!(browser.opened(), 1, "one sign-in for the four references");

    let id = vault_hashicorp::PROVIDER_ID;
    let e = resolver.disconnect(&id, Role::Member).await.unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::NotAllowed,
        "HashiCorp settings are admin-only"
    );
    resolver.disconnect(&id, Role::Admin).await.unwrap();
    assert_eq!(p.session(), SessionState::SignedOut);
    let r = resolver.resolve("{{vault:db}}", None).await.unwrap();
    assert_eq!(r.expose(), "{{vault:db}}");
    match &r.report.entries()[0].outcome {
        vault_core::Outcome::Unresolved(e) => assert_eq!(e.kind(), ErrorKind::Disconnected),
        other => panic!("{other:?}"),
    }
    assert_eq!(browser.opened(), 1);
}
