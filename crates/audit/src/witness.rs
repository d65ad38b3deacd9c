//! The witness: a copy of every checkpoint kept outside data_dir, so that
//! removing the newest records, the newest segments or the whole log is
//! detected (`sealpost audit verify --witness FILE`).
//!
//! Each checkpoint (and each seal) becomes one short line:
//!
//! ```text
//! sealpost-audit-witness v1 time=1700000000123 segment=12 records=3456 head=<64 hex>
//! ```
//!
//! `records` counts every record of the chain so far (the last one's
//! sequence number + 1); `head` is that record's hash. The sinks
//! (`[audit] witness`):
//! - a file (default: `audit-witness.log` beside the audit signing key):
//!   the line is appended and fdatasynced. Ship it to another machine (or
//!   keep it on another disk): whoever can edit data_dir should not be able
//!   to edit it.
//! - `syslog`: one datagram per line to the syslog socket (`/dev/log`,
//!   RFC 3164 framing, facility authpriv, tag `sealpost-audit`), so the
//!   system's log shipping carries it off the machine.
//! - `journald`: one entry per line through journald's native protocol
//!   (`SYSLOG_IDENTIFIER=sealpost-audit`, `MESSAGE=` the line). Read back
//!   with `journalctl -t sealpost-audit -o cat > FILE`.
//!
//! Verification reads any file holding such lines (a syslog file, a
//! journal export): the line is found wherever it starts in a log line.

use crate::error::{AuditError, FailureKind, VerifyFailure};
use sealpost_config::Witness;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The marker every witness line starts with.
pub const MARKER: &str = "sealpost-audit-witness v1 ";

/// One checkpoint as the witness saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WitnessEntry {
    /// When (Unix ms).
    pub time_ms: i64,
    /// The segment being written (or sealed).
    pub segment: u64,
    /// Records in the chain so far.
    pub records: u64,
    /// Hash of the last of them.
    pub head: [u8; 32],
}

impl WitnessEntry {
    /// The witness line (no newline).
    pub fn line(&self) -> String {
        format!(
            "{MARKER}time={} segment={} records={} head={}",
            self.time_ms,
            self.segment,
            self.records,
            hex::encode(self.head)
        )
    }

    /// Finds and parses a witness line inside `text` (a log line that may
    /// carry a syslog or journal prefix).
    pub fn find(text: &str) -> Option<WitnessEntry> {
        let rest = &text[text.find(MARKER)? + MARKER.len()..];
        let mut fields = rest.split_ascii_whitespace();
        let mut take = |name: &str| fields.next()?.strip_prefix(name);
        let time_ms = take("time=")?.parse().ok()?;
        let segment = take("segment=")?.parse().ok()?;
        let records = take("records=")?.parse().ok()?;
        let head_hex = take("head=")?;
        let mut head = [0u8; 32];
        hex::decode_to_slice(head_hex, &mut head).ok()?;
        Some(WitnessEntry {
            time_ms,
            segment,
            records,
            head,
        })
    }
}

/// The longest witness file read by verification.
pub const MAX_WITNESS_BYTES: u64 = 1 << 30;

/// Reads every witness line of a file (other lines are ignored).
pub fn read_witness(path: &Path) -> Result<Vec<WitnessEntry>, AuditError> {
    use std::io::{BufRead, Read};
    let file = std::fs::File::open(path).map_err(|e| AuditError::io(path, e))?;
    let mut reader = std::io::BufReader::new(file.take(MAX_WITNESS_BYTES));
    let mut out = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader)
            .take(64 * 1024)
            .read_until(b'\n', &mut line)
            .map_err(|e| AuditError::io(path, e))?;
        if n == 0 {
            break;
        }
        if let Some(e) = WitnessEntry::find(&String::from_utf8_lossy(&line)) {
            out.push(e);
        }
    }
    Ok(out)
}

/// Where the writer sends checkpoints.
pub(crate) enum Sink {
    Off,
    File(std::fs::File, PathBuf),
    Syslog(std::os::unix::net::UnixDatagram, PathBuf),
    Journald(std::os::unix::net::UnixDatagram, PathBuf),
}

impl Sink {
    /// Opens the configured witness. A socket that is not there is an error
    /// (a witness that cannot be reached witnesses nothing).
    pub(crate) fn open(w: &Witness) -> Result<Sink, AuditError> {
        let datagram = |p: &Path| {
            let s =
                std::os::unix::net::UnixDatagram::unbound().map_err(|e| AuditError::io(p, e))?;
            s.connect(p).map_err(|e| AuditError::Io {
                path: p.to_path_buf(),
                message: format!("cannot reach the audit witness socket: {e}"),
            })?;
            Ok::<_, AuditError>(s)
        };
        Ok(match w {
            Witness::Off => Sink::Off,
            Witness::File(p) => {
                use std::os::unix::fs::OpenOptionsExt;
                if let Some(parent) = p.parent() {
                    sealpost_durable::create_dir(parent).map_err(|e| AuditError::io(parent, e))?;
                }
                let f = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .mode(0o600)
                    .open(p)
                    .map_err(|e| AuditError::io(p, e))?;
                Sink::File(f, p.clone())
            }
            Witness::Syslog(p) => Sink::Syslog(datagram(p)?, p.clone()),
            Witness::Journald(p) => Sink::Journald(datagram(p)?, p.clone()),
        })
    }

