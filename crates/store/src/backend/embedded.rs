//! The embedded backend: sled for metadata, one file per blob, one file per
//! wrapped account key. The default: nothing to set up, one process.
//!
//! - Metadata: one sled tree, `sealpost.v1` (`codec::TREE`). A commit
//!   appends its changes to the store's own write-ahead log (`wal.rs`),
//!   waits until an fdatasync of the log covers them (shared by every
//!   concurrent committer, `GroupSync`), and only then applies them to
//!   sled in memory with single-key writes, in log order, under a
//!   reader/writer lock that keeps readers from seeing half of a change.
//!   sled itself is flushed by a checkpoint about once a second, after
//!   which the log is dropped; on open the log is replayed onto sled
//!   before anything is read. What is durable when, and the recovery
//!   order: `wal.rs`.
//! - Blobs: `data_dir/blobs/<account>/<blob id>` (`blob.rs`): written to a
//!   temporary name, fsynced, renamed, directory fsynced (shared per account
//!   folder), before the metadata that points at them is committed.
//! - Wrapped keys: `data_dir/account-keys/` (`keyfile.rs`), because a value
//!   overwritten in sled survives in its log.
//!
//! Single process: the data directory is locked by the engine, and
//! [`Backend::shared`] is false. Key uniqueness ([`Writes::creates`]) is
//! checked under a commit mutex against sled and the changes logged but
//! not yet applied; reads see applied (so durable) changes only.
//!
//! sled 0.34 is unmaintained upstream and pulls unmaintained crates; this
//! file is the whole of the store that knows it (see `backend/mod.rs`).

use super::blob_files::{list_blobs, scrub_dir, sweep_temporary};
use super::wal::{self, Op, Wal};
use super::{Backend, BlobSink, Fetched, KeyStore, Notice, Read, Txn, Writes};
use crate::backup::{BackupHold, Release};
use crate::blob::{self, BlobId};
use crate::codec::table;
use crate::sync::GroupSync;
use crate::{AccountId, Result, StoreError};
use parking_lot::{Condvar, Mutex, MutexGuard, RwLock, RwLockWriteGuard};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

/// sled + blob files + key files.
pub(crate) struct Embedded {
    tree: sled::Tree,
    blob_root: PathBuf,
    key_files: KeyFilesStore,
    gates: Arc<Gates>,
    dir_syncs: Mutex<HashMap<AccountId, Arc<GroupSync>>>,
    logged: Arc<Logged>,
    checkpoints: Option<std::thread::JoinHandle<()>>,
}

/// What commits and checkpoints share: sled, the write-ahead log, the
/// commit lock under which every change is checked and logged, and the
/// queue of logged changes waiting for their fdatasync before they are
/// applied to sled.
struct Logged {
    db: sled::Db,
    tree: sled::Tree,
    wal: Wal,
    /// Held while a change is checked and logged (and by a backup's
    /// snapshot and the start of a checkpoint): the log's order.
    commit: Mutex<()>,
    /// Logged changes not yet applied to sled, in log order. Locked while
    /// a committer resolves its change against sled plus this queue, and
    /// while changes are applied (so neither sees the other half-done).
    queue: Mutex<VecDeque<Queued>>,
    /// Readers of the tree hold it shared; applying a change holds it
    /// exclusively, so no reader sees half of one.
    view: RwLock<()>,
    /// Set at close: the checkpoint thread ends.
    stop: Mutex<bool>,
    /// Wakes the checkpoint thread (close, or the log file grew large).
    kick: Condvar,
}

/// A logged change waiting for the fdatasync that covers it.
struct Queued {
    /// The log position its record ends at.
    end: u64,
    ops: Vec<Op>,
}

/// The newest queued value of `key`: `Some(None)` if queued for removal,
/// `None` if no queued change touches it (sled has its value).
fn queued<'q>(queue: &'q VecDeque<Queued>, key: &[u8]) -> Option<Option<&'q [u8]>> {
    queue
        .iter()
        .rev()
        .flat_map(|q| q.ops.iter().rev())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_deref())
}

