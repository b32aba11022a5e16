//! The setup tool's read policy, least privilege: users read only the KV paths the admin
//! names (`--read MOUNT/PATH`), nothing under `sys/`, `identity/` or `auth/`, no listing.
//!
//! A named path is logical, as users write it in links (`secret/app/*`); the policy needs the
//! API paths, which depend on the mount's KV version: `secret/data/app/*` (the values) and
//! `secret/metadata/app/*` (what `vaultctl details` shows) on KV v2, `kv1/app/*` on KV v1. So
//! the tool reads the mount table (`GET sys/mounts`) and finds each path's mount (the longest
//! mount path that prefixes it, so `team/kv/app/*` works), which must be a KV engine.

use serde_json::Value;
use vault_core::{Error, ErrorKind};

use crate::http::short;
use crate::kv::KvVersion;
use crate::PROVIDER_ID;

fn cfg_err(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidConfig, message).with_provider(PROVIDER_ID)
}

/// A KV path users may read, as the admin named it: `MOUNT/PATH`, where the last part may
/// end with `*` (a prefix, as in Vault policies) and a whole part may be `+` (any one part).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadPath(String);

impl ReadPath {
    /// Checks `MOUNT/PATH` (slashes around are trimmed).
    pub fn parse(s: &str) -> Result<Self, Error> {
        let v = s.trim().trim_matches('/');
        let bad = |why: &str| cfg_err(format!("--read `{}`: {why}", short(s)));
        let parts: Vec<&str> = v.split('/').collect();
        if parts.len() < 2 {
            return Err(bad(
                "give MOUNT/PATH, e.g. secret/app/* (a whole mount: secret/*)",
            ));
        }
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() || *p == "." || *p == ".." {
                return Err(bad("a part is empty, `.` or `..`"));
            }
            let last = i + 1 == parts.len();
            let body = if last {
                p.strip_suffix('*').unwrap_or(p)
            } else {
                p
            };
            let ok = *p == "+"
                || body
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
            if !ok {
                return Err(bad(
                    "use A-Z a-z 0-9 _ - . @, a `+` part, and `*` only at the end",
                ));
            }
        }
        if parts[0] == "+" || parts[0].ends_with('*') {
            return Err(bad("the mount must be named, not a wildcard"));
        }
        Ok(ReadPath(v.to_owned()))
    }

    /// The path as named.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One entry of the mount table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The mount path without slashes around (`secret`, `team/kv`).
    pub path: String,
    /// The engine type (`kv`, `pki`, `system`, ...).
    pub kind: String,
    /// The KV version (`options.version`; KV without it is v1).
    pub version: KvVersion,
}

/// The mounts of a `GET sys/mounts` answer (the table is under `data`, and also at the top
/// level on older servers).
pub fn mounts(body: &Value) -> Vec<Mount> {
    let table = body
        .get("data")
        .and_then(Value::as_object)
        .or_else(|| body.as_object());
    table
        .into_iter()
        .flatten()
        .filter(|(k, v)| k.ends_with('/') && v.get("type").is_some())
        .map(|(k, v)| Mount {
            path: k.trim_matches('/').to_owned(),
            kind: v
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            version: v
                .pointer("/options/version")
                .and_then(Value::as_str)
                .and_then(KvVersion::parse)
                .unwrap_or(KvVersion::V1),
        })
        .collect()
}

/// A named path with its mount found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedRead {
    /// The mount path.
    pub mount: String,
    /// The rest of the path inside the mount.
    pub rest: String,
    /// The mount's KV version.
    pub version: KvVersion,
}

/// Finds `read`'s mount in `table`: the longest mount path that prefixes it with something
/// left; it must be a KV engine.
pub fn resolve(read: &ReadPath, table: &[Mount]) -> Result<ResolvedRead, Error> {
    let p = read.as_str();
    let mount = table
        .iter()
        .filter(|m| {
            p.strip_prefix(m.path.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|rest| !rest.is_empty())
        })
        .max_by_key(|m| m.path.len())
        .ok_or_else(|| cfg_err(format!("--read `{p}`: no secrets engine is mounted there")))?;
    if mount.kind != "kv" && mount.kind != "generic" {
        return Err(cfg_err(format!(
            "--read `{p}`: `{}/` is a `{}` engine, not a KV secrets engine",
            mount.path,
            short(&mount.kind)
        )));
    }
    Ok(ResolvedRead {
        mount: mount.path.clone(),
        rest: p[mount.path.len() + 1..].to_owned(),
        version: mount.version,
    })
}

