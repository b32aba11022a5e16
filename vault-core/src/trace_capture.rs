//! A recorder of everything `tracing` and `log` say, at the most verbose level, for canary
//! tests: every field of every span and event of every target (ours and our dependencies':
//! `hyper`, `h2`, `rustls`, `reqwest`, `aws_sigv4`), and every `log` record. Behind the
//! `testing` and `tracing` features; not for hosts.
//!
//! ```
//! # use vault_core::trace_capture::TraceRecorder;
//! let recorder = TraceRecorder::new();
//! {
//!     let _guard = recorder.install();
//!     tracing::info!(provider = "aws", "sign-in");
//! }
//! assert!(recorder.text().contains("sign-in"));
//! assert_eq!(recorder.events("sign-in")[0].field("provider"), Some("aws"));
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record as SpanValues};
use tracing::subscriber::{DefaultGuard, Interest};
use tracing::{Event, Metadata, Subscriber};

/// One thing recorded.
#[derive(Clone, Debug)]
pub struct Record {
    /// `span` (a new span), `values` (values recorded into a span later), `event` or `log`.
    pub kind: &'static str,
    /// The target (`vault_core::resolver::plan`, `hyper_util::client`...).
    pub target: String,
    /// The level (`TRACE`...).
    pub level: String,
    /// The span's name, or the event's message.
    pub name: String,
    /// Every field, its value as formatted by the emitter (`{:?}`, or the string).
    pub fields: Vec<(String, String)>,
}

impl Record {
    /// The value of field `name`, if recorded.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.kind, self.level, self.target, self.name
        )?;
        for (k, v) in &self.fields {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

type Records = Arc<Mutex<Vec<Record>>>;

/// Records every span and event while installed (see [`install`](Self::install)), and every
/// `log` record of the process (see [`capture_log`](Self::capture_log)).
#[derive(Clone, Default)]
pub struct TraceRecorder {
    records: Records,
    next_id: Arc<AtomicU64>,
}

impl TraceRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        TraceRecorder::default()
    }

    /// Makes this recorder the current thread's subscriber until the guard drops (a
    /// current-thread Tokio runtime runs every task on this thread: all are recorded).
    pub fn install(&self) -> DefaultGuard {
        self.capture_log();
        tracing::subscriber::set_default(self.clone())
    }

    /// Sends the process's `log` records (at every level, from every thread) to this
    /// recorder too, for as long as it lives (`log` has one logger per process: it feeds
    /// every recorder that asked).
    pub fn capture_log(&self) {
        static LOGGER: OnceLock<LogSink> = OnceLock::new();
        let sink = LOGGER.get_or_init(|| LogSink(Mutex::new(Vec::new())));
        sink.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(&self.records));
        if log::set_logger(sink).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    }

    /// Everything recorded so far.
    pub fn records(&self) -> Vec<Record> {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The events whose message is `message`.
    pub fn events(&self, message: &str) -> Vec<Record> {
        self.records()
            .into_iter()
            .filter(|r| r.kind == "event" && r.name == message)
            .collect()
    }

    /// Everything recorded, one record a line, to search for a canary.
    pub fn text(&self) -> String {
        self.records().iter().map(|r| format!("{r}\n")).collect()
    }

    /// [`text`](Self::text) without the records of targets starting with `prefix`: for a
    /// test's own mock server (`wiremock` logs the requests it did not expect, headers and
    /// all; it is the other end and sees every secret by design).
    pub fn text_without(&self, prefix: &str) -> String {
        self.records()
            .iter()
            .filter(|r| !r.target.starts_with(prefix))
            .map(|r| format!("{r}\n"))
            .collect()
    }

    fn push(&self, record: Record) {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record);
    }
}

/// Collects fields as text.
struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

fn record(kind: &'static str, meta: &Metadata<'_>, mut fields: Vec<(String, String)>) -> Record {
    let name = match fields.iter().position(|(k, _)| k == "message") {
        Some(i) if kind == "event" => fields.remove(i).1,
        _ => meta.name().to_owned(),
    };
    Record {
        kind,
        target: meta.target().to_owned(),
        level: meta.level().to_string(),
        name,
        fields,
    }
}

impl Subscriber for TraceRecorder {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::always()
    }

    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields(Vec::new());
        span.record(&mut fields);
        self.push(record("span", span.metadata(), fields.0));
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, values: &SpanValues<'_>) {
        let mut fields = Fields(Vec::new());
        values.record(&mut fields);
        self.push(Record {
            kind: "values",
            target: String::new(),
            level: String::new(),
            name: String::new(),
            fields: fields.0,
        });
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        self.push(record("event", event.metadata(), fields.0));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// The `log` side: every recorder that asked, while it lives.
struct LogSink(Mutex<Vec<std::sync::Weak<Mutex<Vec<Record>>>>>);

impl log::Log for LogSink {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, r: &log::Record<'_>) {
        let record = Record {
            kind: "log",
            target: r.target().to_owned(),
            level: r.level().to_string(),
            name: r.args().to_string(),
            fields: Vec::new(),
        };
        let mut sinks = self.0.lock().unwrap_or_else(|e| e.into_inner());
        sinks.retain(|w| w.strong_count() > 0);
        for sink in sinks.iter().filter_map(std::sync::Weak::upgrade) {
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(record.clone());
        }
    }

    fn flush(&self) {}
}
