//! The errors of the audit log: [`AuditError`] for opening, writing,
//! exporting and retention; [`VerifyFailure`] for what verification found.

use std::path::{Path, PathBuf};

/// Why the audit log could not be opened, written, exported or pruned.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// I/O on the log failed.
    #[error("audit log {path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The writer has stopped.
    #[error("audit log is closed")]
    Closed,
    /// Another process holds the log's writer lock.
    #[error("audit log {0} is in use by another process")]
    Locked(PathBuf),
    /// The signing key or a public key could not be read.
    #[error("audit key {path}: {message}")]
    Key {
        /// The key file (or `-` for text given directly).
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// A file of the log is not in the format this crate writes.
    #[error("audit log {path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// Writing the export failed.
    #[error("audit export: {0}")]
    Export(String),
    /// A retention step was asked to destroy records before their time.
    #[error(
        "refusing to {action} audit records before {cutoff}: that is later than the current time {now}; audit records are deleted or anonymized only by the real clock, never early"
    )]
    TooEarly {
        /// What was asked ("delete", "anonymize").
        action: &'static str,
        /// The cutoff asked for (RFC 3339).
        cutoff: String,
        /// The time now (RFC 3339).
        now: String,
    },
}

impl AuditError {
    pub(crate) fn io(path: &Path, e: std::io::Error) -> AuditError {
        AuditError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }

    pub(crate) fn format(path: &Path, message: impl Into<String>) -> AuditError {
        AuditError::Format {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    pub(crate) fn key(path: &Path, message: impl Into<String>) -> AuditError {
        AuditError::Key {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// What kind of damage verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A file could not be read.
    Io,
    /// The public key is missing or malformed.
    Key,
    /// A line, seal or checkpoint is not in the format the writer produces
    /// (includes lines over the length limit).
    Malformed,
    /// A record's sequence number is not the next one (record removed,
    /// inserted or moved).
    Sequence,
    /// A record's link to the hash of the record before it is wrong (a record
    /// was altered, or one before it was).
    Chain,
    /// A seal's signature does not verify with the key (forged, or sealed
    /// with another key).
    Signature,
    /// A seal does not match its segment (record count, last hash, size,
    /// number or link to the previous seal).
    Seal,
    /// A sealed segment ends in the middle of a record.
    Truncated,
    /// A segment number is missing (segment removed) or repeated out of place.
    MissingSegment,
    /// A segment without a seal is followed by another segment.
    Unsealed,
    /// Records a signed checkpoint attested are missing or altered (a
    /// crash never loses them: they were on disk before it was signed).
    Attestation,
    /// The log holds less than the witness saw (records or segments
    /// removed), or a record differs from the one the witness saw.
    Witness,
}

/// The first problem verification found: which file, which record, what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{detail}", .file.as_ref().map(|f| format!("{f}: ")).unwrap_or_default(), .record.map(|r| format!("record {r}: ")).unwrap_or_default())]
pub struct VerifyFailure {
    /// The segment, seal or checkpoint file (name within the audit dir).
    pub file: Option<String>,
    /// The record's sequence number (as expected at that position), if the
    /// failure is about one record.
    pub record: Option<u64>,
    /// The class of damage.
    pub kind: FailureKind,
    /// A one-line explanation.
    pub detail: String,
}

impl VerifyFailure {
    pub(crate) fn new(
        kind: FailureKind,
        file: Option<&str>,
        record: Option<u64>,
        detail: impl Into<String>,
    ) -> VerifyFailure {
        VerifyFailure {
            file: file.map(str::to_string),
            record,
            kind,
            detail: detail.into(),
        }
    }
}
