//! The vault as the resolver keeps it: each secret with its link already validated into a
//! locator, and local values shared rather than copied.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::cache::SharedSecret;
use crate::error::Error;
use crate::json_key::{JsonKey, JSON_KEY};
use crate::link::{Link, Locator};
use crate::vault::{SecretSource, VaultSecret};

use super::Inner;

/// The vault's secrets by name. Names are hashed with FNV-1a rather than SipHash: the map is
/// filled from the vault (trusted), and lookups of hostile names cannot degrade it, so the
/// hash-flooding defence buys nothing here while costing most of a cache-hit lookup.
pub(super) type SecretMap = HashMap<Arc<str>, Arc<Prepared>, BuildHasherDefault<Fnv1a>>;

/// 64-bit FNV-1a.
pub(super) struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A secret prepared for resolving: its link already validated.
pub(super) struct Prepared {
    pub(super) secret: VaultSecret,
    pub(super) source: PreparedSource,
}

/// Where a prepared secret's value comes from.
pub(super) enum PreparedSource {
    Local(SharedSecret),
    Env(String),
    Link {
        /// The link as the provider sees it: without `json_key`, which core handles.
        link: Link,
        locator: Result<Locator, Error>,
        /// The field of the fetched JSON document to serve, if any.
        json: Option<JsonKey>,
    },
}

impl Inner {
    pub(super) fn prepare(&self, secret: VaultSecret) -> Prepared {
        let source = match secret.source() {
            SecretSource::Local(v) => PreparedSource::Local(Arc::new(v.clone())),
            SecretSource::Env(var) => PreparedSource::Env(var.clone()),
            SecretSource::Link(link) => {
                let json = link.get(JSON_KEY).map(JsonKey::parse).transpose();
                let link = link.without(JSON_KEY);
                let locator = json
                    .as_ref()
                    .map_err(Clone::clone)
                    .and_then(|_| self.integrations.get(link.provider()))
                    .and_then(|p| p.validate_link(&link))
                    .map_err(|e| e.with_provider(link.provider().clone()));
                PreparedSource::Link {
                    link,
                    locator,
                    json: json.ok().flatten(),
                }
            }
        };
        Prepared { secret, source }
    }
}
