//! The command line's side of the encrypted store: opening it (warnings printed once on
//! stderr), merging its local secrets under the config file's, and reading a value to keep
//! without it ever being on the command line.

use std::io::{IsTerminal, Read};
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use vault_core::store::LocalSecret;
use vault_core::{AllowedDomains, Config, FileStore, StoreWarning, Vault, VaultSecret};
use zeroize::Zeroizing;

/// Opens the default store (`VAULT_REFS_DATA_DIR`, else the platform's data directory). A
/// damaged store or a missing key is one `vaultctl: warning:` line on stderr. `None` (with a
/// warning) when there is no place for it: sessions then live in memory.
pub fn open(program: &str) -> Option<Arc<FileStore>> {
    let p = program.to_owned();
    let warn = Arc::new(move |w: &StoreWarning| eprintln!("{p}: warning: {w}"));
    match FileStore::builder().on_warning(warn).build() {
        Ok(s) => Some(Arc::new(s)),
        Err(e) => {
            eprintln!("{program}: warning: {e}; sessions are not kept");
            None
        }
    }
}

/// The config's vault plus the store's local secrets. A name in both: the config file wins;
/// the names shadowed this way are returned for a notice.
pub fn merged_vault(config: &Config, stored: Vec<LocalSecret>) -> (Vault, Vec<String>) {
    let mut vault = config.vault.clone();
    let mut shadowed = Vec::new();
    for s in stored {
        if vault.get(&s.name).is_some() {
            shadowed.push(s.name);
            continue;
        }
        let Ok(domains) = (if s.allowed_domains.is_empty() {
            Ok(AllowedDomains::any())
        } else {
            AllowedDomains::parse(&s.allowed_domains)
        }) else {
            continue;
        };
        let secret = VaultSecret::local(s.value.expose_secret()).allowed_domains(domains);
        let _ = vault.insert(&s.name, secret);
    }
    (vault, shadowed)
}

/// The value to keep: a hidden prompt on a terminal, else all of stdin without one final
/// line break.
pub fn read_value(name: &str) -> Result<SecretString, String> {
    if std::io::stdin().is_terminal() {
        let v = rpassword::prompt_password(format!("value for {name} (hidden): "))
            .map_err(|e| format!("cannot read the value: {e}"))?;
        return Ok(SecretString::from(v));
    }
    let mut buf = Zeroizing::new(String::new());
    std::io::stdin()
        .read_to_string(&mut buf)
        .map_err(|e| format!("cannot read the value from stdin: {e}"))?;
    let v = buf
        .strip_suffix("\r\n")
        .or_else(|| buf.strip_suffix('\n'))
        .unwrap_or(&buf);
    Ok(SecretString::from(v))
}
