//! Where credentials come from: small sources, each answering "not mine" (with what it
//! looked for) or a plan for credentials, tried in a documented order.
//!
//! The default chain follows the AWS SDKs' (the Rust SDK's `DefaultCredentialsChain`):
//!
//! 1. **Environment**: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
//! 2. **Profile** of the shared files (`AWS_CONFIG_FILE` or `~/.aws/config`, merged with
//!    `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`, the credentials file winning): the
//!    profile named by the integration or `AWS_PROFILE`; with none named, `main`, then
//!    `default` (this crate's rule). Within a profile: web identity role, `source_profile` /
//!    `credential_source` role, SSO, static keys, `credential_process` (see
//!    [`profile_chain`](crate::profile_chain)).
//! 3. **Web identity** from the environment: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`
//!    (+ `AWS_ROLE_SESSION_NAME`).
//! 4. **Container**: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `_FULL_URI`.
//! 5. **Instance metadata** (IMDSv2), unless `AWS_EC2_METADATA_DISABLED=true`.
//!
//! Choosing a source reads only variables and the two small files: no network call and no
//! child process (a laptop pays well under a millisecond); the chosen source then fetches.
//! Steps 4 and 5 only choose themselves when nothing earlier did; step 5 then probes with a
//! 1 s timeout. Sources are read when a session starts (first use or an explicit sign-in),
//! not when the provider is built.

use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use vault_core::{Environment, Error, ErrorKind};
use zeroize::Zeroizing;

use crate::arn::RoleArn;
use crate::container::ContainerSource;
use crate::credentials::Credentials;
use crate::imds::ImdsSource;
use crate::plan::{Base, Plan};
use crate::profile_chain::{plan_for, DEFAULT_SESSION_NAME};
use crate::profile_file::{FileKind, ProfileFile, ProfileSet};
use crate::PROVIDER_ID;

/// The profiles tried, in order, when none is named.
pub const DEFAULT_PROFILES: [&str; 2] = ["main", "default"];

/// A source of credentials.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum CredentialSource {
    /// Keys handed over by the host application.
    Static(Credentials),
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optional `AWS_SESSION_TOKEN`.
    Environment,
    /// A profile of the shared config and credentials files.
    ProfileFile(ProfileFileSource),
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN`: AssumeRoleWithWebIdentity.
    WebIdentity,
    /// The container credentials endpoint named by `AWS_CONTAINER_CREDENTIALS_*_URI`.
    Container,
    /// EC2 instance metadata (IMDSv2).
    InstanceMetadata,
    /// Each source in turn; the first that has credentials wins. A source that is present
    /// but broken (a malformed file, half the environment variables) stops the chain: it is
    /// better to say so than to sign in silently as someone else.
    Chain(Vec<CredentialSource>),
}

/// Which shared files and profile to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileFileSource {
    /// The credentials file; `None`: `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
    /// A leading `~/` is the home directory (`HOME`, or `USERPROFILE` on Windows).
    pub path: Option<String>,
    /// The profile; `None`: `AWS_PROFILE` if set, else `main`, then `default`.
    pub profile: Option<String>,
    /// The config file; `None`: `AWS_CONFIG_FILE`, else `~/.aws/config`.
    pub config_path: Option<String>,
}

/// What one source found.
pub(crate) enum Found {
    Yes(Box<Plan>),
    /// Nothing there; the text says what was looked for.
    No(String),
}

impl CredentialSource {
    /// The AWS SDKs' default chain (see the module documentation).
    pub fn default_chain() -> Self {
        CredentialSource::Chain(vec![
            CredentialSource::Environment,
            CredentialSource::ProfileFile(ProfileFileSource::default()),
            CredentialSource::WebIdentity,
            CredentialSource::Container,
            CredentialSource::InstanceMetadata,
        ])
    }

    /// Which source would be used, in words (for `status`: never a key), without any network
    /// call or child process.
    pub fn describe(&self, env: &dyn Environment) -> Result<String, Error> {
        self.select(env).map(|p| p.label)
    }

