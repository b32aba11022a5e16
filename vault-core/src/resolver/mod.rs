//! The resolver: turns templates and requests into resolved output plus a report.
//!
//! For one call, every distinct reference is looked up once; every link that is not cached is
//! fetched concurrently with the others (N links cost one round trip of wall time), and the
//! cache makes concurrent fetches of one link share a single request. Allowed domains are
//! checked *before* fetching, so a refused secret is never even read.

//! One file per step: `prepared` (the vault as the resolver keeps it), `plan` (what each
//! name needs: a value at hand, a cache hit, or a fetch), `render` (substitution and the
//! report).

mod from_config;
#[cfg(feature = "json")]
mod json;
mod limit;
mod plan;
mod prepared;
mod redirect;
mod render;

pub use limit::{DEFAULT_FETCH_QUEUE_TIMEOUT, DEFAULT_MAX_CONCURRENT_FETCHES};

use std::sync::{Arc, RwLock};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::cache::{Cache, CacheConfig};
use crate::clock::{Clock, SystemClock};
use crate::domain::RequestHost;
use crate::encoding::{body_contexts, url_contexts, BodyKind, Encoding};
use crate::env::{Environment, ProcessEnv};
use crate::error::{Error, ErrorKind};
use crate::integration::{Integrations, Role};
use crate::interaction::{Interaction, NoInteraction};
use crate::link::ProviderId;
use crate::provider::{DynProvider, SecretDetails};
use crate::report::{Field, Outcome, Report};
use crate::request::{HttpRequest, Resolution, ResolvedRequest};
use crate::session::SessionState;
use crate::telemetry::{self, event, Counters, Metrics};
use crate::template::Template;
use crate::vault::{Vault, VaultSecret};

pub use from_config::FromConfig;
use limit::Limits;
use plan::HostCheck;
use prepared::{PreparedSource, SecretMap};
use render::{host_depends_on_reference, render, render_in};

/// What to do with a reference that cannot be resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Leave its text in place and report why, as request tools do.
    #[default]
    Lenient,
    /// Fail the whole call with the first reference's error.
    Strict,
}

/// The status of one vault secret, as `vaultctl check` prints it.
#[derive(Clone, Debug)]
pub struct SecretStatus {
    /// The secret's name.
    pub name: String,
    /// Where its value comes from (`local value`, `env X`, `aws link`), never the value.
    pub source: String,
    /// Whether it resolves now, and if not, why.
    pub outcome: Outcome,
    /// Its value was served past its TTL after a transient error (stale-if-error).
    pub stale: bool,
}

/// Builds a [`Resolver`].
pub struct ResolverBuilder {
    vault: Vault,
    providers: Vec<DynProvider>,
    clock: Arc<dyn Clock>,
    env: Arc<dyn Environment>,
    interaction: Arc<dyn Interaction>,
    cache: CacheConfig,
    mode: Mode,
    /// persist hook (see `crate::persist`).
    persist: Option<Arc<dyn crate::persist::PersistentValues>>,
    fetch_queue_timeout: Duration,
}

impl ResolverBuilder {
    /// Keeps fetched values in `persist` too, so their TTL holds across processes (the
    /// config's `[cache] persist = true`; see [`crate::persist`]).
    pub fn persistent_values(mut self, persist: Arc<dyn crate::persist::PersistentValues>) -> Self {
        self.persist = Some(persist);
        self
    }

    /// At most this many fetches run at the same time per provider (default
    /// [`DEFAULT_MAX_CONCURRENT_FETCHES`]; the same as [`CacheConfig::max_concurrent_fetches`],
    /// so call it after [`cache`](Self::cache)); the others queue, for at most
    /// [`fetch_queue_timeout`](Self::fetch_queue_timeout). So thousands of links in one
    /// resolve never open thousands of connections at once.
    pub fn max_concurrent_fetches(mut self, max: usize) -> Self {
        self.cache.max_concurrent_fetches = max.max(1);
        self
    }

