//! The OAuth loopback listener's request parsing: any request head is refused or read as a
//! callback, never a panic, and an OAuth error it reports holds no control character.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|head: &[u8]| {
    vault_core::loopback::fuzzing::request(head);
});
