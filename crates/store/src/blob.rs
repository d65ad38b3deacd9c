//! Message bodies: one encrypted file per message under
//! `data_dir/blobs/<account id>/<blob id>`.
//!
//! A blob is written to a temporary name, fsynced, renamed into place, and
//! its directory fsynced (through the account's [`GroupSync`], so concurrent
//! deliveries share the directory fsync). Blob ids are random: nothing about
//! a file's name or place says what it holds, and identical messages to two
//! accounts are two unrelated files (no cross-account deduplication).

use crate::AccountId;
use crate::sync::GroupSync;
use rand::RngCore;
use std::path::{Path, PathBuf};

/// A blob's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobId(pub [u8; 16]);

impl BlobId {
    pub fn random() -> BlobId {
        let mut b = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut b);
        BlobId(b)
    }
    fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The folder of an account's blobs.
pub fn account_dir(root: &Path, a: AccountId) -> PathBuf {
    root.join(format!("{:016x}", a.0))
}

/// The path of one blob.
pub fn path(root: &Path, a: AccountId, b: BlobId) -> PathBuf {
    account_dir(root, a).join(b.hex())
}

/// Writes a blob durably through the shared helper (temporary file 0600,
/// fsync, rename), the directory fsync going through `dir_sync` so that
/// concurrent deliveries to one account share it. The account's folder is
/// created (0700) on its first blob.
pub fn write(
    root: &Path,
    a: AccountId,
    b: BlobId,
    bytes: &[u8],
    dir_sync: &GroupSync,
) -> std::io::Result<()> {
    let final_path = path(root, a, b);
    let sync_shared = |dir: &Path| dir_sync.sync(|| sync_dir(dir));
    match sealpost_durable::write_then_sync_dir(&final_path, bytes, sync_shared) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // The helper fsyncs `root` after creating the folder in it.
            sealpost_durable::create_dir(&account_dir(root, a))?;
            sealpost_durable::write_then_sync_dir(&final_path, bytes, sync_shared)
        }
        done => done,
    }
}

/// Starts writing a blob piece by piece (a temporary file, 0600, through
/// the shared helper); [`commit_staged`] puts it in place. The account's
/// folder is created (0700) on its first blob.
pub fn stage(root: &Path, a: AccountId, b: BlobId) -> std::io::Result<sealpost_durable::Staged> {
    let final_path = path(root, a, b);
    match sealpost_durable::Staged::create(&final_path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            sealpost_durable::create_dir(&account_dir(root, a))?;
            sealpost_durable::Staged::create(&final_path)
        }
        done => done,
    }
}

/// Makes a blob started with [`stage`] durable under its id, the directory
/// fsync shared as in [`write`].
pub fn commit_staged(
    staged: sealpost_durable::Staged,
    dir_sync: &GroupSync,
) -> std::io::Result<()> {
    staged.commit_then_sync_dir(|dir| dir_sync.sync(|| sync_dir(dir)))
}

/// Makes a second name for a blob (copy within an account shares the bytes).
pub fn link(root: &Path, a: AccountId, from: BlobId, to: BlobId) -> std::io::Result<()> {
    std::fs::hard_link(path(root, a, from), path(root, a, to))
}

/// fsyncs an account's blob folder (after links and removals).
pub fn sync_account_dir(root: &Path, a: AccountId, dir_sync: &GroupSync) -> std::io::Result<()> {
    let dir = account_dir(root, a);
    dir_sync.sync(|| sync_dir(&dir))
}

/// Reads a blob.
pub fn read(root: &Path, a: AccountId, b: BlobId) -> std::io::Result<Vec<u8>> {
    std::fs::read(path(root, a, b))
}

/// Removes a blob; a missing one is not an error (removal is idempotent).
pub fn remove(root: &Path, a: AccountId, b: BlobId) -> std::io::Result<()> {
    match std::fs::remove_file(path(root, a, b)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// fsyncs a folder (the shared helper).
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    sealpost_durable::sync_dir(dir)
}
