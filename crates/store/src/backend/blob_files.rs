//! The embedded backend's blob folders as plain files (`embedded.rs`
//! keeps the metadata): sweeping the temporary names interrupted writes
//! left, listing the blob files a backup copies, and zeroing an
//! account's files before a purge removes them.

use crate::Result;
use crate::backup::BlobFile;
use std::path::Path;

/// What [`sweep_temporary`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Swept {
    pub files: u64,
    pub bytes: u64,
}

/// Removes the temporary files of interrupted blob writes
/// (`sealpost_durable::is_temporary` names) from every account folder.
/// Only for a store no other process has open.
pub(crate) fn sweep_temporary(root: &Path) -> Result<Swept> {
    let mut swept = Swept::default();
    for account in std::fs::read_dir(root)? {
        let account = account?;
        if !account.file_type()?.is_dir() {
            continue;
        }
        let mut removed = false;
        for entry in std::fs::read_dir(account.path())? {
            let entry = entry?;
            if !sealpost_durable::is_temporary(&entry.file_name()) || !entry.file_type()?.is_file()
            {
                continue;
            }
            let len = entry.metadata()?.len();
            std::fs::remove_file(entry.path())?;
            swept.files += 1;
            swept.bytes += len;
            removed = true;
        }
        if removed {
            sealpost_durable::sync_dir(&account.path())?;
        }
    }
    Ok(swept)
}

/// Every blob file on disk (`ACCOUNT/BLOB`, sorted), temporary names left out.
pub(super) fn list_blobs(root: &Path) -> Result<Vec<BlobFile>> {
    let mut out = Vec::new();
    for account in std::fs::read_dir(root)? {
        let account = account?;
        if !account.file_type()?.is_dir() {
            continue;
        }
        let folder = account.file_name().to_string_lossy().into_owned();
        for entry in std::fs::read_dir(account.path())? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.file_type()?.is_file() {
                continue;
            }
            out.push(BlobFile {
                rel: format!("{folder}/{name}"),
                len: entry.metadata()?.len(),
            });
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// Overwrites every file in `dir` with zeros and fsyncs it. A missing
/// folder is fine (already purged).
pub(super) fn scrub_dir(dir: &Path) -> Result<()> {
    use std::io::Write;
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let zeros = vec![0u8; 64 * 1024];
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let mut f = match std::fs::OpenOptions::new().write(true).open(entry.path()) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        // Hard links (COPY within a mailbox) share blocks: zeroing one name
        // zeroes all, which is what a purge wants.
        let mut left = f.metadata()?.len();
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            f.write_all(&zeros[..n])?;
            left -= n as u64;
        }
        f.sync_data()?;
    }
    Ok(())
}
