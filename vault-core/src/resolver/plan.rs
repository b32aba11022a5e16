//! What each name of a call needs: a value at hand (local, environment, cached) or a fetch,
//! and the concurrent fetching of the misses.
//!
//! The cache-hit path of a whole call is one read of the vault, one lock of the cache and one
//! reading of the clock: references are looked up in the vault as they come, deduplicated by
//! the vault's own key (a pointer comparison, not a string comparison), and looked up in the
//! cache under that one lock; nothing is cloned but the shared values and names.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::join_all;
use secrecy::ExposeSecret;

use crate::cache::{FetchFuture, Found, Generation, Lookup, SharedSecret};
use crate::domain::RequestHost;
use crate::error::{Error, ErrorKind};
use crate::link::{Locator, ProviderId};
use crate::provider::DynProvider;
use crate::telemetry::{self, event, Counters};
use crate::template::Template;

use super::prepared::{Prepared, PreparedSource};
use super::Inner;

/// A value or why there is none. The error is boxed: these are moved around on the cache-hit
/// path, where an inline `Error` would make every move a large copy.
pub(super) type Outcome = Result<SharedSecret, Box<Error>>;

/// One name's outcome in a call. `N` is the name: shared with the vault (`Arc<str>`), or
/// borrowed from it while the vault is read (`&Arc<str>`).
pub(super) struct Value<N = Arc<str>> {
    /// The name, shared with the vault.
    pub(super) name: N,
    pub(super) value: Outcome,
    /// Served past its TTL after a transient error (stale-if-error).
    pub(super) stale: bool,
}

/// For every reference of every template of a call, in order, the index of its value among
/// the call's distinct names: references find their value by index.
pub(super) struct NameIndex {
    slots: Vec<usize>,
    /// Where each template's slots start, and the end (empty for a single template).
    bounds: Vec<usize>,
}

impl NameIndex {
    /// The value indices of the `i`-th template's references, in order.
    pub(super) fn slots(&self, i: usize) -> &[usize] {
        if self.bounds.is_empty() {
            return &self.slots;
        }
        &self.slots[self.bounds[i]..self.bounds[i + 1]]
    }
}

/// A plan while the vault is read and the cache locked: links borrow from the vault.
enum Draft<'s> {
    Done(Outcome),
    /// A cache hit (its JSON field, if any, is picked once the cache is unlocked).
    Hit {
        prepared: &'s Prepared,
        value: SharedSecret,
        stale: bool,
    },
    Link {
        prepared: &'s Arc<Prepared>,
        locator: &'s Locator,
        /// Set by the cache lookup on a miss.
        since: Option<Generation>,
    },
}

/// How to obtain one name's value.
pub(super) enum Plan {
    Done(Outcome, bool),
    Fetch(Box<Fetch>),
}

/// A fetch to make (boxed: plans are moved around, fetches are rare).
pub(super) struct Fetch {
    prepared: Arc<Prepared>,
    provider: DynProvider,
    locator: Locator,
    /// The cache's state when the miss was seen, before the provider was chosen.
    since: Option<Generation>,
}

/// Where the request's host comes from for the allowed-domain check.
#[derive(Clone, Copy)]
pub(super) enum HostCheck<'h> {
    /// The request goes to this host (`None`: no valid http(s) URL).
    Host(Option<&'h RequestHost>),
    /// Not checked at all (`vaultctl check`).
    Skip,
}

/// Above this many distinct names, a hash map beats scanning the list.
const SCAN_LIMIT: usize = 16;

/// The identity of a distinct name: the vault's key (by address), or, for a name the vault
/// does not hold, the text.
#[derive(PartialEq, Eq, Hash)]
enum NameKey<'a> {
    Known(usize),
    Unknown(&'a str),
}

/// A value's JSON field, if its link names one.
fn field(prepared: &Prepared, value: SharedSecret, name: &str) -> Outcome {
    match &prepared.source {
        PreparedSource::Link {
            json: Some(key),
            link,
            ..
        } => key
            .extract(&value)
            .map(Arc::new)
            .map_err(|e| Box::new(e.with_provider(link.provider().clone()).with_secret(name))),
        _ => Ok(value),
    }
}

