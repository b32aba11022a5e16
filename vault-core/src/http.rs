//! `http::Request`s resolved in one call (feature `http`): the URL (path and query), header
//! values and a bytes body, with the allowed-domain rules of
//! [`Resolver::resolve_request`](crate::Resolver::resolve_request) on the final URL.
//!
//! * A body that is UTF-8 text is resolved; any other body passes untouched and is reported
//!   as [`BodyStatus::NotText`]. A body longer than [`HttpOptions::max_body_bytes`] is an
//!   error (nothing is sent), so a huge upload is never copied to look for references.
//! * Header values that are not visible ASCII/UTF-8 pass untouched. Every header that received
//!   a secret is marked [sensitive](::http::HeaderValue::set_sensitive) (HTTP/2 HPACK then
//!   never indexes it, and clients keep it out of their debug output).
//! * Values are inserted as they are, or encoded by context ([`HttpOptions::encoding`],
//!   [`Encoding`]).
//! * Redirects: [`Resolver::check_redirect`] tells whether the resolved secrets may follow a
//!   request to a new URL; the middlewares (`reqwest-middleware`, `tower` features) use it.
//!
//! ```
//! use vault_core::{http::HttpOptions, Resolver, Vault, VaultSecret};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let resolver = Resolver::builder(Vault::new().with("token", VaultSecret::local("t0k&n"))).build();
//! let request = ::http::Request::post("https://api.example.com/items?key={{vault:token}}")
//!     .header("Authorization", "Bearer {{vault:token}}")
//!     .body(b"{}".to_vec())
//!     .unwrap();
//! let resolved = resolver
//!     .resolve_http(request, &HttpOptions::contextual())
//!     .await
//!     .unwrap();
//! assert_eq!(resolved.request.uri(), "https://api.example.com/items?key=t0k%26n");
//! assert!(resolved.request.headers()["authorization"].is_sensitive());
//! # });
//! ```

use std::fmt;

use ::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use secrecy::ExposeSecret;

use crate::encoding::Encoding;
use crate::error::{Error, ErrorKind};
use crate::report::{Field, Outcome, Report};
use crate::request::HttpRequest;
use crate::resolver::Resolver;

/// How [`Resolver::resolve_http`] and the middlewares treat a request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpOptions {
    /// How values are written (default: [`Encoding::Raw`]).
    pub encoding: Encoding,
    /// The longest body looked at, in bytes (default: 10 MiB); a longer body is an error.
    pub max_body_bytes: usize,
    /// How many redirects a middleware follows (default: 10; 0 returns the 3xx response).
    pub max_redirects: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            encoding: Encoding::Raw,
            max_body_bytes: 10 * 1024 * 1024,
            max_redirects: 10,
        }
    }
}

impl HttpOptions {
    /// The defaults with [`Encoding::Contextual`].
    pub fn contextual() -> Self {
        Self::default().encoding(Encoding::Contextual)
    }

    /// Sets the encoding.
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Sets the body size limit.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Sets how many redirects a middleware follows.
    pub fn max_redirects(mut self, n: usize) -> Self {
        self.max_redirects = n;
        self
    }
}

/// What happened to a request's body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyStatus {
    /// No body, or an empty one.
    Empty,
    /// UTF-8 text: its references were resolved (there may have been none).
    Resolved,
    /// Not UTF-8 text: passed untouched, references in it (if any) were not looked for.
    NotText,
    /// A streaming body the client cannot show as bytes: passed untouched.
    Stream,
}

/// A resolved `http::Request` and what happened to its references and body.
pub struct ResolvedHttp<B> {
    /// The request to send. It holds secrets: send it, don't log it.
    pub request: Request<B>,
    /// Every reference, with its field ([`Field::Url`], [`Field::Header`], [`Field::Body`]).
    pub report: Report,
    /// What happened to the body.
    pub body: BodyStatus,
}

impl<B> fmt::Debug for ResolvedHttp<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedHttp")
            .field("method", self.request.method())
            .field("report", &self.report)
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

/// The resolved parts of a request, for the middlewares.
pub(crate) struct Parts {
    pub(crate) url: url::Url,
    pub(crate) headers: HeaderMap,
    /// `None`: the body passes untouched.
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) body_status: BodyStatus,
    pub(crate) report: Report,
}

