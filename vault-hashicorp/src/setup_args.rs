//! The command line of the `hashicorp-setup` example, parsed here so that it is tested with
//! the library:
//!
//! ```text
//! hashicorp-setup VAULT_URL [-d|--dry-run] [-y] [--read MOUNT/PATH]… [--broad-read]
//!                 [--group NAME]… [--entity NAME]… [--seed-names] [--help]
//! ```
//!
//! `--read`, `--group` and `--entity` take their value as the next argument or after `=`.

use crate::read_policy::ReadPath;

/// What the command line asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetupArgs {
    /// The cluster URL (the OIDC provider's issuer).
    pub cluster: String,
    /// `-d`, `--dry-run`: print the requests, send none.
    pub dry_run: bool,
    /// `-y`: do not ask before each write.
    pub yes: bool,
    /// `--read MOUNT/PATH`, repeatable: the KV paths users may read.
    pub read: Vec<ReadPath>,
    /// `--broad-read`: the seed's broad policy instead (with a warning).
    pub broad_read: bool,
    /// `--group NAME`, repeatable: only these groups' members may sign in.
    pub groups: Vec<String>,
    /// `--entity NAME`, repeatable: only these entities may sign in.
    pub entities: Vec<String>,
    /// `--seed-names`: the seed's object names.
    pub seed_names: bool,
}

/// The usage line.
pub const USAGE: &str = "Usage: cargo run --example hashicorp-setup -- <vault-cluster-url> \
[-d|--dry-run] [-y] [--read MOUNT/PATH]... [--broad-read] [--group NAME]... [--entity NAME]... \
[--seed-names] [--help]";

/// Parses the arguments after the program name: `Ok(None)` for `--help`, `Err` with what is
/// wrong (the CLI exits 2).
pub fn parse<I, S>(args: I) -> Result<Option<SetupArgs>, String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut a = SetupArgs::default();
    let mut cluster = None;
    let mut it = args.into_iter().map(Into::into);
    let mut options = true;
    while let Some(arg) = it.next() {
        if !options || !arg.starts_with('-') || arg == "-" {
            if cluster.is_some() {
                return Err(format!("unexpected argument `{arg}`"));
            }
            cluster = Some(arg);
            continue;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            match inline.clone().or_else(|| it.next()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(format!("`{flag}` needs {what}")),
            }
        };
        match flag.as_str() {
            "--help" | "-h" => return Ok(None),
            "--" => options = false,
            "-d" | "--dry-run" => a.dry_run = true,
            "-y" | "--yes" => a.yes = true,
            "--broad-read" => a.broad_read = true,
            "--seed-names" => a.seed_names = true,
            "--read" => {
                let v = value("a KV path, MOUNT/PATH")?;
                a.read
                    .push(ReadPath::parse(&v).map_err(|e| e.message().to_owned())?);
            }
            "--group" => a.groups.push(value("a group name")?),
            "--entity" => a.entities.push(value("an entity name")?),
            _ => return Err(format!("unknown option `{arg}`")),
        }
        if inline.is_some() && !matches!(flag.as_str(), "--read" | "--group" | "--entity") {
            return Err(format!("`{flag}` takes no value"));
        }
    }
    if a.broad_read && !a.read.is_empty() {
        return Err("--read and --broad-read exclude each other".into());
    }
    a.cluster = cluster.ok_or("the vault cluster URL is missing")?;
    Ok(Some(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag() {
        let a = parse([
            "https://vault:8200",
            "-y",
            "--read",
            "secret/app/*",
            "--read=kv1/app/api",
            "--group",
            "devs",
            "--entity=alice",
            "--seed-names",
            "-d",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(a.cluster, "https://vault:8200");
        assert!(a.yes && a.dry_run && a.seed_names && !a.broad_read);
        assert_eq!(
            a.read.iter().map(ReadPath::as_str).collect::<Vec<_>>(),
            ["secret/app/*", "kv1/app/api"]
        );
        assert_eq!(a.groups, ["devs"]);
        assert_eq!(a.entities, ["alice"]);
        let b = parse(["--broad-read", "http://127.0.0.1:8200"])
            .unwrap()
            .unwrap();
        assert!(b.broad_read && b.read.is_empty());
        assert_eq!(parse(["--help", "x"]).unwrap(), None);
    }

    #[test]
    fn mistakes_say_what() {
        for (args, says) in [
            (vec!["u", "--read"], "`--read` needs"),
            (vec!["u", "--read", "secret"], "--read `secret`"),
            (vec!["u", "--group="], "`--group` needs"),
            (vec!["u", "--nope"], "unknown option `--nope`"),
            (vec!["u", "v"], "unexpected argument `v`"),
            (vec!["--seed-names"], "cluster URL is missing"),
            (
                vec!["u", "--read", "s/a", "--broad-read"],
                "exclude each other",
            ),
            (vec!["u", "--dry-run=yes"], "takes no value"),
        ] {
            let e = parse(args.clone()).unwrap_err();
            assert!(e.contains(says), "{args:?}: {e}");
        }
        // after `--`, a leading dash is the URL
        assert_eq!(parse(["--", "-u"]).unwrap().unwrap().cluster, "-u");
    }
}
