//! The ID token's `nonce` and `aud`, checked after the browser sign-in.
//!
//! The authorization request carries a random nonce; the ID token issued for that request
//! must repeat it, which binds the tokens to this sign-in (a code injected from another
//! session brings another nonce). The ID token comes straight from the token endpoint, so
//! its signature is not checked here (OpenID Connect Core §3.1.3.7: TLS server validation
//! may stand in for it); Key Vault checks the access token's signature itself.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use vault_core::{Error, ErrorKind, ProviderId};

use crate::PROVIDER_ID;

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
}

fn refused(why: &str) -> Error {
    Error::new(
        ErrorKind::AuthFailed,
        format!("the ID token of the sign-in {why}"),
    )
    .with_provider(ProviderId::from_static(PROVIDER_ID))
}

/// Checks that `id_token` repeats `nonce` and is meant for `client_id`.
pub(crate) fn check_id_token(id_token: &str, nonce: &str, client_id: &str) -> Result<(), Error> {
    let payload = id_token
        .split('.')
        .nth(1)
        .ok_or_else(|| refused("is not a JWT"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| refused("is not a JWT"))?;
    let claims: Claims = serde_json::from_slice(&bytes).map_err(|_| refused("is not a JWT"))?;
    if claims.nonce.as_deref() != Some(nonce) {
        return Err(refused("does not carry this sign-in's nonce"));
    }
    let for_us = match claims.aud {
        Some(Audience::One(a)) => a == client_id,
        Some(Audience::Many(a)) => a.iter().any(|a| a == client_id),
        None => false,
    };
    if !for_us {
        return Err(refused("was issued to another application"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: serde_json::Value) -> String {
        let enc = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.sig",
            enc(br#"{"alg":"RS256","typ":"JWT"}"#),
            enc(claims.to_string().as_bytes())
        )
    }

    #[test]
    fn nonce_and_audience_must_match() {
        let ok = jwt(serde_json::json!({"nonce": "n1", "aud": "app"}));
        assert!(check_id_token(&ok, "n1", "app").is_ok());
        let many = jwt(serde_json::json!({"nonce": "n1", "aud": ["x", "app"]}));
        assert!(check_id_token(&many, "n1", "app").is_ok());
        let e = check_id_token(&ok, "n2", "app").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthFailed);
        assert!(e.message().contains("nonce"));
        assert!(check_id_token(&ok, "n1", "other").is_err());
        assert!(check_id_token(&jwt(serde_json::json!({"aud": "app"})), "n1", "app").is_err());
        assert!(check_id_token("garbage", "n1", "app").is_err());
        assert!(check_id_token("a.!!!.c", "n1", "app").is_err());
    }
}