    /// Chooses the source: reads variables and files only.
    pub(crate) fn select(&self, env: &dyn Environment) -> Result<Plan, Error> {
        match self.find(env)? {
            Found::Yes(p) => Ok(*p),
            Found::No(looked) => Err(Error::new(
                ErrorKind::SignedOut,
                format!("no AWS credentials found: {looked}"),
            )
            .with_provider(PROVIDER_ID)),
        }
    }

    pub(crate) fn find(&self, env: &dyn Environment) -> Result<Found, Error> {
        match self {
            CredentialSource::Static(c) => Ok(Found::Yes(Box::new(keys_plan(
                c.clone(),
                "keys given by the application".to_owned(),
            )))),
            CredentialSource::Environment => from_env(env),
            CredentialSource::ProfileFile(p) => p.find(env),
            CredentialSource::WebIdentity => web_identity_from_env(env),
            CredentialSource::Container => Ok(match ContainerSource::from_env(env)? {
                Some(c) => Found::Yes(Box::new(Plan {
                    label: format!("container credentials ({})", c.host()),
                    identity: "container".to_owned(),
                    base: Base::Container(c),
                    roles: Vec::new(),
                    mfa_serial: None,
                })),
                None => Found::No(
                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI are not set".to_owned(),
                ),
            }),
            CredentialSource::InstanceMetadata => Ok(match ImdsSource::from_env(env)? {
                Some(i) => Found::Yes(Box::new(Plan {
                    label: "EC2 instance metadata".to_owned(),
                    identity: "imds".to_owned(),
                    base: Base::Imds(i),
                    roles: Vec::new(),
                    mfa_serial: None,
                })),
                None => Found::No(
                    "instance metadata is disabled (AWS_EC2_METADATA_DISABLED)".to_owned(),
                ),
            }),
            CredentialSource::Chain(sources) => {
                let mut looked = Vec::new();
                for s in sources {
                    match s.find(env)? {
                        Found::Yes(c) => return Ok(Found::Yes(c)),
                        Found::No(what) => looked.push(what),
                    }
                }
                Ok(Found::No(if looked.is_empty() {
                    "no credential source configured".to_owned()
                } else {
                    looked.join("; ")
                }))
            }
        }
    }
}

/// A plan that uses keys at hand.
pub(crate) fn keys_plan(c: Credentials, label: String) -> Plan {
    Plan {
        label,
        identity: format!("key:{}", c.access_key_id()),
        base: Base::Keys(c),
        roles: Vec::new(),
        mfa_serial: None,
    }
}

