//! Structured documents: every string of a `serde_json::Value` resolved in place.

use secrecy::ExposeSecret;
use serde_json::Value;

use crate::domain::RequestHost;
use crate::error::Error;
use crate::report::{Field, Report};
use crate::template::Template;

use super::plan::HostCheck;
use super::render::render;
use super::Resolver;

/// A JSON pointer token: `~` and `/` escaped (RFC 6901).
fn token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Every string leaf with references (or malformed ones), with its pointer. Object keys are
/// names, not values: they are left alone.
fn strings<'v>(
    value: &'v mut Value,
    pointer: &mut String,
    out: &mut Vec<(String, &'v mut String)>,
) {
    match value {
        Value::String(s) if s.contains(crate::template::OPEN) => {
            out.push((pointer.clone(), s));
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                strings(v, pointer, out);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&token(k));
                strings(v, pointer, out);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

impl Resolver {
    /// Resolves the references in every string of `document` (a collection, an environment:
    /// any JSON) in place, for a request to `request_url` (allowed domains as in
    /// [`resolve`](Self::resolve)). Each report entry's field is
    /// [`Field::Pointer`], the string's JSON pointer (`/auth/headers/0/value`). Object keys are
    /// not resolved. Values are written as they are (the document holds strings, not JSON
    /// text); the resolved document holds secrets in plain `String`s, so drop it soon.
    ///
    /// In strict mode an unresolved reference is the error and `document` is left unchanged.
    pub async fn resolve_json(
        &self,
        document: &mut Value,
        request_url: Option<&str>,
    ) -> Result<Report, Error> {
        let start = crate::telemetry::start();
        crate::telemetry::Counters::add(&self.inner.counters.resolves, 1);
        let mut found = Vec::new();
        strings(document, &mut String::new(), &mut found);
        let host = request_url.and_then(|u| RequestHost::parse_url(u).ok());
        let mut report = Report::default();
        let sources: Vec<String> = found.iter().map(|(_, s)| (*s).clone()).collect();
        let rendered = {
            let templates: Vec<Template<'_>> = sources.iter().map(|s| Template::parse(s)).collect();
            let refs: Vec<&Template<'_>> = templates.iter().collect();
            let (index, plans) = self
                .inner
                .plan_templates(&refs, HostCheck::Host(host.as_ref()));
            let values = super::resolve_span(self.inner.values(plans)).await;
            templates
                .iter()
                .zip(&sources)
                .zip(&found)
                .enumerate()
                .map(|(i, ((t, src), (pointer, _)))| {
                    let field = Field::Pointer(pointer.clone());
                    render(t, src, Some(index.slots(i)), &values, &field, &mut report)
                })
                .collect::<Vec<_>>()
        };
        super::resolved(&report, start);
        self.strict_error(&report)?;
        for ((_, slot), value) in found.into_iter().zip(rendered) {
            slot.clear();
            slot.push_str(value.expose_secret());
        }
        Ok(report)
    }
}
