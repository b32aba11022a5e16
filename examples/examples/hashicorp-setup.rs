//! The HashiCorp Vault / OpenBao setup tool: does, through the HTTP API, what a Vault admin
//! would otherwise type so that users can sign in through Vault's OIDC provider, then prints
//! the values to enter in the integration. Run `--help` for everything.
//!
//! ```text
//! VAULT_TOKEN=… cargo run --example hashicorp-setup -- https://vault.example.com:8200 --read 'secret/app/*' --dry-run
//! VAULT_TOKEN=… cargo run --example hashicorp-setup -- https://vault.example.com:8200 --read 'secret/app/*' -y
//! ```
#![forbid(unsafe_code)]

use std::io::{BufRead, Write};
use std::process::ExitCode;

use vault_core::ProcessEnv;
use vault_hashicorp::defaults;
use vault_hashicorp::setup::{self, admin_policy_for, Mode, PlannedRequest, SetupConfig};
use vault_hashicorp::setup_args::{self, SetupArgs, USAGE};

fn help() -> String {
    format!(
        r#"hashicorp-setup: prepare a HashiCorp Vault / OpenBao server for vault-refs sign-in

{usage}

  <vault-cluster-url>  the URL users' browsers reach, e.g. https://vault.example.com:8200;
                       it becomes the OIDC provider's issuer
  --read MOUNT/PATH    a KV path signed-in users may read, as written in links (repeatable):
                       secret/app/* (a prefix), secret/app/db, team/kv/+/db; the tool looks up
                       the mount's KV version and writes secret/data/app/* and
                       secret/metadata/app/* for KV v2, kv1/app/* for KV v1. Nothing else is
                       readable: no other path, nothing under sys/, identity/ or auth/.
  --broad-read         the seed's broad policy instead (read/list everything but sys/ and
                       auth/): every signed-in user reads every secret. Not recommended.
  --group NAME         only members of this identity group may sign in (repeatable): the
                       OIDC assignment holds the groups, and the JWT role is bound to them
                       by claim: the tool creates the OIDC scope `{scope}` (a `groups`
                       claim with the entity's group names), lists it in the provider's
                       scopes_supported, and sets the role's bound_claims to
                       {{"groups": [the names]}}; the sign-in asks for that scope
  --entity NAME        only this identity entity may sign in (repeatable); without --group
                       and --entity every entity of the namespace may (assignment allow_all).
                       With --entity (alone or beside --group) the assignment alone decides:
                       the role is bound by audience only (a groups binding would refuse
                       the named entities outside the groups)
  --seed-names         the seed guide's names: client {seed_client}, JWT path {seed_jwt},
                       role {seed_role}, policy {seed_policy}
  -d, --dry-run        print every request and send none
  -y                   do not ask before each step
  --help               this text

One of --read, --broad-read or POLICY_FILE is required.

Steps (each is safe to run again; a rerun keeps the client id):
  0. check auth/<JWT_AUTH_PATH> (a mount of another type is refused), read the mount table
     for --read, the ids of --group/--entity, the scope `{scope}` (with --group only; one
     with another template is refused, never overwritten), write their OIDC assignment and
     the scope when it is missing
  1. create the public OIDC client (PKCE, the assignment or allow_all), read its client id
  2. create the OIDC provider with the cluster URL as issuer (scopes_supported: `{scope}`
     with --group only), read the issuer
  3. enable the JWT auth method, configure it with the provider's discovery URL, bound_issuer
     and default role
  4. write the read policy (--read paths only; or --broad-read; or POLICY_FILE)
  5. create the role (role_type=jwt, bound_audiences=client id, bound_claims={{"groups":
     [--group names]}} with --group only, else {{}}, user_claim=sub, the policy)

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
  POLICY_FILE        a file with the read policy's HCL (instead of --read)

The policy --broad-read writes:
{policy_text}
The least policy the admin token needs (with the default names and --read):
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
        usage = USAGE,
        scope = defaults::GROUPS_SCOPE,
        seed_client = defaults::SEED_CLIENT_NAME,
        seed_jwt = defaults::SEED_JWT_AUTH_PATH,
        seed_role = defaults::SEED_ROLE,
        seed_policy = defaults::SEED_POLICY_NAME,
        admin = admin_policy_for(&{
            let mut c =
                SetupConfig::new("https://vault.example.com", secrecy::SecretString::from(""))
                    .expect("a valid URL");
            c.read = vec![
                vault_hashicorp::read_policy::ReadPath::parse("secret/app/*")
                    .expect("a valid path"),
            ];
            c
        }),
    )
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

async fn run(args: SetupArgs) -> Result<(), (u8, String)> {
    let mut config = SetupConfig::from_env_names(&args.cluster, &ProcessEnv, args.seed_names)
        .map_err(|e| (2, e.message().to_owned()))?;
    if let Some(file) = std::env::var_os("POLICY_FILE") {
        config.policy_text = std::fs::read_to_string(&file)
            .map_err(|e| (2, format!("POLICY_FILE {}: {e}", file.to_string_lossy())))?;
    }
    config.read = args.read;
    config.broad_read = args.broad_read;
    config.groups = args.groups;
    config.entities = args.entities;
    config.check().map_err(|e| (2, e.message().to_owned()))?;
    if config.broad_read {
        eprintln!(
            "hashicorp-setup: warning: --broad-read writes the seed's broad policy: every \
             signed-in user may read and list every secret outside sys/ and auth/. Prefer \
             --read MOUNT/PATH for the paths users need."
        );
    }
    if config.groups.is_empty() && config.entities.is_empty() {
        println!("Sign-in: every entity of the namespace may sign in (no --group/--entity given)");
    } else if config.binds_groups() {
        println!(
            "Sign-in: members of {} only (the OIDC assignment, and the JWT role bound to the \
             `groups` claim of the scope `{}`)",
            config.groups.join(", "),
            defaults::GROUPS_SCOPE
        );
    } else if config.groups.is_empty() {
        println!(
            "Sign-in: the named entities only, by the OIDC assignment; the JWT role is bound by \
             audience only (no --group, so no `groups` claim to bind)"
        );
    } else {
        println!(
            "Sign-in: the named groups and entities only, by the OIDC assignment; the JWT role \
             is bound by audience only (a `groups` claim binding would refuse the named \
             entities outside the groups)"
        );
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
    println!(
        "\nRead policy `{}`:\n{}",
        config.policy_name, outcome.policy_text
    );
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
    let args = match setup_args::parse(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{}", help());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("hashicorp-setup: {e}\n\n{USAGE}");
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
