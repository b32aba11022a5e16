//! Output helpers shared by the provider examples (`aws`, `azure`, `hashicorp`): they show a
//! value's shape and never the value, since an example's output ends up in logs.

use secrecy::ExposeSecret;
use vault_core::{Outcome, ResolvedRequest, Resolver, SecretDetails};

/// An environment variable written by a peer script, or an error saying how to start `peer`.
pub fn peer_var(name: &str, peer: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| {
        format!(
            "{name} not set: start the peer with `.ci/peers/start.sh {peer}`, then \
             `set -a; . ~/.cache/vault-refs-peers/run/all.env; set +a`"
        )
    })
}

/// What the output shows of a value: that it resolved, and its length. Not a character of it.
pub fn mask(value: &str) -> String {
    format!("[resolved, {} characters]", value.chars().count())
}

/// Prints the resolved headers, masked; the first unresolved reference is an error.
pub fn print_headers(resolved: &ResolvedRequest) -> Result<(), String> {
    for (name, value) in &resolved.headers {
        println!("  {name}: {}", mask(value.expose_secret()));
    }
    match resolved.report.first_error() {
        Some(e) => Err(format!("unresolved: {e}")),
        None => Ok(()),
    }
}

/// Prints `check`: one line per secret, never a value.
pub async fn print_check(resolver: &Resolver) {
    for s in resolver.check().await {
        let status = match &s.outcome {
            Outcome::Resolved => "resolved".to_owned(),
            Outcome::Empty => "resolved, empty".to_owned(),
            Outcome::Unresolved(e) => format!("unresolved: {e}"),
            other => format!("{other:?}"),
        };
        println!("  {:<12} {:<15} {status}", s.name, s.source);
    }
}

/// Prints the metadata a provider gave, never a value.
pub fn print_details(d: &SecretDetails) {
    println!("  id       {}", d.id);
    let lines = [
        ("name", d.name.clone()),
        ("version", d.version.clone()),
        ("enabled", d.enabled.map(|e| e.to_string())),
        ("created", d.created.map(|t| t.to_string())),
        ("updated", d.updated.map(|t| t.to_string())),
        ("expires", d.expires.map(|t| t.to_string())),
        ("content type", d.content_type.clone()),
    ];
    for (k, v) in lines {
        if let Some(v) = v {
            println!("  {k:<8} {v}");
        }
    }
    for (k, v) in &d.extra {
        println!("  {k}: {v}");
    }
}
