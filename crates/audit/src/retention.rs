//! What the retention worker calls: anonymization of old records and
//! deletion of old segments (GDPR Art. 5(1)(e) storage limitation).
//!
//! Both touch sealed segments only (never the open one), so they run beside
//! a writing server; the caller records the outcome as
//! [`crate::Event::AuditAnonymized`] / [`crate::Event::AuditSegmentsDeleted`].
//!
//! Anonymization removes the sealed personal fields of old records from the
//! `.pii` side files (rewritten atomically, or removed once every record in
//! them is old), then destroys the month keys (`pii`) of every month that
//! ended before the cutoff, so what the rewrite left in released blocks or
//! backups is unreadable too; the segments and seals do not change, so
//! verification still passes.
//!
//! Deletion removes the oldest whole sealed segments that ended before the
//! cutoff, after writing a signed `checkpoint.json` that names where the kept
//! chain starts; [`crate::verify`] starts from it.
//!
//! # No time travel
//!
//! Both refuse a cutoff later than the current time of the system clock
//! ([`AuditError::TooEarly`]): a record is destroyed when its time has
//! really come, whatever the caller believes the date is (`sealpost
//! retention run --at` in the future purges accounts but never reaches the
//! audit log early). The check reads the clock through one function, which
//! the crate's own tests replace to show a real run past the period still
//! deletes.

use crate::error::AuditError;
use crate::format::{self, Checkpoint, Seal};
use crate::names::{self, SegmentName};
use std::path::Path;

/// The real time now, Unix ms.
fn real_now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}

/// Refuses a cutoff (Unix s) after `now_ms`.
fn not_early(action: &'static str, cutoff_unix: i64, now_ms: i64) -> Result<i64, AuditError> {
    let cutoff_ms = cutoff_unix.saturating_mul(1000);
    if cutoff_ms > now_ms {
        return Err(AuditError::TooEarly {
            action,
            cutoff: rfc3339(cutoff_ms),
            now: rfc3339(now_ms),
        });
    }
    Ok(cutoff_ms)
}

/// What [`anonymize_before`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnonymizeReport {
    /// Segments whose side file was rewritten or removed.
    pub segments: u64,
    /// Records whose personal fields were erased.
    pub records: u64,
    /// Personal fields erased, counted in side lines of the previous
    /// (plaintext) format; a sealed line counts as one (its fields are not
    /// opened to be erased).
    pub fields: u64,
    /// Month keys destroyed (months that ended before the cutoff).
    pub month_keys: u64,
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
fn sealed_segments(dir: &Path) -> Result<Vec<(SegmentName, Seal)>, AuditError> {
    let start = format::read_checkpoint(dir)?.map_or(1, |cp| cp.segment);
    let mut out = Vec::new();
    for name in names::list(dir).map_err(|e| AuditError::io(dir, e))? {
        if name.number < start {
            continue;
        }
        let path = dir.join(name.seal());
        if !path.exists() {
            break; // the open segment
        }
        let seal = format::read_seal(&path)?;
        out.push((name, seal));
    }
    Ok(out)
}

/// Erases the sealed personal fields of every record in a sealed segment
/// older than `cutoff_unix` (seconds), and destroys the keys of months that
/// ended before it. Refuses a cutoff later than now.
pub fn anonymize_before(dir: &Path, cutoff_unix: i64) -> Result<AnonymizeReport, AuditError> {
    anonymize_before_at(dir, cutoff_unix, real_now_ms())
}

