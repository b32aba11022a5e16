//! A `tower` layer (feature `tower`): a service of `http::Request<B>` whose requests are
//! resolved before they reach the inner service (a hyper client, a test service...).
//!
//! `B` is a bytes body (`Vec<u8>`, `bytes::Bytes`): anything `AsRef<[u8]> + From<Vec<u8>> +
//! Clone`. The rules are those of the [`reqwest-middleware` one](crate::http): URL, headers
//! (marked sensitive when they receive a secret) and UTF-8 bodies resolved, and redirects
//! (301, 302, 303, 307, 308) followed by the layer itself, at most
//! [`HttpOptions::max_redirects`] times, only when every secret the request carries may go to
//! the new host ([`Resolver::check_redirect`]); otherwise the call fails with a
//! [`crate::Error`] of kind [`DomainNotAllowed`](crate::ErrorKind::DomainNotAllowed) (boxed,
//! as tower errors are) and nothing is sent there. The inner service must not follow
//! redirects itself.
//!
//! ```
//! use tower_layer::Layer;
//! use vault_core::{tower::VaultLayer, Resolver, Vault, VaultSecret};
//!
//! let resolver = Resolver::builder(Vault::new().with("k", VaultSecret::local("v"))).build();
//! let inner = tower_service_fn(); // your HTTP client service
//! let service = VaultLayer::new(resolver).layer(inner);
//! # fn tower_service_fn() -> Svc { Svc }
//! # #[derive(Clone)] struct Svc;
//! # impl tower_service::Service<http::Request<Vec<u8>>> for Svc {
//! #     type Response = http::Response<Vec<u8>>;
//! #     type Error = std::convert::Infallible;
//! #     type Future = std::future::Ready<Result<Self::Response, Self::Error>>;
//! #     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> { std::task::Poll::Ready(Ok(())) }
//! #     fn call(&mut self, _: http::Request<Vec<u8>>) -> Self::Future { std::future::ready(Ok(http::Response::new(Vec::new()))) }
//! # }
//! ```

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::http::{header, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::http::{redirect, strip_cross_origin, to_uri, HttpOptions};
use crate::resolver::Resolver;

/// The error type of [`VaultService`]: the inner service's error or a [`crate::Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Wraps services in a [`VaultService`].
#[derive(Clone, Debug)]
pub struct VaultLayer {
    resolver: Resolver,
    options: Arc<HttpOptions>,
}

impl VaultLayer {
    /// A layer with the default [`HttpOptions`].
    pub fn new(resolver: Resolver) -> Self {
        Self::with_options(resolver, HttpOptions::default())
    }

    /// A layer with these options.
    pub fn with_options(resolver: Resolver, options: HttpOptions) -> Self {
        VaultLayer {
            resolver,
            options: Arc::new(options),
        }
    }
}

impl<S> Layer<S> for VaultLayer {
    type Service = VaultService<S>;

    fn layer(&self, inner: S) -> VaultService<S> {
        VaultService {
            inner,
            resolver: self.resolver.clone(),
            options: self.options.clone(),
        }
    }
}

/// Resolves each request, then calls the inner service (again for each followed redirect).
#[derive(Clone, Debug)]
pub struct VaultService<S> {
    inner: S,
    resolver: Resolver,
    options: Arc<HttpOptions>,
}

impl<S, B, RB> Service<Request<B>> for VaultService<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send,
    B: AsRef<[u8]> + From<Vec<u8>> + Clone + Send + 'static,
    RB: Send + 'static,
{
    type Response = Response<RB>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<RB>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The ready service goes into the future; `self` keeps a fresh clone.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let resolver = self.resolver.clone();
        let options = self.options.clone();
        Box::pin(async move {
            let resolved = resolver.resolve_http(request, &options).await?;
            let report = resolved.report;
            let (mut head, mut body) = resolved.request.into_parts();
            let mut url = url::Url::parse(&head.uri.to_string()).map_err(|e| {
                crate::Error::new(
                    crate::ErrorKind::InvalidRequest,
                    format!("the resolved URL is not valid: {e}"),
                )
            })?;
            let mut hops = 0;
            loop {
                let response = inner
                    .call(Request::from_parts(head.clone(), body.clone()))
                    .await
                    .map_err(Into::into)?;
                let Some((to, m, keep_body)) = redirect(
                    response.status(),
                    response.headers().get(header::LOCATION),
                    &url,
                    &head.method,
                ) else {
                    return Ok(response);
                };
                if hops >= options.max_redirects {
                    return Ok(response);
                }
                resolver.check_redirect(&report, to.as_str())?;
                hops += 1;
                if !keep_body {
                    body = B::from(Vec::new());
                    for h in [
                        header::CONTENT_TYPE,
                        header::CONTENT_LENGTH,
                        header::CONTENT_ENCODING,
                    ] {
                        head.headers.remove(h);
                    }
                }
                strip_cross_origin(&mut head.headers, &url, &to);
                head.uri = to_uri(&to)?;
                head.method = m;
                url = to;
                poll_fn(|cx| inner.poll_ready(cx))
                    .await
                    .map_err(Into::into)?;
            }
        })
    }
}
