//! Least privilege of the setup tool against the real OpenBao: after the default setup with
//! `--read secret/app/*`, a user signed in through the integration reads `secret/app/db` and
//! its details, but no KV path that was not named, nothing under `sys/` or `identity/`; the
//! same reads of `identity/` succeed under `--broad-read` (so the check can fail); `--group`
//! keeps users outside the group from signing in, by the assignment and, separately, by the
//! JWT role's `groups` claim binding (the sign-in asks for the `groups` scope, or members
//! could not log in either); and a rerun over an auth mount of another type is refused
//! before anything is written.
#![cfg(feature = "peers")]

mod common;

use common::*;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::json;
use vault_core::{ErrorKind, Provider};
use vault_hashicorp::read_policy::ReadPath;
use vault_hashicorp::setup::{self, Mode, PlannedRequest, SetupConfig, SetupOutcome};

fn config(names: &str) -> SetupConfig {
    let mut c = SetupConfig::new(&addr(), root_token()).unwrap();
    c.client_name = names.to_owned();
    c.jwt_auth_path = format!("{names}-jwt");
    c.role = names.to_owned();
    c.policy_name = format!("{names}-read");
    c.read = vec![ReadPath::parse("secret/app/*").unwrap()];
    c
}

async fn apply(c: &SetupConfig) -> Result<SetupOutcome, vault_core::Error> {
    setup::run(c, Mode::Apply, &mut |_: &PlannedRequest| true).await
}

