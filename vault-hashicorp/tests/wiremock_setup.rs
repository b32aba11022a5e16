//! The setup tool's exact requests on wiremock: the mount table read for `--read`, the policy
//! text written (named paths only, KV v2 `data/` + `metadata/`, KV v1 as is), the group
//! assignment, the `groups` scope and the role bound by audience and (with `--group`) by the
//! `groups` claim, and a refused rerun over another auth type or another `groups` scope.

use secrecy::SecretString;
use serde_json::{json, Value};
use vault_core::ErrorKind;
use vault_hashicorp::read_policy::ReadPath;
use vault_hashicorp::setup::{self, Mode, PlannedRequest, SetupConfig};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn answer(server: &MockServer, m: &str, p: &str, status: u16, body: Value) {
    Mock::given(method(m))
        .and(path(p.to_owned()))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

async fn vault(server: &MockServer, auth_type: Option<&str>) {
    match auth_type {
        Some(t) => {
            answer(
                server,
                "GET",
                "/v1/sys/auth/vault-refs-jwt",
                200,
                json!({"data": {"type": t}, "type": t}),
            )
            .await
        }
        None => {
            answer(
                server,
                "GET",
                "/v1/sys/auth/vault-refs-jwt",
                400,
                json!({"errors": ["No auth engine at vault-refs-jwt/"]}),
            )
            .await
        }
    }
    answer(
        server,
        "GET",
        "/v1/sys/mounts",
        200,
        json!({"data": {
            "secret/": {"type": "kv", "options": {"version": "2"}},
            "kv1/": {"type": "kv", "options": {"version": "1"}},
            "sys/": {"type": "system"}
        }}),
    )
    .await;
    answer(
        server,
        "GET",
        "/v1/identity/group/name/devs",
        200,
        json!({"data": {"id": "gid-1", "name": "devs"}}),
    )
    .await;
    answer(
        server,
        "GET",
        "/v1/identity/group/name/nobody",
        404,
        json!({"errors": []}),
    )
    .await;
    answer(
        server,
        "GET",
        "/v1/identity/oidc/client/vault-refs",
        200,
        json!({"data": {"client_id": "cid"}}),
    )
    .await;
    answer(server, "GET", "/v1/identity/oidc/provider/vault-refs", 200, json!({"data": {"issuer": format!("{}/v1/identity/oidc/provider/vault-refs", server.uri()), "allowed_client_ids": []}})).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(204))
        .mount(server)
        .await;
}

fn config(server: &MockServer) -> SetupConfig {
    let mut c = SetupConfig::new(&server.uri(), SecretString::from("admin-token")).unwrap();
    c.read = vec![
        ReadPath::parse("secret/app/*").unwrap(),
        ReadPath::parse("kv1/app/api").unwrap(),
    ];
    c
}

