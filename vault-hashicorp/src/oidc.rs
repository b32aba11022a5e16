//! Vault's OIDC provider as seen by a public client: discovery, the authorization URL (code
//! flow with PKCE S256, state and nonce) and the code exchange (through the `oauth2` crate).
//!
//! The provider's URLs already hold the namespace in their path, so these calls never send
//! `X-Vault-Namespace` (header and prefix would be concatenated into `team1/team1`).
//!
//! Scopes: always `openid`; also [`defaults::GROUPS_SCOPE`] when the discovery document's
//! `scopes_supported` lists it. Vault's provider puts a scope's claims into the id_token only
//! when the sign-in asks for that scope, and the setup tool's `--group` binds the JWT role to
//! the `groups` claim; asking only for what the provider announces needs no setting and keeps
//! older setups (and providers without the scope) working unchanged.

use std::fmt;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, Client, ClientId, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;
use vault_core::{Error, ErrorKind};

use crate::address::{check_scheme, ProviderUrl, VaultAddress};
use crate::defaults;
use crate::http::{sanitize, short, VaultApi};
use crate::PROVIDER_ID;

/// What discovery tells about the provider.
#[derive(Clone, Debug)]
pub(crate) struct Discovery {
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub jwks_uri: Url,
    /// `scopes_supported` (strings only; absent or malformed: none).
    pub scopes_supported: Vec<String>,
}

impl Discovery {
    /// The scopes the sign-in asks for: `openid`, and `groups` when the provider offers it.
    pub fn scopes(&self) -> Vec<&'static str> {
        let mut scopes = vec!["openid"];
        if self
            .scopes_supported
            .iter()
            .any(|s| s == defaults::GROUPS_SCOPE)
        {
            scopes.push(defaults::GROUPS_SCOPE);
        }
        scopes
    }
}

fn err(kind: ErrorKind, message: impl Into<String>) -> Error {
    Error::new(kind, message).with_provider(PROVIDER_ID)
}

/// An endpoint of the discovery document. With `pinned`, it must be on that Vault address
/// (same origin, under its prefix): the token endpoint receives the code and the PKCE
/// verifier, and the keys decide which id_tokens are believed.
fn endpoint(doc: &Value, key: &str, pinned: Option<&VaultAddress>) -> Result<Url, Error> {
    let text = doc.get(key).and_then(Value::as_str).ok_or_else(|| {
        err(
            ErrorKind::InvalidResponse,
            format!("OIDC discovery has no `{key}`"),
        )
    })?;
    let url = Url::parse(text).map_err(|_| {
        err(
            ErrorKind::InvalidResponse,
            format!("OIDC discovery: `{key}` is not a URL"),
        )
    })?;
    check_scheme(&url, text).map_err(|_| {
        err(
            ErrorKind::InvalidResponse,
            format!("OIDC discovery: `{key}` must use https:// (or http:// to a loopback host)"),
        )
    })?;
    if let Some(address) = pinned {
        if !address.owns(&url) {
            return Err(err(
                ErrorKind::InvalidResponse,
                format!(
                    "OIDC discovery: `{key}` is not on the Vault server {address}; refusing to use it"
                ),
            ));
        }
    }
    Ok(url)
}

