//! Entry points for the fuzz targets in `vault-core/fuzz` (feature `fuzzing`); not an API.
//!
//! The ID token is checked in two steps (signature, then claims); the fuzzer reaches both
//! with its bytes as the token text, and the claims step directly with its bytes as the
//! token's payload (a random token text rarely decodes to JSON).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use std::sync::OnceLock;
use time::OffsetDateTime;

use crate::authority::Authority;
use crate::id_token::{check_id_token, verify_signature, Expected};

const NONCE: &str = "n-0123456789";
const CLIENT_ID: &str = "app";

fn jwks() -> &'static JwkSet {
    static JWKS: OnceLock<JwkSet> = OnceLock::new();
    JWKS.get_or_init(|| {
        serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "EC", "kid": "ec", "alg": "ES256", "use": "sig", "crv": "P-256",
             "x": "mA8loRP1qxUOlGWFG9Ry07NPcKhfab5wMrkWFeLP9NY",
             "y": "EhZN83v4tDtfg51ziZ3Jkkx6lZjfRMDEJgvGx5gnPps"}
        ]}))
        .expect("a valid JWK set")
    })
}

/// The tenants whose issuer rules differ: an id, a domain, the multi-tenant ones.
fn authorities() -> &'static [Authority] {
    static ALL: OnceLock<Vec<Authority>> = OnceLock::new();
    ALL.get_or_init(|| {
        [
            (
                "https://login.microsoftonline.com",
                "72f988bf-86f1-41af-91ab-2d7cd011db47",
            ),
            ("https://login.microsoftonline.com", "contoso.com"),
            ("https://login.microsoftonline.com", "organizations"),
            ("https://login.microsoftonline.com", "consumers"),
            ("https://login.chinacloudapi.cn", "common"),
        ]
        .iter()
        .map(|(base, tenant)| Authority::new(base, tenant).expect("a valid authority"))
        .collect()
    })
}

fn assert_clean(e: &vault_core::Error, token: &str) {
    let text = e.to_string();
    assert!(!text.chars().any(char::is_control), "{text:?}");
    // A JWT-shaped token (short texts may be words of the message itself).
    if token.len() >= 16 && token.matches('.').count() == 2 {
        assert!(!text.contains(token), "the token is echoed: {text:?}");
    }
}

fn check_claims(token: &str) {
    for authority in authorities() {
        let expected = |nonce, client_id| Expected {
            nonce,
            client_id,
            authority,
            now: OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a valid time"),
        };
        match check_id_token(token, &expected(NONCE, CLIENT_ID)) {
            // Accepted: bound to this sign-in's nonce and this client.
            Ok(()) => {
                assert!(check_id_token(token, &expected("other", CLIENT_ID)).is_err());
                assert!(check_id_token(token, &expected(NONCE, "other-app")).is_err());
            }
            Err(e) => assert_clean(&e, token),
        }
    }
}

/// The fuzzer's text as an ID token: signature, then claims.
pub fn id_token(text: &str) {
    if let Err(e) = verify_signature(text, jwks()) {
        assert_clean(&e, text);
    }
    check_claims(text);
}

/// The fuzzer's bytes as the payload of an ID token, for the claims checks.
pub fn claims(payload: &[u8]) {
    let token = format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"JWT","kid":"ec"}"#),
        URL_SAFE_NO_PAD.encode(payload)
    );
    check_claims(&token);
}
