//! `[audit]`: the security event log.

use serde::Deserialize;

/// Settings of the audit log.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Whether security events are recorded at all. Only for measuring what
    /// the log costs (the benchmark) or throw-away test servers: off breaks
    /// the promise of a sealed record, and `serve` warns at start.
    pub enabled: bool,
    /// A segment is closed and sealed once it reaches this many bytes.
    pub segment_max_bytes: u64,
    /// A segment is closed and sealed once it is this many seconds old.
    pub segment_max_age_secs: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            enabled: true,
            segment_max_bytes: 64 * 1024 * 1024,
            segment_max_age_secs: 3600,
        }
    }
}