impl Inner {
    /// The plan of one name.
    pub(super) fn plan(&self, name: &str, host: HostCheck<'_>) -> (Arc<str>, Plan) {
        let (_, mut plans) = self.plans([name].into_iter(), 1, Vec::new(), host);
        plans.pop().expect("one plan per name")
    }

    /// Plans for the references of `templates`, and where each reference's value is.
    pub(super) fn plan_templates(
        &self,
        templates: &[&Template<'_>],
        host: HostCheck<'_>,
    ) -> (NameIndex, Vec<(Arc<str>, Plan)>) {
        let mut bounds = Vec::new();
        let mut total = 0;
        if templates.len() > 1 {
            bounds.reserve(templates.len() + 1);
            bounds.push(0);
            for t in templates {
                total += t.references().count();
                bounds.push(total);
            }
        } else {
            total = templates.iter().map(|t| t.references().count()).sum();
        }
        let names = templates
            .iter()
            .flat_map(|t| t.references().map(|r| r.name()));
        self.plans(names, total, bounds, host)
    }

    /// Plans for `names` (`total` of them, any number of times each), under one read of the
    /// vault and one lock of the cache. `bounds` splits the names into templates.
    pub(super) fn plans<'a>(
        &self,
        names: impl Iterator<Item = &'a str>,
        total: usize,
        bounds: Vec<usize>,
        host: HostCheck<'_>,
    ) -> (NameIndex, Vec<(Arc<str>, Plan)>) {
        let mut slots = Vec::with_capacity(total);
        let secrets = self.read();
        let mut refresh: Vec<(&Arc<str>, &Arc<Prepared>, &Locator, Generation)> = Vec::new();
        let drafts = self.cache.with_lookup(|lookup| {
            let mut drafts: Vec<(NameKey<'a>, Arc<str>, Draft<'_>)> =
                Vec::with_capacity(total.min(64));
            let mut map: Option<HashMap<NameKey<'a>, usize>> = None;
            for name in names {
                let found = secrets.get_key_value(name);
                let key = match found {
                    Some((k, _)) => NameKey::Known(k.as_ptr() as usize),
                    None => NameKey::Unknown(name),
                };
                let seen = match &map {
                    Some(m) => m.get(&key).copied(),
                    None => drafts.iter().position(|(k, _, _)| *k == key),
                };
                if let Some(i) = seen {
                    slots.push(i);
                    continue;
                }
                let draft = match found {
                    None => (Arc::from(name), Draft::Done(Err(Box::new(unknown(name))))),
                    Some((k, prepared)) => {
                        let mut d = self.draft_prepared(prepared, name, host);
                        if let Draft::Link {
                            prepared, locator, ..
                        } = d
                        {
                            d = match lookup(locator) {
                                Lookup::Fresh(value) => Draft::Hit {
                                    prepared,
                                    value,
                                    stale: false,
                                },
                                Lookup::Stale(value) => Draft::Hit {
                                    prepared,
                                    value,
                                    stale: true,
                                },
                                Lookup::Refresh(value, generation) => {
                                    refresh.push((k, prepared, locator, generation));
                                    Draft::Hit {
                                        prepared,
                                        value,
                                        stale: false,
                                    }
                                }
                                Lookup::Miss(generation) => Draft::Link {
                                    prepared,
                                    locator,
                                    since: Some(generation),
                                },
                            };
                        }
                        (k.clone(), d)
                    }
                };
                slots.push(drafts.len());
                if let Some(m) = &mut map {
                    m.insert(key, drafts.len());
                    drafts.push((NameKey::Unknown(""), draft.0, draft.1));
                } else {
                    drafts.push((key, draft.0, draft.1));
                    if drafts.len() > SCAN_LIMIT {
                        let mut m = HashMap::with_capacity(total);
                        for (i, (k, _, _)) in drafts.iter_mut().enumerate() {
                            m.insert(std::mem::replace(k, NameKey::Unknown("")), i);
                        }
                        map = Some(m);
                    }
                }
            }
            drafts
        });
        self.start_refreshes(refresh);
        let mut providers: Vec<(ProviderId, Result<DynProvider, Error>)> = Vec::new();
        let (mut hits, mut stales, mut misses) = (0, 0, 0);
        let plans = drafts
            .into_iter()
            .map(|(_, name, d)| {
                let plan = match d {
                    Draft::Done(r) => Plan::Done(r, false),
                    Draft::Hit {
                        prepared,
                        value,
                        stale,
                    } => {
                        hits += 1;
                        stales += u64::from(stale);
                        cache_event(prepared, &name, if stale { "stale" } else { "hit" });
                        Plan::Done(field(prepared, value, &name), stale)
                    }
                    Draft::Link {
                        prepared,
                        locator,
                        since,
                    } => {
                        misses += 1;
                        cache_event(prepared, &name, "miss");
                        let id = locator.provider();
                        let provider = match providers.iter().find(|(p, _)| p == id) {
                            Some((_, p)) => p.clone(),
                            None => {
                                let p = self.integrations.get(id);
                                providers.push((id.clone(), p.clone()));
                                p
                            }
                        };
                        match provider {
                            Err(e) => Plan::Done(Err(Box::new(e.with_secret(&*name))), false),
                            Ok(provider) => Plan::Fetch(Box::new(Fetch {
                                locator: locator.clone(),
                                provider,
                                prepared: prepared.clone(),
                                since,
                            })),
                        }
                    }
                };
                (name, plan)
            })
            .collect();
        drop(secrets);
        Counters::add(&self.counters.cache_hits, hits);
        Counters::add(&self.counters.stale_served, stales);
        Counters::add(&self.counters.cache_misses, misses);
        (NameIndex { slots, bounds }, plans)
    }

