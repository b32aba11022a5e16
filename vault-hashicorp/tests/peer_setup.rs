//! The setup tool against the real OpenBao, run with an admin token that holds only the
//! documented minimum policy (`setup::admin_policy`), twice (a rerun keeps the client id),
//! then used by a user's sign-in (also with `--group`: the scope, the assignment and the
//! claim binding need only what `admin_policy_for` adds); and a dry run that must send nothing.
#![cfg(feature = "peers")]

mod common;

use common::*;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use vault_core::Provider;
use vault_hashicorp::read_policy::ReadPath;
use vault_hashicorp::setup::{self, admin_policy_for, Mode, PlannedRequest, SetupConfig};

fn config(token: SecretString, names: &str) -> SetupConfig {
    let mut c = SetupConfig::new(&addr(), token).unwrap();
    c.client_name = names.to_owned();
    c.jwt_auth_path = format!("{names}-jwt");
    c.role = names.to_owned();
    c.policy_name = format!("{names}-read");
    c.read = vec![ReadPath::parse("secret/app/*").unwrap()];
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_with_the_minimum_admin_policy_is_idempotent_and_works() {
    let names = "vr-min-policy";
    let policy = admin_policy_for(&config(root_token(), names));
    let (s, b) = root_call(
        Method::PUT,
        "sys/policies/acl/vr-setup-admin",
        "",
        Some(json!({ "policy": policy })),
    )
    .await;
    assert!(s < 300, "{s} {b}");
    let (s, b) = root_call(
        Method::POST,
        "auth/token/create",
        "",
        Some(json!({ "policies": ["vr-setup-admin"], "no_default_policy": true, "ttl": "10m" })),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let admin = SecretString::from(b["auth"]["client_token"].as_str().unwrap().to_owned());

    let c = config(admin, names);
    let mut asked = Vec::new();
    let mut confirm = |r: &PlannedRequest| {
        asked.push(r.step.clone());
        true
    };
    let first = setup::run(&c, Mode::Apply, &mut confirm)
        .await
        .expect("setup with the minimum policy");
    assert_eq!(asked.len(), 10);
    let second = setup::run(&c, Mode::Apply, &mut |_: &PlannedRequest| true)
        .await
        .expect("rerun");
    assert_eq!(first, second, "a rerun keeps the client id and every value");
    assert_eq!(first.client_id.len(), 32);
    assert_eq!(
        first.oidc_provider_url,
        format!("{}/v1/identity/oidc/provider/{names}", addr())
    );

    let p = provider(&first).build().unwrap();
    let browser = Browser::new(alice(), &first.oidc_provider_url);
    let v = p
        .fetch(&link("secret", "app/db", "password"), browser.as_ref())
        .await
        .unwrap();
    assert_eq!(v.expose_secret(), "v2-pass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_with_a_group_needs_only_the_minimum_admin_policy() {
    let names = "vr-min-group";
    // alice's entity in a group of this test's own
    let token = userpass_token(&alice()).await;
    let me: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/v1/auth/token/lookup-self", addr()))
        .header("X-Vault-Token", token.expose_secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entity = me["data"]["entity_id"].as_str().unwrap().to_owned();
    let (s, b) = root_call(
        Method::POST,
        "identity/group/name/vr-min-devs",
        "",
        Some(json!({ "member_entity_ids": [entity] })),
    )
    .await;
    assert!(s < 300, "{s} {b}");
    let mut c = config(root_token(), names);
    c.groups = vec!["vr-min-devs".into()];
    let policy = admin_policy_for(&c);
    assert!(
        policy.contains(r#"path "identity/oidc/scope/groups""#),
        "{policy}"
    );
    let (s, b) = root_call(
        Method::PUT,
        "sys/policies/acl/vr-setup-admin-group",
        "",
        Some(json!({ "policy": policy })),
    )
    .await;
    assert!(s < 300, "{s} {b}");
    let (s, b) = root_call(
        Method::POST,
        "auth/token/create",
        "",
        Some(json!({ "policies": ["vr-setup-admin-group"], "no_default_policy": true, "ttl": "10m" })),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    c.token = SecretString::from(b["auth"]["client_token"].as_str().unwrap().to_owned());
    let first = setup::run(&c, Mode::Apply, &mut |_: &PlannedRequest| true)
        .await
        .expect("setup with --group and the minimum policy");
    let second = setup::run(&c, Mode::Apply, &mut |_: &PlannedRequest| true)
        .await
        .expect("rerun (the scope now exists and is kept)");
    assert_eq!(first, second);
    let p = provider(&first).build().unwrap();
    let browser = Browser::new(alice(), &first.oidc_provider_url);
    let v = p
        .fetch(&link("secret", "app/db", "password"), browser.as_ref())
        .await
        .expect("a member signs in through the claim binding");
    assert_eq!(v.expose_secret(), "v2-pass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_write_steps_are_skipped_and_reported() {
    let names = "vr-declined";
    let c = config(root_token(), names);
    // decline only the policy step
    let mut confirm = |r: &PlannedRequest| !r.path.starts_with("sys/policies/");
    let o = setup::run(&c, Mode::Apply, &mut confirm).await.unwrap();
    assert_eq!(o.skipped.len(), 1, "{:?}", o.skipped);
    let (s, _) = root_call(
        Method::GET,
        &format!("sys/policies/acl/{names}-read"),
        "",
        None,
    )
    .await;
    assert_eq!(s, 404, "the declined policy was not written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_sends_nothing() {
    let names = "vr-dry-run";
    let c = config(root_token(), names);
    let mut shown = Vec::new();
    let mut confirm = |r: &PlannedRequest| {
        shown.push(r.to_string());
        true
    };
    let o = setup::run(&c, Mode::DryRun, &mut confirm).await.unwrap();
    assert_eq!(shown.len(), 10);
    assert!(shown
        .iter()
        .all(|s| !s.contains(root_token().expose_secret())));
    assert_eq!(o.client_id, "<client_id>");
    let (s, _) = root_call(
        Method::GET,
        &format!("identity/oidc/client/{names}"),
        "",
        None,
    )
    .await;
    assert_eq!(s, 404, "a dry run created nothing");
    let (s, _) = root_call(Method::GET, &format!("sys/auth/{names}-jwt"), "", None).await;
    assert!(s >= 400, "no auth method was enabled");
}
