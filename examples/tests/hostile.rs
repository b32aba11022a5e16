//! `vaultctl` against hostile local servers, per provider, as a hostile network would answer:
//! an endless body, a server that accepts and never answers, one that drips a byte a second,
//! throttling with a huge `Retry-After`. Each run must end in time, with exit status 1 and one
//! line on stderr, its peak memory bounded, and nothing the server or we sent echoed.
//!
//! Peak memory is the child's `VmHWM` (Linux), sampled until it exits.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{config, example};

/// The most a `get` may take against a server that never answers.
const DEADLINE: Duration = Duration::from_secs(45);
/// The most memory a `get` may use against an endless body.
const PEAK_LIMIT_KB: u64 = 200 * 1024;
const TOKEN_CANARY: &str = "hostile-canary-token-8d1f";

#[derive(Clone, Copy)]
enum Behaviour {
    /// 200, no length, an endless JSON-looking body.
    Endless,
    /// 200 with a `Content-Length` of 200 MB, then the bytes.
    Huge,
    /// Accepts, reads, never answers.
    Silent,
    /// 200 headers, then one byte a second.
    Drip,
    /// 429 with `Retry-After: 86400`.
    Throttle,
}

struct Hostile {
    port: u16,
    requests: Arc<AtomicUsize>,
}

fn serve(behaviour: Behaviour) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let count = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let count = count.clone();
            std::thread::spawn(move || answer(stream, behaviour, &count));
        }
    });
    Hostile { port, requests }
}

/// Reads one request head (and whatever body arrived with it).
fn read_head(stream: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 1 << 20 {
            return false;
        }
    }
    true
}

