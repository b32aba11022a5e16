//! What every sign-in flow needs: the endpoints, the app, the audience, the transport.

use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, EndpointNotSet, EndpointSet, Scope, TokenUrl};
use vault_core::{Error, ErrorKind, ProviderId};

use crate::authority::Authority;
use crate::transport::Transport;
use crate::PROVIDER_ID;

/// Borrowed pieces of the provider, handed to the flows.
pub(crate) struct OAuthContext<'a> {
    pub authority: &'a Authority,
    pub client_id: &'a str,
    /// The Key Vault resource, e.g. `https://vault.azure.net`.
    pub resource: &'a str,
    pub transport: &'a Transport,
}

/// A client with only the token endpoint set.
pub(crate) type TokenClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

impl OAuthContext<'_> {
    /// `<resource>/.default`: every Key Vault permission the app registration was granted.
    pub fn vault_scope(&self) -> Scope {
        Scope::new(format!("{}/.default", self.resource))
    }

    /// Scopes of a user sign-in: Key Vault, plus `offline_access` for a refresh token and
    /// `openid` so that the nonce is meaningful.
    pub fn user_scopes(&self) -> Vec<Scope> {
        vec![
            Scope::new("openid".into()),
            Scope::new("offline_access".into()),
            self.vault_scope(),
        ]
    }

    /// A public client (no secret: `client_id` goes in the body) with the token endpoint.
    pub fn token_client(&self) -> Result<TokenClient, Error> {
        Ok(BasicClient::new(ClientId::new(self.client_id.to_owned()))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(TokenUrl::new(self.authority.token_url()).map_err(|_| bad_url())?))
    }
}

pub(crate) fn bad_url() -> Error {
    Error::new(
        ErrorKind::InvalidConfig,
        "the authority does not make valid endpoint URLs",
    )
    .with_provider(ProviderId::from_static(PROVIDER_ID))
}
