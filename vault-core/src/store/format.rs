//! The store file: what it holds and how it is sealed.
//!
//! ```text
//! "VRS1" | 24-byte random nonce | XChaCha20-Poly1305( JSON records ), the magic as associated data
//! ```
//!
//! Every byte after the magic is authenticated: a truncated, tampered or foreign file, or one
//! sealed with another key, fails to open as a whole ([`Damaged`]) and nothing of it is used.
//! The records are JSON inside the seal (the file shows nothing but its size); the plaintext
//! is wiped after sealing and after parsing, and the record strings when dropped.

use std::collections::BTreeMap;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use super::key::KeyBytes;

const MAGIC: &[u8; 4] = b"VRS1";
const NONCE: usize = 24;

/// Why a store file could not be opened (never any of its content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Damaged(pub(crate) &'static str);

/// A local secret kept in the store.
#[derive(Serialize, Deserialize, Default, Clone)]
pub(crate) struct StoredSecret {
    pub(crate) value: String,
    #[serde(default)]
    pub(crate) allowed_domains: Vec<String>,
}

/// A fetched value with its fetch time.
#[derive(Serialize, Deserialize, Clone)]
pub(crate) struct StoredValue {
    pub(crate) value: String,
    /// Unix time in nanoseconds.
    pub(crate) fetched_at: i64,
}

/// Everything the store holds. Keys are never secret (`provider` + newline + identity or
/// locator, secret names); the values are, and are wiped on drop.
#[derive(Serialize, Deserialize, Default)]
pub(crate) struct Records {
    #[serde(default)]
    pub(crate) sessions: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) values: BTreeMap<String, StoredValue>,
    #[serde(default)]
    pub(crate) secrets: BTreeMap<String, StoredSecret>,
}

impl Drop for Records {
    fn drop(&mut self) {
        self.sessions.values_mut().for_each(Zeroize::zeroize);
        self.values.values_mut().for_each(|v| v.value.zeroize());
        self.secrets.values_mut().for_each(|s| s.value.zeroize());
    }
}

fn cipher(key: &KeyBytes) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new_from_slice(&key[..]).expect("a 32-byte key")
}

/// Seals `records` with `key` under a fresh random nonce.
pub(crate) fn seal(records: &Records, key: &KeyBytes) -> Vec<u8> {
    // Sized up front: a buffer that grows leaves copies of the plaintext in freed memory.
    let estimate: usize = 256
        + records
            .sessions
            .iter()
            .map(|(k, v)| k.len() + 2 * v.len() + 16)
            .sum::<usize>()
        + records
            .values
            .iter()
            .map(|(k, v)| k.len() + 2 * v.value.len() + 48)
            .sum::<usize>()
        + records
            .secrets
            .iter()
            .map(|(k, v)| {
                k.len()
                    + 2 * v.value.len()
                    + 64
                    + v.allowed_domains.iter().map(|d| d.len() + 4).sum::<usize>()
            })
            .sum::<usize>();
    let mut plain = Zeroizing::new(Vec::with_capacity(estimate));
    serde_json::to_writer(&mut *plain, records).expect("records serialize");
    let mut nonce = [0u8; NONCE];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let sealed = cipher(key)
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &plain,
                aad: MAGIC,
            },
        )
        .expect("encryption of an in-memory buffer");
    let mut out = Vec::with_capacity(MAGIC.len() + NONCE + sealed.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

/// Opens a sealed file.
pub(crate) fn open(bytes: &[u8], key: &KeyBytes) -> Result<Records, Damaged> {
    if bytes.len() < MAGIC.len() + NONCE + 16 {
        return Err(Damaged("the file is truncated"));
    }
    let (magic, rest) = bytes.split_at(MAGIC.len());
    if magic != MAGIC {
        return Err(Damaged("the file is not a vault-refs store"));
    }
    let (nonce, sealed) = rest.split_at(NONCE);
    let nonce: [u8; NONCE] = nonce.try_into().expect("split at NONCE");
    let plain = Zeroizing::new(
        cipher(key)
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: MAGIC,
                },
            )
            .map_err(|_| {
                Damaged("the file does not decrypt with its key (tampered, or another key)")
            })?,
    );
    serde_json::from_slice(&plain).map_err(|_| Damaged("the decrypted records are malformed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> KeyBytes {
        Zeroizing::new([b; 32])
    }

    fn sample() -> Records {
        let mut r = Records::default();
        r.sessions
            .insert("aws\nprofile".into(), "canary-session".into());
        r.secrets.insert(
            "x".into(),
            StoredSecret {
                value: "canary-local".into(),
                allowed_domains: vec!["a.example".into()],
            },
        );
        r
    }

    #[test]
    fn round_trip_and_nothing_in_clear() {
        let sealed = seal(&sample(), &key(1));
        let text = String::from_utf8_lossy(&sealed);
        assert!(
            !text.contains("canary") && !text.contains("profile") && !text.contains("a.example")
        );
        let r = open(&sealed, &key(1)).unwrap();
        assert_eq!(r.sessions["aws\nprofile"], "canary-session");
        assert_eq!(r.secrets["x"].allowed_domains, ["a.example"]);
        assert_ne!(seal(&sample(), &key(1)), sealed, "a fresh nonce each time");
    }

    #[test]
    fn every_flipped_byte_and_every_truncation_is_damage() {
        let sealed = seal(&sample(), &key(1));
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 0x01;
            assert!(open(&t, &key(1)).is_err(), "byte {i}");
        }
        for n in 0..sealed.len() {
            assert!(open(&sealed[..n], &key(1)).is_err(), "length {n}");
        }
        assert!(open(&sealed, &key(2)).is_err(), "another key");
    }

    /// A store sealed by an earlier build (chacha20poly1305 0.11, key `[7; 32]`) still opens:
    /// the file format is XChaCha20-Poly1305 itself, not a crate version.
    #[test]
    fn a_store_sealed_by_an_earlier_build_opens() {
        const BLOB: &str = "56525331e56de483d644b332a5a3d76561eaa260f2550565e91e165177bfeee913095fadc44cbe20d57538ce7d583b9a804b061ec4dfbbf784977e6987936a532bab31a58fc2de49fdce142835b76a9756c79afc576feb6f2355f49eb4128590a0cd951af65473ebe1bbd5ed1d27aaed1ae298bd11021f9292ae7ddaca73e92096d1cf2f0ca50fb39d2290c5f4bb18f3b48659";
        let bytes: Vec<u8> = (0..BLOB.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&BLOB[i..i + 2], 16).unwrap())
            .collect();
        let r = open(&bytes, &key(7)).unwrap();
        assert_eq!(r.secrets["gh"].value, "canary-v1");
        assert_eq!(r.secrets["gh"].allowed_domains, ["api.github.com"]);
    }
}