fn answer(mut stream: TcpStream, behaviour: Behaviour, count: &AtomicUsize) {
    if !read_head(&mut stream) {
        return;
    }
    count.fetch_add(1, Ordering::SeqCst);
    let filler = vec![b'x'; 64 * 1024];
    match behaviour {
        Behaviour::Endless => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"SecretString\":\"",
            );
            while stream.write_all(&filler).is_ok() {}
        }
        Behaviour::Huge => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 209715200\r\n\r\n",
            );
            let mut left = 200usize << 20;
            while left > 0 && stream.write_all(&filler).is_ok() {
                left = left.saturating_sub(filler.len());
            }
        }
        Behaviour::Silent => {
            let mut sink = [0u8; 1024];
            stream.set_read_timeout(None).unwrap();
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        }
        Behaviour::Drip => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
            );
            while stream.write_all(b" ").is_ok() {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        Behaviour::Throttle => {
            let body = format!("{{\"message\":\"slow down {TOKEN_CANARY}\"}}");
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 86400\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Provider {
    Aws,
    Azure,
    Hashicorp,
}

/// A config with one secret `s` of `provider`, every endpoint on `port`, and the variables
/// that sign in without a person.
fn setup(provider: Provider, port: u16, test: &str) -> (std::path::PathBuf, Vec<(String, String)>) {
    let base = format!("http://127.0.0.1:{port}");
    let (text, env): (String, Vec<(&str, String)>) = match provider {
        Provider::Aws => (
            format!(
                r#"
[integrations.aws]
region = "us-east-1"
endpoint_url = "{base}"
discover_mfa = false

[secrets.s.aws]
secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf"
"#
            ),
            vec![
                ("AWS_ACCESS_KEY_ID", "AKIAHOSTILETEST00001".into()),
                ("AWS_SECRET_ACCESS_KEY", TOKEN_CANARY.into()),
                ("AWS_SESSION_TOKEN", TOKEN_CANARY.into()),
            ],
        ),
        Provider::Azure => (
            format!(
                r#"
[integrations.azure]
authority = "{base}"
tenant = "hostile-tenant"
client_id = "3f6a2c1e-7b9d-4e0a-8c5f-1d2e3f4a5b6c"
vault_hosts = ["127.0.0.1:{port}"]
flow = "client_credentials"

[secrets.s.azure]
identifier = "{base}/secrets/s"
"#
            ),
            vec![("AZURE_CLIENT_SECRET", TOKEN_CANARY.into())],
        ),
        Provider::Hashicorp => (
            format!(
                r#"
[integrations.hashicorp]
address = "{base}"
auth_method = "token"

[secrets.s.hashicorp]
engine = "secret"
path = "app/db"
key = "password"
"#
            ),
            vec![("VAULT_TOKEN", TOKEN_CANARY.into())],
        ),
    };
    let path = config(&format!("hostile-{test}-{provider:?}"), &text);
    let home = path.parent().unwrap().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    for (k, v) in [
        ("HOME", home.display().to_string()),
        (
            "VAULT_REFS_DATA_DIR",
            home.join("store").display().to_string(),
        ),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".into()),
        ("AWS_CONFIG_FILE", "/nonexistent".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("VAULT_NO_BROWSER", "1".into()),
    ] {
        env.push((k.to_owned(), v));
    }
    (path, env)
}

struct Run {
    code: Option<i32>,
    stderr: String,
    stdout: String,
    elapsed: Duration,
    peak_kb: u64,
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `vaultctl get s`, sampling its peak memory; kills it past twice the deadline.
fn get(provider: Provider, behaviour: Behaviour, test: &str) -> (Run, usize) {
    get_with(provider, behaviour, test, &[])
}

/// [`get`] with more environment (`RUST_LOG=trace`).
fn get_with(
    provider: Provider,
    behaviour: Behaviour,
    test: &str,
    extra: &[(&str, &str)],
) -> (Run, usize) {
    let server = serve(behaviour);
    let (path, env) = setup(provider, server.port, test);
    let dir = path.parent().unwrap().to_owned();
    let (out_path, err_path) = (dir.join("stdout"), dir.join("stderr"));
    let mut cmd = Command::new(example("vaultctl"));
    cmd.args([
        "--config",
        path.to_str().unwrap(),
        "--no-browser",
        "get",
        "s",
    ])
    .env_remove("RUST_LOG")
    .stdin(Stdio::null())
    .stdout(std::fs::File::create(&out_path).unwrap())
    .stderr(std::fs::File::create(&err_path).unwrap());
    for (k, v) in &env {
        cmd.env(k, v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let mut peak_kb = 0;
    let code = loop {
        if let Some(kb) = vm_hwm_kb(child.id()) {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > DEADLINE * 2 {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let run = Run {
        code,
        elapsed: start.elapsed(),
        peak_kb,
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
    };
    (run, server.requests.load(Ordering::SeqCst))
}

fn assert_failed_cleanly(provider: Provider, run: &Run, what: &str) {
    assert_eq!(
        run.code,
        Some(1),
        "{provider:?} {what}: exit {:?} after {:?}: {}",
        run.code,
        run.elapsed,
        run.stderr
    );
    assert!(
        run.stdout.is_empty(),
        "{provider:?} {what}: printed {}",
        run.stdout
    );
    assert_eq!(
        run.stderr.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "{provider:?} {what}: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(TOKEN_CANARY) && !run.stderr.contains("xxxxxxxx"),
        "{provider:?} {what}: echoed: {}",
        run.stderr
    );
    assert!(
        run.elapsed < DEADLINE,
        "{provider:?} {what}: took {:?}",
        run.elapsed
    );
}

fn endless_body_is_bounded(provider: Provider) {
    let (run, _) = get(provider, Behaviour::Endless, "endless");
    assert_failed_cleanly(provider, &run, "endless body");
    assert!(
        run.peak_kb < PEAK_LIMIT_KB,
        "{provider:?}: peak {} MB under an endless body",
        run.peak_kb / 1024
    );
}

fn huge_body_is_refused(provider: Provider) {
    let (run, _) = get(provider, Behaviour::Huge, "huge");
    assert_failed_cleanly(provider, &run, "200 MB body");
    assert!(
        run.peak_kb < PEAK_LIMIT_KB,
        "{provider:?}: peak {} MB under a 200 MB body",
        run.peak_kb / 1024
    );
}

fn silent_server_ends_in_time(provider: Provider) {
    let (run, _) = get(provider, Behaviour::Silent, "silent");
    assert_failed_cleanly(provider, &run, "silent server");
}

fn drip_ends_in_time(provider: Provider) {
    let (run, _) = get(provider, Behaviour::Drip, "drip");
    assert_failed_cleanly(provider, &run, "dripping server");
}

fn huge_retry_after_gives_up_at_once(provider: Provider) {
    let (run, requests) = get(provider, Behaviour::Throttle, "throttle");
    assert_failed_cleanly(provider, &run, "429 with a day's Retry-After");
    assert!(
        run.elapsed < Duration::from_secs(10),
        "{provider:?}: waited {:?} on a Retry-After it will not honour",
        run.elapsed
    );
    assert!(
        requests <= 3,
        "{provider:?}: {requests} requests to a throttling server"
    );
}

/// With every event of the workspace on stderr at TRACE: the server's echo of the token, and
/// the token, client secret and keys we hold, appear nowhere; the events did happen.
fn traced_run_echoes_nothing(provider: Provider) {
    let (run, _) = get_with(
        provider,
        Behaviour::Throttle,
        "traced",
        &[("RUST_LOG", "trace")],
    );
    assert_eq!(run.code, Some(1), "{provider:?}: {}", run.stderr);
    assert!(run.stdout.is_empty(), "{provider:?}: {}", run.stdout);
    assert!(
        !run.stderr.contains(TOKEN_CANARY) && !run.stderr.contains("xxxxxxxx"),
        "{provider:?}: echoed at TRACE: {}",
        run.stderr
    );
    for event in ["vault.fetch", "resolve", "outcome=\"error\""] {
        assert!(
            run.stderr.contains(event),
            "{provider:?}: no `{event}` at TRACE: {}",
            run.stderr
        );
    }
}

macro_rules! per_provider {
    ($($check:ident),*) => {
        mod aws { $( #[test] fn $check() { super::$check(super::Provider::Aws) } )* }
        mod azure { $( #[test] fn $check() { super::$check(super::Provider::Azure) } )* }
        mod hashicorp { $( #[test] fn $check() { super::$check(super::Provider::Hashicorp) } )* }
    };
}

per_provider!(
    endless_body_is_bounded,
    huge_body_is_refused,
    silent_server_ends_in_time,
    drip_ends_in_time,
    huge_retry_after_gives_up_at_once,
    traced_run_echoes_nothing
);
