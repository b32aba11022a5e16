//! `vaultctl`: the command-line face of the vault, for daily use.
//!
//! ```text
//! cargo run --example vaultctl -- [--config FILE] [--no-browser] [--json] COMMAND
//!   get NAME                       print the secret's value and a newline
//!   resolve TEXT [--url URL]       print TEXT with its references resolved (URL: the
//!                                  request's, for allowed domains)
//!   check                          one line per secret: name, source, status (never a value)
//!   details NAME                   metadata of a linked secret (never the value)
//!   login PROVIDER                 sign in to azure, hashicorp or aws; the session is kept
//!   logout PROVIDER                sign out (revoking where the provider can) and forget the
//!                                  provider's kept sessions and values
//!   status                         each integration: signed out, or signed in until T, as
//!                                  whom, from where (never a token)
//!   set NAME [--allowed-domain D]… keep a local secret in the encrypted store; the value is
//!                                  read from stdin or a hidden prompt, never the command line
//!   unset NAME                     remove it
//!   cache reset [NAME]             forget cached values, all or one
//! ```
//!
//! `--json` gives `check`, `details` and `status` as JSON. `-v` / `-vv` (or `RUST_LOG=debug`,
//! `RUST_LOG=trace`) print this workspace's tracing events on stderr: names, outcomes,
//! durations, never a value or a token; `RUST_LOG=target=level,…` names targets exactly,
//! dependencies included. The config file defaults to
//! `vault.toml`. Sessions, persisted values (`[cache] persist = true`) and local secrets live
//! in one encrypted store: `$VAULT_REFS_DATA_DIR`, else the platform's data directory
//! (`~/.local/share/vault-refs` on Linux); see `vault_core::store`. A damaged store is one
//! warning line and a new sign-in.
//!
//! Exit status: 0 on success; 1 for an unresolved secret or a failed call, with one line on
//! stderr naming the secret, the provider and the reason; 2 for bad usage, a bad config file,
//! or a secret whose link its provider refuses (the file's other secrets keep working).
//! `check` exits 1 when a secret that is turned on does not resolve.
//!
//! Built by default with the `azure`, `hashicorp` and `aws` providers. `--features pkcs12`
//! adds PKCS#12 (`.pfx`/`.p12`) certificates for Azure's `certificate` flow (PEM without it),
//! `--features gcp` the Google Cloud example provider (`vault_examples::gcp`); a config that
//! needs one of them in a build without it is refused with a line naming the feature.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use secrecy::ExposeSecret;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vault_core::persist::Forget;
use vault_core::{
    AllowedDomains, Config, Error, ErrorKind, FileStore, Mode, Outcome, PersistentValues,
    ProviderId, Resolver, SessionState,
};
use vault_examples::providers::{is_built, is_used, why_unavailable};
use vault_examples::{build_resolver_with, local_store, CliInteraction, Wiring, KNOWN_PROVIDERS};

const USAGE: &str = "usage: vaultctl [--config FILE] [--no-browser] [--json] [-v|-vv] COMMAND
commands:
  get NAME                        print the secret's value
  resolve TEXT [--url URL]        print TEXT with its {{vault:NAME}} references resolved
  check                           list every secret with its status (--json)
  details NAME                    metadata of a linked secret (--json)
  login PROVIDER                  sign in (azure, hashicorp, aws); the session is kept
  logout PROVIDER                 sign out and forget the provider's kept sessions
  status                          each integration's session (--json)
  set NAME [--allowed-domain D]…  keep a local secret, encrypted (value from stdin or a
                                  hidden prompt, never the command line)
  unset NAME                      remove a kept local secret
  cache reset [NAME]              forget cached values, all or one
the store: $VAULT_REFS_DATA_DIR, else the platform's data directory (vault-refs)";

enum Command {
    Get(String),
    Resolve { text: String, url: Option<String> },
    Check,
    Details(String),
    Login(String),
    Logout(String),
    Status,
    Set { name: String, domains: Vec<String> },
    Unset(String),
    CacheReset(Option<String>),
}

