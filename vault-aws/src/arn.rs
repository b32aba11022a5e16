//! Secret and role ARNs, parsed and checked before any network call, with errors that say
//! which part is wrong.
//!
//! ```text
//! arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME[-SUFFIX]
//! arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME
//! ```

use std::fmt;
use std::str::FromStr;

use crate::partition::{is_valid_region, Partition};

/// What is wrong with an ARN.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArnError {
    /// The text does not have the six colon-separated parts starting with `arn`.
    #[error("`{0}` is not an ARN: expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE")]
    NotAnArn(String),
    /// The partition is not one of `aws`, `aws-cn`, `aws-us-gov`.
    #[error("unknown partition `{0}` in the ARN; expected aws, aws-cn or aws-us-gov")]
    UnknownPartition(String),
    /// The ARN is of another service.
    #[error("the ARN is of service `{found}`, expected `{expected}`")]
    WrongService {
        /// The service this kind of ARN must name.
        expected: &'static str,
        /// The service it names.
        found: String,
    },
    /// The region is malformed, or missing where one is needed.
    #[error("`{0}` is not a region (expected something like us-east-1)")]
    BadRegion(String),
    /// The region belongs to another partition than the ARN names.
    #[error("region `{region}` is not in partition `{partition}`")]
    RegionOutsidePartition {
        /// The region.
        region: String,
        /// The ARN's partition.
        partition: Partition,
    },
    /// A global resource (an IAM role) names a region.
    #[error("an IAM role ARN has no region, found `{0}`")]
    UnexpectedRegion(String),
    /// The account is not 12 digits.
    #[error("`{0}` is not an account id (12 digits)")]
    BadAccount(String),
    /// The resource part is not of the expected type.
    #[error("the ARN's resource `{found}` is not a {expected}")]
    WrongResource {
        /// What was expected (`secret:NAME`, `role/NAME`).
        expected: &'static str,
        /// The resource part as written.
        found: String,
    },
    /// The resource name is empty or has characters AWS does not allow.
    #[error("`{0}` is not a valid name for this resource")]
    BadName(String),
}

/// The six parts of any ARN.
struct Parts<'a> {
    partition: Partition,
    service: &'a str,
    region: &'a str,
    account: &'a str,
    resource: &'a str,
}

fn split(text: &str) -> Result<Parts<'_>, ArnError> {
    let mut it = text.splitn(6, ':');
    let (Some("arn"), Some(p), Some(service), Some(region), Some(account), Some(resource)) = (
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
    ) else {
        return Err(ArnError::NotAnArn(text.to_owned()));
    };
    let partition = Partition::parse(p).ok_or_else(|| ArnError::UnknownPartition(p.to_owned()))?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ArnError::BadAccount(account.to_owned()));
    }
    Ok(Parts {
        partition,
        service,
        region,
        account,
        resource,
    })
}

/// The ARN of a Secrets Manager secret. Its region and partition decide where the request
/// goes and which region it is signed for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SecretArn {
    text: String,
    partition: Partition,
    region: String,
    account: String,
    name: String,
}

impl SecretArn {
    /// Parses and checks a secret ARN.
    pub fn parse(text: &str) -> Result<Self, ArnError> {
        let text = text.trim();
        let parts = split(text)?;
        if parts.service != "secretsmanager" {
            return Err(ArnError::WrongService {
                expected: "secretsmanager",
                found: parts.service.to_owned(),
            });
        }
        if !is_valid_region(parts.region) {
            return Err(ArnError::BadRegion(parts.region.to_owned()));
        }
        if Partition::of_region(parts.region) != parts.partition {
            return Err(ArnError::RegionOutsidePartition {
                region: parts.region.to_owned(),
                partition: parts.partition,
            });
        }
        let name =
            parts
                .resource
                .strip_prefix("secret:")
                .ok_or_else(|| ArnError::WrongResource {
                    expected: "secret (secret:NAME)",
                    found: parts.resource.to_owned(),
                })?;
        // Secret names: 1-512 of letters, digits and /_+=.@-
        let name_ok = !name.is_empty()
            && name.len() <= 512
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b));
        if !name_ok {
            return Err(ArnError::BadName(name.to_owned()));
        }
        Ok(SecretArn {
            text: text.to_owned(),
            partition: parts.partition,
            region: parts.region.to_owned(),
            account: parts.account.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The whole ARN.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The partition.
    pub fn partition(&self) -> Partition {
        self.partition
    }

    /// The region the secret lives in.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The account that owns the secret.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The resource name after `secret:`, including the random suffix AWS appends
    /// (`app/db-AbCdEf`). Used in messages: it names the secret, never its value.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl FromStr for SecretArn {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SecretArn::parse(s)
    }
}

