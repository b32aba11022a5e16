//! The session of one provider: signed out, signed in with a token, or expired; plus what is
//! needed so that concurrent fetches share one sign-in (a gate held during sign-in and
//! renewal, and the outcome of the last attempt for those who waited on it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use time::OffsetDateTime;
use vault_core::{Error, SessionState};

use crate::token::VaultToken;

/// Where the token came from: only tokens this crate obtained are revoked on sign-out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// From the browser sign-in.
    SignIn,
    /// Handed in by the host (`VAULT_TOKEN`, [`crate::HashicorpBuilder::token`]).
    Host,
}

/// The state of the session.
#[derive(Clone, Debug)]
pub(crate) enum Slot {
    SignedOut,
    Active {
        token: VaultToken,
        origin: Origin,
        /// Changes with every new token, so a late "this token is dead" about an old
        /// token does not end a newer session.
        generation: u64,
    },
    Expired,
}

#[derive(Debug)]
pub(crate) struct Session {
    slot: Mutex<Slot>,
    /// Held while signing in or renewing: the others wait, then use the result.
    pub gate: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    /// Sign-in attempts finished so far, and the error of the last one if it failed.
    attempts: AtomicU64,
    last_failure: Mutex<Option<Error>>,
}

impl Session {
    pub fn new(initial: Option<VaultToken>) -> Self {
        let s = Session {
            slot: Mutex::new(Slot::SignedOut),
            gate: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            attempts: AtomicU64::new(0),
            last_failure: Mutex::new(None),
        };
        if let Some(t) = initial {
            s.activate(t, Origin::Host);
        }
        s
    }

    pub fn slot(&self) -> Slot {
        self.slot.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn replace(&self, slot: Slot) -> Slot {
        std::mem::replace(
            &mut *self.slot.lock().unwrap_or_else(|e| e.into_inner()),
            slot,
        )
    }

    pub fn activate(&self, token: VaultToken, origin: Origin) -> u64 {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.replace(Slot::Active {
            token,
            origin,
            generation,
        });
        generation
    }

    /// Replaces the token of the current generation (a renewal), keeping its origin.
    pub fn renewed(&self, token: VaultToken, generation: u64) {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Slot::Active {
            generation: g,
            origin,
            ..
        } = &*slot
        {
            if *g == generation {
                *slot = Slot::Active {
                    token,
                    origin: *origin,
                    generation,
                };
            }
        }
    }

    /// Marks the session expired if it still holds the token of `generation`.
    pub fn expire(&self, generation: u64) {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(&*slot, Slot::Active { generation: g, .. } if *g == generation) {
            *slot = Slot::Expired;
        }
    }

    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::SeqCst)
    }

    /// Records the end of a sign-in attempt.
    pub fn finished(&self, failure: Option<Error>) {
        *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) = failure;
        self.attempts.fetch_add(1, Ordering::SeqCst);
    }

    /// The error of a sign-in attempt that finished after `seen`, if it failed: the callers
    /// who waited for it get its error instead of opening another browser tab.
    pub fn failure_since(&self, seen: u64) -> Option<Error> {
        if self.attempts() > seen {
            self.last_failure
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        } else {
            None
        }
    }

    pub fn state(&self, now: OffsetDateTime) -> SessionState {
        match self.slot() {
            Slot::SignedOut => SessionState::SignedOut,
            Slot::Expired => SessionState::Expired,
            Slot::Active { token, .. } => SessionState::SignedIn {
                until: token.expires_at,
            }
            .at(now),
        }
    }
}
