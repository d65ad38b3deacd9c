//! The embedded backend's write-ahead log: what makes a commit durable
//! without waiting for sled to flush.
//!
//! sled's own flush seals an in-memory log buffer and hands the write to
//! sled's thread pool, waking every idle pool thread for each commit. The
//! store instead keeps its own append-only log of the changes it applied
//! to sled, written and fdatasynced by the committing thread:
//!
//! 1. **Commit**, write-ahead: under the backend's commit lock the
//!    transaction's changes are resolved to plain puts and removes (no
//!    read at replay) against sled plus the changes logged before and not
//!    yet applied, appended to the log as one record, and queued. Outside
//!    the lock the committer waits for an fdatasync of the log that covers
//!    its record; concurrent committers share one (leader/follower group
//!    commit, `sync.rs`). Only then are the queued changes the fdatasync
//!    covered applied to sled, in log order, key by key in memory while
//!    readers are held off (so none sees half a change), and the commit
//!    acknowledged. sled writes its buffers to its own files whenever it
//!    likes, so it may hold part of a change after a crash; the record of
//!    any change sled has seen is already on disk, and replay completes
//!    it.
//! 2. **Checkpoint** (a background thread, about once a second when the
//!    log holds records, at once when it passes [`CHECKPOINT_BYTES`], and
//!    at clean close): under the commit lock the current log file is
//!    fdatasynced and a new one started; then sled is flushed, which makes
//!    every change applied before the switch durable in sled itself, and
//!    the older log files are deleted (folder fsynced).
//! 3. **Recovery** (open, before anything is read): every complete record
//!    of every log file is applied to sled in order, sled is flushed, a
//!    fresh log file is started and the old ones are deleted. sled's own
//!    recovery yields a prefix of the changes it was given, and every
//!    record holds final values, so replaying records sled already has is
//!    harmless: the result is the state after the last record. A torn or
//!    garbled record at the end of the newest file was never acknowledged
//!    (its fdatasync had not returned) and is ignored with what follows it;
//!    one in an older file (which was fdatasynced whole when the next one
//!    began) means damage, and opening fails rather than losing
//!    acknowledged writes in silence.
//!
//! Files: `data_dir/wal/NNNNNNNNNNNNNNNNNNNN.log` (a sequence number, 0600,
//! in a 0700 folder), each starting with [`HEADER`], then records: a 4-byte
//! big-endian payload length, the payload's CRC-32 (4 bytes, big-endian),
//! the payload. A payload is a list of operations: `P` key value or `R`
//! key, each key and value a 4-byte big-endian length and the bytes.
//!
//! A new log file is created whole through `sealpost_durable` (temporary
//! name, fsync, rename, folder fsync); appends to it are this module's own
//! writes plus fdatasync, the one place the store appends to a file.
//!
//! Tested through the store on real files: `tests/wal.rs` (a process that
//! aborts with sled unflushed), `tests/wal_kill.rs` (SIGKILL with commits
//! held between their fdatasync and sled, or half applied to a flushed
//! sled, by the test-only hooks of `crash_hooks.rs`; a torn last record).

use crate::sync::GroupSync;
use crate::{Result, StoreError};
use parking_lot::Mutex;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The first bytes of every log file (the format's version is in it).
pub(crate) const HEADER: &[u8] = b"sealpost-wal 1\n";
/// Past this many bytes in the current file, a checkpoint starts at once.
pub(crate) const CHECKPOINT_BYTES: u64 = 64 * 1024 * 1024;
/// Longest record payload read back (a commit is rows, never messages).
const MAX_RECORD: usize = 512 * 1024 * 1024;
/// The log's folder under data_dir.
pub(crate) const DIR: &str = "wal";

/// One change: a key set to a value, or removed.
pub(crate) type Op = (Vec<u8>, Option<Vec<u8>>);

/// Encodes `ops` as one record (length, checksum, payload).
pub(crate) fn encode(ops: &[Op]) -> Vec<u8> {
    let size: usize = ops
        .iter()
        .map(|(k, v)| 5 + k.len() + v.as_ref().map_or(0, |v| 4 + v.len()))
        .sum();
    let mut out = Vec::with_capacity(8 + size);
    out.extend_from_slice(&[0u8; 8]);
    for (k, v) in ops {
        out.push(if v.is_some() { b'P' } else { b'R' });
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k);
        if let Some(v) = v {
            out.extend_from_slice(&(v.len() as u32).to_be_bytes());
            out.extend_from_slice(v);
        }
    }
    let len = (out.len() - 8) as u32;
    let crc = crc32fast::hash(&out[8..]);
    out[..4].copy_from_slice(&len.to_be_bytes());
    out[4..8].copy_from_slice(&crc.to_be_bytes());
    out
}