impl Logged {
    /// Logs `ops` as one record and queues them; returns the position the
    /// record ends at. The caller holds the commit lock and the queue, so
    /// queue order is log order. Nothing reaches sled until the record is
    /// durable ([`Logged::apply_durable`]).
    fn log_locked(&self, queue: &mut VecDeque<Queued>, ops: Vec<Op>) -> Result<u64> {
        let record = wal::encode(&ops);
        let (mark, large) = self.wal.append(&record)?;
        let end = mark.start() + record.len() as u64;
        queue.push_back(Queued { end, ops });
        if large {
            self.kick.notify_one();
        }
        Ok(end)
    }

    /// Applies every queued change whose record is durable, in log order,
    /// with single-key writes while readers are held off. Whoever comes
    /// first applies the records of everyone a shared fdatasync covered.
    fn apply_durable(&self) -> Result<()> {
        let mut queue = self.queue.lock();
        let durable = self.wal.durable();
        if queue.front().is_none_or(|q| q.end > durable) {
            return Ok(());
        }
        let _view = self.view.write();
        while queue.front().is_some_and(|q| q.end <= durable) {
            let Some(q) = queue.pop_front() else { break };
            #[cfg(feature = "crash-hooks")]
            let mut left = q.ops.len();
            for (k, v) in q.ops {
                let done = match v {
                    Some(v) => self.tree.insert(k, v).map(|_| ()),
                    None => self.tree.remove(k).map(|_| ()),
                };
                if let Err(e) = done {
                    // Memory now holds half a change: stop acknowledging;
                    // the log completes it at the next start.
                    self.wal.fail();
                    return Err(e.into());
                }
                #[cfg(feature = "crash-hooks")]
                crate::crash_hooks::applied_one(&mut left, || self.db.flush().map(drop));
            }
        }
        Ok(())
    }

    /// Makes sled hold every logged change, then drops the log files that
    /// held them (see `wal.rs`).
    fn checkpoint(&self) -> Result<()> {
        let next = {
            let _g = self.commit.lock();
            if !self.wal.has_records() {
                return Ok(());
            }
            self.wal.rotate()?
        };
        // The rotation fdatasynced every record before it: applied now,
        // then covered by the flush.
        self.apply_durable()?;
        self.db.flush()?;
        self.wal.remove_before(next)
    }
}

fn batch_of(ops: Vec<Op>) -> sled::Batch {
    let mut batch = sled::Batch::default();
    for (k, v) in ops {
        match v {
            Some(v) => batch.insert(k, v),
            None => batch.remove(k),
        }
    }
    batch
}

/// Tests only (`testing::pause_checkpoints`): the checkpoint thread skips
/// its rounds while set.
pub(crate) static PAUSE_CHECKPOINTS: AtomicBool = AtomicBool::new(false);

/// The checkpoint thread: about once a second while the log holds
/// records, at once when [`Logged::log_locked`] says the file is large.
fn checkpoint_loop(logged: Arc<Logged>) {
    let mut stop = logged.stop.lock();
    while !*stop {
        logged.kick.wait_for(&mut stop, Duration::from_secs(1));
        if *stop {
            break;
        }
        if PAUSE_CHECKPOINTS.load(Ordering::SeqCst) {
            continue;
        }
        MutexGuard::unlocked(&mut stop, || {
            if let Err(e) = logged.checkpoint() {
                tracing::warn!(error = %e, "store checkpoint failed; the write-ahead log keeps the changes");
            }
        });
    }
}

