//! The `[integrations.aws]` table of the config file, and the environment variables the AWS
//! tools read, turned into an [`AwsProvider`].
//!
//! ```toml
//! [integrations.aws]
//! region = "us-east-1"                      # else AWS_REGION, AWS_DEFAULT_REGION, the profile's, us-east-1
//! credentials_file = "~/.aws/credentials"   # optional
//! profile = "main"                          # optional; else profiles `main`, then `default`
//! endpoint_url = "http://127.0.0.1:5000"    # optional; for tests and private endpoints
//! mfa_serial = "arn:aws:iam::123456789012:mfa/alice"  # optional; else discovered
//! discover_mfa = true                       # optional; false: never ask for an MFA code
//! fetch_timeout_seconds = 30                # optional: a whole fetch, retries and sign-in calls included
//! sign_in_timeout_seconds = 300             # optional: one wait for an MFA code or another sign-in
//! ```
//!
//! Credentials: naming `credentials_file` or `profile` reads the shared files only (a profile
//! asked for by name must exist there). Otherwise the default chain of
//! [`CredentialSource::default_chain`]: environment, profile (`AWS_PROFILE`, else `main`, then
//! `default`, in `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE`), web identity, container,
//! instance metadata. The region falls back on the profile's `region`. `AWS_CA_BUNDLE` adds
//! trusted roots.
//!
//! Endpoints, as the AWS tools rank them: `AWS_ENDPOINT_URL_SECRETS_MANAGER`,
//! `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL_IAM` for one service, then `AWS_ENDPOINT_URL`,
//! then `endpoint_url` here, then AWS's own.

use std::sync::Arc;

use secrecy::ExposeSecret;
use serde::Deserialize;
use vault_core::{
    ConfigError, DynProvider, Environment, IntegrationSettings, MapEnv, ProviderContext,
    SessionStore,
};

use crate::credential_source::{CredentialSource, ProfileFileSource};
use crate::endpoint::{check_endpoint_url, Endpoints, Service};
use crate::mfa::Mfa;
use crate::partition::is_valid_region;
use crate::provider::{AwsProvider, DEFAULT_REGION};

/// The keys of `[integrations.aws]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSettings {
    /// The region of STS calls.
    pub region: Option<String>,
    /// The shared credentials file to read.
    pub credentials_file: Option<String>,
    /// The profile to use in it.
    pub profile: Option<String>,
    /// One endpoint for every service.
    pub endpoint_url: Option<String>,
    /// The MFA device to ask a code for.
    pub mfa_serial: Option<String>,
    /// Whether to look for the user's MFA devices when `mfa_serial` is not given (default true).
    pub discover_mfa: Option<bool>,
    /// The budget of one fetch in seconds, its calls, retries and sign-in calls together
    /// (default 30); waits for a person are not counted.
    pub fetch_timeout_seconds: Option<u64>,
    /// The limit of one wait for a person in seconds (default 300).
    pub sign_in_timeout_seconds: Option<u64>,
}

/// The largest `*_timeout_seconds` taken: a day.
const MAX_TIMEOUT_SECONDS: u64 = 86_400;

/// The variables a provider reads later (at sign-in), copied when it is built: the provider
/// outlives the borrowed environment it was built from.
const ENV_VARS: [&str; 20] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_ENDPOINT_URL_SSO",
    "AWS_ENDPOINT_URL_SSO_OIDC",
    "AWS_CA_BUNDLE",
    "HOME",
    "USERPROFILE",
];

