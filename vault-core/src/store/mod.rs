//! The default durable store: sessions, persisted values and local secrets in **one encrypted
//! file** in the user's data directory.
//!
//! - **Where**: see [`location`] (`$VAULT_REFS_DATA_DIR`, else a `vault-refs` folder in the
//!   platform's data directory; the builder's [`dir`](FileStoreBuilder::dir) overrides both). The folder
//!   is created owner-only (0700), every file in it owner-only (0600); a folder others may
//!   write to is refused (they could plant a key of their own). On Windows the files inherit
//!   the ACL of the user's profile folder.
//! - **What**: `store.enc` (the records, sealed with XChaCha20-Poly1305: see
//!   `format`), `store.key` (the key, unless the OS keychain holds it: see `key`),
//!   `store.lock` (the writers' lock: see `lock`).
//! - **Writes** take the lock, read the current file, change it, and replace it atomically
//!   (temporary file + rename): two processes saving at once both keep their records.
//!   Reads take no lock and see a whole file.
//! - **Damage**: a truncated, tampered or undecryptable file, or a missing key while the file
//!   exists, is reported once (the [`on_warning`](FileStoreBuilder::on_warning) callback) and
//!   read as empty; the next write replaces it. The user signs in again; nothing crashes.
//!
//! # Threat model
//!
//! Nothing is written in clear: tokens, values and local secrets are only ever in the sealed
//! file, and any change to it is detected. With the key in the **OS keychain** (feature
//! `keyring`), a copy of the data folder (a backup, a synced folder, a stolen disk image
//! without the login keychain) reveals nothing. With the **key file** beside the store, the
//! protection is that of the user's files: it stops other users of the machine (0600/0700),
//! tools that scan for plaintext tokens, and accidental exposure of the store file alone;
//! it does *not* stop anyone who can read the user's files (malware running as the user, root,
//! a backup holding both files): they read the key and decrypt the store, as they could read
//! `~/.vault-token` or `~/.aws/credentials`. No store protects against code running as the
//! user while the session is live.

pub mod location;

mod files;
mod format;
mod key;
mod lock;
mod values;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::env::{Environment, ProcessEnv};
use crate::link::ProviderId;
use crate::session_store::{SessionStore, StoreError, StoreKey};

use format::{Records, StoredSecret};
use key::{KeyLookup, KeySource};
use lock::StoreLock;

pub use location::DATA_DIR_VAR;

/// Something the host should tell the user once: the store was unusable and is read as empty.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreWarning {
    /// The store file is truncated, tampered with, or sealed with another key.
    Damaged {
        /// The store file.
        path: PathBuf,
        /// Why it could not be opened.
        reason: String,
    },
    /// The store file exists but its key does not (a deleted key file, another keychain).
    KeyMissing {
        /// The store file.
        path: PathBuf,
    },
}

impl fmt::Display for StoreWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreWarning::Damaged { path, reason } => write!(
                f,
                "the store {} cannot be read ({reason}); it is treated as empty: sign in again",
                path.display()
            ),
            StoreWarning::KeyMissing { path } => write!(
                f,
                "the key of the store {} is missing; the store is treated as empty: sign in again",
                path.display()
            ),
        }
    }
}

/// The host's handler of [`StoreWarning`]s.
pub type WarningHandler = Arc<dyn Fn(&StoreWarning) + Send + Sync>;

/// A local secret kept in the store (`vaultctl set`).
pub struct LocalSecret {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: SecretString,
    /// The hosts it may be sent to (empty: any).
    pub allowed_domains: Vec<String>,
}

impl fmt::Debug for LocalSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSecret")
            .field("name", &self.name)
            .field("value", &"[REDACTED]")
            .field("allowed_domains", &self.allowed_domains)
            .finish()
    }
}

/// Builds a [`FileStore`].
pub struct FileStoreBuilder {
    dir: Option<PathBuf>,
    env: Option<Arc<dyn Environment>>,
    on_warning: Option<WarningHandler>,
    keychain: bool,
    lock_timeout: Duration,
}

