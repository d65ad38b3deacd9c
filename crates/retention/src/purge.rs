//! Purge of a deleted account past its grace period: every byte of it, in
//! steps that can each be repeated, driven by a durable marker.
//!
//! # Steps
//!
//! 1. Count what will go (the store's messages, bytes and mailboxes, the
//!    account's outbound queue entries) and write the marker
//!    `data_dir/purging/<account id>.marker` (0600, written atomically;
//!    its content, address and aliases included, sealed under a key derived
//!    from the master key: see [`FileKey`]): from here on the purge is
//!    decided and any later pass finishes it, whatever its clock says.
//! 2. The store's purge ([`Store::purge_account_id`]): the restore-wrapped
//!    data key is destroyed first (crypto-shred), then rows, then blobs
//!    (zeroed, then unlinked), then the account row.
//! 3. The account's outbound queue entries (messages it sent that are still
//!    waiting for a next hop), through [`OutboundQueue`].
//! 4. The accounts-file entry saved at deletion ([`SavedEntries`]: password
//!    hash, aliases), zeroed and removed.
//! 5. The [`Event::AccountPurged`] record, fsynced, with the counts of step 1.
//! 6. Unless `[retention] keep_audit_personal_data_after_purge` is set (a
//!    legal hold), the personal fields of every audit record naming the
//!    account (its address or an alias, the purge record included) are
//!    erased ([`AuditLog::erase_personal_data`]): seals stay valid, the
//!    months they were in get new keys. The same erasure is requested
//!    from every other node through the shared store ([`crate::erasures`]).
//! 7. The marker is zeroed and removed.
//!
//! A pass killed anywhere (kill -9, power loss) leaves the account
//! unreadable: it was crypto-shredded at deletion already, and its login
//! and delivery stopped then. The next pass finds the marker and repeats
//! steps 2 to 7. A pass killed between steps 5 and 7 records the purge a
//! second time: an audit record at least once, never lost.
//!
//! Markers of the previous format (`<hex of address>.json`, plaintext) are
//! still finished.
//!
//! # Test hook
//!
//! Debug builds only: with `SEALPOST_TEST_PAUSE_PURGE` set to a step name
//! (`key-destroyed`, `rows-removed`, `store-purged`), the purge stops after
//! that step, creates `data_dir/purge-paused` and waits until that file is
//! removed, so a test can look at the half-done state and kill the process.

use crate::RetentionError;
use crate::files::{scrub_remove, write_durable};
use crate::saved::{SavedEntries, hex_name};
use sealpost_audit::{AuditLog, Event};
use sealpost_config::Config;
use sealpost_store::{AccountId, FileKey, PurgeStep, Store};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The account's messages in the outbound queue, as the purge needs them.
/// The server implements it over the SMTP crate's queue.
pub trait OutboundQueue: Send + Sync {
    /// Ids of queued messages whose envelope sender is one of `addresses`
    /// (lower case; a `+tag` sub-address of one counts as it).
    fn queued_by(&self, addresses: &[String]) -> Result<Vec<String>, String>;
    /// Removes queued messages durably; an id that is gone already is fine.
    fn remove(&self, ids: &[String]) -> Result<(), String>;
}

/// The durable record of a purge in progress (sealed on disk).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Marker {
    pub version: u32,
    /// The address (empty when the store could no longer show it).
    pub address: String,
    /// Its aliases, from the saved entry (version 2).
    #[serde(default)]
    pub aliases: Vec<String>,
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
    /// Audit records whose personal fields were erased (on this node).
    pub erased_records: u64,
    /// Which known nodes erased them from their own audit logs so far
    /// (`None` under a legal hold: nothing erased anywhere).
    pub erasure: Option<sealpost_store::ErasureStatus>,
}

fn marker_dir(config: &Config) -> PathBuf {
    config.server.data_dir.join("purging")
}

fn marker_path(config: &Config, id: u64) -> PathBuf {
    marker_dir(config).join(format!("{id:016x}.marker"))
}

fn legacy_marker_path(config: &Config, address: &str) -> PathBuf {
    marker_dir(config).join(format!("{}.json", hex_name(address)))
}

