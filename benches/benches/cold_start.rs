//! `cold_start`: the whole-process time of a one-shot `vaultctl get` per provider against the
//! local peers (AWS on moto with the seeded IAM keys, HashiCorp on OpenBao with a token,
//! Azure on oidc-provider + the Key Vault stand-in with client credentials): a new process
//! per run, so config parsing, TLS setup, client builds, sign-in and the reads are all in it.
//!
//! ```sh
//! cargo build --release -p vault-examples --example vaultctl
//! set -a; . ~/.cache/vault-refs-peers/run/all.env; set +a
//! cargo bench -p vault-benches --bench cold_start              # every provider
//! cargo bench -p vault-benches --bench cold_start -- hashicorp # names containing `hashicorp`
//! ```
//!
//! `VAULTCTL` names another binary; `COLD_START_RUNS` sets the runs per provider (default
//! 30, after 3 unmeasured). Each run gets a fresh `HOME` and data directory (no session
//! store, no cached value): every run is a first run. Prints p50/p90/p99/min/max per case.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vault_benches::{peer_var, print_percentiles};

/// One case: a config file and the environment of the process.
struct Case {
    name: &'static str,
    config: String,
    env: Vec<(&'static str, String)>,
}

/// A case's key (what the command-line filter matches) and how to make it.
type CaseMaker = (&'static str, fn() -> Case);

fn cases() -> Vec<CaseMaker> {
    vec![
        ("aws", || aws(true)),
        ("aws-discover_mfa_false", || aws(false)),
        ("hashicorp", || hashicorp(false)),
        ("hashicorp-kv_version", || hashicorp(true)),
        ("azure", azure),
    ]
}

fn aws(discover_mfa: bool) -> Case {
    let v = |n| peer_var(n, "moto");
    Case {
        name: if discover_mfa {
            "aws (moto, SigV4 + IAM, access keys from the environment, MFA discovery on)"
        } else {
            "aws (moto, SigV4 + IAM, access keys from the environment, discover_mfa = false)"
        },
        config: format!(
            "[integrations.aws]\nregion = \"{}\"\nendpoint_url = \"{}\"\n{}\n[secrets.db.aws]\nsecret_arn = \"{}\"\n",
            v("VAULT_TEST_AWS_REGION"),
            v("VAULT_TEST_AWS_ENDPOINT"),
            if discover_mfa { "" } else { "discover_mfa = false\n" },
            v("VAULT_TEST_AWS_SECRET_ARN")
        ),
        env: vec![
            ("AWS_ACCESS_KEY_ID", v("VAULT_TEST_AWS_ACCESS_KEY_ID")),
            ("AWS_SECRET_ACCESS_KEY", v("VAULT_TEST_AWS_SECRET_ACCESS_KEY")),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".into()),
            ("AWS_CONFIG_FILE", "/nonexistent".into()),
        ],
    }
}

fn hashicorp(known_version: bool) -> Case {
    let addr = peer_var("VAULT_TEST_BAO_ADDR", "openbao");
    Case {
        name: if known_version {
            "hashicorp (OpenBao, VAULT_TOKEN, kv_version = 2 on the link)"
        } else {
            "hashicorp (OpenBao, VAULT_TOKEN, KV version looked up)"
        },
        config: format!(
            "[integrations.hashicorp]\noidc_provider_url = \"{addr}/v1/identity/oidc/provider/vault-refs\"\nclient_id = \"cold-start-bench\"\n\n\
             [secrets.db.hashicorp]\nengine = \"secret\"\npath = \"app/db\"\nkey = \"password\"\n{}",
            if known_version { "kv_version = 2\n" } else { "" }
        ),
        env: vec![
            ("VAULT_ADDR", addr.clone()),
            (
                "VAULT_TOKEN",
                peer_var("VAULT_TEST_BAO_ROOT_TOKEN", "openbao"),
            ),
        ],
    }
}

fn azure() -> Case {
    let v = |n| peer_var(n, "oauth");
    Case {
        name: "azure (oidc-provider + Key Vault stand-in, client credentials)",
        config: format!(
            "[integrations.azure]\nauthority = \"{}\"\ntenant = \"{}\"\nclient_id = \"{}\"\nflow = \"client_credentials\"\nvault_hosts = [\"{}\"]\n\n[secrets.db.azure]\nidentifier = \"{}\"\n",
            v("VAULT_TEST_AZURE_AUTHORITY"),
            v("VAULT_TEST_AZURE_TENANT"),
            v("VAULT_TEST_AZURE_DAEMON_CLIENT_ID"),
            v("VAULT_TEST_AZURE_VAULT_HOST"),
            v("VAULT_TEST_AZURE_SECRET_ID")
        ),
        env: vec![("AZURE_CLIENT_SECRET", v("VAULT_TEST_AZURE_DAEMON_SECRET"))],
    }
}

/// The `vaultctl` binary: `VAULTCTL`, else `examples/vaultctl` next to this bench's `deps/`.
fn vaultctl() -> PathBuf {
    if let Some(p) = std::env::var_os("VAULTCTL") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("the bench's own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the bench runs from <target>/<profile>/deps");
    let bin = profile_dir.join("examples").join("vaultctl");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build --release -p vault-examples --example vaultctl` first \
         (or set VAULTCTL)",
        bin.display()
    );
    bin
}

/// One run in a fresh home: the whole process, from spawn to exit.
fn run_once(bin: &Path, case: &Case, dir: &Path, i: usize) -> Duration {
    let home = dir.join(format!("run-{i}"));
    std::fs::create_dir_all(&home).expect("temp home");
    let config = dir.join("vault.toml");
    let started = Instant::now();
    let out = Command::new(bin)
        .arg("--config")
        .arg(&config)
        .arg("--no-browser")
        .args(["get", "db"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("VAULT_REFS_DATA_DIR", home.join("data"))
        .env("VAULT_NO_BROWSER", "1")
        .envs(case.env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .output()
        .expect("spawn vaultctl");
    let took = started.elapsed();
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "{}: vaultctl get db failed ({}): {}",
        case.name,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&home);
    took
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runs: usize = std::env::var("COLD_START_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let bin = vaultctl();
    println!(
        "cold_start: {} per case, {runs} runs, cases interleaved",
        bin.display()
    );
    // every case gets its own temp dir and config; runs alternate between the cases so that
    // the load of a shared machine falls on all of them alike
    let chosen: Vec<(&str, Case, PathBuf)> = cases()
        .into_iter()
        .filter(|(key, _)| filter.is_empty() || filter.iter().any(|f| key.contains(f.as_str())))
        .map(|(key, make)| {
            let case = make();
            let dir = std::env::temp_dir().join(format!(
                "vault-refs-cold-start-{}-{key}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).expect("temp dir");
            std::fs::write(dir.join("vault.toml"), &case.config).expect("config file");
            (key, case, dir)
        })
        .collect();
    for i in 0..3 {
        for (_, case, dir) in &chosen {
            run_once(&bin, case, dir, i);
        }
    }
    let mut samples: Vec<Vec<Duration>> = chosen.iter().map(|_| Vec::new()).collect();
    for i in 0..runs {
        for (n, (_, case, dir)) in chosen.iter().enumerate() {
            samples[n].push(run_once(&bin, case, dir, i));
        }
    }
    for ((key, case, dir), s) in chosen.iter().zip(samples) {
        print_percentiles(&format!("cold_start {key}: {}", case.name), s);
        let _ = std::fs::remove_dir_all(dir);
    }
}
