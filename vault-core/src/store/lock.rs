//! The lock that serialises writers of the store between processes (and threads): an
//! exclusive advisory lock (`flock` on Unix, `LockFileEx` on Windows, through `fs4`) on a
//! lock file beside the store. The store file itself is replaced by rename, so it cannot carry
//! the lock. Readers take no lock: a rename is atomic, they see the old file or the new one.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::session_store::StoreError;

use super::files;

/// Held while a writer reads, changes and replaces the store; released on drop.
pub(crate) struct StoreLock {
    file: File,
}

impl StoreLock {
    /// Takes the lock, waiting at most `timeout` (a writer holds it for milliseconds; a
    /// longer wait means a stuck process, and the caller gets an error instead of hanging).
    pub(crate) fn acquire(path: &Path, timeout: Duration) -> Result<Self, StoreError> {
        let file = files::open_private(path)?;
        let deadline = Instant::now() + timeout;
        loop {
            // Called through the trait: std's inherent `File::try_lock` needs Rust 1.89.
            match fs4::FileExt::try_lock(&file) {
                Ok(()) => return Ok(StoreLock { file }),
                Err(fs4::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(fs4::TryLockError::WouldBlock) => {
                    return Err(StoreError::Unavailable(format!(
                        "another process has held {} for more than {} s",
                        path.display(),
                        timeout.as_secs()
                    )))
                }
                Err(fs4::TryLockError::Error(source)) => {
                    return Err(StoreError::Io {
                        what: format!("locking {}", path.display()),
                        source,
                    })
                }
            }
        }
    }
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first makes it prompt.
        let _ = fs4::FileExt::unlock(&self.file);
    }
}
