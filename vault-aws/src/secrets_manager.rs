//! Secrets Manager calls (JSON 1.1 protocol): GetSecretValue and DescribeSecret.
//!
//! `SecretString` is returned exactly as stored. `SecretBinary` (bytes, which AWS sends
//! base64-encoded) is returned as that **standard base64 text**: lossless for any bytes and
//! safe to put in a header or body; decode it if you need the bytes. The rule is the same for
//! every binary secret, so a value never changes shape with its content.

use std::collections::BTreeMap;

use base64::Engine;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use vault_core::{Error, ErrorKind, SecretDetails};
use zeroize::{Zeroize, Zeroizing};

use crate::arn::SecretArn;
use crate::credentials::Credentials;
use crate::endpoint::{Endpoint, Service};
use crate::transport::{Call, Transport};
use crate::version::{SecretVersion, AWSCURRENT};
use crate::PROVIDER_ID;

#[derive(Serialize)]
struct GetSecretValueRequest<'a> {
    #[serde(rename = "SecretId")]
    secret_id: &'a str,
    #[serde(rename = "VersionId", skip_serializing_if = "Option::is_none")]
    version_id: Option<&'a str>,
    #[serde(rename = "VersionStage", skip_serializing_if = "Option::is_none")]
    version_stage: Option<&'a str>,
}

/// The JSON body of a GetSecretValue call for a secret and optional version: the version rule
/// of [`SecretVersion`] decides `VersionId` or `VersionStage`.
pub fn get_secret_value_body(secret: &SecretArn, version: Option<&SecretVersion>) -> String {
    let (version_id, version_stage) = match version {
        Some(SecretVersion::Id(id)) => (Some(id.as_str()), None),
        Some(SecretVersion::Stage(s)) => (None, Some(s.as_str())),
        None => (None, None),
    };
    serde_json::to_string(&GetSecretValueRequest {
        secret_id: secret.as_str(),
        version_id,
        version_stage,
    })
    .unwrap_or_default()
}

#[derive(Deserialize)]
struct GetSecretValueResponse {
    #[serde(rename = "SecretString")]
    secret_string: Option<String>,
    #[serde(rename = "SecretBinary")]
    secret_binary: Option<String>,
}

impl Drop for GetSecretValueResponse {
    fn drop(&mut self) {
        self.secret_string.zeroize();
        self.secret_binary.zeroize();
    }
}

fn json_call<'a>(
    endpoint: &'a Endpoint,
    action: &str,
    body: String,
    secret: &SecretArn,
) -> Call<'a> {
    Call {
        endpoint,
        service: Service::SecretsManager,
        headers: vec![
            ("content-type", "application/x-amz-json-1.1".to_owned()),
            ("x-amz-target", format!("secretsmanager.{action}")),
        ],
        body: Zeroizing::new(body.into_bytes()),
        what: format!("{action} of {}", secret.name()),
        idempotent: true,
    }
}

fn invalid(action: &str, secret: &SecretArn, why: &str) -> Error {
    Error::new(
        ErrorKind::InvalidResponse,
        format!("{action} of {}: {why}", secret.name()),
    )
    .with_provider(PROVIDER_ID)
}

/// GetSecretValue: the value, as described in the module docs.
pub(crate) async fn get_secret_value(
    transport: &Transport,
    endpoint: &Endpoint,
    creds: &Credentials,
    secret: &SecretArn,
    version: Option<&SecretVersion>,
) -> Result<SecretString, Error> {
    let call = json_call(
        endpoint,
        "GetSecretValue",
        get_secret_value_body(secret, version),
        secret,
    );
    let reply = transport.send(&call, Some(creds)).await?;
    let mut r: GetSecretValueResponse = serde_json::from_slice(&reply.body).map_err(|_| {
        invalid(
            "GetSecretValue",
            secret,
            "the answer is not the expected JSON",
        )
    })?;
    if let Some(s) = r.secret_string.take() {
        return Ok(SecretString::from(s));
    }
    if let Some(b) = r.secret_binary.take() {
        let b = Zeroizing::new(b);
        // Check that it is base64 (and normalise nothing): the text is the value.
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .map_err(|_| invalid("GetSecretValue", secret, "SecretBinary is not base64"))?,
        );
        drop(decoded);
        return Ok(SecretString::from(b.as_str().to_owned()));
    }
    Err(invalid(
        "GetSecretValue",
        secret,
        "the answer has neither SecretString nor SecretBinary",
    ))
}

#[derive(Deserialize)]
struct DescribeSecretResponse {
    #[serde(rename = "ARN")]
    arn: Option<String>,
    #[serde(rename = "Name")]
    name: Option<String>,
    #[serde(rename = "Description")]
    description: Option<String>,
    #[serde(rename = "RotationEnabled")]
    rotation_enabled: Option<bool>,
    #[serde(rename = "CreatedDate")]
    created: Option<f64>,
    #[serde(rename = "LastChangedDate")]
    last_changed: Option<f64>,
    #[serde(rename = "LastAccessedDate")]
    last_accessed: Option<f64>,
    #[serde(rename = "DeletedDate")]
    deleted: Option<f64>,
    #[serde(rename = "VersionIdsToStages", default)]
    versions: BTreeMap<String, Vec<String>>,
}

