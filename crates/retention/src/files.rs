//! Durable small-file writes (through `sealpost_durable`) and scrubbed
//! removals for the retention worker's own files (purge markers, saved
//! entries).

use crate::RetentionError;
use std::path::Path;

/// Writes `bytes` to `path` durably (the shared helper: temporary file
/// 0600, fsync, rename, folder fsync), the folder created 0700 if missing.
pub(crate) fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), RetentionError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    sealpost_durable::create_dir(dir).map_err(|e| RetentionError::io(dir, e))?;
    sealpost_durable::write(path, bytes).map_err(|e| RetentionError::io(path, e))
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), RetentionError> {
    sealpost_durable::sync_dir(dir).map_err(|e| RetentionError::io(dir, e))
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
