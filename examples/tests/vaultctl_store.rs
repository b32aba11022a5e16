//! `vaultctl` with the encrypted store, each test in its own HOME: local secrets
//! (`set`/`unset`), concurrent processes, a tampered store, a missing key, permissions,
//! nothing readable on disk, `status`/`check --json`, `cache reset`, and persisted values
//! (10 processes, one upstream call).

mod common;

use std::path::{Path, PathBuf};

use common::{config, run, run_with_input, texts};
use serde_json::Value;

const CANARY: &str = "canary-local-9f8e7d";
const CANARY_UPSTREAM: &str = "canary-upstream-1a2b3c";

struct Home(PathBuf);

impl Home {
    fn new(test: &str) -> Self {
        let p = std::env::temp_dir().join(format!("vaultctl-home-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Home(p)
    }
    fn store_dir(&self) -> PathBuf {
        self.0.join(".local/share/vault-refs")
    }
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![("HOME", self.0.to_str().unwrap().to_owned())]
    }
    fn ctl(&self, cfg: &Path, args: &[&str]) -> (i32, String, String) {
        self.ctl_env(cfg, args, &[])
    }
    fn ctl_env(&self, cfg: &Path, args: &[&str], extra: &[(&str, &str)]) -> (i32, String, String) {
        let mut all = vec!["--config", cfg.to_str().unwrap()];
        all.extend_from_slice(args);
        let home = self.env();
        let mut env: Vec<(&str, &str)> = home.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.extend_from_slice(extra);
        let out = run("vaultctl", &all, &env);
        let (o, e) = texts(&out);
        (out.status.code().unwrap_or(-1), o, e)
    }
    fn set(&self, cfg: &Path, name: &str, value: &str, domains: &[&str]) -> (i32, String, String) {
        let mut all = vec!["--config", cfg.to_str().unwrap(), "set", name];
        for d in domains {
            all.extend(["--allowed-domain", d]);
        }
        let home = self.env();
        let env: Vec<(&str, &str)> = home.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = run_with_input("vaultctl", &all, &env, value);
        let (o, e) = texts(&out);
        (out.status.code().unwrap_or(-1), o, e)
    }
    /// Every file under HOME, read as bytes: none may hold `needle`.
    fn assert_nowhere(&self, needle: &str) {
        fn walk(dir: &Path, needle: &str) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, needle);
                } else {
                    let bytes = std::fs::read(&p).unwrap();
                    assert!(
                        !String::from_utf8_lossy(&bytes).contains(needle),
                        "{needle} readable in {}",
                        p.display()
                    );
                }
            }
        }
        walk(&self.0, needle);
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn set_get_unset_keep_the_value_encrypted() {
    let home = Home::new("set");
    let cfg = config("store-set", "[secrets.from-config]\nvalue = \"cfg\"\n");
    let (code, out, err) = home.set(&cfg, "tok", &format!("{CANARY}\n"), &["api.example.com"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "tok: kept in the encrypted store\n"),
        "{err}"
    );
    assert!(!out.contains(CANARY) && !err.contains(CANARY));
    assert_eq!(
        home.ctl(&cfg, &["get", "tok"]),
        (0, format!("{CANARY}\n"), String::new())
    );
    // Its allowed domains hold in requests.
    let (code, out, _) = home.ctl(
        &cfg,
        &[
            "resolve",
            "{{vault:tok}}",
            "--url",
            "https://api.example.com/",
        ],
    );
    assert_eq!((code, out), (0, format!("{CANARY}\n")));
    let (code, _, err) = home.ctl(
        &cfg,
        &["resolve", "{{vault:tok}}", "--url", "https://evil.example/"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("domain not allowed"), "{err}");
    home.assert_nowhere(CANARY);
    home.assert_nowhere("api.example.com");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&home.store_dir()), 0o700);
        for f in ["store.enc", "store.key", "store.lock"] {
            assert_eq!(mode(&home.store_dir().join(f)), 0o600, "{f}");
        }
    }

    // The config file wins on a clash, with a notice.
    let (code, _, err) = home.set(&cfg, "from-config", "stored", &[]);
    assert_eq!(code, 0);
    assert!(err.contains("the config file's wins"), "{err}");
    let (code, out, err) = home.ctl(&cfg, &["get", "from-config"]);
    assert_eq!((code, out.as_str()), (0, "cfg\n"));
    assert!(err.contains("the config file's wins"), "{err}");

    assert_eq!(home.ctl(&cfg, &["unset", "tok"]).0, 0);
    let (code, _, err) = home.ctl(&cfg, &["get", "tok"]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown name"), "{err}");
    assert_eq!(home.ctl(&cfg, &["unset", "tok"]).0, 1, "nothing to remove");
    // Bad names and domains are usage errors; the value is never an argument.
    assert_eq!(home.set(&cfg, "bad name", "x", &[]).0, 2);
    assert_eq!(home.set(&cfg, "ok", "x", &["http://x/"]).0, 2);
    assert_eq!(home.ctl(&cfg, &["set", "a", "b"]).0, 2);
}

