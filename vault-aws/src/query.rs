//! The AWS query protocol (STS, IAM): a POST with a form body `Action=...&Version=...&...` and
//! an XML answer. POST rather than GET: the parameters (an MFA code among them) stay out of
//! URLs and logs, as the AWS SDKs do.

use serde::de::DeserializeOwned;
use vault_core::{Error, ErrorKind};
use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::endpoint::{Endpoint, Service};
use crate::transport::{Call, Transport};
use crate::PROVIDER_ID;

/// Sends one query-protocol action and parses its XML answer into `T`.
pub(crate) async fn call<T: DeserializeOwned>(
    transport: &Transport,
    endpoint: &Endpoint,
    service: Service,
    version: &str,
    action: &str,
    params: &[(&str, &str)],
    creds: &Credentials,
) -> Result<T, Error> {
    call_with(
        transport,
        endpoint,
        service,
        version,
        action,
        params,
        Some(creds),
    )
    .await
}

/// [`call`], unsigned when `creds` is `None` (AssumeRoleWithWebIdentity needs no keys).
pub(crate) async fn call_with<T: DeserializeOwned>(
    transport: &Transport,
    endpoint: &Endpoint,
    service: Service,
    version: &str,
    action: &str,
    params: &[(&str, &str)],
    creds: Option<&Credentials>,
) -> Result<T, Error> {
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action);
        form.append_pair("Version", version);
        for (k, v) in params {
            form.append_pair(k, v);
        }
        Zeroizing::new(form.finish().into_bytes())
    };
    let reply = transport
        .send(
            &Call {
                endpoint,
                service,
                headers: vec![(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
                )],
                body,
                what: action.to_owned(),
                idempotent: !params.iter().any(|(k, _)| *k == "TokenCode"),
            },
            creds,
        )
        .await?;
    let text = std::str::from_utf8(&reply.body).map_err(|_| invalid(action, "not UTF-8"))?;
    quick_xml::de::from_str(text).map_err(|e| invalid(action, &e.to_string()))
}

fn invalid(action: &str, why: &str) -> Error {
    // The parser's message names elements, not their text.
    Error::new(
        ErrorKind::InvalidResponse,
        format!("{action}: cannot read the answer: {why}"),
    )
    .with_provider(PROVIDER_ID)
}
