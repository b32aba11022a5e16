//! AWS Secrets Manager through vault-aws, against the local moto server of the test harness
//! (SigV4 signatures and IAM policies are checked there, as on AWS).
//!
//! What it shows:
//! 1. a vault in the config file format whose secrets link to Secrets Manager ARNs: the
//!    current value, an older version by staging label, a secret read through an assumed
//!    role, and a secret in another region;
//! 2. credentials taken from the AWS environment variables (`AWS_ACCESS_KEY_ID`, ...), handed
//!    to the provider through an injected environment;
//! 3. a request template resolved concurrently (one round trip of wall time for all links),
//!    `check` (one line per secret, never a value) and `details` (DescribeSecret metadata).
//!
//! ```text
//! .ci/peers/start.sh moto
//! set -a; . ~/.cache/vault-refs-peers/run/all.env; set +a
//! cargo run --example aws
//! ```
//! The `VAULT_TEST_AWS_*` variables are written by `.ci/peers/peer-moto.sh`. Values are
//! printed masked: an example's output ends up in logs.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use secrecy::ExposeSecret;
use vault_core::{Config, HttpRequest, MapEnv, Outcome, Resolver};

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| {
        format!("{name} not set: start moto with `.ci/peers/start.sh moto`, then `set -a; . ~/.cache/vault-refs-peers/run/all.env; set +a`")
    })
}

/// Shows a value's shape, not the value.
fn mask(value: &str) -> String {
    let head: String = value.chars().take(3).collect();
    format!("{head}… ({} characters)", value.chars().count())
}

async fn run() -> Result<(), String> {
    let config_text = format!(
        r#"
[cache]
ttl_minutes = 60

[integrations.aws]
region = "{region}"
endpoint_url = "{endpoint}"     # the local moto; leave it out for AWS itself

[secrets.db]
allowed_domains = ["db.example.com"]   # sent to this host only

[secrets.db.aws]
secret_arn = "{arn}"

[secrets.db-previous.aws]
secret_arn = "{arn}"
version = "AWSPREVIOUS"         # a staging label; a UUID would be a version id

[secrets.db-via-role.aws]
secret_arn = "{arn}"
role_arn = "{role}"             # assumed with STS AssumeRole, shared by every secret naming it

[secrets.eu.aws]
secret_arn = "{eu}"             # signed for eu-west-1, the ARN's region
"#,
        region = var("VAULT_TEST_AWS_REGION")?,
        endpoint = var("VAULT_TEST_AWS_ENDPOINT")?,
        arn = var("VAULT_TEST_AWS_SECRET_ARN")?,
        role = var("VAULT_TEST_AWS_ROLE_ARN")?,
        eu = var("VAULT_TEST_AWS_EU_SECRET_ARN")?,
    );
    let config = Config::parse(&config_text).map_err(|e| format!("config: {e}"))?;

    // The AWS_* conventions, through an injected environment (a real program passes
    // `vault_core::ProcessEnv`).
    let env = MapEnv::new()
        .with("AWS_ACCESS_KEY_ID", &var("VAULT_TEST_AWS_ACCESS_KEY_ID")?)
        .with(
            "AWS_SECRET_ACCESS_KEY",
            &var("VAULT_TEST_AWS_SECRET_ACCESS_KEY")?,
        );
    let settings = config
        .integrations
        .values()
        .next()
        .ok_or("no [integrations.aws] table")?;
    let aws = vault_aws::from_settings(settings, &env).map_err(|e| format!("config: {e}"))?;
    let resolver = Resolver::builder(config.vault)
        .cache(config.cache)
        .provider(aws)
        .env(Arc::new(MapEnv::new()))
        .build();

    println!("1. A request template resolved for db.example.com (all links fetched concurrently):");
    let template = HttpRequest::new("POST", "https://db.example.com/login")
        .header("X-Current", "{{vault:db}}")
        .header("X-Previous", "{{vault:db-previous}}")
        .header("X-Role", "{{vault:db-via-role}}")
        .header("X-Eu", "{{vault:eu}}");
    let resolved = resolver
        .resolve_request(&template)
        .await
        .map_err(|e| e.to_string())?;
    for (name, value) in &resolved.headers {
        println!("  {name}: {}", mask(value.expose_secret()));
    }
    if let Some(e) = resolved.report.first_error() {
        return Err(format!("unresolved: {e}"));
    }

    println!("\n2. The same template sent to another host: `db` stays unresolved.");
    let elsewhere = HttpRequest {
        url: "https://evil.example.com/collect".into(),
        ..template
    };
    let refused = resolver
        .resolve_request(&elsewhere)
        .await
        .map_err(|e| e.to_string())?;
    for e in refused.report.unresolved() {
        if let Outcome::Unresolved(err) = &e.outcome {
            println!("  {}: {err}", e.name);
        }
    }

    println!("\n3. check (never a value):");
    for s in resolver.check().await {
        let status = match &s.outcome {
            Outcome::Resolved => "resolved".to_owned(),
            Outcome::Empty => "resolved, empty".to_owned(),
            Outcome::Unresolved(e) => format!("unresolved: {e}"),
        };
        println!("  {:<14} {:<10} {status}", s.name, s.source);
    }

    println!("\n4. details of `db` (DescribeSecret: metadata, never the value):");
    let d = resolver.describe("db").await.map_err(|e| e.to_string())?;
    println!("  id       {}", d.id);
    println!("  name     {}", d.name.as_deref().unwrap_or("-"));
    println!("  version  {}", d.version.as_deref().unwrap_or("-"));
    for (k, v) in &d.extra {
        println!("  {k}: {v}");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aws example: {e}");
            ExitCode::FAILURE
        }
    }
}