fn web_identity_from_env(env: &dyn Environment) -> Result<Found, Error> {
    let get = |n: &str| {
        env.var(n)
            .map(|v| v.expose_secret().trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    match (get("AWS_WEB_IDENTITY_TOKEN_FILE"), get("AWS_ROLE_ARN")) {
        (None, None) => Ok(Found::No(
            "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set".to_owned(),
        )),
        (Some(_), None) => Err(config_error(
            "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not".to_owned(),
        )),
        (None, Some(_)) => Err(config_error(
            "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not".to_owned(),
        )),
        (Some(file), Some(role)) => {
            let role =
                RoleArn::parse(&role).map_err(|e| config_error(format!("AWS_ROLE_ARN: {e}")))?;
            Ok(Found::Yes(Box::new(Plan {
                label: format!("web identity (AWS_WEB_IDENTITY_TOKEN_FILE), role {role}"),
                identity: format!("web-identity:{role}"),
                base: Base::WebIdentity {
                    token_file: expand_home(&file, env)?,
                    role,
                    session_name: get("AWS_ROLE_SESSION_NAME")
                        .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_owned()),
                },
                roles: Vec::new(),
                mfa_serial: None,
            })))
        }
    }
}

fn config_error(message: String) -> Error {
    Error::new(ErrorKind::InvalidConfig, message).with_provider(PROVIDER_ID)
}

fn from_env(env: &dyn Environment) -> Result<Found, Error> {
    let id = env
        .var("AWS_ACCESS_KEY_ID")
        .filter(|v| !v.expose_secret().is_empty());
    let secret = env
        .var("AWS_SECRET_ACCESS_KEY")
        .filter(|v| !v.expose_secret().is_empty());
    match (id, secret) {
        (None, None) => Ok(Found::No(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set".to_owned(),
        )),
        (Some(_), None) => Err(config_error(
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".to_owned(),
        )),
        (None, Some(_)) => Err(config_error(
            "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not".to_owned(),
        )),
        (Some(id), Some(secret)) => {
            let mut c = Credentials::new(id.expose_secret(), secret.expose_secret());
            if let Some(t) = env.var("AWS_SESSION_TOKEN") {
                c = c.with_session_token(t.expose_secret());
            }
            Ok(Found::Yes(Box::new(keys_plan(
                c,
                "environment variables".to_owned(),
            ))))
        }
    }
}

/// The home directory, from the environment.
fn home(env: &dyn Environment) -> Option<PathBuf> {
    env.var("HOME")
        .or_else(|| env.var("USERPROFILE"))
        .map(|h| PathBuf::from(h.expose_secret()))
        .filter(|p| !p.as_os_str().is_empty())
}

/// Expands a leading `~/` (or a lone `~`) to the home directory.
pub(crate) fn expand_home(path: &str, env: &dyn Environment) -> Result<PathBuf, Error> {
    let rest = if path == "~" {
        Some("")
    } else {
        path.strip_prefix("~/").or_else(|| path.strip_prefix("~\\"))
    };
    match rest {
        None => Ok(PathBuf::from(path)),
        Some(rest) => home(env).map(|h| h.join(rest)).ok_or_else(|| {
            config_error(format!(
                "cannot expand `~` in `{path}`: neither HOME nor USERPROFILE is set"
            ))
        }),
    }
}

/// Reads a shared file; `Ok(None)` when it does not exist and was not named explicitly.
fn read_file(path: &Path, explicit: bool, what: &str) -> Result<Option<Zeroizing<String>>, Error> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(Zeroizing::new(t))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(None),
        Err(e) => Err(config_error(format!(
            "cannot read the AWS {what} file {}: {}",
            path.display(),
            e.kind()
        ))),
    }
}

