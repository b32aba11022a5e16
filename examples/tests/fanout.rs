//! Many links in one resolve under a small file-descriptor limit: 1,500 AWS links in one
//! `vaultctl resolve`, run under `prlimit --nofile=512`, against a local Secrets Manager stub
//! that answers every GetSecretValue. All must resolve: the resolver queues calls beyond its
//! per-provider limit instead of opening 1,500 connections at once.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{config, example, texts};

const LINKS: usize = 1_500;

/// Reads a request (head and `Content-Length` body); `None` when the peer closed.
fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned())
}

/// Answers GetSecretValue for any `SecretId` with the value `v-<name>`, on keep-alive
/// connections; counts the calls.
fn serve_secrets(stream: TcpStream, calls: Arc<AtomicUsize>) {
    let mut stream = stream;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    while let Some(body) = read_request(&mut stream) {
        calls.fetch_add(1, Ordering::SeqCst);
        let arn = body
            .split("\"SecretId\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_owned();
        let name = arn.rsplit(':').next().unwrap_or("").to_owned();
        let reply = format!(
            r#"{{"ARN":"{arn}","Name":"{name}","SecretString":"v-{name}","VersionId":"11111111-2222-3333-4444-555555555555","VersionStages":["AWSCURRENT"],"CreatedDate":1700000000.0}}"#
        );
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if stream.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn fifteen_hundred_links_resolve_under_a_512_descriptor_limit() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counter = counter.clone();
            std::thread::spawn(move || serve_secrets(stream, counter));
        }
    });

    let mut toml = format!(
        "[integrations.aws]\nregion = \"us-east-1\"\nendpoint_url = \"http://127.0.0.1:{port}\"\ndiscover_mfa = false\n"
    );
    let mut template = String::new();
    for i in 0..LINKS {
        toml.push_str(&format!(
            "\n[secrets.s{i}.aws]\nsecret_arn = \"arn:aws:secretsmanager:us-east-1:123456789012:secret:s{i}-AbCdEf\"\n"
        ));
        template.push_str(&format!("{{{{vault:s{i}}}}}\n"));
    }
    let path = config("fanout", &toml);
    let home = path.parent().unwrap().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = Command::new("prlimit")
        .arg("--nofile=512:512")
        .arg("--")
        .arg(example("vaultctl"))
        .args(["--config", path.to_str().unwrap(), "resolve", &template])
        .env("HOME", &home)
        .env("VAULT_REFS_DATA_DIR", home.join("store"))
        .env("AWS_ACCESS_KEY_ID", "AKIAFANOUTTEST000001")
        .env("AWS_SECRET_ACCESS_KEY", "fanout-secret-key")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("VAULT_NO_BROWSER", "1")
        .output()
        .expect("run vaultctl under prlimit");
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The template's lines, then the newline vaultctl ends its output with.
    let lines: Vec<&str> = stdout.trim_end_matches('\n').lines().collect();
    assert_eq!(lines.len(), LINKS, "{stderr}");
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(*line, format!("v-s{i}-AbCdEf"));
    }
    // One call per link; a few more when a kept-alive connection closes under a request
    // and the call is retried.
    let calls = calls.load(Ordering::SeqCst);
    assert!(
        (LINKS..=LINKS + LINKS / 100).contains(&calls),
        "{calls} calls"
    );
}