/// A URL whose references an HTTP client percent-encoded (`%7B%7Bvault:NAME%7D%7D`: `{` and
/// `}` are not allowed in a URL path), with them written as references again.
fn unescape_references(url: &str) -> std::borrow::Cow<'_, str> {
    const OPEN: &str = "%7B%7Bvault:";
    const CLOSE: &str = "%7D%7D";
    if !url.contains("%7B") && !url.contains("%7b") {
        return url.into();
    }
    let upper = url.to_ascii_uppercase();
    if !upper.contains("%7B%7BVAULT:") {
        return url.into();
    }
    let mut out = String::with_capacity(url.len());
    let mut i = 0;
    while let Some(j) = upper[i..].find("%7B%7BVAULT:") {
        let start = i + j;
        let name_start = start + OPEN.len();
        let name_len = url[name_start..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            .count();
        let close = name_start + name_len;
        // Only `vault:` in lower case is a reference, as in a template.
        if name_len > 0
            && &url[start + 6..start + 12] == "vault:"
            && upper[close..].starts_with(CLOSE)
        {
            out.push_str(&url[i..start]);
            out.push_str(crate::template::OPEN);
            out.push_str(&url[name_start..close]);
            out.push_str(crate::template::CLOSE);
            i = close + CLOSE.len();
        } else {
            out.push_str(&url[i..name_start]);
            i = name_start;
        }
    }
    out.push_str(&url[i..]);
    out.into()
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidRequest, message)
}

impl Resolver {
    /// Resolves an `http::Request` whose body is bytes (`Vec<u8>`, `bytes::Bytes`, ...): see
    /// the [module docs](crate::http). Strict mode fails on the first unresolved reference,
    /// as [`resolve_request`](Self::resolve_request) does.
    pub async fn resolve_http<B>(
        &self,
        request: Request<B>,
        options: &HttpOptions,
    ) -> Result<ResolvedHttp<B>, Error>
    where
        B: AsRef<[u8]> + From<Vec<u8>>,
    {
        let (mut head, body) = request.into_parts();
        let bytes = body.as_ref();
        let parts = self
            .resolve_parts(
                &head.method,
                &head.uri.to_string(),
                &head.headers,
                Some(bytes),
                options,
            )
            .await?;
        head.uri = to_uri(&parts.url)?;
        head.headers = parts.headers;
        let body = match parts.body {
            Some(b) => B::from(b),
            None => body,
        };
        Ok(ResolvedHttp {
            request: Request::from_parts(head, body),
            report: parts.report,
            body: parts.body_status,
        })
    }

    /// The core of [`resolve_http`](Self::resolve_http) and the middlewares. `body`: `None`
    /// for a streaming body.
    pub(crate) async fn resolve_parts(
        &self,
        method: &Method,
        url: &str,
        headers: &HeaderMap,
        body: Option<&[u8]>,
        options: &HttpOptions,
    ) -> Result<Parts, Error> {
        let (text, body_status) = match body {
            None => (None, BodyStatus::Stream),
            Some([]) => (None, BodyStatus::Empty),
            Some(b) if b.len() > options.max_body_bytes => {
                return Err(invalid(format!(
                    "the request body is {} bytes, over the {}-byte limit for resolving references (HttpOptions::max_body_bytes); nothing was sent",
                    b.len(),
                    options.max_body_bytes
                )))
            }
            Some(b) => match std::str::from_utf8(b) {
                Ok(t) => (Some(t), BodyStatus::Resolved),
                Err(_) => (None, BodyStatus::NotText),
            },
        };
        let mut template = HttpRequest::new(method.as_str(), unescape_references(url));
        for (name, value) in headers {
            if let Ok(v) = value.to_str() {
                template
                    .headers
                    .push((name.as_str().to_owned(), v.to_owned()));
            }
        }
        template.body = text.map(str::to_owned);
        let resolved = self
            .resolve_request_with(&template, options.encoding)
            .await?;

        let secret_in = |name: &str| {
            resolved.report.entries().iter().any(|e| {
                matches!(&e.field, Field::Header(h) if h == name)
                    && matches!(e.outcome, Outcome::Resolved | Outcome::Empty)
            })
        };
        let mut out = HeaderMap::with_capacity(headers.len());
        let mut texts = resolved.headers.iter().zip(&template.headers);
        for (name, value) in headers {
            if value.to_str().is_err() {
                out.append(name.clone(), value.clone());
                continue;
            }
            let Some(((_, new), (_, old))) = texts.next() else {
                break;
            };
            if new.expose_secret() == old && !old.contains(crate::template::OPEN) {
                out.append(name.clone(), value.clone());
                continue;
            }
            let mut v = HeaderValue::from_str(new.expose_secret()).map_err(|_| {
                invalid(format!(
                    "the resolved value of header {name} is not a valid header value (a line break or control character)"
                ))
            })?;
            v.set_sensitive(value.is_sensitive() || secret_in(name.as_str()));
            out.append(name.clone(), v);
        }
        let url = url::Url::parse(resolved.url.expose_secret())
            .map_err(|e| invalid(format!("the resolved URL is not valid: {e}")))?;
        let body = match (&resolved.body, body_status) {
            (Some(b), BodyStatus::Resolved) => Some(b.expose_secret().as_bytes().to_vec()),
            _ => None,
        };
        Ok(Parts {
            url,
            headers: out,
            body,
            body_status,
            report: resolved.report,
        })
    }
}