#[test]
fn processes_setting_at_once_lose_nothing() {
    let home = Home::new("concurrent");
    let cfg = config("store-concurrent", "");
    let children: Vec<_> = (0..8)
        .map(|i| {
            let mut cmd = common::command(
                "vaultctl",
                &["--config", cfg.to_str().unwrap(), "set", &format!("s{i}")],
                &[("HOME", home.0.to_str().unwrap())],
            );
            cmd.stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null());
            let mut child = cmd.spawn().unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("v{i}").as_bytes())
                .unwrap();
            child
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    for i in 0..8 {
        assert_eq!(
            home.ctl(&cfg, &["get", &format!("s{i}")]).1,
            format!("v{i}\n")
        );
    }
}

#[test]
fn a_tampered_store_is_one_warning_and_works_again_after_a_new_write() {
    let home = Home::new("tamper");
    let cfg = config("store-tamper", "[secrets.plain]\nvalue = \"p\"\n");
    assert_eq!(home.set(&cfg, "tok", CANARY, &[]).0, 0);
    let file = home.store_dir().join("store.enc");
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&file, &bytes).unwrap();

    let (code, out, err) = home.ctl(&cfg, &["get", "plain"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "p\n"),
        "the rest keeps working: {err}"
    );
    assert_eq!(err.lines().count(), 1, "one warning: {err}");
    assert!(
        err.starts_with("vaultctl: warning: the store") && err.contains("sign in again"),
        "{err}"
    );
    let (code, _, _) = home.ctl(&cfg, &["get", "tok"]);
    assert_eq!(code, 1, "treated as empty");
    let (code, _, err) = home.ctl(&cfg, &["status"]);
    assert_eq!(code, 0, "{err}");

    // Keeping something again replaces the damaged file.
    assert_eq!(home.set(&cfg, "tok", "again", &[]).0, 0);
    assert_eq!(
        home.ctl(&cfg, &["get", "tok"]),
        (0, "again\n".into(), String::new())
    );
}

#[test]
fn a_store_whose_key_is_missing_is_a_warning_and_empty() {
    let home = Home::new("nokey");
    let cfg = config("store-nokey", "");
    assert_eq!(home.set(&cfg, "tok", CANARY, &[]).0, 0);
    std::fs::remove_file(home.store_dir().join("store.key")).unwrap();
    let (code, _, err) = home.ctl(&cfg, &["get", "tok"]);
    assert_eq!(code, 1);
    assert!(err.contains("warning: the key of the store"), "{err}");
    assert_eq!(
        err.lines().count(),
        2,
        "the warning and the unknown name: {err}"
    );
    assert_eq!(home.set(&cfg, "tok", "new", &[]).0, 0);
    assert_eq!(
        home.ctl(&cfg, &["get", "tok"]),
        (0, "new\n".into(), String::new())
    );
}

