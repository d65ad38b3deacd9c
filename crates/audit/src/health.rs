//! What the audit writer thread publishes about itself, for `/readyz` and
//! the metrics ([`crate::AuditLog::health`]).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// What the writer thread publishes about itself (for `/readyz` and the
/// metrics): Unix milliseconds, 0 for never/none.
#[derive(Debug, Default)]
pub(crate) struct Status {
    /// The last signed checkpoint or seal.
    pub(crate) last_attested_ms: AtomicI64,
    /// The oldest record not yet covered by a checkpoint.
    pub(crate) oldest_unattested_ms: AtomicI64,
    /// A write failed: nothing more is recorded until a restart.
    pub(crate) failed: AtomicBool,
    /// The thread has ended.
    pub(crate) stopped: AtomicBool,
}

/// The audit writer's health, as [`crate::AuditLog::health`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditHealth {
    /// Whether records are being written (the thread runs, no write failed).
    pub writing: bool,
    /// When the last checkpoint or seal was signed (Unix ms), if ever.
    pub last_attested_ms: Option<i64>,
    /// How long the oldest record not yet covered by a checkpoint has
    /// waited (ms; 0 when everything is attested).
    pub unattested_age_ms: i64,
}

impl Status {
    /// Everything so far is covered by a checkpoint or seal signed at `now_ms`.
    pub(crate) fn attested(&self, now_ms: i64) {
        self.last_attested_ms.store(now_ms, Ordering::Relaxed);
        self.oldest_unattested_ms.store(0, Ordering::Relaxed);
    }

    /// The health as [`crate::AuditLog::health`] reports it.
    pub(crate) fn health(&self) -> AuditHealth {
        let last = self.last_attested_ms.load(Ordering::Relaxed);
        let oldest = self.oldest_unattested_ms.load(Ordering::Relaxed);
        let now = chrono::Utc::now().timestamp_millis();
        AuditHealth {
            writing: !self.failed.load(Ordering::Relaxed) && !self.stopped.load(Ordering::Relaxed),
            last_attested_ms: (last != 0).then_some(last),
            unattested_age_ms: if oldest == 0 {
                0
            } else {
                (now - oldest).max(0)
            },
        }
    }
}
