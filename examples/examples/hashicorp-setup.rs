//! The HashiCorp Vault / OpenBao setup tool: does, through the HTTP API, what a Vault admin
//! would otherwise type so that users can sign in through Vault's OIDC provider, then prints
//! the values to enter in the integration. Run `--help` for everything.
//!
//! ```text
//! VAULT_TOKEN=… cargo run --example hashicorp-setup -- https://vault.example.com:8200 --dry-run
//! VAULT_TOKEN=… cargo run --example hashicorp-setup -- https://vault.example.com:8200 -y
//! ```
#![forbid(unsafe_code)]

use std::io::{BufRead, Write};
use std::process::ExitCode;

use vault_core::ProcessEnv;
use vault_hashicorp::defaults;
use vault_hashicorp::setup::{self, admin_policy, Mode, PlannedRequest, SetupConfig};

fn help() -> String {
    format!(
        r#"hashicorp-setup: prepare a HashiCorp Vault / OpenBao server for vault-refs sign-in

Usage: cargo run --example hashicorp-setup -- <vault-cluster-url> [-d|--dry-run] [-y] [--help]

  <vault-cluster-url>  the URL users' browsers reach, e.g. https://vault.example.com:8200;
                       it becomes the OIDC provider's issuer
  -d, --dry-run        print every request and send none
  -y                   do not ask before each step
  --help               this text

Steps (each is safe to run again; a rerun keeps the client id):
  1. create the public OIDC client (PKCE, assignments=allow_all), read its client id
  2. create the OIDC provider with the cluster URL as issuer, read the issuer
  3. enable the JWT auth method, configure it with the provider's discovery URL and default role
  4. write the read policy (read/list everything, deny sys/* and auth/*)
  5. create the role (bound_audiences=client id, user_claim=sub, the policy, role_type=jwt)

Environment:
  VAULT_TOKEN        admin token (required)
  VAULT_ADDR         where API calls go (default: the cluster URL)
  VAULT_NAMESPACE    namespace to set up in (default: empty, the root namespace)
  OIDC_CLIENT_NAME   OIDC client and provider name (default: {client})
  REDIRECT_URI       comma-separated loopback redirect URIs
                     (default: {r1},{r2})
  JWT_AUTH_PATH      JWT auth mount path (default: {jwt})
  OIDC_ROLE          JWT role (default: {role})
  POLICY_NAME        read policy name (default: {policy})
  POLICY_FILE        a file with the read policy's HCL (default policy below)

Default read policy:
{policy_text}
The least policy the admin token needs (with the default names):
{admin}
At the end it prints the values for the integration, one per line
(OIDC Provider URL, JWT Auth Path, Client Id, Role, Namespace), and a TOML snippet for the
config file's [integrations.hashicorp] table."#,
        client = defaults::CLIENT_NAME,
        r1 = defaults::REDIRECT_URI,
        r2 = defaults::FALLBACK_REDIRECT_URI,
        jwt = defaults::JWT_AUTH_PATH,
        role = defaults::ROLE,
        policy = defaults::POLICY_NAME,
        policy_text = defaults::POLICY_TEXT,
        admin = admin_policy(
            defaults::CLIENT_NAME,
            defaults::JWT_AUTH_PATH,
            defaults::ROLE,
            defaults::POLICY_NAME
        ),
    )
}

struct Args {
    cluster: String,
    dry_run: bool,
    yes: bool,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut cluster = None;
    let (mut dry_run, mut yes) = (false, false);
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--help" | "-h" => return Ok(None),
            "-d" | "--dry-run" => dry_run = true,
            "-y" => yes = true,
            s if s.starts_with('-') => return Err(format!("unknown option `{s}`")),
            s if cluster.is_none() => cluster = Some(s.to_owned()),
            s => return Err(format!("unexpected argument `{s}`")),
        }
    }
    let cluster = cluster.ok_or("the vault cluster URL is missing")?;
    Ok(Some(Args {
        cluster,
        dry_run,
        yes,
    }))
}

fn ask(request: &PlannedRequest) -> bool {
    eprint!("Send it? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    let yes = matches!(line.trim(), "y" | "Y" | "yes");
    if !yes {
        println!("  skipped: {}", request.step);
    }
    yes
}

async fn run(args: Args) -> Result<(), (u8, String)> {
    let mut config = SetupConfig::from_env(&args.cluster, &ProcessEnv)
        .map_err(|e| (2, e.message().to_owned()))?;
    if let Some(file) = std::env::var_os("POLICY_FILE") {
        config.policy_text = std::fs::read_to_string(&file)
            .map_err(|e| (2, format!("POLICY_FILE {}: {e}", file.to_string_lossy())))?;
        config.check().map_err(|e| (2, e.message().to_owned()))?;
    }
    let mode = if args.dry_run {
        Mode::DryRun
    } else {
        Mode::Apply
    };
    let ns = config
        .namespace
        .header()
        .map(|n| format!(" (X-Vault-Namespace: {n})"))
        .unwrap_or_default();
    println!("Vault API: {}{ns}", config.api_address);
    let yes = args.yes;
    let mut step = 0;
    let mut confirm = |r: &PlannedRequest| {
        step += 1;
        let tag = if mode == Mode::DryRun {
            "[dry run] "
        } else {
            ""
        };
        println!("{tag}step {step}: {}\n  {r}", r.step);
        mode == Mode::DryRun || yes || !r.writes || ask(r)
    };
    let outcome = setup::run(&config, mode, &mut confirm)
        .await
        .map_err(|e| (1, e.to_string()))?;
    if !outcome.skipped.is_empty() {
        println!("\nSkipped: {}", outcome.skipped.join("; "));
    }
    if mode == Mode::DryRun {
        println!("\nDry run: nothing was sent. The values would be:");
    } else {
        println!("\nValues for the integration:");
    }
    print!("{}", outcome.labelled_lines());
    println!("\nIn the config file:\n{}", outcome.toml_snippet());
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{}", help());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("hashicorp-setup: {e}\n\nUsage: cargo run --example hashicorp-setup -- <vault-cluster-url> [-d|--dry-run] [-y] [--help]");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, e)) => {
            eprintln!("hashicorp-setup: {e}");
            ExitCode::from(code)
        }
    }
}
