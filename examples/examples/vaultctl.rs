//! `vaultctl`: the command-line face of the vault.
//!
//! ```text
//! cargo run --example vaultctl -- [--config FILE] [--no-browser] COMMAND
//!   get NAME                 print the secret's value and a newline
//!   resolve TEXT [--url URL] print TEXT with its references resolved (URL: the request's,
//!                            for allowed domains)
//!   check                    one line per secret: name, source, status (never a value)
//!   details NAME             metadata of a linked secret (never the value)
//!   login PROVIDER           sign in to azure, hashicorp or aws
//!   logout PROVIDER          sign out
//! ```
//!
//! The config file defaults to `vault.toml`. Exit status: 0 on success; 1 for an unresolved
//! secret or a failed call, with one line on stderr naming the secret, the provider and the
//! reason; 2 for bad usage or a bad config file. `check` exits 1 when a secret that is turned
//! on does not resolve.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use secrecy::ExposeSecret;
use vault_core::{Config, Error, ErrorKind, Mode, Outcome, ProviderId, Resolver};
use vault_examples::providers::why_unavailable;
use vault_examples::{build_resolver, CliInteraction, KNOWN_PROVIDERS};

const USAGE: &str = "usage: vaultctl [--config FILE] [--no-browser] COMMAND
commands:
  get NAME                  print the secret's value
  resolve TEXT [--url URL]  print TEXT with its {{vault:NAME}} references resolved
  check                     list every secret with its status
  details NAME              metadata of a linked secret
  login PROVIDER            sign in (azure, hashicorp, aws)
  logout PROVIDER           sign out";

enum Command {
    Get(String),
    Resolve { text: String, url: Option<String> },
    Check,
    Details(String),
    Login(String),
    Logout(String),
}

struct Args {
    config: String,
    no_browser: bool,
    command: Command,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut config = "vault.toml".to_owned();
    let mut no_browser = false;
    let mut rest = Vec::new();
    let mut url = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--" => {
                rest.extend(args.by_ref());
                break;
            }
            "--config" | "-c" => config = args.next().ok_or("--config needs a file")?,
            "--no-browser" => no_browser = true,
            "--url" => url = Some(args.next().ok_or("--url needs a URL")?),
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with("--config=") => config = s["--config=".len()..].to_owned(),
            s if s.starts_with("--url=") => url = Some(s["--url=".len()..].to_owned()),
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option `{s}`")),
            _ => rest.push(a),
        }
    }
    let mut rest = rest.into_iter();
    let cmd = rest.next().ok_or("no command given")?;
    let mut one = |what: &str| rest.next().ok_or(format!("`{cmd}` needs {what}"));
    let command = match cmd.as_str() {
        "get" => Command::Get(one("a secret NAME")?),
        "resolve" => Command::Resolve {
            text: one("the TEXT to resolve")?,
            url: url.take(),
        },
        "check" => Command::Check,
        "details" => Command::Details(one("a secret NAME")?),
        "login" => Command::Login(one("a PROVIDER")?),
        "logout" => Command::Logout(one("a PROVIDER")?),
        other => return Err(format!("unknown command `{other}`")),
    };
    if let Some(extra) = rest.next() {
        return Err(format!("unexpected argument `{extra}`"));
    }
    if url.is_some() {
        return Err("--url goes with `resolve`".into());
    }
    if let Command::Resolve { url: Some(u), .. } = &command {
        url::Url::parse(u)
            .ok()
            .filter(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some())
            .ok_or(format!("--url `{u}` is not an http(s) URL"))?;
    }
    Ok(Args {
        config,
        no_browser,
        command,
    })
}

/// One stderr line for a failed call.
fn fail(e: &Error, config: &Config) -> ExitCode {
    let mut line = e.to_string();
    if e.kind() == ErrorKind::ProviderUnavailable {
        if let Some(p) = e.provider() {
            line = match e.secret() {
                Some(s) => format!("secret `{s}` ({p}): {}", why_unavailable(config, p)),
                None => why_unavailable(config, p),
            };
        }
    }
    eprintln!("vaultctl: {line}");
    ExitCode::from(1)
}

