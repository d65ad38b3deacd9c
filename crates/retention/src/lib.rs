//! sealpost-retention: keeping personal data only as long as promised.
//!
//! - [`Retention::run_once`] is the retention worker's pass. In order, it
//!   finishes purges a killed pass left half done, purges every deleted
//!   account whose grace period is over (`[retention]
//!   deleted_account_grace_days`, at most 45; see [`purge`]), expunges old
//!   messages from Trash and Junk (`trash_days`, `junk_days`, by SAVEDATE),
//!   erases the personal fields of audit records older than
//!   `anonymize_after_months` ([`sealpost_audit::anonymize_before`]),
//!   deletes sealed audit segments older than `audit_log_months` behind a
//!   signed checkpoint ([`sealpost_audit::delete_segments_before`]), and
//!   records what it did in the audit log. `serve` runs it on a timer
//!   (`interval_secs`); `sealpost retention run --at T` runs it once as if at
//!   time T, so tests and operators can see what day 46 does.
//! - No time travel for destruction: the audit steps always run at the real
//!   time, whatever T says (a T in the future purges deleted accounts and
//!   expunges Trash early, but never anonymizes or deletes an audit record
//!   before the law's time; the audit crate refuses such a cutoff anyway).
//! - [`export`] writes a data-subject export (GDPR articles 15 and 20).
//! - [`report`] writes the register of processing (GDPR article 30), and
//!   [`dpia`] a data protection impact assessment to start from (article 35).
//!
//! Every step is idempotent: a pass interrupted at any point (kill -9) is
//! finished by the next one.
//!
//! With several nodes over one shared store, the store steps (purges and
//! Trash/Junk expunge) run on one node at a time: the pass takes the
//! store's `retention` lease ([`sealpost_store::Store::try_lease`], renewed
//! by the node's heartbeat, run out after `[store] lease_secs` if the node
//! dies) and skips them when another node holds it
//! ([`RunReport::store_steps_elsewhere`]). A lease rather than a
//! session-level `pg_advisory_lock`: the same mechanism as the POP3
//! maildrop and the queue, it does not pin a pooled connection for the
//! pass, and it survives a dropped connection without a second run starting
//! on another node while this one is still purging. The audit steps run on
//! every node, since each node keeps its own audit log.
//!
//! A month is a twelfth of the Gregorian year ([`MONTH`], 30.44 days); a
//! setting of 0 months turns that step off.

#![warn(missing_docs)]

pub mod dpia;
pub mod erasures;
pub mod export;
mod export_shared;
mod files;
pub mod purge;
pub mod report;
mod saved;

pub use purge::OutboundQueue;
pub use saved::SavedEntries;

