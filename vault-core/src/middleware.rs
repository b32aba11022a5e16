//! A [`reqwest-middleware`](reqwest_middleware) middleware (feature `reqwest-middleware`):
//! every request sent through the client is resolved before dispatch.
//!
//! ```no_run
//! use vault_core::{middleware::VaultMiddleware, Resolver, Vault};
//!
//! # async fn demo(resolver: Resolver) -> Result<(), reqwest_middleware::Error> {
//! // Redirects are followed by the middleware, which checks the secrets' allowed domains at
//! // every hop: the client itself must not follow them.
//! let client = reqwest::Client::builder()
//!     .redirect(reqwest::redirect::Policy::none())
//!     .build()?;
//! let client = reqwest_middleware::ClientBuilder::new(client)
//!     .with(VaultMiddleware::new(resolver))
//!     .build();
//! let response = client
//!     .get("https://api.github.com/user")
//!     .header("Authorization", "Bearer {{vault:github-token}}")
//!     .send()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! * The URL, header values and a bytes body are resolved as by
//!   [`Resolver::resolve_http`]; headers that received a secret are marked sensitive. A
//!   streaming body passes untouched.
//! * A redirect (301, 302, 303, 307, 308) is followed by the middleware, at most
//!   [`HttpOptions::max_redirects`] times, only if every secret the request carries may go to
//!   the new host ([`Resolver::check_redirect`]); otherwise the call fails with an
//!   [`ErrorKind::DomainNotAllowed`](crate::ErrorKind::DomainNotAllowed) error and nothing goes
//!   to that host. Like browsers, a redirect to another origin drops `Authorization` and
//!   `Cookie`; 301/302 after a `POST`, and 303, become a `GET` without body.
//! * A client built without `redirect::Policy::none()` follows redirects before the
//!   middleware sees them: the middleware then cannot stop them. It still fails the call when
//!   the final URL is a host the secrets may not go to, so the mistake is loud.
//! * Errors are `reqwest_middleware::Error::Middleware` holding a [`crate::Error`].
//! * The report of what happened to each reference is put in the call's extensions as a
//!   [`ResolveReport`] when the call returns (read it with
//!   `ClientWithMiddleware::execute_with_extensions`).

use std::sync::Arc;

use ::http::{header, Extensions};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::http::{redirect, strip_cross_origin, BodyStatus, HttpOptions};
use crate::report::Report;
use crate::resolver::Resolver;

/// Resolves `{{vault:NAME}}` references of each request before it is sent.
#[derive(Clone, Debug)]
pub struct VaultMiddleware {
    resolver: Resolver,
    options: Arc<HttpOptions>,
}

impl VaultMiddleware {
    /// A middleware with the default [`HttpOptions`] (raw values, 10 MiB body limit, 10
    /// redirects).
    pub fn new(resolver: Resolver) -> Self {
        Self::with_options(resolver, HttpOptions::default())
    }

    /// A middleware with these options.
    pub fn with_options(resolver: Resolver, options: HttpOptions) -> Self {
        VaultMiddleware {
            resolver,
            options: Arc::new(options),
        }
    }
}

/// What happened to each reference of a request the middleware resolved: it leaves this in
/// the call's extensions.
#[derive(Clone, Debug)]
pub struct ResolveReport(pub Report);

fn fail(e: crate::Error) -> reqwest_middleware::Error {
    reqwest_middleware::Error::middleware(e)
}

/// A body as the middleware can send it again.
enum Resend {
    /// Shared, so a resend costs no copy.
    Bytes(bytes::Bytes),
    Nothing,
    Stream(Option<reqwest::Body>),
}

#[async_trait::async_trait]
impl Middleware for VaultMiddleware {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let bytes = match req.body() {
            None => Some(&[][..]),
            Some(b) => b.as_bytes(),
        };
        let parts = self
            .resolver
            .resolve_parts(
                req.method(),
                req.url().as_str(),
                req.headers(),
                bytes,
                &self.options,
            )
            .await
            .map_err(fail)?;
        let original = req.body_mut().take();
        let mut body = match (parts.body, parts.body_status) {
            (Some(b), _) => Resend::Bytes(b.into()),
            (None, BodyStatus::Stream) => Resend::Stream(original),
            (None, _) => match original.as_ref().and_then(|b| b.as_bytes()) {
                Some(b) if !b.is_empty() => Resend::Bytes(bytes::Bytes::copy_from_slice(b)),
                _ => Resend::Nothing,
            },
        };
        let report = parts.report;
        let (url, headers) = (parts.url, parts.headers);
        let method = req.method().clone();
        let result = self
            .send(
                next, extensions, &report, &mut body, method, url, headers, &req,
            )
            .await;
        extensions.insert(ResolveReport(report));
        result
    }
}

impl VaultMiddleware {
    /// Sends, following the redirects the carried secrets may follow.
    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        next: Next<'_>,
        extensions: &mut Extensions,
        report: &Report,
        body: &mut Resend,
        mut method: ::http::Method,
        mut url: url::Url,
        mut headers: ::http::HeaderMap,
        req: &Request,
    ) -> reqwest_middleware::Result<Response> {
        let mut hops = 0;
        loop {
            let mut r = Request::new(method.clone(), url.clone());
            *r.headers_mut() = headers.clone();
            *r.timeout_mut() = req.timeout().copied();
            *r.version_mut() = req.version();
            *r.body_mut() = match &mut *body {
                Resend::Bytes(b) => Some(b.clone().into()),
                Resend::Nothing => None,
                Resend::Stream(s) => s.take(),
            };
            let response = next.clone().run(r, extensions).await?;
            if response.url() != &url {
                // The client followed redirects itself: too late to stop, not too late to say.
                self.resolver
                    .check_redirect(report, response.url().as_str())
                    .map_err(fail)?;
            }
            let Some((to, m, keep_body)) = redirect(
                response.status(),
                response.headers().get(header::LOCATION),
                response.url(),
                &method,
            ) else {
                return Ok(response);
            };
            if hops >= self.options.max_redirects || matches!(*body, Resend::Stream(_)) {
                return Ok(response);
            }
            self.resolver
                .check_redirect(report, to.as_str())
                .map_err(fail)?;
            hops += 1;
            if !keep_body {
                *body = Resend::Nothing;
                for h in [
                    header::CONTENT_TYPE,
                    header::CONTENT_LENGTH,
                    header::CONTENT_ENCODING,
                ] {
                    headers.remove(h);
                }
            }
            strip_cross_origin(&mut headers, response.url(), &to);
            url = to;
            method = m;
        }
    }
}