    /// The longest a fetch waits for a free slot of its provider's limit before it fails with
    /// an [`ErrorKind::Timeout`] that names the limit (default
    /// [`DEFAULT_FETCH_QUEUE_TIMEOUT`]).
    pub fn fetch_queue_timeout(mut self, wait: Duration) -> Self {
        self.fetch_queue_timeout = wait;
        self
    }

    /// Adds a provider integration (connected as an admin: the host sets it up).
    pub fn provider(mut self, provider: DynProvider) -> Self {
        self.providers.push(provider);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The environment for `value_env` secrets (default: the process environment).
    pub fn env(mut self, env: Arc<dyn Environment>) -> Self {
        self.env = env;
        self
    }

    /// How sign-in talks to the user (default: [`NoInteraction`]).
    pub fn interaction(mut self, interaction: Arc<dyn Interaction>) -> Self {
        self.interaction = interaction;
        self
    }

    /// Cache settings (default: 60 minutes, 10,000 values).
    pub fn cache(mut self, cache: CacheConfig) -> Self {
        self.cache = cache;
        self
    }

    /// Lenient (default) or strict.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Builds the resolver, validating every link whose provider is present. A link whose
    /// provider is missing or that fails validation stays in the vault and is reported as
    /// unresolved with the reason.
    pub fn build(self) -> Resolver {
        let integrations = Integrations::new();
        for p in self.providers {
            // Admin: the host program sets up its own integrations.
            let _ = integrations.connect(p, Role::Admin);
        }
        let cache = Cache::with_persistence(self.cache, self.clock.clone(), self.persist);
        let inner = Inner {
            secrets: RwLock::new(SecretMap::default()),
            integrations,
            cache,
            clock: self.clock,
            env: self.env,
            interaction: self.interaction,
            mode: self.mode,
            limits: Arc::new(Limits::new(
                self.cache.max_concurrent_fetches,
                self.fetch_queue_timeout,
            )),
            counters: Arc::new(Counters::default()),
        };
        {
            let mut secrets = inner.write();
            for (name, secret) in self.vault.iter() {
                secrets.insert(Arc::from(name), Arc::new(inner.prepare(secret.clone())));
            }
        }
        Resolver {
            inner: Arc::new(inner),
        }
    }
}

/// Resolves references against a vault and its integrations. Cheap to clone; clones share
/// the vault, the integrations and the cache.
#[derive(Clone)]
pub struct Resolver {
    inner: Arc<Inner>,
}

struct Inner {
    secrets: RwLock<SecretMap>,
    integrations: Integrations,
    cache: Cache,
    clock: Arc<dyn Clock>,
    env: Arc<dyn Environment>,
    interaction: Arc<dyn Interaction>,
    mode: Mode,
    limits: Arc<Limits>,
    counters: Arc<Counters>,
}

impl Inner {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, SecretMap> {
        self.secrets.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, SecretMap> {
        self.secrets.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Resolver {
    /// Starts building a resolver over `vault`.
    pub fn builder(vault: Vault) -> ResolverBuilder {
        ResolverBuilder {
            vault,
            providers: Vec::new(),
            clock: Arc::new(SystemClock),
            env: Arc::new(ProcessEnv),
            interaction: Arc::new(NoInteraction),
            cache: CacheConfig::default(),
            mode: Mode::default(),
            persist: None,
            fetch_queue_timeout: DEFAULT_FETCH_QUEUE_TIMEOUT,
        }
    }

    /// In strict mode, the first unresolved reference's error.
    fn strict_error(&self, report: &Report) -> Result<(), Error> {
        match (self.inner.mode, report.first_error()) {
            (Mode::Strict, Some(e)) => Err(e.clone()),
            _ => Ok(()),
        }
    }

    /// Resolves the references in `text`. `request_url` is the URL of the request the text
    /// goes into: secrets with allowed domains resolve only when its host is allowed (and
    /// never without a URL).
    pub async fn resolve(
        &self,
        text: &str,
        request_url: Option<&str>,
    ) -> Result<Resolution, Error> {
        let start = telemetry::start();
        Counters::add(&self.inner.counters.resolves, 1);
        let template = Template::parse(text);
        let host = request_url.and_then(|u| RequestHost::parse_url(u).ok());
        let mut report = Report::default();
        let output = if template.is_verbatim(text) {
            SecretString::from(text)
        } else if let Some(output) = self.inner.render_cached(
            &template,
            text,
            HostCheck::Host(host.as_ref()),
            &Field::Text,
            &mut report,
        ) {
            output
        } else {
            let (index, plans) = self
                .inner
                .plan_templates(&[&template], HostCheck::Host(host.as_ref()));
            let values = resolve_span(self.inner.values(plans)).await;
            render(
                &template,
                text,
                Some(index.slots(0)),
                &values,
                &Field::Text,
                &mut report,
            )
        };
        resolved(&report, start);
        self.strict_error(&report)?;
        Ok(Resolution { output, report })
    }

    /// Resolves a request: the URL, header values and body. The allowed-domain check uses the
    /// host the request will go to; when that host itself comes from a reference, the URL is
    /// resolved first (and only secrets without domain restrictions may appear in it).
    pub async fn resolve_request(&self, request: &HttpRequest) -> Result<ResolvedRequest, Error> {
        self.resolve_request_with(request, Encoding::Raw).await
    }

    /// [`resolve_request`](Self::resolve_request), writing values with `encoding`: with
    /// [`Encoding::Contextual`], a value is percent-encoded in the URL's path and query,
    /// form-encoded or JSON-escaped in a body of that `Content-Type`, and so on (see
    /// [`encoding`](crate::encoding)).
    pub async fn resolve_request_with(
        &self,
        request: &HttpRequest,
        encoding: Encoding,
    ) -> Result<ResolvedRequest, Error> {
        let start = telemetry::start();
        Counters::add(&self.inner.counters.resolves, 1);
        let url_t = Template::parse(&request.url);
        let header_ts: Vec<Template<'_>> = request
            .headers
            .iter()
            .map(|(_, v)| Template::parse(v))
            .collect();
        let body_t = request.body.as_deref().map(Template::parse);
        let mut report = Report::default();
        let spans = |t: &Template<'_>| t.references().map(|r| r.span()).collect::<Vec<_>>();
        let (url_cx, body_cx) = match encoding {
            Encoding::Raw => (None, None),
            Encoding::Contextual => {
                let content_type = request
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                    .map(|(_, v)| v.as_str());
                let kind = BodyKind::from_content_type(content_type);
                let body_cx = match (&request.body, &body_t) {
                    (Some(raw), Some(t)) => Some(body_contexts(&kind, raw, &spans(t))),
                    _ => None,
                };
                (Some(url_contexts(&request.url, &spans(&url_t))), body_cx)
            }
        };

        let (url, host) = if host_depends_on_reference(&request.url, &url_t) {
            let (index, plans) = self.inner.plan_templates(&[&url_t], HostCheck::Host(None));
            let values = resolve_span(self.inner.values(plans)).await;
            let url = render_in(
                &url_t,
                &request.url,
                Some(index.slots(0)),
                &values,
                &Field::Url,
                &mut report,
                url_cx.as_deref(),
            );
            let host = RequestHost::parse_url(url.expose_secret()).ok();
            (Some(url), host)
        } else {
            (None, RequestHost::parse_url(&request.url).ok())
        };

        // Templates in this order: headers, then the body if any, then the URL if not resolved
        // yet.
        let mut all: Vec<&Template<'_>> = header_ts.iter().collect();
        all.extend(body_t.as_ref());
        let body_at = header_ts.len();
        let url_at = all.len();
        if url.is_none() {
            all.push(&url_t);
        }
        let (index, plans) = self
            .inner
            .plan_templates(&all, HostCheck::Host(host.as_ref()));
        let values = resolve_span(self.inner.values(plans)).await;
        let url = match url {
            Some(u) => u,
            None => render_in(
                &url_t,
                &request.url,
                Some(index.slots(url_at)),
                &values,
                &Field::Url,
                &mut report,
                url_cx.as_deref(),
            ),
        };
        // Fail closed if the host the request will really go to is not the one the secrets
        // were checked against (escapes and URL parsing quirks can make the written URL and
        // the resolved one disagree, e.g. `https://good.com\{{vault:x}}@evil.com/`).
        if RequestHost::parse_url(url.expose_secret()).ok() != host {
            return Err(Error::new(
                ErrorKind::DomainNotAllowed,
                "the request's host changes when its URL is resolved; no secret is sent",
            ));
        }
        let headers = request
            .headers
            .iter()
            .zip(&header_ts)
            .enumerate()
            .map(|(i, ((name, raw), t))| {
                let field = Field::Header(name.clone());
                (
                    name.clone(),
                    render(t, raw, Some(index.slots(i)), &values, &field, &mut report),
                )
            })
            .collect();
        let body = match (&request.body, &body_t) {
            (Some(raw), Some(t)) => Some(render_in(
                t,
                raw,
                Some(index.slots(body_at)),
                &values,
                &Field::Body,
                &mut report,
                body_cx.as_deref(),
            )),
            _ => None,
        };
        resolved(&report, start);
        self.strict_error(&report)?;
        Ok(ResolvedRequest {
            method: request.method.clone(),
            url,
            headers,
            body,
            report,
        })
    }

    /// The value of one secret, for a request to `request_url` (see [`resolve`](Self::resolve)).
    pub async fn get(&self, name: &str, request_url: Option<&str>) -> Result<SecretString, Error> {
        let host = request_url.and_then(|u| RequestHost::parse_url(u).ok());
        self.one(name, HostCheck::Host(host.as_ref())).await
    }

    /// The value of one secret for its owner, ignoring allowed domains (they guard what is
    /// sent in requests, not what the vault's user may read), as `vaultctl get` prints it.
    pub async fn value(&self, name: &str) -> Result<SecretString, Error> {
        self.one(name, HostCheck::Skip).await
    }

    async fn one(&self, name: &str, host: HostCheck<'_>) -> Result<SecretString, Error> {
        let start = telemetry::start();
        Counters::add(&self.inner.counters.resolves, 1);
        let (name, plan) = self.inner.plan(name, host);
        let values = resolve_span(self.inner.values(vec![(name, plan)])).await;
        let v = values.into_iter().next().expect("one value per plan").value;
        let _ = start;
        event!(
            tracing::Level::DEBUG,
            references = 1u64,
            unresolved = u64::from(v.is_err()),
            outcome = if v.is_ok() { "resolved" } else { "unresolved" },
            duration_ms = telemetry::since(start),
            "resolve"
        );
        let v = v.map_err(|e| *e)?;
        Ok(SecretString::from(v.expose_secret()))
    }

    /// The counters since this resolver was built: cache hits and misses, fetches, sign-ins,
    /// retries, unresolved references by kind (see [`Metrics`] and
    /// [the telemetry module](crate::telemetry)). Cheap: a handful of atomic reads.
    pub fn metrics(&self) -> Metrics {
        self.inner.counters.snapshot()
    }

    /// Tries every secret (fetching links), ignoring allowed domains, and reports each one's
    /// status without its value.
    pub async fn check(&self) -> Vec<SecretStatus> {
        let (names, sources): (Vec<String>, Vec<String>) = {
            let secrets = self.inner.read();
            let mut all: Vec<(String, String)> = secrets
                .iter()
                .map(|(k, p)| (k.to_string(), p.secret.source().describe()))
                .collect();
            all.sort();
            all.into_iter().unzip()
        };
        Counters::add(&self.inner.counters.resolves, 1);
        let (_, plans) = self.inner.plans(
            names.iter().map(String::as_str),
            names.len(),
            Vec::new(),
            HostCheck::Skip,
        );
        let values = resolve_span(self.inner.values(plans)).await;
        names
            .into_iter()
            .zip(values)
            .zip(sources)
            .map(|((name, v), source)| SecretStatus {
                name,
                source,
                stale: v.stale,
                outcome: match v.value {
                    Ok(v) if plan::is_empty(&v) => Outcome::Empty,
                    Ok(_) => Outcome::Resolved,
                    Err(e) => Outcome::Unresolved(*e),
                },
            })
            .collect()
    }

    /// Metadata of a linked secret (never its value).
    pub async fn describe(&self, name: &str) -> Result<SecretDetails, Error> {
        let prepared = self.inner.read().get(name).cloned().ok_or_else(|| {
            Error::new(
                ErrorKind::UnknownName,
                "the vault holds no secret of this name",
            )
            .with_secret(name)
        })?;
        let PreparedSource::Link { link, locator, .. } = &prepared.source else {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                format!(
                    "the secret is a {}: only linked secrets have details",
                    prepared.secret.source().describe()
                ),
            )
            .with_secret(name));
        };
        if let Err(e) = locator {
            return Err(e.clone().with_secret(name));
        }
        let provider = self
            .inner
            .integrations
            .get(link.provider())
            .map_err(|e| e.with_secret(name))?;
        telemetry::scoped(
            self.inner.counters.clone(),
            provider.describe(link, &*self.inner.interaction),
        )
        .await
        .map_err(|e| e.with_provider(link.provider().clone()).with_secret(name))
    }