use sealpost_audit::{AuditLog, Event};
use sealpost_config::Config;
use sealpost_store::{AccountState, SpecialUse, Store, StoreError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// Why a retention pass failed.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The audit log failed (purges are recorded durably).
    #[error("audit log: {0}")]
    Audit(#[from] sealpost_audit::AuditError),
    /// The outbound queue failed.
    #[error("outbound queue: {0}")]
    Queue(String),
    /// A purge marker is unreadable.
    #[error("purge marker {0}")]
    Marker(String),
    /// A file of the retention worker could not be written.
    #[error("{path}: {message}")]
    Io {
        /// Where.
        path: PathBuf,
        /// What.
        message: String,
    },
}

impl RetentionError {
    pub(crate) fn io(path: &Path, e: std::io::Error) -> RetentionError {
        RetentionError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Addresses purged.
    pub purged: Vec<String>,
    /// Messages removed with the purged accounts.
    pub purged_messages: u64,
    /// Bytes removed with the purged accounts.
    pub purged_bytes: u64,
    /// Outbound queue entries removed with the purged accounts.
    pub purged_queued: u64,
    /// Messages expunged from Trash and Junk.
    pub expunged_messages: u64,
    /// Audit records whose personal fields were erased.
    pub anonymized_records: u64,
    /// Sealed audit segments deleted.
    pub deleted_segments: u64,
    /// Audit records of purged accounts whose personal fields were erased.
    pub erased_audit_records: u64,
    /// Another node holds the store's retention lease: this pass did only
    /// this node's audit steps.
    pub store_steps_elsewhere: bool,
    /// Set when the pass ran as if at a future time: the audit steps ran at
    /// this real time instead (Unix seconds).
    pub audit_at_real_time: Option<i64>,
    /// This pass's purges that asked every node to erase the account's
    /// audit records (none under a legal hold).
    pub erasures_requested: u64,
    /// Audit records this node erased for purges other nodes ran.
    pub erased_for_other_nodes: u64,
    /// Erasure requests (this pass's purges and earlier ones) that some
    /// known node has not applied to its audit log yet.
    pub erasures_incomplete: Vec<sealpost_store::ErasureStatus>,
}

/// The retention worker.
#[derive(Clone)]
pub struct Retention {
    config: Arc<Config>,
    store: Store,
    audit: AuditLog,
    queue: Option<Arc<dyn OutboundQueue>>,
}

/// Seconds in a month as the retention settings count them: a twelfth of
/// the Gregorian year (30.436875 days), so "6 months" is the same span on
/// any date and a pass at `T` has one exact cutoff.
pub const MONTH: i64 = 2_629_746;

/// `now` minus `months` months ([`MONTH`]), in Unix seconds; `None` when
/// the setting is 0 (off).
pub fn months_before(now: i64, months: u32) -> Option<i64> {
    (months > 0).then(|| now.saturating_sub(i64::from(months) * MONTH))
}

impl Retention {
    /// A worker over this store and log. Without [`Retention::with_queue`]
    /// a purge cannot remove outbound queue entries (and fails if there are any).
    pub fn new(config: Arc<Config>, store: Store, audit: AuditLog) -> Retention {
        Retention {
            config,
            store,
            audit,
            queue: None,
        }
    }

    /// Gives purges the outbound queue.
    pub fn with_queue(mut self, queue: Arc<dyn OutboundQueue>) -> Retention {
        self.queue = Some(queue);
        self
    }

    /// When a deleted account becomes due for purge.
    pub fn purge_due(&self, deleted_at: i64) -> i64 {
        deleted_at + self.config.retention.deleted_account_grace_days as i64 * DAY
    }

    /// The audit log's folder.
    fn audit_dir(&self) -> PathBuf {
        self.config.server.data_dir.join("audit")
    }

    /// One pass, as if the time were `now` (Unix seconds). Passes in one
    /// process run one at a time (the timer's and `retention run`'s), so a
    /// purge is never finished twice at once; another process cannot open
    /// the store meanwhile.
    pub fn run_once(&self, now: i64) -> Result<RunReport, RetentionError> {
        static ONE_PASS: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = ONE_PASS.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = RunReport::default();
        let purger = purge::Purger {
            config: &self.config,
            store: &self.store,
            audit: &self.audit,
            queue: self.queue.as_deref(),
        };
        let add = |report: &mut RunReport, p: purge::Purged| {
            report.purged_messages += p.messages;
            report.purged_bytes += p.bytes;
            report.purged_queued += p.queued;
            report.erased_audit_records += p.erased_records;
            report.erasures_requested += u64::from(p.erasure.is_some());
            report.purged.push(p.address);
        };
        report.erased_for_other_nodes =
            erasures::apply_pending(&self.config, &self.store, &self.audit)?;
        let lease = self.store.try_lease("retention")?;
        if lease.is_some() {
            // Purges a killed pass began are finished first, whatever the time.
            for marker in purge::pending_markers(&self.config)? {
                let p = purger.finish(&marker)?;
                add(&mut report, p);
            }
            for account in self.store.accounts()? {
                if let AccountState::Deleted { at } = account.state
                    && self.purge_due(at) <= now
                    && let Some(marker) = purger.begin(account.id, &account.address)?
                {
                    let p = purger.finish(&marker)?;
                    add(&mut report, p);
                }
            }
            report.expunged_messages = self.auto_expunge(now)?;
        } else {
            report.store_steps_elsewhere = true;
        }
        drop(lease);
        let real = chrono::Utc::now().timestamp();
        if now > real {
            report.audit_at_real_time = Some(real);
        }
        self.audit_retention(now.min(real), &mut report)?;
        report.erasures_incomplete = self.store.incomplete_erasures()?;
        self.audit.record(Event::RetentionRun {
            purged_accounts: report.purged.len() as u64,
            expunged_messages: report.expunged_messages,
        });
        // One fsync a pass: what the pass did is on disk when it returns.
        self.audit.flush();
        Ok(report)
    }

    /// Anonymization and deletion of old audit records, as at `now` (never
    /// later than the real time).
    fn audit_retention(&self, now: i64, report: &mut RunReport) -> Result<(), RetentionError> {
        let r = &self.config.retention;
        let dir = self.audit_dir();
        if let Some(cutoff) = months_before(now, r.anonymize_after_months) {
            // Records still in the open segment are sealed first: only
            // sealed segments are rewritten.
            self.audit.seal_if_older_than(cutoff)?;
            let a = sealpost_audit::anonymize_before(&dir, cutoff)?;
            if a.records > 0 {
                self.audit.record(Event::AuditAnonymized {
                    cutoff_unix: cutoff,
                    segments: a.segments,
                    records: a.records,
                });
            }
            report.anonymized_records = a.records;
        }
        if let Some(cutoff) = months_before(now, r.audit_log_months) {
            let d = sealpost_audit::delete_segments_before(
                &dir,
                cutoff,
                &self.config.server.audit_signing_key,
            )?;
            if d.segments > 0 {
                self.audit.record(Event::AuditSegmentsDeleted {
                    cutoff_unix: cutoff,
                    segments: d.segments,
                    records: d.records,
                });
            }
            report.deleted_segments = d.segments;
        }
        Ok(())
    }

    fn auto_expunge(&self, now: i64) -> Result<u64, RetentionError> {
        let r = &self.config.retention;
        let mut total = 0;
        for account in self.store.accounts()? {
            if account.state != AccountState::Active {
                continue;
            }
            for mailbox in self.store.mailboxes(account.id)? {
                let days = match mailbox.special_use {
                    Some(SpecialUse::Trash) => r.trash_days,
                    Some(SpecialUse::Junk) => r.junk_days,
                    _ => continue,
                };
                if days == 0 {
                    continue;
                }
                let old =
                    self.store
                        .saved_before(account.id, mailbox.id, now - days as i64 * DAY)?;
                if !old.is_empty() {
                    total += self.store.remove(account.id, mailbox.id, &old)?.len() as u64;
                }
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests;
