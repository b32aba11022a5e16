//! # vault-aws
//!
//! AWS Secrets Manager for [`vault_core`]: a [`Provider`](vault_core::Provider) that reads
//! secrets by ARN with plain REST calls signed by `aws-sigv4` (no AWS SDK).
//!
//! - **Credentials** ([`CredentialSource`]): the AWS SDKs' chain: the environment, a profile
//!   of the shared config and credentials files (static keys, `source_profile` /
//!   `credential_source` roles, SSO, `credential_process`; profile named in config or
//!   `AWS_PROFILE`, else `main`, then `default`), web identity, container credentials, IMDSv2.
//!   Temporary credentials and MFA discovery's answer can outlive the process in a
//!   [`SessionStore`](vault_core::SessionStore) (see [`stored`]).
//! - **MFA** ([`Mfa`]): with `mfa_serial`, or a device discovered through STS
//!   GetCallerIdentity and IAM ListMFADevices, the host's [`Interaction`](vault_core::Interaction)
//!   is asked for a code, and STS GetSessionToken makes a session used until it ends; then
//!   fetches fail with [`ErrorKind::SessionExpired`](vault_core::ErrorKind::SessionExpired)
//!   until the host signs in again.
//! - **Roles**: a link's `role_arn` is assumed with STS AssumeRole; its credentials are shared
//!   by every secret naming the role and renewed shortly before they expire.
//! - **Values**: GetSecretValue by ARN; `version` picks a version id or a staging label (see
//!   [`SecretVersion`]); `SecretBinary` comes back as base64 text (see [`secrets_manager`]).
//!
//! Links (`[secrets.NAME.aws]`): `secret_arn`, optional `role_arn`, optional `version`.
//! Settings (`[integrations.aws]`): see [`settings`].
//!
//! ```no_run
//! use vault_aws::{AwsProvider, Credentials, Mfa};
//! use vault_core::{Link, Provider, NoInteraction};
//! use secrecy::ExposeSecret;
//!
//! # async fn run() -> Result<(), vault_core::Error> {
//! let aws = AwsProvider::builder()
//!     .region("us-east-1")
//!     .static_credentials(Credentials::new("AKIA...", "..."))
//!     .mfa(Mfa::Off)
//!     .build()?;
//! let link = Link::new(vault_aws::PROVIDER_ID)
//!     .with("secret_arn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf");
//! let value = aws.fetch(&link, &NoInteraction).await?;
//! # let _ = value.expose_secret();
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod arn;
pub mod budget;
mod container;
pub mod credential_source;
pub mod credentials;
pub mod endpoint;
pub mod error_body;
pub mod error_map;
mod factory;
mod http_creds;
mod iam;
mod imds;
pub mod link;
pub mod mfa;
pub mod partition;
mod plan;
pub mod process;
pub mod profile_chain;
pub mod profile_file;
pub mod provider;
mod query;
pub mod roles;
pub mod secrets_manager;
pub mod session;
pub mod settings;
pub mod sigv4;
mod sso;
pub mod stored;
pub mod sts;
mod transport;
pub mod version;

pub use arn::{ArnError, RoleArn, SecretArn};
pub use budget::{DEFAULT_FETCH_TIMEOUT, DEFAULT_SIGN_IN_TIMEOUT};
pub use credential_source::{CredentialSource, ProfileFileSource};
pub use credentials::Credentials;
pub use endpoint::{Endpoints, Service};
pub use factory::Factory;
pub use link::AwsLink;
pub use mfa::Mfa;
pub use partition::Partition;
pub use profile_file::{ProfileFile, ProfileFileError};
pub use provider::{AwsProvider, AwsProviderBuilder};
pub use settings::{from_context, from_settings, AwsSettings};
pub use vault_core::RetryPolicy;
pub use version::SecretVersion;

/// The provider id: the key of `[integrations.aws]` and `[secrets.NAME.aws]`.
pub const PROVIDER_ID: vault_core::ProviderId = vault_core::ProviderId::from_static("aws");
