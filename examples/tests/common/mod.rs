//! Runs the example binaries that `cargo test` builds beside the test executables.
#![allow(dead_code)] // each test file uses a part of these helpers

use std::path::PathBuf;
use std::process::{Command, Output};

/// Path of the example `name` in the same target directory as this test.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target profile dir");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "example {name} not built at {}",
        path.display()
    );
    path
}

/// A config file in a fresh temporary directory; returns its path.
pub fn config(test: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vault-examples-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("vault.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A command for an example with arguments and environment overrides. HOME is a temporary
/// folder of this test process (the real one is never read or written: the encrypted store
/// goes under it) unless `env` sets it or `VAULT_REFS_DATA_DIR`.
pub fn command(name: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(example(name));
    let home = std::env::temp_dir().join(format!("vault-examples-home-{}", std::process::id()));
    cmd.args(args)
        .env("VAULT_NO_BROWSER", "1")
        .env("HOME", home)
        .env_remove("VAULT_REFS_DATA_DIR")
        // vaultctl prints tracing events on stderr under RUST_LOG: only when a test asks.
        .env_remove("RUST_LOG")
        .env_remove("XDG_DATA_HOME");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs an example with arguments and environment overrides (see [`command`]).
pub fn run(name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    command(name, args, env).output().expect("run example")
}

/// [`run`] with `input` on stdin.
#[allow(dead_code)]
pub fn run_with_input(name: &str, args: &[&str], env: &[(&str, &str)], input: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command(name, args, env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn example");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("run example")
}

/// stdout and stderr as text.
pub fn texts(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
