//! Secret and role ARNs: parse or a typed error; a parsed ARN prints as one that parses to
//! itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_aws::{RoleArn, SecretArn};

fuzz_target!(|text: &str| {
    if let Ok(arn) = SecretArn::parse(text) {
        let again = SecretArn::parse(&arn.to_string()).expect("round trip");
        assert_eq!(arn.to_string(), again.to_string());
    }
    if let Ok(arn) = RoleArn::parse(text) {
        let again = RoleArn::parse(&arn.to_string()).expect("round trip");
        assert_eq!(arn.to_string(), again.to_string());
    }
});
