//! `vaultctl` reading AWS secrets through the shared config file (`AWS_CONFIG_FILE`), in
//! separate processes, against moto: a `source_profile` chain of two roles and a
//! `credential_process` profile on the signing server (SigV4 + IAM enforced), and web identity
//! from the environment on the unsigned server (moto's access checker answers an unsigned
//! AssumeRoleWithWebIdentity with HTTP 500 when enforcement is on).
#![cfg(all(feature = "peers", feature = "aws"))]

mod common;

use std::path::PathBuf;
use std::process::Command;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} not set: run the tests through .ci/test, which starts the peers")
    })
}

struct Home(PathBuf);
impl Home {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("vaultctl-aws-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Home(p)
    }
    fn write(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }
}
impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs vaultctl with only the variables given (no AWS_* of the caller leaks in), HOME and the
/// data directory inside the test's directory.
fn vaultctl(
    home: &Home,
    endpoint: &str,
    profile: Option<&str>,
    arn: &str,
    env: &[(&str, &str)],
    args: &[&str],
) -> (i32, String, String) {
    let mut toml =
        format!("[integrations.aws]\nendpoint_url = \"{endpoint}\"\nregion = \"us-east-1\"\n");
    if let Some(p) = profile {
        toml.push_str(&format!("profile = \"{p}\"\n"));
    }
    toml.push_str(&format!("\n[secrets.db.aws]\nsecret_arn = \"{arn}\"\n"));
    let config = home.write("vault.toml", &toml);
    let mut cmd = Command::new(common::example("vaultctl"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home.0)
        .env("VAULT_REFS_DATA_DIR", home.0.join("data"))
        .env("VAULT_NO_BROWSER", "1")
        .arg("--config")
        .arg(&config)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run vaultctl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn credentials_file(home: &Home) -> String {
    home.write(
        "credentials",
        &format!(
            "[base]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            var("VAULT_TEST_AWS_ACCESS_KEY_ID"),
            var("VAULT_TEST_AWS_SECRET_ACCESS_KEY")
        ),
    )
}

#[test]
fn a_source_profile_chain_of_two_roles() {
    let home = Home::new("chain");
    let creds = credentials_file(&home);
    let config = home.write(
        "config",
        &format!(
            "[profile hop]\nrole_arn = {}\nsource_profile = base\nrole_session_name = first-hop\n\n\
             [profile reader]\nrole_arn = {}\nsource_profile = hop\n",
            var("VAULT_TEST_AWS_HOP_ROLE_ARN"),
            var("VAULT_TEST_AWS_ROLE_ARN")
        ),
    );
    let env = [
        ("AWS_CONFIG_FILE", config.as_str()),
        ("AWS_SHARED_CREDENTIALS_FILE", creds.as_str()),
    ];
    let ep = var("VAULT_TEST_AWS_ENDPOINT");
    let arn = var("VAULT_TEST_AWS_SECRET_ARN");
    let (code, out, err) = vaultctl(&home, &ep, Some("reader"), &arn, &env, &["get", "db"]);
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            format!("{}\n", var("VAULT_TEST_AWS_SECRET_V2_VALUE")).as_str()
        ),
        "{err}"
    );
    // AWS_PROFILE names it just as well.
    let mut with_profile = env.to_vec();
    with_profile.push(("AWS_PROFILE", "reader"));
    let (code, _, err) = vaultctl(&home, &ep, None, &arn, &with_profile, &["get", "db"]);
    assert_eq!(code, 0, "{err}");
    // The first hop alone is denied: both roles were really assumed.
    let (code, _, err) = vaultctl(&home, &ep, Some("hop"), &arn, &env, &["get", "db"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("permission denied") || err.contains("AccessDenied"),
        "{err}"
    );
    assert!(!err.contains(&var("VAULT_TEST_AWS_SECRET_ACCESS_KEY")));
}

#[test]
fn a_credential_process_profile() {
    let home = Home::new("process");
    let json = home.write(
        "creds.json",
        &format!(
            r#"{{"Version": 1, "AccessKeyId": "{}", "SecretAccessKey": "{}"}}"#,
            var("VAULT_TEST_AWS_ACCESS_KEY_ID"),
            var("VAULT_TEST_AWS_SECRET_ACCESS_KEY")
        ),
    );
    let config = home.write(
        "config",
        &format!("[profile tool]\ncredential_process = /bin/cat '{json}'\n"),
    );
    let env = [("AWS_CONFIG_FILE", config.as_str())];
    let (code, out, err) = vaultctl(
        &home,
        &var("VAULT_TEST_AWS_ENDPOINT"),
        Some("tool"),
        &var("VAULT_TEST_AWS_SECRET_ARN"),
        &env,
        &["get", "db"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("{}\n", var("VAULT_TEST_AWS_SECRET_V2_VALUE")));
    let config = home.write(
        "config",
        "[profile tool]\ncredential_process = /bin/false\n",
    );
    let env = [("AWS_CONFIG_FILE", config.as_str())];
    let (code, _, err) = vaultctl(
        &home,
        &var("VAULT_TEST_AWS_ENDPOINT"),
        Some("tool"),
        &var("VAULT_TEST_AWS_SECRET_ARN"),
        &env,
        &["get", "db"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("credential_process of profile `tool`"),
        "{err}"
    );
}

#[test]
fn web_identity_from_the_environment() {
    let home = Home::new("webid");
    let token = home.write("token", "header.payload-canary.signature");
    let env = [
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token.as_str()),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ci-reader"),
        ("AWS_ROLE_SESSION_NAME", "ci"),
    ];
    let (code, out, err) = vaultctl(
        &home,
        &var("VAULT_TEST_AWS_MFA_ENDPOINT"),
        None,
        &var("VAULT_TEST_AWS_MFA_SECRET_ARN"),
        &env,
        &["get", "db"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("{}\n", var("VAULT_TEST_AWS_MFA_SECRET_VALUE")));
    assert!(!err.contains("payload-canary"));
}
