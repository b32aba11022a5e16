//! A profile of the shared files turned into a [`Plan`], as the AWS CLI reads it. Within one
//! profile the first of these that applies wins:
//!
//! 1. `role_arn` with `web_identity_token_file` (AssumeRoleWithWebIdentity);
//! 2. `role_arn` with `source_profile` (that profile's credentials, then AssumeRole; chains
//!    of any length, a cycle is refused; a profile naming itself uses its own static keys) or
//!    `credential_source` (`Environment`, `Ec2InstanceMetadata`, `EcsContainer`), with the
//!    profile's `mfa_serial`, `external_id`, `role_session_name` and `duration_seconds`;
//! 3. `sso_session` or the legacy `sso_start_url` (IAM Identity Center);
//! 4. static keys (`aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`);
//! 5. `credential_process`.
//!
//! A profile with none of these has no credentials (`Ok(None)`).

use std::path::Path;

use secrecy::ExposeSecret;
use vault_core::{Environment, Error, ErrorKind};

use crate::arn::RoleArn;
use crate::container::ContainerSource;
use crate::imds::ImdsSource;
use crate::plan::{Base, Plan, RoleStep};
use crate::profile_file::ProfileSet;
use crate::sso::SsoProfile;
use crate::PROVIDER_ID;

/// The session name used when a profile gives none.
pub const DEFAULT_SESSION_NAME: &str = "vault-aws";

fn config_error(m: String) -> Error {
    Error::new(ErrorKind::InvalidConfig, m).with_provider(PROVIDER_ID)
}

/// The plan for profile `name`, `Ok(None)` when it holds no credentials of any kind.
pub(crate) fn plan_for(
    set: &ProfileSet,
    name: &str,
    env: &dyn Environment,
    sso_cache_dir: &Path,
) -> Result<Option<Plan>, Error> {
    let mut visited = Vec::new();
    let Some((base, roles, how)) = resolve(set, name, env, sso_cache_dir, &mut visited)? else {
        return Ok(None);
    };
    Ok(Some(Plan {
        label: format!("profile `{name}` ({how})"),
        identity: format!("profile:{name}"),
        base,
        roles,
    }))
}

type Resolved = (Base, Vec<RoleStep>, String);

fn resolve(
    set: &ProfileSet,
    name: &str,
    env: &dyn Environment,
    sso_cache_dir: &Path,
    visited: &mut Vec<String>,
) -> Result<Option<Resolved>, Error> {
    if visited.iter().any(|v| v == name) {
        visited.push(name.to_owned());
        return Err(config_error(format!(
            "AWS profiles form a cycle through source_profile: {}",
            visited
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(" -> ")
        )));
    }
    if !set.has(name) {
        return Err(config_error(match visited.last() {
            Some(from) => {
                format!("profile `{from}` names source_profile `{name}`, which does not exist")
            }
            None => format!("AWS profile `{name}` does not exist"),
        }));
    }
    visited.push(name.to_owned());
    let text = |k: &str| set.text(name, k).map(|v| v.trim().to_owned());

    if let Some(role_text) = text("role_arn") {
        let role = RoleArn::parse(&role_text)
            .map_err(|e| config_error(format!("profile `{name}`: role_arn: {e}")))?;
        let session_name = text("role_session_name");
        if let Some(file) = text("web_identity_token_file") {
            return Ok(Some((
                Base::WebIdentity {
                    token_file: crate::credential_source::expand_home(&file, env)?,
                    role: role.clone(),
                    session_name: session_name.unwrap_or_else(|| DEFAULT_SESSION_NAME.to_owned()),
                },
                Vec::new(),
                format!("web identity, role {role}"),
            )));
        }
        let duration_seconds = match text("duration_seconds") {
            None => None,
            Some(d) => Some(d.parse::<u32>().ok().filter(|d| *d >= 900).ok_or_else(|| {
                config_error(format!(
                    "profile `{name}`: duration_seconds must be a whole number of seconds, at least 900"
                ))
            })?),
        };
        let step = RoleStep {
            role: role.clone(),
            session_name,
            external_id: text("external_id"),
            mfa_serial: text("mfa_serial"),
            duration_seconds,
            profile: name.to_owned(),
        };
        let (base, mut roles, how) = match (text("source_profile"), text("credential_source")) {
            (Some(_), Some(_)) => {
                return Err(config_error(format!(
                    "profile `{name}` has both source_profile and credential_source: keep one"
                )))
            }
            (Some(src), None) if src == name => {
                let keys = set.keys(name).map_err(|missing| {
                    config_error(format!("profile `{name}` has no `{missing}`"))
                })?;
                let keys = keys.ok_or_else(|| {
                    config_error(format!(
                        "profile `{name}` is its own source_profile but has no static keys"
                    ))
                })?;
                (Base::Keys(keys), Vec::new(), "static keys".to_owned())
            }
            (Some(src), None) => match resolve(set, &src, env, sso_cache_dir, visited)? {
                Some((b, r, h)) => (b, r, format!("profile `{src}`: {h}")),
                None => {
                    return Err(config_error(format!(
                        "profile `{name}` names source_profile `{src}`, which has no credentials"
                    )))
                }
            },
            (None, Some(cs)) => (credential_source(name, &cs, env)?, Vec::new(), cs),
            (None, None) => {
                return Err(config_error(format!(
                    "profile `{name}` has role_arn but neither source_profile nor credential_source"
                )))
            }
        };
        roles.push(step);
        return Ok(Some((base, roles, format!("role {role} from {how}"))));
    }

    if text("sso_session").is_some() || text("sso_start_url").is_some() {
        return Ok(Some((
            Base::Sso(sso_profile(set, name, sso_cache_dir)?),
            Vec::new(),
            "IAM Identity Center".to_owned(),
        )));
    }
    match set.keys(name) {
        Ok(Some(keys)) => {
            return Ok(Some((
                Base::Keys(keys),
                Vec::new(),
                "static keys".to_owned(),
            )))
        }
        Ok(None) => {}
        Err(missing) => return Err(config_error(format!("profile `{name}` has no `{missing}`"))),
    }
    if let Some(command) = text("credential_process") {
        return Ok(Some((
            Base::Process {
                command,
                profile: name.to_owned(),
            },
            Vec::new(),
            "credential_process".to_owned(),
        )));
    }
    Ok(None)
}

