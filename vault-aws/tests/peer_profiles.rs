//! Shared-file profiles, credential_process, web identity and the session store, end to end
//! against moto: the signing server (SigV4 + IAM enforced) for profile roles and processes;
//! the unsigned server for web identity (moto's access checker reads the Authorization header
//! of every request, so the unsigned AssumeRoleWithWebIdentity answers 500 under enforcement)
//! and MFA (moto's session keys belong to no user).
#![cfg(feature = "peers")]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use support::{link, peer_var, CodeInteraction};
use url::Url;
use vault_aws::credential_source::ProfileFileSource;
use vault_aws::{AwsProvider, CredentialSource, Credentials, Endpoints, Mfa, RetryPolicy};
use vault_core::{MapEnv, MemorySessionStore, NoInteraction, Provider, SessionStore, StoreKey};

struct Dir(PathBuf);
impl Dir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "vault-aws-peer-{tag}-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
    fn write(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }
    fn path(&self) -> &Path {
        &self.0
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn files(dir: &Dir, config: &str, credentials: &str, profile: &str) -> CredentialSource {
    CredentialSource::ProfileFile(ProfileFileSource {
        path: Some(dir.write("credentials", credentials)),
        profile: Some(profile.to_owned()),
        config_path: Some(dir.write("config", config)),
    })
}

fn enforced(source: CredentialSource, home: &Dir) -> vault_aws::AwsProviderBuilder {
    AwsProvider::builder()
        .credentials(source)
        .env(Arc::new(
            MapEnv::new().with("HOME", &home.path().display().to_string()),
        ))
        .endpoints(
            Endpoints::default().all(Url::parse(&peer_var("VAULT_TEST_AWS_ENDPOINT")).unwrap()),
        )
        .retry(RetryPolicy::none())
}

fn alice_credentials_file() -> String {
    format!(
        "[base]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        peer_var("VAULT_TEST_AWS_ACCESS_KEY_ID"),
        peer_var("VAULT_TEST_AWS_SECRET_ACCESS_KEY")
    )
}

fn chain_config() -> String {
    format!(
        "[profile hop]\nrole_arn = {}\nsource_profile = base\nrole_session_name = first-hop\n\n\
         [profile reader]\nrole_arn = {}\nsource_profile = hop\nduration_seconds = 900\nregion = us-east-1\n",
        peer_var("VAULT_TEST_AWS_HOP_ROLE_ARN"),
        peer_var("VAULT_TEST_AWS_ROLE_ARN")
    )
}

#[tokio::test]
async fn a_source_profile_chain_of_two_roles_reads_a_secret() {
    let dir = Dir::new("chain");
    let p = enforced(
        files(&dir, &chain_config(), &alice_credentials_file(), "reader"),
        &dir,
    )
    .build()
    .unwrap();
    let v = p
        .fetch(
            &link(&peer_var("VAULT_TEST_AWS_SECRET_ARN")),
            &NoInteraction,
        )
        .await
        .unwrap();
    assert_eq!(
        v.expose_secret(),
        peer_var("VAULT_TEST_AWS_SECRET_V2_VALUE")
    );
    let source = p.source_description().unwrap();
    assert!(
        source.contains("profile `reader`") && source.contains("profile `hop`"),
        "{source}"
    );
    assert!(!source.contains(&peer_var("VAULT_TEST_AWS_ACCESS_KEY_ID")));

    // The first hop alone may not read secrets: the chain really went through both roles.
    let p = enforced(
        files(&dir, &chain_config(), &alice_credentials_file(), "hop"),
        &dir,
    )
    .build()
    .unwrap();
    let e = p
        .fetch(
            &link(&peer_var("VAULT_TEST_AWS_SECRET_ARN")),
            &NoInteraction,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), vault_core::ErrorKind::PermissionDenied, "{e}");
}

#[tokio::test]
async fn a_credential_process_profile_reads_a_secret() {
    let dir = Dir::new("process");
    let json = dir.write(
        "creds.json",
        &format!(
            r#"{{"Version": 1, "AccessKeyId": "{}", "SecretAccessKey": "{}"}}"#,
            peer_var("VAULT_TEST_AWS_ACCESS_KEY_ID"),
            peer_var("VAULT_TEST_AWS_SECRET_ACCESS_KEY")
        ),
    );
    let config = format!(
        "[profile proc]\ncredential_process = /bin/cat \"{json}\"\n\n\
         [profile proc-reader]\nrole_arn = {}\nsource_profile = proc\n",
        peer_var("VAULT_TEST_AWS_ROLE_ARN")
    );
    for profile in ["proc", "proc-reader"] {
        let p = enforced(files(&dir, &config, "", profile), &dir)
            .mfa(Mfa::Off)
            .build()
            .unwrap();
        let v = p
            .fetch(
                &link(&peer_var("VAULT_TEST_AWS_SECRET_ARN")),
                &NoInteraction,
            )
            .await
            .unwrap();
        assert_eq!(
            v.expose_secret(),
            peer_var("VAULT_TEST_AWS_SECRET_V2_VALUE")
        );
    }
    let bad = "[profile broken]\ncredential_process = /bin/false\n";
    let p = enforced(files(&dir, bad, "", "broken"), &dir)
        .build()
        .unwrap();
    let e = p
        .fetch(
            &link(&peer_var("VAULT_TEST_AWS_SECRET_ARN")),
            &NoInteraction,
        )
        .await
        .unwrap_err();
    assert!(
        e.message()
            .contains("credential_process of profile `broken`"),
        "{e}"
    );
}

