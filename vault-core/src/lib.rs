//! # vault-core
//!
//! Resolves `{{vault:NAME}}` references in request templates against a vault of named secrets:
//! local values, environment variables, or links to external vaults served by provider crates
//! (`vault-azure`, `vault-hashicorp`, `vault-aws`, or your own [`Provider`]).
//!
//! ```
//! use vault_core::{AllowedDomains, HttpRequest, Resolver, Vault, VaultSecret};
//! use secrecy::ExposeSecret;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let vault = Vault::new().with(
//!     "github-token",
//!     VaultSecret::local("ghp_example")
//!         .allowed_domains(AllowedDomains::parse(["api.github.com"]).unwrap()),
//! );
//! let resolver = Resolver::builder(vault).build();
//! let request = HttpRequest::new("GET", "https://api.github.com/user")
//!     .header("Authorization", "Bearer {{vault:github-token}}");
//! let resolved = resolver.resolve_request(&request).await.unwrap();
//! assert_eq!(resolved.headers[0].1.expose_secret(), "Bearer ghp_example");
//! assert!(resolved.report.is_complete());
//! # });
//! ```
//!
//! The pieces, one module each: [`template`] (the reference grammar), [`domain`] (allowed
//! domains), [`vault`], [`link`], [`provider`], [`integration`], [`session`], [`session_store`], [`factory`], [`interaction`],
//! [`body`] (bounded, wiped response bodies, for providers), [`loopback`] (the OAuth loopback redirect listener of browser sign-ins, for providers),
//! [`store`] (the default durable store: one encrypted file), [`persist`] (values kept across processes),
//! [`cache`], [`resolver`], [`retry`], [`report`], [`request`], [`error`], [`config`], [`clock`], [`env`](mod@env),
//! [`telemetry`] (tracing and metrics: what the resolver and the providers record, never a secret;
//! [`Resolver::metrics`]).
#![forbid(unsafe_code)]

pub mod blocking;
pub mod body;
pub mod cache;
pub mod clock;
pub mod config;
pub mod domain;
pub mod encoding;
pub mod env;
pub mod error;
pub mod factory;
#[cfg(feature = "http")]
pub mod http;
pub mod integration;
pub mod interaction;
pub mod json_key;
pub mod link;
pub mod loopback;
#[cfg(feature = "reqwest-middleware")]
pub mod middleware;
pub mod persist;
pub mod provider;
pub mod report;
pub mod request;
pub mod resolver;
pub mod retry;
pub mod session;
pub mod session_store;
pub mod store;
pub mod telemetry;
pub mod template;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "tower")]
pub mod tower;
#[cfg(all(feature = "testing", feature = "tracing"))]
pub mod trace_capture;
pub mod url_text;
pub mod vault;

pub use blocking::BlockingResolver;
pub use cache::{Cache, CacheConfig};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, ConfigError, IntegrationSettings};
pub use domain::{AllowedDomains, DomainPattern, RequestHost};
pub use encoding::Encoding;
pub use env::{Environment, MapEnv, ProcessEnv};
pub use error::{Error, ErrorKind, Result};
pub use factory::{ProviderContext, ProviderFactory};
pub use integration::{Integrations, Role};
pub use interaction::{DeviceCode, Interaction, NoInteraction};
pub use link::{Link, Locator, ProviderId};
pub use persist::PersistentValues;
pub use provider::{DynProvider, Provider, SecretDetails, SettingsPolicy};
pub use report::{Field, Outcome, ReferenceReport, Report};
pub use request::{HttpRequest, Resolution, ResolvedRequest};
pub use resolver::{FromConfig, Mode, Resolver, ResolverBuilder, SecretStatus};
pub use retry::RetryPolicy;
pub use session::{SessionInfo, SessionState};
pub use session_store::{MemorySessionStore, SessionStore, StoreError, StoreKey};
pub use store::{FileStore, StoreWarning};
pub use telemetry::Metrics;
pub use template::{Reference, Segment, Template, TemplateError, TemplateErrorKind};
pub use vault::{SecretSource, Vault, VaultSecret};

pub use secrecy;
