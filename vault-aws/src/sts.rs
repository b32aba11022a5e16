//! STS calls: who am I (GetCallerIdentity), an MFA session (GetSessionToken), a role's
//! credentials (AssumeRole).

use secrecy::SecretString;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vault_core::{Error, ErrorKind};

use crate::arn::RoleArn;
use crate::credentials::Credentials;
use crate::endpoint::{Endpoint, Service};
use crate::query;
use crate::transport::Transport;
use crate::PROVIDER_ID;

const VERSION: &str = "2011-06-15";

/// The session name AssumeRole records in CloudTrail.
pub const ROLE_SESSION_NAME: &str = "vault-aws";

#[derive(Deserialize)]
struct XmlCredentials {
    #[serde(rename = "AccessKeyId")]
    access_key_id: String,
    #[serde(rename = "SecretAccessKey")]
    secret_access_key: String,
    #[serde(rename = "SessionToken")]
    session_token: String,
    #[serde(rename = "Expiration")]
    expiration: String,
}

impl XmlCredentials {
    fn into_credentials(self, action: &str) -> Result<Credentials, Error> {
        let expires = OffsetDateTime::parse(self.expiration.trim(), &Rfc3339).map_err(|_| {
            Error::new(
                ErrorKind::InvalidResponse,
                format!("{action}: the credentials' Expiration is not an RFC 3339 time"),
            )
            .with_provider(PROVIDER_ID)
        })?;
        let secret = SecretString::from(self.secret_access_key);
        let token = SecretString::from(self.session_token);
        use secrecy::ExposeSecret;
        Ok(Credentials::new(self.access_key_id, secret.expose_secret())
            .with_session_token(token.expose_secret())
            .with_expiry(expires))
    }
}

/// Who the credentials belong to.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CallerIdentity {
    /// The caller's ARN (`arn:aws:iam::123456789012:user/alice`).
    #[serde(rename = "Arn")]
    pub arn: String,
    /// The account.
    #[serde(rename = "Account")]
    pub account: String,
}

impl CallerIdentity {
    /// The IAM user name, when the caller is an IAM user (not a role session or root).
    pub fn user_name(&self) -> Option<&str> {
        let resource = self.arn.splitn(6, ':').nth(5)?;
        let path = resource.strip_prefix("user/")?;
        path.rsplit('/').next().filter(|n| !n.is_empty())
    }
}

#[derive(Deserialize)]
struct GetCallerIdentityResponse {
    #[serde(rename = "GetCallerIdentityResult")]
    result: CallerIdentity,
}

#[derive(Deserialize)]
struct GetSessionTokenResponse {
    #[serde(rename = "GetSessionTokenResult")]
    result: CredentialsResult,
}

#[derive(Deserialize)]
struct CredentialsResult {
    #[serde(rename = "Credentials")]
    credentials: XmlCredentials,
}

#[derive(Deserialize)]
struct AssumeRoleResponse {
    #[serde(rename = "AssumeRoleResult")]
    result: CredentialsResult,
}

#[derive(Deserialize)]
struct AssumeRoleWithWebIdentityResponse {
    #[serde(rename = "AssumeRoleWithWebIdentityResult")]
    result: CredentialsResult,
}

/// The optional parameters of AssumeRole, as a profile gives them.
#[derive(Clone, Debug, Default)]
pub(crate) struct RoleOptions<'a> {
    /// `role_session_name` (default [`ROLE_SESSION_NAME`]).
    pub session_name: Option<&'a str>,
    /// `external_id`.
    pub external_id: Option<&'a str>,
    /// `duration_seconds`.
    pub duration_seconds: Option<u32>,
    /// `mfa_serial` and the code the user gave for it.
    pub mfa: Option<(&'a str, &'a str)>,
}

/// AssumeRoleWithWebIdentity: unsigned, the token file's content is the proof.
pub(crate) async fn assume_role_with_web_identity(
    transport: &Transport,
    endpoint: &Endpoint,
    role: &RoleArn,
    session_name: &str,
    token: &str,
) -> Result<Credentials, Error> {
    let params = [
        ("RoleArn", role.as_str()),
        ("RoleSessionName", session_name),
        ("WebIdentityToken", token),
    ];
    let r: AssumeRoleWithWebIdentityResponse = query::call_with(
        transport,
        endpoint,
        Service::Sts,
        VERSION,
        "AssumeRoleWithWebIdentity",
        &params,
        None,
    )
    .await
    .map_err(|e| {
        let message = format!("{} (role {})", e.message(), role);
        e.with_message(message).with_provider(PROVIDER_ID)
    })?;
    r.result
        .credentials
        .into_credentials("AssumeRoleWithWebIdentity")
}

