//! The session of one provider: signed out, signed in with a token, or expired; plus what is
//! needed so that concurrent fetches share one sign-in (a gate held during sign-in and
//! renewal, and the outcome of the last attempt for those who waited on it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use time::OffsetDateTime;
use vault_core::{Error, SessionState};

use crate::token::VaultToken;

/// Where the token came from: only tokens this crate obtained are saved in the session store
/// and revoked on sign-out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// From a sign-in or login this crate ran.
    SignIn,
    /// A token this crate obtained in an earlier process, from the session store: when Vault
    /// refuses it, it is dropped and the normal sign-in runs.
    Resumed,
    /// Handed in by the host (`VAULT_TOKEN` with the seed's flow, [`crate::HashicorpBuilder::token`]).
    Host,
    /// The Vault CLI's token (`auth_method = "token"`): renewed when renewable, never
    /// revoked, saved or written.
    User,
    /// No token: a Vault Agent / Proxy adds its own (`auth_method = "agent"`).
    Agent,
}

impl Origin {
    /// Whether this crate obtained the token (so it may save and revoke it).
    pub fn ours(self) -> bool {
        matches!(self, Origin::SignIn | Origin::Resumed)
    }
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
    /// Bumped by every sign-out: a sign-in that started before it is cancelled, and its
    /// token (if it still arrives) is not used.
    epoch: tokio::sync::watch::Sender<u64>,
    /// Set by a sign-out, cleared by an explicit sign-in: while set, fetches answer "signed
    /// out" instead of starting a sign-in on their own.
    user_signed_out: std::sync::atomic::AtomicBool,
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
            epoch: tokio::sync::watch::Sender::new(0),
            user_signed_out: std::sync::atomic::AtomicBool::new(false),
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

    /// A receiver of the sign-out epoch (its current value marked seen): `changed()` fires
    /// at the next sign-out.
    pub fn epoch(&self) -> tokio::sync::watch::Receiver<u64> {
        let mut rx = self.epoch.subscribe();
        rx.borrow_and_update();
        rx
    }

    /// Activates `token` unless a sign-out happened since `epoch` was read; `None` then.
    pub fn activate_if(&self, token: VaultToken, origin: Origin, epoch: u64) -> Option<u64> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if *self.epoch.borrow() != epoch {
            return None;
        }
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        *slot = Slot::Active {
            token,
            origin,
            generation,
        };
        Some(generation)
    }

    /// Signs out: the slot becomes signed out, a sign-in in progress is cancelled, and
    /// fetches stop signing in on their own. Returns what the slot held. Takes no gate, so
    /// it never waits behind a browser sign-in.
    pub fn sign_out(&self) -> Slot {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        self.user_signed_out.store(true, Ordering::SeqCst);
        self.epoch.send_modify(|e| *e += 1);
        std::mem::replace(&mut *slot, Slot::SignedOut)
    }

    /// Whether the user signed out (and has not signed in since).
    pub fn user_signed_out(&self) -> bool {
        self.user_signed_out.load(Ordering::SeqCst)
    }

    /// An explicit sign-in clears the "signed out by the user" mark.
    pub fn clear_user_signed_out(&self) {
        self.user_signed_out.store(false, Ordering::SeqCst);
    }

    /// Marks the session signed out (not expired) if it still holds the token of
    /// `generation`: a resumed token Vault refused, so the normal sign-in runs next.
    pub fn forget(&self, generation: u64) {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(&*slot, Slot::Active { generation: g, .. } if *g == generation) {
            *slot = Slot::SignedOut;
        }
    }

    /// The origin of the token of `generation`, if it is still the current one.
    pub fn origin_of(&self, generation: u64) -> Option<Origin> {
        match &*self.slot.lock().unwrap_or_else(|e| e.into_inner()) {
            Slot::Active {
                origin,
                generation: g,
                ..
            } if *g == generation => Some(*origin),
            _ => None,
        }
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
