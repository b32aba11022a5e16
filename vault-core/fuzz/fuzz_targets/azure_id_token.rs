//! The ID token of an Azure browser sign-in: signature against a JWKS, then the claims
//! (nonce, audience, expiry, issuer per tenant kind). Never a panic, never the token in an
//! error; an accepted token is bound to its nonce and client. The first byte picks whether
//! the rest is the token text or its claims.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        vault_azure::fuzzing::claims(rest);
    } else if let Ok(text) = std::str::from_utf8(rest) {
        vault_azure::fuzzing::id_token(text);
    }
});
