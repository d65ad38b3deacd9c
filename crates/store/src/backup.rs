//! What a backup of the embedded store needs from the store: one consistent
//! view of the metadata, the blob and key files that belong to it, and a
//! hold that keeps those blob files on disk while they are copied.
//!
//! The hazard: an expunge or a purge unlinks blob files after its commit,
//! so a blob named by the metadata a backup took could vanish before the
//! backup copies it. [`Store::backup_snapshot`] therefore
//!
//! 1. starts deferring every blob unlink and blocks purges (blob zeroing,
//!    key shredding) until the returned [`BackupHold`] is dropped;
//! 2. under the commit lock (no commit in between, so the rows are one
//!    point in time), hands every metadata row to the caller, lists the
//!    blob files on disk (a superset of those the rows name: a blob is
//!    written before the commit that refers to it) and reads the wrapped
//!    account keys (key-file changes wait meanwhile);
//! 3. lets commits go on while the caller copies the listed blob files,
//!    none of which can disappear or change (blob files are written once
//!    under a random id and never rewritten, except zeroed by a purge,
//!    which waits);
//! 4. on drop, performs the unlinks it deferred.
//!
//! The PostgreSQL backend has no such view here: its data is backed up with
//! the database's own tools (`pg_dump`, point-in-time recovery).