#[test]
fn status_and_check_as_json() {
    let home = Home::new("json");
    let cfg = config(
        "store-json",
        "[integrations.aws]\nregion = \"us-east-1\"\nendpoint_url = \"http://127.0.0.1:9\"\ndiscover_mfa = false\n\n\
         [secrets.ok]\nvalue = \"v\"\n\n[secrets.bad.aws]\nsecret_arn = \"arn:aws:s3:::nope\"\n",
    );
    let env = [
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_ACCESS_KEY_ID", ""),
        ("AWS_SECRET_ACCESS_KEY", ""),
    ];
    let (code, out, err) = home.ctl_env(&cfg, &["status", "--json"], &env);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let aws = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["provider"] == "aws")
        .unwrap();
    assert!(aws["state"].is_string(), "{aws}");
    assert!(aws["saved_sessions"].is_array(), "{aws}");
    let (code, out, _) = home.ctl_env(&cfg, &["status"], &env);
    assert_eq!(code, 0);
    assert!(out.starts_with("aws: "), "{out}");

    let (code, out, _) = home.ctl_env(&cfg, &["check", "--json"], &env);
    assert_eq!(code, 1);
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let bad = rows.iter().find(|r| r["name"] == "bad").unwrap();
    assert_eq!(bad["status"], "unresolved");
    assert_eq!(bad["reason"], "invalid link");
    assert_eq!(bad["provider"], "aws");
    let ok = rows.iter().find(|r| r["name"] == "ok").unwrap();
    assert_eq!(ok["status"], "resolved");
    assert!(!out.contains("\"v\""), "no value in check: {out}");
    assert_eq!(
        home.ctl_env(&cfg, &["get", "--json", "ok"], &env).0,
        2,
        "--json is for check, details, status"
    );
}

/// A stand-in for Secrets Manager that counts the calls.
async fn secrets_manager_stub() -> wiremock::MockServer {
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "secretsmanager.GetSecretValue"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!(
                r#"{{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf","Name":"db","SecretString":"{CANARY_UPSTREAM}","VersionId":"v1","VersionStages":["AWSCURRENT"]}}"#
            ),
            "application/x-amz-json-1.1",
        ))
        .mount(&server)
        .await;
    server
}

fn aws_config(test: &str, endpoint: &str, persist: bool) -> PathBuf {
    config(
        test,
        &format!(
            "[cache]\nttl_minutes = 60\npersist = {persist}\n\n\
             [integrations.aws]\nregion = \"us-east-1\"\nendpoint_url = \"{endpoint}\"\ndiscover_mfa = false\n\n\
             [secrets.db.aws]\nsecret_arn = \"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf\"\n"
        ),
    )
}

