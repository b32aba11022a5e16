//! `from_settings` on real config text: keys, defaults, positioned errors, and the
//! `VAULT_TOKEN` / `VAULT_ADDR` rule.

use vault_core::{Config, IntegrationSettings, MapEnv, ProviderId, SessionState};

fn settings(text: &str) -> IntegrationSettings {
    let c = Config::parse(text).unwrap();
    c.integrations[&ProviderId::new("hashicorp").unwrap()].clone()
}

const GOOD: &str = r#"
[integrations.hashicorp]
oidc_provider_url = "https://vault.example.com:8200/v1/identity/oidc/provider/vault-refs"
jwt_auth_path = "vault-refs-jwt"
client_id = "abc"
role = "vault-refs"
namespace = ""
redirect_uri = "http://127.0.0.1:10545/"
"#;

#[test]
fn builds_from_the_contract_keys() {
    let p = vault_hashicorp::from_settings(&settings(GOOD), &MapEnv::new()).unwrap();
    assert_eq!(p.id().as_str(), "hashicorp");
    assert_eq!(p.session(), SessionState::SignedOut);
}

#[test]
fn unknown_key_and_missing_values_are_positioned_errors() {
    let e =
        vault_hashicorp::from_settings(&settings(&GOOD.replace("role =", "rol =")), &MapEnv::new())
            .err()
            .expect("an error");
    assert!(e.to_string().contains("rol"), "{e}");
    assert_eq!(e.line(), 2);
    let e = vault_hashicorp::from_settings(&settings("[integrations.hashicorp]\n"), &MapEnv::new())
        .err()
        .expect("an error");
    assert!(
        e.message().contains("oidc_provider_url") && e.message().contains("client_id"),
        "{e}"
    );
    let e = vault_hashicorp::from_settings(
        &IntegrationSettings::new(Default::default()),
        &MapEnv::new(),
    )
    .err()
    .expect("an error");
    assert!(e.message().contains("missing"), "{e}");
    let bad = GOOD.replace(
        "https://vault.example.com:8200",
        "http://vault.example.com:8200",
    );
    let e = vault_hashicorp::from_settings(&settings(&bad), &MapEnv::new())
        .err()
        .expect("an error");
    assert!(e.message().contains("https"), "{e}");
}

#[test]
fn vault_token_is_used_only_for_its_own_address() {
    let env = MapEnv::new()
        .with("VAULT_TOKEN", "s.x")
        .with("VAULT_ADDR", "https://vault.example.com:8200/");
    let p = vault_hashicorp::from_settings(&settings(GOOD), &env).unwrap();
    assert_eq!(p.session(), SessionState::SignedIn { until: None });
    let env = MapEnv::new()
        .with("VAULT_TOKEN", "s.x")
        .with("VAULT_ADDR", "https://other.example.com:8200");
    let p = vault_hashicorp::from_settings(&settings(GOOD), &env).unwrap();
    assert_eq!(p.session(), SessionState::SignedOut);
    let env = MapEnv::new().with("VAULT_TOKEN", "s.x");
    let p = vault_hashicorp::from_settings(&settings(GOOD), &env).unwrap();
    assert_eq!(p.session(), SessionState::SignedOut);
}

#[test]
fn the_factory_hands_the_session_store_to_the_provider() {
    use std::sync::Arc;
    use vault_core::{
        MemorySessionStore, ProviderContext, ProviderFactory, SessionStore, StoreKey,
    };
    let store = Arc::new(MemorySessionStore::new());
    // a token saved by an earlier process for this address, namespace and method
    let key = StoreKey::new(
        vault_hashicorp::PROVIDER_ID,
        "https://vault.example.com:8200||approle|approle|rid",
    );
    let record = r#"{"v":1,"token":"s.saved","expires_at":null,"lease":0,"renewable":false}"#;
    store
        .save(&key, &secrecy::SecretString::from(record))
        .unwrap();
    let text = "[integrations.hashicorp]\naddress = \"https://vault.example.com:8200\"\nauth_method = \"approle\"\nrole_id = \"rid\"\n";
    let env = MapEnv::new();
    let ctx = ProviderContext::new(&env).with_session_store(store.clone());
    let p = vault_hashicorp::Factory
        .build(&settings(text), &ctx)
        .unwrap();
    assert_eq!(
        p.session(),
        SessionState::SignedIn { until: None },
        "resumed"
    );
    // without the store: signed out
    let p = vault_hashicorp::Factory
        .build(&settings(text), &ProviderContext::new(&env))
        .unwrap();
    assert_eq!(p.session(), SessionState::SignedOut);
    // a record it cannot read is removed, not a crash
    store
        .save(&key, &secrecy::SecretString::from("{garbage"))
        .unwrap();
    let ctx = ProviderContext::new(&env).with_session_store(store.clone());
    let p = vault_hashicorp::Factory
        .build(&settings(text), &ctx)
        .unwrap();
    assert_eq!(p.session(), SessionState::SignedOut);
    assert!(store.is_empty());
}