/// GetCallerIdentity.
pub(crate) async fn get_caller_identity(
    transport: &Transport,
    endpoint: &Endpoint,
    creds: &Credentials,
) -> Result<CallerIdentity, Error> {
    let r: GetCallerIdentityResponse = query::call(
        transport,
        endpoint,
        Service::Sts,
        VERSION,
        "GetCallerIdentity",
        &[],
        creds,
    )
    .await?;
    Ok(r.result)
}

/// GetSessionToken with an MFA device and code.
pub(crate) async fn get_session_token(
    transport: &Transport,
    endpoint: &Endpoint,
    creds: &Credentials,
    serial: &str,
    code: &str,
    duration_seconds: Option<u32>,
) -> Result<Credentials, Error> {
    let duration = duration_seconds.map(|d| d.to_string());
    let mut params = vec![("SerialNumber", serial), ("TokenCode", code)];
    if let Some(d) = &duration {
        params.push(("DurationSeconds", d));
    }
    let r: GetSessionTokenResponse = query::call(
        transport,
        endpoint,
        Service::Sts,
        VERSION,
        "GetSessionToken",
        &params,
        creds,
    )
    .await?;
    r.result.credentials.into_credentials("GetSessionToken")
}

/// AssumeRole.
pub(crate) async fn assume_role(
    transport: &Transport,
    endpoint: &Endpoint,
    creds: &Credentials,
    role: &RoleArn,
    options: &RoleOptions<'_>,
) -> Result<Credentials, Error> {
    let duration = options.duration_seconds.map(|d| d.to_string());
    let mut params = vec![
        ("RoleArn", role.as_str()),
        (
            "RoleSessionName",
            options.session_name.unwrap_or(ROLE_SESSION_NAME),
        ),
    ];
    if let Some(d) = &duration {
        params.push(("DurationSeconds", d));
    }
    if let Some(x) = options.external_id {
        params.push(("ExternalId", x));
    }
    if let Some((serial, code)) = options.mfa {
        params.push(("SerialNumber", serial));
        params.push(("TokenCode", code));
    }
    let r: AssumeRoleResponse = query::call(
        transport,
        endpoint,
        Service::Sts,
        VERSION,
        "AssumeRole",
        &params,
        creds,
    )
    .await
    .map_err(|e| {
        let message = format!("{} (role {})", e.message(), role);
        e.with_message(message).with_provider(PROVIDER_ID)
    })?;
    r.result.credentials.into_credentials("AssumeRole")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_name_from_caller_arn() {
        let id = |arn: &str| CallerIdentity {
            arn: arn.into(),
            account: "123456789012".into(),
        };
        assert_eq!(
            id("arn:aws:iam::123456789012:user/alice").user_name(),
            Some("alice")
        );
        assert_eq!(
            id("arn:aws:iam::123456789012:user/team/bob").user_name(),
            Some("bob")
        );
        assert_eq!(
            id("arn:aws:sts::123456789012:assumed-role/r/s").user_name(),
            None
        );
        assert_eq!(id("arn:aws:iam::123456789012:root").user_name(), None);
    }

    #[test]
    fn parses_session_token_answer() {
        let xml = r#"<GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetSessionTokenResult>
    <Credentials>
      <SessionToken>tok</SessionToken>
      <SecretAccessKey>sec</SecretAccessKey>
      <Expiration>2011-07-11T19:55:29.611Z</Expiration>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
    </Credentials>
  </GetSessionTokenResult>
  <ResponseMetadata><RequestId>x</RequestId></ResponseMetadata>
</GetSessionTokenResponse>"#;
        let r: GetSessionTokenResponse = quick_xml::de::from_str(xml).unwrap();
        let c = r
            .result
            .credentials
            .into_credentials("GetSessionToken")
            .unwrap();
        assert_eq!(c.access_key_id(), "ASIAEXAMPLE");
        assert!(c.has_session_token());
        assert_eq!(c.expires().unwrap().unix_timestamp(), 1310414129);
    }

    #[test]
    fn bad_expiration_is_an_invalid_response() {
        let x = XmlCredentials {
            access_key_id: "A".into(),
            secret_access_key: "s".into(),
            session_token: "t".into(),
            expiration: "tomorrow".into(),
        };
        let e = x.into_credentials("AssumeRole").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    }
}
