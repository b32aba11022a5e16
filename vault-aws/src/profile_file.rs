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

/// A parsed credentials or config file: profiles by name, and (config file) `sso-session`
/// sections by name.
#[derive(Default, Debug)]
pub struct ProfileFile {
    profiles: BTreeMap<String, Profile>,
    sso_sessions: BTreeMap<String, Profile>,
}

/// Which of the two shared files a text is: they name their sections differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `~/.aws/credentials`: `[NAME]` is profile NAME (`[profile NAME]` is accepted too).
    Credentials,
    /// `~/.aws/config`: `[default]`, `[profile NAME]` and `[sso-session NAME]`; any other
    /// section (`[services x]`, a bare `[NAME]`) is skipped, as the AWS CLI does.
    Config,
}

/// Where the properties of the current section go.
#[derive(Clone)]
enum Section {
    Profile(String),
    SsoSession(String),
    Skipped,
}

impl ProfileFile {
    /// Parses the text of a credentials file.
    pub fn parse(text: &str) -> Result<Self, ProfileFileError> {
        Self::parse_as(text, FileKind::Credentials)
    }

    /// Parses the text of a config file (`AWS_CONFIG_FILE`, `~/.aws/config`).
    pub fn parse_config(text: &str) -> Result<Self, ProfileFileError> {
        Self::parse_as(text, FileKind::Config)
    }

