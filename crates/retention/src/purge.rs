//! Purge of a deleted account past its grace period: every byte of it, in
//! steps that can each be repeated, driven by a durable marker.
//!
//! # Steps
//!
//! 1. Count what will go (the store's messages, bytes and mailboxes, the
//!    account's outbound queue entries) and write the marker
//!    `data_dir/purging/<hex of address>.json` (0600, written atomically):
//!    from here on the purge is decided and any later pass finishes it,
//!    whatever its clock says.
//! 2. The store's purge ([`Store::purge_account_id`]): the restore-wrapped
//!    data key is destroyed first (crypto-shred), then rows, then blobs
//!    (zeroed, then unlinked), then the account row.
//! 3. The account's outbound queue entries (messages it sent that are still
//!    waiting for a next hop), through [`OutboundQueue`].
//! 4. The accounts-file entry saved at deletion (`data_dir/deleted/<hex>.toml`,
//!    which holds the password hash and aliases).
//! 5. The [`Event::AccountPurged`] record, fsynced, with the counts of step 1.
//! 6. The marker is removed.
//!
//! A pass killed anywhere (kill -9, power loss) leaves the account
//! unreadable: it was crypto-shredded at deletion already, and its login
//! and delivery stopped then. The next pass finds the marker and repeats
//! steps 2 to 6. A pass killed between steps 5 and 6 records the purge a
//! second time: an audit record at least once, never lost.
//!
//! # Test hook
//!
//! Debug builds only: with `SEALPOST_TEST_PAUSE_PURGE` set to a step name
//! (`key-destroyed`, `rows-removed`, `store-purged`), the purge stops after
//! that step, creates `data_dir/purge-paused` and waits until that file is
//! removed, so a test can look at the half-done state and kill the process.

use crate::RetentionError;
use sealpost_audit::{AuditLog, Event};
use sealpost_config::Config;
use sealpost_store::{AccountId, PurgeStep, Store};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The account's messages in the outbound queue, as the purge needs them.
/// The server implements it over the SMTP crate's queue.
pub trait OutboundQueue: Send + Sync {
    /// Ids of queued messages whose envelope sender is one of `addresses`
    /// (lower case; a `+tag` sub-address of one counts as it).
    fn queued_by(&self, addresses: &[String]) -> Result<Vec<String>, String>;
    /// Removes queued messages durably; an id that is gone already is fine.
    fn remove(&self, ids: &[String]) -> Result<(), String>;
}

/// The durable record of a purge in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Marker {
    pub version: u32,
    pub address: String,
    /// The store's id of the deleted account (pins it: see
    /// [`Store::purge_account_id`]).
    pub account_id: u64,
    pub messages: u64,
    pub bytes: u64,
    pub mailboxes: u64,
    /// Outbound queue entries to remove.
    pub queued: Vec<String>,
}

/// What one finished purge removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    /// The address.
    pub address: String,
    /// Messages.
    pub messages: u64,
    /// Message octets.
    pub bytes: u64,
    /// Mailboxes.
    pub mailboxes: u64,
    /// Outbound queue entries.
    pub queued: u64,
}

