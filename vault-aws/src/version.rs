//! Which version of a secret a link asks for.
//!
//! The config file has one `version` key for both kinds Secrets Manager knows. The rule:
//! a value shaped like a UUID (`8-4-4-4-12` hex digits, any case) is a **version id** and is
//! sent as `VersionId`; anything else is a **staging label** (`AWSCURRENT`, `AWSPREVIOUS`,
//! custom labels) and is sent as `VersionStage`. AWS generates version ids as UUIDs, and a
//! label that looks like a UUID would be too confusing to be worth supporting.
//! No version means `AWSCURRENT`, as in AWS.

use std::fmt;

/// A version of a secret: an id or a staging label.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SecretVersion {
    /// A version id (a UUID), sent as `VersionId`; stored lower-case.
    Id(String),
    /// A staging label, sent as `VersionStage`.
    Stage(String),
}

/// The label AWS serves when no version is named.
pub const AWSCURRENT: &str = "AWSCURRENT";

/// Why a `version` value was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a version id or a staging label (1-256 printable characters)")]
pub struct VersionError(pub String);

impl SecretVersion {
    /// Applies the rule above.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let t = text.trim();
        if is_uuid(t) {
            return Ok(SecretVersion::Id(t.to_ascii_lowercase()));
        }
        if t.is_empty() || t.len() > 256 || t.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(VersionError(text.to_owned()));
        }
        Ok(SecretVersion::Stage(t.to_owned()))
    }

    /// Whether this is the label AWS serves by default.
    pub fn is_current(&self) -> bool {
        matches!(self, SecretVersion::Stage(s) if s == AWSCURRENT)
    }
}

impl fmt::Display for SecretVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretVersion::Id(id) => write!(f, "id:{id}"),
            SecretVersion::Stage(s) => write!(f, "stage:{s}"),
        }
    }
}

fn is_uuid(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_is_an_id_anything_else_a_stage() {
        assert_eq!(
            SecretVersion::parse("11111111-1111-4111-8111-11111111111A").unwrap(),
            SecretVersion::Id("11111111-1111-4111-8111-11111111111a".into())
        );
        assert_eq!(
            SecretVersion::parse("AWSPREVIOUS").unwrap(),
            SecretVersion::Stage("AWSPREVIOUS".into())
        );
        assert_eq!(
            SecretVersion::parse("11111111-1111-4111-8111-1111").unwrap(),
            SecretVersion::Stage("11111111-1111-4111-8111-1111".into())
        );
        assert!(SecretVersion::parse("AWSCURRENT").unwrap().is_current());
        assert!(SecretVersion::parse("").is_err());
        assert!(SecretVersion::parse("two words").is_err());
        assert!(SecretVersion::parse(&"x".repeat(257)).is_err());
    }
}