    /// Parses `text` read as `kind`.
    pub fn parse_as(text: &str, kind: FileKind) -> Result<Self, ProfileFileError> {
        let mut file = ProfileFile::default();
        let mut current: Option<Section> = None;
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
                let header = rest[..end].trim();
                let section =
                    section_of(header, kind).ok_or(ProfileFileError::BadHeader { line })?;
                match &section {
                    Section::Profile(n) => {
                        file.profiles.entry(n.clone()).or_default();
                    }
                    Section::SsoSession(n) => {
                        file.sso_sessions.entry(n.clone()).or_default();
                    }
                    Section::Skipped => {}
                }
                current = Some(section);
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
            let profile = match &current {
                None => return Err(ProfileFileError::PropertyOutsideProfile { line }),
                Some(Section::Skipped) => {
                    last_key = Some(key);
                    continue;
                }
                Some(Section::Profile(n)) => file.profiles.get_mut(n),
                Some(Section::SsoSession(n)) => file.sso_sessions.get_mut(n),
            };
            let Some(profile) = profile else {
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

    /// An `[sso-session NAME]` section of a config file.
    pub fn sso_session(&self, name: &str) -> Option<&Profile> {
        self.sso_sessions.get(name)
    }
}

/// The section a header names in a file of `kind`; `None` for a malformed header.
fn section_of(header: &str, kind: FileKind) -> Option<Section> {
    let valid = |n: &str| !n.is_empty() && !n.contains(char::is_whitespace);
    let (prefix, rest) = match header.split_once(char::is_whitespace) {
        Some((p, r)) => (p, Some(r.trim())),
        None => (header, None),
    };
    match (kind, prefix, rest) {
        (_, "profile", Some(n)) if valid(n) => Some(Section::Profile(n.to_owned())),
        (FileKind::Config, "sso-session", Some(n)) if valid(n) => {
            Some(Section::SsoSession(n.to_owned()))
        }
        (FileKind::Credentials, n, None) if valid(n) => Some(Section::Profile(n.to_owned())),
        (FileKind::Config, "default", None) => Some(Section::Profile("default".to_owned())),
        (FileKind::Config, n, _) if !n.is_empty() => Some(Section::Skipped),
        _ => None,
    }
}

/// The credentials file and the config file read together, as the AWS CLI merges them: a
/// profile is the union of its two sections, the credentials file's keys winning.
#[derive(Default, Debug)]
pub struct ProfileSet {
    /// The config file (`AWS_CONFIG_FILE`, `~/.aws/config`), if it exists.
    pub config: ProfileFile,
    /// The credentials file, if it exists.
    pub credentials: ProfileFile,
}

impl ProfileSet {
    /// A property of profile `name`: the credentials file's, else the config file's.
    pub fn get(&self, name: &str, key: &str) -> Option<&SecretString> {
        self.credentials
            .profile(name)
            .and_then(|p| p.get(key))
            .or_else(|| self.config.profile(name).and_then(|p| p.get(key)))
    }

    /// A property as plain text (for non-secret settings: ARNs, names, commands).
    pub fn text(&self, name: &str, key: &str) -> Option<String> {
        self.get(name, key).map(|v| v.expose_secret().to_owned())
    }

    /// Whether either file has profile `name`.
    pub fn has(&self, name: &str) -> bool {
        self.credentials.profile(name).is_some() || self.config.profile(name).is_some()
    }

    /// Static keys of profile `name`, if it has an access key id (else `Ok(None)`); the name
    /// of the first missing key when half of them is there.
    pub fn keys(&self, name: &str) -> Result<Option<Credentials>, &'static str> {
        let Some(id) = self.get(name, "aws_access_key_id") else {
            return Ok(None);
        };
        let secret = self
            .get(name, "aws_secret_access_key")
            .ok_or("aws_secret_access_key")?;
        let mut c = Credentials::new(id.expose_secret(), secret.expose_secret());
        if let Some(t) = self
            .get(name, "aws_session_token")
            .or_else(|| self.get(name, "aws_security_token"))
        {
            c = c.with_session_token(t.expose_secret());
        }
        Ok(Some(c))
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
    fn config_file_sections_as_the_cli_reads_them() {
        let text = "\
# comment
[default]
region = eu-west-1
[profile dev]   ; trailing comment
Role_Arn = arn:aws:iam::123456789012:role/a
source_profile = default
s3 =
  max_concurrent_requests = 10
[profile   spaced  ]
region = us-east-2
[bare]
region = ignored
[services local]
sts =
  endpoint_url = http://127.0.0.1:5000
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
[profile dev]
region = us-west-2
";
        let f = ProfileFile::parse_config(text).unwrap();
        assert_eq!(f.names().collect::<Vec<_>>(), ["default", "dev", "spaced"]);
        let dev = f.profile("dev").unwrap();
        assert_eq!(
            dev.get("role_arn").unwrap().expose_secret(),
            "arn:aws:iam::123456789012:role/a"
        );
        assert_eq!(dev.get("region").unwrap().expose_secret(), "us-west-2");
        assert!(dev.get("max_concurrent_requests").is_none());
        assert!(
            f.profile("bare").is_none(),
            "[bare] is not a profile in the config file"
        );
        assert_eq!(
            f.sso_session("corp")
                .unwrap()
                .get("sso_start_url")
                .unwrap()
                .expose_secret(),
            "https://corp.awsapps.com/start"
        );
        assert_eq!(
            ProfileFile::parse_config("[]\n").unwrap_err(),
            ProfileFileError::BadHeader { line: 1 }
        );
        assert_eq!(
            ProfileFile::parse("[two words]\n").unwrap_err(),
            ProfileFileError::BadHeader { line: 1 }
        );
    }

    #[test]
    fn the_credentials_file_wins_over_the_config_file() {
        let set = ProfileSet {
            config: ProfileFile::parse_config(
                "[profile main]\naws_access_key_id = AKIACONFIG\naws_secret_access_key = c\nregion = eu-west-1\n",
            )
            .unwrap(),
            credentials: ProfileFile::parse("[main]\naws_access_key_id = AKIACREDS\naws_secret_access_key = k\n").unwrap(),
        };
        assert_eq!(
            set.keys("main").unwrap().unwrap().access_key_id(),
            "AKIACREDS"
        );
        assert_eq!(set.text("main", "region").unwrap(), "eu-west-1");
        assert!(set.has("main") && !set.has("other"));
        assert!(set.keys("other").unwrap().is_none());
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