    /// Background refreshes asked for by cache lookups (refresh-ahead).
    fn start_refreshes(&self, refresh: Vec<(&Arc<str>, &Arc<Prepared>, &Locator, Generation)>) {
        for (name, prepared, locator, generation) in refresh {
            Counters::add(&self.counters.refreshes_ahead, 1);
            event!(
                tracing::Level::DEBUG,
                provider = locator.provider().as_str(),
                secret = &**name,
                "cache refresh-ahead"
            );
            if let Ok(provider) = self.integrations.get(locator.provider()) {
                self.cache.refresh(
                    locator,
                    generation,
                    self.fetcher(
                        name.clone(),
                        prepared.clone(),
                        provider,
                        locator.provider().clone(),
                    ),
                );
            }
        }
    }

    /// `template` rendered, when the vault and the cache alone answer all its references
    /// (local values, and cached values of links without a JSON field, allowed for `host`);
    /// `None` as soon as one needs more (a fetch, an error to report, an environment variable,
    /// a field to pick), and the caller takes the general path (`report` is then untouched).
    ///
    /// This is the hot path of a warm resolver: one read of the vault, one lock of the cache
    /// (held while the output is written: values are read in place, never reference-counted),
    /// one reading of the clock, two small allocations, and per reference a vault lookup and
    /// two cache probes; names are borrowed from the vault (only the report shares them).
    /// Names are not deduplicated: a repeated name costs one more lookup, under the same lock,
    /// so it sees the same value.
    pub(super) fn render_cached(
        &self,
        template: &Template<'_>,
        source: &str,
        host: HostCheck<'_>,
        field: &crate::report::Field,
        report: &mut crate::report::Report,
    ) -> Option<secrecy::SecretString> {
        /// Where a resolved reference's value is, read in place while the cache is locked.
        enum Source<'s> {
            Local(&'s SharedSecret),
            Cached(&'s Locator),
        }
        let secrets = self.read();
        let mut refs: Vec<(&Arc<str>, Source<'_>, bool)> =
            Vec::with_capacity(template.references().count());
        let mut refresh = Vec::new();
        let output = self.cache.with_locked(|locked| {
            for r in template.references() {
                let (name, prepared) = secrets.get_key_value(r.name())?;
                let secret = &prepared.secret;
                if !secret.is_enabled() {
                    return None;
                }
                if let HostCheck::Host(host) = host {
                    if !secret.domains().allows(host) {
                        return None;
                    }
                }
                match &prepared.source {
                    PreparedSource::Local(v) => refs.push((name, Source::Local(v), false)),
                    PreparedSource::Link {
                        locator: Ok(locator),
                        json: None,
                        ..
                    } => {
                        let stale = match locked.find(locator) {
                            Found::Fresh => false,
                            Found::Stale => true,
                            Found::Refresh(generation) => {
                                refresh.push((name, prepared, locator, generation));
                                false
                            }
                            Found::Miss(_) => return None,
                        };
                        refs.push((name, Source::Cached(locator), stale));
                    }
                    _ => return None,
                }
            }
            let mut values: Vec<&str> = Vec::with_capacity(refs.len());
            for (_, source, _) in &refs {
                values.push(match source {
                    Source::Local(v) => v.expose_secret(),
                    Source::Cached(locator) => locked.value(locator)?.expose_secret(),
                });
            }
            Some(super::render::render_resolved(
                template,
                source,
                &values,
                |k| (refs[k].0.clone(), refs[k].2),
                field,
                report,
            ))
        });
        if output.is_some() {
            let (mut hits, mut stales) = (0, 0);
            for (_, source, stale) in &refs {
                if let Source::Cached(_) = source {
                    hits += 1;
                    stales += u64::from(*stale);
                }
            }
            Counters::add(&self.counters.cache_hits, hits);
            Counters::add(&self.counters.stale_served, stales);
            event!(
                tracing::Level::TRACE,
                hits,
                stale = stales,
                "cache: every reference at hand"
            );
        }
        // Asked-for refreshes start even when the general path takes over: the lookup that
        // asked will not ask again.
        self.start_refreshes(refresh);
        output
    }

    fn draft_prepared<'s>(
        &self,
        prepared: &'s Arc<Prepared>,
        name: &str,
        host: HostCheck<'_>,
    ) -> Draft<'s> {
        // A linked secret's errors name its provider too, whatever the reason.
        let linked = prepared.secret.source().link().map(|l| l.provider());
        let fail = |e: Error| {
            let e = e.with_secret(name);
            Draft::Done(Err(Box::new(match linked {
                Some(p) if e.provider().is_none() => e.with_provider(p.clone()),
                _ => e,
            })))
        };
        let secret = &prepared.secret;
        if !secret.is_enabled() {
            return fail(Error::new(ErrorKind::Disabled, "the secret is turned off"));
        }
        if let HostCheck::Host(host) = host {
            if !secret.domains().allows(host) {
                let allowed: Vec<String> = secret
                    .domains()
                    .patterns()
                    .iter()
                    .map(|p| p.to_string())
                    .collect();
                let target = match host {
                    Some(h) => format!("the request goes to {h}"),
                    None => "the request has no http(s) host to check".to_owned(),
                };
                return fail(Error::new(
                    ErrorKind::DomainNotAllowed,
                    format!("allowed only for {}; {target}", allowed.join(", ")),
                ));
            }
        }
        match &prepared.source {
            PreparedSource::Local(v) => Draft::Done(Ok(v.clone())),
            PreparedSource::Env(var) => match self.env.var(var) {
                Some(v) => Draft::Done(Ok(Arc::new(v))),
                None => fail(Error::new(
                    ErrorKind::MissingEnv,
                    format!("environment variable {var} is not set"),
                )),
            },
            PreparedSource::Link { locator, .. } => match locator {
                Err(e) => fail(e.clone()),
                Ok(locator) => Draft::Link {
                    prepared,
                    locator,
                    since: None,
                },
            },
        }
    }

