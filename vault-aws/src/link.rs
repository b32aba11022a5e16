//! An AWS link, checked: `[secrets.NAME.aws]` with `secret_arn`, optional `role_arn` and
//! optional `version`.

use vault_core::{Error, ErrorKind, Link, Locator};

use crate::arn::{RoleArn, SecretArn};
use crate::version::{SecretVersion, AWSCURRENT};
use crate::PROVIDER_ID;

/// The keys of an AWS link.
pub const LINK_KEYS: [&str; 3] = ["secret_arn", "role_arn", "version"];

/// A validated AWS link.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AwsLink {
    /// The secret.
    pub secret: SecretArn,
    /// The role to assume to read it, if any.
    pub role: Option<RoleArn>,
    /// The version asked for (`None`: AWSCURRENT).
    pub version: Option<SecretVersion>,
}

impl AwsLink {
    /// Checks a link's fields: unknown keys, ARNs and the version, with no network.
    pub fn from_link(link: &Link) -> Result<Self, Error> {
        link.reject_unknown_fields(&LINK_KEYS)?;
        let invalid = |key: &str, e: &dyn std::fmt::Display| {
            Error::new(ErrorKind::InvalidLink, format!("`{key}`: {e}")).with_provider(PROVIDER_ID)
        };
        let secret =
            SecretArn::parse(link.require("secret_arn")?).map_err(|e| invalid("secret_arn", &e))?;
        let role = link
            .get("role_arn")
            .filter(|r| !r.trim().is_empty())
            .map(RoleArn::parse)
            .transpose()
            .map_err(|e| invalid("role_arn", &e))?;
        if let Some(role) = &role {
            if role.partition() != secret.partition() {
                return Err(invalid(
                    "role_arn",
                    &format!(
                        "the role is in partition {}, the secret in {}",
                        role.partition(),
                        secret.partition()
                    ),
                ));
            }
        }
        let version = link
            .get("version")
            .map(SecretVersion::parse)
            .transpose()
            .map_err(|e| invalid("version", &e))?;
        Ok(AwsLink {
            secret,
            role,
            version,
        })
    }

    /// The canonical locator: the secret ARN, the role, and the version with "no version"
    /// and `AWSCURRENT` made equal. Two links differ in locator exactly when they may serve
    /// different values (another role may be refused where this one is allowed).
    pub fn locator(&self) -> Locator {
        let version = match &self.version {
            Some(v) => v.to_string(),
            None => format!("stage:{AWSCURRENT}"),
        };
        let role = self.role.as_ref().map_or("", |r| r.as_str());
        // Each part escaped, so no (role, version) pair can spell another's key.
        Locator::new(
            PROVIDER_ID,
            format!(
                "{}|role={}|{}",
                escape(&self.secret.to_string()),
                escape(role),
                escape(&version)
            ),
        )
    }
}

/// Escapes the locator's separator `|` (and the escape character itself).
fn escape(part: &str) -> String {
    part.replace('%', "%25").replace('|', "%7C")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf";

    fn link() -> Link {
        Link::new(PROVIDER_ID).with("secret_arn", ARN)
    }

    #[test]
    fn locator_parts_are_escaped() {
        let a = AwsLink::from_link(&link().with("version", "x|role=y")).unwrap();
        let key = a.locator();
        let text = format!("{key:?}");
        assert!(!text.contains("x|role=y"), "{text}");
        assert_eq!(escape("a|b%c"), "a%7Cb%25c");
    }

    #[test]
    fn valid_links_and_canonical_locators() {
        let plain = AwsLink::from_link(&link()).unwrap();
        let current = AwsLink::from_link(&link().with("version", "AWSCURRENT")).unwrap();
        assert_eq!(plain.locator(), current.locator());
        let previous = AwsLink::from_link(&link().with("version", "AWSPREVIOUS")).unwrap();
        assert_ne!(plain.locator(), previous.locator());
        let role =
            AwsLink::from_link(&link().with("role_arn", "arn:aws:iam::123456789012:role/reader"))
                .unwrap();
        assert_ne!(plain.locator(), role.locator());
        let upper =
            AwsLink::from_link(&link().with("version", "11111111-1111-4111-8111-11111111111A"))
                .unwrap();
        let lower =
            AwsLink::from_link(&link().with("version", "11111111-1111-4111-8111-11111111111a"))
                .unwrap();
        assert_eq!(upper.locator(), lower.locator());
        assert_eq!(upper.locator().provider().as_str(), "aws");
    }

    #[test]
    fn bad_links_name_the_key() {
        let e = AwsLink::from_link(&link().with("rolearn", "x")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidLink);
        assert!(e.to_string().contains("`rolearn`"), "{e}");
        let e = AwsLink::from_link(&Link::new(PROVIDER_ID)).unwrap_err();
        assert!(e.to_string().contains("`secret_arn`"), "{e}");
        let e =
            AwsLink::from_link(&Link::new(PROVIDER_ID).with("secret_arn", "app/db")).unwrap_err();
        assert!(
            e.to_string()
                .contains("`secret_arn`: `app/db` is not an ARN"),
            "{e}"
        );
        let e = AwsLink::from_link(&link().with("role_arn", "arn:aws-cn:iam::123456789012:role/r"))
            .unwrap_err();
        assert!(e.to_string().contains("partition"), "{e}");
        let e = AwsLink::from_link(&link().with("version", "a b")).unwrap_err();
        assert!(e.to_string().contains("`version`"), "{e}");
    }
}
