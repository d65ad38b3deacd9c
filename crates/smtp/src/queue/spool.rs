//! The queue's files: one sealed file per message under `data_dir/queue/`.
//!
//! A file is `seal_system(len:u32be ‖ entry-json ‖ message)`: the envelope,
//! retry state and message travel together, so a file is either wholly the
//! old state or wholly the new one. Writes go through the shared durable
//! helper (a temporary `.ID.queue.….tmp`, 0600, fsynced, renamed to
//! `ID.queue`, the directory fsynced): after a crash a file
//! is there whole or not at all, and a leftover `.tmp` (never acknowledged)
//! is removed on open. Nothing under the queue is plaintext.

use super::{QueueEntry, QueueError};
use sealpost_store::Store;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The queue directory and the key that seals it.
#[derive(Clone)]
pub(crate) struct Spool {
    dir: PathBuf,
    store: Store,
    /// Orders [`Spool::update`] against [`Spool::remove`]: an entry removed
    /// while an attempt was in flight (a purge) is not written back after it.
    files: Arc<Mutex<()>>,
}

impl Spool {
    /// Opens (creating) `dir`, removing unfinished temporary files.
    pub(crate) fn open(dir: PathBuf, store: Store) -> Result<Spool, QueueError> {
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
            files: Arc::new(Mutex::new(())),
        })
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.queue"))
    }

    /// Writes an entry and its message durably (tmp, fsync, rename, dir fsync).
    pub(crate) fn write(&self, entry: &QueueEntry, message: &[u8]) -> Result<(), QueueError> {
        let meta = serde_json::to_vec(entry).map_err(|e| QueueError::Corrupt(e.to_string()))?;
        let mut plain = Vec::with_capacity(4 + meta.len() + message.len());
        plain.extend_from_slice(&(meta.len() as u32).to_be_bytes());
        plain.extend_from_slice(&meta);
        plain.extend_from_slice(message);
        let sealed = self.store.seal_system(&plain);
        let dest = self.path(&entry.id);
        sealpost_durable::write(&dest, &sealed).map_err(|e| QueueError::io(&dest, e))
    }

    /// Rewrites an entry that is still queued; one removed meanwhile (its
    /// account purged during a delivery attempt) stays removed.
    pub(crate) fn update(&self, entry: &QueueEntry, message: &[u8]) -> Result<(), QueueError> {
        let _files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        if !self.path(&entry.id).exists() {
            return Ok(());
        }
        self.write(entry, message)
    }

    /// Reads one entry and its message.
    pub(crate) fn read(&self, id: &str) -> Result<(QueueEntry, Vec<u8>), QueueError> {
        let path = self.path(id);
        let sealed = fs::read(&path).map_err(|e| QueueError::io(&path, e))?;
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