/// Hex of the address bytes: a file name that is never a path built from
/// the address.
fn hex_name(address: &str) -> String {
    address.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Where the accounts-file entry of a deleted account waits for restore or
/// purge: `data_dir/deleted/<hex of address>.toml`, 0600 (it holds the
/// password hash).
pub fn saved_entry_path(config: &Config, address: &str) -> PathBuf {
    config
        .server
        .data_dir
        .join("deleted")
        .join(format!("{}.toml", hex_name(address)))
}

fn marker_dir(config: &Config) -> PathBuf {
    config.server.data_dir.join("purging")
}

fn marker_path(config: &Config, address: &str) -> PathBuf {
    marker_dir(config).join(format!("{}.json", hex_name(address)))
}

/// The markers of purges in progress, by file name order.
pub(crate) fn pending_markers(config: &Config) -> Result<Vec<Marker>, RetentionError> {
    let dir = marker_dir(config);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RetentionError::io(&dir, e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| RetentionError::io(&dir, e))?.path();
        if path.extension().is_some_and(|e| e == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let bytes = std::fs::read(&path).map_err(|e| RetentionError::io(&path, e))?;
        match serde_json::from_slice::<Marker>(&bytes) {
            Ok(marker) => out.push(marker),
            // One damaged marker must not stop every other purge: the
            // account it names, if still in the store, is purged afresh.
            Err(e) => tracing::error!(
                marker = %path.display(),
                error = %e,
                "unreadable purge marker skipped; remove it once the purge is checked"
            ),
        }
    }
    Ok(out)
}

/// The aliases in a saved accounts-file entry (for the queue's senders).
fn saved_aliases(path: &Path) -> Vec<String> {
    #[derive(Deserialize)]
    struct Saved {
        #[serde(default)]
        account: Vec<SavedAccount>,
    }
    #[derive(Deserialize)]
    struct SavedAccount {
        #[serde(default)]
        aliases: Vec<String>,
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    toml::from_str::<Saved>(&text)
        .map(|s| {
            s.account
                .into_iter()
                .flat_map(|a| a.aliases)
                .map(|a| a.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `bytes` to `path` durably (the shared helper: temporary file 0600,
/// fsync, rename, folder fsync), the folder created 0700 if missing.
fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), RetentionError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    sealpost_durable::create_dir(dir).map_err(|e| RetentionError::io(dir, e))?;
    sealpost_durable::write(path, bytes).map_err(|e| RetentionError::io(path, e))
}

fn sync_dir(dir: &Path) -> Result<(), RetentionError> {
    sealpost_durable::sync_dir(dir).map_err(|e| RetentionError::io(dir, e))
}

/// Removes a file durably; a missing one is fine.
fn remove_durable(path: &Path) -> Result<(), RetentionError> {
    match std::fs::remove_file(path) {
        Ok(()) => sync_dir(path.parent().unwrap_or(Path::new("."))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(RetentionError::io(path, e)),
    }
}

/// The purge of deleted accounts, over one store, log and queue.
pub(crate) struct Purger<'a> {
    pub config: &'a Config,
    pub store: &'a Store,
    pub audit: &'a AuditLog,
    pub queue: Option<&'a dyn OutboundQueue>,
}

impl Purger<'_> {
    /// Step 1: counts what will go and writes the marker. Returns `None` if
    /// the address has no account (purged meanwhile).
    pub fn begin(&self, id: AccountId, address: &str) -> Result<Option<Marker>, RetentionError> {
        let Some(counts) = self.store.purge_preview_id(id)? else {
            return Ok(None);
        };
        let mut senders = vec![address.to_string()];
        senders.extend(saved_aliases(&saved_entry_path(self.config, address)));
        let queued = match self.queue {
            Some(q) => q.queued_by(&senders).map_err(RetentionError::Queue)?,
            None => Vec::new(),
        };
        let marker = Marker {
            version: 1,
            address: address.to_string(),
            account_id: id.0,
            messages: counts.messages,
            bytes: counts.bytes,
            mailboxes: counts.mailboxes,
            queued,
        };
        let mut bytes =
            serde_json::to_vec(&marker).map_err(|e| RetentionError::Marker(e.to_string()))?;
        bytes.push(b'\n');
        write_durable(&marker_path(self.config, address), &bytes)?;
        Ok(Some(marker))
    }

    /// Steps 2 to 6 for a marker (a new one, or one a killed pass left).
    pub fn finish(&self, marker: &Marker) -> Result<Purged, RetentionError> {
        let address = &marker.address;
        self.store
            .purge_account_id(address, AccountId(marker.account_id), &mut |step| {
                let name = match step {
                    PurgeStep::KeyDestroyed => "key-destroyed",
                    PurgeStep::RowsRemoved => "rows-removed",
                    PurgeStep::BlobsRemoved => "blobs-removed",
                };
                pause_point(self.config, name);
            })?;
        pause_point(self.config, "store-purged");
        if !marker.queued.is_empty() {
            let q = self.queue.ok_or_else(|| {
                RetentionError::Queue("the outbound queue is not available to this purge".into())
            })?;
            q.remove(&marker.queued).map_err(RetentionError::Queue)?;
        }
        remove_durable(&saved_entry_path(self.config, address))?;
        self.audit.record_durable(Event::AccountPurged {
            account: address.clone(),
            messages: marker.messages,
            bytes: marker.bytes,
            mailboxes: marker.mailboxes,
            queued: marker.queued.len() as u64,
        })?;
        remove_durable(&marker_path(self.config, address))?;
        // No address in the operational log: it outlives the purge (the
        // sealed audit record carries it as a redactable commitment).
        tracing::info!(
            account_id = marker.account_id,
            messages = marker.messages,
            bytes = marker.bytes,
            queued = marker.queued.len(),
            "purged deleted account"
        );
        Ok(Purged {
            address: address.clone(),
            messages: marker.messages,
            bytes: marker.bytes,
            mailboxes: marker.mailboxes,
            queued: marker.queued.len() as u64,
        })
    }
}

/// The test hook (see the module docs); nothing in release builds.
fn pause_point(config: &Config, step: &str) {
    if !cfg!(debug_assertions) {
        return;
    }
    if std::env::var("SEALPOST_TEST_PAUSE_PURGE").as_deref() != Ok(step) {
        return;
    }
    let flag = config.server.data_dir.join("purge-paused");
    if std::fs::write(&flag, step).is_err() {
        return;
    }
    tracing::warn!(step, flag = %flag.display(), "purge paused by SEALPOST_TEST_PAUSE_PURGE");
    while flag.exists() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
