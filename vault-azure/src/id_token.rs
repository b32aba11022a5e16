//! The ID token of the browser sign-in: its signature against the tenant's keys, then its
//! `nonce`, `aud`, `exp` and `iss`.
//!
//! The authorization request carries a random nonce; the ID token issued for that request
//! must repeat it, which binds the tokens to this sign-in (a code injected from another
//! session brings another nonce). The signature is verified with the tenant's published
//! keys (`<authority>/<tenant>/discovery/v2.0/keys`, fetched for each sign-in; the key is
//! picked by the header's `kid`; symmetric algorithms are refused), so a token endpoint
//! impostor that got past TLS (or a misconfigured authority) cannot hand over claims of its
//! own making.
//!
//! What is checked (OpenID Connect Core §3.1.3.7):
//!
//! - the signature, with a key of the tenant's JWKS;
//! - `nonce` equals the one sent;
//! - `aud` is (or contains) the client id;
//! - `exp` is present and not past, with [`EXP_LEEWAY`] for clock differences;
//! - `iss` is `<authority>/<tenant id>` (Entra's v2 issuer adds `/v2.0`; both shapes are
//!   accepted), at the authority's origin, or for Azure China at Entra's China issuer
//!   host `login.partner.microsoftonline.cn`. Which tenant id:
//!   - a tenant configured by its id (`tenant = "<GUID>"`): exactly that id;
//!   - a tenant configured by a domain (`contoso.com`): Entra's issuer names the tenant's
//!     GUID, which cannot be derived from the domain without a discovery call, so any GUID
//!     is accepted there;
//!   - `organizations` / `common`: the issuer carries the signed-in user's home tenant id,
//!     so any GUID is accepted; `consumers`: the Microsoft account tenant
//!     `9188040d-6c67-4c5b-b112-36a304b66dad`;
//!   - in every case, when the token has a `tid` claim, the issuer's tenant id must be it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use time::OffsetDateTime;
use vault_core::{Error, ErrorKind, ProviderId};

use crate::authority::Authority;
use crate::cloud::Cloud;
use crate::PROVIDER_ID;

/// How far past `exp` an ID token is still taken: clocks differ.
pub(crate) const EXP_LEEWAY: time::Duration = time::Duration::minutes(5);

/// The tenant id of personal Microsoft accounts (the `consumers` tenant).
const MSA_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// Entra's v2 issuer host of Azure China (its sign-in host is `login.chinacloudapi.cn`).
const CHINA_ISSUER_BASE: &str = "https://login.partner.microsoftonline.cn";

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
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    exp: Option<serde_json::Number>,
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    azp: Option<String>,
}

/// What the ID token of one sign-in must match.
pub(crate) struct Expected<'a> {
    /// The nonce sent in the authorization request.
    pub nonce: &'a str,
    /// The app's client id.
    pub client_id: &'a str,
    /// The authority (host and tenant) signed in to.
    pub authority: &'a Authority,
    /// The current time.
    pub now: OffsetDateTime,
}

fn refused(why: &str) -> Error {
    Error::new(
        ErrorKind::AuthFailed,
        format!("the ID token of the sign-in {why}"),
    )
    .with_provider(ProviderId::from_static(PROVIDER_ID))
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The tenant id named by `iss`, when `iss` is an issuer URL of `authority`'s cloud.
fn issuer_tenant<'i>(iss: &'i str, authority: &Authority) -> Option<&'i str> {
    let china = (authority.cloud() == Some(Cloud::China)).then_some(CHINA_ISSUER_BASE);
    let rest = [Some(authority.base()), china]
        .into_iter()
        .flatten()
        .find_map(|base| iss.strip_prefix(base)?.strip_prefix('/'))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let tenant = rest.strip_suffix("/v2.0").unwrap_or(rest);
    (!tenant.is_empty() && !tenant.contains(['/', '?', '#'])).then_some(tenant)
}

/// Whether `iss` is an issuer this sign-in may get an ID token from (see the module docs).
fn issuer_ok(iss: &str, tid: Option<&str>, authority: &Authority) -> bool {
    let Some(tenant) = issuer_tenant(iss, authority) else {
        return false;
    };
    if tid.is_some_and(|tid| !tid.eq_ignore_ascii_case(tenant)) {
        return false;
    }
    let configured = authority.tenant();
    if configured.eq_ignore_ascii_case("consumers") {
        tenant.eq_ignore_ascii_case(MSA_TENANT)
    } else if authority.is_multi_tenant() || configured.contains('.') {
        is_guid(tenant)
    } else {
        tenant.eq_ignore_ascii_case(configured)
    }
}