fn credential_source(profile: &str, cs: &str, env: &dyn Environment) -> Result<Base, Error> {
    match cs {
        "Environment" => {
            let id = env.var("AWS_ACCESS_KEY_ID");
            let secret = env.var("AWS_SECRET_ACCESS_KEY");
            match (id, secret) {
                (Some(id), Some(secret)) => {
                    let mut c = crate::credentials::Credentials::new(
                        id.expose_secret(),
                        secret.expose_secret(),
                    );
                    if let Some(t) = env.var("AWS_SESSION_TOKEN") {
                        c = c.with_session_token(t.expose_secret());
                    }
                    Ok(Base::Keys(c))
                }
                _ => Err(config_error(format!(
                    "profile `{profile}`: credential_source Environment, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set"
                ))),
            }
        }
        "Ec2InstanceMetadata" => ImdsSource::from_env(env)?.map(Base::Imds).ok_or_else(|| {
            config_error(format!(
                "profile `{profile}`: credential_source Ec2InstanceMetadata, but AWS_EC2_METADATA_DISABLED is true"
            ))
        }),
        "EcsContainer" => ContainerSource::from_env(env)?.map(Base::Container).ok_or_else(|| {
            config_error(format!(
                "profile `{profile}`: credential_source EcsContainer, but neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor _FULL_URI is set"
            ))
        }),
        other => Err(config_error(format!(
            "profile `{profile}`: credential_source `{other}` is not one of Environment, Ec2InstanceMetadata, EcsContainer"
        ))),
    }
}

fn sso_profile(set: &ProfileSet, name: &str, cache_dir: &Path) -> Result<SsoProfile, Error> {
    let text = |k: &str| set.text(name, k).map(|v| v.trim().to_owned());
    let need = |k: &str| {
        text(k).ok_or_else(|| config_error(format!("profile `{name}` uses SSO but has no `{k}`")))
    };
    let account_id = need("sso_account_id")?;
    let role_name = need("sso_role_name")?;
    let (session_name, start_url, region) = match text("sso_session") {
        Some(s) => {
            let section = set.config.sso_session(&s).ok_or_else(|| {
                config_error(format!(
                    "profile `{name}` names sso_session `{s}`, but the config file has no [sso-session {s}]"
                ))
            })?;
            let get = |k: &str| {
                section
                    .get(k)
                    .map(|v| v.expose_secret().trim().to_owned())
                    .ok_or_else(|| config_error(format!("[sso-session {s}] has no `{k}`")))
            };
            (Some(s.clone()), get("sso_start_url")?, get("sso_region")?)
        }
        None => (None, need("sso_start_url")?, need("sso_region")?),
    };
    if !crate::partition::is_valid_region(&region) {
        return Err(config_error(format!(
            "profile `{name}`: sso_region `{region}` is not a region"
        )));
    }
    Ok(SsoProfile {
        profile: name.to_owned(),
        session_name,
        start_url,
        region,
        account_id,
        role_name,
        cache_dir: cache_dir.to_owned(),
    })
}
