//! Substitution: values into templates, exactly sized, and one report entry per reference.

use std::collections::HashMap;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::encoding::Context;
use crate::error::{Error, ErrorKind};
use crate::report::{Field, Outcome, ReferenceReport, Report};
use crate::template::{Segment, Template};

use super::plan::Value;

/// The distinct names of a call's templates, in first-seen order, and for every reference of
/// every template the index of its value: references find their value by index, never by
/// comparing names again.
pub(super) struct NameIndex<'t, 'a> {
    pub(super) names: Vec<&'a str>,
    slots: Vec<(&'t Template<'a>, Vec<usize>)>,
}

/// Above this many names, a hash map beats scanning the list.
const SCAN_LIMIT: usize = 16;

impl<'t, 'a> NameIndex<'t, 'a> {
    pub(super) fn new(templates: &[&'t Template<'a>]) -> Self {
        let total: usize = templates.iter().map(|t| t.references().count()).sum();
        let mut names: Vec<&'a str> = Vec::with_capacity(total);
        let mut map: Option<HashMap<&'a str, usize>> = None;
        let mut slots = Vec::with_capacity(templates.len());
        for t in templates {
            let mut these = Vec::with_capacity(t.references().count());
            for r in t.references() {
                let found = match &map {
                    Some(m) => m.get(r.name()).copied(),
                    None => names.iter().position(|n| *n == r.name()),
                };
                let slot = found.unwrap_or_else(|| {
                    names.push(r.name());
                    if let Some(m) = &mut map {
                        m.insert(r.name(), names.len() - 1);
                    } else if names.len() > SCAN_LIMIT {
                        map = Some(names.iter().enumerate().map(|(i, n)| (*n, i)).collect());
                    }
                    names.len() - 1
                });
                these.push(slot);
            }
            slots.push((*t, these));
        }
        NameIndex { names, slots }
    }

    /// The value indices of `template`'s references, in order.
    fn slots(&self, template: &Template<'a>) -> &[usize] {
        self.slots
            .iter()
            .find(|(t, _)| std::ptr::eq(*t, template))
            .map(|(_, s)| s.as_slice())
            .expect("template was indexed")
    }
}

/// Substitutes values into `template`; the output has exactly the needed capacity, so turning
/// it into a `SecretString` never reallocates (and never leaves a copy behind).
pub(super) fn render(
    template: &Template<'_>,
    source: &str,
    index: &NameIndex<'_, '_>,
    values: &[Value],
    field: &Field,
    report: &mut Report,
) -> SecretString {
    render_in(template, source, index, values, field, report, None)
}

/// [`render`], with each reference's value encoded for its context (`contexts[k]` for the
/// k-th reference); a value its context refuses leaves the reference unresolved.
pub(super) fn render_in(
    template: &Template<'_>,
    source: &str,
    index: &NameIndex<'_, '_>,
    values: &[Value],
    field: &Field,
    report: &mut Report,
    contexts: Option<&[Context]>,
) -> SecretString {
    let slots = index.slots(template);
    let context = |k: usize| contexts.and_then(|c| c.get(k)).unwrap_or(&Context::Raw);
    // Values a context refuses, by reference number.
    let mut refused: Vec<(usize, Error)> = Vec::new();
    if let Some(contexts) = contexts {
        for (k, (&slot, c)) in slots.iter().zip(contexts).enumerate() {
            if let Ok(v) = &values[slot].value {
                if let Err(e) = c.check(v.expose_secret()) {
                    refused.push((k, e.with_secret(&*values[slot].name)));
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
                match &values[slots[k - 1]].value {
                    Ok(_) if refusal(k - 1).is_some() => r.span().len(),
                    Ok(v) => context(k - 1).encoded_len(v.expose_secret()),
                    Err(_) => r.span().len(),
                }
            }
        };
    }
    let first_entry = report.len();
    report.reserve(slots.len() + template.errors().len());
    let mut out = String::with_capacity(len);
    let mut slots = slots.iter();
    let mut k = 0;
    for s in template.segments() {
        match s {
            Segment::Text(t) => out.push_str(t),
            Segment::Reference(r) => {
                let slot = *slots.next().expect("one slot per reference");
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
                        Outcome::Unresolved(e.clone())
                    }
                };
                report.push(ReferenceReport {
                    name: values[slot].name.clone(),
                    field: field.clone(),
                    span: r.span(),
                    outcome,
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