struct Args {
    config: String,
    config_given: bool,
    no_browser: bool,
    json: bool,
    /// `-v` 1, `-vv` 2: tracing events on stderr (see `vault_examples::logging`).
    verbose: u8,
    command: Command,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut config = None;
    let mut no_browser = false;
    let mut json = false;
    let mut verbose = 0u8;
    let mut rest = Vec::new();
    let mut url = None;
    let mut domains = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--" => {
                rest.extend(args.by_ref());
                break;
            }
            "--config" | "-c" => config = Some(args.next().ok_or("--config needs a file")?),
            "--no-browser" => no_browser = true,
            "--json" => json = true,
            "-v" | "--verbose" => verbose = verbose.saturating_add(1),
            "-vv" => verbose = verbose.saturating_add(2),
            "--url" => url = Some(args.next().ok_or("--url needs a URL")?),
            "--allowed-domain" => {
                domains.push(args.next().ok_or("--allowed-domain needs a domain")?)
            }
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with("--config=") => config = Some(s["--config=".len()..].to_owned()),
            s if s.starts_with("--url=") => url = Some(s["--url=".len()..].to_owned()),
            s if s.starts_with("--allowed-domain=") => {
                domains.push(s["--allowed-domain=".len()..].to_owned())
            }
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
        "status" => Command::Status,
        "set" => Command::Set {
            name: one("a secret NAME")?,
            domains: std::mem::take(&mut domains),
        },
        "unset" => Command::Unset(one("a secret NAME")?),
        "cache" => match one("`reset`")?.as_str() {
            "reset" => Command::CacheReset(rest.next()),
            other => {
                return Err(format!(
                    "unknown command `cache {other}`; expected `cache reset`"
                ))
            }
        },
        other => return Err(format!("unknown command `{other}`")),
    };
    if let Some(extra) = rest.next() {
        return Err(format!("unexpected argument `{extra}`"));
    }
    if url.is_some() {
        return Err("--url goes with `resolve`".into());
    }
    if !domains.is_empty() {
        return Err("--allowed-domain goes with `set`".into());
    }
    if json
        && !matches!(
            command,
            Command::Check | Command::Details(_) | Command::Status
        )
    {
        return Err("--json goes with `check`, `details` and `status`".into());
    }
    if let Command::Resolve { url: Some(u), .. } = &command {
        url::Url::parse(u)
            .ok()
            .filter(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some())
            .ok_or(format!(
                "--url `{}` is not an http(s) URL",
                vault_core::url_text::for_message(u)
            ))?;
    }
    Ok(Args {
        config_given: config.is_some(),
        config: config.unwrap_or_else(|| "vault.toml".to_owned()),
        no_browser,
        json,
        verbose,
        command,
    })
}

/// One stderr line for a failed call; a link its provider refuses is a bad config (2).
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
    match e.kind() {
        ErrorKind::InvalidLink | ErrorKind::InvalidConfig => ExitCode::from(2),
        _ => ExitCode::from(1),
    }
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

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// `signed in until 2026-01-01T00:00:00Z`, `signed out`, `session expired`.
fn state_text(state: &SessionState) -> String {
    match state {
        SessionState::SignedIn { until: Some(t) } => format!("signed in until {}", rfc3339(*t)),
        other => other.to_string(),
    }
}

fn state_json(state: &SessionState) -> (&'static str, Value) {
    match state {
        SessionState::SignedOut => ("signed_out", Value::Null),
        SessionState::SignedIn { until } => ("signed_in", until.map(rfc3339).into()),
        SessionState::Expired => ("expired", Value::Null),
        _ => ("unknown", Value::Null),
    }
}

/// Everything a command may need.
struct Ctx {
    args: Args,
    config: Config,
    store: Option<Arc<FileStore>>,
    shadowed: Vec<String>,
}

impl Ctx {
    fn notice_shadowed(&self, name: &str) {
        if self.shadowed.iter().any(|s| s == name) {
            eprintln!(
                "vaultctl: note: `{name}` is defined in {} and kept by `vaultctl set`; the config file's wins",
                self.args.config
            );
        }
    }
}

