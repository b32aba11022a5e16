//! Substitution: values into templates, exactly sized, and one report entry per reference.

use std::borrow::Borrow;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, ErrorKind};
use crate::report::{Field, Outcome, ReferenceReport, Report};
use crate::template::{Segment, Template};

use super::plan::Value;

/// Substitutes values into `template`; the output has exactly the needed capacity, so turning
/// it into a `SecretString` never reallocates (and never leaves a copy behind). `slots` gives
/// each reference's value index; `None`: the references' values are `values`, in order.
pub(super) fn render<N: Borrow<Arc<str>>>(
    template: &Template<'_>,
    source: &str,
    slots: Option<&[usize]>,
    values: &[Value<N>],
    field: &Field,
    report: &mut Report,
) -> SecretString {
    let slot = |k: usize| slots.map_or(k, |s| s[k]);
    let references = slots.map_or(values.len(), <[usize]>::len);
    let mut len = 0;
    let mut k = 0;
    for s in template.segments() {
        len += match s {
            Segment::Text(t) => t.len(),
            Segment::Reference(r) => {
                k += 1;
                match &values[slot(k - 1)].value {
                    Ok(v) => v.expose_secret().len(),
                    Err(_) => r.span().len(),
                }
            }
        };
    }
    let first_entry = report.len();
    report.reserve(references + template.errors().len());
    let mut out = String::with_capacity(len);
    let mut k = 0;
    for s in template.segments() {
        match s {
            Segment::Text(t) => out.push_str(t),
            Segment::Reference(r) => {
                let slot = slot(k);
                k += 1;
                let outcome = match &values[slot].value {
                    Ok(v) => {
                        out.push_str(v.expose_secret());
                        if v.expose_secret().is_empty() {
                            Outcome::Empty
                        } else {
                            Outcome::Resolved
                        }
                    }
                    Err(e) => {
                        out.push_str(&source[r.span()]);
                        Outcome::Unresolved(Error::clone(e))
                    }
                };
                report.push(ReferenceReport {
                    name: values[slot].name.borrow().clone(),
                    field: field.clone(),
                    span: r.span(),
                    outcome,
                    stale: values[slot].stale,
                });
            }
        }
    }
    if !template.errors().is_empty() {
        for e in template.errors() {
            let name_end = e.position().min(source.len());
            let name_start = (e.start() + crate::template::OPEN.len()).min(name_end);
            report.push(ReferenceReport {
                name: Arc::from(&source[name_start..name_end]),
                field: field.clone(),
                span: e.start()..name_end,
                outcome: Outcome::Unresolved(Error::new(
                    ErrorKind::InvalidReference,
                    e.to_string(),
                )),
                stale: false,
            });
        }
        report.sort_from(first_entry);
    }
    debug_assert_eq!(out.len(), len);
    SecretString::from(out)
}

/// Whether a reference sits in the scheme or authority of a URL template, so the host is only
/// known once the URL is resolved.
pub(super) fn host_depends_on_reference(url: &str, template: &Template<'_>) -> bool {
    let authority_end = match url.find("://") {
        Some(i) => {
            let start = i + 3;
            url[start..]
                .find(['/', '?', '#'])
                .map_or(url.len(), |j| start + j)
        }
        None => url.len(),
    };
    template
        .references()
        .any(|r| r.span().start < authority_end)
}