const AWS_ENV: [(&str, &str); 4] = [
    ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEY000001"),
    ("AWS_SECRET_ACCESS_KEY", "example-secret-key"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
    ("AWS_CONFIG_FILE", "/nonexistent"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_gets_within_the_ttl_make_one_upstream_call_with_persist() {
    let server = secrets_manager_stub().await;
    let home = Home::new("persist");
    let cfg = aws_config("store-persist", &server.uri(), true);
    let h = tokio::task::spawn_blocking(move || {
        for i in 0..10 {
            let (code, out, err) = home.ctl_env(&cfg, &["get", "db"], &AWS_ENV);
            assert_eq!(
                (code, out.as_str()),
                (0, format!("{CANARY_UPSTREAM}\n").as_str()),
                "run {i}: {err}"
            );
        }
        home.assert_nowhere(CANARY_UPSTREAM);
        home.assert_nowhere("example-secret-key");
        (home, cfg)
    });
    let (home, cfg) = h.await.unwrap();
    let calls = server.received_requests().await.unwrap().len();
    println!("upstream calls for 10 `vaultctl get` runs with persist = true: {calls}");
    assert_eq!(calls, 1);

    // `cache reset` forgets the kept value: the next get asks upstream again.
    let (home, cfg) = tokio::task::spawn_blocking(move || {
        assert_eq!(home.ctl_env(&cfg, &["cache", "reset", "db"], &AWS_ENV).0, 0);
        assert_eq!(home.ctl_env(&cfg, &["get", "db"], &AWS_ENV).0, 0);
        (home, cfg)
    })
    .await
    .unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    let (home, cfg) = tokio::task::spawn_blocking(move || {
        assert_eq!(home.ctl_env(&cfg, &["cache", "reset"], &AWS_ENV).0, 0);
        assert_eq!(home.ctl_env(&cfg, &["get", "db"], &AWS_ENV).0, 0);
        (home, cfg)
    })
    .await
    .unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    // logout forgets the provider's kept values too.
    tokio::task::spawn_blocking(move || {
        assert_eq!(home.ctl_env(&cfg, &["logout", "aws"], &AWS_ENV).0, 0);
        assert_eq!(home.ctl_env(&cfg, &["get", "db"], &AWS_ENV).0, 0);
    })
    .await
    .unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_persist_every_process_asks_upstream() {
    let server = secrets_manager_stub().await;
    let home = Home::new("nopersist");
    let cfg = aws_config("store-nopersist", &server.uri(), false);
    tokio::task::spawn_blocking(move || {
        for _ in 0..3 {
            assert_eq!(home.ctl_env(&cfg, &["get", "db"], &AWS_ENV).0, 0);
        }
    })
    .await
    .unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_store_costs_one_warning_and_one_new_fetch() {
    let server = secrets_manager_stub().await;
    let home = Home::new("tamper-link");
    let cfg = aws_config("store-tamper-link", &server.uri(), true);
    let home = tokio::task::spawn_blocking(move || {
        assert_eq!(home.ctl_env(&cfg, &["get", "db"], &AWS_ENV).0, 0);
        let file = home.store_dir().join("store.enc");
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[30] ^= 0x80;
        std::fs::write(&file, &bytes).unwrap();
        let (code, out, err) = home.ctl_env(&cfg, &["get", "db"], &AWS_ENV);
        assert_eq!((code, out), (0, format!("{CANARY_UPSTREAM}\n")), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("warning: the store"), "{err}");
        // The new fetch was kept in a fresh store: no warning, no call.
        let (code, _, err) = home.ctl_env(&cfg, &["get", "db"], &AWS_ENV);
        assert_eq!((code, err.as_str()), (0, ""));
        home
    })
    .await
    .unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    drop(home);
}

#[test]
fn status_shows_kept_sessions_by_identity_and_logout_forgets_them() {
    use secrecy::SecretString;
    use vault_core::{FileStore, ProviderId, SessionStore, StoreKey};
    let home = Home::new("status-kept");
    let cfg = config(
        "store-status-kept",
        "[integrations.aws]\nregion = \"us-east-1\"\nendpoint_url = \"http://127.0.0.1:9\"\ndiscover_mfa = false\n",
    );
    let store = FileStore::builder()
        .dir(home.store_dir())
        .keychain(false)
        .build()
        .unwrap();
    let key = StoreKey::new(ProviderId::from_static("aws"), "profile dev");
    store
        .save(
            &key,
            &SecretString::from("{\"token\":\"canary-session-record\"}"),
        )
        .unwrap();
    let env = [
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ("AWS_CONFIG_FILE", "/nonexistent"),
    ];
    let (code, out, err) = home.ctl_env(&cfg, &["status", "--json"], &env);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(
        rows[0]["saved_sessions"],
        serde_json::json!(["profile dev"])
    );
    let (_, out, _) = home.ctl_env(&cfg, &["status"], &env);
    assert!(out.contains("kept session: profile dev"), "{out}");
    assert!(!out.contains("canary"), "never a record: {out}");
    home.assert_nowhere("canary-session-record");

    let (code, out, err) = home.ctl_env(&cfg, &["logout", "aws"], &env);
    assert_eq!((code, out.as_str()), (0, "aws: signed out\n"), "{err}");
    assert!(
        store.load(&key).unwrap().is_none(),
        "logout forgets the kept session"
    );
    let (_, out, _) = home.ctl_env(&cfg, &["status", "--json"], &env);
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0]["saved_sessions"], serde_json::json!([]));
}

#[cfg(unix)]
#[test]
fn a_browser_sign_in_says_what_it_waits_for_and_ctrl_c_cancels() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let home = Home::new("waiting");
    let cfg = config(
        "store-waiting",
        "[integrations.azure]\nauthority = \"http://127.0.0.1:9\"\ntenant = \"t\"\nclient_id = \"c\"\nredirect_uri = \"http://127.0.0.1:0/\"\n",
    );
    let mut child = common::command(
        "vaultctl",
        &["--config", cfg.to_str().unwrap(), "login", "azure"],
        &[("HOME", home.0.to_str().unwrap())],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.starts_with("sign-in URL: http://127.0.0.1:9/"),
        "{first}"
    );
    let second = lines.next().unwrap().unwrap();
    assert_eq!(
        second,
        "waiting for the sign-in in the browser to finish (Ctrl-C cancels)"
    );
    // Ctrl-C: SIGINT ends the wait at once.
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success());
            break;
        }
        assert!(Instant::now() < deadline, "vaultctl did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_as_json_with_rfc3339_times() {
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, ResponseTemplate};
    let server = secrets_manager_stub().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "secretsmanager.DescribeSecret"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf","Name":"db","CreatedDate":1700000000.0,"VersionIdsToStages":{"v1":["AWSCURRENT"]}}"#,
            "application/x-amz-json-1.1",
        ))
        .mount(&server)
        .await;
    let home = Home::new("details");
    let cfg = aws_config("store-details", &server.uri(), false);
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        home.ctl_env(&cfg, &["details", "db", "--json"], &AWS_ENV)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["provider"], "aws");
    assert_eq!(v["secret_name"], "db");
    assert_eq!(v["created"], "2023-11-14T22:13:20Z");
    assert!(v["link"]["secret_arn"]
        .as_str()
        .unwrap()
        .ends_with(":secret:db-AbCdEf"));
    assert!(!out.contains(CANARY_UPSTREAM), "never the value");
}

