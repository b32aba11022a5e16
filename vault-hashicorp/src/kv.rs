//! KV secrets engines, v1 and v2: which version a mount is (asked once per mount, then
//! cached), the right read path, version pins, and errors that tell a missing path, a denied
//! path and a missing key apart.

use std::fmt;

use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use vault_core::{Error, ErrorKind};
use zeroize::Zeroize;

use crate::http::{scrub, short, vault_errors, VaultApi};
use crate::kv_link::KvLink;
use crate::PROVIDER_ID;

/// The version of a KV mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KvVersion {
    /// KV v1: `GET <mount>/<path>`, `.data` is the secret.
    V1,
    /// KV v2: `GET <mount>/data/<path>[?version=N]`, `.data.data` is the secret.
    V2,
}

impl KvVersion {
    /// `"1"` or `"2"` (as in the mount's `options.version`, the link's `kv_version`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "1" => Some(KvVersion::V1),
            "2" => Some(KvVersion::V2),
            _ => None,
        }
    }

    /// `1` or `2`.
    pub fn number(self) -> u8 {
        match self {
            KvVersion::V1 => 1,
            KvVersion::V2 => 2,
        }
    }
}

/// One read secret: its data (every key of the secret, values included). `Debug` names the
/// keys only, and what is left of the data is zeroized when the secret is dropped.
pub(crate) struct KvSecret {
    pub data: Map<String, Value>,
}

impl fmt::Debug for KvSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvSecret")
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .field("values", &"[redacted]")
            .finish()
    }
}

impl Drop for KvSecret {
    fn drop(&mut self) {
        scrub(Value::Object(std::mem::take(&mut self.data)));
    }
}

fn err(kind: ErrorKind, message: String) -> Error {
    Error::new(kind, message).with_provider(PROVIDER_ID)
}

/// Asks `sys/internal/ui/mounts/<mount>` (allowed by Vault's `default` policy) whether the
/// mount is KV v1 or v2. A 404 means a server too old for this endpoint: KV v1, as the Vault
/// CLI assumes.
/// Always asks: remembering the answer is [`crate::mount_memory`]'s job.
pub(crate) async fn lookup_version(
    api: &VaultApi,
    token: &SecretString,
    mount: &str,
) -> Result<KvVersion, Error> {
    let what = format!("detect the KV version of mount `{mount}`");
    let url = api.url(&format!("sys/internal/ui/mounts/{mount}"))?;
    let reply = api.call(Method::GET, url, Some(token), None, &what).await?;
    if reply.status.as_u16() == 404 {
        return Ok(KvVersion::V1);
    }
    let body = reply.ok(&what)?;
    let data = body.get("data").unwrap_or(&Value::Null);
    // an answer without a mount type is the server's fault, not the link's
    let Some(kind) = data.get("type").and_then(Value::as_str) else {
        return Err(err(
            ErrorKind::InvalidResponse,
            format!("{what}: the answer is not a mount description"),
        ));
    };
    if kind != "kv" && kind != "generic" {
        return Err(err(
            ErrorKind::InvalidLink,
            format!(
                "mount `{mount}` is a `{}` engine, not a KV secrets engine",
                short(kind)
            ),
        ));
    }
    let version = match data.pointer("/options/version").and_then(Value::as_str) {
        Some("2") => KvVersion::V2,
        _ => KvVersion::V1,
    };
    Ok(version)
}

/// Reads a secret: 404 is a missing path (or a deleted version), 403 a denied one.
pub(crate) async fn read(
    api: &VaultApi,
    token: &SecretString,
    version: KvVersion,
    link: &KvLink,
) -> Result<KvSecret, Error> {
    let shown = format!("{}/{}", link.engine, link.path);
    if version == KvVersion::V1 && link.version.is_some() {
        return Err(err(
            ErrorKind::InvalidLink,
            format!("`{shown}` is on a KV v1 mount, which has no versions: remove `version`"),
        ));
    }
    let mut url = match version {
        KvVersion::V1 => api.url(&format!("{}/{}", link.engine, link.path))?,
        KvVersion::V2 => api.url(&format!("{}/data/{}", link.engine, link.path))?,
    };
    if let Some(v) = link.version {
        url.query_pairs_mut().append_pair("version", &v.to_string());
    }
    let what = format!("read `{shown}`");
    let reply = api.call(Method::GET, url, Some(token), None, &what).await?;
    match reply.status.as_u16() {
        404 => {
            // KV v2 answers 404 with metadata for a deleted or destroyed version
            let meta = reply.body.pointer("/data/metadata");
            let destroyed = meta
                .and_then(|m| m.get("destroyed"))
                .and_then(Value::as_bool)
                == Some(true);
            let deleted = meta
                .and_then(|m| m.get("deletion_time"))
                .and_then(Value::as_str)
                .is_some_and(|t| !t.is_empty());
            let pinned = link
                .version
                .map_or_else(String::new, |v| format!(" version {v}"));
            return Err(if destroyed || deleted {
                err(
                    ErrorKind::Unavailable,
                    format!(
                        "`{shown}`{pinned} was {}",
                        if destroyed { "destroyed" } else { "deleted" }
                    ),
                )
            } else {
                err(
                    ErrorKind::NotFound,
                    format!(
                        "no secret at `{shown}`{pinned}{}",
                        if version == KvVersion::V2 && link.path.starts_with("data/") {
                            " (KV v2 paths are written without `data/`)"
                        } else {
                            ""
                        }
                    ),
                )
            });
        }
        403 => {
            let detail = vault_errors(&reply.body);
            return Err(err(
                ErrorKind::PermissionDenied,
                format!(
                    "reading `{shown}` is denied{}",
                    if detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {detail}")
                    }
                ),
            ));
        }
        _ => {}
    }
    let mut body = reply.ok(&what)?;
    // moved out, not cloned: one copy of the values, zeroized with the `KvSecret`
    let data = match version {
        KvVersion::V1 => body.get_mut("data"),
        KvVersion::V2 => body.pointer_mut("/data/data"),
    }
    .map(Value::take);
    scrub(body);
    match data {
        Some(Value::Object(data)) => Ok(KvSecret { data }),
        other => {
            scrub(other.unwrap_or(Value::Null));
            Err(err(
                ErrorKind::InvalidResponse,
                format!("{what}: the answer holds no secret data"),
            ))
        }
    }
}

