//! What this provider keeps in a [`SessionStore`](vault_core::SessionStore): one JSON record
//! per identity (`StoreKey::new(aws, identity)`, the identity being `profile:NAME`,
//! `key:ACCESS_KEY_ID`, `web-identity:ROLE_ARN`, `container` or `imds`, plus `|mfa:SERIAL` when
//! the integration names a device; never a secret):
//!
//! ```json
//! {"v": 1,
//!  "mfa": {"serial": "arn:aws:iam::123456789012:mfa/alice"},   // discovery's answer (null: none)
//!  "session": {"id": "ASIA…", "secret": "…", "token": "…", "expires": "RFC 3339"},
//!  "roles": {"arn:aws:iam::123456789012:role/reader": {…same shape…}}}
//! ```
//!
//! Only temporary credentials with an end time are kept (an MFA session, a profile's role,
//! a link's role, …): long-lived keys stay where the user put them. A record that cannot be
//! read is ignored (and replaced by the next save).

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::credentials::Credentials;

/// One set of temporary credentials.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredCreds {
    id: String,
    secret: Zeroizing<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<Zeroizing<String>>,
    expires: String,
}

impl StoredCreds {
    /// Temporary credentials with an end time; `None` for others.
    pub fn from(c: &Credentials) -> Option<Self> {
        let expires = c.expires()?.format(&Rfc3339).ok()?;
        c.has_session_token().then(|| StoredCreds {
            id: c.access_key_id().to_owned(),
            secret: Zeroizing::new(c.secret_access_key().to_owned()),
            token: c.session_token().map(|t| Zeroizing::new(t.to_owned())),
            expires,
        })
    }

    /// The credentials, if they are still good at `now` with `margin` to spare.
    pub fn usable(&self, now: OffsetDateTime, margin: time::Duration) -> Option<Credentials> {
        let expires = OffsetDateTime::parse(&self.expires, &Rfc3339).ok()?;
        if expires - margin <= now {
            return None;
        }
        let mut c = Credentials::new(self.id.clone(), self.secret.as_str()).with_expiry(expires);
        if let Some(t) = &self.token {
            c = c.with_session_token(t.as_str());
        }
        Some(c)
    }
}

/// MFA discovery's answer for an identity.
#[derive(Serialize, Deserialize, Clone)]
pub(crate) struct MfaKnown {
    pub serial: Option<String>,
}

/// The record.
#[derive(Serialize, Deserialize, Default)]
pub(crate) struct Record {
    v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<MfaKnown>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<StoredCreds>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, StoredCreds>,
}

impl Record {
    /// Parses a stored record; `None` for one this version cannot read.
    pub fn parse(text: &SecretString) -> Option<Record> {
        let r: Record = serde_json::from_str(text.expose_secret()).ok()?;
        (r.v == 1).then_some(r)
    }

    /// The record as stored.
    pub fn to_secret(&self) -> SecretString {
        let text = Zeroizing::new(
            serde_json::to_string(&SerRef {
                v: 1,
                mfa: &self.mfa,
                session: &self.session,
                roles: &self.roles,
            })
            .unwrap_or_default(),
        );
        SecretString::from(text.as_str())
    }
}

#[derive(Serialize)]
struct SerRef<'a> {
    v: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa: &'a Option<MfaKnown>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: &'a Option<StoredCreds>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    roles: &'a BTreeMap<String, StoredCreds>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_expiry() {
        let t0 = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let c = Credentials::new("ASIAEXAMPLE00000", "sec")
            .with_session_token("tok")
            .with_expiry(t0 + time::Duration::hours(1));
        let r = Record {
            session: StoredCreds::from(&c),
            mfa: Some(MfaKnown { serial: None }),
            ..Record::default()
        };
        let back = Record::parse(&r.to_secret()).unwrap();
        let s = back.session.unwrap();
        assert_eq!(
            s.usable(t0, time::Duration::minutes(1))
                .unwrap()
                .access_key_id(),
            "ASIAEXAMPLE00000"
        );
        assert!(s
            .usable(t0 + time::Duration::hours(1), time::Duration::ZERO)
            .is_none());
        assert!(StoredCreds::from(&Credentials::new("AKIA", "s")).is_none());
        assert!(Record::parse(&SecretString::from("{\"v\":2}")).is_none());
        assert!(Record::parse(&SecretString::from("junk")).is_none());
    }
}
