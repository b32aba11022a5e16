//! Validation of the id_token from Vault's OIDC provider before it is used to log in:
//! signature against the provider's JWKS, issuer, audience (our client id), expiry (against
//! the injected clock) and the nonce of this sign-in. Vault's JWT auth checks the token again;
//! checking here too means a forged or replayed token is refused before it leaves the machine,
//! with an error that says which check failed.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use time::OffsetDateTime;
use url::Url;
use vault_core::{Error, ErrorKind};

use crate::http::{short, VaultApi};
use crate::PROVIDER_ID;

/// Clock skew tolerated on `exp`, in seconds. `iat` is not checked: a local clock running
/// behind would refuse fresh tokens, and the nonce already binds the token to this sign-in.
const LEEWAY: i64 = 60;

/// The claims this crate reads (others are ignored).
#[derive(Debug, Deserialize)]
pub(crate) struct IdClaims {
    /// The subject: the user's entity id (required; Vault's JWT role maps it to the user).
    #[allow(dead_code)]
    pub sub: String,
    exp: i64,
    nonce: Option<String>,
    /// One string (OIDC Core §2): jsonwebtoken's issuer check would also take an array
    /// holding ours among others.
    iss: String,
    /// One string or an array (jsonwebtoken checks that ours is in it).
    aud: serde_json::Value,
    /// The authorized party: must be us when present, and present when `aud` names others.
    azp: Option<String>,
}

fn err(message: impl Into<String>) -> Error {
    Error::new(
        ErrorKind::AuthFailed,
        format!("id_token rejected: {}", message.into()),
    )
    .with_provider(PROVIDER_ID)
}

/// `GET <jwks_uri>` (the provider's `.well-known/keys`).
pub(crate) async fn fetch_jwks(api: &VaultApi, jwks_uri: &Url) -> Result<JwkSet, Error> {
    let what = "read the OIDC provider's keys";
    let body = api
        .call(Method::GET, jwks_uri.clone(), None, None, what)
        .await?
        .ok(what)?;
    serde_json::from_value(body).map_err(|_| {
        Error::new(ErrorKind::InvalidResponse, format!("{what}: not a JWK set"))
            .with_provider(PROVIDER_ID)
    })
}

