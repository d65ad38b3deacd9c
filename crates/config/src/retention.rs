//! `[retention]`: how long personal data is kept (GDPR storage limitation).

use serde::Deserialize;

/// The hard ceiling on the grace period of a deleted account, in days.
pub const MAX_DELETED_ACCOUNT_GRACE_DAYS: u32 = 45;

/// Retention periods.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days a deleted account can be restored before it is purged (at most 45).
    pub deleted_account_grace_days: u32,
    /// Months sealed audit segments are kept (then deleted behind a signed
    /// checkpoint); 0 keeps them forever. A month is 30.44 days (a twelfth
    /// of the Gregorian year).
    pub audit_log_months: u32,
    /// Months after which personal fields of audit records (addresses, IPs)
    /// are erased, keeping the seals valid; 0 never erases them.
    pub anonymize_after_months: u32,
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
            trash_days: 30,
            junk_days: 30,
            interval_secs: 3600,
        }
    }
}
