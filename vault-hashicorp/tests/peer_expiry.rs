//! Token lifetime against the real OpenBao: renewal with `renew-self` when the lease runs
//! low (the clock is moved by hand, nothing sleeps), "sign in again" once it has run out, and
//! a token revoked on the server seen as an ended session rather than a denied path.
#![cfg(feature = "peers")]

mod common;

use std::sync::Arc;

use common::*;
use reqwest::Method;
use secrecy::ExposeSecret;
use time::{Duration, OffsetDateTime};
use vault_core::{ErrorKind, ManualClock, Provider, SessionState};
use vault_hashicorp::setup::{self, Mode, PlannedRequest, SetupConfig};

fn until(p: &dyn Provider) -> OffsetDateTime {
    match p.session() {
        SessionState::SignedIn { until: Some(t) } => t,
        other => panic!("not signed in with an end: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renews_while_it_can_then_asks_to_sign_in_again() {
    let outcome = setup_root().await;
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let p = provider(outcome).clock(clock.clone()).build().unwrap();
    let browser = Browser::new(alice(), &outcome.oidc_provider_url);
    let l = link("secret", "app/db", "password");
    assert_eq!(
        p.fetch(&l, browser.as_ref()).await.unwrap().expose_secret(),
        "v2-pass"
    );
    let first_end = until(&p);

    // 45 of 60 minutes gone: the next fetch renews the token first
    clock.advance(Duration::minutes(45));
    assert_eq!(
        p.fetch(&l, browser.as_ref()).await.unwrap().expose_secret(),
        "v2-pass"
    );
    let renewed_end = until(&p);
    assert!(renewed_end > first_end, "renew-self extended the lease");

    // past the end: renewal is no longer possible
    clock.advance(Duration::hours(3));
    let e = p.fetch(&l, browser.as_ref()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SessionExpired, "{e}");
    assert!(e.message().contains("sign in again"));
    assert_eq!(p.session(), SessionState::Expired);
    assert_eq!(
        browser.opened(),
        1,
        "an expired session is not silently signed in again"
    );

    // (signing in again needs a clock that agrees with the server: the id_token would be
    // "expired" at this hand-moved time, which is the check doing its job)
    p.sign_out().await.unwrap();
    assert_eq!(p.session(), SessionState::SignedOut);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_on_the_server_is_an_expired_session() {
    // own names, so revoking every token of this JWT mount touches no other test
    let names = "vr-revoked";
    let mut c = SetupConfig::new(&addr(), root_token()).unwrap();
    c.client_name = names.into();
    c.jwt_auth_path = format!("{names}-jwt");
    c.role = names.into();
    c.policy_name = format!("{names}-read");
    c.read = vec![vault_hashicorp::read_policy::ReadPath::parse("kv1/app/*").unwrap()];
    let outcome = setup::run(&c, Mode::Apply, &mut |_: &PlannedRequest| true)
        .await
        .unwrap();
    let p = provider(&outcome).build().unwrap();
    let browser = Browser::new(alice(), &outcome.oidc_provider_url);
    let l = link("kv1", "app/api", "api_key");
    assert_eq!(
        p.fetch(&l, browser.as_ref()).await.unwrap().expose_secret(),
        "kv1-key"
    );

    let (s, b) = root_call(
        Method::PUT,
        &format!("sys/leases/revoke-prefix/auth/{names}-jwt/login"),
        "",
        None,
    )
    .await;
    assert!(s < 300, "{s} {b}");
    let e = p.fetch(&l, browser.as_ref()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SessionExpired, "{e}");
    assert_eq!(p.session(), SessionState::Expired);
}
