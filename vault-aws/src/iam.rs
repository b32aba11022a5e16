//! IAM ListMFADevices: which MFA devices a user has, to ask for a code when MFA is not named
//! in the config.

use serde::Deserialize;
use vault_core::Error;

use crate::credentials::Credentials;
use crate::endpoint::{Endpoint, Service};
use crate::query;
use crate::transport::Transport;

const VERSION: &str = "2010-05-08";

#[derive(Deserialize)]
struct ListMfaDevicesResponse {
    #[serde(rename = "ListMFADevicesResult")]
    result: ListMfaDevicesResult,
}

#[derive(Deserialize)]
struct ListMfaDevicesResult {
    #[serde(rename = "MFADevices", default)]
    devices: Members,
}

#[derive(Deserialize, Default)]
struct Members {
    #[serde(rename = "member", default)]
    member: Vec<Device>,
}

#[derive(Deserialize)]
struct Device {
    #[serde(rename = "SerialNumber")]
    serial_number: String,
}

/// The serial numbers (ARNs for virtual devices) of `user`'s MFA devices. The user name is
/// always sent: moto, unlike AWS, does not default it to the caller.
pub(crate) async fn list_mfa_devices(
    transport: &Transport,
    endpoint: &Endpoint,
    creds: &Credentials,
    user: &str,
) -> Result<Vec<String>, Error> {
    let r: ListMfaDevicesResponse = query::call(
        transport,
        endpoint,
        Service::Iam,
        VERSION,
        "ListMFADevices",
        &[("UserName", user)],
        creds,
    )
    .await?;
    Ok(r.result
        .devices
        .member
        .into_iter()
        .map(|d| d.serial_number)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_devices_and_none() {
        let xml = r#"<ListMFADevicesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ListMFADevicesResult>
    <MFADevices>
      <member><UserName>alice</UserName><SerialNumber>arn:aws:iam::123456789012:mfa/alice-mfa</SerialNumber><EnableDate>2026-11-28T02:00:00Z</EnableDate></member>
      <member><UserName>alice</UserName><SerialNumber>GAHT12345678</SerialNumber></member>
    </MFADevices>
    <IsTruncated>false</IsTruncated>
  </ListMFADevicesResult>
</ListMFADevicesResponse>"#;
        let r: ListMfaDevicesResponse = quick_xml::de::from_str(xml).unwrap();
        let serials: Vec<_> = r
            .result
            .devices
            .member
            .iter()
            .map(|d| d.serial_number.as_str())
            .collect();
        assert_eq!(
            serials,
            ["arn:aws:iam::123456789012:mfa/alice-mfa", "GAHT12345678"]
        );
        let none = r#"<ListMFADevicesResponse><ListMFADevicesResult><MFADevices/><IsTruncated>false</IsTruncated></ListMFADevicesResult></ListMFADevicesResponse>"#;
        let r: ListMfaDevicesResponse = quick_xml::de::from_str(none).unwrap();
        assert!(r.result.devices.member.is_empty());
    }
}
