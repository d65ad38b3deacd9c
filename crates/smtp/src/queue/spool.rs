//! The queue's files: one sealed file per message under `data_dir/queue/`.
//!
//! A file is `seal_system(len:u32be ‖ entry-json ‖ message)`: the envelope,
//! retry state and message travel together, so a file is either wholly the
//! old state or wholly the new one. Writes go through the shared durable
//! helper (a temporary `.ID.queue.….tmp`, 0600, fsynced, renamed to
//! `ID.queue`, the directory fsynced): after a crash a file
//! is there whole or not at all, and a leftover `.tmp` (never acknowledged)
//! is removed on open. Nothing under the queue is plaintext.
//!
//! # Several nodes
//!
//! When the store is shared (PostgreSQL), the same sealed bytes go to the
//! database's queue table instead ([`sealpost_store::SharedQueue`]), so
//! every node sees every entry, and a delivery pass *claims* the due
//! entries it works ([`Spool::pass`]): each entry is worked by exactly one
//! node at a time, the claim lasts while the node renews it, and a node
//! killed mid-delivery leaves its entries to the others once its claims run
//! out (`[store] lease_secs`). The row carries the entry's next due time
//! (the next attempt or the delay warning, whichever is first) so a claim
//! picks only entries with work to do. Embedded, nothing changes: files.
//!
//! # Who may change an entry
//!
//! A claim says which node *attempts* an entry, not who may write it: the
//! operator's `queue hold`/`release`/`delete`/`bounce` (through any node's
//! admin socket, or the CLI) read, change and write the same row. Without
//! more, an operator's bounce could land while another node's attempt is
//! handing the message over (delivered *and* bounced), and a hold written
//! between an attempt's read and its result write would be overwritten by
//! that result (or the result by the hold's stale copy: a delivered
//! recipient pending again). So every change to an entry happens under
//! its *work lock* ([`Spool::lock`]): the store's lease `queue/ID`, one
//! holder across every node (in-process embedded), taken by a delivery
//! attempt from before it reads the entry until its result is written,
//! and by each operator action around its read-change-write. The two
//! never overlap: the attempt that holds the lock finishes and the
//! operator's action waits for it (a few seconds at most, then it is
//! refused with [`QueueError::Busy`], nothing changed); an attempt that
//! finds the lock taken skips the entry until the next pass.

use super::{QueueEntry, QueueError};
use sealpost_store::{SharedQueue, Store};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Entries one node claims in one pass at most.
const PASS_LIMIT: i64 = 100;

/// The queue directory (or the shared table) and the key that seals it.
#[derive(Clone)]
pub(crate) struct Spool {
    dir: PathBuf,
    store: Store,
    /// The database's queue when the store is shared (see the module docs).
    shared: Option<SharedQueue>,
    /// `smtp.delay_warning_secs`, for an entry's due time.
    delay_warning_secs: u64,
    /// Orders [`Spool::update`] against [`Spool::remove`]: an entry removed
    /// while an attempt was in flight (a purge) is not written back after it.
    files: Arc<Mutex<()>>,
}

impl Spool {
    /// Opens (creating) `dir`, removing unfinished temporary files.
    pub(crate) fn open(
        dir: PathBuf,
        store: Store,
        delay_warning_secs: u64,
    ) -> Result<Spool, QueueError> {
        if let Some(shared) = store.shared_queue() {
            return Ok(Spool {
                dir,
                store,
                shared: Some(shared),
                delay_warning_secs,
                files: Arc::new(Mutex::new(())),
            });
        }
        sealpost_durable::create_dir(&dir).map_err(|e| QueueError::io(&dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o700));
        }
        for entry in fs::read_dir(&dir).map_err(|e| QueueError::io(&dir, e))? {
            let entry = entry.map_err(|e| QueueError::io(&dir, e))?;
            let name = entry.file_name();
            if name.to_string_lossy().ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(Spool {
            dir,
            store,
            shared: None,
            delay_warning_secs,
            files: Arc::new(Mutex::new(())),
        })
    }

