//! HashiCorp KV links (engine, path, key): a link or a typed error, never a panic; an
//! accepted engine and path hold no empty, `.` or `..` part.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::{Link, ProviderId};
use vault_hashicorp::KvLink;

fuzz_target!(|input: (&str, &str, &str)| {
    let (engine, path, key) = input;
    let link = Link::new(ProviderId::from_static("hashicorp"))
        .with("engine", engine)
        .with("path", path)
        .with("key", key);
    if KvLink::from_link(&link).is_ok() {
        for part in engine.split('/').chain(path.split('/')) {
            assert!(!matches!(part, "." | ".."), "{engine:?} {path:?}");
        }
    }
});