    /// Sends one checkpoint; durable (file: fdatasynced) when it returns Ok.
    pub(crate) fn send(&mut self, e: &WitnessEntry) -> Result<(), String> {
        let line = e.line();
        match self {
            Sink::Off => Ok(()),
            Sink::File(f, p) => f
                .write_all(format!("{line}\n").as_bytes())
                .and_then(|_| f.sync_data())
                .map_err(|err| format!("{}: {err}", p.display())),
            Sink::Syslog(s, p) => {
                // RFC 3164: <PRI>TAG[PID]: MSG; authpriv (10) * 8 + info (6).
                let msg = format!("<86>sealpost-audit[{}]: {line}", std::process::id());
                s.send(msg.as_bytes())
                    .map(|_| ())
                    .map_err(|err| format!("{}: {err}", p.display()))
            }
            Sink::Journald(s, p) => {
                let msg = format!(
                    "MESSAGE={line}\nSYSLOG_IDENTIFIER=sealpost-audit\nPRIORITY=6\nSEALPOST_AUDIT_SEGMENT={}\nSEALPOST_AUDIT_RECORDS={}\nSEALPOST_AUDIT_HEAD={}\n",
                    e.segment,
                    e.records,
                    hex::encode(e.head)
                );
                s.send(msg.as_bytes())
                    .map(|_| ())
                    .map_err(|err| format!("{}: {err}", p.display()))
            }
        }
    }
}

/// Where the kept chain starts and what it holds, as verification found it.
pub(crate) struct ChainView<'a> {
    /// The first sequence number kept (a signed retention checkpoint may
    /// have removed the ones before).
    pub first_seq: u64,
    /// The first segment kept.
    pub first_segment: u64,
    /// Records in the chain (the last one's sequence number + 1).
    pub end_seq: u64,
    /// The segments present.
    pub segments: &'a [crate::names::SegmentName],
    /// The hash after each record count the witness asked for.
    pub heads: &'a std::collections::HashMap<u64, [u8; 32]>,
}

/// Checks the log against what the witness saw; the first discrepancy is
/// a failure naming what is missing.
pub(crate) fn check(entries: &[WitnessEntry], view: &ChainView<'_>) -> Result<(), VerifyFailure> {
    let seg = |n: u64| crate::names::name_in(view.segments, n).seg();
    // The furthest the witness saw decides "records missing".
    if let Some(max) = entries.iter().max_by_key(|e| e.records)
        && max.records > view.end_seq
    {
        return Err(VerifyFailure::new(
            FailureKind::Witness,
            Some(&seg(max.segment)),
            Some(view.end_seq),
            format!(
                "the witness saw {} record(s) (up to record {} in {}), the log holds {}: records {}..{} are missing",
                max.records,
                max.records - 1,
                seg(max.segment),
                view.end_seq,
                view.end_seq,
                max.records - 1
            ),
        ));
    }
    for e in entries {
        if e.records <= view.first_seq || e.segment < view.first_segment {
            // Removed behind a signed retention checkpoint.
            continue;
        }
        if !view.segments.iter().any(|s| s.number == e.segment) {
            return Err(VerifyFailure::new(
                FailureKind::Witness,
                Some(&seg(e.segment)),
                e.records.checked_sub(1),
                format!(
                    "segment {} is missing (the witness saw it hold records up to {})",
                    seg(e.segment),
                    e.records - 1
                ),
            ));
        }
        if view.heads.get(&e.records) != Some(&e.head) {
            return Err(VerifyFailure::new(
                FailureKind::Witness,
                Some(&seg(e.segment)),
                e.records.checked_sub(1),
                format!(
                    "the hash of record {} differs from the one the witness saw (records altered or replaced)",
                    e.records - 1
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_inside_log_prefixes() {
        let e = WitnessEntry {
            time_ms: 17,
            segment: 3,
            records: 99,
            head: [0xab; 32],
        };
        assert_eq!(WitnessEntry::find(&e.line()), Some(e));
        let syslog = format!("Jan  1 00:00:00 host sealpost-audit[42]: {}\n", e.line());
        assert_eq!(WitnessEntry::find(&syslog), Some(e));
        for bad in [
            "sealpost-audit-witness v1 time=1 segment=2 records=3",
            "sealpost-audit-witness v1 time=x segment=2 records=3 head=00",
            "sealpost-audit-witness v2 time=1 segment=2 records=3 head=",
            "",
        ] {
            assert_eq!(WitnessEntry::find(bad), None, "{bad}");
        }
    }
}
