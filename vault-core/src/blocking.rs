//! A blocking facade over [`Resolver`], for hosts without an async runtime
//! (a synchronous CLI, a plugin, a build script).
//!
//! ```
//! use vault_core::{HttpRequest, Resolver, Vault, VaultSecret};
//! use secrecy::ExposeSecret;
//!
//! let resolver = Resolver::builder(Vault::new().with("k", VaultSecret::local("v")))
//!     .build()
//!     .blocking()
//!     .unwrap();
//! let out = resolver.resolve("x={{vault:k}}", None).unwrap();
//! assert_eq!(out.expose(), "x=v");
//! ```
//!
//! It owns a single-threaded tokio runtime and runs each call on it to completion. Calling it
//! from inside an async runtime is an error (not a panic): use the async methods there.

use crate::error::{Error, ErrorKind};
use crate::request::{HttpRequest, Resolution, ResolvedRequest};
use crate::resolver::{Resolver, SecretStatus};
use secrecy::SecretString;

/// A [`Resolver`] whose calls block the current thread.
#[derive(Debug)]
pub struct BlockingResolver {
    resolver: Resolver,
    runtime: tokio::runtime::Runtime,
}

impl Resolver {
    /// This resolver behind a blocking facade (it shares the vault, cache and sessions).
    pub fn blocking(self) -> Result<BlockingResolver, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Other,
                    format!("cannot start the blocking resolver's runtime: {e}"),
                )
            })?;
        Ok(BlockingResolver {
            resolver: self,
            runtime,
        })
    }
}

impl BlockingResolver {
    fn run<T>(&self, f: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::new(
                ErrorKind::Other,
                "the blocking resolver was called inside an async runtime; use Resolver's async methods there",
            ));
        }
        self.runtime.block_on(f)
    }

    /// The async resolver (same vault, cache and sessions).
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// [`Resolver::resolve`], blocking.
    pub fn resolve(&self, text: &str, request_url: Option<&str>) -> Result<Resolution, Error> {
        self.run(self.resolver.resolve(text, request_url))
    }

    /// [`Resolver::resolve_request`], blocking.
    pub fn resolve_request(&self, request: &HttpRequest) -> Result<ResolvedRequest, Error> {
        self.run(self.resolver.resolve_request(request))
    }

    /// [`Resolver::get`], blocking.
    pub fn get(&self, name: &str, request_url: Option<&str>) -> Result<SecretString, Error> {
        self.run(self.resolver.get(name, request_url))
    }

    /// [`Resolver::value`], blocking.
    pub fn value(&self, name: &str) -> Result<SecretString, Error> {
        self.run(self.resolver.value(name))
    }

    /// [`Resolver::check`], blocking.
    pub fn check(&self) -> Result<Vec<SecretStatus>, Error> {
        self.run(async { Ok(self.resolver.check().await) })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Resolver, Vault, VaultSecret};

    #[test]
    fn inside_a_runtime_is_an_error_not_a_panic() {
        let r = Resolver::builder(Vault::new().with("k", VaultSecret::local("v")))
            .build()
            .blocking()
            .unwrap();
        assert_eq!(r.resolve("{{vault:k}}", None).unwrap().expose(), "v");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let e = rt.block_on(async { r.value("k").map(|_| ()) }).unwrap_err();
        assert!(e.to_string().contains("inside an async runtime"), "{e}");
    }
}