impl Embedded {
    /// Opens the sled database and blob folder under `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Embedded> {
        let db_path = dir.join("db");
        let db = open_sled(&db_path).map_err(|e| StoreError::DataDir {
            path: db_path.clone(),
            message: format!("cannot open the metadata database: {e}"),
        })?;
        let tree = db.open_tree(crate::codec::TREE)?;
        let (wal, replayed) = Wal::recover(
            dir,
            &mut |ops| Ok(tree.apply_batch(batch_of(ops))?),
            &mut || Ok(db.flush().map(|_| ())?),
        )?;
        if replayed > 0 {
            tracing::info!(records = replayed, "replayed the store's write-ahead log");
        }
        let blob_root = dir.join("blobs");
        sealpost_durable::create_dir(&blob_root)?;
        // sled's lock on `db` is ours now: no other process writes here, so
        // a temporary name is what a write cut short (SIGKILL, power loss)
        // left behind, up to a whole streamed message.
        let swept = sweep_temporary(&blob_root)?;
        if swept.files > 0 {
            tracing::info!(
                files = swept.files,
                bytes = swept.bytes,
                "removed the temporary files of blob writes cut short"
            );
        }
        let gates = Arc::new(Gates::default());
        let logged = Arc::new(Logged {
            db,
            tree: tree.clone(),
            wal,
            commit: Mutex::new(()),
            queue: Mutex::new(VecDeque::new()),
            view: RwLock::new(()),
            stop: Mutex::new(false),
            kick: Condvar::new(),
        });
        let checkpoints = {
            let logged = logged.clone();
            std::thread::Builder::new()
                .name("store-checkpoint".into())
                .spawn(move || checkpoint_loop(logged))?
        };
        Ok(Embedded {
            tree,
            blob_root,
            key_files: KeyFilesStore {
                files: crate::keyfile::KeyFiles::open(dir)?,
                gates: gates.clone(),
            },
            gates,
            dir_syncs: Mutex::new(HashMap::new()),
            logged,
            checkpoints: Some(checkpoints),
        })
    }

    /// Unlinks a blob no row refers to, or puts the unlink off while a
    /// backup holds its snapshot (`crate::backup`). The check and the
    /// unlink are one step under the lock, so no unlink slips past a
    /// snapshot that has just listed the file.
    fn remove_blob(&self, account: AccountId, id: BlobId) {
        let mut deferred = self.gates.deferred.lock();
        match deferred.as_mut() {
            Some(later) => later.push((account, id)),
            None => {
                if let Err(e) = blob::remove(&self.blob_root, account, id) {
                    tracing::warn!(error = %e, "could not remove a blob; it is unreferenced");
                }
            }
        }
    }

    fn dir_sync(&self, account: AccountId) -> Arc<GroupSync> {
        self.dir_syncs.lock().entry(account).or_default().clone()
    }

    fn read_now(&self, reads: Vec<Read>) -> Result<Vec<Fetched>> {
        let mut out = Vec::with_capacity(reads.len());
        let _view = self.logged.view.read();
        for r in reads {
            out.push(match r {
                Read::Get { key, .. } => Fetched::Value(self.tree.get(key)?.map(|v| v.to_vec())),
                Read::Scan { from, to } => {
                    let mut rows = Vec::new();
                    for kv in self.tree.range(from..to) {
                        let (k, v) = kv?;
                        rows.push((k.to_vec(), v.to_vec()));
                    }
                    Fetched::Rows(rows)
                }
            });
        }
        Ok(out)
    }
}

struct EmbeddedTxn<'a> {
    backend: &'a Embedded,
    /// Blob files this transaction wrote, removed if it is dropped uncommitted.
    written: Vec<(AccountId, BlobId)>,
    linked: Vec<AccountId>,
    /// Blob files to unlink once the commit is durable.
    doomed: Vec<(AccountId, BlobId)>,
}

