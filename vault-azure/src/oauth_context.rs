//! What every sign-in flow needs: the endpoints, the app, the audience, the transport.

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, Client, ClientId, EndpointNotSet, EndpointSet, ExtraTokenFields, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
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

/// The fields of a Microsoft token response beyond RFC 6749 that we read: the `id_token`
/// (its `nonce` is checked after the browser sign-in).
#[derive(Clone, Default, Deserialize, Serialize)]
pub(crate) struct EntraFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<IdToken>,
}

/// An ID token, held as a [`SecretString`] (wiped on drop, never formatted).
#[derive(Clone)]
pub(crate) struct IdToken(pub SecretString);

impl<'de> Deserialize<'de> for IdToken {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| IdToken(SecretString::from(s)))
    }
}

/// Only because [`ExtraTokenFields`] requires it; this crate never serializes a response.
impl Serialize for IdToken {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.expose_secret())
    }
}

impl std::fmt::Debug for EntraFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EntraFields { .. }")
    }
}

impl ExtraTokenFields for EntraFields {}

/// A token response of the Microsoft identity platform.
pub(crate) type EntraTokenResponse = StandardTokenResponse<EntraFields, BasicTokenType>;

/// A client with the token endpoint set (and optionally the authorization and device
/// authorization endpoints).
pub(crate) type TokenClient<A = EndpointNotSet, D = EndpointNotSet> = Client<
    BasicErrorResponse,
    EntraTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    A,
    D,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

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
        Ok(Client::new(ClientId::new(self.client_id.to_owned()))
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
