//! Substitution: values into templates, exactly sized, and one report entry per reference.

use std::borrow::Borrow;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::encoding::Context;
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
    render_in(template, source, slots, values, field, report, None)
}

/// [`render`], with each reference's value encoded for its context (`contexts[k]` for the
/// k-th reference); a value its context refuses leaves the reference unresolved.
pub(super) fn render_in<N: Borrow<Arc<str>>>(
    template: &Template<'_>,
    source: &str,
    slots: Option<&[usize]>,
    values: &[Value<N>],
    field: &Field,
    report: &mut Report,
    contexts: Option<&[Context]>,
) -> SecretString {
    let slot = |k: usize| slots.map_or(k, |s| s[k]);
    let references = slots.map_or(values.len(), <[usize]>::len);
    let context = |k: usize| contexts.and_then(|c| c.get(k)).unwrap_or(&Context::Raw);
    // Values a context refuses, by reference number.
    let mut refused: Vec<(usize, Error)> = Vec::new();
    if let Some(contexts) = contexts {
        for (k, c) in contexts.iter().enumerate().take(references) {
            let v = &values[slot(k)];
            if let Ok(value) = &v.value {
                if let Err(e) = c.check(value.expose_secret()) {
                    refused.push((k, e.with_secret(&**v.name.borrow())));
                }
            }
        }
    }
    let refusal = |k: usize| refused.iter().find(|(i, _)| *i == k).map(|(_, e)| e);
    let mut len = 0;
    let mut k = 0;
    for s in template.segments() {
        len += match s {
            Segment::Text(t) => t.len(),
            Segment::Reference(r) => {
                k += 1;
                match &values[slot(k - 1)].value {
                    Ok(_) if refusal(k - 1).is_some() => r.span().len(),
                    Ok(v) => context(k - 1).encoded_len(v.expose_secret()),
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
                let outcome = match (&values[slot].value, refusal(k - 1)) {
                    (Ok(_), Some(e)) => {
                        out.push_str(&source[r.span()]);
                        Outcome::Unresolved(e.clone())
                    }
                    (Ok(v), None) => {
                        // Never fails: refusals were found above.
                        let _ = context(k - 1).write(v.expose_secret(), &mut out);
                        if v.expose_secret().is_empty() {
                            Outcome::Empty
                        } else {
                            Outcome::Resolved
                        }
                    }
                    (Err(e), _) => {
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
    report_malformed(template, source, field, report, first_entry);
    debug_assert_eq!(out.len(), len);
    SecretString::from(out)
}

/// Renders a template whose every reference resolved: `values[k]` is the `k`-th reference's
/// value, `entry(k)` its name and whether it was served stale. For the warm path, which reads
/// values in place under the cache's lock.
pub(super) fn render_resolved(
    template: &Template<'_>,
    source: &str,
    values: &[&str],
    entry: impl Fn(usize) -> (Arc<str>, bool),
    field: &Field,
    report: &mut Report,
) -> SecretString {
    let mut len = 0;
    let mut k = 0;
    for s in template.segments() {
        len += match s {
            Segment::Text(t) => t.len(),
            Segment::Reference(_) => {
                k += 1;
                values[k - 1].len()
            }
        };
    }
    let first_entry = report.len();
    report.reserve(values.len() + template.errors().len());
    let mut out = String::with_capacity(len);
    let mut k = 0;
    for s in template.segments() {
        match s {
            Segment::Text(t) => out.push_str(t),
            Segment::Reference(r) => {
                let v = values[k];
                out.push_str(v);
                let (name, stale) = entry(k);
                k += 1;
                report.push(ReferenceReport {
                    name,
                    field: field.clone(),
                    span: r.span(),
                    outcome: if v.is_empty() {
                        Outcome::Empty
                    } else {
                        Outcome::Resolved
                    },
                    stale,
                });
            }
        }
    }
    report_malformed(template, source, field, report, first_entry);
    debug_assert_eq!(out.len(), len);
    SecretString::from(out)
}

/// Report entries for the malformed references, in order with those from `first_entry` on.
fn report_malformed(
    template: &Template<'_>,
    source: &str,
    field: &Field,
    report: &mut Report,
    first_entry: usize,
) {
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