/// With `RUST_LOG=trace` and `-vv`, every event of the workspace goes to stderr: a local
/// secret and an upstream one are printed on stdout only, the keys we hold nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traced_gets_print_values_on_stdout_only() {
    let server = secrets_manager_stub().await;
    let home = Home::new("traced");
    let cfg = aws_config("store-traced", &server.uri(), false);
    let h = tokio::task::spawn_blocking(move || {
        assert_eq!(home.set(&cfg, "tok", CANARY, &[]).0, 0);
        let mut env = AWS_ENV.to_vec();
        env.push(("RUST_LOG", "trace"));
        for name in ["db", "tok"] {
            let (code, out, err) = home.ctl_env(&cfg, &["-vv", "get", name], &env);
            assert_eq!(code, 0, "{err}");
            assert!(
                out.contains("canary-"),
                "{name}: the value on stdout: {out}"
            );
            for secret in [CANARY, CANARY_UPSTREAM, "example-secret-key"] {
                assert!(!err.contains(secret), "{name}: {secret} traced: {err}");
            }
            assert!(err.contains("resolve"), "{name}: no event at TRACE: {err}");
            if name == "db" {
                for event in ["vault.fetch", "sign-in", "outcome=\"ok\""] {
                    assert!(err.contains(event), "no `{event}`: {err}");
                }
            }
        }
    });
    h.await.unwrap();
}