    /// Adds or replaces a secret. A link is validated now; relinking never serves the old
    /// link's cached value (the cache is keyed by locator).
    pub fn set_secret(&self, name: &str, secret: VaultSecret) -> Result<(), Error> {
        let mut check = Vault::new();
        check.insert(name, secret.clone())?;
        let prepared = self.inner.prepare(secret);
        if let PreparedSource::Link {
            locator: Err(e), ..
        } = &prepared.source
        {
            if e.kind() != ErrorKind::ProviderUnavailable && e.kind() != ErrorKind::Disconnected {
                return Err(e.clone().with_secret(name));
            }
        }
        self.inner
            .write()
            .insert(Arc::from(name), Arc::new(prepared));
        Ok(())
    }

    /// The errors of links that their provider refused when they were made (a bad ARN, an
    /// identifier on a foreign host, an unknown key...), by secret name: for a host that
    /// treats them as a bad config file. Links of providers that are absent are not listed.
    pub fn invalid_links(&self) -> Vec<Error> {
        let secrets = self.inner.read();
        let mut errors: Vec<Error> = secrets
            .iter()
            .filter_map(|(name, p)| match &p.source {
                PreparedSource::Link {
                    locator: Err(e), ..
                } if e.kind() == ErrorKind::InvalidLink => Some(e.clone().with_secret(&**name)),
                _ => None,
            })
            .collect();
        errors.sort_by(|a, b| a.secret().cmp(&b.secret()));
        errors
    }

