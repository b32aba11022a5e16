//! Where the store lives: one `vault-refs` folder in the platform's data directory.
//!
//! | platform | folder |
//! | --- | --- |
//! | any | `$VAULT_REFS_DATA_DIR` when set (the folder itself, used as is) |
//! | Linux and other Unix | `$XDG_DATA_HOME/vault-refs` when `XDG_DATA_HOME` is an absolute path, else `~/.local/share/vault-refs` |
//! | macOS | `~/Library/Application Support/vault-refs` |
//! | Windows | `%LOCALAPPDATA%\vault-refs` (the machine's own profile: a session is not roamed) |
//!
//! The builder's [`dir`](super::FileStoreBuilder::dir) overrides all of these.

use std::path::PathBuf;

use secrecy::ExposeSecret;

use crate::env::Environment;
use crate::session_store::StoreError;

/// The variable that moves the store's folder (contract).
pub const DATA_DIR_VAR: &str = "VAULT_REFS_DATA_DIR";

/// The folder name inside the platform's data directory.
pub const FOLDER: &str = "vault-refs";

fn var(env: &dyn Environment, name: &str) -> Option<PathBuf> {
    env.var(name)
        .map(|v| v.expose_secret().to_owned())
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The store's folder for this platform, read from `env`.
pub fn default_dir(env: &dyn Environment) -> Result<PathBuf, StoreError> {
    if let Some(dir) = var(env, DATA_DIR_VAR) {
        return Ok(dir);
    }
    platform_dir(env).map(|d| d.join(FOLDER)).ok_or_else(|| {
        StoreError::Unavailable(format!(
            "no data directory: set {DATA_DIR_VAR} (or HOME) to say where the store goes"
        ))
    })
}

#[cfg(windows)]
fn platform_dir(env: &dyn Environment) -> Option<PathBuf> {
    var(env, "LOCALAPPDATA").or_else(|| var(env, "APPDATA"))
}

#[cfg(target_os = "macos")]
fn platform_dir(env: &dyn Environment) -> Option<PathBuf> {
    var(env, "HOME").map(|h| h.join("Library").join("Application Support"))
}

#[cfg(all(not(windows), not(target_os = "macos")))]
fn platform_dir(env: &dyn Environment) -> Option<PathBuf> {
    var(env, "XDG_DATA_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| var(env, "HOME").map(|h| h.join(".local").join("share")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::MapEnv;

    #[test]
    fn the_variable_wins() {
        let env = MapEnv::new()
            .with(DATA_DIR_VAR, "/tmp/x")
            .with("HOME", "/home/u");
        assert_eq!(default_dir(&env).unwrap(), PathBuf::from("/tmp/x"));
    }

    #[cfg(all(not(windows), not(target_os = "macos")))]
    #[test]
    fn linux_follows_xdg() {
        let env = MapEnv::new()
            .with("XDG_DATA_HOME", "/data")
            .with("HOME", "/home/u");
        assert_eq!(
            default_dir(&env).unwrap(),
            PathBuf::from("/data/vault-refs")
        );
        let env = MapEnv::new()
            .with("XDG_DATA_HOME", "relative")
            .with("HOME", "/home/u");
        assert_eq!(
            default_dir(&env).unwrap(),
            PathBuf::from("/home/u/.local/share/vault-refs"),
            "a relative XDG_DATA_HOME is ignored, as the spec says"
        );
        assert!(default_dir(&MapEnv::new()).is_err());
    }
}
