//! Shared helpers of the vault-aws integration tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use secrecy::SecretString;
use url::Url;
use vault_core::{DeviceCode, Error, ErrorKind, Interaction, Link};

/// A peer value from the environment written by `.ci/peers/peer-moto.sh`.
pub fn peer_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} not set: run the tests through .ci/test, which starts the peers")
    })
}

/// An AWS link.
pub fn link(arn: &str) -> Link {
    Link::new(vault_aws::PROVIDER_ID).with("secret_arn", arn)
}

/// A host that answers MFA prompts with a fixed code and counts them.
#[derive(Default)]
pub struct CodeInteraction {
    pub code: String,
    pub asks: AtomicUsize,
    pub serials: Mutex<Vec<String>>,
}

impl CodeInteraction {
    pub fn new(code: &str) -> Self {
        CodeInteraction {
            code: code.to_owned(),
            ..Default::default()
        }
    }

    pub fn asks(&self) -> usize {
        self.asks.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Interaction for CodeInteraction {
    async fn open_url(&self, _url: &Url) -> Result<(), Error> {
        Err(Error::new(ErrorKind::Cancelled, "no browser in tests"))
    }

    async fn show_device_code(&self, _code: &DeviceCode) -> Result<(), Error> {
        Err(Error::new(ErrorKind::Cancelled, "no device code in tests"))
    }

    async fn ask_mfa_code(&self, serial: &str) -> Result<SecretString, Error> {
        self.asks.fetch_add(1, Ordering::SeqCst);
        self.serials.lock().unwrap().push(serial.to_owned());
        // Let concurrent callers pile up behind the sign-in.
        tokio::task::yield_now().await;
        Ok(SecretString::from(self.code.clone()))
    }
}

/// A clock the test can move both ways: moto stamps session ends from the real time, so after
/// jumping past one session's end the test comes back to sign in again.
pub struct SettableClock(Mutex<time::OffsetDateTime>);

impl SettableClock {
    pub fn new(at: time::OffsetDateTime) -> Self {
        SettableClock(Mutex::new(at))
    }

    pub fn set(&self, at: time::OffsetDateTime) {
        *self.0.lock().unwrap() = at;
    }
}

impl vault_core::Clock for SettableClock {
    fn now(&self) -> time::OffsetDateTime {
        *self.0.lock().unwrap()
    }
}