    /// Removes a secret; its references become unresolved ([`ErrorKind::UnknownName`]).
    pub fn remove_secret(&self, name: &str) -> bool {
        self.inner.write().remove(name).is_some()
    }

    /// Names of every secret, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut n: Vec<String> = self.inner.read().keys().map(|k| k.to_string()).collect();
        n.sort();
        n
    }

    /// Signs in to provider `id` through the resolver's interaction.
    pub async fn sign_in(&self, id: &ProviderId) -> Result<SessionState, Error> {
        let provider = self.inner.integrations.get(id)?;
        telemetry::scoped(
            self.inner.counters.clone(),
            provider.sign_in(&*self.inner.interaction),
        )
        .await
        .map_err(|e| e.with_provider(id.clone()))
    }

    /// Signs in again after a session expired (or to switch identity): the new session
    /// replaces the old one. Cached values stay; use [`sign_out`](Self::sign_out) first to
    /// drop them too.
    pub async fn reauthenticate(&self, id: &ProviderId) -> Result<SessionState, Error> {
        self.sign_in(id).await
    }

    /// Signs out of provider `id` and drops its cached values.
    pub async fn sign_out(&self, id: &ProviderId) -> Result<(), Error> {
        let provider = self.inner.integrations.get(id)?;
        self.inner.cache.reset_provider(id);
        let result = provider.sign_out().await;
        // Again: a resolve during the sign-out could still fetch with the old session.
        self.inner.cache.reset_provider(id);
        result.map_err(|e| e.with_provider(id.clone()))
    }

