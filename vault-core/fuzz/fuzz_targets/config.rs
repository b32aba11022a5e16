//! The config loader: any text is a config or a positioned error, never a panic, and an
//! error never quotes a `value`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Err(e) = vault_core::Config::parse(text) {
        let shown = e.to_string();
        assert!(e.line() <= text.lines().count() + 1, "{shown}");
        assert!(!shown.contains("fuzz-canary-value"), "{shown}");
    }
});