fn nonempty(env: &dyn Environment, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.expose_secret().trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl AwsSettings {
    /// A provider for these settings and `env`.
    pub fn build(
        &self,
        settings: &IntegrationSettings,
        env: &dyn Environment,
    ) -> Result<AwsProvider, ConfigError> {
        self.build_with(settings, env, None)
    }

    /// [`AwsSettings::build`], keeping sessions in `store` when one is given.
    pub fn build_with(
        &self,
        settings: &IntegrationSettings,
        env: &dyn Environment,
        store: Option<Arc<dyn SessionStore>>,
    ) -> Result<AwsProvider, ConfigError> {
        let files = ProfileFileSource {
            path: self.credentials_file.clone(),
            profile: self.profile.clone(),
            config_path: None,
        };
        let region = self
            .region
            .clone()
            .or_else(|| nonempty(env, "AWS_REGION"))
            .or_else(|| nonempty(env, "AWS_DEFAULT_REGION"))
            .or_else(|| profile_region(&files, env))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        if !is_valid_region(&region) {
            return Err(settings.error(format!(
                "`region`: `{region}` is not a region (expected something like us-east-1)"
            )));
        }

        let source = if self.credentials_file.is_some() || self.profile.is_some() {
            if self.profile.as_deref().is_some_and(|p| p.trim().is_empty()) {
                return Err(settings.error("`profile` is empty"));
            }
            CredentialSource::ProfileFile(files)
        } else {
            CredentialSource::default_chain()
        };

        let url = |what: &str, text: &str| {
            check_endpoint_url(text).map_err(|e| settings.error(format!("{what}: {}", e.message())))
        };
        let mut endpoints = Endpoints::default();
        if let Some(u) = nonempty(env, "AWS_ENDPOINT_URL") {
            endpoints = endpoints.all(url("AWS_ENDPOINT_URL", &u)?);
        } else if let Some(u) = &self.endpoint_url {
            endpoints = endpoints.all(url("`endpoint_url`", u)?);
        }
        for service in [Service::SecretsManager, Service::Sts, Service::Iam] {
            let var = format!("AWS_ENDPOINT_URL_{}", service.env_suffix());
            if let Some(u) = nonempty(env, &var) {
                endpoints = endpoints.service(service, url(&var, &u)?);
            }
        }

        let mfa = match (&self.mfa_serial, self.discover_mfa) {
            (Some(s), _) if !s.trim().is_empty() => Mfa::Serial(s.trim().to_owned()),
            (Some(_), _) => return Err(settings.error("`mfa_serial` is empty")),
            (None, Some(false)) => Mfa::Off,
            (None, _) => Mfa::Discover,
        };

        let mut snapshot = MapEnv::new();
        for name in ENV_VARS {
            if let Some(v) = env.var(name) {
                snapshot = snapshot.with(name, v.expose_secret());
            }
        }

        let mut builder = AwsProvider::builder()
            .region(region)
            .credentials(source)
            .endpoints(endpoints)
            .mfa(mfa)
            .env(Arc::new(snapshot));
        if let Some(bundle) = nonempty(env, "AWS_CA_BUNDLE") {
            let client = crate::transport::Transport::client_with_ca_bundle(&bundle)
                .map_err(|e| settings.error(e.message().to_owned()))?;
            builder = builder.http_client(client);
        }
        if let Some(store) = store {
            builder = builder.session_store(store);
        }
        for (key, value) in [
            ("fetch_timeout_seconds", self.fetch_timeout_seconds),
            ("sign_in_timeout_seconds", self.sign_in_timeout_seconds),
        ] {
            if matches!(value, Some(v) if v == 0 || v > MAX_TIMEOUT_SECONDS) {
                return Err(settings.error(format!(
                    "`{key}` must be between 1 and {MAX_TIMEOUT_SECONDS} (a day)"
                )));
            }
        }
        if let Some(s) = self.fetch_timeout_seconds {
            builder = builder.fetch_timeout(std::time::Duration::from_secs(s));
        }
        if let Some(s) = self.sign_in_timeout_seconds {
            builder = builder.sign_in_timeout(std::time::Duration::from_secs(s));
        }
        builder
            .build()
            .map_err(|e| settings.error(e.message().to_owned()))
    }
}

/// The `region` of the profile in use (named, else `main`, then `default`), read from the
/// shared files; `None` when they do not say or cannot be read (credentials errors are
/// reported when the credentials are needed, not here).
fn profile_region(files: &ProfileFileSource, env: &dyn Environment) -> Option<String> {
    let (set, _) = files.load_set(env).ok()?;
    let candidates: Vec<String> = match files.named(env) {
        Some(p) => vec![p],
        None => crate::credential_source::DEFAULT_PROFILES
            .iter()
            .map(|p| p.to_string())
            .collect(),
    };
    candidates
        .iter()
        .find_map(|p| set.text(p, "region"))
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
}

/// Builds the AWS provider from the config file's `[integrations.aws]` table (an absent table
/// arrives as an empty one) and the environment.
pub fn from_settings(
    settings: &IntegrationSettings,
    env: &dyn Environment,
) -> Result<DynProvider, ConfigError> {
    let s: AwsSettings = settings.deserialize()?;
    Ok(Arc::new(s.build(settings, env)?))
}

/// [`from_settings`] with what the host offers: the environment and a session store.
pub fn from_context(
    settings: &IntegrationSettings,
    context: &ProviderContext<'_>,
) -> Result<DynProvider, ConfigError> {
    let s: AwsSettings = settings.deserialize()?;
    Ok(Arc::new(s.build_with(
        settings,
        context.env,
        context.session_store.clone(),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml_text: &str) -> IntegrationSettings {
        let config =
            vault_core::Config::parse(&format!("[integrations.aws]\n{toml_text}")).unwrap();
        config.integrations.values().next().unwrap().clone()
    }

    fn err(r: Result<DynProvider, ConfigError>) -> ConfigError {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e,
        }
    }

    #[test]
    fn empty_table_builds() {
        let p = from_settings(&settings(""), &MapEnv::new()).unwrap();
        assert_eq!(p.id().as_str(), "aws");
    }

    #[test]
    fn unknown_key_is_named() {
        let e = err(from_settings(
            &settings("regoin = \"us-east-1\""),
            &MapEnv::new(),
        ));
        assert!(e.to_string().contains("regoin"), "{e}");
    }

    #[test]
    fn region_from_config_then_env() {
        let s: AwsSettings = settings("").deserialize().unwrap();
        let p = s
            .build(
                &settings(""),
                &MapEnv::new().with("AWS_REGION", "eu-west-1"),
            )
            .unwrap();
        assert_eq!(p.region(), "eu-west-1");
        let p = s
            .build(
                &settings(""),
                &MapEnv::new().with("AWS_DEFAULT_REGION", "eu-central-1"),
            )
            .unwrap();
        assert_eq!(p.region(), "eu-central-1");
        let s: AwsSettings = settings("region = \"ap-south-1\"").deserialize().unwrap();
        let p = s
            .build(
                &settings(""),
                &MapEnv::new().with("AWS_REGION", "eu-west-1"),
            )
            .unwrap();
        assert_eq!(p.region(), "ap-south-1");
        let e = err(from_settings(
            &settings("region = \"US-EAST\""),
            &MapEnv::new(),
        ));
        assert!(e.to_string().contains("`region`"), "{e}");
    }

    #[test]
    fn region_from_the_profile_when_nothing_else_says() {
        let dir = std::env::temp_dir().join(format!(
            "vault-aws-settings-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config");
        std::fs::write(
            &config,
            "[default]\nregion = eu-north-1\n[profile dev]\nregion = ap-southeast-2\n",
        )
        .unwrap();
        let base = || {
            MapEnv::new()
                .with("HOME", &dir.display().to_string())
                .with("AWS_CONFIG_FILE", &config.display().to_string())
        };
        let env = base();
        let s: AwsSettings = settings("").deserialize().unwrap();
        assert_eq!(s.build(&settings(""), &env).unwrap().region(), "eu-north-1");
        let named = base().with("AWS_PROFILE", "dev");
        assert_eq!(
            s.build(&settings(""), &named).unwrap().region(),
            "ap-southeast-2"
        );
        let s2: AwsSettings = settings("profile = \"dev\"").deserialize().unwrap();
        assert_eq!(
            s2.build(&settings(""), &env).unwrap().region(),
            "ap-southeast-2"
        );
        let over = base().with("AWS_REGION", "us-west-1");
        assert_eq!(s.build(&settings(""), &over).unwrap().region(), "us-west-1");
        let e = err(from_settings(
            &settings(""),
            &MapEnv::new().with("AWS_CA_BUNDLE", "/nonexistent/ca.pem"),
        ));
        assert!(e.to_string().contains("AWS_CA_BUNDLE"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn endpoint_checks() {
        let e = err(from_settings(
            &settings("endpoint_url = \"http://example.com:5000\""),
            &MapEnv::new(),
        ));
        assert!(e.to_string().contains("loopback"), "{e}");
        let e = err(from_settings(
            &settings(""),
            &MapEnv::new().with("AWS_ENDPOINT_URL_STS", "ftp://x"),
        ));
        assert!(e.to_string().contains("AWS_ENDPOINT_URL_STS"), "{e}");
        assert!(from_settings(
            &settings("endpoint_url = \"http://127.0.0.1:5000\"\nmfa_serial = \"arn:aws:iam::123456789012:mfa/a\"\nprofile = \"x\"\ncredentials_file = \"/tmp/c\"\ndiscover_mfa = false"),
            &MapEnv::new()
        )
        .is_ok());
    }

    #[test]
    fn timeouts_are_read_and_zero_is_refused() {
        assert!(from_settings(
            &settings("fetch_timeout_seconds = 5\nsign_in_timeout_seconds = 60"),
            &MapEnv::new()
        )
        .is_ok());
        for bad in [
            "fetch_timeout_seconds = 0",
            "fetch_timeout_seconds = 9223372036854775807",
            "sign_in_timeout_seconds = 86401",
        ] {
            let e = err(from_settings(&settings(bad), &MapEnv::new()));
            assert!(
                e.to_string()
                    .contains("_timeout_seconds` must be between 1 and"),
                "{e}"
            );
        }
    }
}
