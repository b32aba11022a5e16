//! Where credentials come from: keys given by the host, the environment, the shared
//! credentials file, or a chain of these tried in order.
//!
//! Sources are read when a session starts (first use, or an explicit sign-in), not when the
//! provider is built: a program that never touches an AWS secret never needs AWS keys, and a
//! rotated credentials file is seen by the next sign-in.

use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use vault_core::{Environment, Error, ErrorKind};
use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::profile_file::ProfileFile;
use crate::PROVIDER_ID;

/// The profiles tried, in order, when none is named.
pub const DEFAULT_PROFILES: [&str; 2] = ["main", "default"];

/// A source of base credentials.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum CredentialSource {
    /// Keys handed over by the host application.
    Static(Credentials),
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optional `AWS_SESSION_TOKEN`.
    Environment,
    /// The shared credentials file.
    ProfileFile(ProfileFileSource),
    /// Each source in turn; the first that has credentials wins. A source that is present
    /// but broken (a malformed file, half the environment variables) stops the chain: it is
    /// better to say so than to sign in silently as someone else.
    Chain(Vec<CredentialSource>),
}

/// Which credentials file and profile to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileFileSource {
    /// The file; `None`: `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`. A leading
    /// `~/` is the home directory (`HOME`, or `USERPROFILE` on Windows).
    pub path: Option<String>,
    /// The profile; `None`: `AWS_PROFILE` if set, else `main`, then `default`.
    pub profile: Option<String>,
}

/// What one source found.
enum Found {
    Yes(Credentials),
    /// Nothing there; the text says what was looked for.
    No(String),
}

impl CredentialSource {
    /// The chain used when nothing is configured: the environment, then the credentials file.
    pub fn default_chain() -> Self {
        CredentialSource::Chain(vec![
            CredentialSource::Environment,
            CredentialSource::ProfileFile(ProfileFileSource::default()),
        ])
    }

    /// Reads credentials. Errors name what was looked for (variables, file, profiles),
    /// never a value.
    pub fn load(&self, env: &dyn Environment) -> Result<Credentials, Error> {
        match self.find(env)? {
            Found::Yes(c) => Ok(c),
            Found::No(looked) => Err(Error::new(
                ErrorKind::SignedOut,
                format!("no AWS credentials found: {looked}"),
            )
            .with_provider(PROVIDER_ID)),
        }
    }

    fn find(&self, env: &dyn Environment) -> Result<Found, Error> {
        match self {
            CredentialSource::Static(c) => Ok(Found::Yes(c.clone())),
            CredentialSource::Environment => from_env(env),
            CredentialSource::ProfileFile(p) => p.find(env),
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
            Ok(Found::Yes(c))
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

impl ProfileFileSource {
    /// The file this source reads, and whether it was named explicitly (then a missing file
    /// is an error, not a reason to try the next source).
    fn resolve_path(&self, env: &dyn Environment) -> Result<(PathBuf, bool), Error> {
        if let Some(p) = &self.path {
            return Ok((expand_home(p, env)?, true));
        }
        if let Some(p) = env
            .var("AWS_SHARED_CREDENTIALS_FILE")
            .filter(|p| !p.expose_secret().is_empty())
        {
            return Ok((expand_home(p.expose_secret(), env)?, true));
        }
        let home = home(env).ok_or_else(|| {
            config_error(
                "cannot find ~/.aws/credentials: neither HOME nor USERPROFILE is set".to_owned(),
            )
        })?;
        Ok((home.join(".aws").join("credentials"), false))
    }

    fn find(&self, env: &dyn Environment) -> Result<Found, Error> {
        let (path, explicit) = self.resolve_path(env)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(Found::No(format!("{} does not exist", path.display())))
            }
            Err(e) => {
                return Err(config_error(format!(
                    "cannot read the AWS credentials file {}: {}",
                    path.display(),
                    e.kind()
                )))
            }
        };
        self.pick(&path, &text, env)
    }

    fn pick(&self, path: &Path, text: &str, env: &dyn Environment) -> Result<Found, Error> {
        let file = ProfileFile::parse(text).map_err(|e| {
            config_error(format!(
                "in the AWS credentials file {}: {e}",
                path.display()
            ))
        })?;
        let named = self.profile.clone().or_else(|| {
            env.var("AWS_PROFILE")
                .map(|p| p.expose_secret().to_owned())
                .filter(|p| !p.is_empty())
        });
        let candidates: Vec<String> = match &named {
            Some(p) => vec![p.clone()],
            None => DEFAULT_PROFILES.iter().map(|p| p.to_string()).collect(),
        };
        for name in &candidates {
            if let Some(profile) = file.profile(name) {
                return profile.credentials().map(Found::Yes).map_err(|missing| {
                    config_error(format!(
                        "profile `{name}` in {} has no `{missing}`",
                        path.display()
                    ))
                });
            }
        }
        let looked = format!(
            "{} has no profile {}",
            path.display(),
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
        })
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

        let env = MapEnv::new().with("HOME", "/nonexistent-home");
        let e = CredentialSource::default_chain().load(&env).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SignedOut);
        assert!(e.message().contains("AWS_ACCESS_KEY_ID"), "{e}");
        assert!(
            e.message()
                .contains("/nonexistent-home/.aws/credentials does not exist"),
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
