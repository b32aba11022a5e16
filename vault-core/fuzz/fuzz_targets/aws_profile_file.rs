//! The AWS shared credentials/config file grammar: any text is a file or a typed error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_aws::ProfileFile;

fuzz_target!(|text: &str| {
    if let Ok(file) = ProfileFile::parse(text) {
        for name in file.names() {
            let profile = file.profile(name).expect("a listed profile exists");
            let _ = profile.credentials();
        }
    }
});
