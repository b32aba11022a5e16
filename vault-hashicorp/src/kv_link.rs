//! The locator of a KV secret: `[secrets.NAME.hashicorp]` with `engine`, `path`, `key`, an
//! optional `version` (a KV v2 pin) and an optional `kv_version` (the mount's KV version, `1`
//! or `2`: when given, a read is one request, without asking the server which version the
//! mount is).

use vault_core::{Error, ErrorKind, Link, Locator};

use crate::address::VaultAddress;
use crate::kv::KvVersion;
use crate::namespace::Namespace;
use crate::PROVIDER_ID;

/// The keys a HashiCorp link may hold.
pub const LINK_KEYS: [&str; 5] = ["engine", "path", "key", "version", "kv_version"];

/// A checked link: which mount, which secret, which key of it, and optionally which version.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KvLink {
    /// The secrets engine's mount path (`secret`, `kv1`, `team/kv`), without slashes around.
    pub engine: String,
    /// The secret's path inside the mount (`app/db`).
    pub path: String,
    /// The key inside the secret's data (`password`).
    pub key: String,
    /// A pinned KV v2 version (`None`: the current one).
    pub version: Option<u64>,
    /// The mount's KV version when the link states it (`kv_version`); not part of the
    /// locator: it says how to read, not what.
    pub kv_version: Option<KvVersion>,
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidLink, message).with_provider(PROVIDER_ID)
}

/// Normalises a `/`-separated path: trims slashes, rejects empty, `.` and `..` parts and
/// control characters (a path must not climb out of its mount).
fn clean_path(field: &str, value: &str) -> Result<String, Error> {
    let v = value.trim().trim_matches('/');
    if v.is_empty() {
        return Err(invalid(format!("`{field}` is empty")));
    }
    for part in v.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return Err(invalid(format!(
                "`{field}` = `{value}` has an empty, `.` or `..` part"
            )));
        }
        if part.chars().any(|c| c.is_control() || c == '?' || c == '#') {
            return Err(invalid(format!(
                "`{field}` = `{value}` holds a control character, `?` or `#`"
            )));
        }
    }
    Ok(v.to_owned())
}

impl KvLink {
    /// Checks a link's fields (no network).
    pub fn from_link(link: &Link) -> Result<Self, Error> {
        link.reject_unknown_fields(&LINK_KEYS)?;
        let engine = clean_path("engine", link.require("engine")?)?;
        let path = clean_path("path", link.require("path")?)?;
        let key = link.require("key")?;
        if key.is_empty() {
            return Err(invalid("`key` is empty".into()));
        }
        let version = match link.get("version").map(str::trim) {
            None | Some("") => None,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    return Err(invalid(format!(
                        "`version` = `{v}` is not a KV v2 version (a whole number from 1)"
                    )))
                }
            },
        };
        let kv_version = match link.get("kv_version").map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(KvVersion::parse(v).ok_or_else(|| {
                invalid(format!("`kv_version` = `{v}` is not a KV version (1 or 2)"))
            })?),
        };
        Ok(KvLink {
            engine,
            path,
            key: key.to_owned(),
            version,
            kv_version,
        })
    }

    /// The canonical locator: address, namespace, engine, path, key, version. Each part is
    /// escaped so that no two different links share a locator, and the address and namespace
    /// are in it so that a settings change never serves a value read elsewhere.
    pub fn locator(&self, address: &VaultAddress, namespace: &Namespace) -> Locator {
        fn esc(s: &str) -> String {
            s.replace('%', "%25").replace('|', "%7C")
        }
        let version = self
            .version
            .map_or_else(|| "latest".to_owned(), |v| v.to_string());
        Locator::new(
            PROVIDER_ID,
            format!(
                "{}|{}|{}|{}|{}|{}",
                esc(address.as_str()),
                esc(namespace.as_str()),
                esc(&self.engine),
                esc(&self.path),
                esc(&self.key),
                version
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> Link {
        Link::new(PROVIDER_ID)
            .with("engine", "/secret/")
            .with("path", "app/db/")
            .with("key", "password")
    }

    #[test]
    fn normalises_and_builds_locator() {
        let l = KvLink::from_link(&link()).unwrap();
        assert_eq!(
            (l.engine.as_str(), l.path.as_str(), l.version),
            ("secret", "app/db", None)
        );
        let a = VaultAddress::parse("http://127.0.0.1:8200").unwrap();
        let loc = l.locator(&a, &Namespace::root());
        assert_eq!(
            loc.canonical(),
            "http://127.0.0.1:8200||secret|app/db|password|latest"
        );
        let ns = l.locator(&a, &Namespace::parse("team1").unwrap());
        assert_ne!(loc, ns);
        let other = VaultAddress::parse("http://127.0.0.1:8300").unwrap();
        assert_ne!(loc, l.locator(&other, &Namespace::root()));
        let pinned = KvLink::from_link(&link().with("version", "2")).unwrap();
        assert_eq!(pinned.version, Some(2));
        assert_ne!(loc, pinned.locator(&a, &Namespace::root()));
        let known = KvLink::from_link(&link().with("kv_version", "2")).unwrap();
        assert_eq!(known.kv_version, Some(KvVersion::V2));
        assert_eq!(
            loc,
            known.locator(&a, &Namespace::root()),
            "how to read is not what is read"
        );
    }

    #[test]
    fn keys_with_separators_do_not_collide() {
        let a = VaultAddress::parse("http://127.0.0.1:8200").unwrap();
        let l1 = KvLink::from_link(&link().with("key", "a|b")).unwrap();
        let l2 = KvLink::from_link(&link().with("path", "app/db|a").with("key", "b")).unwrap();
        assert_ne!(
            l1.locator(&a, &Namespace::root()),
            l2.locator(&a, &Namespace::root())
        );
    }

    #[test]
    fn bad_links_name_the_field() {
        let e = KvLink::from_link(&link().with("engin", "x")).unwrap_err();
        assert!(e.message().contains("`engin`"), "{e}");
        let e = KvLink::from_link(&Link::new(PROVIDER_ID).with("engine", "s").with("path", "p"))
            .unwrap_err();
        assert!(e.message().contains("`key`"), "{e}");
        for (k, v) in [
            ("path", "a/../b"),
            ("path", "//"),
            ("engine", "a?b"),
            ("version", "0"),
            ("version", "v2"),
            ("kv_version", "3"),
            ("kv_version", "v2"),
        ] {
            let e = KvLink::from_link(&link().with(k, v)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidLink);
            assert!(e.message().contains(&format!("`{k}`")), "{e}");
        }
    }
}