impl FileStoreBuilder {
    /// Keep the store in `dir` (the folder itself), whatever the environment says.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Where `VAULT_REFS_DATA_DIR`, `XDG_DATA_HOME` and `HOME` are read (default: the process
    /// environment).
    pub fn env(mut self, env: Arc<dyn Environment>) -> Self {
        self.env = Some(env);
        self
    }

    /// Called once per store handle when the store is unusable and read as empty.
    pub fn on_warning(mut self, handler: WarningHandler) -> Self {
        self.on_warning = Some(handler);
        self
    }

    /// Whether to ask the OS keychain for the key (default: on when built with the `keyring`
    /// feature; without it, the key file is always used).
    pub fn keychain(mut self, on: bool) -> Self {
        self.keychain = on;
        self
    }

    /// How long a writer waits for another process's write (default 10 s).
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The store. Nothing is created on disk until the first write.
    pub fn build(self) -> Result<FileStore, StoreError> {
        let dir = match (self.dir, &self.env) {
            (Some(d), _) => d,
            (None, Some(env)) => location::default_dir(&**env)?,
            (None, None) => location::default_dir(&ProcessEnv)?,
        };
        Ok(FileStore {
            keys: KeySource::new(&dir, self.keychain && cfg!(feature = "keyring")),
            store_file: dir.join("store.enc"),
            lock_file: dir.join("store.lock"),
            dir,
            on_warning: self.on_warning,
            warned: AtomicBool::new(false),
            lock_timeout: self.lock_timeout,
        })
    }
}

/// The encrypted file store (see the [module docs](self)). Every call reads the file afresh,
/// so processes see each other's sessions at once; a handle is cheap to keep.
pub struct FileStore {
    dir: PathBuf,
    store_file: PathBuf,
    lock_file: PathBuf,
    keys: KeySource,
    on_warning: Option<WarningHandler>,
    warned: AtomicBool,
    lock_timeout: Duration,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn session_key(key: &StoreKey) -> String {
    format!("{}\n{}", key.provider(), key.identity())
}

impl FileStore {
    /// Starts building a store.
    pub fn builder() -> FileStoreBuilder {
        FileStoreBuilder {
            dir: None,
            env: None,
            on_warning: None,
            keychain: true,
            lock_timeout: Duration::from_secs(10),
        }
    }

    /// The store's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The encrypted store file.
    pub fn store_file(&self) -> &Path {
        &self.store_file
    }

    /// The key file (present only when the key is not in the keychain).
    pub fn key_file(&self) -> &Path {
        self.keys.key_file()
    }

    fn warn(&self, w: StoreWarning) {
        if !self.warned.swap(true, Ordering::SeqCst) {
            if let Some(h) = &self.on_warning {
                h(&w);
            }
        }
    }

    /// The records as on disk now; an unusable store is warned about and read as empty.
    fn read(&self) -> Result<Records, StoreError> {
        files::check_dir(&self.dir)?;
        let Some(bytes) = files::read_if_exists(&self.store_file)? else {
            return Ok(Records::default());
        };
        let key = match self.keys.lookup()? {
            KeyLookup::Found(k) => k,
            KeyLookup::Missing => {
                self.warn(StoreWarning::KeyMissing {
                    path: self.store_file.clone(),
                });
                return Ok(Records::default());
            }
            KeyLookup::Damaged(reason) => {
                self.warn(StoreWarning::Damaged {
                    path: self.store_file.clone(),
                    reason: reason.to_owned(),
                });
                return Ok(Records::default());
            }
        };
        match format::open(&bytes, &key) {
            Ok(r) => Ok(r),
            Err(format::Damaged(reason)) => {
                self.warn(StoreWarning::Damaged {
                    path: self.store_file.clone(),
                    reason: reason.to_owned(),
                });
                Ok(Records::default())
            }
        }
    }