fn provider_arg(name: &str) -> Result<ProviderId, ExitCode> {
    if !KNOWN_PROVIDERS.contains(&name) {
        eprintln!(
            "vaultctl: unknown provider `{name}`; expected one of: {}",
            KNOWN_PROVIDERS.join(", ")
        );
        return Err(ExitCode::from(2));
    }
    ProviderId::new(name).map_err(|_| ExitCode::from(2))
}

async fn run(args: Args, config: Config, resolver: Resolver) -> ExitCode {
    match args.command {
        Command::Get(name) => match resolver.value(&name).await {
            Ok(v) => {
                out(v.expose_secret());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e, &config),
        },
        Command::Resolve { text, url } => match resolver.resolve(&text, url.as_deref()).await {
            Ok(r) => {
                out(r.expose());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e, &config),
        },
        Command::Check => {
            let mut failed = false;
            for s in resolver.check().await {
                let status = match &s.outcome {
                    Outcome::Resolved => "resolved".to_owned(),
                    Outcome::Empty => "resolved (empty value)".to_owned(),
                    Outcome::Unresolved(e) => {
                        failed |= e.kind() != ErrorKind::Disabled;
                        let reason = if e.kind() == ErrorKind::ProviderUnavailable {
                            e.provider()
                                .map(|p| why_unavailable(&config, p))
                                .unwrap_or_default()
                        } else {
                            e.message().to_owned()
                        };
                        format!("{}: {reason}", e.kind())
                    }
                };
                out(&format!("{}\t{}\t{}", s.name, s.source, status));
            }
            if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Details(name) => match resolver.describe(&name).await {
            Ok(d) => {
                let link = config.vault.get(&name).and_then(|s| s.source().link());
                if let Some(l) = link {
                    out(&format!("provider: {}", l.provider()));
                    for (k, v) in l.fields() {
                        out(&format!("{k}: {v}"));
                    }
                }
                out(&format!("id: {}", d.id));
                let opt = |k: &str, v: Option<String>| {
                    if let Some(v) = v {
                        out(&format!("{k}: {v}"));
                    }
                };
                opt("name", d.name.clone());
                opt("version", d.version.clone());
                opt("enabled", d.enabled.map(|b| b.to_string()));
                opt("created", d.created.map(|t| t.to_string()));
                opt("updated", d.updated.map(|t| t.to_string()));
                opt("expires", d.expires.map(|t| t.to_string()));
                opt("content type", d.content_type.clone());
                for (k, v) in &d.extra {
                    out(&format!("{k}: {v}"));
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e, &config),
        },
        Command::Login(p) => {
            let id = match provider_arg(&p) {
                Ok(id) => id,
                Err(code) => return code,
            };
            match resolver.sign_in(&id).await {
                Ok(state) => {
                    out(&format!("{id}: {state}"));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e, &config),
            }
        }
        Command::Logout(p) => {
            let id = match provider_arg(&p) {
                Ok(id) => id,
                Err(code) => return code,
            };
            match resolver.sign_out(&id).await {
                Ok(()) => {
                    out(&format!("{id}: signed out"));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e, &config),
            }
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) if msg.is_empty() => {
            out(USAGE);
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("vaultctl: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vaultctl: {e}");
            return ExitCode::from(2);
        }
    };
    let interaction = Arc::new(CliInteraction::new(args.no_browser));
    let resolver = match build_resolver(&config, interaction, Mode::Strict) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vaultctl: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(e) = resolver.invalid_links().first() {
        eprintln!("vaultctl: {}: {e}", args.config);
        return ExitCode::from(2);
    }
    run(args, config, resolver).await
}

/// Prints a line to stdout; a closed pipe (`vaultctl get x | head -0`) is not a panic.
fn out(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}
