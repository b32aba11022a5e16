//! Workload identity federation (AKS, GitHub Actions, other OIDC issuers): the platform
//! writes a short-lived JWT to `AZURE_FEDERATED_TOKEN_FILE` and replaces it before it
//! expires; the file is read again for every token request and sent as the client
//! assertion of a client credentials grant for `AZURE_CLIENT_ID` in `AZURE_TENANT_ID`.

use std::path::PathBuf;

use async_trait::async_trait;
use secrecy::SecretString;
use vault_core::{Error, ErrorKind, ProviderId};

use super::{client_assertion, Answer, TokenSource};
use crate::oauth_context::OAuthContext;
use crate::PROVIDER_ID;

/// The largest token file read: a JWT is a few KiB.
const MAX_FILE: u64 = 64 * 1024;

/// The federated token file.
pub(crate) struct WorkloadIdentity {
    pub token_file: PathBuf,
}

impl WorkloadIdentity {
    async fn read(&self) -> Result<SecretString, Error> {
        let err = |why: String| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "federated token file `{}` (AZURE_FEDERATED_TOKEN_FILE): {why}",
                    self.token_file.display()
                ),
            )
            .with_provider(ProviderId::from_static(PROVIDER_ID))
        };
        let meta = tokio::fs::metadata(&self.token_file)
            .await
            .map_err(|e| err(format!("cannot read it: {e}")))?;
        if meta.len() > MAX_FILE {
            return Err(err(format!("larger than {MAX_FILE} bytes")));
        }
        let bytes = zeroize::Zeroizing::new(
            tokio::fs::read(&self.token_file)
                .await
                .map_err(|e| err(format!("cannot read it: {e}")))?,
        );
        let text = std::str::from_utf8(&bytes).map_err(|_| err("not text".into()))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(err("it is empty".into()));
        }
        if !token.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'=' | b'+' | b'/')
        }) {
            return Err(err("it does not hold a JWT".into()));
        }
        Ok(SecretString::from(token))
    }
}

#[async_trait]
impl TokenSource for WorkloadIdentity {
    fn name(&self) -> &'static str {
        "workload_identity"
    }

    async fn token(&self, ctx: &OAuthContext<'_>) -> Result<Answer, Error> {
        if ctx.client_id.is_empty() || ctx.authority.is_multi_tenant() {
            return Ok(Answer::NotMine(
                "workload identity needs AZURE_CLIENT_ID and a concrete AZURE_TENANT_ID".into(),
            ));
        }
        let assertion = self.read().await?;
        client_assertion::redeem(ctx, &assertion, false)
            .await
            .map(Answer::Token)
    }
}
