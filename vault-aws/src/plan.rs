//! What a credential source decided, and running it: a [`Plan`] is chosen without any network
//! call or child process (so choosing is cheap and says which source won), then
//! [`Plan::credentials`] fetches the credentials: reads keys, runs `credential_process`, calls
//! the SSO portal, STS, the container endpoint or instance metadata, then assumes each role of
//! a profile chain in turn.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use vault_core::{Environment, Error, ErrorKind};

use crate::arn::RoleArn;
use crate::budget::{Attended, Budget};
use crate::credentials::Credentials;
use crate::endpoint::{Endpoints, Service};
use crate::mfa::check_code;
use crate::transport::Transport;
use crate::{container, imds, process, sso, sts, PROVIDER_ID};

/// One role to assume, with the options its profile gives.
#[derive(Clone, Debug)]
pub(crate) struct RoleStep {
    pub role: RoleArn,
    pub session_name: Option<String>,
    pub external_id: Option<String>,
    pub mfa_serial: Option<String>,
    pub duration_seconds: Option<u32>,
    /// The profile that names the role (for messages).
    pub profile: String,
}

/// Where the first credentials of a plan come from.
#[derive(Clone, Debug)]
pub(crate) enum Base {
    /// Keys at hand (host, environment, a profile's static keys).
    Keys(Credentials),
    /// A profile's `credential_process`.
    Process { command: String, profile: String },
    /// AssumeRoleWithWebIdentity with a token file.
    WebIdentity {
        token_file: PathBuf,
        role: RoleArn,
        session_name: String,
    },
    /// The container credentials endpoint (ECS, EKS Pod Identity).
    Container(container::ContainerSource),
    /// EC2 instance metadata (IMDSv2).
    Imds(imds::ImdsSource),
    /// IAM Identity Center.
    Sso(sso::SsoProfile),
}

/// A chosen source: its base, then the roles to assume from it (a profile chain).
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Says which source won, for `status` (never a key).
    pub label: String,
    /// What tells this sign-in from another in the session store (never a secret).
    pub identity: String,
    pub base: Base,
    pub roles: Vec<RoleStep>,
    /// A profile's `mfa_serial` when it names no role: the device to make an MFA session
    /// with (instead of discovering one).
    pub mfa_serial: Option<String>,
}

/// What running a plan needs.
pub(crate) struct SourceContext<'a> {
    pub transport: &'a Transport,
    pub endpoints: &'a Endpoints,
    pub region: &'a str,
    pub env: &'a dyn Environment,
    /// The host's interaction, its prompts bounded and not counted against the budget.
    pub interaction: &'a Attended<'a>,
    /// The fetch's budget, paused while a person is waited for (device-code approval, a
    /// `credential_process` that may prompt).
    pub budget: &'a Budget,
}

impl Plan {
    /// Whether the credentials it gives can be fetched again without the user (no MFA code
    /// in the chain): then an expired session is renewed silently.
    pub fn renews_silently(&self) -> bool {
        // Keys alone never expire; roles assumed from them can be assumed again.
        self.roles.iter().all(|r| r.mfa_serial.is_none())
            && (!self.roles.is_empty() || !matches!(self.base, Base::Keys(_)))
    }

    /// Fetches the credentials.
    pub async fn credentials(&self, ctx: &SourceContext<'_>) -> Result<Credentials, Error> {
        let mut creds = match &self.base {
            Base::Keys(c) => c.clone(),
            // A credential_process may prompt its user (aws-vault, saml2aws do); it has its
            // own time limit.
            Base::Process { command, profile } => {
                ctx.budget.paused(process::run(command, profile)).await?
            }
            Base::WebIdentity {
                token_file,
                role,
                session_name,
            } => web_identity(ctx, token_file, role, session_name).await?,
            Base::Container(c) => c.credentials(ctx.transport, ctx.env).await?,
            Base::Imds(i) => i.credentials(ctx.transport).await?,
            Base::Sso(s) => s.credentials(ctx).await?,
        };
        for step in &self.roles {
            creds = assume(ctx, &creds, step).await?;
        }
        Ok(creds)
    }
}

async fn web_identity(
    ctx: &SourceContext<'_>,
    token_file: &PathBuf,
    role: &RoleArn,
    session_name: &str,
) -> Result<Credentials, Error> {
    let token = tokio::fs::read(token_file).await.map_err(|e| {
        Error::new(
            ErrorKind::InvalidConfig,
            format!(
                "cannot read the web identity token file {}: {}",
                token_file.display(),
                e.kind()
            ),
        )
        .with_provider(PROVIDER_ID)
    })?;
    let token = zeroize::Zeroizing::new(token);
    let token = std::str::from_utf8(&token).map_err(|_| {
        Error::new(
            ErrorKind::InvalidConfig,
            format!(
                "the web identity token file {} is not UTF-8 text",
                token_file.display()
            ),
        )
        .with_provider(PROVIDER_ID)
    })?;
    let token = SecretString::from(token.trim());
    let ep = ctx.endpoints.resolve(Service::Sts, ctx.region);
    sts::assume_role_with_web_identity(
        ctx.transport,
        &ep,
        role,
        session_name,
        token.expose_secret(),
    )
    .await
}

async fn assume(
    ctx: &SourceContext<'_>,
    from: &Credentials,
    step: &RoleStep,
) -> Result<Credentials, Error> {
    let code = match &step.mfa_serial {
        None => None,
        Some(serial) => {
            let code = ctx.interaction.ask_mfa_code(serial).await?;
            let code = check_code(code.expose_secret())
                .map(|c| SecretString::from(c.to_owned()))
                .map_err(|why| {
                    Error::new(ErrorKind::AuthFailed, format!("MFA device {serial}: {why}"))
                        .with_provider(PROVIDER_ID)
                })?;
            Some((serial.as_str(), code))
        }
    };
    let ep = ctx.endpoints.resolve(Service::Sts, ctx.region);
    sts::assume_role(
        ctx.transport,
        &ep,
        from,
        &step.role,
        &sts::RoleOptions {
            session_name: step.session_name.as_deref(),
            external_id: step.external_id.as_deref(),
            duration_seconds: step.duration_seconds,
            mfa: code.as_ref().map(|(s, c)| (*s, c.expose_secret())),
        },
    )
    .await
    .map_err(|e| {
        Error::new(
            e.kind(),
            format!("{} (profile `{}`)", e.message(), step.profile),
        )
        .with_provider(PROVIDER_ID)
        .with_retryable(e.is_retryable())
    })
}