async fn run(ctx: Ctx, resolver: Resolver) -> ExitCode {
    let config = &ctx.config;
    match &ctx.args.command {
        Command::Get(name) => {
            ctx.notice_shadowed(name);
            match resolver.value(name).await {
                Ok(v) => {
                    out(v.expose_secret());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e, config),
            }
        }
        Command::Resolve { text, url } => match resolver.resolve(text, url.as_deref()).await {
            Ok(r) => {
                out(r.expose());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e, config),
        },
        Command::Check => check(&ctx, &resolver).await,
        Command::Details(name) => details(&ctx, &resolver, name).await,
        Command::Login(p) => {
            let id = match provider_arg(p) {
                Ok(id) => id,
                Err(code) => return code,
            };
            match resolver.sign_in(&id).await {
                Ok(state) => {
                    out(&format!("{id}: {}", state_text(&state)));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e, config),
            }
        }
        Command::Logout(p) => {
            let id = match provider_arg(p) {
                Ok(id) => id,
                Err(code) => return code,
            };
            let result = resolver.sign_out(&id).await;
            // Whatever the provider managed, nothing of it stays in the store.
            if let Some(store) = &ctx.store {
                if let Err(e) = store.remove_provider(&id) {
                    eprintln!("vaultctl: {e}");
                    return ExitCode::from(1);
                }
            }
            match result {
                Ok(()) => {
                    out(&format!("{id}: signed out"));
                    ExitCode::SUCCESS
                }
                Err(e) if e.kind() == ErrorKind::ProviderUnavailable => {
                    out(&format!("{id}: signed out (no integration configured)"));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e, config),
            }
        }
        Command::Status => status(&ctx, &resolver),
        Command::CacheReset(name) => {
            match name {
                None => {
                    resolver.cache().reset_all();
                    if let Some(store) = &ctx.store {
                        store.forget_values(Forget::All);
                    }
                    out("cache reset: every value forgotten");
                }
                Some(name) => {
                    if !resolver.names().contains(name) {
                        let e = Error::new(
                            ErrorKind::UnknownName,
                            "the vault holds no secret of this name",
                        )
                        .with_secret(name);
                        return fail(&e, config);
                    }
                    resolver.reset_cached(name);
                    out(&format!("cache reset: `{name}` forgotten"));
                }
            }
            ExitCode::SUCCESS
        }
        Command::Set { name, domains } => set(&ctx, name, domains),
        Command::Unset(name) => unset(&ctx, name),
    }
}

