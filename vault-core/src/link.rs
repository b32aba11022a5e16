//! Links: where a vault secret lives in an external vault. A link holds no secret, only the
//! provider's own locator fields (an Azure identifier, a Vault path, an AWS ARN...).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::error::{Error, ErrorKind};

/// The short, lower-case id of a provider kind: `azure`, `hashicorp`, `aws`...
///
/// Grammar: 1 to 32 characters of `a-z`, `0-9` and `-`, starting with a letter. It is the key
/// of the provider's table in the config file (`[secrets.NAME.aws]`, `[integrations.aws]`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderId(IdText);

/// Static ids cost nothing to clone; parsed ones share one allocation.
#[derive(Clone)]
enum IdText {
    Static(&'static str),
    Shared(Arc<str>),
}

impl IdText {
    fn as_str(&self) -> &str {
        match self {
            IdText::Static(s) => s,
            IdText::Shared(s) => s,
        }
    }
}

impl PartialEq for IdText {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.as_str(), other.as_str());
        // The same static text (the usual case: a provider's own id) needs no comparison.
        std::ptr::eq(a, b) || a == b
    }
}
impl Eq for IdText {}
impl std::hash::Hash for IdText {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}
impl PartialOrd for IdText {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for IdText {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl ProviderId {
    /// A provider id known at compile time. Panics in const evaluation on a bad id, so a typo
    /// in a provider crate fails its build, never a user's run.
    pub const fn from_static(id: &'static str) -> Self {
        assert!(Self::valid(id.as_bytes()), "invalid provider id");
        ProviderId(IdText::Static(id))
    }

    /// Parses a provider id, for example the key of a config table.
    pub fn new(id: &str) -> Result<Self, Error> {
        if Self::valid(id.as_bytes()) {
            Ok(ProviderId(IdText::Shared(Arc::from(id))))
        } else {
            Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "`{id}` is not a provider id (1-32 of a-z, 0-9, -, starting with a letter)"
                ),
            ))
        }
    }

    const fn valid(b: &[u8]) -> bool {
        if b.is_empty() || b.len() > 32 || !b[0].is_ascii_lowercase() {
            return false;
        }
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-') {
                return false;
            }
            i += 1;
        }
        true
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::str::FromStr for ProviderId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        ProviderId::new(s)
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A link to a secret in an external vault: the provider and its locator fields, exactly as
/// written in the config file's `[secrets.NAME.<provider>]` table.
///
/// Core does not interpret the fields: the provider validates them
/// ([`Provider::validate_link`](crate::Provider::validate_link)) and turns them into a
/// canonical [`Locator`]. Fields hold no secret values, so a link is freely printable.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Link {
    provider: ProviderId,
    fields: BTreeMap<String, String>,
}

impl Link {
    /// A link to `provider` with no fields yet.
    pub fn new(provider: ProviderId) -> Self {
        Link {
            provider,
            fields: BTreeMap::new(),
        }
    }

    /// Adds or replaces a field (builder style).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.insert(key.into(), value.into());
        self
    }

    /// The provider this link points into.
    pub fn provider(&self) -> &ProviderId {
        &self.provider
    }

    /// The link without the field `key` (core strips the fields it handles itself, such as
    /// `json_key`, before a provider sees the link).
    pub fn without(&self, key: &str) -> Link {
        let mut link = self.clone();
        link.fields.remove(key);
        link
    }

    /// One field, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    /// All fields, sorted by key.
    pub fn fields(&self) -> &BTreeMap<String, String> {
        &self.fields
    }

    /// Errors for the fields a provider does not know, naming them: a typo in a config file
    /// must not be silently ignored.
    pub fn reject_unknown_fields(&self, known: &[&str]) -> Result<(), Error> {
        match self.fields.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) => Err(Error::new(
                ErrorKind::InvalidLink,
                format!(
                    "unknown key `{k}` in a {} link; expected one of: {}",
                    self.provider,
                    known.join(", ")
                ),
            )
            .with_provider(self.provider.clone())),
        }
    }

    /// The field `key`, or an [`ErrorKind::InvalidLink`] error naming it.
    pub fn require(&self, key: &str) -> Result<&str, Error> {
        self.get(key).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidLink,
                format!("a {} link needs the key `{key}`", self.provider),
            )
            .with_provider(self.provider.clone())
        })
    }
}

/// The canonical form of a validated link: the cache key of its value.
///
/// Two links that denote the same external secret have equal locators (a provider normalises
/// case, trailing slashes, default versions...), and two that do not, differ. So relinking a
/// secret elsewhere can never serve the old link's cached value.
#[derive(Clone, PartialOrd, Ord)]
pub struct Locator {
    provider: ProviderId,
    canonical: Arc<str>,
    /// Hash of the two fields, computed once: the cache hashes a locator on every lookup.
    hash: u64,
}

impl Locator {
    /// A locator of `provider`, canonical text chosen by the provider.
    pub fn new(provider: ProviderId, canonical: impl Into<Arc<str>>) -> Self {
        use std::hash::BuildHasher;
        /// One randomly keyed SipHash for the process: locators hash alike everywhere, and
        /// nobody can predict collisions.
        static KEYS: std::sync::LazyLock<std::collections::hash_map::RandomState> =
            std::sync::LazyLock::new(Default::default);
        let canonical = canonical.into();
        let hash = KEYS.hash_one((provider.as_str(), &*canonical));
        Locator {
            provider,
            canonical,
            hash,
        }
    }

    /// The provider.
    pub fn provider(&self) -> &ProviderId {
        &self.provider
    }

    /// The canonical text (no secret in it).
    pub fn canonical(&self) -> &str {
        &self.canonical
    }
}

impl PartialEq for Locator {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && self.provider == other.provider
            && (Arc::ptr_eq(&self.canonical, &other.canonical) || self.canonical == other.canonical)
    }
}

impl Eq for Locator {}

impl std::hash::Hash for Locator {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// A hasher for maps keyed by [`Locator`]: the locator's hash is already a keyed SipHash, so
/// it is used as is instead of hashing it again.
#[derive(Clone, Copy, Debug, Default)]
pub struct LocatorHasher(u64);

impl std::hash::Hasher for LocatorHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `Locator`; fold anything else in, order-sensitively.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

/// Builds [`LocatorHasher`]s.
pub type BuildLocatorHasher = std::hash::BuildHasherDefault<LocatorHasher>;

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider, self.canonical)
    }
}

impl fmt::Debug for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Locator({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_id_grammar() {
        assert!(ProviderId::new("aws").is_ok());
        assert!(ProviderId::new("gcp-secrets2").is_ok());
        for bad in ["", "AWS", "1aws", "a b", "a_b", &"a".repeat(33)] {
            assert!(ProviderId::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn link_unknown_and_missing_fields_are_named() {
        let l = Link::new(ProviderId::from_static("aws"))
            .with("secret_arn", "x")
            .with("rol_arn", "y");
        let e = l
            .reject_unknown_fields(&["secret_arn", "role_arn"])
            .unwrap_err();
        assert!(e.to_string().contains("`rol_arn`"), "{e}");
        let e = l.require("version").unwrap_err();
        assert!(e.to_string().contains("`version`"));
        assert_eq!(l.require("secret_arn").unwrap(), "x");
    }
}
