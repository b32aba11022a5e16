//! `Resolver::from_config` with factories, and `resolve_json` on structured documents.

use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret;
use vault_core::testing::FakeProvider;
use vault_core::{
    Config, ConfigError, DynProvider, ErrorKind, Field, IntegrationSettings, MemorySessionStore,
    ProviderContext, ProviderFactory, Resolver,
};

/// Builds a `FakeProvider` serving `key = "db"` and records what it was given.
#[derive(Default)]
struct FakeFactory {
    seen: Mutex<Vec<(Vec<String>, bool)>>,
}

impl ProviderFactory for FakeFactory {
    fn id(&self) -> &'static str {
        "fake"
    }

    fn build(
        &self,
        settings: &IntegrationSettings,
        context: &ProviderContext<'_>,
    ) -> Result<DynProvider, ConfigError> {
        if settings.get_str("fail")?.is_some() {
            return Err(settings.error("`fail` is set"));
        }
        self.seen.lock().unwrap().push((
            settings.table().keys().cloned().collect(),
            context.session_store.is_some(),
        ));
        let p = FakeProvider::new("fake");
        p.set("db", "pa ss\"word");
        Ok(Arc::new(p))
    }
}

const LINKED: &str = r#"
[secrets.local]
value = "l"

[secrets.db.fake]
key = "db"
"#;

#[tokio::test]
async fn a_provider_without_a_table_gets_an_empty_one() {
    let config = Config::parse(LINKED).unwrap();
    let factory = FakeFactory::default();
    let resolver = Resolver::from_config(&config, &[&factory]).unwrap();
    assert_eq!(
        resolver.value("db").await.unwrap().expose_secret(),
        "pa ss\"word"
    );
    assert_eq!(*factory.seen.lock().unwrap(), [(vec![], false)]);
}

#[tokio::test]
async fn settings_and_session_store_reach_the_factory() {
    let config = Config::parse(&format!("[integrations.fake]\nregion = \"x\"\n{LINKED}")).unwrap();
    let factory = FakeFactory::default();
    let resolver = Resolver::configure(&config, &[&factory])
        .session_store(Arc::new(MemorySessionStore::default()))
        .build()
        .unwrap();
    assert_eq!(resolver.names(), ["db", "local"]);
    assert_eq!(
        *factory.seen.lock().unwrap(),
        [(vec!["region".to_owned()], true)]
    );
}

#[test]
fn unused_providers_are_not_built_and_bad_settings_are_positioned() {
    let factory = FakeFactory::default();
    Resolver::from_config(
        &Config::parse("[secrets.a]\nvalue = \"v\"").unwrap(),
        &[&factory],
    )
    .unwrap();
    assert!(factory.seen.lock().unwrap().is_empty());
    let config = Config::parse("\n[integrations.fake]\nfail = \"y\"\n").unwrap();
    let e = Resolver::from_config(&config, &[&factory]).unwrap_err();
    assert_eq!(e.line(), 2, "{e}");
    assert!(e.message().contains("`fail` is set"));
}

#[tokio::test]
async fn a_link_without_its_factory_stays_unresolved() {
    let config = Config::parse(LINKED).unwrap();
    let resolver = Resolver::from_config(&config, &[]).unwrap();
    let e = resolver.value("db").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
}

#[cfg(feature = "json")]
#[tokio::test]
async fn every_string_of_a_json_document_is_resolved_and_reported_by_pointer() {
    let config = Config::parse(&format!(
        "{LINKED}\n[secrets.narrow]\nvalue = \"n\"\nallowed_domains = [\"other.example\"]\n"
    ))
    .unwrap();
    let factory = FakeFactory::default();
    let resolver = Resolver::from_config(&config, &[&factory]).unwrap();
    let mut doc = serde_json::json!({
        "auth": {"headers": [{"key": "Authorization", "value": "Bearer {{vault:db}}"}]},
        "a/b~c": "{{vault:local}}-{{vault:narrow}}",
        "n": 3,
        "{{vault:local}}": "keys are names",
    });
    let report = resolver
        .resolve_json(&mut doc, Some("https://api.example.com/"))
        .await
        .unwrap();
    assert_eq!(doc["auth"]["headers"][0]["value"], "Bearer pa ss\"word");
    assert_eq!(doc["a/b~c"], "l-{{vault:narrow}}");
    assert_eq!(doc["{{vault:local}}"], "keys are names");
    let fields: Vec<(String, bool)> = report
        .entries()
        .iter()
        .map(|e| match &e.field {
            Field::Pointer(p) => (p.clone(), e.outcome.is_resolved()),
            other => panic!("not a pointer: {other}"),
        })
        .collect();
    assert!(fields.contains(&("/auth/headers/0/value".to_owned(), true)));
    assert!(fields.contains(&("/a~1b~0c".to_owned(), true)));
    assert!(fields.contains(&("/a~1b~0c".to_owned(), false)));
    assert!(report.has(ErrorKind::DomainNotAllowed));
}