#[tokio::test]
async fn web_identity_from_the_environment_reads_a_secret() {
    let dir = Dir::new("webid");
    let token = dir.write("token", "eyJhbGciOi.canary.token\n");
    let env = MapEnv::new()
        .with("HOME", &dir.path().display().to_string())
        .with("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
        .with("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ci-reader")
        .with("AWS_ROLE_SESSION_NAME", "ci-run");
    let p = AwsProvider::builder()
        .env(Arc::new(env))
        .endpoints(
            Endpoints::default().all(Url::parse(&peer_var("VAULT_TEST_AWS_MFA_ENDPOINT")).unwrap()),
        )
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let v = p
        .fetch(
            &link(&peer_var("VAULT_TEST_AWS_MFA_SECRET_ARN")),
            &NoInteraction,
        )
        .await
        .unwrap();
    assert_eq!(
        v.expose_secret(),
        peer_var("VAULT_TEST_AWS_MFA_SECRET_VALUE")
    );
    assert!(p.source_description().unwrap().contains("web identity"));
}

#[tokio::test]
async fn an_mfa_session_is_resumed_from_the_store_without_a_code() {
    let store: Arc<MemorySessionStore> = Arc::new(MemorySessionStore::new());
    let build = || {
        AwsProvider::builder()
            .static_credentials(Credentials::new(
                peer_var("VAULT_TEST_AWS_MFA_ACCESS_KEY_ID"),
                peer_var("VAULT_TEST_AWS_MFA_SECRET_ACCESS_KEY"),
            ))
            .endpoints(
                Endpoints::default()
                    .all(Url::parse(&peer_var("VAULT_TEST_AWS_MFA_ENDPOINT")).unwrap()),
            )
            .session_store(store.clone())
            .retry(RetryPolicy::none())
            .build()
            .unwrap()
    };
    let secret = link(&peer_var("VAULT_TEST_AWS_MFA_SECRET_ARN"));
    let host = CodeInteraction::new("123456");
    build().fetch(&secret, &host).await.unwrap();
    assert_eq!(host.asks(), 1);
    assert_eq!(store.len(), 1);
    // A new provider (a new process): no MFA prompt, no discovery.
    let again = build();
    let v = again.fetch(&secret, &NoInteraction).await.unwrap();
    assert_eq!(
        v.expose_secret(),
        peer_var("VAULT_TEST_AWS_MFA_SECRET_VALUE")
    );
    assert!(again.source_description().unwrap().contains("resumed"));
    again.sign_out().await.unwrap();
    assert!(store.is_empty(), "sign-out removes the record");
}

#[tokio::test]
async fn a_stored_session_the_server_refuses_is_dropped_and_sign_in_runs() {
    let dir = Dir::new("refused");
    let store: Arc<MemorySessionStore> = Arc::new(MemorySessionStore::new());
    let key = StoreKey::new(vault_aws::PROVIDER_ID, "profile:reader");
    let future = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    store
        .save(
            &key,
            &SecretString::from(format!(
                r#"{{"v":1,"session":{{"id":"ASIAREVOKED000000000","secret":"x","token":"revoked","expires":"{future}"}}}}"#
            )),
        )
        .unwrap();
    let p = enforced(
        files(&dir, &chain_config(), &alice_credentials_file(), "reader"),
        &dir,
    )
    .session_store(store.clone())
    .build()
    .unwrap();
    let v = p
        .fetch(
            &link(&peer_var("VAULT_TEST_AWS_SECRET_ARN")),
            &NoInteraction,
        )
        .await
        .unwrap();
    assert_eq!(
        v.expose_secret(),
        peer_var("VAULT_TEST_AWS_SECRET_V2_VALUE")
    );
    let record = store.load(&key).unwrap().expect("a fresh record");
    assert!(!record.expose_secret().contains("revoked"));
    // A later process resumes the role chain's credentials.
    let p2 = enforced(
        files(&dir, &chain_config(), &alice_credentials_file(), "reader"),
        &dir,
    )
    .session_store(store.clone())
    .build()
    .unwrap();
    p2.fetch(
        &link(&peer_var("VAULT_TEST_AWS_SECRET_ARN")),
        &NoInteraction,
    )
    .await
    .unwrap();
    assert!(p2.source_description().unwrap().contains("resumed"));
}
