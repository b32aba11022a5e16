//! The shared credentials file (`~/.aws/credentials`), parsed as the AWS tools document it:
//!
//! ```ini
//! # a comment; so is a line starting with ;
//! [main]
//! aws_access_key_id = AKIA...
//! aws_secret_access_key=...      ; spaces around `=` are optional, inline comments need a space
//! aws_session_token =            ; an empty value is no value
//!
//! [default]
//! AWS_ACCESS_KEY_ID = ...        # keys are case-insensitive, profile names are not
//! s3 =
//!   max_concurrent_requests = 10 # indented lines continue the property above (ignored here)
//! ```
//!
//! A profile that appears twice is merged, later keys winning. Values are kept in `secrecy`
//! types; parse errors give the line and say what was expected, never a value.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::credentials::Credentials;

/// What is wrong in a credentials file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileFileError {
    /// A `key = value` line before any `[profile]` header.
    #[error("line {line}: a property outside any [profile] section")]
    PropertyOutsideProfile {
        /// 1-based line number.
        line: usize,
    },
    /// A `[` header without its `]`, or an empty name.
    #[error("line {line}: a malformed profile header (expected [name])")]
    BadHeader {
        /// 1-based line number.
        line: usize,
    },
    /// A line that is neither a header, a property, a comment nor a continuation.
    #[error("line {line}: expected `[profile]`, `key = value` or a comment")]
    BadLine {
        /// 1-based line number.
        line: usize,
    },
    /// A continuation line (indented) with no property before it.
    #[error("line {line}: an indented line with no property above it")]
    OrphanContinuation {
        /// 1-based line number.
        line: usize,
    },
}

/// One profile: its properties, keys lower-cased.
#[derive(Default)]
pub struct Profile {
    properties: BTreeMap<String, SecretString>,
}

impl Profile {
    /// A property's value (keys are case-insensitive); an empty value counts as absent.
    pub fn get(&self, key: &str) -> Option<&SecretString> {
        self.properties
            .get(&key.to_ascii_lowercase())
            .filter(|v| !v.expose_secret().is_empty())
    }

    /// The property names, for messages (never the values).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.properties.keys().map(String::as_str)
    }

    /// The profile's credentials, or the name of the first missing key.
    pub fn credentials(&self) -> Result<Credentials, &'static str> {
        let id = self.get("aws_access_key_id").ok_or("aws_access_key_id")?;
        let secret = self
            .get("aws_secret_access_key")
            .ok_or("aws_secret_access_key")?;
        let mut c = Credentials::new(id.expose_secret(), secret.expose_secret());
        // `aws_security_token` is the legacy name some tools still write.
        if let Some(t) = self
            .get("aws_session_token")
            .or_else(|| self.get("aws_security_token"))
        {
            c = c.with_session_token(t.expose_secret());
        }
        Ok(c)
    }
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("keys", &self.properties.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A parsed credentials file: profiles by name.
#[derive(Default, Debug)]
pub struct ProfileFile {
    profiles: BTreeMap<String, Profile>,
}

impl ProfileFile {
    /// Parses the text of a credentials file.
    pub fn parse(text: &str) -> Result<Self, ProfileFileError> {
        let mut file = ProfileFile::default();
        let mut current: Option<String> = None;
        let mut last_key: Option<String> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if raw.starts_with([' ', '\t']) && !trimmed.starts_with('[') {
                // A continuation of the property above (nested settings): not credentials.
                if current.is_none() || last_key.is_none() {
                    return Err(ProfileFileError::OrphanContinuation { line });
                }
                continue;
            }
            if let Some(rest) = trimmed.strip_prefix('[') {
                let Some(end) = rest.find(']') else {
                    return Err(ProfileFileError::BadHeader { line });
                };
                let after = rest[end + 1..].trim();
                if !(after.is_empty() || after.starts_with('#') || after.starts_with(';')) {
                    return Err(ProfileFileError::BadHeader { line });
                }
                let name = rest[..end].trim();
                // Some tools write `[profile name]` in the credentials file too.
                let name = name.strip_prefix("profile ").map(str::trim).unwrap_or(name);
                if name.is_empty() || name.contains(char::is_whitespace) {
                    return Err(ProfileFileError::BadHeader { line });
                }
                file.profiles.entry(name.to_owned()).or_default();
                current = Some(name.to_owned());
                last_key = None;
                continue;
            }
            let Some((key, value)) = trimmed.split_once('=') else {
                return Err(ProfileFileError::BadLine { line });
            };
            let key = key.trim().to_ascii_lowercase();
            if key.is_empty() || key.contains(char::is_whitespace) {
                return Err(ProfileFileError::BadLine { line });
            }
            let Some(profile) = current.as_ref().and_then(|c| file.profiles.get_mut(c)) else {
                return Err(ProfileFileError::PropertyOutsideProfile { line });
            };
            let value = strip_inline_comment(value).trim();
            profile
                .properties
                .insert(key.clone(), SecretString::from(value.to_owned()));
            last_key = Some(key);
        }
        Ok(file)
    }

    /// A profile by name (case-sensitive, as in the AWS tools).
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// The profile names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }
}

