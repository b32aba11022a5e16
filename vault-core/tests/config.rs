//! The config file: the design's schema, and precise errors for bad files.

use std::time::Duration;

use vault_core::{Config, ErrorKind, SecretSource};

const FULL: &str = r#"
[cache]
ttl_minutes = 15

[integrations.azure]
tenant = "organizations"
client_id = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
vault_hosts = ["127.0.0.1:8091"]

[integrations.aws]
region = "us-east-1"

[secrets.github-token]
value = "ghp_123"
allowed_domains = ["api.github.com", "*.githubusercontent.com"]
enabled = true

[secrets.db-password]
value_env = "DB_PASSWORD"

[secrets.off]
value = "x"
enabled = false

[secrets.api-key.azure]
identifier = "https://my-vault.vault.azure.net/secrets/api-key"

[secrets.app-token.hashicorp]
engine = "secret"
path = "app/config"
key = "token"
version = 3

[secrets.stripe.aws]
secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:stripe-AbCdEf"
"#;

#[test]
fn full_schema_parses() {
    let c = Config::parse(FULL).unwrap();
    assert_eq!(c.cache.ttl, Duration::from_secs(15 * 60));
    assert_eq!(c.vault.len(), 6);
    let gh = c.vault.get("github-token").unwrap();
    assert!(matches!(gh.source(), SecretSource::Local(_)));
    assert_eq!(gh.domains().patterns().len(), 2);
    assert!(!c.vault.get("off").unwrap().is_enabled());
    assert!(
        matches!(c.vault.get("db-password").unwrap().source(), SecretSource::Env(v) if v == "DB_PASSWORD")
    );
    let link = c.vault.get("app-token").unwrap().source().link().unwrap();
    assert_eq!(link.provider().as_str(), "hashicorp");
    assert_eq!(link.get("version"), Some("3"));
    assert_eq!(link.get("path"), Some("app/config"));
    let azure = &c.integrations[&vault_core::ProviderId::new("azure").unwrap()];
    assert_eq!(azure.get_str("tenant").unwrap(), Some("organizations"));
    assert!(azure.get_str("vault_hosts").is_err());
    c.check_providers(&["azure", "hashicorp", "aws"]).unwrap();
    let e = c.check_providers(&["azure", "aws"]).unwrap_err();
    assert!(
        e.to_string().contains("unknown provider `hashicorp`"),
        "{e}"
    );
    assert_eq!(e.line(), 28);
}

#[test]
fn defaults() {
    let c = Config::parse("").unwrap();
    assert_eq!(c.cache.ttl, Duration::from_secs(3600));
    assert!(c.vault.is_empty());
}

fn err(text: &str) -> vault_core::ConfigError {
    Config::parse(text).unwrap_err()
}

#[test]
fn errors_name_the_place_and_the_problem() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("[cache]\nttl = 5\n", 2, 1, "unknown key `ttl` in [cache]"),
        (
            "[cache]\nttl_minutes = -1\n",
            2,
            15,
            "`ttl_minutes` must be a whole number",
        ),
        (
            "[cache]\nttl_minutes = \"60\"\n",
            2,
            15,
            "`ttl_minutes` must be a whole number",
        ),
        ("[secrets.a]\nvalue = 1\n", 2, 9, "`value` must be a string"),
        (
            "[secrets.a]\nvalu = \"x\"\n",
            2,
            1,
            "unknown key `valu` in [secrets.a]",
        ),
        (
            "[secrets.a]\nenabled = true\n",
            1,
            10,
            "secret `a` has no source",
        ),
        (
            "[secrets.a]\nvalue = \"x\"\nvalue_env = \"X\"\n",
            3,
            1,
            "more than one source",
        ),
        (
            "[secrets.\"bad name\"]\nvalue = \"x\"\n",
            1,
            10,
            "secret name `bad name` is invalid",
        ),
        (
            "[secrets.a]\nvalue = \"x\"\nallowed_domains = [\"ok.com\", \"https://x.com\"]\n",
            3,
            30,
            "must be a host name, not a URL",
        ),
        (
            "[secrets.a]\nvalue = \"x\"\nallowed_domains = \"ok.com\"\n",
            3,
            19,
            "must be an array",
        ),
        (
            "[secrets.a.AWS]\nsecret_arn = \"x\"\n",
            1,
            12,
            "not a provider id",
        ),
        (
            "[secrets.a.aws]\nsecret_arn = [1]\n",
            2,
            14,
            "must be a string, number or boolean",
        ),
        (
            "[secretz.a]\nvalue = \"x\"\n",
            1,
            2,
            "unknown key `secretz`",
        ),
        (
            "[secrets.a]\nvalue = \"x\"\nvalue = \"y\"\n",
            3,
            1,
            "invalid TOML",
        ),
        ("[secrets.a\n", 1, 11, "invalid TOML"),
    ];
    for &(text, line, column, needle) in cases {
        let e = err(text);
        assert!(e.to_string().contains(needle), "{text:?}: {e}");
        assert_eq!((e.line(), e.column()), (line, column), "{text:?}: {e}");
    }
}

#[test]
fn errors_never_quote_values() {
    let e = err("[secrets.a]\nvalue = \"canary-secret\"\nvalue_env = \"X\"\n");
    assert!(!e.to_string().contains("canary"), "{e}");
    let e = err("[secrets.a]\nvalue = \"canary-secret\"\nallowed_domains = [\"*\"]\n");
    assert!(!e.to_string().contains("canary"), "{e}");
}

#[test]
fn load_names_the_file() {
    let dir = std::env::temp_dir().join(format!("vault-core-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("vault.toml");
    std::fs::write(&path, "[cache]\nttl = 1\n").unwrap();
    let e = Config::load(&path).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}:2:1: ", path.display())),
        "{e}"
    );
    let e = Config::load(dir.join("missing.toml")).unwrap_err();
    assert!(e.to_string().contains("cannot read the config file"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn integration_settings_deserialize_with_unknown_keys_named() {
    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Aws {
        region: String,
    }
    let c = Config::parse("[integrations.aws]\nregion = \"eu-west-1\"\nregon = \"x\"\n").unwrap();
    let s = &c.integrations[&vault_core::ProviderId::new("aws").unwrap()];
    let e = s.deserialize::<Aws>().unwrap_err();
    assert!(e.to_string().contains("regon"), "{e}");
    assert_eq!(e.line(), 1);
    let _ = ErrorKind::InvalidConfig;
}

#[test]
fn cache_persist_is_opt_in() {
    assert!(!Config::parse("").unwrap().persist_values);
    assert!(
        !Config::parse("[cache]\nttl_minutes = 5\n")
            .unwrap()
            .persist_values
    );
    let c = Config::parse("[cache]\npersist = true\nttl_minutes = 5\n").unwrap();
    assert!(c.persist_values);
    assert_eq!(c.cache.ttl, Duration::from_secs(300));
    let e = Config::parse("[cache]\npersist = \"yes\"\n").unwrap_err();
    assert_eq!(
        (e.line(), e.message()),
        (2, "`persist` must be true or false")
    );
}