/// The `http::Uri` of a resolved URL; fails closed when the two parsers disagree on the host.
pub(crate) fn to_uri(url: &url::Url) -> Result<Uri, Error> {
    let uri: Uri = url
        .as_str()
        .parse()
        .map_err(|e| invalid(format!("the resolved URL is not a valid URI: {e}")))?;
    let same = match (uri.host(), url.host_str()) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (None, None) => true,
        _ => false,
    };
    if !same {
        return Err(Error::new(
            ErrorKind::DomainNotAllowed,
            "the resolved URL's host reads differently to the HTTP stack; no secret is sent",
        ));
    }
    Ok(uri)
}

/// Where a redirect answer sends the client, and how: `None` when `status` is not a redirect
/// or has no usable `Location`.
pub(crate) fn redirect(
    status: StatusCode,
    location: Option<&HeaderValue>,
    from: &url::Url,
    method: &Method,
) -> Option<(url::Url, Method, bool)> {
    let keep_body = match status.as_u16() {
        307 | 308 => true,
        301..=303 => false,
        _ => return None,
    };
    let to = from.join(location?.to_str().ok()?).ok()?;
    if !matches!(to.scheme(), "http" | "https") {
        return None;
    }
    let method = if keep_body || *method == Method::HEAD {
        method.clone()
    } else if status == StatusCode::SEE_OTHER || *method == Method::POST {
        Method::GET
    } else {
        method.clone()
    };
    let keep_body = keep_body || method == Method::PUT || method == Method::PATCH;
    Some((to, method, keep_body))
}

