//! What happened to each reference of a resolve call.

use std::ops::Range;
use std::sync::Arc;

use crate::error::{Error, ErrorKind};

/// Where in a request a reference was found.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// A plain text template.
    Text,
    /// The request URL.
    Url,
    /// The value of the header with this name.
    Header(String),
    /// The request body.
    Body,
    /// The string at this JSON pointer (RFC 6901) of a structured document.
    Pointer(String),
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Field::Text => f.write_str("text"),
            Field::Url => f.write_str("url"),
            Field::Header(name) => write!(f, "header {name}"),
            Field::Body => f.write_str("body"),
            Field::Pointer(p) => write!(f, "string at {p}"),
        }
    }
}

/// The outcome of one reference.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Substituted with a non-empty value.
    Resolved,
    /// Substituted, but the value is the empty string: usually a mistake worth showing.
    Empty,
    /// Left unresolved, and why.
    Unresolved(Error),
}

impl Outcome {
    /// Whether the reference was substituted (possibly with an empty value).
    pub fn is_resolved(&self) -> bool {
        !matches!(self, Outcome::Unresolved(_))
    }
}

/// One reference and its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceReport {
    /// The secret's name as written (for a malformed reference: the text after `{{vault:`
    /// up to the offending character, possibly empty).
    pub name: Arc<str>,
    /// Where the reference is.
    pub field: Field,
    /// Its byte range in that field's template.
    pub span: Range<usize>,
    /// What happened.
    pub outcome: Outcome,
    /// The value was served past its TTL because refreshing it failed for a transient reason
    /// (`[cache] stale_if_error_minutes`).
    pub stale: bool,
}

/// Every reference of one resolve call, in order of appearance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    entries: Vec<ReferenceReport>,
}

impl Report {
    pub(crate) fn push(&mut self, entry: ReferenceReport) {
        self.entries.push(entry);
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Orders the entries from `start` on by position (malformed references come last when
    /// rendered).
    pub(crate) fn sort_from(&mut self, start: usize) {
        self.entries[start..].sort_by_key(|e| e.span.start);
    }

    /// All entries.
    pub fn entries(&self) -> &[ReferenceReport] {
        &self.entries
    }

    /// Entries left unresolved.
    pub fn unresolved(&self) -> impl Iterator<Item = &ReferenceReport> {
        self.entries.iter().filter(|e| !e.outcome.is_resolved())
    }

    /// Whether every reference was substituted.
    pub fn is_complete(&self) -> bool {
        self.unresolved().next().is_none()
    }

    /// The error of the first unresolved reference, if any.
    pub fn first_error(&self) -> Option<&Error> {
        self.entries.iter().find_map(|e| match &e.outcome {
            Outcome::Unresolved(err) => Some(err),
            _ => None,
        })
    }

    /// Entries whose value was served stale (stale-if-error).
    pub fn stale(&self) -> impl Iterator<Item = &ReferenceReport> {
        self.entries.iter().filter(|e| e.stale)
    }

    /// Whether some reference is unresolved for this reason.
    pub fn has(&self, kind: ErrorKind) -> bool {
        self.unresolved()
            .any(|e| matches!(&e.outcome, Outcome::Unresolved(err) if err.kind() == kind))
    }
}
