//! Entry points for the fuzz targets in `vault-core/fuzz` (feature `fuzzing`); not an API.
//!
//! The id_token check is reached two ways: with the fuzzer's bytes as the token text (header,
//! base64, JSON and signature parsing), and with the fuzzer's bytes as the *claims* of a token
//! signed here with a throwaway P-256 key the JWKS publishes (so the claims parser and the
//! checks after the signature see arbitrary JSON, which a random token text never reaches).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey};
use secrecy::SecretString;
use std::sync::OnceLock;
use time::OffsetDateTime;

const ISSUER: &str = "http://127.0.0.1:8200/v1/identity/oidc/provider/p";
const CLIENT_ID: &str = "client-1";
const NONCE: &str = "n-0123456789";
const EC_DER: &str = include_str!("../testdata/fuzz-ec-key.der.b64");

struct Keys {
    jwks: JwkSet,
    signing: EncodingKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let jwks = serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "EC", "kid": "ec", "alg": "ES256", "use": "sig", "crv": "P-256",
             "x": "mA8loRP1qxUOlGWFG9Ry07NPcKhfab5wMrkWFeLP9NY",
             "y": "EhZN83v4tDtfg51ziZ3Jkkx6lZjfRMDEJgvGx5gnPps"},
            {"kty": "RSA", "kid": "rsa", "alg": "RS256", "use": "sig",
             "n": include_str!("../testdata/test-rsa-key.n").trim(), "e": "AQAB"}
        ]}))
        .expect("a valid JWK set");
        let der = STANDARD.decode(EC_DER.trim()).expect("base64 key");
        Keys {
            jwks,
            signing: EncodingKey::from_ec_der(&der),
        }
    })
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a valid time")
}

fn check(token: &str) {
    let secret = SecretString::from(token.to_owned());
    let nonce = SecretString::from(NONCE.to_owned());
    let jwks = &keys().jwks;
    match super::id_token::validate(&secret, jwks, ISSUER, CLIENT_ID, &nonce, now()) {
        // Accepted: the token is bound to this sign-in, this issuer and this client.
        Ok(_) => {
            let other = SecretString::from("another-nonce".to_owned());
            let v = super::id_token::validate;
            assert!(v(&secret, jwks, ISSUER, CLIENT_ID, &other, now()).is_err());
            assert!(v(
                &secret,
                jwks,
                "http://127.0.0.1:1/x",
                CLIENT_ID,
                &nonce,
                now()
            )
            .is_err());
            assert!(v(&secret, jwks, ISSUER, "client-2", &nonce, now()).is_err());
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.chars().any(char::is_control), "{text:?}");
            // A JWT-shaped token (short texts may be words of the message itself).
            if token.len() >= 16 && token.matches('.').count() == 2 {
                assert!(!text.contains(token), "the token is echoed: {text:?}");
            }
        }
    }
}

/// The fuzzer's text as an id_token.
pub fn id_token(text: &str) {
    check(text);
}

/// The fuzzer's bytes as the claims of an id_token signed with a key the JWKS publishes.
pub fn signed_claims(claims: &[u8]) {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"JWT","kid":"ec"}"#);
    let message = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims));
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &keys().signing, Algorithm::ES256)
            .expect("ES256 signing");
    check(&format!("{message}.{signature}"));
}