/// `GET <issuer>/.well-known/openid-configuration`; the issuer it states must be the one
/// configured (else its id_tokens would not validate, and the URL was wrong).
pub(crate) async fn discover(api: &VaultApi, provider: &ProviderUrl) -> Result<Discovery, Error> {
    let what = "OIDC discovery";
    let url = Url::parse(&provider.endpoint(".well-known/openid-configuration"))
        .map_err(|_| err(ErrorKind::InvalidConfig, "bad OIDC provider URL"))?;
    let reply = api.call(Method::GET, url, None, None, what).await?;
    if reply.status.as_u16() == 404 || reply.status.as_u16() == 400 {
        return Err(err(
            ErrorKind::InvalidConfig,
            format!(
                "no OIDC provider at {} (HTTP {}): check `oidc_provider_url` and `namespace`",
                provider.issuer(),
                reply.status.as_u16()
            ),
        ));
    }
    let doc = reply.ok(what)?;
    let issuer = doc.get("issuer").and_then(Value::as_str).unwrap_or("");
    if issuer.trim_end_matches('/') != provider.issuer() {
        return Err(err(
            ErrorKind::InvalidConfig,
            format!(
                "the OIDC provider states issuer `{}`, not the configured `{}`",
                sanitize(issuer),
                provider.issuer()
            ),
        ));
    }
    // every endpoint must be the Vault server itself: the token endpoint receives the code
    // and verifier, the JWKS says which keys to trust, and the user types credentials at the
    // authorization endpoint (a foreign one would be a phishing page)
    let address = api.address();
    Ok(Discovery {
        authorization_endpoint: endpoint(&doc, "authorization_endpoint", Some(address))?,
        token_endpoint: endpoint(&doc, "token_endpoint", Some(address))?,
        jwks_uri: endpoint(&doc, "jwks_uri", Some(address))?,
        scopes_supported: doc
            .get("scopes_supported")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// The id_token of a token response, redacted in `Debug`.
#[derive(Clone, Deserialize, Serialize)]
#[serde(transparent)]
pub(crate) struct IdTokenText(String);

impl fmt::Debug for IdTokenText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The OIDC field of a token response beyond OAuth 2.0's.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub(crate) struct IdTokenFields {
    id_token: Option<IdTokenText>,
}
impl ExtraTokenFields for IdTokenFields {}

type OidcTokenResponse = StandardTokenResponse<IdTokenFields, BasicTokenType>;
type OidcClient = Client<
    BasicErrorResponse,
    OidcTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// One authorization request in flight: the URL to open and what the callback and the
/// exchange must match.
pub(crate) struct AuthRequest {
    pub url: Url,
    pub state: SecretString,
    pub nonce: SecretString,
    verifier: PkceCodeVerifier,
    client: OidcClient,
}

impl fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRequest")
            .field("url", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Builds the authorization request for `redirect_uri` (the port actually bound).
pub(crate) fn authorize(
    disc: &Discovery,
    client_id: &str,
    redirect_uri: &str,
) -> Result<AuthRequest, Error> {
    let redirect = RedirectUrl::new(redirect_uri.to_owned())
        .map_err(|_| err(ErrorKind::InvalidConfig, "bad redirect URI"))?;
    let client: OidcClient = Client::new(ClientId::new(client_id.to_owned()))
        .set_auth_uri(AuthUrl::from_url(disc.authorization_endpoint.clone()))
        .set_token_uri(TokenUrl::from_url(disc.token_endpoint.clone()))
        .set_redirect_uri(redirect)
        // a public client: client_id in the form body, no secret, no Basic auth header
        .set_auth_type(AuthType::RequestBody);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = CsrfToken::new_random();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(disc.scopes().into_iter().map(|s| Scope::new(s.to_owned())))
        .set_pkce_challenge(challenge)
        .add_extra_param("nonce", nonce.secret().clone())
        .url();
    Ok(AuthRequest {
        url,
        state: SecretString::from(state.secret().clone()),
        nonce: SecretString::from(nonce.secret().clone()),
        verifier,
        client,
    })
}

/// Our client as the `oauth2` crate's HTTP client.
struct Bounded<'a>(&'a reqwest::Client);

type BoxedCall<'c> = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<oauth2::HttpResponse, oauth2::HttpClientError<reqwest::Error>>,
            > + Send
            + 'c,
    >,
>;

impl<'c> oauth2::AsyncHttpClient<'c> for Bounded<'_> {
    type Error = oauth2::HttpClientError<reqwest::Error>;
    type Future = BoxedCall<'c>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(bounded_call(self.0, request))
    }
}

