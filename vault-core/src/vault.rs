//! The vault: named secrets, each a local value, an environment variable, or a link.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::SecretString;

use crate::domain::AllowedDomains;
use crate::error::{Error, ErrorKind};
use crate::link::Link;
use crate::template::is_valid_name;

/// Where a secret's value comes from.
#[derive(Clone)]
#[non_exhaustive]
pub enum SecretSource {
    /// A value held in memory (zeroized on drop). For quickstarts and tests.
    Local(SecretString),
    /// A local value read from this environment variable each time it is resolved.
    Env(String),
    /// A link to an external vault.
    Link(Link),
}

impl SecretSource {
    /// A short description without the value: `local value`, `env DB_PASSWORD`, `aws link`.
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Local(_) => "local value".to_owned(),
            SecretSource::Env(var) => format!("env {var}"),
            SecretSource::Link(l) => format!("{} link", l.provider()),
        }
    }

    /// The link, if this is one.
    pub fn link(&self) -> Option<&Link> {
        match self {
            SecretSource::Link(l) => Some(l),
            _ => None,
        }
    }
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Local(_) => f.write_str("Local([REDACTED])"),
            SecretSource::Env(var) => f.debug_tuple("Env").field(var).finish(),
            SecretSource::Link(l) => f.debug_tuple("Link").field(l).finish(),
        }
    }
}

/// One named secret of the vault.
#[derive(Clone, Debug)]
pub struct VaultSecret {
    source: SecretSource,
    enabled: bool,
    allowed_domains: AllowedDomains,
}

impl VaultSecret {
    /// A secret from `source`, enabled, allowed on any host.
    pub fn new(source: SecretSource) -> Self {
        VaultSecret {
            source,
            enabled: true,
            allowed_domains: AllowedDomains::any(),
        }
    }

    /// A local value.
    pub fn local(value: impl Into<String>) -> Self {
        Self::new(SecretSource::Local(SecretString::from(value.into())))
    }

    /// A value read from the environment variable `var` at resolve time.
    pub fn env(var: impl Into<String>) -> Self {
        Self::new(SecretSource::Env(var.into()))
    }

    /// A link to an external vault.
    pub fn link(link: Link) -> Self {
        Self::new(SecretSource::Link(link))
    }

    /// Turns the secret on or off (builder style). A turned-off secret stays unresolved.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Restricts the hosts the secret may be sent to (builder style).
    pub fn allowed_domains(mut self, domains: AllowedDomains) -> Self {
        self.allowed_domains = domains;
        self
    }

    /// Where the value comes from.
    pub fn source(&self) -> &SecretSource {
        &self.source
    }

    /// Whether the secret is turned on.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The hosts the secret may be sent to.
    pub fn domains(&self) -> &AllowedDomains {
        &self.allowed_domains
    }
}

/// A set of named secrets. Names follow the reference grammar of [`crate::template`].
#[derive(Clone, Debug, Default)]
pub struct Vault {
    secrets: BTreeMap<String, VaultSecret>,
}

impl Vault {
    /// An empty vault.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the secret `name`. Errors when the name cannot be referenced.
    pub fn insert(&mut self, name: impl Into<String>, secret: VaultSecret) -> Result<(), Error> {
        let name = name.into();
        if !is_valid_name(&name) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "secret names take 1 to 128 of A-Z a-z 0-9 _ - .",
            )
            .with_secret(name));
        }
        self.secrets.insert(name, secret);
        Ok(())
    }

    /// Adds a secret (builder style), panicking on an invalid name: for literals in examples
    /// and tests. Use [`insert`](Self::insert) for names from input.
    #[track_caller]
    pub fn with(mut self, name: &str, secret: VaultSecret) -> Self {
        if let Err(e) = self.insert(name, secret) {
            panic!("{e}");
        }
        self
    }

    /// Removes a secret.
    pub fn remove(&mut self, name: &str) -> Option<VaultSecret> {
        self.secrets.remove(name)
    }

    /// One secret.
    pub fn get(&self, name: &str) -> Option<&VaultSecret> {
        self.secrets.get(name)
    }

    /// All secrets, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &VaultSecret)> {
        self.secrets.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of secrets.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Whether the vault holds no secret.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        let mut v = Vault::new();
        assert!(v.insert("ok-name_1.x", VaultSecret::local("v")).is_ok());
        let e = v.insert("bad name", VaultSecret::local("v")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert_eq!(v.len(), 1);
    }

    #[test]
    fn debug_hides_local_values() {
        let s = VaultSecret::local("canary-value-123");
        assert!(!format!("{s:?}").contains("canary"));
        assert_eq!(s.source().describe(), "local value");
    }
}
