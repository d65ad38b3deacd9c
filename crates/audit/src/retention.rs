//! What the retention worker calls: anonymization of old records and
//! deletion of old segments (GDPR Art. 5(1)(e) storage limitation).
//!
//! Both touch sealed segments only (never the open one), so they run beside
//! a writing server; the caller records the outcome as
//! [`crate::Event::AuditAnonymized`] / [`crate::Event::AuditSegmentsDeleted`].
//!
//! Anonymization erases plaintext and salt from the `.pii` side files
//! (rewritten atomically, or removed once every record in them is old); the
//! segments and seals do not change, so verification still passes. Like any
//! file rewrite, it does not scrub blocks the filesystem already released.
//!
//! Deletion removes the oldest whole sealed segments that ended before the
//! cutoff, after writing a signed `checkpoint.json` that names where the kept
//! chain starts; [`crate::verify`] starts from it.

use crate::error::AuditError;
use crate::format::{self, Checkpoint, PiiLine, Seal};
use std::path::Path;

/// What [`anonymize_before`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnonymizeReport {
    /// Segments whose side file was rewritten or removed.
    pub segments: u64,
    /// Records whose personal fields were erased.
    pub records: u64,
    /// Personal fields erased.
    pub fields: u64,
}

/// What [`delete_segments_before`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteReport {
    /// Segments deleted.
    pub segments: u64,
    /// Records they held.
    pub records: u64,
    /// Bytes of segment files removed.
    pub bytes: u64,
}

/// Sealed segments from the start of the kept chain, in order, with seals.
fn sealed_segments(dir: &Path) -> Result<Vec<(u64, Seal)>, AuditError> {
    let start = format::read_checkpoint(dir)?.map_or(1, |cp| cp.segment);
    let mut out = Vec::new();
    for n in format::list_segments(dir).map_err(|e| AuditError::io(dir, e))? {
        if n < start {
            continue;
        }
        let path = dir.join(format::seal_name(n));
        if !path.exists() {
            break; // the open segment
        }
        out.push((n, format::read_seal(&path)?));
    }
    Ok(out)
}

/// Erases the plaintext and salt of personal fields of every record in a
/// sealed segment older than `cutoff_unix` (seconds).
pub fn anonymize_before(dir: &Path, cutoff_unix: i64) -> Result<AnonymizeReport, AuditError> {
    let cutoff_ms = cutoff_unix.saturating_mul(1000);
    let mut report = AnonymizeReport::default();
    for (n, seal) in sealed_segments(dir)? {
        if seal.first_time_ms.is_none_or(|t| t >= cutoff_ms) {
            continue;
        }
        let path = dir.join(format::pii_name(n));
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(AuditError::io(&path, e)),
        };
        let mut kept = Vec::new();
        let (mut records, mut fields) = (0u64, 0u64);
        for line in data.split_inclusive(|&b| b == b'\n') {
            match serde_json::from_slice::<PiiLine>(line) {
                Ok(p) if p.time_ms >= cutoff_ms => kept.extend_from_slice(line),
                Ok(p) => {
                    records += 1;
                    fields += p.fields.len() as u64;
                }
                // Unreadable side lines are personal data we cannot date: erase.
                Err(_) => records += 1,
            }
        }
        if kept.len() == data.len() {
            continue;
        }
        if kept.is_empty() {
            std::fs::remove_file(&path).map_err(|e| AuditError::io(&path, e))?;
            format::sync_dir(dir)?;
        } else {
            format::write_atomic(&path, &kept)?;
        }
        report.segments += 1;
        report.records += records;
        report.fields += fields;
    }
    if report.segments > 0 {
        tracing::info!(
            cutoff_unix,
            segments = report.segments,
            records = report.records,
            "anonymized audit records"
        );
    }
    Ok(report)
}

/// Deletes the oldest sealed segments whose last record is older than
/// `cutoff_unix` (seconds), leaving a checkpoint signed with the key at
/// `signing_key` so the rest still verifies.
pub fn delete_segments_before(
    dir: &Path,
    cutoff_unix: i64,
    signing_key: &Path,
) -> Result<DeleteReport, AuditError> {
    let cutoff_ms = cutoff_unix.saturating_mul(1000);
    let previous = format::read_checkpoint(dir)?;
    // Files an interrupted earlier deletion left behind its checkpoint.
    if let Some(cp) = &previous {
        for n in format::list_segments(dir).map_err(|e| AuditError::io(dir, e))? {
            if n < cp.segment {
                for name in [
                    format::pii_name(n),
                    format::seal_name(n),
                    format::seg_name(n),
                ] {
                    let _ = std::fs::remove_file(dir.join(name));
                }
            }
        }
    }
    let sealed = sealed_segments(dir)?;
    let doomed: Vec<&(u64, Seal)> = sealed
        .iter()
        .take_while(|(_, s)| s.last_time_ms.is_none_or(|t| t < cutoff_ms))
        .collect();
    let Some((last_n, last)) = doomed.last() else {
        return Ok(DeleteReport::default());
    };
    let key = crate::keys::load(signing_key)?;
    // Refuse to checkpoint over seals this key did not make.
    for (n, seal) in &doomed {
        if !seal.verify(&key.verifying_key()) {
            return Err(AuditError::format(
                &dir.join(format::seal_name(*n)),
                "seal does not verify with the signing key; run `sealpost audit verify`",
            ));
        }
    }
    let mut cp = Checkpoint {
        version: 1,
        segment: last_n + 1,
        seq: last.first_seq + last.records,
        prev_hash: last.last_hash.clone(),
        prev_seal: hex::encode(last.seal_hash()),
        deleted_segments: previous.map_or(0, |p| p.deleted_segments) + doomed.len() as u64,
        time_ms: chrono::Utc::now().timestamp_millis(),
        signature: String::new(),
    };
    cp.sign(&key);
    let mut bytes = serde_json::to_vec(&cp).map_err(|e| AuditError::Export(e.to_string()))?;
    bytes.push(b'\n');
    format::write_atomic(&dir.join(format::CHECKPOINT), &bytes)?;
    let mut report = DeleteReport::default();
    for (n, seal) in &doomed {
        report.segments += 1;
        report.records += seal.records;
        report.bytes += seal.bytes;
        // The segment goes last: a crash midway leaves files the checkpoint
        // already excludes, and the next run removes them.
        for name in [
            format::pii_name(*n),
            format::seal_name(*n),
            format::seg_name(*n),
        ] {
            match std::fs::remove_file(dir.join(&name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(AuditError::io(&dir.join(name), e)),
            }
        }
    }
    format::sync_dir(dir)?;
    tracing::info!(
        cutoff_unix,
        segments = report.segments,
        "deleted old audit segments"
    );
    Ok(report)
}