/// The token request of the `oauth2` crate, sent with our client and its body read through
/// [`crate::http::read_body`] (capped, wiped, with a deadline) instead of unbounded.
async fn bounded_call(
    http: &reqwest::Client,
    req: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, oauth2::HttpClientError<reqwest::Error>> {
    use oauth2::HttpClientError;
    let (parts, body) = req.into_parts();
    let mut rb = http.request(parts.method, parts.uri.to_string()).body(body);
    for (k, v) in &parts.headers {
        rb = rb.header(k, v);
    }
    let resp = rb
        .send()
        .await
        .map_err(|e| HttpClientError::Reqwest(Box::new(e)))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = crate::http::read_body(resp, crate::http::DEFAULT_BODY_DEADLINE)
        .await
        .map_err(|e| match e {
            crate::http::BodyError::Transport(e) => HttpClientError::Reqwest(Box::new(e)),
            crate::http::BodyError::TooLarge(t) => HttpClientError::Other(t.to_string()),
            crate::http::BodyError::Deadline => {
                HttpClientError::Other("the answer did not arrive in time".into())
            }
        })?;
    let mut out = oauth2::http::Response::builder()
        .status(status)
        .body(bytes.to_vec())?;
    *out.headers_mut() = headers;
    Ok(out)
}

impl AuthRequest {
    /// Exchanges the code for tokens and returns the id_token (not yet validated).
    pub async fn exchange(
        self,
        http: &reqwest::Client,
        code: SecretString,
    ) -> Result<SecretString, Error> {
        let resp = self
            .client
            .exchange_code(AuthorizationCode::new(code.expose_secret().to_owned()))
            .set_pkce_verifier(self.verifier)
            .request_async(&Bounded(http))
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => err(
                    ErrorKind::AuthFailed,
                    format!(
                        "the OIDC token endpoint refused the code: {}{}",
                        short(r.error().as_ref()),
                        r.error_description()
                            .map(|d| format!(" ({})", sanitize(d)))
                            .unwrap_or_default()
                    ),
                ),
                RequestTokenError::Request(e) => {
                    let timeout =
                        matches!(&e, oauth2::HttpClientError::Reqwest(r) if r.is_timeout());
                    let kind = if timeout {
                        ErrorKind::Timeout
                    } else {
                        ErrorKind::Unreachable
                    };
                    match e {
                        // The cause in the message and through `source()`, its URL left out.
                        oauth2::HttpClientError::Reqwest(r) => {
                            let r = r.without_url();
                            let cause = vault_core::telemetry::transport_cause(&r)
                                .map(|c| format!(": {c}"))
                                .unwrap_or_default();
                            err(kind, format!("cannot reach the OIDC token endpoint{cause}"))
                                .with_source(r)
                        }
                        _ => err(kind, "cannot reach the OIDC token endpoint"),
                    }
                }
                RequestTokenError::Parse(..) => err(
                    ErrorKind::InvalidResponse,
                    "the OIDC token endpoint answered something that is not a token response",
                ),
                RequestTokenError::Other(o) => err(
                    ErrorKind::InvalidResponse,
                    format!("OIDC token endpoint: {}", sanitize(&o)),
                ),
            })?;
        use oauth2::TokenResponse;
        let id = resp.extra_fields().id_token.clone().ok_or_else(|| {
            err(
                ErrorKind::InvalidResponse,
                "the OIDC token response has no id_token (is `openid` in the scopes?)",
            )
        })?;
        let _ = resp.access_token();
        Ok(SecretString::from(id.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discovery(scopes: &[&str]) -> Discovery {
        let u = |p: &str| Url::parse(&format!("http://127.0.0.1:8200/v1/{p}")).unwrap();
        Discovery {
            authorization_endpoint: u("authorize"),
            token_endpoint: u("token"),
            jwks_uri: u("keys"),
            scopes_supported: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn scope_param(d: &Discovery) -> String {
        let r = authorize(d, "cid", "http://127.0.0.1:10545/").unwrap();
        r.url
            .query_pairs()
            .find(|(k, _)| k == "scope")
            .map(|(_, v)| v.into_owned())
            .unwrap()
    }

    #[test]
    fn groups_is_asked_for_only_when_the_provider_offers_it() {
        assert_eq!(scope_param(&discovery(&[])), "openid");
        assert_eq!(scope_param(&discovery(&["openid", "email"])), "openid");
        assert_eq!(
            scope_param(&discovery(&["openid", "groups"])),
            "openid groups"
        );
        // Vault lists the provider's scopes after `openid`; the order does not matter
        assert_eq!(scope_param(&discovery(&["groups"])), "openid groups");
    }
}