/// Checks `token` and returns its claims.
pub(crate) fn validate(
    token: &SecretString,
    jwks: &JwkSet,
    issuer: &str,
    client_id: &str,
    nonce: &SecretString,
    now: OffsetDateTime,
) -> Result<IdClaims, Error> {
    let token = token.expose_secret();
    let header = decode_header(token).map_err(|_| err("not a signed JWT"))?;
    let jwk = match &header.kid {
        Some(kid) => jwks
            .find(kid)
            .ok_or_else(|| err(format!("no key `{}` in the provider's JWKS", short(kid))))?,
        None if jwks.keys.len() == 1 => &jwks.keys[0],
        None => return Err(err("no `kid` in the header and several keys in the JWKS")),
    };
    if matches!(
        header.alg,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    ) {
        return Err(err("symmetric algorithms are not accepted"));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| err("the provider's key is not usable"))?;
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[issuer]);
    v.set_audience(&[client_id]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    // expiry is checked below against the injected clock, not the system's
    v.validate_exp = false;
    let data = decode::<IdClaims>(token, &key, &v).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind as J;
        err(match e.kind() {
            J::InvalidSignature => "bad signature".to_owned(),
            J::InvalidIssuer => format!("issuer is not `{issuer}`"),
            J::InvalidAudience => format!("audience is not the client id `{client_id}`"),
            J::InvalidAlgorithm => "algorithm does not match the key".to_owned(),
            J::MissingRequiredClaim(c) => format!("claim `{c}` is missing"),
            _ => "malformed".to_owned(),
        })
    })?;
    let claims = data.claims;
    if claims.iss != issuer {
        return Err(err(format!("issuer is not `{issuer}`")));
    }
    // OIDC Core §3.1.3.7: with other audiences beside us, the token must have been issued to
    // us (`azp`); an `azp` naming another client is refused in any case.
    let others = claims
        .aud
        .as_array()
        .is_some_and(|a| a.iter().any(|a| a.as_str() != Some(client_id)));
    match claims.azp.as_deref() {
        Some(azp) if azp != client_id => {
            return Err(err(format!(
                "issued to another client (azp is not `{client_id}`)"
            )))
        }
        None if others => {
            return Err(err("several audiences and no authorized party (azp)"));
        }
        _ => {}
    }
    if claims.exp.saturating_add(LEEWAY) <= now.unix_timestamp() {
        return Err(err("expired"));
    }
    if claims.nonce.as_deref() != Some(nonce.expose_secret()) {
        return Err(err("nonce does not match this sign-in"));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    const N: &str = include_str!("../testdata/test-rsa-key.n");
    const DER: &str = include_str!("../testdata/test-rsa-key.der.b64");
    const ISS: &str = "http://127.0.0.1:8200/v1/identity/oidc/provider/p";

    fn jwks() -> JwkSet {
        serde_json::from_value(json!({"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": N.trim(), "e": "AQAB"}]})).unwrap()
    }

    fn sign(claims: serde_json::Value, kid: &str) -> SecretString {
        let der = base64::engine::general_purpose::STANDARD
            .decode(DER.trim())
            .unwrap();
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(kid.into());
        SecretString::from(encode(&h, &claims, &EncodingKey::from_rsa_der(&der)).unwrap())
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn claims() -> serde_json::Value {
        json!({"iss": ISS, "aud": "cid", "sub": "entity-1", "nonce": "n1", "iat": 1_800_000_000, "exp": 1_800_001_800})
    }

    fn check(token: &SecretString) -> Result<IdClaims, Error> {
        validate(token, &jwks(), ISS, "cid", &SecretString::from("n1"), now())
    }

    #[test]
    fn accepts_a_good_token() {
        assert_eq!(check(&sign(claims(), "k1")).unwrap().sub, "entity-1");
    }

    #[test]
    fn issuer_and_audience_arrays_need_more_than_one_match() {
        // jsonwebtoken takes an `iss` array holding ours: one string is required here
        let mut c = claims();
        c["iss"] = json!([ISS, "http://evil/"]);
        assert!(check(&sign(c, "k1")).is_err());
        // several audiences: only with `azp` = us
        let mut c = claims();
        c["aud"] = json!(["cid", "other"]);
        let e = check(&sign(c.clone(), "k1")).unwrap_err();
        assert!(e.message().contains("azp"), "{e}");
        c["azp"] = json!("other");
        let e = check(&sign(c.clone(), "k1")).unwrap_err();
        assert!(e.message().contains("another client"), "{e}");
        c["azp"] = json!("cid");
        assert!(check(&sign(c, "k1")).is_ok());
        // one audience in an array is still one audience
        let mut c = claims();
        c["aud"] = json!(["cid"]);
        assert!(check(&sign(c, "k1")).is_ok());
    }

    #[test]
    fn each_check_is_named() {
        let cases = [
            ("iss", json!("http://evil/"), "issuer"),
            ("aud", json!("other"), "audience"),
            ("nonce", json!("n2"), "nonce"),
            ("exp", json!(1_799_990_000), "expired"),
        ];
        for (k, v, expect) in cases {
            let mut c = claims();
            c[k] = v;
            let e = check(&sign(c, "k1")).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AuthFailed);
            assert!(e.message().contains(expect), "{k}: {e}");
        }
        let e = check(&sign(claims(), "k2")).unwrap_err();
        assert!(e.message().contains("no key `k2`"), "{e}");
        let good = sign(claims(), "k1");
        let mut parts: Vec<String> = good.expose_secret().split('.').map(str::to_owned).collect();
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&json!({"iss": ISS, "aud": "cid", "sub": "admin", "nonce": "n1", "exp": 1_800_001_800})).unwrap());
        parts[1] = forged;
        let e = check(&SecretString::from(parts.join("."))).unwrap_err();
        assert!(e.message().contains("bad signature"), "{e}");
        let e = check(&SecretString::from("not-a-jwt")).unwrap_err();
        assert!(!e.message().contains("not-a-jwt"));
    }

    #[test]
    fn extreme_exp_does_not_overflow() {
        // `exp` near i64::MAX: saturates instead of overflowing, and is (far) in the future
        let mut c = claims();
        c["exp"] = json!(i64::MAX);
        assert!(check(&sign(c, "k1")).is_ok());
        let mut c = claims();
        c["exp"] = json!(i64::MIN);
        let e = check(&sign(c, "k1")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthFailed, "{e}");
    }

    #[test]
    fn a_hostile_kid_is_sanitized_in_the_error() {
        let kid = format!("evil\u{1b}[31m\n{}", "k".repeat(500));
        let e = check(&sign(claims(), &kid)).unwrap_err();
        assert!(
            !e.message().contains('\u{1b}') && !e.message().contains('\n'),
            "{e}"
        );
        assert!(e.message().chars().count() < 200, "{e}");
    }
}
