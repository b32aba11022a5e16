//! Shared pieces of the example programs: the command-line [`Interaction`](vault_core::Interaction) and the wiring of
//! the provider crates this build includes (features `azure`, `hashicorp`, `aws`).
#![forbid(unsafe_code)]

pub mod cli_interaction;
pub mod demo;
pub mod gcp;
pub mod providers;

pub use cli_interaction::CliInteraction;
pub use providers::{build_resolver, KNOWN_PROVIDERS};

/// The README's Rust blocks, compiled and run as doctests so the front door stays true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
