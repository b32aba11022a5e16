//! Requests per cold KV read, counted on wiremock: one when the mount's version is stated (the
//! link's `kv_version`, the integration's `kv_versions`) or remembered by an earlier process
//! through the session store; two (lookup + read) otherwise; and a remembered version the
//! server contradicts is looked up again.

mod mock;

use std::sync::Arc;

use mock::*;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use vault_core::{ErrorKind, MemorySessionStore, NoInteraction, Provider, SessionStore};
use vault_hashicorp::{HashicorpBuilder, HashicorpProvider, RawSettings};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LOOKUP: &str = "/v1/sys/internal/ui/mounts/secret";

fn v2_read(server_path: &str) -> Mock {
    Mock::given(method("GET"))
        .and(path(server_path.to_owned()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"data": {"password": "p2"}, "metadata": {"version": 2}}
        })))
}

fn lookup(version: &str) -> Mock {
    Mock::given(method("GET")).and(path(LOOKUP)).respond_with(
        ResponseTemplate::new(200).set_body_json(json!({
            "data": {"type": "kv", "path": "secret/", "options": {"version": version}}
        })),
    )
}

fn signed_in(b: HashicorpBuilder) -> HashicorpProvider {
    b.token(SecretString::from("s.testtoken")).build().unwrap()
}

async fn requests(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect()
}

async fn read(p: &HashicorpProvider, link: vault_core::Link) -> Result<String, vault_core::Error> {
    p.fetch(&link, &NoInteraction)
        .await
        .map(|v| v.expose_secret().to_owned())
}

#[tokio::test]
async fn a_link_stating_kv_version_reads_with_one_request() {
    let server = MockServer::start().await;
    lookup("2").expect(0).mount(&server).await;
    v2_read("/v1/secret/data/app/db")
        .expect(1)
        .mount(&server)
        .await;
    let p = signed_in(builder(&server, ""));
    let l = link("secret", "app/db", "password").with("kv_version", "2");
    assert_eq!(read(&p, l).await.unwrap(), "p2");
    assert_eq!(requests(&server).await, ["/v1/secret/data/app/db"]);
}

#[tokio::test]
async fn kv_versions_in_the_settings_read_with_one_request() {
    let server = MockServer::start().await;
    lookup("2").expect(0).mount(&server).await;
    v2_read("/v1/secret/data/app/db")
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/kv1/app/api"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"api_key": "k1"}})))
        .expect(1)
        .mount(&server)
        .await;
    let raw: RawSettings = toml::from_str(&format!(
        "oidc_provider_url = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nkv_versions = {{ secret = 2, kv1 = 1 }}\n",
        issuer(&server, "")
    ))
    .unwrap();
    let p = signed_in(HashicorpBuilder::from_raw(raw).retry(fast_retry()));
    assert_eq!(
        read(&p, link("secret", "app/db", "password"))
            .await
            .unwrap(),
        "p2"
    );
    assert_eq!(
        read(&p, link("kv1", "app/api", "api_key")).await.unwrap(),
        "k1"
    );
    assert_eq!(
        requests(&server).await,
        ["/v1/secret/data/app/db", "/v1/kv1/app/api"]
    );
}

#[tokio::test]
async fn a_later_process_reads_with_one_request_through_the_store() {
    let server = MockServer::start().await;
    lookup("2").expect(1).mount(&server).await;
    v2_read("/v1/secret/data/app/db")
        .expect(2)
        .mount(&server)
        .await;
    let store = Arc::new(MemorySessionStore::new());

    // the first process: lookup + read, and the answer goes to the store
    let first = signed_in(builder(&server, "").mount_store(store.clone()));
    assert_eq!(
        read(&first, link("secret", "app/db", "password"))
            .await
            .unwrap(),
        "p2"
    );
    assert_eq!(requests(&server).await.len(), 2);
    assert_eq!(store.len(), 1);
    drop(first);

    // a later process with the same store: one request
    let second = signed_in(builder(&server, "").mount_store(store.clone()));
    assert_eq!(
        read(&second, link("secret", "app/db", "password"))
            .await
            .unwrap(),
        "p2"
    );
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn a_remembered_version_the_server_contradicts_is_looked_up_again() {
    let server = MockServer::start().await;
    // the mount is KV v1 at first, then re-created as KV v2
    lookup("1")
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    lookup("2").with_priority(2).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/app/db"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"password": "p1"}})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    // what a KV v2 mount answers to a v1-style path
    Mock::given(method("GET"))
        .and(path("/v1/secret/app/db"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "data": null,
            "warnings": ["Invalid path for a versioned K/V secrets engine."]
        })))
        .with_priority(2)
        .mount(&server)
        .await;
    v2_read("/v1/secret/data/app/db").mount(&server).await;
    let store = Arc::new(MemorySessionStore::new());

    let first = signed_in(builder(&server, "").mount_store(store.clone()));
    assert_eq!(
        read(&first, link("secret", "app/db", "password"))
            .await
            .unwrap(),
        "p1"
    );
    let before = requests(&server).await.len();
    assert_eq!(before, 2);

    // remembered v1: the read 404s, a fresh lookup says v2, the v2 read answers
    let second = signed_in(builder(&server, "").mount_store(store.clone()));
    assert_eq!(
        read(&second, link("secret", "app/db", "password"))
            .await
            .unwrap(),
        "p2"
    );
    assert_eq!(
        requests(&server).await[before..],
        ["/v1/secret/app/db", LOOKUP, "/v1/secret/data/app/db"]
    );
    // the store now says v2: the next process reads with one request
    let third = signed_in(builder(&server, "").mount_store(store.clone()));
    let n = requests(&server).await.len();
    assert_eq!(
        read(&third, link("secret", "app/db", "password"))
            .await
            .unwrap(),
        "p2"
    );
    assert_eq!(requests(&server).await.len(), n + 1);
}

#[tokio::test]
async fn a_missing_secret_on_a_remembered_mount_stays_not_found() {
    let server = MockServer::start().await;
    lookup("2").expect(2).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/app/missing"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"errors": []})))
        .expect(1)
        .mount(&server)
        .await;
    v2_read("/v1/secret/data/app/db")
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(MemorySessionStore::new());
    let first = signed_in(builder(&server, "").mount_store(store.clone()));
    read(&first, link("secret", "app/db", "password"))
        .await
        .unwrap();
    let second = signed_in(builder(&server, "").mount_store(store.clone()));
    let e = read(&second, link("secret", "app/missing", "password"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // the read, one fresh lookup that agrees, and no second read
    assert_eq!(requests(&server).await.len(), 4);
}

#[tokio::test]
async fn the_store_record_holds_mount_names_and_versions_only() {
    let server = MockServer::start().await;
    lookup("2").expect(1).mount(&server).await;
    v2_read("/v1/secret/data/app/db")
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(MemorySessionStore::new());
    let p = signed_in(builder(&server, "").mount_store(store.clone()));
    read(&p, link("secret", "app/db", "password"))
        .await
        .unwrap();
    assert_eq!(store.len(), 1);
    assert!(store
        .load(&vault_core::StoreKey::new(
            vault_hashicorp::PROVIDER_ID,
            format!("kv-mounts|{}|", server.uri())
        ))
        .unwrap()
        .is_some_and(|r| r.expose_secret() == "{\"secret\":2}"));
}
