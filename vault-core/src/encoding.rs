//! Encoding by context: how a resolved value is written into the place its reference sits.
//!
//! [`Encoding::Raw`] (the default, and what request tools such as Postman do) inserts values
//! as they are: a value holding `&`, `#`, `/` or `"` then changes the meaning of the URL, form
//! or JSON around it. [`Encoding::Contextual`] writes each value so that the surrounding
//! syntax reads it back as exactly that value:
//!
//! | where the reference is | how the value is written |
//! | --- | --- |
//! | URL path | percent-encoded as one path segment (`/` too) |
//! | URL query or fragment | percent-encoded as one query key or value (`&`, `=`, `+`, `#` too) |
//! | URL scheme, host, port, user info | as is (the allowed-domain check sees the result) |
//! | `application/x-www-form-urlencoded` body | form-encoded (space as `+`) |
//! | `application/json` (or `+json`) body, inside a string literal | JSON string escaping |
//! | `application/json` body, outside a string literal | as is (a number, a fragment) |
//! | `multipart/form-data` body, in a part's content | as is; a value holding the boundary is refused |
//! | `multipart/form-data` body, in a part's headers | as is; a value with a line break or `"` is refused |
//! | header values, other bodies | as is |
//!
//! Only characters outside `A-Z a-z 0-9 - . _ ~` are percent-encoded (as UTF-8 bytes, upper-case
//! hex), so the result parses back the same with any RFC 3986 or WHATWG decoder. A refused value
//! leaves its reference unresolved, with an [`ErrorKind::InvalidRequest`] reason.

use std::ops::Range;

use crate::error::{Error, ErrorKind};

/// How resolved values are written into a request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// Values are inserted as they are (today's and Postman's behaviour).
    #[default]
    Raw,
    /// Values are encoded for the place their reference sits in (see the module docs).
    Contextual,
}

/// Where one reference sits, for [`Encoding::Contextual`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Context {
    /// As is.
    Raw,
    /// Part of a URL path segment.
    PathSegment,
    /// A whole URL path segment (`/{{vault:x}}/`): `.` and `..` are refused there.
    WholePathSegment,
    /// One URL query key or value (or the fragment).
    Query,
    /// One `application/x-www-form-urlencoded` key or value.
    Form,
    /// Inside a JSON string literal.
    JsonString,
    /// The content of a multipart part with this boundary.
    MultipartContent(String),
    /// A header line of a multipart part.
    MultipartHeader,
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

impl Context {
    /// Why `value` cannot be written in this context, if it cannot.
    pub(crate) fn check(&self, value: &str) -> Result<(), Error> {
        let refuse = |why: &str| Err(Error::new(ErrorKind::InvalidRequest, why));
        match self {
            // URL parsers read `.`/`..` segments (even percent-encoded) as "here"/"up".
            Context::WholePathSegment if value == "." || value == ".." => {
                refuse("the value is `.` or `..`, which a URL path reads as a step, not a name")
            }
            Context::MultipartContent(boundary) if value.contains(&format!("--{boundary}")) => {
                refuse("the value contains the multipart boundary and would split the part")
            }
            Context::MultipartHeader if value.contains(['\r', '\n', '"']) => {
                refuse("the value contains a line break or `\"` and would break the part's headers")
            }
            _ => Ok(()),
        }
    }