fn anonymize_before_at(
    dir: &Path,
    cutoff_unix: i64,
    now_ms: i64,
) -> Result<AnonymizeReport, AuditError> {
    let cutoff_ms = not_early("anonymize", cutoff_unix, now_ms)?;
    let mut report = AnonymizeReport::default();
    for (n, seal) in sealed_segments(dir)? {
        if seal.first_time_ms.is_none_or(|t| t >= cutoff_ms) {
            continue;
        }
        let path = dir.join(n.pii());
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(AuditError::io(&path, e)),
        };
        let mut kept = Vec::new();
        let (mut records, mut fields) = (0u64, 0u64);
        for line in data.split_inclusive(|&b| b == b'\n') {
            match crate::pii::Line::parse(line) {
                Some(p) if p.time_ms() >= cutoff_ms => kept.extend_from_slice(line),
                Some(crate::pii::Line::Plain(p)) => {
                    records += 1;
                    fields += p.fields.len() as u64;
                }
                Some(_) => {
                    records += 1;
                    fields += 1;
                }
                // Unreadable side lines are personal data we cannot date: erase.
                None => records += 1,
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
    report.month_keys = crate::pii::destroy_months_before(dir, cutoff_ms)?;
    if report.segments > 0 || report.month_keys > 0 {
        tracing::info!(
            cutoff_unix,
            segments = report.segments,
            records = report.records,
            month_keys = report.month_keys,
            "anonymized audit records"
        );
    }
    Ok(report)
}

/// Deletes the oldest sealed segments whose last record is older than
/// `cutoff_unix` (seconds), leaving a checkpoint signed with the key at
/// `signing_key` so the rest still verifies. Refuses a cutoff later than now.
pub fn delete_segments_before(
    dir: &Path,
    cutoff_unix: i64,
    signing_key: &Path,
) -> Result<DeleteReport, AuditError> {
    delete_segments_before_at(dir, cutoff_unix, signing_key, real_now_ms())
}

fn delete_segments_before_at(
    dir: &Path,
    cutoff_unix: i64,
    signing_key: &Path,
    now_ms: i64,
) -> Result<DeleteReport, AuditError> {
    let cutoff_ms = not_early("delete", cutoff_unix, now_ms)?;
    let previous = format::read_checkpoint(dir)?;
    // Files an interrupted earlier deletion left behind its checkpoint.
    if let Some(cp) = &previous {
        for n in names::list(dir).map_err(|e| AuditError::io(dir, e))? {
            if n.number < cp.segment {
                for name in [n.pii(), n.seal(), n.seg()] {
                    let _ = std::fs::remove_file(dir.join(name));
                }
            }
        }
    }
    let sealed = sealed_segments(dir)?;
    let doomed: Vec<&(SegmentName, Seal)> = sealed
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
                &dir.join(n.seal()),
                "seal does not verify with the signing key; run `sealpost audit verify`",
            ));
        }
    }
    let mut cp = Checkpoint {
        version: 1,
        segment: last_n.number + 1,
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
        for name in [n.pii(), n.att(), n.seal(), n.seg()] {
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

#[cfg(test)]
mod tests {
    //! The clock of these steps replaced: a run really 19 months later
    //! deletes and anonymizes; the same cutoff today is refused.
    use super::*;
    use crate::{AuditLog, Event, LoginOutcome, Protocol};

    const MONTH_MS: i64 = 2_629_746_000;

    fn log(dir: &Path) -> AuditLog {
        std::fs::create_dir_all(dir.join("keys")).unwrap();
        std::fs::write(dir.join("keys/master.key"), [5u8; 32]).unwrap();
        AuditLog::open(
            &dir.join("audit"),
            &dir.join("keys/audit.key"),
            &sealpost_config::AuditConfig {
                master_key: dir.join("keys/master.key"),
                ..Default::default()
            },
        )
        .unwrap()
    }

    fn login() -> Event {
        Event::Login {
            protocol: Protocol::Imap,
            account: "alice@example.org".into(),
            remote: "192.0.2.1:1".into(),
            tls: None,
            outcome: LoginOutcome::Success,
            app_password: None,
            mechanism: None,
        }
    }

    #[test]
    fn a_real_run_past_the_period_deletes_and_anonymizes_and_an_early_one_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let audit = d.path().join("audit");
        let l = log(d.path());
        l.record(login());
        l.close().unwrap();
        let written = real_now_ms();
        let later = written + 19 * MONTH_MS;
        // As the retention worker computes them, 19 months later.
        let anonymize_cutoff = (later - 6 * MONTH_MS) / 1000;
        let delete_cutoff = (later - 18 * MONTH_MS) / 1000;
        // Today those cutoffs lie in the future: refused, nothing touched.
        for e in [
            anonymize_before(&audit, anonymize_cutoff).unwrap_err(),
            delete_segments_before(&audit, delete_cutoff, &d.path().join("keys/audit.key"))
                .unwrap_err(),
        ] {
            assert!(matches!(e, AuditError::TooEarly { .. }), "{e}");
            assert!(e.to_string().contains("never early"), "{e}");
        }
        assert!(audit.join(SegmentName::new(1, None).pii()).exists());
        assert!(
            !crate::pii::list_ids(&audit.join(crate::pii::KEY_DIR))
                .unwrap()
                .is_empty()
        );
        // With the clock really 19 months on, both run.
        let a = anonymize_before_at(&audit, anonymize_cutoff, later).unwrap();
        assert_eq!((a.segments, a.records), (1, 1));
        assert!(a.month_keys >= 1);
        assert!(
            crate::pii::list_ids(&audit.join(crate::pii::KEY_DIR))
                .unwrap()
                .is_empty()
        );
        let r = delete_segments_before_at(
            &audit,
            delete_cutoff,
            &d.path().join("keys/audit.key"),
            later,
        )
        .unwrap();
        assert_eq!((r.segments, r.records), (1, 1));
        assert!(!audit.join(SegmentName::new(1, None).seg()).exists());
        crate::verify(&audit, None).unwrap();
    }
}
