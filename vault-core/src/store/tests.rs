//! The file store: round trips, concurrent writers, damage, missing keys, permissions, and
//! nothing readable on disk.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use super::*;
use crate::link::Locator;
use crate::persist::{Forget, PersistentValues};

const CANARY_TOKEN: &str = "canary-token-5b1e";
const CANARY_VALUE: &str = "canary-value-77aa";
const CANARY_LOCAL: &str = "canary-local-c3d4";

struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "vault-store-{test}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        TempDir(p)
    }
    fn store(&self) -> (FileStore, Arc<Mutex<Vec<StoreWarning>>>) {
        let warnings = Arc::new(Mutex::new(Vec::new()));
        let w = warnings.clone();
        let store = FileStore::builder()
            .dir(self.0.join("data"))
            .keychain(false)
            .on_warning(Arc::new(move |x: &StoreWarning| {
                w.lock().unwrap().push(x.clone())
            }))
            .build()
            .unwrap();
        (store, warnings)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn key(identity: &str) -> StoreKey {
    StoreKey::new(ProviderId::from_static("aws"), identity)
}

fn loc(c: &str) -> Locator {
    Locator::new(ProviderId::from_static("aws"), c)
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s)
}

#[test]
fn sessions_survive_the_handle_and_nothing_is_created_by_reads() {
    let t = TempDir::new("roundtrip");
    let (a, _) = t.store();
    assert!(a.load(&key("p")).unwrap().is_none());
    a.remove(&key("p")).unwrap();
    assert!(!t.0.exists(), "reads and no-op removals create nothing");
    a.save(&key("p"), &secret(CANARY_TOKEN)).unwrap();
    let (b, warnings) = t.store();
    assert_eq!(
        b.load(&key("p")).unwrap().unwrap().expose_secret(),
        CANARY_TOKEN
    );
    assert_eq!(
        b.session_identities(&ProviderId::from_static("aws"))
            .unwrap(),
        ["p"]
    );
    b.remove(&key("p")).unwrap();
    assert!(a.load(&key("p")).unwrap().is_none());
    assert!(warnings.lock().unwrap().is_empty());
}