/// The operations of a payload whose checksum matched; `None` if it does
/// not parse (which a matching checksum makes a bug or deliberate damage).
fn decode(mut p: &[u8]) -> Option<Vec<Op>> {
    fn take<'a>(p: &mut &'a [u8]) -> Option<&'a [u8]> {
        let len = u32::from_be_bytes(p.get(..4)?.try_into().ok()?) as usize;
        let bytes = p.get(4..4 + len)?;
        *p = &p[4 + len..];
        Some(bytes)
    }
    let mut ops = Vec::new();
    while let Some((&tag, rest)) = p.split_first() {
        p = rest;
        let key = take(&mut p)?.to_vec();
        match tag {
            b'P' => ops.push((key, Some(take(&mut p)?.to_vec()))),
            b'R' => ops.push((key, None)),
            _ => return None,
        }
    }
    Some(ops)
}

/// How a log file ended when read back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Tail {
    /// Every byte belonged to a complete record.
    Clean,
    /// An incomplete or garbled record starts at this offset.
    Torn(u64),
}

/// Reads the records of one log file, giving each to `apply` in order.
pub(crate) fn read_file(path: &Path, apply: &mut dyn FnMut(Vec<Op>) -> Result<()>) -> Result<Tail> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| wal_error(path, format!("cannot read: {e}")))?;
    if bytes.len() < HEADER.len() || !bytes.starts_with(HEADER) {
        // A file is created whole with its header, so anything else here
        // was put there by someone else.
        return Err(wal_error(path, "not a sealpost write-ahead log file"));
    }
    let mut at = HEADER.len();
    while at < bytes.len() {
        let Some(head) = bytes.get(at..at + 8) else {
            return Ok(Tail::Torn(at as u64));
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        let payload = match bytes.get(at + 8..at + 8 + len) {
            Some(p) if len <= MAX_RECORD && crc32fast::hash(p) == crc => p,
            _ => return Ok(Tail::Torn(at as u64)),
        };
        let ops = decode(payload).ok_or_else(|| {
            wal_error(
                path,
                format!("record at offset {at} has a good checksum but does not parse"),
            )
        })?;
        apply(ops)?;
        at += 8 + len;
    }
    Ok(Tail::Clean)
}

fn wal_error(path: &Path, message: impl Into<String>) -> StoreError {
    StoreError::DataDir {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn file_name(seq: u64) -> String {
    format!("{seq:020}.log")
}

/// The log files in `dir`, oldest first (other names are left alone).
fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(seq) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".log"))
            .filter(|n| n.len() == 20)
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        out.push((seq, entry.path()));
    }
    out.sort();
    Ok(out)
}

/// The file records are appended to now.
struct Current {
    file: Arc<File>,
    seq: u64,
    /// Bytes in this file.
    len: u64,
    /// Bytes appended since open, over every file: the log's position.
    total: u64,
}

/// An open log (see the module docs).
pub(crate) struct Wal {
    dir: PathBuf,
    current: Mutex<Current>,
    /// The position covered by a finished fdatasync.
    durable: AtomicU64,
    sync: GroupSync,
    /// Set when a write could not be undone or an fdatasync failed: the
    /// file's state is unknown, so no commit is acknowledged any more.
    broken: AtomicBool,
}

/// Where an append started.
pub(crate) struct Mark {
    len: u64,
    total: u64,
}

impl Mark {
    /// The log position the record starts at.
    pub(crate) fn start(&self) -> u64 {
        self.total
    }
}

