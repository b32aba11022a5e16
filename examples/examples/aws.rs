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

use vault_core::{Config, HttpRequest, MapEnv, Outcome, Resolver};
use vault_examples::demo::{peer_var, print_check, print_details, print_headers};

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
        region = peer_var("VAULT_TEST_AWS_REGION", "moto")?,
        endpoint = peer_var("VAULT_TEST_AWS_ENDPOINT", "moto")?,
        arn = peer_var("VAULT_TEST_AWS_SECRET_ARN", "moto")?,
        role = peer_var("VAULT_TEST_AWS_ROLE_ARN", "moto")?,
        eu = peer_var("VAULT_TEST_AWS_EU_SECRET_ARN", "moto")?,
    );
    let config = Config::parse(&config_text).map_err(|e| format!("config: {e}"))?;

    // The AWS_* conventions, through an injected environment (a real program passes
    // `vault_core::ProcessEnv`).
    let env = MapEnv::new()
        .with(
            "AWS_ACCESS_KEY_ID",
            &peer_var("VAULT_TEST_AWS_ACCESS_KEY_ID", "moto")?,
        )
        .with(
            "AWS_SECRET_ACCESS_KEY",
            &peer_var("VAULT_TEST_AWS_SECRET_ACCESS_KEY", "moto")?,
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
    print_headers(&resolved)?;

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
    print_check(&resolver).await;

    println!("\n4. details of `db` (DescribeSecret: metadata, never the value):");
    let d = resolver.describe("db").await.map_err(|e| e.to_string())?;
    print_details(&d);
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