use crate::engine::Store;
use crate::{Result, StoreError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The first bytes of a metadata dump: then, per row, the key and the
/// value, each as a 4-byte big-endian length and the bytes.
pub const ROWS_MAGIC: &[u8] = b"sealpost-rows 1\n";
/// Longest key a dump holds (the store's keys are far shorter).
pub const MAX_ROW_KEY: usize = 64 * 1024;
/// Longest value a dump holds (a row is a sealed summary, never a message).
pub const MAX_ROW_VALUE: usize = 64 * 1024 * 1024;

/// Writes one row of a dump (after [`ROWS_MAGIC`]); refuses one over the limits.
pub fn write_row(out: &mut dyn Write, key: &[u8], value: &[u8]) -> std::io::Result<()> {
    if key.len() > MAX_ROW_KEY || value.len() > MAX_ROW_VALUE {
        return Err(std::io::Error::other(
            "a metadata row over the dump's limits",
        ));
    }
    for part in [key, value] {
        out.write_all(&(part.len() as u32).to_be_bytes())?;
        out.write_all(part)?;
    }
    Ok(())
}

/// The rows of a dump, each length checked against its limit; an error
/// for a row cut short, and nothing after an error. Reads as it goes, so a
/// restore holds one row at a time, whatever the size of the dump.
pub struct RowReader<R> {
    rest: R,
    done: bool,
}

impl<R: Read> RowReader<R> {
    /// Checks [`ROWS_MAGIC`].
    pub fn new(mut dump: R) -> std::io::Result<Self> {
        let mut magic = [0u8; ROWS_MAGIC.len()];
        match dump.read_exact(&mut magic) {
            Ok(()) if magic == *ROWS_MAGIC => Ok(RowReader {
                rest: dump,
                done: false,
            }),
            Ok(()) => Err(std::io::Error::other("not a sealpost metadata dump")),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                Err(std::io::Error::other("not a sealpost metadata dump"))
            }
            Err(e) => Err(e),
        }
    }

    /// A part's length, or `None` at a clean end of the dump (only where a
    /// row may start).
    fn length(&mut self, row_start: bool) -> std::io::Result<Option<usize>> {
        let mut len = [0u8; 4];
        let mut got = 0;
        while got < len.len() {
            match self.rest.read(&mut len[got..]) {
                Ok(0) if got == 0 && row_start => return Ok(None),
                Ok(0) => return Err(cut_short()),
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Some(u32::from_be_bytes(len) as usize))
    }

    fn part(&mut self, len: usize, limit: usize) -> std::io::Result<Vec<u8>> {
        if len > limit {
            return Err(cut_short());
        }
        // Grown as bytes arrive: a length near the limit in a short dump
        // costs what the dump holds, not the limit.
        let mut part = Vec::new();
        (&mut self.rest).take(len as u64).read_to_end(&mut part)?;
        if part.len() != len {
            return Err(cut_short());
        }
        Ok(part)
    }

    fn row(&mut self) -> std::io::Result<Option<(Vec<u8>, Vec<u8>)>> {
        let Some(klen) = self.length(true)? else {
            return Ok(None);
        };
        let key = self.part(klen, MAX_ROW_KEY)?;
        let vlen = self.length(false)?.ok_or_else(cut_short)?;
        Ok(Some((key, self.part(vlen, MAX_ROW_VALUE)?)))
    }
}

fn cut_short() -> std::io::Error {
    std::io::Error::other("a metadata row is cut short or over the limits")
}

impl<R: Read> Iterator for RowReader<R> {
    type Item = std::io::Result<(Vec<u8>, Vec<u8>)>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.row() {
            Ok(Some(row)) => Some(Ok(row)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Receives each metadata row of a snapshot (key, value).
pub type RowSink<'a> = dyn FnMut(&[u8], &[u8]) -> std::io::Result<()> + 'a;

/// One blob file of the snapshot.
#[derive(Debug, Clone)]
pub struct BlobFile {
    /// Its path under the blob folder, `ACCOUNT/BLOB` (hex names only).
    pub rel: String,
    /// Its size in bytes.
    pub len: u64,
}

/// Keeps a snapshot's blob files in place (see the module docs); dropping
/// it lets deferred unlinks and waiting purges proceed.
pub struct BackupHold<'a> {
    /// Blob files on disk at the snapshot, sorted by `rel`.
    pub blobs: Vec<BlobFile>,
    /// Wrapped account key files at the snapshot: (file name, bytes).
    pub key_files: Vec<(String, Vec<u8>)>,
    pub(crate) blob_root: PathBuf,
    pub(crate) _release: Box<dyn Release + 'a>,
}

/// What a backend undoes when a [`BackupHold`] is dropped.
pub(crate) trait Release {}

impl BackupHold<'_> {
    /// Where a listed blob file is.
    pub fn blob_path(&self, blob: &BlobFile) -> PathBuf {
        self.blob_root.join(&blob.rel)
    }
}

impl Store {
    /// Takes the snapshot a backup copies (see the module docs): every
    /// metadata row is given to `rows`, in key order, before this returns.
    /// Fails with [`StoreError::NotAllowed`] on PostgreSQL.
    pub fn backup_snapshot(&self, rows: &mut RowSink<'_>) -> Result<BackupHold<'_>> {
        self.inner.backend.backup_snapshot(rows)?.ok_or(StoreError::NotAllowed(
            "the PostgreSQL backend is backed up with the database's own tools (pg_dump or point-in-time recovery), not sealpost backup",
        ))
    }

    /// Builds the metadata database of a new embedded store in `data_dir`
    /// (restore) from rows a [`Store::backup_snapshot`] gave out. Refuses a
    /// data_dir whose metadata database holds anything. The blob, key and
    /// other files are the caller's to put in place; opening the store
    /// afterwards checks the master key against them.
    pub fn restore_metadata(
        data_dir: &Path,
        rows: &mut dyn Iterator<Item = std::io::Result<(Vec<u8>, Vec<u8>)>>,
    ) -> Result<u64> {
        crate::backend::embedded::restore_rows(data_dir, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FlagOp, Flags};

    #[test]
    fn rows_round_trip_and_a_cut_dump_is_an_error() {
        let mut dump = ROWS_MAGIC.to_vec();
        write_row(&mut dump, b"k1", b"v1").unwrap();
        write_row(&mut dump, b"", b"empty key").unwrap();
        let rows: Vec<_> = RowReader::new(&dump[..])
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows[0], (b"k1".to_vec(), b"v1".to_vec()));
        assert_eq!(rows[1], (Vec::new(), b"empty key".to_vec()));
        // Read a byte at a time, as a slow file or pipe may give it.
        let trickle = OneByte(&dump[..]);
        let slow: Vec<_> = RowReader::new(trickle)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(slow, rows);
        let boundary = ROWS_MAGIC.len() + 4 + 2 + 4 + 2;
        for cut in ROWS_MAGIC.len() + 1..dump.len() {
            let r: Vec<_> = RowReader::new(&dump[..cut]).unwrap().collect();
            assert!(r.iter().filter(|x| x.is_ok()).count() < 2, "cut at {cut}");
            assert!(r.iter().skip_while(|x| x.is_ok()).count() <= 1);
            if cut != boundary {
                assert!(
                    r.last().is_some_and(|x| x.is_err()),
                    "cut at {cut}: no error"
                );
            }
        }
        assert!(RowReader::new(&b"garbage"[..]).is_err());
        assert!(RowReader::new(&ROWS_MAGIC[..3]).is_err());
        let long = vec![0u8; MAX_ROW_KEY + 1];
        assert!(write_row(&mut Vec::new(), &long, b"").is_err());
    }

    /// Gives one byte per read.
    struct OneByte<'a>(&'a [u8]);

    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((b, rest)), Some(out)) => {
                    *out = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn a_hold_keeps_expunged_blobs_until_it_is_dropped() {
        let d = tempfile::tempdir().unwrap();
        let store = crate::test_backend::open(d.path());
        let a = store.create_account("a@example.org").unwrap();
        let m = store.deliver(a, b"Subject: x\r\n\r\nbody\r\n").unwrap();
        let mut rows = 0;
        let hold = store
            .backup_snapshot(&mut |_, _| {
                rows += 1;
                Ok(())
            })
            .unwrap();
        assert!(rows > 0);
        assert_eq!(hold.blobs.len(), 1);
        assert_eq!(hold.key_files.len(), 1);
        let blob = hold.blob_path(&hold.blobs[0]);
        let deleted = Flags::system(Flags::DELETED);
        store
            .store_flags(a, m.mailbox, &[m.uid], FlagOp::Add, &deleted, None)
            .unwrap();
        assert_eq!(store.expunge(a, m.mailbox, None).unwrap(), vec![m.uid]);
        // Expunged and committed, but the backup still copies it.
        assert!(blob.exists(), "the blob went while the backup held it");
        drop(hold);
        assert!(!blob.exists(), "the deferred unlink did not happen");
    }

    #[test]
    fn postgresql_is_refused() {
        crate::test_backend::each(|| {
            let d = tempfile::tempdir().unwrap();
            let store = crate::test_backend::open(d.path());
            let r = store.backup_snapshot(&mut |_, _| Ok(()));
            assert_eq!(r.is_ok(), store.backend_name() == "embedded");
        });
    }
}
