//! The id_token from Vault's OIDC provider: signature, issuer, audience, expiry, nonce. Never
//! a panic, never the token in an error; an accepted token is bound to its nonce, issuer and
//! client. The first byte picks whether the rest is the token text or the claims of a token
//! signed with a key the JWKS publishes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        vault_hashicorp::fuzzing::signed_claims(rest);
    } else if let Ok(text) = std::str::from_utf8(rest) {
        vault_hashicorp::fuzzing::id_token(text);
    }
});