    /// When an entry next needs work: its next attempt, or its delay
    /// warning if that comes first.
    fn due(&self, entry: &QueueEntry) -> i64 {
        if entry.held {
            // Never claimed until released.
            return i64::MAX;
        }
        let warn = super::runner::delay_warning_at(self.delay_warning_secs, entry);
        warn.map_or(entry.next_attempt, |w| w.min(entry.next_attempt))
    }

    fn sealed(&self, entry: &QueueEntry, message: &[u8]) -> Result<Vec<u8>, QueueError> {
        let meta = serde_json::to_vec(entry).map_err(|e| QueueError::Corrupt(e.to_string()))?;
        let mut plain = Vec::with_capacity(4 + meta.len() + message.len());
        plain.extend_from_slice(&(meta.len() as u32).to_be_bytes());
        plain.extend_from_slice(&meta);
        plain.extend_from_slice(message);
        Ok(self.store.seal_system(&plain))
    }

    /// The entries this pass works: embedded, every entry (the runner skips
    /// what is not due); shared, the due entries this node just claimed.
    pub(crate) fn pass(&self, now: i64) -> Result<Vec<String>, QueueError> {
        match &self.shared {
            Some(q) => q.claim(now, PASS_LIMIT).map_err(db),
            None => self.ids(),
        }
    }

    /// Takes the entry's work lock (see the module docs); `None` when an
    /// attempt or an operator's action holds it now. Dropping the lease
    /// gives it back.
    pub(crate) fn lock(&self, id: &str) -> Result<Option<sealpost_store::Lease>, QueueError> {
        self.store.try_lease(&format!("queue/{id}")).map_err(db)
    }

    /// Ends this node's claim on an entry (shared only).
    pub(crate) fn release(&self, id: &str) {
        if let Some(q) = &self.shared {
            q.release(id);
        }
    }

    /// When the next entry this pass did not see is due (shared only: the
    /// embedded pass sees every entry).
    pub(crate) fn next_due(&self) -> Result<Option<i64>, QueueError> {
        match &self.shared {
            Some(q) => q.next_due().map_err(db),
            None => Ok(None),
        }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.queue"))
    }

    /// Writes an entry and its message durably (tmp, fsync, rename, dir fsync).
    /// Shared: inserted and committed.
    pub(crate) fn write(&self, entry: &QueueEntry, message: &[u8]) -> Result<(), QueueError> {
        let sealed = self.sealed(entry, message)?;
        if let Some(q) = &self.shared {
            return q.insert(&entry.id, self.due(entry), &sealed).map_err(db);
        }
        let dest = self.path(&entry.id);
        sealpost_durable::write(&dest, &sealed).map_err(|e| QueueError::io(&dest, e))
    }

    /// Rewrites an entry that is still queued; one removed meanwhile (its
    /// account purged during a delivery attempt) stays removed.
    /// A hold the operator set meanwhile stays (see `control.rs`).
    pub(crate) fn update(&self, entry: &QueueEntry, message: &[u8]) -> Result<(), QueueError> {
        let _files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let held = match self.read(&entry.id) {
            Ok((stored, _)) => stored.held,
            // Removed meanwhile (a purge, the operator): stays removed.
            Err(QueueError::NotFound(_)) => return Ok(()),
            Err(_) => entry.held,
        };
        let kept;
        let entry = if held && !entry.held {
            kept = QueueEntry {
                held,
                ..entry.clone()
            };
            &kept
        } else {
            entry
        };
        if let Some(q) = &self.shared {
            let sealed = self.sealed(entry, message)?;
            return q
                .update(&entry.id, self.due(entry), &sealed)
                .map(|_| ())
                .map_err(db);
        }
        self.write(entry, message)
    }

    /// Reads an entry, lets `change` edit it, and writes it back, ordered
    /// against [`Spool::update`] and [`Spool::remove`] in this process
    /// (the operator's `queue hold`/`release` through the admin socket).
    pub(crate) fn modify<R>(
        &self,
        id: &str,
        change: impl FnOnce(&mut QueueEntry) -> Result<R, QueueError>,
    ) -> Result<R, QueueError> {
        let _files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let (mut entry, message) = self.read(id)?;
        let r = change(&mut entry)?;
        let sealed = self.sealed(&entry, &message)?;
        match &self.shared {
            Some(q) => match q.update(id, self.due(&entry), &sealed).map_err(db)? {
                true => Ok(r),
                false => Err(QueueError::NotFound(id.to_string())),
            },
            None => {
                let dest = self.path(id);
                sealpost_durable::write(&dest, &sealed).map_err(|e| QueueError::io(&dest, e))?;
                Ok(r)
            }
        }
    }