    /// Changes the records under the lock: `change` returns its result and whether it changed
    /// anything (nothing is written otherwise).
    fn update<R>(&self, change: impl FnOnce(&mut Records) -> (R, bool)) -> Result<R, StoreError> {
        files::ensure_dir(&self.dir)?;
        files::check_dir(&self.dir)?;
        let _lock = StoreLock::acquire(&self.lock_file, self.lock_timeout)?;
        let key = match self.keys.lookup()? {
            KeyLookup::Found(k) => Some(k),
            KeyLookup::Missing | KeyLookup::Damaged(_) => None,
        };
        // A store without its key is warned about by `read`, read as empty and replaced below.
        let mut records = self.read()?;
        let (result, changed) = change(&mut records);
        if changed {
            let key = match key {
                Some(k) => k,
                None => self.keys.create()?,
            };
            files::write_atomic(&self.store_file, &format::seal(&records, &key))?;
        }
        Ok(result)
    }

    fn exists(&self) -> bool {
        self.store_file.exists()
    }

    /// Every local secret, sorted by name.
    pub fn local_secrets(&self) -> Result<Vec<LocalSecret>, StoreError> {
        Ok(self
            .read()?
            .secrets
            .iter()
            .map(|(name, s)| LocalSecret {
                name: name.clone(),
                value: SecretString::from(s.value.as_str()),
                allowed_domains: s.allowed_domains.clone(),
            })
            .collect())
    }

    /// Keeps a local secret (replacing one of the same name).
    pub fn set_local_secret(
        &self,
        name: &str,
        value: &SecretString,
        allowed_domains: &[String],
    ) -> Result<(), StoreError> {
        self.update(|r| {
            r.secrets.insert(
                name.to_owned(),
                StoredSecret {
                    value: value.expose_secret().to_owned(),
                    allowed_domains: allowed_domains.to_vec(),
                },
            );
            ((), true)
        })
    }

    /// Removes a local secret; whether there was one.
    pub fn remove_local_secret(&self, name: &str) -> Result<bool, StoreError> {
        if !self.exists() {
            return Ok(false);
        }
        self.update(|r| {
            let had = r.secrets.remove(name).is_some();
            (had, had)
        })
    }

    /// The identities of `provider`'s saved sessions (never their records): what `status`
    /// shows as "kept for".
    pub fn session_identities(&self, provider: &ProviderId) -> Result<Vec<String>, StoreError> {
        let prefix = format!("{provider}\n");
        Ok(self
            .read()?
            .sessions
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
            .collect())
    }

    /// Removes every saved session of `provider` and its persisted values (`logout` when the
    /// provider could not say which identity it was).
    pub fn remove_provider(&self, provider: &ProviderId) -> Result<(), StoreError> {
        if !self.exists() {
            return Ok(());
        }
        let prefix = format!("{provider}\n");
        self.update(|r| {
            let before = r.sessions.len() + r.values.len();
            r.sessions.retain(|k, _| !k.starts_with(&prefix));
            r.values.retain(|k, _| !k.starts_with(&prefix));
            ((), before != r.sessions.len() + r.values.len())
        })
    }
}

impl SessionStore for FileStore {
    fn load(&self, key: &StoreKey) -> Result<Option<SecretString>, StoreError> {
        Ok(self
            .read()?
            .sessions
            .get(&session_key(key))
            .map(|r| SecretString::from(r.as_str())))
    }

    fn save(&self, key: &StoreKey, record: &SecretString) -> Result<(), StoreError> {
        self.update(|r| {
            r.sessions
                .insert(session_key(key), record.expose_secret().to_owned());
            ((), true)
        })
    }

    fn remove(&self, key: &StoreKey) -> Result<(), StoreError> {
        if !self.exists() {
            return Ok(());
        }
        self.update(|r| {
            let had = r.sessions.remove(&session_key(key)).is_some();
            ((), had)
        })
    }
}

#[cfg(test)]
mod tests;
