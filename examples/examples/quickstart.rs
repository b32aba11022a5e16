//! Quickstart: the embedded default. No network, no cloud account.
//!
//! A vault of local secrets is read from the config text below, a request template is
//! resolved against it, the same template aimed at another host shows the allowed-domain
//! refusal, and the per-reference report is printed.
//!
//! ```text
//! cargo run --example quickstart
//! ```
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use secrecy::ExposeSecret;
use vault_core::{Config, HttpRequest, MapEnv, Outcome, Report, Resolver};

/// The embedded vault, in the config file format (`vault.toml`). The values are examples.
const CONFIG: &str = r#"
[cache]
ttl_minutes = 60

[secrets.github-token]
value = "ghp_exampleExampleExample0123456789"
allowed_domains = ["api.github.com", "*.githubusercontent.com"]

[secrets.api-user]
value = "octocat"

[secrets.db-password]
value_env = "QUICKSTART_DB_PASSWORD"

[secrets.retired-key]
value = "old"
enabled = false
"#;

fn print_report(report: &Report) {
    for e in report.entries() {
        let status = match &e.outcome {
            Outcome::Resolved => "resolved".to_owned(),
            Outcome::Empty => "resolved, but empty".to_owned(),
            Outcome::Unresolved(err) => format!("unresolved: {}", err),
            other => format!("{other:?}"),
        };
        println!("  {:<22} {:<14} {status}", e.field.to_string(), e.name);
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::parse(CONFIG) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("quickstart: {e}");
            return ExitCode::from(2);
        }
    };
    // The environment is injected: here a fixed one, in a real program `ProcessEnv`.
    let env = MapEnv::new().with("QUICKSTART_DB_PASSWORD", "s3cret-from-the-environment");
    let resolver = Resolver::builder(config.vault)
        .cache(config.cache)
        .env(Arc::new(env))
        .build();

    let template = HttpRequest::new("POST", "https://api.github.com/users/{{vault:api-user}}/notes")
        .header("Authorization", "Bearer {{vault:github-token}}")
        .body(r#"{"db": "{{vault:db-password}}", "old": "{{vault:retired-key}}", "typo": "{{vault:gh-token}}", "literal": "\{{vault:api-user}}"}"#);

    println!("1. The request template, resolved for api.github.com:");
    let resolved = match resolver.resolve_request(&template).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("quickstart: {e}");
            return ExitCode::from(1);
        }
    };
    println!("  {} {}", resolved.method, resolved.url.expose_secret());
    for (name, value) in &resolved.headers {
        println!("  {name}: {}", value.expose_secret());
    }
    if let Some(body) = &resolved.body {
        println!("  {}", body.expose_secret());
    }
    println!("\n   Report (lenient mode: unresolved references stay as written):");
    print_report(&resolved.report);

    println!("\n2. The same template sent to evil.example.com:");
    let elsewhere = HttpRequest {
        url: "https://evil.example.com/collect".into(),
        ..template
    };
    let refused = match resolver.resolve_request(&elsewhere).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("quickstart: {e}");
            return ExitCode::from(1);
        }
    };
    for (name, value) in &refused.headers {
        println!("  {name}: {}", value.expose_secret());
    }
    println!("\n   Report:");
    print_report(&refused.report);
    ExitCode::SUCCESS
}