async fn check(ctx: &Ctx, resolver: &Resolver) -> ExitCode {
    let mut failed = false;
    let mut rows = Vec::new();
    for name in &ctx.shadowed {
        ctx.notice_shadowed(name);
    }
    for s in resolver.check().await {
        let (status, reason) = match &s.outcome {
            Outcome::Resolved => ("resolved", None),
            Outcome::Empty => ("empty", None),
            Outcome::Unresolved(e) if e.kind() == ErrorKind::Disabled => ("disabled", Some(e)),
            Outcome::Unresolved(e) => {
                failed = true;
                ("unresolved", Some(e))
            }
            _ => ("unknown", None),
        };
        let why = |e: &Error| {
            if e.kind() == ErrorKind::ProviderUnavailable {
                e.provider()
                    .map(|p| why_unavailable(&ctx.config, p))
                    .unwrap_or_default()
            } else {
                e.message().to_owned()
            }
        };
        if ctx.args.json {
            rows.push(json!({
                "name": s.name,
                "source": s.source,
                "status": status,
                "reason": reason.map(|e| e.kind().as_str()),
                "message": reason.map(why),
                "provider": reason.and_then(|e| e.provider()).map(|p| p.as_str().to_owned()),
            }));
        } else {
            let text = match (&s.outcome, reason) {
                (Outcome::Resolved, _) => "resolved".to_owned(),
                (Outcome::Empty, _) => "resolved (empty value)".to_owned(),
                (_, Some(e)) => format!("{}: {}", e.kind(), why(e)),
                (_, None) => String::new(),
            };
            out(&format!("{}\t{}\t{}", s.name, s.source, text));
        }
    }
    if ctx.args.json {
        out(&Value::Array(rows).to_string());
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

async fn details(ctx: &Ctx, resolver: &Resolver, name: &str) -> ExitCode {
    let d = match resolver.describe(name).await {
        Ok(d) => d,
        Err(e) => return fail(&e, &ctx.config),
    };
    let link = ctx.config.vault.get(name).and_then(|s| s.source().link());
    let time = |t: Option<OffsetDateTime>| t.map(rfc3339);
    if ctx.args.json {
        let fields: serde_json::Map<String, Value> = link
            .map(|l| {
                l.fields()
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                    .collect()
            })
            .unwrap_or_default();
        let extra: serde_json::Map<String, Value> = d
            .extra
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        out(&json!({
            "name": name,
            "provider": link.map(|l| l.provider().as_str().to_owned()),
            "link": fields,
            "id": d.id,
            "secret_name": d.name,
            "version": d.version,
            "enabled": d.enabled,
            "created": time(d.created),
            "updated": time(d.updated),
            "expires": time(d.expires),
            "content_type": d.content_type,
            "extra": extra,
        })
        .to_string());
        return ExitCode::SUCCESS;
    }
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
    opt("created", time(d.created));
    opt("updated", time(d.updated));
    opt("expires", time(d.expires));
    opt("content type", d.content_type.clone());
    for (k, v) in &d.extra {
        out(&format!("{k}: {v}"));
    }
    ExitCode::SUCCESS
}

fn status(ctx: &Ctx, resolver: &Resolver) -> ExitCode {
    let mut rows = Vec::new();
    let mut any_left_out = false;
    for p in KNOWN_PROVIDERS {
        let Ok(id) = ProviderId::new(p) else { continue };
        let saved = ctx
            .store
            .as_ref()
            .and_then(|s| s.session_identities(&id).ok())
            .unwrap_or_default();
        let info = resolver.session_info(&id).ok();
        // A provider the config asks for but this build left out is shown, naming its feature.
        let left_out = !is_built(p) && is_used(&ctx.config, p);
        any_left_out |= left_out;
        if info.is_none() && saved.is_empty() && !left_out {
            continue;
        }
        let state = info.as_ref().map(|i| i.state);
        let identity = info.as_ref().and_then(|i| i.identity.clone());
        let source = info.as_ref().and_then(|i| i.source.clone());
        if ctx.args.json {
            let none = if is_built(p) {
                "not_configured"
            } else {
                "not_built"
            };
            let (s, until) = state.as_ref().map_or((none, Value::Null), state_json);
            rows.push(json!({
                "provider": p,
                "state": s,
                "until": until,
                "identity": identity,
                "source": source,
                "saved_sessions": saved,
            }));
            continue;
        }
        let mut line = format!(
            "{p}: {}",
            match &state {
                Some(s) => state_text(s),
                None if !is_built(p) => format!("not built into this program (--features {p})"),
                None => "not configured".to_owned(),
            }
        );
        if let Some(who) = &identity {
            line.push_str(&format!(" as {who}"));
        }
        if let Some(src) = &source {
            line.push_str(&format!(" (from {src})"));
        }
        if !saved.is_empty() {
            let resumed = matches!(state, Some(SessionState::SignedOut));
            line.push_str(&format!(
                "; kept session{}: {}{}",
                if saved.len() == 1 { "" } else { "s" },
                saved.join(", "),
                if resumed {
                    " (resumed on first use)"
                } else {
                    ""
                }
            ));
        }
        out(&line);
    }
    if ctx.args.json {
        out(&Value::Array(rows).to_string());
    } else if !any_left_out
        && !KNOWN_PROVIDERS
            .iter()
            .any(|p| ProviderId::new(p).is_ok_and(|id| resolver.session_info(&id).is_ok()))
    {
        out("no integration is configured");
    }
    ExitCode::SUCCESS
}

/// The store, or the error line for `set`/`unset` without one.
fn store_for(ctx: &Ctx) -> Result<&FileStore, ExitCode> {
    ctx.store.as_deref().ok_or_else(|| {
        eprintln!("vaultctl: no encrypted store is available");
        ExitCode::from(1)
    })
}

/// `set NAME [--allowed-domain D]…`: the store only, no provider.
fn set(ctx: &Ctx, name: &str, domains: &[String]) -> ExitCode {
    let store = match store_for(ctx) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if !vault_core::template::is_valid_name(name) {
        eprintln!("vaultctl: secret name `{name}` is invalid: use 1 to 128 of A-Z a-z 0-9 _ - .");
        return ExitCode::from(2);
    }
    if let Err(e) = AllowedDomains::parse(domains) {
        eprintln!("vaultctl: --allowed-domain: {}", e.message());
        return ExitCode::from(2);
    }
    let value = match local_store::read_value(name) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("vaultctl: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = store.set_local_secret(name, &value, domains) {
        eprintln!("vaultctl: {e}");
        return ExitCode::from(1);
    }
    if ctx.config.vault.get(name).is_some() {
        eprintln!(
            "vaultctl: note: {} also defines `{name}`; the config file's wins",
            ctx.args.config
        );
    }
    out(&format!("{name}: kept in the encrypted store"));
    ExitCode::SUCCESS
}

/// `unset NAME`.
fn unset(ctx: &Ctx, name: &str) -> ExitCode {
    let store = match store_for(ctx) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match store.remove_local_secret(name) {
        Ok(true) => {
            out(&format!("{name}: removed from the encrypted store"));
            ExitCode::SUCCESS
        }
        Ok(false) => {
            eprintln!("vaultctl: secret `{name}`: not kept in the encrypted store");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("vaultctl: {e}");
            ExitCode::from(1)
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
    if let Err(msg) = vault_examples::logging::init(args.verbose) {
        eprintln!("vaultctl: {msg}");
        return ExitCode::from(2);
    }
    let store_only = matches!(args.command, Command::Set { .. } | Command::Unset(_));
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        // `set`/`unset` need no config file unless one is named.
        Err(_)
            if store_only && !args.config_given && !std::path::Path::new(&args.config).exists() =>
        {
            Config::parse("").expect("the empty config")
        }
        Err(e) => {
            eprintln!("vaultctl: {e}");
            return ExitCode::from(2);
        }
    };
    let store = local_store::open("vaultctl");
    let mut ctx = Ctx {
        args,
        config,
        store,
        shadowed: Vec::new(),
    };
    // `set`/`unset` need no provider.
    match &ctx.args.command {
        Command::Set { name, domains } => return set(&ctx, name, domains),
        Command::Unset(name) => return unset(&ctx, name),
        _ => {}
    }
    let stored = ctx
        .store
        .as_ref()
        .map(|s| {
            s.local_secrets().unwrap_or_else(|e| {
                eprintln!("vaultctl: warning: {e}");
                Vec::new()
            })
        })
        .unwrap_or_default();
    let (vault, shadowed) = local_store::merged_vault(&ctx.config, stored);
    ctx.shadowed = shadowed;
    let interaction = Arc::new(CliInteraction::new(ctx.args.no_browser));
    let wiring = Wiring {
        vault: Some(vault),
        sessions: ctx
            .store
            .clone()
            .map(|s| s as Arc<dyn vault_core::SessionStore>),
        values: ctx.store.clone().map(|s| s as Arc<dyn PersistentValues>),
    };
    let resolver = match build_resolver_with(&ctx.config, interaction, Mode::Strict, wiring) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vaultctl: {e}");
            return ExitCode::from(2);
        }
    };
    // A link its provider refuses is reported when asked for (`get` exits 2, `check` lists
    // it); the file's other secrets keep working.
    run(ctx, resolver).await
}

/// Prints a line to stdout; a closed pipe (`vaultctl get x | head -0`) is not a panic.
fn out(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}