impl KvSecret {
    /// The value of `key`: strings as they are, other JSON values as JSON text. A missing key
    /// is [`ErrorKind::NotFound`] naming the key (and the keys that exist, which are names,
    /// not values).
    pub fn value(mut self, link: &KvLink) -> Result<SecretString, Error> {
        let value = self.data.remove(&link.key);
        let keys: Vec<&String> = self.data.keys().collect();
        match value {
            Some(Value::String(s)) => Ok(into_secret(s)),
            Some(Value::Null) | None => Err(err(
                ErrorKind::NotFound,
                format!(
                    "the secret `{}/{}` has no key `{}` (keys: {})",
                    link.engine,
                    link.path,
                    link.key,
                    if keys.is_empty() {
                        "none".to_owned()
                    } else {
                        // names chosen by whoever wrote the secret: filtered, and a few only
                        let mut shown: Vec<String> = keys
                            .iter()
                            .take(10)
                            .map(|k| format!("`{}`", short(k)))
                            .collect();
                        if keys.len() > 10 {
                            shown.push(format!("and {} more", keys.len() - 10));
                        }
                        shown.join(", ")
                    }
                ),
            )),
            Some(other) => {
                let text = into_secret(other.to_string());
                scrub(other);
                Ok(text)
            }
        }
    }
}

/// Moves `s` into a [`SecretString`] without leaving a copy: `String` to `Box<str>` shrinks
/// (reallocates) when there is spare capacity, which would free the old buffer unzeroized.
fn into_secret(mut s: String) -> SecretString {
    if s.capacity() == s.len() {
        SecretString::from(s)
    } else {
        let exact = SecretString::from(Box::<str>::from(s.as_str()));
        s.zeroize();
        exact
    }
}

/// Metadata of a KV v2 secret (`<mount>/metadata/<path>`): current version and dates.
pub(crate) struct KvMetadata {
    pub current_version: Option<u64>,
    pub created: Option<OffsetDateTime>,
    pub updated: Option<OffsetDateTime>,
    pub versions: usize,
}

pub(crate) async fn metadata(
    api: &VaultApi,
    token: &SecretString,
    link: &KvLink,
) -> Result<KvMetadata, Error> {
    let shown = format!("{}/{}", link.engine, link.path);
    let url = api.url(&format!("{}/metadata/{}", link.engine, link.path))?;
    let what = format!("read the metadata of `{shown}`");
    let reply = api.call(Method::GET, url, Some(token), None, &what).await?;
    if reply.status.as_u16() == 404 {
        return Err(err(ErrorKind::NotFound, format!("no secret at `{shown}`")));
    }
    let body = reply.ok(&what)?;
    let data = body.get("data").unwrap_or(&Value::Null);
    let date = |k: &str| {
        data.get(k).and_then(Value::as_str).and_then(|s| {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        })
    };
    let versions = data.get("versions").and_then(Value::as_object);
    let mut m = KvMetadata {
        current_version: data.get("current_version").and_then(Value::as_u64),
        created: date("created_time"),
        updated: date("updated_time"),
        versions: versions.map_or(0, Map::len),
    };
    if let Some(pin) = link.version {
        // a pinned version is described by its own entry: when it was written
        let entry = versions
            .and_then(|v| v.get(&pin.to_string()))
            .ok_or_else(|| {
                err(
                    ErrorKind::NotFound,
                    format!("`{shown}` has no version {pin}"),
                )
            })?;
        m.created = entry
            .get("created_time")
            .and_then(Value::as_str)
            .and_then(|s| {
                OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
            });
        m.updated = m.created;
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use serde_json::json;

    fn link(key: &str) -> KvLink {
        KvLink {
            engine: "secret".to_owned(),
            path: "app/db".to_owned(),
            key: key.to_owned(),
            version: None,
            kv_version: None,
        }
    }

    fn secret() -> KvSecret {
        let Value::Object(data) = json!({"password": "CANARY-VALUE", "n": 42, "user": "u"}) else {
            unreachable!()
        };
        KvSecret { data }
    }

    #[test]
    fn debug_names_keys_not_values() {
        let shown = format!("{:?}", secret());
        assert!(!shown.contains("CANARY"), "{shown}");
        assert!(shown.contains("password"), "{shown}");
    }

    #[test]
    fn value_moves_the_key_out() {
        assert_eq!(
            secret().value(&link("password")).unwrap().expose_secret(),
            "CANARY-VALUE"
        );
        assert_eq!(secret().value(&link("n")).unwrap().expose_secret(), "42");
        let e = secret().value(&link("nope")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(!e.message().contains("CANARY"), "{e}");
        assert!(e.message().contains("`password`"), "{e}");
        let mut spare = String::with_capacity(64);
        spare.push_str("abc");
        assert_eq!(into_secret(spare).expose_secret(), "abc");
    }
}
