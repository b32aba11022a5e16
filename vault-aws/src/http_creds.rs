//! The JSON that the container endpoint and instance metadata answer with:
//! `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}` (IMDS adds `"Code": "Success"`).

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vault_core::{Error, ErrorKind};
use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::PROVIDER_ID;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    #[serde(default)]
    code: Option<String>,
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    #[serde(default)]
    token: Option<Zeroizing<String>>,
    #[serde(default)]
    expiration: Option<String>,
}

/// Parses the credentials JSON of `what` (a call name for messages).
pub(crate) fn parse(body: &[u8], what: &str) -> Result<Credentials, Error> {
    let invalid = |why: &str| {
        Error::new(ErrorKind::InvalidResponse, format!("{what}: {why}")).with_provider(PROVIDER_ID)
    };
    let a: Answer = serde_json::from_slice(body)
        .map_err(|_| invalid("the answer is not the credentials JSON expected"))?;
    if let Some(code) = a.code.as_deref().filter(|c| *c != "Success") {
        let code: String = code
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(40)
            .collect();
        return Err(invalid(&format!("the answer's Code is `{code}`")));
    }
    let mut c = Credentials::new(a.access_key_id, a.secret_access_key.as_str());
    if let Some(t) = &a.token {
        c = c.with_session_token(t.as_str());
    }
    if let Some(exp) = &a.expiration {
        let t = OffsetDateTime::parse(exp.trim(), &Rfc3339)
            .map_err(|_| invalid("Expiration is not an RFC 3339 time"))?;
        c = c.with_expiry(t);
    }
    Ok(c)
}