impl fmt::Display for SecretArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The ARN of an IAM role to assume with STS AssumeRole.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoleArn {
    text: String,
    partition: Partition,
    account: String,
    name: String,
}

impl RoleArn {
    /// Parses and checks a role ARN.
    pub fn parse(text: &str) -> Result<Self, ArnError> {
        let text = text.trim();
        let parts = split(text)?;
        if parts.service != "iam" {
            return Err(ArnError::WrongService {
                expected: "iam",
                found: parts.service.to_owned(),
            });
        }
        if !parts.region.is_empty() {
            return Err(ArnError::UnexpectedRegion(parts.region.to_owned()));
        }
        let path_and_name =
            parts
                .resource
                .strip_prefix("role/")
                .ok_or_else(|| ArnError::WrongResource {
                    expected: "role (role/NAME)",
                    found: parts.resource.to_owned(),
                })?;
        let name = path_and_name.rsplit('/').next().unwrap_or_default();
        // Role names: 1-64 of letters, digits and +=,.@_-
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
        if !name_ok {
            return Err(ArnError::BadName(path_and_name.to_owned()));
        }
        Ok(RoleArn {
            text: text.to_owned(),
            partition: parts.partition,
            account: parts.account.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The whole ARN.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The partition.
    pub fn partition(&self) -> Partition {
        self.partition
    }

    /// The account that owns the role.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The role's name (without its path).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl FromStr for RoleArn {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RoleArn::parse(s)
    }
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf";

    #[test]
    fn secret_arn_parts() {
        let a = SecretArn::parse(ARN).unwrap();
        assert_eq!(a.partition(), Partition::Aws);
        assert_eq!(a.region(), "us-east-1");
        assert_eq!(a.account(), "123456789012");
        assert_eq!(a.name(), "app/db-AbCdEf");
        assert_eq!(a.to_string(), ARN);
        let cn =
            SecretArn::parse("arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x").unwrap();
        assert_eq!(cn.partition(), Partition::AwsCn);
        let gov =
            SecretArn::parse("arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x")
                .unwrap();
        assert_eq!(gov.region(), "us-gov-west-1");
    }

    #[test]
    fn secret_arn_errors_say_what_is_wrong() {
        let cases: [(&str, ArnError); 8] = [
            ("app/db", ArnError::NotAnArn("app/db".into())),
            (
                "arn:aws-iso:secretsmanager:us-east-1:123456789012:secret:x",
                ArnError::UnknownPartition("aws-iso".into()),
            ),
            (
                "arn:aws:ssm:us-east-1:123456789012:parameter/x",
                ArnError::WrongService {
                    expected: "secretsmanager",
                    found: "ssm".into(),
                },
            ),
            (
                "arn:aws:secretsmanager::123456789012:secret:x",
                ArnError::BadRegion("".into()),
            ),
            (
                "arn:aws:secretsmanager:cn-north-1:123456789012:secret:x",
                ArnError::RegionOutsidePartition {
                    region: "cn-north-1".into(),
                    partition: Partition::Aws,
                },
            ),
            (
                "arn:aws:secretsmanager:us-east-1:1234:secret:x",
                ArnError::BadAccount("1234".into()),
            ),
            (
                "arn:aws:secretsmanager:us-east-1:123456789012:key:x",
                ArnError::WrongResource {
                    expected: "secret (secret:NAME)",
                    found: "key:x".into(),
                },
            ),
            (
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:a b",
                ArnError::BadName("a b".into()),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(SecretArn::parse(text).unwrap_err(), want, "{text}");
        }
        let msg = SecretArn::parse("arn:aws:secretsmanager:us-east-1:12:secret:x")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("12 digits"), "{msg}");
    }

    #[test]
    fn role_arn() {
        let r = RoleArn::parse("arn:aws:iam::123456789012:role/team/secrets-reader").unwrap();
        assert_eq!(r.name(), "secrets-reader");
        assert_eq!(r.account(), "123456789012");
        assert_eq!(
            RoleArn::parse("arn:aws:iam:us-east-1:123456789012:role/x").unwrap_err(),
            ArnError::UnexpectedRegion("us-east-1".into())
        );
        assert_eq!(
            RoleArn::parse("arn:aws:iam::123456789012:user/alice").unwrap_err(),
            ArnError::WrongResource {
                expected: "role (role/NAME)",
                found: "user/alice".into()
            }
        );
        assert!(matches!(
            RoleArn::parse("arn:aws:sts::123456789012:role/x").unwrap_err(),
            ArnError::WrongService { .. }
        ));
        assert_eq!(
            RoleArn::parse("arn:aws:iam::123456789012:role/").unwrap_err(),
            ArnError::BadName("".into())
        );
    }
}