    /// Writes `value` encoded for this context into `out`, after [`check`](Self::check).
    pub(crate) fn write(&self, value: &str, out: &mut String) -> Result<(), Error> {
        self.check(value)?;
        match self {
            Context::Raw => out.push_str(value),
            Context::PathSegment | Context::WholePathSegment | Context::Query | Context::Form => {
                let form = matches!(self, Context::Form);
                for &b in value.as_bytes() {
                    if unreserved(b) {
                        out.push(b as char);
                    } else if form && b == b' ' {
                        out.push('+');
                    } else {
                        out.push('%');
                        out.push(HEX[usize::from(b >> 4)] as char);
                        out.push(HEX[usize::from(b & 0xf)] as char);
                    }
                }
            }
            Context::JsonString => {
                for c in value.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        '\u{8}' => out.push_str("\\b"),
                        '\u{c}' => out.push_str("\\f"),
                        c if (c as u32) < 0x20 => {
                            let n = c as u32 as usize;
                            out.push_str("\\u00");
                            out.push(HEX[n >> 4] as char);
                            out.push(HEX[n & 0xf] as char);
                        }
                        c => out.push(c),
                    }
                }
            }
            Context::MultipartContent(_) | Context::MultipartHeader => out.push_str(value),
        }
        Ok(())
    }

    /// The length [`write`](Self::write) produces.
    pub(crate) fn encoded_len(&self, value: &str) -> usize {
        match self {
            Context::Raw | Context::MultipartContent(_) | Context::MultipartHeader => value.len(),
            Context::PathSegment | Context::WholePathSegment | Context::Query | Context::Form => {
                value
                    .bytes()
                    .map(|b| {
                        if unreserved(b) || (b == b' ' && matches!(self, Context::Form)) {
                            1
                        } else {
                            3
                        }
                    })
                    .sum()
            }
            Context::JsonString => value
                .chars()
                .map(|c| match c {
                    '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
                    c if (c as u32) < 0x20 => 6,
                    c => c.len_utf8(),
                })
                .sum(),
        }
    }
}

/// The contexts of references at `spans` (in order) of a URL template.
pub(crate) fn url_contexts(url: &str, spans: &[Range<usize>]) -> Vec<Context> {
    let path_start = match url.find("://") {
        Some(i) => url[i + 3..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |j| i + 3 + j),
        None => 0,
    };
    let query_start = url[path_start..]
        .find(['?', '#'])
        .map_or(url.len(), |j| path_start + j);
    spans
        .iter()
        .map(|s| {
            if s.start < path_start {
                Context::Raw
            } else if s.start < query_start {
                let whole = url[..s.start].ends_with('/')
                    && (s.end == query_start || url[s.end..].starts_with('/'));
                if whole {
                    Context::WholePathSegment
                } else {
                    Context::PathSegment
                }
            } else {
                Context::Query
            }
        })
        .collect()
}

/// What kind of body a `Content-Type` names, for [`body_contexts`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Other,
    Form,
    Json,
    Multipart(String),
}

impl BodyKind {
    /// From a `Content-Type` value.
    pub(crate) fn from_content_type(value: Option<&str>) -> Self {
        let Some(value) = value else {
            return BodyKind::Other;
        };
        let mut parts = value.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        if media == "application/x-www-form-urlencoded" {
            BodyKind::Form
        } else if media == "application/json" || media.ends_with("+json") {
            BodyKind::Json
        } else if media == "multipart/form-data" {
            let boundary = parts.find_map(|p| {
                let (k, v) = p.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("boundary")
                    .then(|| v.trim().trim_matches('"').to_owned())
            });
            match boundary {
                Some(b) if !b.is_empty() => BodyKind::Multipart(b),
                _ => BodyKind::Other,
            }
        } else {
            BodyKind::Other
        }
    }
}

/// The contexts of references at `spans` (in order) of a body template of kind `kind`.
pub(crate) fn body_contexts(kind: &BodyKind, body: &str, spans: &[Range<usize>]) -> Vec<Context> {
    match kind {
        BodyKind::Other => vec![Context::Raw; spans.len()],
        BodyKind::Form => vec![Context::Form; spans.len()],
        BodyKind::Json => json_contexts(body, spans),
        BodyKind::Multipart(boundary) => multipart_contexts(boundary, body, spans),
    }
}

/// Inside or outside a JSON string literal. References hold no `"` or `\`, so scanning the
/// template is scanning the JSON text around them.
fn json_contexts(body: &str, spans: &[Range<usize>]) -> Vec<Context> {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(spans.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    for s in spans {
        while i < s.start.min(bytes.len()) {
            let b = bytes[i];
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
            } else if b == b'"' {
                in_string = true;
            }
            i += 1;
        }
        out.push(if in_string {
            Context::JsonString
        } else {
            Context::Raw
        });
    }
    out
}

