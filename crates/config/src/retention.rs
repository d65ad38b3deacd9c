//! `[retention]`: how long personal data is kept (GDPR storage limitation,
//! article 5(1)(e)), with the bounds every setting must stay within.

use crate::ConfigError;
use serde::Deserialize;
use std::path::Path;

/// The hard ceiling on the grace period of a deleted account, in days.
pub const MAX_DELETED_ACCOUNT_GRACE_DAYS: u32 = 45;
/// Upper bound of `audit_log_months` and `anonymize_after_months` (ten
/// years: longer than any retention duty for access logs we know of).
pub const MAX_AUDIT_MONTHS: u32 = 120;
/// Upper bound of `trash_days` and `junk_days` (ten years).
pub const MAX_FOLDER_DAYS: u32 = 3650;
/// Upper bound of `interval_secs` (a day: the worker must run often enough
/// for deleted accounts to be purged on time).
pub const MAX_INTERVAL_SECS: u64 = 86_400;

/// Retention periods.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days a deleted account can be restored before it is purged (at most 45).
    pub deleted_account_grace_days: u32,
    /// Months sealed audit segments are kept (then deleted behind a signed
    /// checkpoint); 0 keeps them forever. A month is 30.44 days (a twelfth
    /// of the Gregorian year). At most [`MAX_AUDIT_MONTHS`].
    pub audit_log_months: u32,
    /// Months after which personal fields of audit records (addresses, IPs)
    /// are erased, keeping the seals valid; 0 never erases them. At most
    /// `audit_log_months` when both are set.
    pub anonymize_after_months: u32,
    /// Whether a purged account's records in the audit log keep their
    /// personal fields (until `anonymize_after_months`) instead of being
    /// erased at the purge: for operators under a legal hold.
    pub keep_audit_personal_data_after_purge: bool,
    /// Days messages stay in Trash before they are expunged; 0 means never.
    pub trash_days: u32,
    /// Days messages stay in Junk before they are expunged; 0 means never.
    pub junk_days: u32,
    /// Seconds between runs of the retention worker inside `serve`.
    pub interval_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            deleted_account_grace_days: 30,
            audit_log_months: 18,
            anonymize_after_months: 6,
            keep_audit_personal_data_after_purge: false,
            trash_days: 30,
            junk_days: 30,
            interval_secs: 3600,
        }
    }
}

impl RetentionConfig {
    /// Checks every bound; the error names the key and its line.
    pub(crate) fn validate(&self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let fail = |key: &str, message: String| {
            Err(ConfigError::key(
                path,
                format!("retention.{key}"),
                crate::find_key_line(text, &format!("retention.{key}")),
                message,
            ))
        };
        if self.deleted_account_grace_days > MAX_DELETED_ACCOUNT_GRACE_DAYS {
            return fail(
                "deleted_account_grace_days",
                format!(
                    "{} days is too long: the maximum is {MAX_DELETED_ACCOUNT_GRACE_DAYS} (deleted accounts must be gone within 45 days)",
                    self.deleted_account_grace_days
                ),
            );
        }
        for (key, value) in [
            ("audit_log_months", self.audit_log_months),
            ("anonymize_after_months", self.anonymize_after_months),
        ] {
            if value > MAX_AUDIT_MONTHS {
                return fail(
                    key,
                    format!(
                        "{value} months is too long: the maximum is {MAX_AUDIT_MONTHS} (0 means never)"
                    ),
                );
            }
        }
        if self.audit_log_months > 0 && self.anonymize_after_months > self.audit_log_months {
            return fail(
                "anonymize_after_months",
                format!(
                    "{} months is longer than audit_log_months ({}): records would be deleted before they are anonymized",
                    self.anonymize_after_months, self.audit_log_months
                ),
            );
        }
        for (key, value) in [
            ("trash_days", self.trash_days),
            ("junk_days", self.junk_days),
        ] {
            if value > MAX_FOLDER_DAYS {
                return fail(
                    key,
                    format!(
                        "{value} days is too long: the maximum is {MAX_FOLDER_DAYS} (0 means never)"
                    ),
                );
            }
        }
        if self.interval_secs == 0 || self.interval_secs > MAX_INTERVAL_SECS {
            return fail(
                "interval_secs",
                format!("must be between 1 and {MAX_INTERVAL_SECS}"),
            );
        }
        Ok(())
    }
}
