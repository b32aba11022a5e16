//! What each name of a call needs: a value at hand (local, environment, cached) or a fetch,
//! and the concurrent fetching of the misses.

use std::sync::Arc;

use futures_util::future::join_all;

use crate::cache::{Generation, SharedSecret};
use crate::domain::RequestHost;
use crate::error::{Error, ErrorKind};
use crate::link::{Link, Locator, ProviderId};
use crate::provider::DynProvider;

use super::prepared::{Prepared, PreparedSource, SecretMap};
use super::Inner;

/// One name's outcome in a call.
pub(super) struct Value {
    /// The name, shared with the vault.
    pub(super) name: Arc<str>,
    pub(super) value: Result<SharedSecret, Error>,
}

/// A plan before the cache was asked: links still borrow from the vault.
enum Draft<'s> {
    Done(Result<SharedSecret, Error>),
    Link {
        prepared: &'s Arc<Prepared>,
        link: &'s Link,
        locator: &'s Locator,
        /// Set by the cache lookup on a miss.
        since: Option<Generation>,
    },
}

/// How to obtain one name's value.
pub(super) enum Plan {
    Done(Result<SharedSecret, Error>),
    Fetch {
        prepared: Arc<Prepared>,
        provider: DynProvider,
        locator: Locator,
        /// The cache's state when the miss was seen, before the provider was chosen.
        since: Option<Generation>,
    },
}

/// Where the request's host comes from for the allowed-domain check.
#[derive(Clone, Copy)]
pub(super) enum HostCheck<'h> {
    /// The request goes to this host (`None`: no valid http(s) URL).
    Host(Option<&'h RequestHost>),
    /// Not checked at all (`vaultctl check`).
    Skip,
}

impl Inner {
    pub(super) fn plan(&self, name: &str, host: HostCheck<'_>) -> Plan {
        self.plans(&[name], host)
            .pop()
            .expect("one plan per name")
            .1
    }

    /// Plans for every name, under one read of the vault and one lock of the cache: a link
    /// whose value is cached costs a lookup and nothing else (no provider lookup, no clones),
    /// so the cache-hit path of a whole call is a handful of lock operations.
    pub(super) fn plans(&self, names: &[&str], host: HostCheck<'_>) -> Vec<(Arc<str>, Plan)> {
        let secrets = self.read();
        let mut drafts: Vec<(Arc<str>, Draft<'_>)> = names
            .iter()
            .map(|name| self.draft(&secrets, name, host))
            .collect();
        if drafts.iter().any(|(_, d)| matches!(d, Draft::Link { .. })) {
            self.cache.with_lookup(|fresh| {
                for (_, d) in drafts.iter_mut() {
                    if let Draft::Link { locator, since, .. } = d {
                        match fresh(locator) {
                            Ok(v) => *d = Draft::Done(Ok(v)),
                            Err(generation) => *since = Some(generation),
                        }
                    }
                }
            });
        }
        let mut providers: Vec<(ProviderId, Result<DynProvider, Error>)> = Vec::new();
        drafts
            .into_iter()
            .map(|(name, d)| {
                let plan = match d {
                    Draft::Done(r) => Plan::Done(r),
                    Draft::Link {
                        prepared,
                        link,
                        locator,
                        since,
                    } => {
                        let id = link.provider();
                        let provider = match providers.iter().find(|(p, _)| p == id) {
                            Some((_, p)) => p.clone(),
                            None => {
                                let p = self.integrations.get(id);
                                providers.push((id.clone(), p.clone()));
                                p
                            }
                        };
                        match provider {
                            Err(e) => Plan::Done(Err(e.with_secret(&*name))),
                            Ok(provider) => Plan::Fetch {
                                locator: locator.clone(),
                                provider,
                                prepared: prepared.clone(),
                                since,
                            },
                        }
                    }
                };
                (name, plan)
            })
            .collect()
    }

    /// The first step of a plan, borrowing from the vault, and the name as shared by the
    /// vault (so that reports need no copy of it).
    fn draft<'s>(
        &self,
        secrets: &'s SecretMap,
        name: &str,
        host: HostCheck<'_>,
    ) -> (Arc<str>, Draft<'s>) {
        let Some((key, prepared)) = secrets.get_key_value(name) else {
            let e = Error::new(
                ErrorKind::UnknownName,
                "the vault holds no secret of this name",
            );
            return (Arc::from(name), Draft::Done(Err(e.with_secret(name))));
        };
        (key.clone(), self.draft_prepared(prepared, name, host))
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
            Draft::Done(Err(match linked {
                Some(p) if e.provider().is_none() => e.with_provider(p.clone()),
                _ => e,
            }))
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
            PreparedSource::Link { link, locator } => match locator {
                Err(e) => fail(e.clone()),
                Ok(locator) => Draft::Link {
                    prepared,
                    link,
                    locator,
                    since: None,
                },
            },
        }
    }

    pub(super) async fn run(&self, name: &str, plan: Plan) -> Result<SharedSecret, Error> {
        match plan {
            Plan::Done(r) => r,
            Plan::Fetch {
                prepared,
                provider,
                locator,
                since,
            } => {
                let interaction = self.interaction.clone();
                let id = locator.provider().clone();
                self.cache
                    .get_or_fetch_since(&locator, since, move || {
                        Box::pin(async move {
                            let PreparedSource::Link { link, .. } = &prepared.source else {
                                return Err(Error::new(ErrorKind::Other, "not a link"));
                            };
                            provider
                                .fetch(link, &*interaction)
                                .await
                                .map_err(|e| e.with_provider(id))
                        })
                    })
                    .await
                    .map_err(|e| e.with_secret(name))
            }
        }
    }

    /// Values of every distinct name, fetching the missing ones concurrently.
    pub(super) async fn values(&self, names: &[&str], host: HostCheck<'_>) -> Vec<Value> {
        let plans = self.plans(names, host);
        if plans.iter().all(|(_, p)| matches!(p, Plan::Done(_))) {
            // Fast path: everything local or cached, no future machinery.
            return plans
                .into_iter()
                .map(|(name, p)| match p {
                    Plan::Done(value) => Value { name, value },
                    Plan::Fetch { .. } => unreachable!("checked above"),
                })
                .collect();
        }
        join_all(plans.into_iter().map(|(name, p)| async move {
            let value = self.run(&name, p).await;
            Value { name, value }
        }))
        .await
    }
}
