//! File handling of the store: owner-only folder and files, atomic replacement, bounded reads.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::session_store::StoreError;

/// A store file larger than this is damaged (a store of thousands of records is far smaller).
pub(crate) const MAX_FILE: u64 = 16 * 1024 * 1024;

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
    let what = what.into();
    move |source| StoreError::Io { what, source }
}

/// Creates `dir` (and its parents) if needed; a folder created here is owner-only (0700).
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(io(format!("creating {}", dir.display())))?;
    // `mode` applies to every folder created, but the umask may have narrowed it further;
    // set the leaf exactly.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io(format!("setting the permissions of {}", dir.display())))?;
    }
    Ok(())
}

/// Refuses a store folder that others may write to: they could plant a key of their own (and
/// read what is sealed with it) or a forged store. Unix only; on Windows the folder inherits
/// the profile's ACL.
pub(crate) fn check_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::metadata(dir) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(format!("reading {}", dir.display()))(e)),
        };
        if meta.permissions().mode() & 0o022 != 0 {
            return Err(StoreError::Unavailable(format!(
                "the store folder {} may be written by other users; make it yours alone (chmod 700) or choose another with VAULT_REFS_DATA_DIR",
                dir.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn private_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Opens (creating owner-only if needed) a file for locking.
pub(crate) fn open_private(path: &Path) -> Result<File, StoreError> {
    private_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io(format!("opening {}", path.display())))
}

/// The whole file, or `None` when it does not exist. Larger than [`MAX_FILE`]: `Ok(Some)` of
/// an empty buffer, which no format accepts (the caller reports it as damaged).
pub(crate) fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(format!("reading {}", path.display()))(e)),
    };
    // Sized up front (the key file is a secret: a growing buffer leaves copies behind).
    let len = file.metadata().map_or(0, |m| m.len()).min(MAX_FILE + 1);
    let mut buf = Vec::with_capacity(len as usize + 1);
    file.take(MAX_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(io(format!("reading {}", path.display())))?;
    if buf.len() as u64 > MAX_FILE {
        buf.clear();
    }
    Ok(Some(buf))
}

/// Replaces `path` with `bytes` atomically: an owner-only temporary file in the same folder,
/// flushed to disk, then renamed over `path` (and the folder flushed on Unix), so a reader
/// or a crash sees the old file or the new one, never half of one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = private_options()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io(format!("creating {}", tmp.display())))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(io(format!("writing {}", tmp.display())))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io(format!("replacing {}", path.display())))?;
        #[cfg(unix)]
        if let Some(dir) = path.parent() {
            // Best effort: the rename is durable once the folder is.
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(
        ".{name}.{}.{:08x}.tmp",
        std::process::id(),
        rand::random::<u32>()
    ))
}
