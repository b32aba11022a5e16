//! Requests per cold KV read against the real OpenBao, counted by a loopback TCP relay in
//! front of it: two (mount lookup + read) for a mount never seen, one when the link states
//! `kv_version`, and one in a "later process" (a new provider) that shares the session store
//! with the first.
#![cfg(feature = "peers")]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use secrecy::ExposeSecret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vault_core::{MemorySessionStore, NoInteraction, Provider};
use vault_hashicorp::HashicorpProvider;

/// Relays loopback connections to OpenBao and counts HTTP requests (request lines end with
/// ` HTTP/1.1\r\n`; the bodies here are small JSON that never holds it).
async fn counting_relay() -> (String, Arc<AtomicUsize>) {
    let upstream = addr().trim_start_matches("http://").to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let upstream = upstream.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let server = TcpStream::connect(&upstream).await.unwrap();
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = async {
                    let mut buf = vec![0u8; 16384];
                    let mut tail: Vec<u8> = Vec::new();
                    loop {
                        let n = match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let mut seen = std::mem::take(&mut tail);
                        seen.extend_from_slice(&buf[..n]);
                        let needle = b" HTTP/1.1\r\n";
                        counter.fetch_add(
                            seen.windows(needle.len()).filter(|w| w == needle).count(),
                            Ordering::SeqCst,
                        );
                        tail = seen[seen.len().saturating_sub(needle.len() - 1)..].to_vec();
                        if sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = sw.shutdown().await;
                };
                let down = async {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                    let _ = cw.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    (local, count)
}

fn signed_in(relay: &str) -> vault_hashicorp::HashicorpBuilder {
    HashicorpProvider::builder(
        format!("{relay}/v1/identity/oidc/provider/vault-refs"),
        "unused-client-id",
    )
    .token(root_token())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_per_cold_read() {
    let (relay, count) = counting_relay().await;
    let l = link("secret", "app/db", "password");

    // a mount never seen: lookup + read
    let p = signed_in(&relay).build().unwrap();
    assert_eq!(
        p.fetch(&l, &NoInteraction).await.unwrap().expose_secret(),
        "v2-pass"
    );
    assert_eq!(count.swap(0, Ordering::SeqCst), 2, "unknown mount");

    // the link states the version: the read only
    let p = signed_in(&relay).build().unwrap();
    let known = l.clone().with("kv_version", "2");
    assert_eq!(
        p.fetch(&known, &NoInteraction)
            .await
            .unwrap()
            .expose_secret(),
        "v2-pass"
    );
    assert_eq!(count.swap(0, Ordering::SeqCst), 1, "kv_version on the link");

    // a first process remembers in the store, a later one reads with one request
    let store = Arc::new(MemorySessionStore::new());
    let first = signed_in(&relay)
        .mount_store(store.clone())
        .build()
        .unwrap();
    first.fetch(&l, &NoInteraction).await.unwrap();
    assert_eq!(count.swap(0, Ordering::SeqCst), 2, "first process");
    drop(first);
    let later = signed_in(&relay).mount_store(store).build().unwrap();
    assert_eq!(
        later
            .fetch(&l, &NoInteraction)
            .await
            .unwrap()
            .expose_secret(),
        "v2-pass"
    );
    let kv1 = link("kv1", "app/api", "api_key");
    later.fetch(&kv1, &NoInteraction).await.unwrap();
    assert_eq!(
        count.swap(0, Ordering::SeqCst),
        1 + 2,
        "later process: one read for the remembered mount, lookup + read for a new one"
    );
}