impl Txn for EmbeddedTxn<'_> {
    fn read(&mut self, reads: Vec<Read>) -> Result<Vec<Fetched>> {
        self.backend.read_now(reads)
    }

    fn put_blob(&mut self, account: AccountId, id: BlobId, sealed: &[u8]) -> Result<()> {
        let sync = self.backend.dir_sync(account);
        blob::write(&self.backend.blob_root, account, id, sealed, &sync)?;
        self.written.push((account, id));
        Ok(())
    }

    fn put_blob_sink(
        &mut self,
        account: AccountId,
        id: BlobId,
        sink: Box<dyn BlobSink>,
    ) -> Result<()> {
        // Our own sink (`blob_sink`) commits its file itself; another kind
        // hands its bytes back.
        let finished = sink.finish();
        self.written.push((account, id));
        match finished? {
            Some(sealed) => {
                self.written.pop();
                self.put_blob(account, id, &sealed)
            }
            None => Ok(()),
        }
    }

    fn copy_blob(&mut self, account: AccountId, from: BlobId, to: BlobId) -> Result<()> {
        blob::link(&self.backend.blob_root, account, from, to)?;
        self.written.push((account, to));
        if !self.linked.contains(&account) {
            self.linked.push(account);
        }
        Ok(())
    }

    fn delete_blobs(&mut self, account: AccountId, ids: &[BlobId]) {
        self.doomed.extend(ids.iter().map(|id| (account, *id)));
    }

    fn commit(mut self: Box<Self>, writes: Writes) -> Result<()> {
        let b = self.backend;
        // Hard links are durable once their folder is.
        for account in std::mem::take(&mut self.linked) {
            let sync = b.dir_sync(account);
            blob::sync_account_dir(&b.blob_root, account, &sync)?;
        }
        if !writes.is_empty() {
            let end = {
                let _g = b.logged.commit.lock();
                // Resolved against sled plus the changes logged before
                // this one and not yet applied.
                let mut queue = b.logged.queue.lock();
                for (k, _) in &writes.creates {
                    let exists = match queued(&queue, k) {
                        Some(v) => v.is_some(),
                        None => b.tree.contains_key(k)?,
                    };
                    if exists {
                        return Err(StoreError::Conflict);
                    }
                }
                // Ranges resolved to their keys now: the log holds plain
                // puts and removes, replayed without reading. (A key
                // removed twice is harmless.)
                let mut ops: Vec<Op> = Vec::with_capacity(
                    writes.deletes.len() + writes.puts.len() + writes.creates.len(),
                );
                for (from, to) in &writes.delete_ranges {
                    for kv in b.tree.range(from.clone()..to.clone()) {
                        ops.push((kv?.0.to_vec(), None));
                    }
                    for q in queue.iter() {
                        for (k, _) in &q.ops {
                            if k >= from && k < to {
                                ops.push((k.clone(), None));
                            }
                        }
                    }
                }
                ops.extend(writes.deletes.into_iter().map(|k| (k, None)));
                ops.extend(
                    (writes.puts.into_iter().chain(writes.creates)).map(|(k, v)| (k, Some(v))),
                );
                b.logged.log_locked(&mut queue, ops)?
            };
            // Write-ahead: the record is on disk before any of it reaches
            // sled, which may write its buffers whenever it likes.
            b.logged.wal.sync_to(end)?;
            #[cfg(feature = "crash-hooks")]
            crate::crash_hooks::at(crate::crash_hooks::Point::Synced, || ());
            b.logged.apply_durable()?;
        }
        // Logged: the blobs now belong to durable rows. A transaction
        // that wrote nothing read only applied rows, which are durable.
        self.written.clear();
        for (account, id) in std::mem::take(&mut self.doomed) {
            b.remove_blob(account, id);
        }
        Ok(())
    }
}

impl Drop for Embedded {
    /// Clean close: the checkpoint thread ends, and a last checkpoint
    /// leaves sled holding everything (the log files empty).
    fn drop(&mut self) {
        *self.logged.stop.lock() = true;
        self.logged.kick.notify_all();
        if let Some(t) = self.checkpoints.take() {
            let _ = t.join();
        }
        if let Err(e) = self.logged.checkpoint() {
            tracing::warn!(error = %e, "last store checkpoint failed; the write-ahead log is replayed at the next start");
        }
    }
}

/// A blob written straight to its temporary file ([`Backend::blob_sink`]).
struct FileSink {
    staged: sealpost_durable::Staged,
    dir_sync: Arc<GroupSync>,
}

impl BlobSink for FileSink {
    fn write(&mut self, sealed: &[u8]) -> Result<()> {
        Ok(self.staged.write_all(sealed)?)
    }
    fn finish(self: Box<Self>) -> Result<Option<Vec<u8>>> {
        blob::commit_staged(self.staged, &self.dir_sync)?;
        Ok(None)
    }
}

impl Drop for EmbeddedTxn<'_> {
    fn drop(&mut self) {
        for (account, id) in self.written.drain(..) {
            self.backend.remove_blob(account, id);
        }
    }
}