fn epoch(t: Option<f64>) -> Option<OffsetDateTime> {
    let t = t?;
    OffsetDateTime::from_unix_timestamp_nanos((t * 1e9) as i128).ok()
}

/// DescribeSecret: name, ARN, versions and their stages, dates; never the value.
///
/// `version` is the version the link serves: for a stage, the version id that holds the stage
/// now. `enabled` is false for a secret scheduled for deletion (it cannot be read).
pub(crate) async fn describe_secret(
    transport: &Transport,
    endpoint: &Endpoint,
    creds: &Credentials,
    secret: &SecretArn,
    version: Option<&SecretVersion>,
) -> Result<SecretDetails, Error> {
    let body = serde_json::json!({ "SecretId": secret.as_str() }).to_string();
    let call = json_call(endpoint, "DescribeSecret", body, secret);
    let reply = transport.send(&call, Some(creds)).await?;
    let r: DescribeSecretResponse = serde_json::from_slice(&reply.body).map_err(|_| {
        invalid(
            "DescribeSecret",
            secret,
            "the answer is not the expected JSON",
        )
    })?;
    Ok(details(secret, version, r))
}

fn details(
    secret: &SecretArn,
    version: Option<&SecretVersion>,
    r: DescribeSecretResponse,
) -> SecretDetails {
    let mut d = SecretDetails::new(r.arn.unwrap_or_else(|| secret.to_string()));
    d.name = r.name;
    d.created = epoch(r.created);
    d.updated = epoch(r.last_changed);
    d.enabled = Some(r.deleted.is_none());
    let stage = match version {
        Some(SecretVersion::Id(id)) => {
            d.version = Some(id.clone());
            None
        }
        Some(SecretVersion::Stage(s)) => Some(s.as_str()),
        None => Some(AWSCURRENT),
    };
    if let Some(stage) = stage {
        d.version = r
            .versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == stage))
            .map(|(id, _)| id.clone());
        d.extra.push(("stage".into(), stage.to_owned()));
    }
    for (id, stages) in &r.versions {
        d.extra.push((format!("version {id}"), stages.join(", ")));
    }
    if let Some(desc) = r.description.filter(|s| !s.is_empty()) {
        d.extra.push(("description".into(), desc));
    }
    if let Some(rot) = r.rotation_enabled {
        d.extra.push(("rotation enabled".into(), rot.to_string()));
    }
    if let Some(t) = epoch(r.last_accessed) {
        d.extra.push(("last accessed".into(), t.date().to_string()));
    }
    if let Some(t) = epoch(r.deleted) {
        d.extra
            .push(("scheduled for deletion".into(), t.to_string()));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn() -> SecretArn {
        SecretArn::parse("arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf")
            .unwrap()
    }

    #[test]
    fn version_rule_in_the_body() {
        assert_eq!(
            get_secret_value_body(&arn(), None),
            r#"{"SecretId":"arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf"}"#
        );
        let id = SecretVersion::parse("11111111-1111-4111-8111-111111111111").unwrap();
        assert!(get_secret_value_body(&arn(), Some(&id))
            .ends_with(r#","VersionId":"11111111-1111-4111-8111-111111111111"}"#));
        let stage = SecretVersion::parse("AWSPREVIOUS").unwrap();
        assert!(get_secret_value_body(&arn(), Some(&stage))
            .ends_with(r#","VersionStage":"AWSPREVIOUS"}"#));
    }

    #[test]
    fn describe_maps_stages_and_dates() {
        let r: DescribeSecretResponse = serde_json::from_str(
            r#"{"ARN":"arn:x","Name":"app/db","CreatedDate":1700000000.5,"LastChangedDate":1700000100,
               "VersionIdsToStages":{"v1":["AWSPREVIOUS"],"v2":["AWSCURRENT","blue"]}}"#,
        )
        .unwrap();
        let d = details(&arn(), None, r);
        assert_eq!(d.id, "arn:x");
        assert_eq!(d.name.as_deref(), Some("app/db"));
        assert_eq!(d.version.as_deref(), Some("v2"));
        assert_eq!(d.enabled, Some(true));
        assert_eq!(d.created.unwrap().unix_timestamp(), 1700000000);
        assert!(d
            .extra
            .contains(&("version v2".to_owned(), "AWSCURRENT, blue".to_owned())));
        let r: DescribeSecretResponse = serde_json::from_str(
            r#"{"Name":"app/db","DeletedDate":1700000000,"VersionIdsToStages":{"v1":["AWSPREVIOUS"]}}"#,
        )
        .unwrap();
        let prev = SecretVersion::parse("AWSPREVIOUS").unwrap();
        let d = details(&arn(), Some(&prev), r);
        assert_eq!(d.version.as_deref(), Some("v1"));
        assert_eq!(d.enabled, Some(false));
        assert_eq!(d.id, arn().to_string());
    }
}
