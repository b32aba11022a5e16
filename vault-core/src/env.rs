//! The process environment, injected so that `value_env` secrets and provider settings are
//! tested without touching the real environment.

use std::collections::HashMap;

use secrecy::SecretString;

/// Reads environment variables.
pub trait Environment: Send + Sync + 'static {
    /// The variable's value, if set and valid Unicode.
    fn var(&self, name: &str) -> Option<SecretString>;
}

/// The real process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<SecretString> {
        std::env::var(name).ok().map(SecretString::from)
    }
}

/// A fixed set of variables: for tests and embedding.
#[derive(Default)]
pub struct MapEnv(HashMap<String, SecretString>);

impl MapEnv {
    /// An empty environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a variable (builder style).
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.0.insert(name.to_owned(), SecretString::from(value));
        self
    }
}

impl std::fmt::Debug for MapEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Environment for MapEnv {
    fn var(&self, name: &str) -> Option<SecretString> {
        self.0.get(name).cloned()
    }
}