impl Backend for Embedded {
    fn name(&self) -> &'static str {
        "embedded"
    }

    fn shared(&self) -> bool {
        false
    }

    fn begin(&self) -> Result<Box<dyn Txn + '_>> {
        Ok(Box::new(EmbeddedTxn {
            backend: self,
            written: Vec::new(),
            linked: Vec::new(),
            doomed: Vec::new(),
        }))
    }

    fn read(&self, reads: Vec<Read>) -> Result<Vec<Fetched>> {
        self.read_now(reads)
    }

    fn next_counter(&self, name: &[u8], floor: u64) -> Result<u64> {
        let _g = self.logged.commit.lock();
        let mut queue = self.logged.queue.lock();
        let mut key = vec![table::META];
        key.extend_from_slice(name);
        let parse = |v: &[u8]| v.try_into().ok().map(u64::from_be_bytes);
        let cur = match queued(&queue, &key) {
            Some(v) => v.and_then(parse),
            None => self.tree.get(&key)?.and_then(|v| parse(&v)),
        }
        .unwrap_or(0);
        let next = (cur + 1).max(floor);
        self.logged
            .log_locked(&mut queue, vec![(key, Some(next.to_be_bytes().to_vec()))])?;
        // Synced and applied with the commit of the transaction that uses
        // it (or any later one); if none comes, a crash may hand the value
        // out again, but nothing durable ever referred to it.
        Ok(next)
    }

    fn blob_sink(&self, account: AccountId, id: BlobId) -> Result<Box<dyn BlobSink>> {
        Ok(Box::new(FileSink {
            staged: blob::stage(&self.blob_root, account, id)?,
            dir_sync: self.dir_sync(account),
        }))
    }

    fn read_blob(&self, account: AccountId, id: BlobId) -> Result<Option<Vec<u8>>> {
        match blob::read(&self.blob_root, account, id) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn purge_blobs(&self, account: AccountId) -> Result<()> {
        // Zeroing blob files a backup is copying would copy zeros.
        let _no_backup = self.gates.purges.read();
        let dir = blob::account_dir(&self.blob_root, account);
        scrub_dir(&dir)?;
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        blob::sync_dir(&self.blob_root)?;
        Ok(())
    }

    fn count_blobs(&self, account: AccountId) -> Result<u64> {
        match std::fs::read_dir(blob::account_dir(&self.blob_root, account)) {
            Ok(entries) => Ok(entries
                .filter_map(|e| e.ok())
                .filter(|e| !e.file_name().to_string_lossy().starts_with(".tmp-"))
                .count() as u64),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    fn keys(&self) -> &dyn KeyStore {
        &self.key_files
    }

    fn backup_snapshot(
        &self,
        rows: &mut crate::backup::RowSink<'_>,
    ) -> Result<Option<BackupHold<'_>>> {
        // Purges wait for the whole backup; unlinks are put off from here.
        let purges = self.gates.purges.write();
        *self.gates.deferred.lock() = Some(Vec::new());
        let release = Hold {
            backend: self,
            _purges: purges,
        };
        // One point in time: no commit, counter or key-file change meanwhile.
        // The rows come from sled's in-memory view, which holds every
        // applied change: the write-ahead log is not part of a backup.
        let keys = self.gates.keys.write();
        let commit = self.logged.commit.lock();
        // Every logged change made durable and applied: none is pending
        // while the commit lock is held.
        self.logged.wal.sync()?;
        self.logged.apply_durable()?;
        let view = self.logged.view.read();
        for kv in self.tree.iter() {
            let (k, v) = kv?;
            rows(&k, &v)?;
        }
        let blobs = list_blobs(&self.blob_root)?;
        let key_files = self.key_files.files.read_all()?;
        drop((view, commit, keys));
        Ok(Some(BackupHold {
            blobs,
            key_files,
            blob_root: self.blob_root.clone(),
            _release: Box::new(release),
        }))
    }

    fn notify(&self, _notice: Notice) {}

    fn listen(&self, _deliver: Box<dyn Fn(Notice) + Send + Sync>) {}

    fn checkpoint(&self) -> Result<()> {
        self.logged.checkpoint()
    }
}

/// What a backup holds back (`crate::backup`).
#[derive(Default)]
struct Gates {
    /// Written by a backup for its whole length: purges (zeroing blob
    /// files, shredding keys) take it for reading and wait.
    purges: RwLock<()>,
    /// Written while a backup reads the key files: key-file changes wait.
    keys: RwLock<()>,
    /// Blob unlinks put off while a backup holds its snapshot (`Some`).
    deferred: Mutex<Option<Vec<(AccountId, BlobId)>>>,
}

/// A backup's hold on the embedded store: dropped, it performs the
/// unlinks it put off, then lets purges run.
struct Hold<'a> {
    backend: &'a Embedded,
    _purges: RwLockWriteGuard<'a, ()>,
}

