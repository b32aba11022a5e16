//! HTTP requests as the resolver sees them: templates in, secret-bearing parts out.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::report::Report;

/// A request template: references may appear in the URL, in header values and in the body.
/// Header names are taken literally.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method (`GET`, `POST`...).
    pub method: String,
    /// The URL template.
    pub url: String,
    /// Header names and value templates, in order.
    pub headers: Vec<(String, String)>,
    /// The body template.
    pub body: Option<String>,
}

impl HttpRequest {
    /// A request with no headers and no body.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        HttpRequest {
            method: method.into(),
            url: url.into(),
            ..Default::default()
        }
    }

    /// Adds a header (builder style).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body (builder style).
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }
}

/// A resolved request. Its parts may hold secret values, so they stay in `SecretString`s and
/// `Debug` redacts them.
#[derive(Clone)]
pub struct ResolvedRequest {
    /// The method.
    pub method: String,
    /// The resolved URL.
    pub url: SecretString,
    /// Header names and resolved values.
    pub headers: Vec<(String, SecretString)>,
    /// The resolved body.
    pub body: Option<SecretString>,
    /// What happened to each reference.
    pub report: Report,
}

impl fmt::Debug for ResolvedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedRequest")
            .field("method", &self.method)
            .field("url", &"[REDACTED]")
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("body", &self.body.as_ref().map(|_| "[REDACTED]"))
            .field("report", &self.report)
            .finish()
    }
}

/// A resolved text template.
#[derive(Clone)]
pub struct Resolution {
    /// The text with its references substituted (unresolved ones left as written in lenient
    /// mode).
    pub output: SecretString,
    /// What happened to each reference.
    pub report: Report,
}

impl Resolution {
    /// The resolved text. Named so that every use of secret material is visible in review.
    pub fn expose(&self) -> &str {
        self.output.expose_secret()
    }
}

impl fmt::Debug for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolution")
            .field("output", &"[REDACTED]")
            .field("report", &self.report)
            .finish()
    }
}
