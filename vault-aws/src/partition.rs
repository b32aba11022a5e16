//! AWS partitions and regions: which DNS suffix and which signing region a call uses.
//!
//! The endpoint of a secret and the region its request is signed for come from the secret's
//! ARN, so a link alone says where to go: no per-secret region setting to keep in sync.

use std::fmt;

/// An AWS partition: a separate copy of AWS with its own accounts and endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Partition {
    /// The commercial regions (`aws`).
    Aws,
    /// The China regions (`aws-cn`).
    AwsCn,
    /// AWS GovCloud (US) (`aws-us-gov`).
    AwsUsGov,
}

impl Partition {
    /// Every supported partition, in the order they are listed in messages.
    pub const ALL: [Partition; 3] = [Partition::Aws, Partition::AwsCn, Partition::AwsUsGov];

    /// The partition's name as written in ARNs.
    pub fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }

    /// Parses a partition name as written in ARNs.
    pub fn parse(text: &str) -> Option<Partition> {
        Partition::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// The partition a region belongs to, from its name (`cn-north-1` is in `aws-cn`).
    pub fn of_region(region: &str) -> Partition {
        if region.starts_with("cn-") {
            Partition::AwsCn
        } else if region.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else {
            Partition::Aws
        }
    }

    /// The DNS suffix of the partition's service endpoints.
    pub fn dns_suffix(self) -> &'static str {
        match self {
            Partition::AwsCn => "amazonaws.com.cn",
            Partition::Aws | Partition::AwsUsGov => "amazonaws.com",
        }
    }

    /// IAM is global per partition: its one endpoint host and the region it is signed for.
    pub fn iam_endpoint(self) -> (&'static str, &'static str) {
        match self {
            Partition::Aws => ("iam.amazonaws.com", "us-east-1"),
            Partition::AwsCn => ("iam.cn-north-1.amazonaws.com.cn", "cn-north-1"),
            Partition::AwsUsGov => ("iam.us-gov.amazonaws.com", "us-gov-west-1"),
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `region` looks like an AWS region name: lower-case letters, digits and dashes, in
/// at least three dash-separated parts (`us-east-1`, `ap-southeast-2`, `us-gov-west-1`).
///
/// The list of regions grows, so this checks the shape, not membership: a new region works
/// without a new release, while a typo such as `us_east_1` or `US-EAST-1` is caught early.
pub fn is_valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    region.len() <= 32
        && parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_round_trip_and_come_from_regions() {
        for p in Partition::ALL {
            assert_eq!(Partition::parse(p.as_str()), Some(p));
        }
        assert_eq!(Partition::parse("aws-iso"), None);
        assert_eq!(Partition::of_region("eu-west-1"), Partition::Aws);
        assert_eq!(Partition::of_region("cn-northwest-1"), Partition::AwsCn);
        assert_eq!(Partition::of_region("us-gov-east-1"), Partition::AwsUsGov);
        assert_eq!(Partition::AwsCn.dns_suffix(), "amazonaws.com.cn");
    }

    #[test]
    fn region_shape() {
        for ok in [
            "us-east-1",
            "ap-southeast-2",
            "us-gov-west-1",
            "cn-north-1",
            "il-central-1",
        ] {
            assert!(is_valid_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "us_east_1",
            "us--1",
            "us-east-1a",
            "useast1",
        ] {
            assert!(!is_valid_region(bad), "{bad}");
        }
    }
}
