//! Credential sources: the ways to get a Key Vault token without a person at the keyboard.
//!
//! Each source sits behind one trait, [`TokenSource`], and answers either with a token or
//! with "not mine" ([`Answer::NotMine`]: its configuration or its environment is absent).
//! A named `flow` uses one source and turns "not mine" into an error that says what is
//! missing; `flow = "auto"` tries a [`Chain`] in a fixed, documented order (the order of
//! `DefaultAzureCredential`) and keeps the first source that answered.
//!
//! | source | file | when it is "mine" |
//! | --- | --- | --- |
//! | client secret | [`client_secret`] | a secret (`AZURE_CLIENT_SECRET`) with tenant and client id |
//! | certificate | [`certificate`] | `AZURE_CLIENT_CERTIFICATE_PATH` with tenant and client id |
//! | workload identity | [`workload_identity`] | `AZURE_FEDERATED_TOKEN_FILE` with tenant and client id |
//! | managed identity | [`managed_identity`] | App Service's `IDENTITY_ENDPOINT`, or IMDS answering the probe |
//! | Azure CLI | [`azure_cli`] | `az` on `PATH`, signed in |
//!
//! The interactive flows (browser, device code) are not sources: they need a person and
//! are run by the provider under its sign-in rules.

use async_trait::async_trait;
use vault_core::{Error, ErrorKind, ProviderId};

use crate::oauth_context::OAuthContext;
use crate::token_cache::TokenSet;
use crate::PROVIDER_ID;

pub(crate) mod azure_cli;
pub(crate) mod cert_file;
pub(crate) mod certificate;
pub(crate) mod client_assertion;
pub(crate) mod client_secret;
pub(crate) mod managed_identity;
pub(crate) mod workload_identity;

/// What a source says when asked for a token.
pub(crate) enum Answer {
    /// A token.
    Token(TokenSet),
    /// This source does not apply here; the text says why (no secret material).
    NotMine(String),
}

/// One way to get a token unattended.
#[async_trait]
pub(crate) trait TokenSource: Send + Sync {
    /// The source's name, as `status` and errors show it.
    fn name(&self) -> &'static str;

    /// A Key Vault token, or [`Answer::NotMine`]. An `Err` means the source applies but
    /// failed (refused credentials, a server error): the chain stops there.
    async fn token(&self, ctx: &OAuthContext<'_>) -> Result<Answer, Error>;
}

/// Sources tried in order; the first one that answers is kept for every later token.
pub(crate) struct Chain {
    sources: Vec<Box<dyn TokenSource>>,
    winner: std::sync::Mutex<Option<usize>>,
}

impl Chain {
    pub(crate) fn new(sources: Vec<Box<dyn TokenSource>>) -> Self {
        Chain {
            sources,
            winner: std::sync::Mutex::new(None),
        }
    }

    /// The names of the sources, in order.
    pub(crate) fn names(&self) -> Vec<&'static str> {
        self.sources.iter().map(|s| s.name()).collect()
    }

    /// A token from the winning source, or from the first source that answers. Returns the
    /// name of the source that gave it.
    pub(crate) async fn token(
        &self,
        ctx: &OAuthContext<'_>,
    ) -> Result<(TokenSet, &'static str), Error> {
        let winner = *self.winner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = winner {
            let source = &self.sources[i];
            return match source.token(ctx).await? {
                Answer::Token(t) => Ok((t, source.name())),
                Answer::NotMine(why) => Err(unavailable(source.name(), &why)),
            };
        }
        let mut tried = Vec::new();
        for (i, source) in self.sources.iter().enumerate() {
            match source.token(ctx).await {
                Ok(Answer::Token(t)) => {
                    *self.winner.lock().unwrap_or_else(|e| e.into_inner()) = Some(i);
                    return Ok((t, source.name()));
                }
                Ok(Answer::NotMine(why)) => tried.push(format!("{}: {why}", source.name())),
                Err(e) => {
                    let message =
                        format!("{} (credential source `{}`)", e.message(), source.name());
                    return Err(e
                        .with_message(message)
                        .with_provider(ProviderId::from_static(PROVIDER_ID)));
                }
            }
        }
        Err(Error::new(
            ErrorKind::SignedOut,
            format!(
                "no Azure credential source is available (tried in order: {}); set flow and the AZURE_* variables, or run `az login`",
                tried.join("; ")
            ),
        )
        .with_provider(ProviderId::from_static(PROVIDER_ID)))
    }
}

/// The error when the one source a `flow` names is not available.
pub(crate) fn unavailable(name: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::SignedOut,
        format!("credential source `{name}` is not available: {why}"),
    )
    .with_provider(ProviderId::from_static(PROVIDER_ID))
}