    /// The session of provider `id` as seen now, with who is signed in and from where when
    /// the provider knows (for `status`; never a token).
    pub fn session_info(&self, id: &ProviderId) -> Result<crate::session::SessionInfo, Error> {
        let provider = self.inner.integrations.get(id)?;
        let mut info = provider.session_info();
        info.state = info.state.at(self.inner.clock.now());
        Ok(info)
    }

    /// The session of provider `id` as seen now.
    pub fn session(&self, id: &ProviderId) -> Result<SessionState, Error> {
        let provider = self.inner.integrations.get(id)?;
        Ok(provider.session().at(self.inner.clock.now()))
    }

    /// Connects (or reconfigures) an integration; `role` must be allowed to. Drops the
    /// provider's cached values and revalidates its links against the new settings.
    pub async fn connect(&self, provider: DynProvider, role: Role) -> Result<(), Error> {
        let id = provider.id();
        let old = self.inner.integrations.connect(provider, role)?;
        self.inner.cache.reset_provider(&id);
        self.reprepare(&id);
        if let Some(old) = old {
            old.sign_out().await.map_err(|e| e.with_provider(id))?;
        }
        Ok(())
    }

    /// Disconnects an integration: signs it out, drops its cached values; its references
    /// become unresolved ([`ErrorKind::Disconnected`]) until it is connected again.
    pub async fn disconnect(&self, id: &ProviderId, role: Role) -> Result<(), Error> {
        let provider = self.inner.integrations.disconnect(id, role)?;
        self.inner.cache.reset_provider(id);
        let result = provider.sign_out().await;
        self.inner.cache.reset_provider(id);
        result.map_err(|e| e.with_provider(id.clone()))
    }

