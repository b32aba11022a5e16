//! The names this project uses on a Vault server, shared by the setup tool and the
//! integration settings so that an admin who accepts every default needs to hand out only the
//! provider URL and the client id.

/// The OIDC client (and OIDC provider) name: `vault-refs`.
pub const CLIENT_NAME: &str = "vault-refs";
/// The JWT auth method's mount path: `vault-refs-jwt`.
pub const JWT_AUTH_PATH: &str = "vault-refs-jwt";
/// The JWT role users log in with: `vault-refs`.
pub const ROLE: &str = "vault-refs";
/// The read policy attached to the role: `vault-refs-read`.
pub const POLICY_NAME: &str = "vault-refs-read";
/// The OIDC scope whose claim carries the signed-in entity's group names (`--group`): the
/// setup tool creates it, lists it in the provider's `scopes_supported`, and binds the JWT
/// role's `groups` claim; the sign-in requests it when discovery lists it. The same name with
/// `--seed-names`.
pub const GROUPS_SCOPE: &str = "groups";
/// The template of [`GROUPS_SCOPE`]: a `groups` claim holding the names of the entity's
/// groups (Vault's identity-template syntax; the placeholder renders a JSON array).
pub const GROUPS_SCOPE_TEMPLATE: &str = r#"{"groups": {{identity.entity.groups.names}}}"#;
/// The loopback redirect URI tried first.
pub const REDIRECT_URI: &str = "http://127.0.0.1:10545/";
/// The loopback redirect URI tried when the first port is taken.
pub const FALLBACK_REDIRECT_URI: &str = "http://127.0.0.1:10534/";
/// `--seed-names`: the seed's OIDC client (and provider) name.
pub const SEED_CLIENT_NAME: &str = "postman-integration-client";
/// `--seed-names`: the seed's JWT auth method mount path.
pub const SEED_JWT_AUTH_PATH: &str = "postman-jwt";
/// `--seed-names`: the seed's JWT role.
pub const SEED_ROLE: &str = "postman";
/// `--seed-names`: the seed's read policy name.
pub const SEED_POLICY_NAME: &str = "postman-integration-policy";
/// The seed's broad read policy (`--broad-read` only; the default is least privilege, see
/// [`crate::read_policy`]): read and list everything the token can reach, nothing under
/// `sys/` or `auth/` (the `default` policy still grants what a token needs about itself).
pub const POLICY_TEXT: &str = r#"# vault-refs: read secrets, nothing else
path "*"      { capabilities = ["read", "list"] }
path "sys/*"  { capabilities = ["deny"] }
path "auth/*" { capabilities = ["deny"] }
"#;