    /// Reads one entry and its message ([`QueueError::NotFound`] when gone).
    pub(crate) fn read(&self, id: &str) -> Result<(QueueEntry, Vec<u8>), QueueError> {
        let path = self.path(id);
        let sealed = match &self.shared {
            Some(q) => q
                .get(id)
                .map_err(db)?
                .ok_or_else(|| QueueError::NotFound(id.to_string()))?,
            None => fs::read(&path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => QueueError::NotFound(id.to_string()),
                _ => QueueError::io(&path, e),
            })?,
        };
        let plain = self
            .store
            .open_system(&sealed)
            .map_err(|e| QueueError::Corrupt(format!("{}: {e}", path.display())))?;
        if plain.len() < 4 {
            return Err(QueueError::Corrupt(format!(
                "{}: truncated",
                path.display()
            )));
        }
        let len = u32::from_be_bytes([plain[0], plain[1], plain[2], plain[3]]) as usize;
        if plain.len() < 4 + len {
            return Err(QueueError::Corrupt(format!(
                "{}: truncated",
                path.display()
            )));
        }
        let entry: QueueEntry = serde_json::from_slice(&plain[4..4 + len])
            .map_err(|e| QueueError::Corrupt(format!("{}: {e}", path.display())))?;
        Ok((entry, plain[4 + len..].to_vec()))
    }

    /// Removes an entry durably.
    pub(crate) fn remove(&self, id: &str) -> Result<(), QueueError> {
        if let Some(q) = &self.shared {
            return q.remove(id).map_err(db);
        }
        let _files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let path = self.path(id);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(QueueError::io(&path, e)),
        }
    }

    /// Ids of every entry, sorted.
    pub(crate) fn ids(&self) -> Result<Vec<String>, QueueError> {
        if let Some(q) = &self.shared {
            return q.ids().map_err(db);
        }
        let mut ids = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| QueueError::io(&self.dir, e))? {
            let entry = entry.map_err(|e| QueueError::io(&self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".queue")
                && !id.starts_with('.')
            {
                ids.push(id.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }
}

/// A database failure as the queue reports it (the database is named as
/// the place; the caller answers 451 4.3.0 and nothing is acknowledged).
fn db(e: sealpost_store::StoreError) -> QueueError {
    QueueError::Io {
        path: "store database".into(),
        message: e.to_string(),
    }
}

fn sync_dir(dir: &Path) -> Result<(), QueueError> {
    sealpost_durable::sync_dir(dir).map_err(|e| QueueError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use crate::queue::{NewMessage, NewRecipient};

    #[test]
    fn a_removed_entry_is_not_written_back_by_a_later_update() {
        // As when a purge removes an entry while a delivery attempt (or a
        // flush) holds a copy and writes its new state afterwards.
        let env = crate::tests::env::env();
        let queue = &env.services.queue;
        let id = queue
            .enqueue(
                NewMessage {
                    sender: "alice@example.org".into(),
                    recipients: vec![NewRecipient {
                        address: "x@elsewhere.example".into(),
                        orcpt: None,
                        notify: None,
                    }],
                    envid: None,
                    ret: None,
                    smtputf8: false,
                    requiretls: false,
                },
                b"Subject: x\r\n\r\nx\r\n",
            )
            .unwrap();
        let (mut entry, message) = queue.inner.spool.read(&id).unwrap();
        queue.remove(&id).unwrap();
        entry.attempts += 1;
        queue.inner.spool.update(&entry, &message).unwrap();
        assert!(queue.list().unwrap().iter().all(|e| e.id != id));
        assert_eq!(queue.flush_now().unwrap(), 0);
    }
}