    fn reprepare(&self, id: &ProviderId) {
        let mut secrets = self.inner.write();
        for p in secrets.values_mut() {
            if p.secret.source().link().is_some_and(|l| l.provider() == id) {
                *p = Arc::new(self.inner.prepare(p.secret.clone()));
            }
        }
    }

    /// The cache (reset, TTL).
    pub fn cache(&self) -> &Cache {
        &self.inner.cache
    }

    /// Drops the cached value of the secret `name`. Returns whether one was cached.
    pub fn reset_cached(&self, name: &str) -> bool {
        let prepared = self.inner.read().get(name).cloned();
        match prepared.as_deref().map(|p| &p.source) {
            Some(PreparedSource::Link { locator: Ok(l), .. }) => self.inner.cache.reset(l),
            _ => false,
        }
    }

    /// The integrations.
    pub fn integrations(&self) -> &Integrations {
        &self.inner.integrations
    }
}

/// `values` inside the `vault.resolve` span (when tracing), so fetch spans nest in it.
fn resolve_span<F: std::future::Future>(values: F) -> impl std::future::Future<Output = F::Output> {
    #[cfg(feature = "tracing")]
    {
        tracing::Instrument::instrument(values, tracing::debug_span!("vault.resolve"))
    }
    #[cfg(not(feature = "tracing"))]
    {
        values
    }
}

/// The `resolve` event of a finished call.
fn resolved(report: &Report, start: Option<std::time::Instant>) {
    let _ = (report, start);
    #[cfg(feature = "tracing")]
    if tracing::level_enabled!(tracing::Level::DEBUG) {
        let references = report.entries().len() as u64;
        let unresolved = report.unresolved().count() as u64;
        let outcome = match unresolved {
            0 => "resolved",
            n if n == references => "unresolved",
            _ => "partial",
        };
        event!(
            tracing::Level::DEBUG,
            references,
            unresolved,
            outcome,
            duration_ms = telemetry::since(start),
            "resolve"
        );
    }
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("secrets", &self.names())
            .field("integrations", &self.inner.integrations)
            .field("cache", &self.inner.cache)
            .field("mode", &self.inner.mode)
            .finish()
    }
}