/// In a part's headers (from its delimiter line to the first empty line) or its content.
fn multipart_contexts(boundary: &str, body: &str, spans: &[Range<usize>]) -> Vec<Context> {
    let delimiter = format!("--{boundary}");
    // Start of each part's headers and of its content.
    let mut parts: Vec<(usize, usize)> = Vec::new();
    let mut from = 0;
    while let Some(j) = body[from..].find(&delimiter) {
        let headers = from + j + delimiter.len();
        let content = ["\r\n\r\n", "\n\n"]
            .iter()
            .filter_map(|sep| body[headers..].find(sep).map(|k| headers + k + sep.len()))
            .min()
            .unwrap_or(body.len());
        parts.push((headers, content));
        from = headers;
    }
    spans
        .iter()
        .map(|s| {
            match parts.iter().rev().find(|(h, _)| *h <= s.start) {
                Some((_, content)) if s.start < *content => Context::MultipartHeader,
                // Before the first delimiter (the preamble) is ignored by readers: as content.
                _ => Context::MultipartContent(boundary.to_owned()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(c: &Context, v: &str) -> String {
        let mut s = String::new();
        c.write(v, &mut s).unwrap();
        assert_eq!(s.len(), c.encoded_len(v), "{c:?} {v:?}");
        s
    }

    #[test]
    fn encodes_each_context() {
        assert_eq!(enc(&Context::PathSegment, "a/b c"), "a%2Fb%20c");
        assert_eq!(enc(&Context::Query, "a&b=c+d#é"), "a%26b%3Dc%2Bd%23%C3%A9");
        assert_eq!(enc(&Context::Form, "a b&c"), "a+b%26c");
        assert_eq!(
            enc(&Context::JsonString, "a\"b\\c\n\u{1}"),
            "a\\\"b\\\\c\\n\\u0001"
        );
        assert_eq!(enc(&Context::Raw, "a&b"), "a&b");
    }

    #[test]
    fn multipart_refuses_what_would_break_it() {
        let c = Context::MultipartContent("XyZ".into());
        assert_eq!(enc(&c, "line\r\nline"), "line\r\nline");
        let e = c.write("a\r\n--XyZ--", &mut String::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(Context::MultipartHeader
            .write("x\r\nInjected: 1", &mut String::new())
            .is_err());
    }

    #[test]
    fn url_positions() {
        let url = "https://{{vault:h}}/p/{{vault:a}}?q={{vault:b}}#{{vault:c}}";
        let spans: Vec<_> = crate::template::Template::parse(url)
            .references()
            .map(|r| r.span())
            .collect();
        assert_eq!(
            url_contexts(url, &spans),
            [
                Context::Raw,
                Context::WholePathSegment,
                Context::Query,
                Context::Query
            ]
        );
    }

    #[test]
    fn json_positions() {
        let body = r#"{"a": "x {{vault:s}}", "b\"{{vault:t}}": {{vault:n}}}"#;
        let spans: Vec<_> = crate::template::Template::parse(body)
            .references()
            .map(|r| r.span())
            .collect();
        assert_eq!(
            json_contexts(body, &spans),
            [Context::JsonString, Context::JsonString, Context::Raw]
        );
    }

    #[test]
    fn content_types() {
        assert_eq!(
            BodyKind::from_content_type(Some("Application/JSON; charset=utf-8")),
            BodyKind::Json
        );
        assert_eq!(
            BodyKind::from_content_type(Some("application/vnd.api+json")),
            BodyKind::Json
        );
        assert_eq!(
            BodyKind::from_content_type(Some("application/x-www-form-urlencoded")),
            BodyKind::Form
        );
        assert_eq!(
            BodyKind::from_content_type(Some("multipart/form-data; boundary=\"ab c\"")),
            BodyKind::Multipart("ab c".into())
        );
        assert_eq!(
            BodyKind::from_content_type(Some("multipart/form-data")),
            BodyKind::Other
        );
        assert_eq!(BodyKind::from_content_type(None), BodyKind::Other);
    }

    #[test]
    fn multipart_positions() {
        let body = "--B\r\nContent-Disposition: form-data; name=\"{{vault:h}}\"\r\n\r\n{{vault:c}}\r\n--B--\r\n";
        let spans: Vec<_> = crate::template::Template::parse(body)
            .references()
            .map(|r| r.span())
            .collect();
        assert_eq!(
            multipart_contexts("B", body, &spans),
            [
                Context::MultipartHeader,
                Context::MultipartContent("B".into())
            ]
        );
    }
}
