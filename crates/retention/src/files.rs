//! Durable small-file writes and removals for the retention worker's own
//! files (purge markers, saved entries).

use crate::RetentionError;
use std::path::Path;

/// Writes `bytes` to `path` durably: temporary file 0600, fsync, rename,
/// folder fsync (folder created 0700).
pub(crate) fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), RetentionError> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| RetentionError::io(dir, e))?;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| RetentionError::io(&tmp, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| RetentionError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| RetentionError::io(path, e))?;
    sync_dir(dir)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), RetentionError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| RetentionError::io(dir, e))
}

/// Overwrites a file with zeros in place (fsynced), then removes it
/// durably; a missing one is fine.
pub(crate) fn scrub_remove(path: &Path) -> Result<(), RetentionError> {
    use std::io::Write;
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(mut f) => {
            let len = f.metadata().map_err(|e| RetentionError::io(path, e))?.len() as usize;
            f.write_all(&vec![0u8; len])
                .and_then(|_| f.sync_all())
                .map_err(|e| RetentionError::io(path, e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(RetentionError::io(path, e)),
    }
    match std::fs::remove_file(path) {
        Ok(()) => sync_dir(path.parent().unwrap_or(Path::new("."))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(RetentionError::io(path, e)),
    }
}