/// The variable's value, trimmed, when set and not empty.
fn var_text(env: &dyn Environment, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.expose_secret().trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl ProfileFileSource {
    /// The credentials file, and whether it was named explicitly (then a missing file
    /// is an error, not a reason to try the next source).
    fn resolve_path(&self, env: &dyn Environment) -> Result<(PathBuf, bool), Error> {
        if let Some(p) = &self.path {
            return Ok((expand_home(p, env)?, true));
        }
        if let Some(p) = var_text(env, "AWS_SHARED_CREDENTIALS_FILE") {
            return Ok((expand_home(&p, env)?, true));
        }
        let home = home(env).ok_or_else(|| {
            config_error(
                "cannot find ~/.aws/credentials: neither HOME nor USERPROFILE is set".to_owned(),
            )
        })?;
        Ok((home.join(".aws").join("credentials"), false))
    }

    /// The config file (never required to exist).
    fn config_file(&self, env: &dyn Environment) -> Result<Option<PathBuf>, Error> {
        if let Some(p) = &self.config_path {
            return expand_home(p, env).map(Some);
        }
        if let Some(p) = var_text(env, "AWS_CONFIG_FILE") {
            return expand_home(&p, env).map(Some);
        }
        Ok(home(env).map(|h| h.join(".aws").join("config")))
    }

    /// The profile named by this source or `AWS_PROFILE`.
    pub(crate) fn named(&self, env: &dyn Environment) -> Option<String> {
        self.profile
            .clone()
            .filter(|p| !p.trim().is_empty())
            .or_else(|| var_text(env, "AWS_PROFILE"))
    }

    /// Both files, parsed.
    pub(crate) fn load_set(&self, env: &dyn Environment) -> Result<(ProfileSet, String), Error> {
        let (path, explicit) = self.resolve_path(env)?;
        let mut set = ProfileSet::default();
        let mut looked = Vec::new();
        match read_file(&path, explicit, "credentials")? {
            Some(text) => {
                set.credentials =
                    ProfileFile::parse_as(&text, FileKind::Credentials).map_err(|e| {
                        config_error(format!(
                            "in the AWS credentials file {}: {e}",
                            path.display()
                        ))
                    })?;
                looked.push(path.display().to_string());
            }
            None => looked.push(format!("{} (does not exist)", path.display())),
        }
        if let Some(cpath) = self.config_file(env)? {
            if let Some(text) = read_file(&cpath, false, "config")? {
                set.config = ProfileFile::parse_as(&text, FileKind::Config).map_err(|e| {
                    config_error(format!("in the AWS config file {}: {e}", cpath.display()))
                })?;
                looked.push(cpath.display().to_string());
            }
        }
        Ok((set, looked.join(" and ")))
    }

    /// Where IAM Identity Center tokens are cached.
    fn sso_cache_dir(env: &dyn Environment) -> PathBuf {
        home(env)
            .unwrap_or_default()
            .join(".aws")
            .join("sso")
            .join("cache")
    }

    fn find(&self, env: &dyn Environment) -> Result<Found, Error> {
        let (set, files) = self.load_set(env)?;
        let named = self.named(env);
        let candidates: Vec<String> = match &named {
            Some(p) => vec![p.clone()],
            None => DEFAULT_PROFILES.iter().map(|p| p.to_string()).collect(),
        };
        let cache = Self::sso_cache_dir(env);
        for name in &candidates {
            if !set.has(name) {
                continue;
            }
            match plan_for(&set, name, env, &cache)? {
                Some(plan) => return Ok(Found::Yes(Box::new(plan))),
                None if named.is_some() => {
                    return Err(config_error(format!(
                        "AWS profile `{name}` in {files} has no credentials (no keys, role_arn, sso_session or credential_process)"
                    )))
                }
                None => {}
            }
        }
        let looked = format!(
            "{files} {} no profile {} with credentials",
            if files.contains(" and ") {
                "have"
            } else {
                "has"
            },
            candidates
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        );
        if named.is_some() {
            // A profile asked for by name must exist: never fall back to someone else's keys.
            Err(config_error(looked))
        } else {
            Ok(Found::No(looked))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vault_core::MapEnv;

    fn file_with(text: &str) -> (tempdir::Dir, String) {
        let dir = tempdir::Dir::new();
        let path = dir.path().join("credentials");
        std::fs::write(&path, text).unwrap();
        let p = path.display().to_string();
        (dir, p)
    }

    /// A minimal temporary directory, removed on drop (no extra dependency for one test).
    mod tempdir {
        use std::path::{Path, PathBuf};
        pub struct Dir(PathBuf);
        impl Dir {
            pub fn new() -> Self {
                let p = std::env::temp_dir().join(format!(
                    "vault-aws-test-{}-{}",
                    std::process::id(),
                    rand::random::<u64>()
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
            pub fn path(&self) -> &Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    const BOTH: &str = "[default]\naws_access_key_id=AKIADEFAULT\naws_secret_access_key=d\n\
                        [main]\naws_access_key_id=AKIAMAIN\naws_secret_access_key=m\n";

    fn src(path: &str, profile: Option<&str>) -> CredentialSource {
        CredentialSource::ProfileFile(ProfileFileSource {
            path: Some(path.to_owned()),
            profile: profile.map(str::to_owned),
            config_path: Some("/nonexistent/vault-aws/config".to_owned()),
        })
    }

    impl CredentialSource {
        /// The keys of a plan that uses keys at hand (tests only).
        fn load(&self, env: &dyn Environment) -> Result<Credentials, Error> {
            match self.select(env)?.base {
                Base::Keys(c) => Ok(c),
                other => panic!("not keys: {other:?}"),
            }
        }
    }

    #[test]
    fn main_before_default_and_named_profile() {
        let (_d, p) = file_with(BOTH);
        let env = MapEnv::new();
        assert_eq!(
            src(&p, None).load(&env).unwrap().access_key_id(),
            "AKIAMAIN"
        );
        assert_eq!(
            src(&p, Some("default")).load(&env).unwrap().access_key_id(),
            "AKIADEFAULT"
        );
        let env = MapEnv::new().with("AWS_PROFILE", "default");
        assert_eq!(
            src(&p, None).load(&env).unwrap().access_key_id(),
            "AKIADEFAULT"
        );
        let (_d2, p2) = file_with("[default]\naws_access_key_id=AKIAD\naws_secret_access_key=d\n");
        assert_eq!(
            src(&p2, None).load(&MapEnv::new()).unwrap().access_key_id(),
            "AKIAD"
        );
    }

    #[test]
    fn missing_file_and_profile_say_what_was_looked_for() {
        let (_d, p) = file_with("[other]\naws_access_key_id=A\naws_secret_access_key=b\n");
        let e = src(&p, None).load(&MapEnv::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SignedOut);
        assert!(
            e.message().contains("no profile `main` or `default`"),
            "{e}"
        );
        assert!(e.message().contains("with credentials"), "{e}");
        assert!(e.message().contains(&p), "{e}");
        let e = src(&p, Some("prod")).load(&MapEnv::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert!(e.message().contains("`prod`"), "{e}");
        let e = src("/nonexistent/vault-aws/credentials", None)
            .load(&MapEnv::new())
            .unwrap_err();
        assert!(
            e.message().contains("/nonexistent/vault-aws/credentials"),
            "{e}"
        );
        let (_d3, p3) = file_with("[main]\naws_access_key_id=A\n");
        let e = src(&p3, None).load(&MapEnv::new()).unwrap_err();
        assert!(e.message().contains("`aws_secret_access_key`"), "{e}");
        let (_d4, p4) = file_with("[main]\nnot a property\n");
        let e = src(&p4, None).load(&MapEnv::new()).unwrap_err();
        assert!(e.message().contains("line 2"), "{e}");
    }

    #[test]
    fn default_chain_env_then_file() {
        let env = MapEnv::new()
            .with("AWS_ACCESS_KEY_ID", "AKIAENV")
            .with("AWS_SECRET_ACCESS_KEY", "s")
            .with("AWS_SESSION_TOKEN", "t");
        let c = CredentialSource::default_chain().load(&env).unwrap();
        assert_eq!(c.access_key_id(), "AKIAENV");
        assert!(c.has_session_token());

        let (d, _p) = file_with(BOTH);
        std::fs::create_dir_all(d.path().join(".aws")).unwrap();
        std::fs::write(d.path().join(".aws/credentials"), BOTH).unwrap();
        let env = MapEnv::new().with("HOME", &d.path().display().to_string());
        let c = CredentialSource::default_chain().load(&env).unwrap();
        assert_eq!(c.access_key_id(), "AKIAMAIN");

        let env = MapEnv::new()
            .with("HOME", "/nonexistent-home")
            .with("AWS_EC2_METADATA_DISABLED", "true");
        let e = CredentialSource::default_chain().load(&env).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SignedOut);
        assert!(e.message().contains("AWS_ACCESS_KEY_ID"), "{e}");
        assert!(
            e.message()
                .contains("/nonexistent-home/.aws/credentials (does not exist)"),
            "{e}"
        );

        let env = MapEnv::new().with("AWS_ACCESS_KEY_ID", "AKIAENV");
        let e = CredentialSource::default_chain().load(&env).unwrap_err();
        assert!(e.message().contains("AWS_SECRET_ACCESS_KEY is not"), "{e}");
    }

    #[test]
    fn shared_credentials_file_variable_and_tilde() {
        let (d, p) = file_with(BOTH);
        let env = MapEnv::new().with("AWS_SHARED_CREDENTIALS_FILE", &p);
        let c = CredentialSource::ProfileFile(ProfileFileSource::default())
            .load(&env)
            .unwrap();
        assert_eq!(c.access_key_id(), "AKIAMAIN");
        let env = MapEnv::new().with("HOME", &d.path().display().to_string());
        let c = src("~/credentials", None).load(&env).unwrap();
        assert_eq!(c.access_key_id(), "AKIAMAIN");
    }
}