impl Wal {
    /// Replays every log file in `data_dir/wal` through `apply` (in order),
    /// then calls `flushed` (which must make what `apply` did durable) and
    /// starts a fresh log file, deleting the replayed ones. Returns the log
    /// and how many records were replayed.
    pub(crate) fn recover(
        data_dir: &Path,
        apply: &mut dyn FnMut(Vec<Op>) -> Result<()>,
        flushed: &mut dyn FnMut() -> Result<()>,
    ) -> Result<(Wal, u64)> {
        let dir = data_dir.join(DIR);
        sealpost_durable::create_dir(&dir)?;
        let files = list(&dir)?;
        let mut records = 0u64;
        let mut counting = |ops: Vec<Op>| {
            records += 1;
            apply(ops)
        };
        let mut torn = false;
        for (i, (_, path)) in files.iter().enumerate() {
            match read_file(path, &mut counting)? {
                Tail::Clean => {}
                Tail::Torn(at) if i + 1 == files.len() => {
                    torn = true;
                    tracing::info!(
                        file = %path.display(),
                        offset = at,
                        "ignored the unacknowledged end of the write-ahead log"
                    );
                }
                Tail::Torn(at) => {
                    return Err(wal_error(
                        path,
                        format!(
                            "damaged at offset {at}, and a later log file follows: acknowledged writes may be missing"
                        ),
                    ));
                }
            }
        }
        let (file, seq, len) = match files.as_slice() {
            // Nothing to replay (a clean close): the file is kept as it is,
            // so an open that goes no further changes nothing on disk.
            [(seq, path)] if records == 0 && !torn => {
                let file = open_append(path)?;
                let len = file.metadata()?.len();
                (file, *seq, len)
            }
            _ => {
                flushed()?;
                let seq = files.last().map_or(1, |(s, _)| s + 1);
                let (file, len) = create(&dir, seq)?;
                remove_before(&dir, seq)?;
                (file, seq, len)
            }
        };
        Ok((
            Wal {
                dir,
                current: Mutex::new(Current {
                    file: Arc::new(file),
                    seq,
                    len,
                    total: 0,
                }),
                durable: AtomicU64::new(0),
                sync: GroupSync::default(),
                broken: AtomicBool::new(false),
            },
            records,
        ))
    }

    fn check(&self) -> Result<()> {
        if self.broken.load(Ordering::Acquire) {
            return Err(StoreError::Io(
                "the write-ahead log failed earlier; restart sealpost".into(),
            ));
        }
        Ok(())
    }

    /// Appends one record (from [`encode`]). The caller holds the commit
    /// lock, so records are in the order their changes are applied.
    /// Returns whether the current file has grown past [`CHECKPOINT_BYTES`].
    pub(crate) fn append(&self, record: &[u8]) -> Result<(Mark, bool)> {
        self.check()?;
        let mut cur = self.current.lock();
        let mark = Mark {
            len: cur.len,
            total: cur.total,
        };
        if let Err(e) = (&*cur.file).write_all(record) {
            self.undo_locked(&mut cur, &mark);
            return Err(e.into());
        }
        cur.len += record.len() as u64;
        cur.total += record.len() as u64;
        Ok((mark, cur.len > CHECKPOINT_BYTES))
    }

    fn undo_locked(&self, cur: &mut Current, mark: &Mark) {
        match cur.file.set_len(mark.len) {
            Ok(()) => {
                cur.len = mark.len;
                cur.total = mark.total;
            }
            Err(e) => {
                tracing::error!(error = %e, "could not undo a write-ahead log append");
                self.broken.store(true, Ordering::Release);
            }
        }
    }

    /// Returns once every record appended so far is on disk; concurrent
    /// callers share one fdatasync.
    pub(crate) fn sync(&self) -> Result<()> {
        let wanted = self.current.lock().total;
        self.sync_to(wanted)
    }