/// `GET` the tenant's JWKS.
pub(crate) async fn fetch_jwks(
    ctx: &crate::oauth_context::OAuthContext<'_>,
) -> Result<JwkSet, Error> {
    let url = ctx.authority.jwks_url();
    let what = "the tenant's signing keys";
    let reply = ctx
        .transport
        .send(what, || ctx.transport.client().get(&url))
        .await?;
    if !reply.status.is_success() {
        return Err(Error::new(
            ErrorKind::Unreachable,
            format!("{what}: HTTP {}", reply.status.as_u16()),
        )
        .with_provider(ProviderId::from_static(PROVIDER_ID)));
    }
    serde_json::from_slice(&reply.body).map_err(|_| {
        Error::new(ErrorKind::InvalidResponse, format!("{what}: not a JWK set"))
            .with_provider(ProviderId::from_static(PROVIDER_ID))
    })
}

/// Verifies the signature of `id_token` with the key of `jwks` its header names.
pub(crate) fn verify_signature(id_token: &str, jwks: &JwkSet) -> Result<(), Error> {
    let header = decode_header(id_token).map_err(|_| refused("is not a signed JWT"))?;
    if matches!(
        header.alg,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    ) {
        return Err(refused("uses a symmetric algorithm"));
    }
    let jwk = match &header.kid {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or_else(|| refused("is signed with a key the tenant does not publish"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| refused("names a key that cannot verify"))?;
    let mut v = Validation::new(header.alg);
    // The claims are checked by `check_id_token`, against the injected clock.
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    decode::<serde_json::Value>(id_token, &key, &v)
        .map(|_| ())
        .map_err(|_| refused("has a signature that does not verify with the tenant's keys"))
}

/// Checks the claims of `id_token` against `expected`: nonce, audience, expiry, issuer.
pub(crate) fn check_id_token(id_token: &str, expected: &Expected<'_>) -> Result<(), Error> {
    let payload = id_token
        .split('.')
        .nth(1)
        .ok_or_else(|| refused("is not a JWT"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| refused("is not a JWT"))?;
    let claims: Claims = serde_json::from_slice(&bytes).map_err(|_| refused("is not a JWT"))?;
    if claims.nonce.as_deref() != Some(expected.nonce) {
        return Err(refused("does not carry this sign-in's nonce"));
    }
    let for_us = match &claims.aud {
        Some(Audience::One(a)) => a == expected.client_id,
        Some(Audience::Many(a)) => a.iter().any(|a| a == expected.client_id),
        None => false,
    };
    if !for_us {
        return Err(refused("was issued to another application"));
    }
    // OIDC Core §3.1.3.7: with other audiences beside us, the token must have been issued to
    // us (`azp`); an `azp` naming another application is refused in any case.
    let others =
        matches!(&claims.aud, Some(Audience::Many(a)) if a.iter().any(|a| a != expected.client_id));
    match claims.azp.as_deref() {
        Some(azp) if azp != expected.client_id => {
            return Err(refused("was issued to another application (azp)"))
        }
        None if others => {
            return Err(refused(
                "names several audiences and no authorized party (azp)",
            ))
        }
        _ => {}
    }
    // NumericDate may be fractional or out of range: `as` saturates, never panics.
    let exp = claims
        .exp
        .as_ref()
        .and_then(|n| n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)))
        .ok_or_else(|| refused("has no expiry (exp)"))?;
    if exp.saturating_add(EXP_LEEWAY.whole_seconds()) < expected.now.unix_timestamp() {
        return Err(refused("has expired"));
    }
    let iss_ok = claims
        .iss
        .as_deref()
        .is_some_and(|iss| issuer_ok(iss, claims.tid.as_deref(), expected.authority));
    if !iss_ok {
        return Err(refused(&format!(
            "was not issued by the configured authority and tenant ({})",
            expected.authority.tenant()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;
    const GUID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn jwt(claims: serde_json::Value) -> String {
        let enc = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.sig",
            enc(br#"{"alg":"RS256","typ":"JWT"}"#),
            enc(claims.to_string().as_bytes())
        )
    }

    fn authority(tenant: &str) -> Authority {
        Authority::new("https://login.microsoftonline.com", tenant).unwrap()
    }

    fn check(
        claims: serde_json::Value,
        nonce: &str,
        client_id: &str,
        a: &Authority,
    ) -> Result<(), Error> {
        check_id_token(
            &jwt(claims),
            &Expected {
                nonce,
                client_id,
                authority: a,
                now: OffsetDateTime::from_unix_timestamp(NOW).unwrap(),
            },
        )
    }

    /// Valid claims for tenant `GUID`, with `extra` merged in (null removes a claim).
    fn claims(extra: serde_json::Value) -> serde_json::Value {
        let mut c = serde_json::json!({
            "nonce": "n1", "aud": "app", "exp": NOW + 3600,
            "iss": format!("https://login.microsoftonline.com/{GUID}/v2.0"), "tid": GUID
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    }

    #[test]
    fn the_signature_must_verify_with_a_published_key() {
        use jsonwebtoken::{encode, EncodingKey, Header};
        let der = base64::engine::general_purpose::STANDARD
            .decode(include_str!("../tests/testdata/test-rsa-key.der.b64").trim())
            .unwrap();
        let n = include_str!("../tests/testdata/test-rsa-key.n").trim();
        let jwks: JwkSet = serde_json::from_value(json!({"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": n, "e": "AQAB"}]})).unwrap();
        let sign = |kid: &str, claims: serde_json::Value| {
            let mut h = Header::new(Algorithm::RS256);
            h.kid = Some(kid.into());
            encode(&h, &claims, &EncodingKey::from_rsa_der(&der)).unwrap()
        };
        let good = sign("k1", claims(json!({})));
        assert!(verify_signature(&good, &jwks).is_ok());
        // Another kid, a changed payload, an unsigned token, a symmetric one: refused.
        let e = verify_signature(&sign("k2", claims(json!({}))), &jwks).unwrap_err();
        assert!(e.message().contains("does not publish"), "{e}");
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(claims(json!({"aud": "evil"})).to_string());
        let e = verify_signature(&parts.join("."), &jwks).unwrap_err();
        assert!(e.message().contains("does not verify"), "{e}");
        assert!(verify_signature(&jwt(claims(json!({}))), &jwks).is_err());
        let hs = encode(
            &Header::new(Algorithm::HS256),
            &claims(json!({})),
            &EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        assert!(verify_signature(&hs, &jwks)
            .unwrap_err()
            .message()
            .contains("symmetric"));
    }

    #[test]
    fn nonce_and_audience_must_match() {
        let a = authority(GUID);
        assert!(check(claims(json!({})), "n1", "app", &a).is_ok());
        // several audiences: only when issued to us (azp)
        let many = |azp: serde_json::Value| claims(json!({"aud": ["x", "app"], "azp": azp}));
        assert!(check(many(json!("app")), "n1", "app", &a).is_ok());
        let e = check(many(json!(null)), "n1", "app", &a).unwrap_err();
        assert!(e.message().contains("azp"), "{e}");
        assert!(check(many(json!("app")), "n1", "x", &a).is_err());
        assert!(check(claims(json!({"aud": ["app"]})), "n1", "app", &a).is_ok());
        let e = check(claims(json!({})), "n2", "app", &a).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthFailed);
        assert!(e.message().contains("nonce"));
        assert!(check(claims(json!({})), "n1", "other", &a).is_err());
        assert!(check(claims(json!({"nonce": null})), "n1", "app", &a).is_err());
        assert!(check(claims(json!({"aud": null})), "n1", "app", &a).is_err());
        let expected = Expected {
            nonce: "n1",
            client_id: "app",
            authority: &a,
            now: OffsetDateTime::from_unix_timestamp(NOW).unwrap(),
        };
        assert!(check_id_token("garbage", &expected).is_err());
        assert!(check_id_token("a.!!!.c", &expected).is_err());
    }

    #[test]
    fn expiry_is_checked_with_leeway() {
        let a = authority(GUID);
        let ok = |c| check(claims(c), "n1", "app", &a);
        // Within the leeway: still taken.
        assert!(ok(json!({"exp": NOW - 60})).is_ok());
        assert!(ok(json!({"exp": (NOW + 10) as f64 + 0.5})).is_ok());
        let e = ok(json!({"exp": NOW - 3600})).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthFailed);
        assert!(e.message().contains("expired"), "{e}");
        assert!(ok(json!({"exp": null}))
            .unwrap_err()
            .message()
            .contains("exp"));
        // Extremes neither panic nor pass when past.
        assert!(ok(json!({"exp": i64::MAX})).is_ok());
        assert!(ok(json!({"exp": u64::MAX})).is_ok());
        assert!(ok(json!({"exp": 1e300})).is_ok());
        assert!(ok(json!({"exp": i64::MIN})).is_err());
        assert!(ok(json!({"exp": -1e300})).is_err());
        assert!(ok(json!({"exp": "soon"})).is_err());
    }

    #[test]
    fn issuer_must_be_the_authority_and_tenant() {
        let other = "0f0f0f0f-1111-2222-3333-444444444444";
        // A tenant configured by id: exactly that tenant, at the authority's origin.
        let a = authority(GUID);
        let ok = |c| check(claims(c), "n1", "app", &a);
        assert!(ok(json!({})).is_ok());
        assert!(ok(json!({"iss": format!("https://login.microsoftonline.com/{GUID}")})).is_ok());
        assert!(ok(json!({"iss": format!("https://login.microsoftonline.com/{}/v2.0/", GUID.to_uppercase())})).is_ok());
        for bad in [
            format!("https://login.microsoftonline.com/{other}/v2.0"),
            format!("https://evil.example/{GUID}/v2.0"),
            format!("https://login.microsoftonline.com.evil.example/{GUID}/v2.0"),
            format!("http://login.microsoftonline.com/{GUID}/v2.0"),
            format!("https://login.microsoftonline.com/{GUID}/x/v2.0"),
            "https://login.microsoftonline.com/".to_owned(),
            "https://login.microsoftonline.com".to_owned(),
            String::new(),
        ] {
            let e = ok(json!({"iss": bad, "tid": null})).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AuthFailed, "{bad}");
            assert!(e.message().contains("authority"), "{e}");
        }
        assert!(ok(json!({"iss": null})).is_err());
        // The issuer's tenant must be the token's tid.
        assert!(ok(json!({"tid": other})).is_err());

        // organizations / common, and a domain: the user's tenant, any tenant id.
        for t in ["organizations", "common", "contoso.onmicrosoft.com"] {
            let a = authority(t);
            let c = |x| check(claims(x), "n1", "app", &a);
            assert!(c(json!({"iss": format!("https://login.microsoftonline.com/{other}/v2.0"), "tid": other})).is_ok(), "{t}");
            assert!(c(json!({"iss": format!("https://login.microsoftonline.com/{other}/v2.0"), "tid": GUID})).is_err(), "{t}");
            assert!(c(json!({"iss": format!("https://login.microsoftonline.com/{t}/v2.0"), "tid": null})).is_err(), "{t}");
            assert!(
                c(json!({"iss": format!("https://evil.example/{GUID}/v2.0")})).is_err(),
                "{t}"
            );
        }
        // consumers: the Microsoft account tenant only.
        let a = authority("consumers");
        let msa = format!("https://login.microsoftonline.com/{MSA_TENANT}/v2.0");
        assert!(check(
            claims(json!({"iss": msa, "tid": MSA_TENANT})),
            "n1",
            "app",
            &a
        )
        .is_ok());
        assert!(check(claims(json!({})), "n1", "app", &a).is_err());
        // Azure China: Entra's China issuer host.
        let a = Authority::new("https://login.chinacloudapi.cn", GUID).unwrap();
        let cn = format!("https://login.partner.microsoftonline.cn/{GUID}/v2.0");
        assert!(check(claims(json!({"iss": cn})), "n1", "app", &a).is_ok());
        assert!(check(claims(json!({})), "n1", "app", &a).is_err());
        // A local test authority (the oidc-provider peer's issuer shape).
        let a = Authority::new("http://127.0.0.1:18090", "test-tenant").unwrap();
        let c = |x| check(claims(x), "n1", "app", &a);
        assert!(c(json!({"iss": "http://127.0.0.1:18090/test-tenant", "tid": null})).is_ok());
        assert!(c(json!({"iss": "http://127.0.0.1:18090/other", "tid": null})).is_err());
        assert!(c(json!({"iss": "http://127.0.0.1:18091/test-tenant", "tid": null})).is_err());
    }
}
