//! Key Vault secret identifiers: parse or a typed error; a parsed identifier prints as an
//! identifier that parses to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_azure::SecretIdentifier;

fuzz_target!(|text: &str| {
    if let Ok(id) = SecretIdentifier::parse(text, &[]) {
        let again = SecretIdentifier::parse(&id.to_string(), &[]).expect("round trip");
        assert_eq!(id.to_string(), again.to_string());
    }
});
