//! What `verify` is given and what it reports: options, the report, its
//! warnings and the last attested point.

use crate::witness::WitnessEntry;
use ed25519_dalek::VerifyingKey;

/// What to verify against.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyOptions<'a> {
    /// The key seals and checkpoints must verify with (`None`: the
    /// `signing.pub` kept in the log directory).
    pub pubkey: Option<&'a VerifyingKey>,
    /// What the witness saw: the log must hold at least that much, and the
    /// same.
    pub witness: Option<&'a [WitnessEntry]>,
}

/// Why a record range deserves a look although the log verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningKind {
    /// Sealed after a crash without a signed checkpoint covering them.
    Unattested,
    /// In a segment sealed after a crash by a version that had no
    /// checkpoints: nothing attested them before the crash.
    SealedWithoutAttestation,
    /// In the open segment after its last checkpoint with no writer
    /// running: written just before a crash; the next start seals them as
    /// unattested.
    UnattestedOpen,
}

/// A record range verification flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyWarning {
    /// What is flagged.
    pub kind: WarningKind,
    /// The segment file.
    pub file: String,
    /// First record (sequence number) flagged.
    pub first_record: u64,
    /// Last record flagged.
    pub last_record: u64,
    /// Records flagged.
    pub count: u64,
}

impl std::fmt::Display for VerifyWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            WarningKind::Unattested => {
                "sealed after a crash as unattested (no signed checkpoint covered them)"
            }
            WarningKind::SealedWithoutAttestation => {
                "sealed after a crash by a version without checkpoints (never attested)"
            }
            WarningKind::UnattestedOpen => {
                "not covered by a signed checkpoint and no writer is running (written before a crash?)"
            }
        };
        write!(
            f,
            "{}: records {}..{} ({} record(s)) {what}",
            self.file, self.first_record, self.last_record, self.count
        )
    }
}

/// The last point of the chain a signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedPoint {
    /// The segment file.
    pub segment: String,
    /// The record (sequence number).
    pub record: u64,
    /// Its hash (hex).
    pub head: String,
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyReport {
    /// Sealed segments verified.
    pub segments: u64,
    /// Of those, segments sealed at a restart after a crash.
    pub crash_sealed: Vec<String>,
    /// The open (unsealed) segment, if any, checked as far as it was flushed.
    pub open_segment: Option<String>,
    /// Records verified (sealed and open segments).
    pub records: u64,
    /// Bytes of record lines verified.
    pub bytes: u64,
    /// Time of the first record (Unix ms).
    pub first_time_ms: Option<i64>,
    /// Time of the last record (Unix ms).
    pub last_time_ms: Option<i64>,
    /// Sequence number of the first record still kept (0 unless old
    /// segments were deleted behind a checkpoint).
    pub first_seq: u64,
    /// Segments deleted before the checkpoint.
    pub deleted_segments: u64,
    /// Whether the key came from the caller (`false`: the `signing.pub` kept
    /// in the log directory, which proves consistency, not authenticity).
    pub key_given: bool,
    /// Hash (hex) of the newest seal: note it down to detect later removal
    /// of whole segments from the end.
    pub last_seal: Option<String>,
    /// The last record a seal or checkpoint signature covers.
    pub last_attested: Option<AttestedPoint>,
    /// Record ranges flagged (see [`WarningKind`]).
    pub warnings: Vec<VerifyWarning>,
    /// Records in the open segment after its last checkpoint while a writer
    /// runs (attested within a second).
    pub pending: u64,
    /// Witness lines checked (`None`: no witness given).
    pub witness_lines: Option<usize>,
    /// The node whose log this is, from its segment names (`None`: names
    /// from before node ids, or no segment).
    pub node: Option<String>,
}
