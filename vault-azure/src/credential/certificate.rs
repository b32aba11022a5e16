//! A service principal's certificate (`AZURE_CLIENT_CERTIFICATE_PATH`, PEM or PKCS#12 with
//! `AZURE_CLIENT_CERTIFICATE_PASSWORD`): a client assertion (RFC 7523) signed with its key.
//!
//! The assertion follows Microsoft's "certificate credentials" reference: header `alg`
//! PS256, `typ` JWT and `x5t#S256` (base64url SHA-256 thumbprint of the certificate's DER,
//! which tells Entra which registered certificate to check against); claims `aud` = the
//! token endpoint, `iss` = `sub` = the client id, a random `jti`, `nbf`/`iat` = now, `exp`
//! ten minutes later. A fresh assertion is signed for every token request and sent once.

use std::path::PathBuf;

use async_trait::async_trait;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use rand::RngCore;
use secrecy::SecretString;
use serde::Serialize;
use vault_core::{Error, ErrorKind, ProviderId};

use super::cert_file::CertificateKey;
use super::{client_assertion, Answer, TokenSource};
use crate::oauth_context::OAuthContext;
use crate::PROVIDER_ID;

/// How long a signed assertion is valid.
const ASSERTION_LIFETIME: i64 = 600;

/// A certificate loaded from its file (once, when the provider is built).
pub(crate) struct Certificate {
    pub key: CertificateKey,
}

impl Certificate {
    /// Reads and parses the file; errors name the path and the problem.
    pub(crate) fn load(path: PathBuf, password: Option<&SecretString>) -> Result<Self, String> {
        let bytes = zeroize::Zeroizing::new(
            std::fs::read(&path)
                .map_err(|e| format!("cannot read the certificate `{}`: {e}", path.display()))?,
        );
        let key = CertificateKey::parse(&bytes, password)
            .map_err(|e| format!("certificate `{}`: {e}", path.display()))?;
        // Signing once proves the key is usable now, not at the first token request.
        EncodingKey::from_rsa_der(key.pkcs1_der());
        Ok(Certificate { key })
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}

/// Signs a client assertion for `client_id` at `token_url`, at `now` (Unix seconds).
pub(crate) fn sign_assertion(
    key: &CertificateKey,
    client_id: &str,
    token_url: &str,
    now: i64,
) -> Result<SecretString, Error> {
    let mut header = Header::new(Algorithm::PS256);
    header.typ = Some("JWT".into());
    header.x5t_s256 = Some(key.thumbprint_s256());
    let mut jti = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut jti);
    let claims = Claims {
        aud: token_url,
        iss: client_id,
        sub: client_id,
        jti: jti.iter().map(|b| format!("{b:02x}")).collect(),
        nbf: now,
        iat: now,
        exp: now + ASSERTION_LIFETIME,
    };
    encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_der(key.pkcs1_der()),
    )
    .map(SecretString::from)
    .map_err(|_| {
        Error::new(
            ErrorKind::InvalidConfig,
            "the certificate's private key cannot sign (is it a valid RSA key?)",
        )
        .with_provider(ProviderId::from_static(PROVIDER_ID))
    })
}

#[async_trait]
impl TokenSource for Certificate {
    fn name(&self) -> &'static str {
        "certificate"
    }

    async fn token(&self, ctx: &OAuthContext<'_>) -> Result<Answer, Error> {
        if ctx.client_id.is_empty() || ctx.authority.is_multi_tenant() {
            return Ok(Answer::NotMine(
                "a certificate needs AZURE_CLIENT_ID and a concrete AZURE_TENANT_ID".into(),
            ));
        }
        let now = ctx.transport.clock().now().unix_timestamp();
        let assertion = sign_assertion(&self.key, ctx.client_id, &ctx.authority.token_url(), now)?;
        client_assertion::redeem(ctx, &assertion, true)
            .await
            .map(Answer::Token)
    }
}