    /// The fetch of one link as the cache runs it: within the provider's concurrency limit.
    fn fetcher(
        &self,
        name: Arc<str>,
        prepared: Arc<Prepared>,
        provider: DynProvider,
        id: ProviderId,
    ) -> impl FnOnce() -> FetchFuture {
        let interaction = self.interaction.clone();
        let limits = self.limits.clone();
        let counters = self.counters.clone();
        move || {
            #[cfg(feature = "tracing")]
            let span = tracing::debug_span!("vault.fetch", provider = id.as_str(), secret = &*name);
            let _ = &name;
            let run = async move {
                let PreparedSource::Link { link, .. } = &prepared.source else {
                    return Err(Error::new(ErrorKind::Other, "not a link"));
                };
                let _slot = limits.acquire(&id, &counters).await?;
                Counters::add(&counters.fetches, 1);
                let start = telemetry::start();
                let result =
                    telemetry::scoped(counters.clone(), provider.fetch(link, &*interaction))
                        .await
                        .map_err(|e| e.with_provider(id));
                match &result {
                    Ok(_) => event!(
                        tracing::Level::DEBUG,
                        outcome = "ok",
                        duration_ms = telemetry::since(start),
                        "fetch"
                    ),
                    Err(e) => {
                        Counters::add(&counters.fetch_errors, 1);
                        let _ = (e, start);
                        event!(
                            tracing::Level::WARN,
                            outcome = "error",
                            error_kind = e.kind().as_str(),
                            error = %e,
                            duration_ms = telemetry::since(start),
                            "fetch"
                        );
                    }
                }
                result
            };
            #[cfg(feature = "tracing")]
            let run = tracing::Instrument::instrument(run, span);
            Box::pin(run)
        }
    }