/// For a dry run, where nothing is asked: the first part is taken as the mount, KV v2.
pub fn assume(read: &ReadPath) -> ResolvedRead {
    let (mount, rest) = read
        .as_str()
        .split_once('/')
        .unwrap_or((read.as_str(), "*"));
    ResolvedRead {
        mount: mount.to_owned(),
        rest: rest.to_owned(),
        version: KvVersion::V2,
    }
}

/// The policy text: `read` on each path's values (and, on KV v2, its metadata), nothing else.
pub fn policy_text(reads: &[ResolvedRead]) -> String {
    let mut text = String::from(
        "# vault-refs: read only the KV paths the admin named (hashicorp-setup --read)\n",
    );
    for r in reads {
        let line = |p: String| format!("path \"{p}\" {{ capabilities = [\"read\"] }}\n");
        match r.version {
            KvVersion::V2 => {
                text.push_str(&line(format!("{}/data/{}", r.mount, r.rest)));
                text.push_str(&line(format!("{}/metadata/{}", r.mount, r.rest)));
            }
            KvVersion::V1 => text.push_str(&line(format!("{}/{}", r.mount, r.rest))),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table() -> Vec<Mount> {
        mounts(&json!({
            "request_id": "x",
            "data": {
                "secret/": {"type": "kv", "options": {"version": "2"}},
                "kv1/": {"type": "kv", "options": {"version": "1"}},
                "team/": {"type": "kv", "options": null},
                "team/kv/": {"type": "kv", "options": {"version": "2"}},
                "pki/": {"type": "pki"},
                "sys/": {"type": "system"},
                "identity/": {"type": "identity"}
            }
        }))
    }

    #[test]
    fn paths_are_checked() {
        for ok in [
            "secret/app/*",
            "/secret/app/db/",
            "secret/*",
            "team/kv/+/db",
            "kv1/a.b-c_d",
        ] {
            assert!(ReadPath::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "secret",
            "",
            "*/x",
            "+/x",
            "secret/a*b/c",
            "secret/../x",
            "secret//x",
            "secret/a b",
            "secret/\"} path \"*",
            "secret/*/x",
        ] {
            let e = ReadPath::parse(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{bad}");
            assert!(e.message().starts_with("--read"), "{e}");
        }
    }

    #[test]
    fn mounts_are_found_by_longest_prefix_and_must_be_kv() {
        let t = table();
        let r = |s: &str| resolve(&ReadPath::parse(s).unwrap(), &t);
        assert_eq!(
            r("secret/app/*").unwrap(),
            ResolvedRead {
                mount: "secret".into(),
                rest: "app/*".into(),
                version: KvVersion::V2
            }
        );
        assert_eq!(r("kv1/app/api").unwrap().version, KvVersion::V1);
        assert_eq!(r("team/kv/app/*").unwrap().mount, "team/kv");
        assert_eq!(r("team/other/*").unwrap().version, KvVersion::V1);
        for (p, says) in [
            ("pki/issue/x", "`pki` engine"),
            ("sys/mounts", "`system` engine"),
            ("identity/entity/*", "`identity` engine"),
            ("nothing/here", "no secrets engine"),
        ] {
            let e = r(p).unwrap_err();
            assert!(e.message().contains(says), "{p}: {e}");
        }
    }

    #[test]
    fn the_policy_reads_only_the_named_paths() {
        let t = table();
        let reads: Vec<_> = ["secret/app/*", "kv1/app/api"]
            .iter()
            .map(|s| resolve(&ReadPath::parse(s).unwrap(), &t).unwrap())
            .collect();
        assert_eq!(
            policy_text(&reads),
            "# vault-refs: read only the KV paths the admin named (hashicorp-setup --read)\n\
             path \"secret/data/app/*\" { capabilities = [\"read\"] }\n\
             path \"secret/metadata/app/*\" { capabilities = [\"read\"] }\n\
             path \"kv1/app/api\" { capabilities = [\"read\"] }\n"
        );
        let dry = assume(&ReadPath::parse("secret/app/*").unwrap());
        assert_eq!(dry.mount, "secret");
        assert_eq!(dry.version, KvVersion::V2);
    }
}