impl Release for Hold<'_> {}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        let later = self
            .backend
            .gates
            .deferred
            .lock()
            .take()
            .unwrap_or_default();
        for (account, id) in later {
            if let Err(e) = blob::remove(&self.backend.blob_root, account, id) {
                tracing::warn!(error = %e, "could not remove a blob; it is unreferenced");
            }
        }
    }
}

/// Opens sled at `path`. Its file lock can outlive a dropped `Db` for a
/// moment (sled's own I/O threads let go of it last, and on a loaded
/// machine they may not run for a while), so a reopen in the same process
/// right after a close (restore, tests) waits for it up to 10 s. Another
/// process is refused before this by data_dir's own lock, which
/// `Store::open` takes first (`engine.rs`, 2 s), so the long wait only
/// delays a case that is an error anyway (sled locked with data_dir's
/// lock free).
fn open_sled(path: &Path) -> sled::Result<sled::Db> {
    let config = sled::Config::new()
        .path(path)
        .mode(sled::Mode::HighThroughput)
        // Flushed by the checkpoints instead (`Logged::checkpoint`).
        .flush_every_ms(None);
    let mut tries = 0;
    loop {
        match config.open() {
            Err(sled::Error::Io(e)) if sled_lock_held(&e) && tries < 200 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// Whether sled refused to open because its file lock is held. sled 0.34
/// wraps the lock's `WouldBlock` in an error of kind `Other` that only
/// says so in its text ("could not acquire lock on ..."), so the kind
/// alone never matches.
fn sled_lock_held(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("could not acquire lock")
}

/// Fills the metadata database of a new store in `dir` (restore).
pub(crate) fn restore_rows(
    dir: &Path,
    rows: &mut dyn Iterator<Item = std::io::Result<(Vec<u8>, Vec<u8>)>>,
) -> Result<u64> {
    let backend = Embedded::open(dir)?;
    if backend.tree.iter().next().is_some() {
        return Err(StoreError::DataDir {
            path: dir.join("db"),
            message: "holds a metadata database already; restore needs an empty data_dir".into(),
        });
    }
    let mut count = 0u64;
    let mut batch = sled::Batch::default();
    for row in rows {
        let (k, v) = row?;
        batch.insert(k, v);
        count += 1;
        if count.is_multiple_of(10_000) {
            backend.tree.apply_batch(std::mem::take(&mut batch))?;
        }
    }
    backend.tree.apply_batch(batch)?;
    // Not through the log: the store is not in use yet, and this flush
    // makes every row durable before restore reports success.
    backend.logged.db.flush()?;
    Ok(count)
}

struct KeyFilesStore {
    files: crate::keyfile::KeyFiles,
    gates: Arc<Gates>,
}

impl KeyStore for KeyFilesStore {
    fn copies(&self, id: AccountId) -> Result<Vec<Vec<u8>>> {
        Ok(self.files.copies(id)?)
    }
    fn write(&self, id: AccountId, wrapped: &[u8]) -> Result<()> {
        // Not while a backup reads the key files (a half-zeroed old key).
        let _g = self.gates.keys.read();
        Ok(self.files.write(id, wrapped)?)
    }
    fn shred(&self, id: AccountId) -> Result<()> {
        let _p = self.gates.purges.read();
        let _g = self.gates.keys.read();
        Ok(self.files.shred(id)?)
    }
    fn exists(&self, id: AccountId) -> Result<bool> {
        Ok(self.files.exists(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Db reopened at once in the same process (restore, tests) waits
    /// for sled's lock instead of failing, and the error sled gives while
    /// another holder keeps it is recognised as the lock (sled 0.34 wraps
    /// it as `Other`).
    #[test]
    fn sled_lock_is_recognised_and_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let held = open_sled(&path).unwrap();
        let e = match sled::Config::new().path(&path).open() {
            Err(sled::Error::Io(e)) => e,
            other => panic!("sled opened twice: {:?}", other.map(|_| ())),
        };
        assert!(sled_lock_held(&e), "{e}");
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(held);
        });
        open_sled(&path).expect("waited for the lock");
        release.join().unwrap();
    }
}