/// Headers a client drops when a redirect leaves the origin (as browsers and reqwest do).
pub(crate) fn strip_cross_origin(headers: &mut HeaderMap, from: &url::Url, to: &url::Url) {
    if from.origin() != to.origin() {
        for h in [
            ::http::header::AUTHORIZATION,
            ::http::header::COOKIE,
            ::http::header::PROXY_AUTHORIZATION,
            ::http::header::WWW_AUTHENTICATE,
        ] {
            headers.remove(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::{Vault, VaultSecret};
    use crate::{AllowedDomains, Mode};

    fn resolver() -> Resolver {
        Resolver::builder(
            Vault::new()
                .with(
                    "key",
                    VaultSecret::local("a&b c\"d")
                        .allowed_domains(AllowedDomains::parse(["api.example.com"]).unwrap()),
                )
                .with("free", VaultSecret::local("v")),
        )
        .build()
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn resolves_url_headers_and_json_body_contextually() {
        let req = Request::post("https://api.example.com/a/{{vault:key}}?q={{vault:key}}")
            .header("x-key", "{{vault:key}}")
            .header("x-plain", "plain")
            .header("content-type", "application/json")
            .body(br#"{"k": "{{vault:key}}"}"#.to_vec())
            .unwrap();
        let r = rt()
            .block_on(resolver().resolve_http(req, &HttpOptions::contextual()))
            .unwrap();
        assert_eq!(
            r.request.uri(),
            "https://api.example.com/a/a%26b%20c%22d?q=a%26b%20c%22d"
        );
        assert_eq!(r.request.headers()["x-key"], "a&b c\"d");
        assert!(r.request.headers()["x-key"].is_sensitive());
        assert!(!r.request.headers()["x-plain"].is_sensitive());
        let body: serde_json::Value = serde_json::from_slice(r.request.body()).unwrap();
        assert_eq!(body["k"], "a&b c\"d");
        assert_eq!(r.body, BodyStatus::Resolved);
        assert!(r.report.is_complete());
    }

    #[test]
    fn binary_body_is_skipped_and_reported() {
        let body = vec![0xff, 0xfe, b'{', b'{'];
        let req = Request::put("https://api.example.com/")
            .body(body.clone())
            .unwrap();
        let r = rt()
            .block_on(resolver().resolve_http(req, &HttpOptions::default()))
            .unwrap();
        assert_eq!(r.body, BodyStatus::NotText);
        assert_eq!(r.request.body(), &body);
    }

    #[test]
    fn body_over_the_limit_is_a_clear_error() {
        let req = Request::post("https://api.example.com/")
            .body(vec![b'a'; 101])
            .unwrap();
        let e = rt()
            .block_on(resolver().resolve_http(req, &HttpOptions::default().max_body_bytes(100)))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(
            e.to_string().contains("101 bytes, over the 100-byte limit"),
            "{e}"
        );
    }

    #[test]
    fn other_host_leaves_restricted_secret_unresolved() {
        let req = Request::get("https://evil.example.net/?a={{vault:key}}&b={{vault:free}}")
            .body(Vec::new())
            .unwrap();
        let r = rt()
            .block_on(resolver().resolve_http(req, &HttpOptions::default()))
            .unwrap();
        assert_eq!(
            r.request.uri(),
            "https://evil.example.net/?a={{vault:key}}&b=v"
        );
        assert!(r.report.has(ErrorKind::DomainNotAllowed));
        let strict = Resolver::builder(
            Vault::new().with(
                "key",
                VaultSecret::local("x")
                    .allowed_domains(AllowedDomains::parse(["api.example.com"]).unwrap()),
            ),
        )
        .mode(Mode::Strict)
        .build();
        let req = Request::get("https://evil.example.net/")
            .header("a", "{{vault:key}}")
            .body(Vec::new())
            .unwrap();
        let e = rt()
            .block_on(strict.resolve_http(req, &HttpOptions::default()))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DomainNotAllowed);
    }

    #[test]
    fn header_value_with_line_break_is_refused_without_echo() {
        let r = Resolver::builder(Vault::new().with("nl", VaultSecret::local("a\r\nInjected: x")))
            .build();
        let req = Request::get("https://a.example/")
            .header("x", "{{vault:nl}}")
            .body(Vec::new())
            .unwrap();
        let e = rt()
            .block_on(r.resolve_http(req, &HttpOptions::default()))
            .unwrap_err();
        assert!(!e.to_string().contains("Injected"), "{e}");
    }

    #[test]
    fn percent_encoded_references_in_urls_are_references() {
        assert_eq!(
            unescape_references(
                "https://a/%7B%7Bvault:x.y%7D%7D/%7b%7bvault:z%7d%7d?%7B%7BVAULT:n%7D%7D"
            ),
            "https://a/{{vault:x.y}}/{{vault:z}}?%7B%7BVAULT:n%7D%7D"
        );
        assert_eq!(
            unescape_references("https://a/%7B%7Bvault:%7D%7D"),
            "https://a/%7B%7Bvault:%7D%7D"
        );
        assert_eq!(unescape_references("https://a/b"), "https://a/b");
    }

    #[test]
    fn redirect_rules() {
        let from = url::Url::parse("https://a.example/x").unwrap();
        let loc = HeaderValue::from_static("/y");
        let (to, m, body) = redirect(StatusCode::FOUND, Some(&loc), &from, &Method::POST).unwrap();
        assert_eq!(
            (to.as_str(), m, body),
            ("https://a.example/y", Method::GET, false)
        );
        let (_, m, body) = redirect(
            StatusCode::PERMANENT_REDIRECT,
            Some(&loc),
            &from,
            &Method::POST,
        )
        .unwrap();
        assert_eq!((m, body), (Method::POST, true));
        assert!(redirect(StatusCode::OK, Some(&loc), &from, &Method::GET).is_none());
        assert!(redirect(StatusCode::FOUND, None, &from, &Method::GET).is_none());
    }

    #[test]
    fn check_redirect_names_the_secret() {
        let r = resolver();
        let req = Request::get("https://api.example.com/")
            .header("x", "{{vault:key}}")
            .body(Vec::new())
            .unwrap();
        let res = rt()
            .block_on(r.resolve_http(req, &HttpOptions::default()))
            .unwrap();
        assert!(r
            .check_redirect(&res.report, "https://api.example.com/other")
            .is_ok());
        let e = r
            .check_redirect(&res.report, "https://evil.example.net/")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DomainNotAllowed);
        assert_eq!(e.secret(), Some("key"));
    }
}