    /// The position covered by a finished fdatasync: every record ending
    /// at or before it is on disk.
    pub(crate) fn durable(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// Marks the log failed: no commit is acknowledged any more (a change
    /// could not be applied to sled, so memory and log disagree).
    pub(crate) fn fail(&self) {
        self.broken.store(true, Ordering::Release);
    }

    /// Returns once the log is on disk up to position `wanted` (the end of
    /// a record); concurrent callers share one fdatasync.
    pub(crate) fn sync_to(&self, wanted: u64) -> Result<()> {
        self.check()?;
        if self.durable.load(Ordering::Acquire) >= wanted {
            return Ok(());
        }
        self.sync.sync(|| {
            let (file, total) = {
                let cur = self.current.lock();
                (cur.file.clone(), cur.total)
            };
            // Records in earlier files were fdatasynced when the file
            // after them was started (`rotate`).
            match file.sync_data() {
                Ok(()) => {
                    self.durable.fetch_max(total, Ordering::AcqRel);
                    Ok(())
                }
                Err(e) => {
                    self.broken.store(true, Ordering::Release);
                    Err(e)
                }
            }
        })?;
        self.check()
    }

    /// Whether the current file holds records.
    pub(crate) fn has_records(&self) -> bool {
        self.current.lock().len > HEADER.len() as u64
    }

    /// Finishes the current file (fdatasynced) and starts the next one;
    /// returns the new file's sequence number. The caller holds the commit
    /// lock: no record is half-written meanwhile.
    pub(crate) fn rotate(&self) -> Result<u64> {
        self.check()?;
        let mut cur = self.current.lock();
        cur.file.sync_data()?;
        self.durable.fetch_max(cur.total, Ordering::AcqRel);
        let seq = cur.seq + 1;
        let (file, len) = create(&self.dir, seq)?;
        cur.file = Arc::new(file);
        cur.seq = seq;
        cur.len = len;
        Ok(seq)
    }

    /// Deletes the log files before `seq` (their changes are in sled now).
    pub(crate) fn remove_before(&self, seq: u64) -> Result<()> {
        remove_before(&self.dir, seq)
    }
}

/// Creates log file `seq` holding the header, durably; open for appending.
fn create(dir: &Path, seq: u64) -> Result<(File, u64)> {
    let path = dir.join(file_name(seq));
    sealpost_durable::write(&path, HEADER)?;
    Ok((open_append(&path)?, HEADER.len() as u64))
}

fn open_append(path: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| wal_error(path, format!("cannot open: {e}")))
}

fn remove_before(dir: &Path, seq: u64) -> Result<()> {
    let mut removed = false;
    for (s, path) in list(dir)? {
        if s < seq {
            std::fs::remove_file(&path)?;
            removed = true;
        }
    }
    if removed {
        sealpost_durable::sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops() -> Vec<Op> {
        vec![
            (b"a".to_vec(), Some(b"one".to_vec())),
            (b"b".to_vec(), None),
            (Vec::new(), Some(Vec::new())),
        ]
    }

    #[test]
    fn records_round_trip() {
        let r = encode(&ops());
        assert_eq!(decode(&r[8..]), Some(ops()));
        assert_eq!(decode(b"Xaaaa"), None);
        assert_eq!(decode(b"P\0\0\0\x09a"), None);
    }

    #[test]
    fn every_cut_of_the_last_record_is_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(1));
        let first = encode(&ops());
        let second = encode(&[(b"k".to_vec(), Some(vec![7; 100]))]);
        let mut whole = HEADER.to_vec();
        whole.extend_from_slice(&first);
        whole.extend_from_slice(&second);
        let start = (HEADER.len() + first.len()) as u64;
        for cut in start as usize..whole.len() {
            std::fs::write(&path, &whole[..cut]).unwrap();
            let mut seen = Vec::new();
            let tail = read_file(&path, &mut |o| {
                seen.push(o);
                Ok(())
            })
            .unwrap();
            let want = if cut == start as usize {
                Tail::Clean
            } else {
                Tail::Torn(start)
            };
            assert_eq!(tail, want, "cut at {cut}");
            assert_eq!(seen, vec![ops()]);
        }
        // A flipped bit in the last record: garbled, ignored the same way.
        let mut bad = whole.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        std::fs::write(&path, &bad).unwrap();
        assert_eq!(
            read_file(&path, &mut |_| Ok(())).unwrap(),
            Tail::Torn(start)
        );
        std::fs::write(&path, b"something else").unwrap();
        assert!(read_file(&path, &mut |_| Ok(())).is_err());
    }
}
