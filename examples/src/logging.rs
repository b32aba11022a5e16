//! `vaultctl -v` / `-vv` and `RUST_LOG`: the workspace's `tracing` events on stderr (see
//! `vault_core::telemetry` for what they hold; never a secret).
//!
//! A bare level (`RUST_LOG=trace`, `-vv`) applies to this workspace's crates only: the HTTP
//! stack's own events (`hyper_util`, `reqwest`, `rustls`) are about connections, and a
//! dependency is not bound by this workspace's promise to record no secret. Naming targets
//! (`RUST_LOG=vault_core=debug,hyper_util=trace`) enables exactly those, dependencies
//! included, for debugging a connection.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The targets a bare level applies to.
pub const OUR_TARGETS: [&str; 6] = [
    "vault_core",
    "vault_aws",
    "vault_azure",
    "vault_hashicorp",
    "vault_examples",
    "vaultctl",
];

/// The filter for `verbosity` (`-v` count: 1 debug, 2 or more trace) and a `RUST_LOG`
/// value; `None` when neither asks for anything.
pub fn filter(verbosity: u8, rust_log: Option<&str>) -> Result<Option<Targets>, String> {
    let ours =
        |level: LevelFilter| Targets::new().with_targets(OUR_TARGETS.iter().map(|t| (*t, level)));
    let from_flag = match verbosity {
        0 => None,
        1 => Some(LevelFilter::DEBUG),
        _ => Some(LevelFilter::TRACE),
    };
    let Some(spec) = rust_log.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(from_flag.map(ours));
    };
    if let Ok(level) = spec.parse::<LevelFilter>() {
        let level = from_flag.map_or(level, |f| f.max(level));
        return Ok(Some(ours(level)));
    }
    let targets: Targets = spec
        .parse()
        .map_err(|_| format!("RUST_LOG: `{spec}` is neither a level nor target=level pairs"))?;
    Ok(Some(match from_flag {
        Some(level) => targets.with_targets(OUR_TARGETS.iter().map(|t| (*t, level))),
        None => targets,
    }))
}

/// Installs the stderr subscriber for `verbosity` and `RUST_LOG`, if they ask for one.
pub fn init(verbosity: u8) -> Result<(), String> {
    let rust_log = std::env::var("RUST_LOG").ok();
    if let Some(targets) = filter(verbosity, rust_log.as_deref())? {
        let fmt = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(true);
        // A second init (tests) keeps the first subscriber.
        let _ = tracing_subscriber::registry()
            .with(fmt)
            .with(targets)
            .try_init();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn a_bare_level_is_ours_only_and_named_targets_are_exact() {
        assert!(filter(0, None).unwrap().is_none());
        let t = filter(0, Some("trace")).unwrap().unwrap();
        assert!(t.would_enable("vault_core::resolver", &Level::TRACE));
        assert!(!t.would_enable("hyper_util::client", &Level::ERROR));
        let t = filter(1, None).unwrap().unwrap();
        assert!(t.would_enable("vault_aws::transport", &Level::DEBUG));
        assert!(!t.would_enable("vault_aws::transport", &Level::TRACE));
        let t = filter(2, None).unwrap().unwrap();
        assert!(t.would_enable("vault_aws::transport", &Level::TRACE));
        let t = filter(0, Some("vault_core=debug,hyper_util=trace"))
            .unwrap()
            .unwrap();
        assert!(t.would_enable("hyper_util::client", &Level::TRACE));
        assert!(!t.would_enable("vault_core", &Level::TRACE));
        assert!(filter(0, Some("vault_core=loud")).is_err());
    }
}
