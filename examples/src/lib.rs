//! Shared pieces of the example programs: the command-line [`Interaction`](vault_core::Interaction), the wiring of
//! the provider crates this build includes (features `azure`, `hashicorp`, `aws`) and the
//! command line's side of the encrypted store.
#![forbid(unsafe_code)]

pub mod cli_interaction;
pub mod demo;
#[cfg(feature = "gcp")]
pub mod gcp;
pub mod local_store;
pub mod logging;
pub mod providers;

pub use cli_interaction::CliInteraction;
pub use providers::{build_resolver, build_resolver_with, Wiring, KNOWN_PROVIDERS};

/// The README's Rust blocks, compiled and run as doctests so the front door stays true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
