//! The MFA flow end to end against the second moto server, where signature checking is off:
//! moto does not validate MFA codes, and its GetSessionToken credentials (the fixed AWS
//! documentation example keys) belong to no IAM user, so they fail checking when it is on.
#![cfg(feature = "peers")]

mod support;

use std::sync::Arc;

use secrecy::ExposeSecret;
use support::{link, peer_var, CodeInteraction, SettableClock};
use time::{Duration, OffsetDateTime};
use url::Url;
use vault_aws::{AwsProvider, Credentials, Endpoints, Mfa, RetryPolicy};
use vault_core::{ErrorKind, NoInteraction, Provider, SessionState};

fn provider(mfa: Mfa, clock: Option<Arc<SettableClock>>) -> AwsProvider {
    let mut b = AwsProvider::builder()
        .static_credentials(Credentials::new(
            peer_var("VAULT_TEST_AWS_MFA_ACCESS_KEY_ID"),
            peer_var("VAULT_TEST_AWS_MFA_SECRET_ACCESS_KEY"),
        ))
        .endpoints(
            Endpoints::default().all(Url::parse(&peer_var("VAULT_TEST_AWS_MFA_ENDPOINT")).unwrap()),
        )
        .mfa(mfa)
        .retry(RetryPolicy::none());
    if let Some(c) = clock {
        b = b.clock(c);
    }
    b.build().unwrap()
}

#[tokio::test]
async fn discovered_device_is_asked_once_and_its_session_used() {
    let p = provider(Mfa::Discover, None);
    let host = Arc::new(CodeInteraction::new("123456"));
    let secret = link(&peer_var("VAULT_TEST_AWS_MFA_SECRET_ARN"));
    let fetches = (0..6).map(|_| p.fetch(&secret, host.as_ref()));
    for v in futures_join_all(fetches).await {
        assert_eq!(
            v.unwrap().expose_secret(),
            peer_var("VAULT_TEST_AWS_MFA_SECRET_VALUE")
        );
    }
    assert_eq!(host.asks(), 1, "concurrent fetches share one sign-in");
    assert_eq!(
        host.serials.lock().unwrap().as_slice(),
        [peer_var("VAULT_TEST_AWS_MFA_SERIAL")]
    );
    match p.session() {
        SessionState::SignedIn { until: Some(_) } => {}
        other => panic!("expected an MFA session with an end, got {other}"),
    }
}

#[tokio::test]
async fn configured_serial_is_used_without_discovery() {
    let serial = "arn:aws:iam::123456789012:mfa/configured";
    let p = provider(Mfa::Serial(serial.to_owned()), None);
    let host = CodeInteraction::new("654321");
    let v = p
        .fetch(&link(&peer_var("VAULT_TEST_AWS_MFA_SECRET_ARN")), &host)
        .await
        .unwrap();
    assert_eq!(
        v.expose_secret(),
        peer_var("VAULT_TEST_AWS_MFA_SECRET_VALUE")
    );
    assert_eq!(host.serials.lock().unwrap().as_slice(), [serial]);
}

#[tokio::test]
async fn no_interaction_means_signed_out() {
    let p = provider(Mfa::Discover, None);
    let e = p
        .fetch(
            &link(&peer_var("VAULT_TEST_AWS_MFA_SECRET_ARN")),
            &NoInteraction,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignedOut, "{e}");
    assert!(
        e.message().contains(&peer_var("VAULT_TEST_AWS_MFA_SERIAL")),
        "{e}"
    );
}

#[tokio::test]
async fn a_malformed_code_is_refused_before_any_call() {
    let p = provider(Mfa::Discover, None);
    let host = CodeInteraction::new("12 34");
    let e = p
        .fetch(&link(&peer_var("VAULT_TEST_AWS_MFA_SECRET_ARN")), &host)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(e.message().contains("6 digits"), "{e}");
}

#[tokio::test]
async fn session_end_is_a_typed_error_until_sign_in() {
    let clock = Arc::new(SettableClock::new(OffsetDateTime::now_utc()));
    let p = provider(Mfa::Discover, Some(clock.clone()));
    let host = CodeInteraction::new("123456");
    let secret = link(&peer_var("VAULT_TEST_AWS_MFA_SECRET_ARN"));
    p.fetch(&secret, &host).await.unwrap();
    let SessionState::SignedIn { until: Some(until) } = p.session() else {
        panic!("expected an MFA session with an end");
    };
    clock.set(until + Duration::minutes(1));
    assert_eq!(p.session(), SessionState::Expired);
    let e = p.fetch(&secret, &host).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SessionExpired, "{e}");
    assert_eq!(host.asks(), 1, "no silent prompt after the session ended");
    clock.set(OffsetDateTime::now_utc());
    let state = p.sign_in(&host).await.unwrap();
    assert!(state.is_signed_in());
    assert_eq!(host.asks(), 2);
    p.fetch(&secret, &host).await.unwrap();
    p.sign_out().await.unwrap();
    let e = p.fetch(&secret, &host).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignedOut, "{e}");
}

/// `futures::future::join_all` without the dependency: spawn-free, polls all together.
async fn futures_join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let futs: Vec<_> = futs.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    let mut futs: Vec<Option<_>> = futs.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, slot) in futs.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        out[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|v| v.unwrap()).collect()
}
