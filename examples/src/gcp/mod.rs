//! Google Cloud Secret Manager, as a provider written outside the workspace's crates: the proof
//! that a fourth store plugs into `vault-core` through [`vault_core::Provider`] and
//! [`vault_core::ProviderFactory`] alone, with no change to core.
//!
//! It reads one secret version over the REST API
//! (`GET https://secretmanager.googleapis.com/v1/projects/*/secrets/*/versions/*:access`,
//! the value base64 in `payload.data`) with an OAuth access token, and is deliberately small:
//!
//! ```toml
//! [integrations.gcp]
//! project = "my-project"                 # default project of links that name none
//! access_token_env = "GOOGLE_OAUTH_ACCESS_TOKEN"   # optional; the variable holding the token
//! endpoint = "http://127.0.0.1:8080"     # optional; tests and private endpoints
//!
//! [secrets.db.gcp]
//! secret = "db-password"                 # or "projects/my-project/secrets/db-password"
//! version = "latest"                     # optional: a version number or "latest"
//! json_key = "password"                  # optional, handled by core like for any provider
//! ```
//!
//! Not supported: signing in (get a token with `gcloud auth print-access-token`), regional
//! secrets (`projects/*/locations/*`), describing more than a version's state and dates.

mod factory;
mod provider;

pub use factory::GcpFactory;
pub use provider::GcpProvider;