fn marker_key(config: &Config) -> Result<FileKey, RetentionError> {
    Ok(FileKey::load(&config.server.master_key, "purge-marker")?)
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
        if path
            .extension()
            .is_some_and(|e| e == "marker" || e == "json")
        {
            paths.push(path);
        }
    }
    paths.sort();
    let key = if paths.is_empty() {
        None
    } else {
        Some(marker_key(config)?)
    };
    let mut out = Vec::new();
    for path in paths {
        let bytes = std::fs::read(&path).map_err(|e| RetentionError::io(&path, e))?;
        let plain = if path.extension().is_some_and(|e| e == "marker") {
            key.as_ref()
                .and_then(|k| k.open(&bytes).ok())
                .ok_or_else(|| "cannot be opened with the master key".to_string())
        } else {
            Ok(bytes)
        };
        match plain.and_then(|p| serde_json::from_slice::<Marker>(&p).map_err(|e| e.to_string())) {
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

/// The purge of deleted accounts, over one store, log and queue.
pub(crate) struct Purger<'a> {
    pub config: &'a Config,
    pub store: &'a Store,
    pub audit: &'a AuditLog,
    pub queue: Option<&'a dyn OutboundQueue>,
}

impl Purger<'_> {
    /// Step 1: counts what will go and writes the marker. Returns `None` if
    /// the account is not in the store (purged meanwhile).
    pub fn begin(&self, id: AccountId, address: &str) -> Result<Option<Marker>, RetentionError> {
        let Some(counts) = self.store.purge_preview_id(id)? else {
            return Ok(None);
        };
        let aliases = if address.is_empty() {
            Vec::new()
        } else {
            SavedEntries::open(self.config)?.aliases(address)
        };
        let mut senders: Vec<String> = Vec::new();
        if !address.is_empty() {
            senders.push(address.to_string());
        }
        senders.extend(aliases.iter().cloned());
        let queued = match self.queue {
            Some(q) if !senders.is_empty() => {
                q.queued_by(&senders).map_err(RetentionError::Queue)?
            }
            _ => Vec::new(),
        };
        let marker = Marker {
            version: 2,
            address: address.to_string(),
            aliases,
            account_id: id.0,
            messages: counts.messages,
            bytes: counts.bytes,
            mailboxes: counts.mailboxes,
            queued,
        };
        let plain =
            serde_json::to_vec(&marker).map_err(|e| RetentionError::Marker(e.to_string()))?;
        write_durable(
            &marker_path(self.config, id.0),
            &marker_key(self.config)?.seal(&plain),
        )?;
        Ok(Some(marker))
    }

    /// Steps 2 to 7 for a marker (a new one, or one a killed pass left).
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
        if !address.is_empty() {
            SavedEntries::open(self.config)?.remove(address)?;
        }
        self.audit.record_durable(Event::AccountPurged {
            account: address.clone(),
            messages: marker.messages,
            bytes: marker.bytes,
            mailboxes: marker.mailboxes,
            queued: marker.queued.len() as u64,
        })?;
        let mut erased_records = 0;
        let mut erasure = None;
        if !self.config.retention.keep_audit_personal_data_after_purge && !address.is_empty() {
            let mut names = vec![address.clone()];
            names.extend(marker.aliases.iter().cloned());
            let (n, status) = crate::erasures::erase_everywhere(
                self.config,
                self.store,
                self.audit,
                AccountId(marker.account_id),
                &names,
            )?;
            erased_records = n;
            erasure = Some(status);
        }
        scrub_remove(&marker_path(self.config, marker.account_id))?;
        if !address.is_empty() {
            scrub_remove(&legacy_marker_path(self.config, address))?;
        }
        // No address in the operational log: it outlives the purge.
        tracing::info!(
            account_id = marker.account_id,
            messages = marker.messages,
            bytes = marker.bytes,
            queued = marker.queued.len(),
            erased_audit_records = erased_records,
            "purged deleted account"
        );
        Ok(Purged {
            address: address.clone(),
            messages: marker.messages,
            bytes: marker.bytes,
            mailboxes: marker.mailboxes,
            queued: marker.queued.len() as u64,
            erased_records,
            erasure,
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
