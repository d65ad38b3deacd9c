//! sealpost-retention: keeping personal data only as long as promised.
//!
//! - [`Retention::run_once`] is the retention worker's pass: it purges every
//!   deleted account whose grace period is over (`[retention]
//!   deleted_account_grace_days`, at most 45), expunges old messages from
//!   Trash and Junk (`trash_days`, `junk_days`, by SAVEDATE), and records
//!   what it did in the audit log. `serve` runs it on a timer
//!   (`interval_secs`); `sealpost retention run --at T` runs it once as if at
//!   time T, so tests and operators can see what day 46 does.
//! - [`export`] writes a data-subject export (GDPR articles 15 and 20).
//! - [`report`] writes the register of processing (GDPR article 30).
//!
//! Every step is idempotent: a pass interrupted at any point (kill -9) is
//! finished by the next one, and the store's purge itself is resumable.

#![warn(missing_docs)]

pub mod export;
pub mod report;

use sealpost_audit::{AuditLog, Event};
use sealpost_config::Config;
use sealpost_store::{AccountState, SpecialUse, Store, StoreError};
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
    /// Messages expunged from Trash and Junk.
    pub expunged_messages: u64,
}

/// The retention worker.
#[derive(Clone)]
pub struct Retention {
    config: Arc<Config>,
    store: Store,
    audit: AuditLog,
}

impl Retention {
    /// A worker over this store and log.
    pub fn new(config: Arc<Config>, store: Store, audit: AuditLog) -> Retention {
        Retention {
            config,
            store,
            audit,
        }
    }

    /// When a deleted account becomes due for purge.
    pub fn purge_due(&self, deleted_at: i64) -> i64 {
        deleted_at + self.config.retention.deleted_account_grace_days as i64 * DAY
    }

    /// One pass, as if the time were `now` (Unix seconds).
    pub fn run_once(&self, now: i64) -> Result<RunReport, RetentionError> {
        let mut report = RunReport::default();
        for account in self.store.accounts()? {
            if let AccountState::Deleted { at } = account.state
                && self.purge_due(at) <= now
            {
                let r = self.store.purge_account(&account.address)?;
                self.audit.record_durable(Event::AccountPurged {
                    account: account.address.clone(),
                    messages: r.messages,
                    bytes: r.bytes,
                })?;
                tracing::info!(account = %account.address, messages = r.messages, bytes = r.bytes, "purged deleted account");
                report.purged.push(account.address);
                report.purged_messages += r.messages;
                report.purged_bytes += r.bytes;
            }
        }
        report.expunged_messages = self.auto_expunge(now)?;
        self.audit.record(Event::RetentionRun {
            purged_accounts: report.purged.len() as u64,
            expunged_messages: report.expunged_messages,
        });
        Ok(report)
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
