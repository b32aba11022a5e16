//! Request signing with AWS Signature Version 4, through `aws-sigv4`.
//!
//! The signer gets exactly the headers we send (host comes from the URL), so the canonical
//! request it signs is the one the server rebuilds. With temporary credentials it adds
//! `X-Amz-Security-Token`.

use std::time::SystemTime;

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use vault_core::{Error, ErrorKind};

use crate::credentials::Credentials;
use crate::PROVIDER_ID;

/// What to sign.
pub struct Signable<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Full URL.
    pub url: &'a str,
    /// Headers sent (besides host), lower-case names.
    pub headers: &'a [(&'a str, String)],
    /// The body.
    pub body: &'a [u8],
    /// The service name of the credential scope.
    pub service: &'a str,
    /// The region of the credential scope.
    pub region: &'a str,
}

/// Signs a request at `time` and returns the headers to add (`authorization`, `x-amz-date`,
/// and `x-amz-security-token` for temporary credentials).
pub fn sign_headers(
    req: &Signable<'_>,
    creds: &Credentials,
    time: SystemTime,
) -> Result<Vec<(&'static str, String)>, Error> {
    let failed = |what: &str| {
        Error::new(ErrorKind::Other, format!("cannot sign the request: {what}"))
            .with_provider(PROVIDER_ID)
    };
    let identity: Identity = creds.to_signing().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(req.region)
        .name(req.service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|_| failed("incomplete signing parameters"))?
        .into();
    let signable = SignableRequest::new(
        req.method,
        req.url,
        req.headers.iter().map(|(k, v)| (*k, v.as_str())),
        SignableBody::Bytes(req.body),
    )
    .map_err(|_| failed("the request is not signable"))?;
    // aws-sigv4 traces the canonical request, session token included, and (with
    // `LOG_SIGNABLE_BODY=true` in the environment) the body, which may hold an MFA code:
    // whatever subscriber the host installed, the signing runs with none.
    let signed =
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
            sign(signable, &params)
        });
    let (instructions, _signature) = signed.map_err(|_| failed("signing failed"))?.into_parts();
    let (headers, _params) = instructions.into_parts();
    Ok(headers
        .into_iter()
        .map(|h| (h.name(), h.value().to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn known_signature() {
        // The signature must depend only on the inputs: fixed time, fixed keys.
        let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        let headers = [
            ("content-type", "application/x-amz-json-1.1".to_owned()),
            ("x-amz-target", "secretsmanager.GetSecretValue".to_owned()),
        ];
        let req = Signable {
            method: "POST",
            url: "https://secretsmanager.us-east-1.amazonaws.com/",
            headers: &headers,
            body: br#"{"SecretId":"x"}"#,
            service: "secretsmanager",
            region: "us-east-1",
        };
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let a = sign_headers(&req, &creds, t).unwrap();
        let b = sign_headers(&req, &creds, t).unwrap();
        assert_eq!(a, b);
        let auth = &a.iter().find(|(k, _)| *k == "authorization").unwrap().1;
        assert!(auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/secretsmanager/aws4_request"
        ), "{auth}");
        assert!(
            auth.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target"),
            "{auth}"
        );
        assert!(!a.iter().any(|(k, _)| *k == "x-amz-security-token"));

        let temp = creds.with_session_token("token-1");
        let c = sign_headers(&req, &temp, t).unwrap();
        let token = c
            .iter()
            .find(|(k, _)| *k == "x-amz-security-token")
            .unwrap();
        assert_eq!(token.1, "token-1");
    }
}
