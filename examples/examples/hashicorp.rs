//! HashiCorp Vault / OpenBao through vault-hashicorp, against the local OpenBao dev server of
//! the test harness.
//!
//! What it shows:
//! 1. the admin's one-time setup (what `cargo run --example hashicorp-setup` does: OIDC client
//!    and provider, JWT auth method, read policy, role), which prints the values for the
//!    integration;
//! 2. a vault in the config file format whose secrets link to KV paths: a KV v2 secret, the
//!    same secret pinned to version 1, a KV v1 secret;
//! 3. the user's sign-in through Vault's OIDC provider (PKCE, loopback redirect, id_token
//!    validated, JWT login). A person would use a browser; here a scripted "browser" logs the
//!    seeded userpass user in and answers the authorization request
//!    (`vault_hashicorp::headless::UserpassBrowser`). One sign-in serves every reference;
//! 4. `check` (one line per secret, never a value) and `details` (KV v2 metadata).
//!
//! ```text
//! .ci/peers/start.sh openbao
//! set -a; . ~/.cache/vault-refs-peers/run/all.env; set +a
//! cargo run --example hashicorp
//! ```
//! The `VAULT_TEST_BAO_*` variables are written by `.ci/peers/peer-openbao.sh`. Values are
//! printed masked: an example's output ends up in logs.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use secrecy::SecretString;
use vault_core::{Config, HttpRequest, MapEnv, Resolver};
use vault_examples::demo::{peer_var, print_check, print_details, print_headers};
use vault_hashicorp::headless::UserpassBrowser;
use vault_hashicorp::read_policy::ReadPath;
use vault_hashicorp::setup::{self, Mode, PlannedRequest, SetupConfig};
use vault_hashicorp::{Namespace, VaultAddress};

async fn run() -> Result<(), String> {
    let addr = peer_var("VAULT_TEST_BAO_ADDR", "openbao")?;

    println!("1. The admin's setup (idempotent; `hashicorp-setup --read 'secret/app/*' --read 'kv1/app/*' -y` does the same):");
    let mut admin = SetupConfig::new(
        &addr,
        SecretString::from(peer_var("VAULT_TEST_BAO_ROOT_TOKEN", "openbao")?),
    )
    .map_err(|e| e.to_string())?;
    // least privilege: users read these KV paths and nothing else (`--read` in the tool)
    for p in ["secret/app/*", "kv1/app/*"] {
        admin
            .read
            .push(ReadPath::parse(p).map_err(|e| e.to_string())?);
    }
    let outcome = setup::run(&admin, Mode::Apply, &mut |r: &PlannedRequest| {
        println!("  {} /v1/{}", r.method, r.path);
        true
    })
    .await
    .map_err(|e| e.to_string())?;
    for line in outcome.labelled_lines().lines() {
        println!("  {line}");
    }

    let config_text = format!(
        r#"
[integrations.hashicorp]
oidc_provider_url = "{url}"
client_id = "{client_id}"
jwt_auth_path = "{path}"        # the default; may be left out
role = "{role}"                 # the default; may be left out
# redirect_uri: default http://127.0.0.1:10545/, then :10534 when that port is taken

[secrets.db]
allowed_domains = ["db.example.com"]   # sent to this host only

[secrets.db.hashicorp]
engine = "secret"               # a KV v2 mount
path = "app/db"
key = "password"

[secrets.db-v1.hashicorp]
engine = "secret"
path = "app/db"
key = "password"
version = 1                     # pinned: KV v2 keeps every version

[secrets.api-key.hashicorp]
engine = "kv1"                  # a KV v1 mount: told apart automatically
path = "app/api"
key = "api_key"
"#,
        url = outcome.oidc_provider_url,
        client_id = outcome.client_id,
        path = outcome.jwt_auth_path,
        role = outcome.role,
    );
    let config = Config::parse(&config_text).map_err(|e| format!("config: {e}"))?;
    let settings = config
        .integrations
        .values()
        .next()
        .ok_or("no [integrations.hashicorp]")?;
    let provider = vault_hashicorp::from_settings(settings, &MapEnv::new())
        .map_err(|e| format!("config: {e}"))?;

    let browser = Arc::new(UserpassBrowser::new(
        VaultAddress::parse(&addr).map_err(|e| e.to_string())?,
        Namespace::root(),
        &peer_var("VAULT_TEST_BAO_USER", "openbao")?,
        SecretString::from(peer_var("VAULT_TEST_BAO_PASS", "openbao")?),
        &outcome.oidc_provider_url,
    ));
    let resolver = Resolver::builder(config.vault)
        .cache(config.cache)
        .provider(provider)
        .interaction(browser.clone())
        .env(Arc::new(MapEnv::new()))
        .build();

    println!("\n2. A request template resolved for db.example.com (sign-in on first use):");
    let template = HttpRequest::new("POST", "https://db.example.com/login")
        .header("X-Current", "{{vault:db}}")
        .header("X-Version-1", "{{vault:db-v1}}")
        .header("X-Api-Key", "{{vault:api-key}}");
    let resolved = resolver
        .resolve_request(&template)
        .await
        .map_err(|e| e.to_string())?;
    print_headers(&resolved)?;
    println!(
        "  browser sign-ins: {} (expected: 1, shared by all three references)",
        browser.opened()
    );

    println!("\n3. check (never a value):");
    print_check(&resolver).await;

    println!("\n4. details of `db` (KV v2 metadata, never the value):");
    let d = resolver.describe("db").await.map_err(|e| e.to_string())?;
    print_details(&d);
    if browser.opened() != 1 {
        return Err(format!("expected one sign-in, saw {}", browser.opened()));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hashicorp example: {e}");
            ExitCode::FAILURE
        }
    }
}