#[test]
fn concurrent_writers_with_separate_handles_lose_nothing() {
    let t = TempDir::new("concurrent");
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (store, _) = t.store();
            std::thread::spawn(move || {
                for j in 0..15 {
                    store
                        .save(&key(&format!("t{i}-{j}")), &secret(&format!("r{i}-{j}")))
                        .unwrap();
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    let (s, warnings) = t.store();
    for i in 0..8 {
        for j in 0..15 {
            assert_eq!(
                s.load(&key(&format!("t{i}-{j}")))
                    .unwrap()
                    .unwrap()
                    .expose_secret(),
                format!("r{i}-{j}")
            );
        }
    }
    assert!(
        warnings.lock().unwrap().is_empty(),
        "one key for all writers"
    );
}

#[test]
fn a_tampered_byte_is_one_warning_and_an_empty_store_then_works_again() {
    let t = TempDir::new("tamper");
    let (s, _) = t.store();
    s.save(&key("p"), &secret(CANARY_TOKEN)).unwrap();
    let mut bytes = std::fs::read(s.store_file()).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(s.store_file(), &bytes).unwrap();

    let (s, warnings) = t.store();
    assert!(s.load(&key("p")).unwrap().is_none());
    assert!(s.local_secrets().unwrap().is_empty());
    let w = warnings.lock().unwrap().clone();
    assert_eq!(w.len(), 1, "reported once: {w:?}");
    assert!(matches!(&w[0], StoreWarning::Damaged { .. }));
    assert!(w[0].to_string().contains("sign in again"));
    // Signing in again writes a fresh store.
    s.save(&key("p"), &secret("new")).unwrap();
    let (s2, w2) = t.store();
    assert_eq!(s2.load(&key("p")).unwrap().unwrap().expose_secret(), "new");
    assert!(w2.lock().unwrap().is_empty());

    std::fs::write(s.store_file(), &bytes[..10]).unwrap();
    let (s3, w3) = t.store();
    assert!(s3.load(&key("p")).unwrap().is_none());
    assert!(w3.lock().unwrap()[0].to_string().contains("truncated"));
}

#[test]
fn a_store_whose_key_is_missing_is_empty_with_a_warning() {
    let t = TempDir::new("nokey");
    let (s, _) = t.store();
    s.save(&key("p"), &secret(CANARY_TOKEN)).unwrap();
    std::fs::remove_file(s.key_file()).unwrap();
    let (s, warnings) = t.store();
    assert!(s.load(&key("p")).unwrap().is_none());
    assert!(matches!(
        warnings.lock().unwrap().as_slice(),
        [StoreWarning::KeyMissing { .. }]
    ));
    s.save(&key("q"), &secret("fresh")).unwrap();
    assert!(s.key_file().exists(), "a new key");
    let (s, w) = t.store();
    assert_eq!(s.load(&key("q")).unwrap().unwrap().expose_secret(), "fresh");
    assert!(s.load(&key("p")).unwrap().is_none());
    assert!(w.lock().unwrap().is_empty());

    std::fs::write(s.key_file(), "not base64 at all").unwrap();
    let (s, w) = t.store();
    assert!(s.load(&key("q")).unwrap().is_none());
    assert!(w.lock().unwrap()[0]
        .to_string()
        .contains("key file is malformed"));
}

#[cfg(unix)]
#[test]
fn created_folder_and_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let t = TempDir::new("perms");
    let (s, _) = t.store();
    s.save(&key("p"), &secret(CANARY_TOKEN)).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(s.dir()), 0o700);
    for f in ["store.enc", "store.key", "store.lock"] {
        assert_eq!(mode(&s.dir().join(f)), 0o600, "{f}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(s.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn nothing_is_readable_in_any_file() {
    let t = TempDir::new("plaintext");
    let (s, _) = t.store();
    s.save(&key("p"), &secret(CANARY_TOKEN)).unwrap();
    s.set_local_secret("gh", &secret(CANARY_LOCAL), &["api.example.com".into()])
        .unwrap();
    PersistentValues::save_value(
        &s,
        &loc("arn:x"),
        &secret(CANARY_VALUE),
        OffsetDateTime::now_utc(),
        Duration::from_secs(3600),
    );
    for entry in std::fs::read_dir(s.dir()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for canary in [
            CANARY_TOKEN,
            CANARY_LOCAL,
            CANARY_VALUE,
            "api.example.com",
            "arn:x",
        ] {
            assert!(!text.contains(canary), "{canary} in clear");
        }
    }
    assert!(!format!("{s:?}").contains("canary"));
}

#[test]
fn local_secrets_set_list_remove() {
    let t = TempDir::new("local");
    let (s, _) = t.store();
    s.set_local_secret("b", &secret("2"), &[]).unwrap();
    s.set_local_secret("a", &secret("1"), &["x.example".into()])
        .unwrap();
    let all = s.local_secrets().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        (all[0].name.as_str(), all[0].value.expose_secret()),
        ("a", "1")
    );
    assert_eq!(all[0].allowed_domains, ["x.example"]);
    assert!(!format!("{:?}", all[0]).contains('1'));
    assert!(s.remove_local_secret("a").unwrap());
    assert!(!s.remove_local_secret("a").unwrap());
    assert_eq!(s.local_secrets().unwrap().len(), 1);
}

#[test]
fn persisted_values_keep_their_fetch_time_and_are_forgotten() {
    let t = TempDir::new("values");
    let (s, _) = t.store();
    let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let ttl = Duration::from_secs(3600);
    PersistentValues::save_value(&s, &loc("a"), &secret("va"), at, ttl);
    PersistentValues::save_value(&s, &loc("b"), &secret("vb"), at, ttl);
    let other = Locator::new(ProviderId::from_static("azure"), "a");
    PersistentValues::save_value(&s, &other, &secret("vz"), at, ttl);
    let (v, when) = PersistentValues::load_value(&s, &loc("a")).unwrap();
    assert_eq!((v.expose_secret(), when), ("va", at));
    s.forget_values(Forget::One(&loc("a")));
    assert!(PersistentValues::load_value(&s, &loc("a")).is_none());
    s.forget_values(Forget::Provider(&ProviderId::from_static("aws")));
    assert!(PersistentValues::load_value(&s, &loc("b")).is_none());
    assert!(PersistentValues::load_value(&s, &other).is_some());
    // A save drops values past their TTL.
    PersistentValues::save_value(
        &s,
        &loc("c"),
        &secret("vc"),
        at + time::Duration::hours(2),
        ttl,
    );
    assert!(PersistentValues::load_value(&s, &other).is_none());
    s.forget_values(Forget::All);
    assert!(PersistentValues::load_value(&s, &loc("c")).is_none());
    s.remove_provider(&ProviderId::from_static("aws")).unwrap();
}

#[cfg(unix)]
#[test]
fn a_folder_others_may_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let t = TempDir::new("shared-dir");
    let (s, _) = t.store();
    s.save(&key("p"), &secret("r")).unwrap();
    std::fs::set_permissions(s.dir(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let e = s.load(&key("p")).unwrap_err().to_string();
    assert!(e.contains("may be written by other users"), "{e}");
    assert!(s.save(&key("p"), &secret("r")).is_err());
}
