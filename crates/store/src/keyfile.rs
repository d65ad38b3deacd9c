//! Per-account data keys, wrapped, one small file each under
//! `data_dir/account-keys/` (named by account id, never by address).
//!
//! Why not in sled with the rest of the account row: sled is log-structured,
//! so a value overwritten there (the master-wrapped key replaced at
//! deletion, the restore-wrapped key cleared by the purge) survives in an
//! old log segment until sled reuses the space. Crypto-shredding needs the
//! old bytes gone, so the wrapped key lives in a file that is overwritten in
//! place before it is replaced or removed:
//!
//! - [`KeyFiles::write`]: the new wrapped key goes to `ID.key.new` (written
//!   durably by the shared helper); then the old `ID.key` is overwritten with zeros in place and
//!   fsynced; then `ID.key.new` is renamed over it and the folder fsynced.
//! - [`KeyFiles::shred`]: both names are zeroed in place, fsynced, unlinked.
//!
//! A crash between the steps leaves `ID.key.new` whole (it was fsynced
//! before anything else was touched) and `ID.key` either old or zeroed;
//! [`KeyFiles::copies`] returns both, newest first, and the caller keeps the
//! first that unwraps. In-place overwrites erase on filesystems that write
//! in place (ext4, xfs); copy-on-write filesystems and SSD wear levelling may
//! keep old blocks, the same caveat as for zeroed blobs.

use crate::AccountId;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The folder of wrapped account keys.
#[derive(Debug, Clone)]
pub(crate) struct KeyFiles {
    dir: PathBuf,
}

impl KeyFiles {
    /// Opens (creating, mode 0700) the key folder under `data_dir`.
    pub(crate) fn open(data_dir: &Path) -> io::Result<KeyFiles> {
        let dir = data_dir.join("account-keys");
        sealpost_durable::create_dir(&dir)?;
        Ok(KeyFiles { dir })
    }

    fn path(&self, id: AccountId) -> PathBuf {
        self.dir.join(format!("{:016x}.key", id.0))
    }

    fn new_path(&self, id: AccountId) -> PathBuf {
        self.dir.join(format!("{:016x}.key.new", id.0))
    }

    /// The stored copies of an account's wrapped key, newest first (two only
    /// after a crash in the middle of [`KeyFiles::write`]).
    pub(crate) fn copies(&self, id: AccountId) -> io::Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for p in [self.new_path(id), self.path(id)] {
            match fs::read(&p) {
                Ok(b) if !b.is_empty() => out.push(b),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Stores a new wrapped key, destroying the old one (see the module docs).
    pub(crate) fn write(&self, id: AccountId, wrapped: &[u8]) -> io::Result<()> {
        let new = self.new_path(id);
        // The shared helper (0600, fsync, rename, folder fsync): `ID.key.new`
        // appears whole, never cut short by a crash.
        sealpost_durable::write(&new, wrapped)?;
        zero_in_place(&self.path(id))?;
        sealpost_durable::rename(&new, &self.path(id))
    }

    /// Destroys an account's wrapped key for good: zeroed in place, then
    /// unlinked. A key already gone is fine.
    pub(crate) fn shred(&self, id: AccountId) -> io::Result<()> {
        for p in [self.new_path(id), self.path(id)] {
            zero_in_place(&p)?;
            match fs::remove_file(&p) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        sync_dir(&self.dir)
    }

    /// Every wrapped key file as it is now (backup): (file name, bytes),
    /// temporary names left out, sorted by name.
    pub(crate) fn read_all(&self) -> io::Result<Vec<(String, Vec<u8>)>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.file_type()?.is_file() {
                continue;
            }
            out.push((name, fs::read(entry.path())?));
        }
        out.sort();
        Ok(out)
    }

    /// Whether any copy of the account's key is on disk (tests, forensics).
    pub(crate) fn exists(&self, id: AccountId) -> bool {
        self.path(id).exists() || self.new_path(id).exists()
    }
}

/// Overwrites a file's bytes with zeros and fsyncs it; a missing file is fine.
fn zero_in_place(path: &Path) -> io::Result<()> {
    let mut f = match fs::OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len() as usize;
    f.write_all(&vec![0u8; len])?;
    f.sync_all()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    sealpost_durable::sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_replaces_and_shred_removes() {
        let d = tempfile::tempdir().unwrap();
        let k = KeyFiles::open(d.path()).unwrap();
        let id = AccountId(7);
        assert!(k.copies(id).unwrap().is_empty());
        k.write(id, b"first").unwrap();
        assert_eq!(k.copies(id).unwrap(), vec![b"first".to_vec()]);
        k.write(id, b"second").unwrap();
        assert_eq!(k.copies(id).unwrap(), vec![b"second".to_vec()]);
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(k.path(id)).unwrap().permissions().mode() & 0o777
        };
        assert_eq!(mode, 0o600);
        k.shred(id).unwrap();
        assert!(!k.exists(id));
        assert!(k.copies(id).unwrap().is_empty());
        k.shred(id).unwrap();
    }

    #[test]
    fn a_write_cut_short_leaves_the_new_copy_first() {
        // As after a crash between zeroing the old file and the rename.
        let d = tempfile::tempdir().unwrap();
        let k = KeyFiles::open(d.path()).unwrap();
        let id = AccountId(9);
        k.write(id, b"old").unwrap();
        fs::write(k.new_path(id), b"new").unwrap();
        zero_in_place(&k.path(id)).unwrap();
        assert_eq!(
            k.copies(id).unwrap(),
            vec![b"new".to_vec(), vec![0u8; 3]],
            "newest first; the zeroed one fails to unwrap"
        );
        k.write(id, b"newer").unwrap();
        assert_eq!(k.copies(id).unwrap(), vec![b"newer".to_vec()]);
    }
}
