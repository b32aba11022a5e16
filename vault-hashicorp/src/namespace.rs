//! Vault Enterprise / OpenBao namespaces.
//!
//! A namespace is sent in the `X-Vault-Namespace` header on every Vault API call, and never as a
//! path prefix as well: the server concatenates both (`team1/team1`) and answers 403. The OIDC
//! provider's URLs are the exception: they already carry the namespace in their path, so they
//! are called as they are, without the header.

use std::fmt;

/// A namespace path such as `team1` or `admin/team1`; the root namespace is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Namespace(String);

/// Why a namespace was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NamespaceError {
    /// One `/`-separated part is empty, `.` or `..`.
    #[error("namespace `{0}` has an empty, `.` or `..` part")]
    BadSegment(String),
    /// A character outside `A-Z a-z 0-9 _ - .`.
    #[error("namespace `{0}` may only hold A-Z a-z 0-9 _ - . and / between parts")]
    BadCharacter(String),
}

impl Namespace {
    /// The root namespace (no header is sent).
    pub fn root() -> Self {
        Namespace(String::new())
    }

    /// Parses a namespace path; leading and trailing slashes are dropped, so `/team1/` and
    /// `team1` are the same namespace (and the same cache key).
    pub fn parse(text: &str) -> Result<Self, NamespaceError> {
        let trimmed = text.trim().trim_matches('/');
        if trimmed.is_empty() {
            return Ok(Self::root());
        }
        for part in trimmed.split('/') {
            if part.is_empty() || part == "." || part == ".." {
                return Err(NamespaceError::BadSegment(text.to_owned()));
            }
            if !part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                return Err(NamespaceError::BadCharacter(text.to_owned()));
            }
        }
        Ok(Namespace(trimmed.to_owned()))
    }

    /// Whether this is the root namespace.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path (`""` for the root).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `X-Vault-Namespace` header value, or `None` for the root namespace.
    pub fn header(&self) -> Option<&str> {
        (!self.is_root()).then_some(self.0.as_str())
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            f.write_str("(root)")
        } else {
            f.write_str(&self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slashes_are_normalised() {
        assert_eq!(Namespace::parse("/team1/").unwrap().as_str(), "team1");
        assert_eq!(
            Namespace::parse("admin/team1").unwrap().header(),
            Some("admin/team1")
        );
        assert!(Namespace::parse("").unwrap().is_root());
        assert_eq!(Namespace::parse("/").unwrap().header(), None);
    }

    #[test]
    fn bad_namespaces_say_why() {
        assert!(matches!(
            Namespace::parse("a//b"),
            Err(NamespaceError::BadSegment(_))
        ));
        assert!(matches!(
            Namespace::parse("a/../b"),
            Err(NamespaceError::BadSegment(_))
        ));
        assert!(matches!(
            Namespace::parse("team 1"),
            Err(NamespaceError::BadCharacter(_))
        ));
    }
}
