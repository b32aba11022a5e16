//! Runs the example binaries that `cargo test` builds beside the test executables.

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

/// Runs an example with arguments and environment overrides.
pub fn run(name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(example(name));
    cmd.args(args).env("VAULT_NO_BROWSER", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run example")
}

/// stdout and stderr as text.
pub fn texts(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