    pub(super) async fn run(&self, name: Arc<str>, plan: Plan) -> Value {
        match plan {
            Plan::Done(value, stale) => Value { name, value, stale },
            Plan::Fetch(fetch) => {
                let Fetch {
                    prepared,
                    provider,
                    locator,
                    since,
                } = *fetch;
                let id = locator.provider().clone();
                let hit = self
                    .cache
                    .fetch_since(
                        &locator,
                        since,
                        self.fetcher(name.clone(), prepared.clone(), provider, id),
                    )
                    .await;
                match hit {
                    Ok(hit) => Value {
                        stale: {
                            Counters::add(&self.counters.stale_served, u64::from(hit.stale));
                            hit.stale
                        },
                        value: field(&prepared, hit.value, &name),
                        name,
                    },
                    Err(e) => Value {
                        value: Err(Box::new(e.with_secret(&*name))),
                        stale: false,
                        name,
                    },
                }
            }
        }
    }

    /// Values of every distinct name, fetching the missing ones concurrently.
    pub(super) async fn values(&self, plans: Vec<(Arc<str>, Plan)>) -> Vec<Value> {
        let values: Vec<Value> = if plans.iter().all(|(_, p)| matches!(p, Plan::Done(..))) {
            // Fast path: everything local or cached, no future machinery.
            plans
                .into_iter()
                .map(|(name, p)| match p {
                    Plan::Done(value, stale) => Value { name, value, stale },
                    Plan::Fetch(_) => unreachable!("checked above"),
                })
                .collect()
        } else {
            join_all(plans.into_iter().map(|(name, p)| self.run(name, p))).await
        };
        for v in &values {
            if let Err(e) = &v.value {
                self.counters.error(e.kind());
            }
        }
        values
    }
}

/// The `cache` event of one linked name.
fn cache_event(prepared: &Prepared, name: &str, outcome: &'static str) {
    let _ = (prepared, name, outcome);
    event!(
        tracing::Level::TRACE,
        provider = prepared
            .secret
            .source()
            .link()
            .map_or("", |l| l.provider().as_str()),
        secret = name,
        outcome,
        "cache"
    );
}

fn unknown(name: &str) -> Error {
    Error::new(
        ErrorKind::UnknownName,
        "the vault holds no secret of this name",
    )
    .with_secret(name)
}

/// Whether a value is the empty string.
pub(super) fn is_empty(v: &SharedSecret) -> bool {
    v.expose_secret().is_empty()
}
