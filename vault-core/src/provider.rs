//! The provider trait: what every external vault implements. Plugin style: core never names a
//! concrete provider, so adding one needs no change here.

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;
use time::OffsetDateTime;

use crate::error::Error;
use crate::interaction::Interaction;
use crate::link::{Link, Locator, ProviderId};
use crate::session::SessionState;

/// Who may change a provider's integration settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SettingsPolicy {
    /// Any user may connect, change and disconnect the integration.
    #[default]
    AnyUser,
    /// Only [`Role::Admin`](crate::Role::Admin) may (HashiCorp Vault: an admin sets it up for
    /// the whole team).
    AdminOnly,
}

/// Metadata of an external secret, never its value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretDetails {
    /// The provider's full identifier of the secret (URL, ARN, path).
    pub id: String,
    /// The secret's name in the external vault.
    pub name: Option<String>,
    /// The version served.
    pub version: Option<String>,
    /// Whether the external secret is enabled.
    pub enabled: Option<bool>,
    /// When it was created.
    pub created: Option<OffsetDateTime>,
    /// When it was last updated.
    pub updated: Option<OffsetDateTime>,
    /// When it expires.
    pub expires: Option<OffsetDateTime>,
    /// Its declared content type.
    pub content_type: Option<String>,
    /// Other provider-specific facts (labels, stages, tags), never a value.
    pub extra: Vec<(String, String)>,
}

impl SecretDetails {
    /// Details with only the identifier set.
    pub fn new(id: impl Into<String>) -> Self {
        SecretDetails {
            id: id.into(),
            ..Default::default()
        }
    }
}

/// One kind of external vault.
///
/// Implementations keep their own session (tokens, temporary credentials) and are shared
/// behind an `Arc`. Errors carry [`ErrorKind`](crate::ErrorKind)s a resolver can report and
/// messages without any secret material.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The provider's id: the key of its tables in the config file.
    fn id(&self) -> ProviderId;

    /// A human name, such as "AWS Secrets Manager".
    fn display_name(&self) -> &str;

    /// Who may change this provider's settings.
    fn settings_policy(&self) -> SettingsPolicy {
        SettingsPolicy::AnyUser
    }

    /// Checks a link when it is made and returns its canonical locator: no network.
    fn validate_link(&self, link: &Link) -> Result<Locator, Error>;

    /// Fetches the current value of a validated link. May sign in through `interaction`
    /// when the session allows it; concurrent calls should share one sign-in.
    async fn fetch(
        &self,
        link: &Link,
        interaction: &dyn Interaction,
    ) -> Result<SecretString, Error>;

    /// Metadata of the linked secret, never its value.
    async fn describe(
        &self,
        link: &Link,
        interaction: &dyn Interaction,
    ) -> Result<SecretDetails, Error>;

    /// Signs in (again), replacing any session.
    async fn sign_in(&self, interaction: &dyn Interaction) -> Result<SessionState, Error>;

    /// Signs out: forgets every token and temporary credential.
    async fn sign_out(&self) -> Result<(), Error>;

    /// The session as the provider knows it now.
    fn session(&self) -> SessionState;

    /// The session with who is signed in and where it came from, for `status` (never a
    /// token). The default knows only the state; providers that know more override it.
    fn session_info(&self) -> crate::session::SessionInfo {
        crate::session::SessionInfo::new(self.session())
    }
}

/// A shared provider.
pub type DynProvider = Arc<dyn Provider>;