/// In a value, `#` or `;` starts a comment only after whitespace, so keys containing them
/// (a secret key may hold any character) survive.
fn strip_inline_comment(value: &str) -> &str {
    let b = value.as_bytes();
    for i in 1..b.len() {
        if (b[i] == b'#' || b[i] == b';') && (b[i - 1] == b' ' || b[i - 1] == b'\t') {
            return &value[..i];
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# leading comment
; another

[default]
aws_access_key_id=AKIADEFAULT00000000
aws_secret_access_key = default/se#cret ; trailing comment
  [main]   # header comment
AWS_Access_Key_ID   =   AKIAMAIN000000000000
aws_secret_access_key\t=\tmain;secret
aws_session_token =
s3 =
    max_concurrent_requests = 10
[ spaced ]
aws_access_key_id = A
[profile prefixed]
aws_access_key_id = B
aws_secret_access_key = b
[default]
region = eu-west-1
";

    #[test]
    fn parses_comments_spacing_case_and_merges() {
        let f = ProfileFile::parse(FILE).unwrap();
        assert_eq!(
            f.names().collect::<Vec<_>>(),
            ["default", "main", "prefixed", "spaced"]
        );
        let d = f.profile("default").unwrap();
        let c = d.credentials().unwrap();
        assert_eq!(c.access_key_id(), "AKIADEFAULT00000000");
        assert_eq!(
            d.get("aws_secret_access_key").unwrap().expose_secret(),
            "default/se#cret"
        );
        assert_eq!(d.get("REGION").unwrap().expose_secret(), "eu-west-1");
        let m = f.profile("main").unwrap();
        let c = m.credentials().unwrap();
        assert_eq!(c.access_key_id(), "AKIAMAIN000000000000");
        assert!(!c.has_session_token(), "an empty token is no token");
        assert_eq!(
            m.get("aws_secret_access_key").unwrap().expose_secret(),
            "main;secret"
        );
        assert!(
            f.profile("Main").is_none(),
            "profile names are case-sensitive"
        );
        assert_eq!(
            f.profile("spaced").unwrap().credentials().unwrap_err(),
            "aws_secret_access_key"
        );
        assert!(f.profile("prefixed").unwrap().credentials().is_ok());
    }

    #[test]
    fn errors_give_the_line() {
        assert_eq!(
            ProfileFile::parse("a = b\n").unwrap_err(),
            ProfileFileError::PropertyOutsideProfile { line: 1 }
        );
        assert_eq!(
            ProfileFile::parse("\n[main\n").unwrap_err(),
            ProfileFileError::BadHeader { line: 2 }
        );
        assert_eq!(
            ProfileFile::parse("[]\n").unwrap_err(),
            ProfileFileError::BadHeader { line: 1 }
        );
        assert_eq!(
            ProfileFile::parse("[main]\njust words\n").unwrap_err(),
            ProfileFileError::BadLine { line: 2 }
        );
        assert_eq!(
            ProfileFile::parse("[main]\n  x = 1\n").unwrap_err(),
            ProfileFileError::OrphanContinuation { line: 2 }
        );
        let msg = ProfileFile::parse("[main]\nsecret-value-here\n")
            .unwrap_err()
            .to_string();
        assert!(!msg.contains("secret-value-here"), "{msg}");
    }

    #[test]
    fn debug_shows_keys_not_values() {
        let f = ProfileFile::parse("[main]\naws_secret_access_key = canary\n").unwrap();
        let d = format!("{f:?}");
        assert!(
            d.contains("aws_secret_access_key") && !d.contains("canary"),
            "{d}"
        );
    }
}
