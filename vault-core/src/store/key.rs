//! Where the store's 256-bit key comes from, in this order:
//!
//! 1. a key file `store.key` beside the store, when it exists (owner-only, 0600);
//! 2. with the `keyring` feature, the OS keychain (macOS Keychain, Windows Credential Manager,
//!    the Secret Service on Linux), entry service `vault-refs`, user = the store's folder;
//! 3. none: the store is empty. The first write creates a key: in the keychain when the
//!    feature is on and a keychain answers (and reads it back), else in the key file.
//!
//! Creating a key happens under the store's lock, so two processes never make two keys.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::session_store::StoreError;

use super::files;

/// The key, wiped on drop.
pub(crate) type KeyBytes = Zeroizing<[u8; 32]>;

/// What looking for the key found.
pub(crate) enum KeyLookup {
    Found(KeyBytes),
    /// No key anywhere.
    Missing,
    /// A key file of the wrong size or encoding (never its content in the reason).
    Damaged(&'static str),
}

/// Where the key is looked up and created.
pub(crate) struct KeySource {
    key_file: PathBuf,
    /// The keychain entry's user name, when the keychain is to be asked.
    #[cfg_attr(not(feature = "keyring"), allow(dead_code))]
    keychain_user: Option<String>,
}

#[cfg(feature = "keyring")]
const KEYCHAIN_SERVICE: &str = "vault-refs";

impl KeySource {
    pub(crate) fn new(dir: &Path, use_keychain: bool) -> Self {
        KeySource {
            key_file: dir.join("store.key"),
            keychain_user: use_keychain.then(|| dir.display().to_string()),
        }
    }

    /// The key file's path (it may not exist).
    pub(crate) fn key_file(&self) -> &Path {
        &self.key_file
    }

    pub(crate) fn lookup(&self) -> Result<KeyLookup, StoreError> {
        if let Some(bytes) = files::read_if_exists(&self.key_file)? {
            let bytes = Zeroizing::new(bytes);
            return Ok(decode(&bytes).map_or(
                KeyLookup::Damaged("the key file is malformed"),
                KeyLookup::Found,
            ));
        }
        #[cfg(feature = "keyring")]
        if let Some(key) = self.keychain_get() {
            return Ok(key);
        }
        Ok(KeyLookup::Missing)
    }

    /// Makes a new key and keeps it (keychain, else key file). Call under the store's lock.
    pub(crate) fn create(&self) -> Result<KeyBytes, StoreError> {
        let mut key: KeyBytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(&mut key[..]);
        let text = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&key[..]));
        #[cfg(feature = "keyring")]
        if self.keychain_set(&text) {
            // A stale key file would shadow the keychain's key.
            let _ = std::fs::remove_file(&self.key_file);
            return Ok(key);
        }
        files::write_atomic(&self.key_file, text.as_bytes())?;
        Ok(key)
    }

    #[cfg(feature = "keyring")]
    fn entry(&self) -> Option<keyring::Entry> {
        keyring::Entry::new(KEYCHAIN_SERVICE, self.keychain_user.as_deref()?).ok()
    }

    /// The keychain's answer; `None` when it holds no key or does not answer at all (the key
    /// file is then used).
    #[cfg(feature = "keyring")]
    fn keychain_get(&self) -> Option<KeyLookup> {
        let secret = Zeroizing::new(self.entry()?.get_password().ok()?);
        Some(decode(secret.as_bytes()).map_or(
            KeyLookup::Damaged("the keychain's key is malformed"),
            KeyLookup::Found,
        ))
    }

    /// Stores the key in the keychain and checks it can be read back.
    #[cfg(feature = "keyring")]
    fn keychain_set(&self, text: &str) -> bool {
        let Some(entry) = self.entry() else {
            return false;
        };
        entry.set_password(text).is_ok()
            && entry
                .get_password()
                .map(Zeroizing::new)
                .is_ok_and(|back| back.as_str() == text)
    }
}

fn decode(text: &[u8]) -> Option<KeyBytes> {
    let trimmed = text.trim_ascii();
    let raw = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(trimmed)
            .ok()?,
    );
    let arr: [u8; 32] = raw.as_slice().try_into().ok()?;
    Some(Zeroizing::new(arr))
}
