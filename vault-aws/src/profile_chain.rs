//! A profile of the shared files turned into a plan (where its credentials come from, then
//! which roles to assume), as the AWS CLI reads it. Within one profile the first of these
//! that applies wins:
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
    let mfa_serial = match roles.is_empty() {
        true => set.text(name, "mfa_serial").map(|s| s.trim().to_owned()),
        false => None,
    };
    Ok(Some(Plan {
        label: format!("profile `{name}` ({how})"),
        identity: format!("profile:{name}"),
        base,
        roles,
        mfa_serial,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile_file::ProfileFile;
    use vault_core::MapEnv;

    const ROLE_A: &str = "arn:aws:iam::123456789012:role/a";
    const ROLE_B: &str = "arn:aws:iam::123456789012:role/b";

    fn set(config: &str, credentials: &str) -> ProfileSet {
        ProfileSet {
            config: ProfileFile::parse_config(config).unwrap(),
            credentials: ProfileFile::parse(credentials).unwrap(),
        }
    }

    fn plan(s: &ProfileSet, name: &str) -> Result<Option<Plan>, Error> {
        plan_for(s, name, &MapEnv::new(), Path::new("/nonexistent"))
    }

    #[test]
    fn a_chain_of_two_roles_in_order_with_their_options() {
        let s = set(
            &format!(
                "[profile first]\nrole_arn = {ROLE_A}\nsource_profile = base\nexternal_id = ext-1\n\
                 [profile second]\nrole_arn = {ROLE_B}\nsource_profile = first\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n\
                 role_session_name = me\nduration_seconds = 3600\n"
            ),
            "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
        );
        let p = plan(&s, "second").unwrap().unwrap();
        assert!(matches!(&p.base, Base::Keys(c) if c.access_key_id() == "AKIABASE"));
        let roles: Vec<_> = p.roles.iter().map(|r| r.role.as_str()).collect();
        assert_eq!(roles, [ROLE_A, ROLE_B]);
        assert_eq!(p.roles[0].external_id.as_deref(), Some("ext-1"));
        assert_eq!(p.roles[1].session_name.as_deref(), Some("me"));
        assert_eq!(p.roles[1].duration_seconds, Some(3600));
        assert!(p.roles[1].mfa_serial.is_some());
        assert!(!p.renews_silently(), "an MFA role needs the user");
        assert_eq!(p.identity, "profile:second");
        assert!(p.label.contains("profile `first`"), "{}", p.label);
    }

    #[test]
    fn cycles_and_missing_profiles_are_refused_clearly() {
        let s = set(
            &format!(
                "[profile a]\nrole_arn = {ROLE_A}\nsource_profile = b\n\
                 [profile b]\nrole_arn = {ROLE_B}\nsource_profile = a\n\
                 [profile lost]\nrole_arn = {ROLE_A}\nsource_profile = nowhere\n\
                 [profile both]\nrole_arn = {ROLE_A}\nsource_profile = a\ncredential_source = Environment\n\
                 [profile bare]\nrole_arn = {ROLE_A}\n\
                 [profile weird]\nrole_arn = {ROLE_A}\ncredential_source = Moon\n\
                 [profile short]\nrole_arn = {ROLE_A}\ncredential_source = Environment\nduration_seconds = 60\n\
                 [profile badarn]\nrole_arn = not-an-arn\nsource_profile = a\n\
                 [profile empty]\nregion = us-east-1\n"
            ),
            "",
        );
        let msg = |n: &str| plan(&s, n).unwrap_err().message().to_owned();
        assert!(
            msg("a").contains("cycle") && msg("a").contains("`a` -> `b` -> `a`"),
            "{}",
            msg("a")
        );
        assert!(msg("lost").contains("source_profile `nowhere`, which does not exist"));
        assert!(msg("both").contains("both source_profile and credential_source"));
        assert!(msg("bare").contains("neither source_profile nor credential_source"));
        assert!(msg("weird").contains("`Moon` is not one of"));
        assert!(msg("short").contains("at least 900"));
        assert!(msg("badarn").contains("role_arn"));
        assert!(plan(&s, "empty").unwrap().is_none());
        assert!(plan(&s, "ghost")
            .unwrap_err()
            .message()
            .contains("does not exist"));
    }

    #[test]
    fn self_source_web_identity_sso_keys_and_process() {
        let s = set(
            &format!(
                "[profile selfie]\nrole_arn = {ROLE_A}\nsource_profile = selfie\n\
                 [profile web]\nrole_arn = {ROLE_A}\nweb_identity_token_file = /t/token\n\
                 [profile sso]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = R\n\
                 [sso-session corp]\nsso_start_url = https://x.awsapps.com/start\nsso_region = eu-west-1\n\
                 [profile legacy]\nsso_start_url = https://y/start\nsso_region = us-east-2\nsso_account_id = 1\nsso_role_name = R\n\
                 [profile proc]\ncredential_process = /bin/tool --json\n\
                 [profile keys-win]\ncredential_process = /bin/tool\n\
                 [profile nosso]\nsso_session = missing\nsso_account_id = 1\nsso_role_name = R\n"
            ),
            "[selfie]\naws_access_key_id = AKIASELF\naws_secret_access_key = s\n\
             [keys-win]\naws_access_key_id = AKIAKEYS\naws_secret_access_key = s\n\
             [half]\naws_access_key_id = AKIAHALF\n",
        );
        let p = plan(&s, "selfie").unwrap().unwrap();
        assert!(matches!(&p.base, Base::Keys(c) if c.access_key_id() == "AKIASELF"));
        assert_eq!(p.roles.len(), 1);
        assert!(
            p.renews_silently(),
            "a role from keys is assumed again when it ends"
        );
        assert!(!plan(&s, "keys-win").unwrap().unwrap().renews_silently());
        let s2 = set(
            "[profile mfa]\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n",
            "[mfa]\naws_access_key_id = AKIAM\naws_secret_access_key = s\n",
        );
        assert_eq!(
            plan(&s2, "mfa").unwrap().unwrap().mfa_serial.as_deref(),
            Some("arn:aws:iam::123456789012:mfa/me")
        );
        let p = plan(&s, "web").unwrap().unwrap();
        assert!(
            matches!(&p.base, Base::WebIdentity { session_name, .. } if session_name == DEFAULT_SESSION_NAME)
        );
        assert!(p.roles.is_empty() && p.renews_silently());
        let p = plan(&s, "sso").unwrap().unwrap();
        assert!(
            matches!(&p.base, Base::Sso(x) if x.region == "eu-west-1" && x.session_name.as_deref() == Some("corp"))
        );
        let p = plan(&s, "legacy").unwrap().unwrap();
        assert!(
            matches!(&p.base, Base::Sso(x) if x.session_name.is_none() && x.region == "us-east-2")
        );
        let p = plan(&s, "proc").unwrap().unwrap();
        assert!(matches!(&p.base, Base::Process { command, .. } if command == "/bin/tool --json"));
        let p = plan(&s, "keys-win").unwrap().unwrap();
        assert!(
            matches!(&p.base, Base::Keys(_)),
            "static keys before credential_process"
        );
        assert!(plan(&s, "half")
            .unwrap_err()
            .message()
            .contains("aws_secret_access_key"));
        assert!(plan(&s, "nosso")
            .unwrap_err()
            .message()
            .contains("[sso-session missing]"));
    }

    #[test]
    fn credential_source_reads_the_environment_or_machines() {
        let s = set(
            &format!(
                "[profile env]\nrole_arn = {ROLE_A}\ncredential_source = Environment\n\
                 [profile ec2]\nrole_arn = {ROLE_A}\ncredential_source = Ec2InstanceMetadata\n\
                 [profile ecs]\nrole_arn = {ROLE_A}\ncredential_source = EcsContainer\n"
            ),
            "",
        );
        let env = MapEnv::new()
            .with("AWS_ACCESS_KEY_ID", "AKIAENV")
            .with("AWS_SECRET_ACCESS_KEY", "s")
            .with("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
        let cache = Path::new("/x");
        let p = plan_for(&s, "env", &env, cache).unwrap().unwrap();
        assert!(matches!(&p.base, Base::Keys(c) if c.access_key_id() == "AKIAENV"));
        assert!(matches!(
            plan_for(&s, "ec2", &env, cache).unwrap().unwrap().base,
            Base::Imds(_)
        ));
        assert!(matches!(
            plan_for(&s, "ecs", &env, cache).unwrap().unwrap().base,
            Base::Container(_)
        ));
        let e = plan_for(&s, "ecs", &MapEnv::new(), cache).unwrap_err();
        assert!(
            e.message()
                .contains("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
            "{e}"
        );
        let e = plan_for(&s, "env", &MapEnv::new(), cache).unwrap_err();
        assert!(e.message().contains("credential_source Environment"), "{e}");
    }
}
