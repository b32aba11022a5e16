//! Integrations: one per provider kind, connected or disconnected, with admin-only settings
//! for the providers that ask for it.

use std::collections::HashMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::{Error, ErrorKind};
use crate::link::ProviderId;
use crate::provider::{DynProvider, SettingsPolicy};

/// The role of the user acting on integrations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Role {
    /// A team member: signs in and uses integrations.
    #[default]
    Member,
    /// A team admin: may also create, change and disconnect admin-only integrations.
    Admin,
}

enum Slot {
    Connected(DynProvider),
    /// Disconnected on purpose: references stay unresolved with this reason, and only a
    /// role allowed by `policy` may connect it again.
    Disconnected {
        policy: SettingsPolicy,
    },
}

/// The integrations of one vault, by provider id.
#[derive(Default)]
pub struct Integrations {
    slots: RwLock<HashMap<ProviderId, Slot>>,
}

fn check_role(id: &ProviderId, policy: SettingsPolicy, role: Role) -> Result<(), Error> {
    if policy == SettingsPolicy::AdminOnly && role != Role::Admin {
        return Err(Error::new(
            ErrorKind::NotAllowed,
            "only an admin may change this integration",
        )
        .with_provider(id.clone()));
    }
    Ok(())
}

impl Integrations {
    /// No integrations.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<ProviderId, Slot>> {
        self.slots.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<ProviderId, Slot>> {
        self.slots.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Connects `provider`, or replaces the one of the same id (a settings change). Checks
    /// `role` against the policy of both the new and the replaced provider. Returns the
    /// replaced provider, if any, so the caller can sign it out.
    pub fn connect(&self, provider: DynProvider, role: Role) -> Result<Option<DynProvider>, Error> {
        let id = provider.id();
        let mut slots = self.write();
        let old_policy = match slots.get(&id) {
            Some(Slot::Connected(p)) => p.settings_policy(),
            Some(Slot::Disconnected { policy }) => *policy,
            None => SettingsPolicy::AnyUser,
        };
        check_role(&id, old_policy, role)?;
        check_role(&id, provider.settings_policy(), role)?;
        Ok(match slots.insert(id, Slot::Connected(provider)) {
            Some(Slot::Connected(old)) => Some(old),
            _ => None,
        })
    }

    /// Disconnects `id`; returns the provider so the caller can sign it out. Its references
    /// become unresolved ([`ErrorKind::Disconnected`]).
    pub fn disconnect(&self, id: &ProviderId, role: Role) -> Result<DynProvider, Error> {
        let mut slots = self.write();
        match slots.get(id) {
            Some(Slot::Connected(p)) => {
                let policy = p.settings_policy();
                check_role(id, policy, role)?;
                match slots.insert(id.clone(), Slot::Disconnected { policy }) {
                    Some(Slot::Connected(p)) => Ok(p),
                    _ => unreachable_state(id),
                }
            }
            Some(Slot::Disconnected { .. }) => Err(Error::new(
                ErrorKind::Disconnected,
                "the integration is already disconnected",
            )
            .with_provider(id.clone())),
            None => Err(unavailable(id)),
        }
    }

    /// The connected provider `id`, or why there is none.
    pub fn get(&self, id: &ProviderId) -> Result<DynProvider, Error> {
        match self.read().get(id) {
            Some(Slot::Connected(p)) => Ok(p.clone()),
            Some(Slot::Disconnected { .. }) => Err(Error::new(
                ErrorKind::Disconnected,
                "the integration is disconnected: connect it again to resolve its secrets",
            )
            .with_provider(id.clone())),
            None => Err(unavailable(id)),
        }
    }

    /// Ids of every known integration, connected or not, sorted.
    pub fn ids(&self) -> Vec<ProviderId> {
        let mut ids: Vec<_> = self.read().keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Whether `id` is connected.
    pub fn is_connected(&self, id: &ProviderId) -> bool {
        matches!(self.read().get(id), Some(Slot::Connected(_)))
    }
}

fn unreachable_state(id: &ProviderId) -> Result<DynProvider, Error> {
    Err(
        Error::new(ErrorKind::Other, "integration state changed unexpectedly")
            .with_provider(id.clone()),
    )
}

fn unavailable(id: &ProviderId) -> Error {
    Error::new(
        ErrorKind::ProviderUnavailable,
        format!("no `{id}` integration is configured in this program"),
    )
    .with_provider(id.clone())
}

impl std::fmt::Debug for Integrations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let slots = self.read();
        let mut m = f.debug_map();
        for (id, s) in slots.iter() {
            m.entry(
                id,
                &match s {
                    Slot::Connected(_) => "connected",
                    Slot::Disconnected { .. } => "disconnected",
                },
            );
        }
        m.finish()
    }
}
