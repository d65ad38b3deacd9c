//! One sealed state file of the outbound TLS policy (the MTA-STS policy
//! cache, the TLS-RPT counts): recipient domain names are personal enough
//! to stay off the disk in plaintext (DESIGN.md promise 8), so the file is
//! sealed under a [`FileKey`] derived from the master key for its purpose
//! (`mta-sts-cache`, `tls-rpt`), written whole through sealpost-durable.
//!
//! Writes run on the blocking pool ([`StateFile::write`]), not on the
//! queue's task. Each snapshot carries a sequence number taken under the
//! owner's lock, and a write never replaces a newer snapshot with an older
//! one when two writes race on the pool.
//!
//! A plaintext JSON file of the previous format (`NAME.json`) is read once,
//! written sealed and removed (overwritten with zeros first).

use sealpost_store::FileKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A sealed file and the newest snapshot written to it.
#[derive(Clone)]
pub struct StateFile {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    key: FileKey,
    /// The sequence number of the newest snapshot on disk.
    written: Mutex<u64>,
}

impl StateFile {
    /// `dir/NAME.sealed` under `key`; returns it and what it holds (the
    /// plaintext), or what the legacy `dir/NAME.json` held (then moved into
    /// the sealed file). Unreadable content is logged and ignored.
    pub fn open(dir: &Path, name: &str, key: FileKey) -> (StateFile, Option<Vec<u8>>) {
        let file = StateFile {
            inner: Arc::new(Inner {
                path: dir.join(format!("{name}.sealed")),
                key,
                written: Mutex::new(0),
            }),
        };
        let path = &file.inner.path;
        let content = match std::fs::read(path) {
            Ok(sealed) => match file.inner.key.open(&sealed) {
                Ok(plain) => Some(plain),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "sealed state unreadable; starting empty");
                    None
                }
            },
            Err(_) => None,
        };
        let legacy = dir.join(format!("{name}.json"));
        match (content, std::fs::read(&legacy)) {
            (Some(c), _) => (file, Some(c)),
            (None, Ok(plain)) => {
                match file.write_blocking(1, &plain) {
                    Ok(()) => remove_plaintext(&legacy, plain.len()),
                    Err(e) => tracing::error!(error = %e, "cannot seal {}", legacy.display()),
                }
                (file, Some(plain))
            }
            (None, Err(_)) => (file, None),
        }
    }

    /// Where the sealed file is.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Seals and writes snapshot `seq` unless a newer one is on disk
    /// already. Blocks on fsync.
    pub fn write_blocking(&self, seq: u64, plain: &[u8]) -> std::io::Result<()> {
        let mut written = self.inner.written.lock().unwrap_or_else(|e| e.into_inner());
        if seq <= *written {
            return Ok(());
        }
        sealpost_durable::write(&self.inner.path, &self.inner.key.seal(plain))?;
        *written = seq;
        Ok(())
    }

    /// [`StateFile::write_blocking`] on the blocking pool.
    pub async fn write(&self, seq: u64, plain: Vec<u8>) -> std::io::Result<()> {
        let file = self.clone();
        tokio::task::spawn_blocking(move || file.write_blocking(seq, &plain))
            .await
            .map_err(std::io::Error::other)?
    }
}

/// Overwrites a plaintext file with zeros, then removes it.
fn remove_plaintext(path: &Path, len: usize) {
    let _ = sealpost_durable::write(path, &vec![0u8; len]);
    if let Err(e) = std::fs::remove_file(path) {
        tracing::error!(path = %path.display(), error = %e, "cannot remove the plaintext state file");
    }
}

#[cfg(test)]
pub(crate) fn test_key(dir: &Path, purpose: &str) -> FileKey {
    let master = dir.join("master.key");
    if !master.exists() {
        std::fs::write(&master, [7u8; 32]).unwrap();
    }
    FileKey::load(&master, purpose).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_newest_wins_and_legacy_plaintext_is_moved() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.json"), b"{\"d\":\"remote.example\"}").unwrap();
        let (file, got) = StateFile::open(dir.path(), "s", test_key(dir.path(), "s"));
        assert_eq!(got.as_deref(), Some(&b"{\"d\":\"remote.example\"}"[..]));
        assert!(!dir.path().join("s.json").exists());
        let sealed = std::fs::read(file.path()).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("remote"));
        file.write_blocking(5, b"five").unwrap();
        file.write_blocking(4, b"four").unwrap();
        let (_, got) = StateFile::open(dir.path(), "s", test_key(dir.path(), "s"));
        assert_eq!(got.as_deref(), Some(&b"five"[..]));
        let (_, other) = StateFile::open(dir.path(), "s", test_key(dir.path(), "t"));
        assert_eq!(other, None, "another purpose's key opens nothing");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
