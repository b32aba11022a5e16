//! Bounded response bodies: every body a provider reads from a server goes through a
//! [`BodyBuffer`], so an endless or huge answer costs at most [`BodyLimit::max_bytes`] of
//! memory and never leaves an unwiped copy behind.
//!
//! Core does not depend on an HTTP client; a provider feeds the buffer chunk by chunk
//! (`reqwest::Response::chunk`) inside its own deadline:
//!
//! ```
//! use vault_core::body::{BodyBuffer, BodyLimit};
//!
//! let mut buf = BodyBuffer::new(BodyLimit::new(8), Some(5)).unwrap();
//! buf.push(b"hello").unwrap();
//! assert_eq!(&buf.into_inner()[..], b"hello");
//!
//! let mut small = BodyBuffer::new(BodyLimit::new(4), None).unwrap();
//! let err = small.push(b"hello").unwrap_err();
//! assert_eq!(err.limit, 4);
//! ```
//!
//! Why not `Response::bytes()`: it reads whatever the server sends, and the bytes it returns
//! are a plain allocation that is freed, not wiped, when dropped.

use std::fmt;

use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind};

/// The most bytes one response body may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimit {
    /// The cap, in bytes.
    pub max_bytes: usize,
}

impl BodyLimit {
    /// 4 MiB: far above any secret a vault stores (Key Vault: 25 KB, Secrets Manager: 64 KB,
    /// Vault's default request limit: 32 MiB for writes, but KV values are small) and small
    /// enough that a hostile server cannot exhaust memory.
    pub const DEFAULT_MAX_BYTES: usize = 4 << 20;

    /// A limit of `max_bytes`.
    pub const fn new(max_bytes: usize) -> Self {
        BodyLimit { max_bytes }
    }
}

impl Default for BodyLimit {
    fn default() -> Self {
        BodyLimit::new(Self::DEFAULT_MAX_BYTES)
    }
}

/// A body was larger than its [`BodyLimit`]; what was read so far has been wiped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyTooLarge {
    /// The limit that was passed.
    pub limit: usize,
}

impl fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the response body is larger than this client's limit of {} bytes",
            self.limit
        )
    }
}

impl std::error::Error for BodyTooLarge {}

impl BodyTooLarge {
    /// The workspace error for this: [`ErrorKind::InvalidResponse`], naming the call (`what`)
    /// and saying that the limit is ours, not the server's.
    pub fn into_error(self, what: &str) -> Error {
        Error::new(ErrorKind::InvalidResponse, format!("{what}: {self}"))
    }
}

/// A response body read into zeroizing memory, refused past its limit.
pub struct BodyBuffer {
    buf: Zeroizing<Vec<u8>>,
    limit: usize,
}

impl fmt::Debug for BodyBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyBuffer")
            .field("len", &self.buf.len())
            .field("limit", &self.limit)
            .finish()
    }
}

impl BodyBuffer {
    /// An empty buffer. A declared `content_length` over the limit is refused before any byte
    /// is read; a smaller one pre-sizes the buffer (at most 1 MiB up front, so a lying length
    /// reserves little).
    pub fn new(limit: BodyLimit, content_length: Option<u64>) -> Result<Self, BodyTooLarge> {
        let limit = limit.max_bytes;
        let hint = match content_length {
            Some(n) if n > limit as u64 => return Err(BodyTooLarge { limit }),
            Some(n) => usize::try_from(n).unwrap_or(0).min(1 << 20),
            None => 0,
        };
        Ok(BodyBuffer {
            buf: Zeroizing::new(Vec::with_capacity(hint)),
            limit,
        })
    }

    /// Appends a chunk. Past the limit, everything read so far is wiped and the buffer is
    /// left empty. Growing moves the bytes to a larger buffer and wipes the old one.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), BodyTooLarge> {
        let needed = self.buf.len().saturating_add(chunk.len());
        if needed > self.limit {
            self.buf = Zeroizing::new(Vec::new()); // the old buffer is wiped on drop
            return Err(BodyTooLarge { limit: self.limit });
        }
        if needed > self.buf.capacity() {
            let cap = needed
                .max(self.buf.capacity().saturating_mul(2))
                .min(self.limit);
            let mut bigger = Zeroizing::new(Vec::with_capacity(cap));
            bigger.extend_from_slice(&self.buf);
            self.buf = bigger;
        }
        self.buf.extend_from_slice(chunk);
        Ok(())
    }

    /// Bytes read so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The whole body.
    pub fn into_inner(self) -> Zeroizing<Vec<u8>> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_length_over_the_limit_is_refused_up_front() {
        assert_eq!(
            BodyBuffer::new(BodyLimit::new(10), Some(11)).unwrap_err(),
            BodyTooLarge { limit: 10 }
        );
        assert!(BodyBuffer::new(BodyLimit::new(10), Some(10)).is_ok());
    }

    #[test]
    fn a_lying_length_reserves_at_most_one_mib() {
        let b = BodyBuffer::new(BodyLimit::new(usize::MAX), Some(u64::MAX - 1)).unwrap();
        assert!(b.buf.capacity() <= 1 << 20);
    }

    #[test]
    fn chunks_accumulate_up_to_exactly_the_limit() {
        let mut b = BodyBuffer::new(BodyLimit::new(6), None).unwrap();
        b.push(b"abc").unwrap();
        b.push(b"def").unwrap();
        assert_eq!(b.len(), 6);
        assert_eq!(&b.into_inner()[..], b"abcdef");
    }

    #[test]
    fn one_byte_past_the_limit_fails_and_empties_the_buffer() {
        let mut b = BodyBuffer::new(BodyLimit::new(6), None).unwrap();
        b.push(b"abcdef").unwrap();
        assert_eq!(b.push(b"g").unwrap_err().limit, 6);
        assert!(b.is_empty());
    }

    #[test]
    fn the_error_is_an_invalid_response_that_says_the_limit_is_ours() {
        let e = BodyTooLarge { limit: 4 }.into_error("GetSecretValue");
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
        let text = e.to_string();
        assert!(text.contains("GetSecretValue"), "{text}");
        assert!(text.contains("this client's limit of 4 bytes"), "{text}");
    }

    #[test]
    fn debug_shows_sizes_only() {
        let mut b = BodyBuffer::new(BodyLimit::new(64), None).unwrap();
        b.push(b"canary-value").unwrap();
        let d = format!("{b:?}");
        assert!(!d.contains("canary"), "{d}");
    }
}