/// A link read as KV v1 without a mount lookup: `GET /v1/<engine>/<path>` with the user's
/// token, whatever the engine is (how the test reaches `sys/` and `identity/`).
fn raw_link(engine: &str, path: &str, key: &str) -> vault_core::Link {
    link(engine, path, key).with("kv_version", "1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_user_reads_only_the_named_paths() {
    let names = "vr-least";
    let (s, b) = root_call(
        Method::POST,
        "secret/data/other/x",
        "",
        Some(json!({ "data": { "password": "not-for-users" } })),
    )
    .await;
    assert!(s < 300, "{s} {b}");
    let o = apply(&config(names)).await.expect("least-privilege setup");
    assert!(
        o.policy_text.contains(r#"path "secret/data/app/*""#),
        "{}",
        o.policy_text
    );

    let p = provider(&o).build().unwrap();
    let browser = Browser::new(alice(), &o.oidc_provider_url);
    let v = p
        .fetch(&link("secret", "app/db", "password"), browser.as_ref())
        .await
        .expect("the named path");
    assert_eq!(v.expose_secret(), "v2-pass");
    let d = p
        .describe(&link("secret", "app/db", "password"), browser.as_ref())
        .await
        .expect("details of the named path (its metadata)");
    assert_eq!(d.version.as_deref(), Some("2"));
    assert_eq!(browser.opened(), 1, "one sign-in");

    for (what, l) in [
        (
            "a KV v2 path not named",
            link("secret", "other/x", "password"),
        ),
        ("a KV v1 path not named", link("kv1", "app/api", "api_key")),
        ("sys/mounts", raw_link("sys", "mounts", "secret/")),
        (
            "sys/policies/acl",
            raw_link("sys", "policies/acl/default", "policy"),
        ),
        (
            "identity/oidc/client",
            raw_link("identity", &format!("oidc/client/{names}"), "client_id"),
        ),
        (
            "identity/oidc/provider",
            raw_link("identity", &format!("oidc/provider/{names}"), "issuer"),
        ),
    ] {
        let e = p.fetch(&l, browser.as_ref()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{what}: {e}");
    }
    assert_eq!(browser.opened(), 1, "denied reads kept the session");

    // the same identity/ read under the seed's broad policy succeeds: the check above can fail
    let mut broad = config("vr-broad");
    broad.read.clear();
    broad.broad_read = true;
    let ob = apply(&broad).await.expect("broad setup");
    let pb = provider(&ob).build().unwrap();
    let bb = Browser::new(alice(), &ob.oidc_provider_url);
    let id = pb
        .fetch(
            &raw_link("identity", "oidc/client/vr-broad", "client_id"),
            bb.as_ref(),
        )
        .await
        .expect("broad policy reads identity/");
    assert_eq!(id.expose_secret(), ob.client_id);
    pb.fetch(&link("secret", "other/x", "password"), bb.as_ref())
        .await
        .expect("broad policy reads every KV path");
}

/// The tests that write the group `vr-group-devs`, the user carol and the `groups` scope run
/// one at a time: OpenBao answers concurrent writes of one identity object with 500
/// "transaction commit failed".
static GROUP_WRITERS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// alice's entity (userpass logins share it) in the group `vr-group-devs`; carol (a userpass
/// user with an entity of her own) outside it.
async fn devs_group_and_carol() -> User {
    let token = userpass_token(&alice()).await;
    let http = reqwest::Client::new();
    let me: serde_json::Value = http
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
        "identity/group/name/vr-group-devs",
        "",
        Some(json!({ "member_entity_ids": [entity] })),
    )
    .await;
    assert!(s < 300, "{s} {b}");
    let (s, b) = root_call(
        Method::POST,
        "auth/userpass/users/carol",
        "",
        Some(json!({ "password": "carol-pass", "token_policies": ["default"] })),
    )
    .await;
    assert!(s < 300, "{s} {b}");
    User {
        name: "carol".into(),
        pass: "carol-pass".into(),
        namespace: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_members_of_the_named_group_sign_in() {
    let names = "vr-group";
    let _one_at_a_time = GROUP_WRITERS.lock().await;
    let carol = devs_group_and_carol().await;
    let mut c = config(names);
    c.groups = vec!["vr-group-devs".into()];
    let o = apply(&c).await.expect("setup with --group");
    let (_, client) = root_call(
        Method::GET,
        &format!("identity/oidc/client/{names}"),
        "",
        None,
    )
    .await;
    assert_eq!(client["data"]["assignments"], json!([names]));

    let p = provider(&o).build().unwrap();
    let alice_browser = Browser::new(alice(), &o.oidc_provider_url);
    let v = p
        .fetch(
            &link("secret", "app/db", "password"),
            alice_browser.as_ref(),
        )
        .await
        .expect("a member signs in");
    assert_eq!(v.expose_secret(), "v2-pass");

    let p = provider(&o).build().unwrap();
    let carol_browser = Browser::new(carol, &o.oidc_provider_url);
    let e = p
        .fetch(
            &link("secret", "app/db", "password"),
            carol_browser.as_ref(),
        )
        .await
        .unwrap_err();
    assert!(
        e.message().contains("authorize HTTP 400") || e.kind() == ErrorKind::AuthFailed,
        "{e}"
    );

    let mut c = config("vr-group-none");
    c.groups = vec!["vr-no-such-group".into()];
    let e = apply(&c).await.unwrap_err();
    assert!(
        e.message().contains("no group named `vr-no-such-group`"),
        "{e}"
    );
}

/// The JWT role refuses an id_token without one of the `--group` names even when the
/// assignment lets its entity sign in: after the setup with `--group`, the client's
/// assignment is widened to `allow_all` behind the tool's back; carol now gets through the
/// provider but the login is refused on the `groups` claim, while alice (a member, whose
/// id_token carries the claim only because the sign-in asked for the `groups` scope) still
/// reads. A rerun without `--group` lifts the binding (`bound_claims = {}`): then carol's
/// same sign-in passes, so the refusal above came from the binding and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwt_role_is_bound_to_the_groups_claim() {
    let names = "vr-claim";
    let _one_at_a_time = GROUP_WRITERS.lock().await;
    let carol = devs_group_and_carol().await;
    let mut c = config(names);
    c.groups = vec!["vr-group-devs".into()];
    let o = apply(&c).await.expect("setup with --group");
    let (_, role) = root_call(
        Method::GET,
        &format!("auth/{names}-jwt/role/{names}"),
        "",
        None,
    )
    .await;
    assert_eq!(
        role["data"]["bound_claims"],
        json!({ "groups": ["vr-group-devs"] })
    );
    assert_eq!(role["data"]["bound_audiences"], json!([o.client_id]));
    let (_, scope) = root_call(Method::GET, "identity/oidc/scope/groups", "", None).await;
    assert!(
        scope["data"]["template"]
            .as_str()
            .unwrap_or("")
            .contains("identity.entity.groups.names"),
        "{scope}"
    );
    let disc: serde_json::Value = reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        o.oidc_provider_url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(
        disc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("groups")),
        "{disc}"
    );

    // the assignment widened behind the tool's back: only the claim binding stands
    let (s, b) = root_call(
        Method::POST,
        &format!("identity/oidc/client/{names}"),
        "",
        Some(json!({ "assignments": ["allow_all"] })),
    )
    .await;
    assert!(s < 300, "{s} {b}");
    let l = link("secret", "app/db", "password");
    let p = provider(&o).build().unwrap();
    let carol_browser = Browser::new(carol.clone(), &o.oidc_provider_url);
    let e = p.fetch(&l, carol_browser.as_ref()).await.unwrap_err();
    assert_eq!(carol_browser.opened(), 1, "the provider let carol through");
    assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    assert!(e.message().contains("groups"), "refused on the claim: {e}");

    let p = provider(&o).build().unwrap();
    let alice_browser = Browser::new(alice(), &o.oidc_provider_url);
    let v = p
        .fetch(&l, alice_browser.as_ref())
        .await
        .expect("a member's id_token carries the groups claim");
    assert_eq!(v.expose_secret(), "v2-pass");

    // a rerun without --group lifts the binding: the same sign-in of carol now passes
    let o = apply(&config(names)).await.expect("rerun without --group");
    let (_, role) = root_call(
        Method::GET,
        &format!("auth/{names}-jwt/role/{names}"),
        "",
        None,
    )
    .await;
    assert!(
        role["data"]["bound_claims"]
            .as_object()
            .is_none_or(|m| m.is_empty()),
        "{role}"
    );
    let p = provider(&o).build().unwrap();
    let carol_browser = Browser::new(carol, &o.oidc_provider_url);
    let v = p
        .fetch(&l, carol_browser.as_ref())
        .await
        .expect("without the binding carol signs in");
    assert_eq!(v.expose_secret(), "v2-pass");
}

/// The same binding inside a namespace: the scope, the group and the role live in `team1`
/// (the setup's `X-Vault-Namespace`), the provider URL carries `/v1/team1/`, and bob, a
/// member of a `team1` group, signs in and reads `team1`'s secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_binding_in_a_namespace() {
    let names = "vr-ns-group";
    let ns = env("VAULT_TEST_BAO_NAMESPACE");
    let token = userpass_token(&bob()).await;
    let me: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/v1/auth/token/lookup-self", addr()))
        .header("X-Vault-Token", token.expose_secret())
        .header("X-Vault-Namespace", &ns)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entity = me["data"]["entity_id"].as_str().unwrap().to_owned();
    let (s, b) = root_call(
        Method::POST,
        "identity/group/name/vr-ns-devs",
        &ns,
        Some(json!({ "member_entity_ids": [entity] })),
    )
    .await;
    assert!(s < 300, "{s} {b}");
    let mut c = config(names);
    c.namespace = vault_hashicorp::Namespace::parse(&ns).unwrap();
    c.groups = vec!["vr-ns-devs".into()];
    let o = apply(&c).await.expect("setup with --group in a namespace");
    assert!(
        o.oidc_provider_url.contains(&format!("/v1/{ns}/identity/")),
        "{}",
        o.oidc_provider_url
    );
    let (s, scope) = root_call(Method::GET, "identity/oidc/scope/groups", &ns, None).await;
    assert_eq!(s, 200, "the scope is in the namespace: {scope}");
    let (_, role) = root_call(
        Method::GET,
        &format!("auth/{names}-jwt/role/{names}"),
        &ns,
        None,
    )
    .await;
    assert_eq!(
        role["data"]["bound_claims"],
        json!({ "groups": ["vr-ns-devs"] })
    );
    let p = provider(&o).build().unwrap();
    let browser = Browser::new(bob(), &o.oidc_provider_url);
    let v = p
        .fetch(&link("secret", "app/db", "password"), browser.as_ref())
        .await
        .expect("a member in the namespace signs in and reads");
    assert!(!v.expose_secret().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mount_of_another_type_is_refused_before_any_write() {
    let names = "vr-wrongtype";
    let (s, b) = root_call(
        Method::POST,
        &format!("sys/auth/{names}-jwt"),
        "",
        Some(json!({ "type": "userpass" })),
    )
    .await;
    assert!(
        s < 300 || b.to_string().contains("already in use"),
        "{s} {b}"
    );
    let e = apply(&config(names)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{e}");
    assert!(
        e.message().contains("already a `userpass` auth method"),
        "{e}"
    );
    let (s, _) = root_call(
        Method::GET,
        &format!("identity/oidc/client/{names}"),
        "",
        None,
    )
    .await;
    assert_eq!(s, 404, "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_path_on_a_mount_that_is_not_kv_is_refused() {
    let mut c = config("vr-notkv");
    c.read = vec![ReadPath::parse("identity/entity/*").unwrap()];
    let e = apply(&c).await.unwrap_err();
    assert!(e.message().contains("`identity` engine"), "{e}");
    let mut c = config("vr-notkv");
    c.read = vec![ReadPath::parse("nowhere/app/*").unwrap()];
    let e = apply(&c).await.unwrap_err();
    assert!(e.message().contains("no secrets engine is mounted"), "{e}");
}