async fn sent(server: &MockServer, m: &str, p: &str) -> Option<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.method.as_str() == m && r.url.path() == p)
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_policy_names_only_the_read_paths_and_the_client_only_the_group() {
    let server = MockServer::start().await;
    vault(&server, None).await;
    let mut c = config(&server);
    c.groups = vec!["devs".into()];
    let o = setup::run(&c, Mode::Apply, &mut |_: &PlannedRequest| true)
        .await
        .unwrap();
    let policy = sent(&server, "PUT", "/v1/sys/policies/acl/vault-refs-read")
        .await
        .expect("the policy was written");
    assert_eq!(
        policy["policy"].as_str().unwrap(),
        "# vault-refs: read only the KV paths the admin named (hashicorp-setup --read)\n\
         path \"secret/data/app/*\" { capabilities = [\"read\"] }\n\
         path \"secret/metadata/app/*\" { capabilities = [\"read\"] }\n\
         path \"kv1/app/api\" { capabilities = [\"read\"] }\n"
    );
    assert_eq!(o.policy_text, policy["policy"].as_str().unwrap());
    let assignment = sent(&server, "POST", "/v1/identity/oidc/assignment/vault-refs")
        .await
        .expect("the assignment");
    assert_eq!(assignment["group_ids"], json!(["gid-1"]));
    assert_eq!(assignment["entity_ids"], json!([]));
    let client = sent(&server, "POST", "/v1/identity/oidc/client/vault-refs")
        .await
        .unwrap();
    assert_eq!(client["assignments"], json!(["vault-refs"]));
    let role = sent(&server, "POST", "/v1/auth/vault-refs-jwt/role/vault-refs")
        .await
        .unwrap();
    assert_eq!(role["bound_audiences"], json!(["cid"]));
    assert_eq!(role["token_policies"], json!(["vault-refs-read"]));
    assert_eq!(role["bound_claims"], json!({"groups": ["devs"]}));
    assert_eq!(role["bound_claims_type"], json!("string"));
    let scope = sent(&server, "POST", "/v1/identity/oidc/scope/groups")
        .await
        .expect("the groups scope (none existed)");
    assert_eq!(
        scope["template"],
        json!(r#"{"groups": {{identity.entity.groups.names}}}"#)
    );
    let provider = sent(&server, "POST", "/v1/identity/oidc/provider/vault-refs")
        .await
        .unwrap();
    assert_eq!(provider["scopes_supported"], json!(["groups"]));
    let order: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    let at = |what: &str| order.iter().position(|o| o == what).unwrap();
    assert!(
        at("GET /v1/identity/oidc/scope/groups")
            < at("POST /v1/identity/oidc/assignment/vault-refs"),
        "the scope is read before anything is written: {order:?}"
    );
    assert!(
        at("POST /v1/identity/oidc/scope/groups")
            < at("POST /v1/identity/oidc/provider/vault-refs"),
        "the scope exists before the provider names it: {order:?}"
    );
    let cfg = sent(&server, "POST", "/v1/auth/vault-refs-jwt/config")
        .await
        .unwrap();
    assert_eq!(cfg["bound_issuer"], cfg["oidc_discovery_url"]);
    for r in server.received_requests().await.unwrap() {
        assert_eq!(
            r.headers.get("X-Vault-Token").unwrap(),
            "admin-token",
            "{}",
            r.url
        );
    }
}

#[tokio::test]
async fn without_groups_every_entity_may_sign_in_and_broad_read_is_the_seed_policy() {
    let server = MockServer::start().await;
    vault(&server, Some("jwt")).await;
    let mut c = config(&server);
    c.read.clear();
    c.broad_read = true;
    setup::run(&c, Mode::Apply, &mut |_: &PlannedRequest| true)
        .await
        .expect("a rerun over our own jwt mount");
    let client = sent(&server, "POST", "/v1/identity/oidc/client/vault-refs")
        .await
        .unwrap();
    assert_eq!(client["assignments"], json!(["allow_all"]));
    let policy = sent(&server, "PUT", "/v1/sys/policies/acl/vault-refs-read")
        .await
        .unwrap();
    assert_eq!(
        policy["policy"].as_str().unwrap(),
        vault_hashicorp::defaults::POLICY_TEXT
    );
    assert!(
        sent(&server, "GET", "/v1/sys/mounts").await.is_none(),
        "no mount table needed"
    );
    let role = sent(&server, "POST", "/v1/auth/vault-refs-jwt/role/vault-refs")
        .await
        .unwrap();
    assert_eq!(
        role["bound_claims"],
        json!({}),
        "no claim binding; an empty map lifts one an earlier run with --group wrote"
    );
    assert_eq!(role["bound_audiences"], json!(["cid"]));
    let provider = sent(&server, "POST", "/v1/identity/oidc/provider/vault-refs")
        .await
        .unwrap();
    assert_eq!(provider["scopes_supported"], json!([]));
    assert!(
        server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .all(|r| !r.url.path().contains("/oidc/scope/")),
        "no scope without --group"
    );
}

/// With `--entity` beside `--group` the assignment lets in either, and a `groups` claim
/// binding would refuse a named entity outside the groups: no scope, no claim binding.
#[tokio::test]
async fn groups_with_entities_are_not_bound_by_claim() {
    let server = MockServer::start().await;
    vault(&server, None).await;
    answer(
        &server,
        "GET",
        "/v1/identity/entity/name/alice",
        200,
        json!({"data": {"id": "eid-1", "name": "alice"}}),
    )
    .await;
    let mut c = config(&server);
    c.groups = vec!["devs".into()];
    c.entities = vec!["alice".into()];
    setup::run(&c, Mode::Apply, &mut |_: &PlannedRequest| true)
        .await
        .unwrap();
    let assignment = sent(&server, "POST", "/v1/identity/oidc/assignment/vault-refs")
        .await
        .unwrap();
    assert_eq!(assignment["group_ids"], json!(["gid-1"]));
    assert_eq!(assignment["entity_ids"], json!(["eid-1"]));
    let role = sent(&server, "POST", "/v1/auth/vault-refs-jwt/role/vault-refs")
        .await
        .unwrap();
    assert_eq!(role["bound_claims"], json!({}));
    let provider = sent(&server, "POST", "/v1/identity/oidc/provider/vault-refs")
        .await
        .unwrap();
    assert_eq!(provider["scopes_supported"], json!([]));
    assert!(sent(&server, "GET", "/v1/identity/oidc/scope/groups")
        .await
        .is_none());
}

/// A `groups` scope that already yields the claim is kept as it is (not rewritten); one with
/// another template belongs to someone else: refused before anything is written.
#[tokio::test]
async fn an_existing_groups_scope_is_kept_or_refused() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        "/v1/identity/oidc/scope/groups",
        200,
        json!({"data": {"template": "{\n \"groups\":{{identity.entity.groups.names}} }", "description": ""}}),
    )
    .await;
    vault(&server, None).await;
    let mut c = config(&server);
    c.groups = vec!["devs".into()];
    setup::run(&c, Mode::Apply, &mut |_: &PlannedRequest| true)
        .await
        .unwrap();
    assert!(
        sent(&server, "POST", "/v1/identity/oidc/scope/groups")
            .await
            .is_none(),
        "the scope already yields the claim"
    );
    let provider = sent(&server, "POST", "/v1/identity/oidc/provider/vault-refs")
        .await
        .unwrap();
    assert_eq!(provider["scopes_supported"], json!(["groups"]));

    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        "/v1/identity/oidc/scope/groups",
        200,
        json!({"data": {"template": "{\"groups\": {{identity.entity.groups.ids}}}"}}),
    )
    .await;
    vault(&server, None).await;
    let mut c = config(&server);
    c.groups = vec!["devs".into()];
    let e = setup::run(&c, Mode::Apply, &mut |_: &PlannedRequest| true)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{e}");
    assert!(
        e.message()
            .contains("OIDC scope `groups` already exists with another template"),
        "{e}"
    );
    let writes = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() != "GET")
        .count();
    assert_eq!(writes, 0, "nothing written");
}

#[tokio::test]
async fn refusals_come_before_any_write() {
    for (auth, group, read, says) in [
        (
            Some("userpass"),
            None,
            "secret/app/*",
            "already a `userpass` auth method",
        ),
        (
            None,
            Some("nobody"),
            "secret/app/*",
            "no group named `nobody`",
        ),
        (None, None, "sys/policy/*", "`system` engine"),
        (None, None, "nowhere/x", "no secrets engine is mounted"),
    ] {
        let server = MockServer::start().await;
        vault(&server, auth).await;
        let mut c = config(&server);
        c.read = vec![ReadPath::parse(read).unwrap()];
        c.groups = group.map(|g| vec![g.to_owned()]).unwrap_or_default();
        let e = setup::run(&c, Mode::Apply, &mut |_: &PlannedRequest| true)
            .await
            .unwrap_err();
        assert!(e.message().contains(says), "{says}: {e}");
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{e}");
        let writes = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.method.as_str() != "GET")
            .count();
        assert_eq!(writes, 0, "{says}: nothing written");
    }
}
