//! `sealpost audit verify`: checks every record, chain link, seal and the
//! checkpoint, from raw bytes.
//!
//! Each record line is hashed as stored and only its fixed prefix (`seq`,
//! `time_ms`, `prev`) is read, so verification runs at hashing speed. What it
//! detects, and how it names it ([`FailureKind`]):
//! - a changed byte: the next record's `prev` (or the seal's `last_hash`)
//!   no longer matches (`Chain`, `Seal`), or the prefix no longer parses
//!   (`Malformed`, `Sequence`);
//! - a removed, inserted, duplicated or moved record: `Sequence`, `Chain`;
//! - a removed segment: a gap in the numbers (`MissingSegment`); a reordered
//!   or duplicated one: its seal names another number or the chain does not
//!   continue (`Seal`, `Sequence`, `Chain`);
//! - a sealed segment cut short: `Truncated`; a seal made with another key:
//!   `Signature`.
//!
//! - attested records lost or altered: a recovered seal whose last
//!   checkpoint claimed more than it found, or a checkpoint of the open
//!   segment that no longer matches the chain (`Attestation`).
//!
//! The open segment (the last, unsealed one) is checked as far as complete
//! lines go: a server may be writing it. Its checkpoints (`attest`) must
//! verify and match; records after the last one are *pending* while a
//! writer holds the log's lock (it attests within a second), and
//! *unattested* otherwise (written just before a crash).
//!
//! Warnings, not failures (`--strict` makes them failures): records sealed
//! as unattested after a crash, and segments sealed after a crash by a
//! version without checkpoints. Each names the file, the record range and
//! the count.
//!
//! What no offline check of the log alone can see is the removal of the
//! newest records or segments, or of the whole log: the witness outside
//! data_dir remembers how far the chain got ([`VerifyOptions::witness`]).
//! Every report names the last attested point (segment, record, head hash)
//! so it can be noted elsewhere too.

use crate::attest::Attestation;
use crate::error::{FailureKind, VerifyFailure};
use crate::format::{self, GENESIS, Seal};
use crate::names::{self, SegmentName};
use crate::witness;
use ed25519_dalek::VerifyingKey;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

pub use crate::verify_report::{
    AttestedPoint, VerifyOptions, VerifyReport, VerifyWarning, WarningKind,
};

/// Running state of the chain while walking segments.
#[derive(Debug, Clone)]
pub(crate) struct Walk {
    pub seq: u64,
    pub prev: [u8; 32],
    /// `prev` as the next record must spell it (lower-case hex).
    prev_hex: [u8; 64],
    pub records: u64,
    pub bytes: u64,
    pub first_time_ms: Option<i64>,
    pub last_time_ms: Option<i64>,
    /// Time of the first record of the segment being walked.
    pub segment_first_ms: Option<i64>,
    /// Record counts whose chain hash is wanted (witness, checkpoints).
    want: HashSet<u64>,
    /// The chain hash after each wanted count, as walked.
    found: HashMap<u64, [u8; 32]>,
}

impl Walk {
    pub(crate) fn new(seq: u64, prev: [u8; 32]) -> Walk {
        Walk {
            seq,
            prev,
            prev_hex: format::hex_lower(&prev),
            records: 0,
            bytes: 0,
            first_time_ms: None,
            last_time_ms: None,
            segment_first_ms: None,
            want: HashSet::new(),
            found: HashMap::new(),
        }
    }

    fn line(&mut self, line: &[u8], name: &str) -> Result<(), VerifyFailure> {
        let fail = |kind, detail: String| {
            Err(VerifyFailure::new(kind, Some(name), Some(self.seq), detail))
        };
        if line.len() > format::MAX_LINE_BYTES {
            return fail(
                FailureKind::Malformed,
                "record line over the length limit".into(),
            );
        }
        // Fast path: the prefix this record must have, compared byte for
        // byte (no hex decoding); anything else is parsed below to say
        // what is wrong.
        if let Some(time_ms) = format::check_head(line, self.seq, &self.prev_hex) {
            self.accept(line, time_ms);
            return Ok(());
        }
        let head = match format::parse_head(line) {
            Ok(h) => h,
            Err(e) => return fail(FailureKind::Malformed, e.to_string()),
        };
        if head.seq != self.seq {
            return fail(
                FailureKind::Sequence,
                format!(
                    "found sequence number {} where {} was expected (record removed, inserted or moved)",
                    head.seq, self.seq
                ),
            );
        }
        if head.prev != self.prev {
            let what = if self.records == 0 {
                "the end of the chain before this segment".to_string()
            } else {
                format!("record {}", self.seq - 1)
            };
            return fail(
                FailureKind::Chain,
                format!("hash link broken: {what} or this record was altered"),
            );
        }
        self.accept(line, head.time_ms);
        Ok(())
    }

    /// Moves the chain past a record that links.
    fn accept(&mut self, line: &[u8], time_ms: i64) {
        self.prev = format::sha256(line);
        self.prev_hex = format::hex_lower(&self.prev);
        self.seq += 1;
        if !self.want.is_empty() && self.want.contains(&self.seq) {
            self.found.insert(self.seq, self.prev);
        }
        self.records += 1;
        self.bytes += line.len() as u64 + 1;
        self.first_time_ms.get_or_insert(time_ms);
        self.segment_first_ms.get_or_insert(time_ms);
        self.last_time_ms = Some(time_ms);
    }
}

/// Walks the records of one segment. A sealed segment must end with a
/// newline; an open one is read up to its last complete line.
pub(crate) fn walk_segment(
    mut r: impl Read,
    name: &str,
    walk: &mut Walk,
    sealed: bool,
    buf: &mut Vec<u8>,
) -> Result<(), VerifyFailure> {
    // Room for one line at the length limit plus a read of the same size,
    // zeroed once per buffer, not per segment or read.
    let size = 2 * (format::MAX_LINE_BYTES + 1);
    if buf.len() < size {
        buf.resize(size, 0);
    }
    walk.segment_first_ms = None;
    let (mut start, mut end) = (0usize, 0usize);
    loop {
        if start > 0 {
            buf.copy_within(start..end, 0);
            end -= start;
            start = 0;
        }
        let n = loop {
            match r.read(&mut buf[end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(VerifyFailure::new(
                        FailureKind::Io,
                        Some(name),
                        None,
                        e.to_string(),
                    ));
                }
            }
        };
        for nl in memchr::memchr_iter(b'\n', &buf[end..end + n]) {
            let line_end = end + nl;
            walk.line(&buf[start..line_end], name)?;
            start = line_end + 1;
        }
        end += n;
        if end - start > format::MAX_LINE_BYTES {
            return Err(VerifyFailure::new(
                FailureKind::Malformed,
                Some(name),
                Some(walk.seq),
                "record line over the length limit",
            ));
        }
        if n == 0 {
            if sealed && start < end {
                return Err(VerifyFailure::new(
                    FailureKind::Truncated,
                    Some(name),
                    Some(walk.seq),
                    "segment ends inside a record",
                ));
            }
            return Ok(());
        }
    }
}

/// Verifies the whole log under `dir`. `pubkey` is the key to check seals
/// against; without it, the `signing.pub` the writer keeps in `dir` is used.
pub fn verify(dir: &Path, pubkey: Option<&VerifyingKey>) -> Result<VerifyReport, VerifyFailure> {
    verify_with(
        dir,
        &VerifyOptions {
            pubkey,
            witness: None,
        },
    )
}

/// Whether a writer holds the log's lock (a server or CLI writing now).
fn writer_running(dir: &Path) -> bool {
    let Ok(f) = std::fs::File::open(dir.join(format::LOCK_FILE)) else {
        return false;
    };
    // Taken and released at once: a writer that starts meanwhile waits.
    !matches!(fs4::fs_std::FileExt::try_lock_exclusive(&f), Ok(true))
}

/// Verifies the whole log under `dir` with `options`.
pub fn verify_with(dir: &Path, options: &VerifyOptions<'_>) -> Result<VerifyReport, VerifyFailure> {
    let mut report = VerifyReport {
        key_given: options.pubkey.is_some(),
        ..VerifyReport::default()
    };
    let io = |file: Option<&str>, e: &dyn std::fmt::Display| {
        VerifyFailure::new(FailureKind::Io, file, None, e.to_string())
    };
    let segments = names::list(dir).map_err(|e| io(None, &e))?;
    report.node = names::node_of(&segments).map(str::to_string);
    let key = verifying_key(dir, options, &segments)?;
    let key = key.as_ref();
    let malformed = |file: &str, d: &dyn std::fmt::Display| {
        VerifyFailure::new(FailureKind::Malformed, Some(file), None, d.to_string())
    };
    let (mut expected, mut walk, mut prev_seal) = starting_point(dir, key, &mut report)?;
    let first_segment = expected;
    report.first_seq = walk.seq;
    if let Some(entries) = options.witness {
        walk.want.extend(entries.iter().map(|e| e.records));
    }
    let mut buf = Vec::new();
    let kept: Vec<SegmentName> = segments
        .into_iter()
        .filter(|s| s.number >= expected)
        .collect();
    for (i, name) in kept.iter().enumerate() {
        let Some(key) = key else { break };
        let seg = name.seg();
        if name.number != expected {
            return Err(VerifyFailure::new(
                FailureKind::MissingSegment,
                Some(&seg),
                Some(walk.seq),
                format!(
                    "segment {} is missing",
                    names::name_in(&kept, expected).seg()
                ),
            ));
        }
        let seal_name = name.seal();
        let seal_path = dir.join(&seal_name);
        let seal = match format::read_small(&seal_path) {
            Ok(bytes) => Some(Seal::parse(&bytes).map_err(|e| malformed(&seal_name, &e))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(Some(&seal_name), &e)),
        };
        let file = std::fs::File::open(dir.join(&seg)).map_err(|e| io(Some(&seg), &e))?;
        let Some(seal) = seal else {
            if i + 1 != kept.len() {
                return Err(VerifyFailure::new(
                    FailureKind::Unsealed,
                    Some(&seg),
                    None,
                    "segment has no seal but is not the last one",
                ));
            }
            open_segment(dir, name, key, file, &mut walk, &mut buf, &mut report)?;
            break;
        };
        prev_seal = check_sealed_segment(
            &seal,
            key,
            file,
            name,
            &mut walk,
            &prev_seal,
            &mut buf,
            &mut report,
        )?;
        report.segments += 1;
        expected += 1;
    }
    report.records = walk.records;
    report.bytes = walk.bytes;
    report.first_time_ms = walk.first_time_ms;
    report.last_time_ms = walk.last_time_ms;
    if let Some(entries) = options.witness {
        witness::check(
            entries,
            &witness::ChainView {
                first_seq: report.first_seq,
                first_segment,
                end_seq: walk.seq,
                segments: &kept,
                heads: &walk.found,
            },
        )?;
        report.witness_lines = Some(entries.len());
    }
    Ok(report)
}

/// The key seals and checkpoints must verify with: the one given, else the
/// log's own `signing.pub` (`None` for a log that has no segment yet).
fn verifying_key(
    dir: &Path,
    options: &VerifyOptions<'_>,
    segments: &[SegmentName],
) -> Result<Option<VerifyingKey>, VerifyFailure> {
    if let Some(k) = options.pubkey {
        return Ok(Some(*k));
    }
    let path = dir.join(format::PUBKEY_FILE);
    match crate::keys::read_public_key(&path) {
        Ok(k) => Ok(Some(k)),
        Err(_) if segments.is_empty() => Ok(None),
        Err(e) => Err(VerifyFailure::new(
            FailureKind::Key,
            Some(format::PUBKEY_FILE),
            None,
            e.to_string(),
        )),
    }
}

/// Where the walk starts: the signed checkpoint's segment, sequence number,
/// chain hash and previous seal, or the genesis of segment 1.
fn starting_point(
    dir: &Path,
    key: Option<&VerifyingKey>,
    report: &mut VerifyReport,
) -> Result<(u64, Walk, [u8; 32]), VerifyFailure> {
    let malformed = |file: &str, d: &dyn std::fmt::Display| {
        VerifyFailure::new(FailureKind::Malformed, Some(file), None, d.to_string())
    };
    let checkpoint = format::read_checkpoint(dir).map_err(|e| malformed(format::CHECKPOINT, &e))?;
    Ok(match (&checkpoint, key) {
        (Some(cp), Some(key)) => {
            if !cp.verify(key) {
                return Err(VerifyFailure::new(
                    FailureKind::Signature,
                    Some(format::CHECKPOINT),
                    None,
                    "checkpoint signature does not verify with the public key",
                ));
            }
            let bad = || malformed(format::CHECKPOINT, &"bad hash");
            report.deleted_segments = cp.deleted_segments;
            (
                cp.segment,
                Walk::new(cp.seq, cp.prev_hash().ok_or_else(bad)?),
                cp.prev_seal().ok_or_else(bad)?,
            )
        }
        (Some(cp), None) => (cp.segment, Walk::new(cp.seq, GENESIS), GENESIS),
        (None, _) => (1, Walk::new(0, GENESIS), GENESIS),
    })
}

/// Checks one sealed segment against its seal (signature, chain, record
/// count, bytes, last hash, times, attestation) and records what the
/// report says of it; returns the seal's hash, which the next seal links to.
#[allow(clippy::too_many_arguments)]
fn check_sealed_segment(
    seal: &Seal,
    key: &VerifyingKey,
    file: std::fs::File,
    name: &SegmentName,
    walk: &mut Walk,
    prev_seal: &[u8; 32],
    buf: &mut Vec<u8>,
    report: &mut VerifyReport,
) -> Result<[u8; 32], VerifyFailure> {
    let seg = name.seg();
    check_seal_head(seal, key, name, walk, prev_seal)?;
    let start = walk.clone();
    let attested = seal.attested_records();
    if attested > 0 {
        walk.want.insert(seal.first_seq + attested);
    }
    walk_segment(file, &seg, walk, true, buf)?;
    let records = walk.records - start.records;
    let bytes = walk.bytes - start.bytes;
    let seal_fail = |kind, detail: String| Err(VerifyFailure::new(kind, Some(&seg), None, detail));
    if records < seal.records {
        return seal_fail(
            FailureKind::Truncated,
            format!(
                "holds {records} records, its seal says {} (records cut off the end)",
                seal.records
            ),
        );
    }
    if records != seal.records || bytes != seal.bytes {
        return seal_fail(
            FailureKind::Seal,
            format!(
                "holds {records} records in {bytes} bytes, its seal says {} in {}",
                seal.records, seal.bytes
            ),
        );
    }
    if seal.last_hash() != Some(walk.prev) {
        return Err(VerifyFailure::new(
            FailureKind::Seal,
            Some(&seg),
            walk.seq.checked_sub(1),
            "the last record does not match the hash in the seal (altered)",
        ));
    }
    let last_time = if records > 0 { walk.last_time_ms } else { None };
    if seal.first_time_ms != walk.segment_first_ms || seal.last_time_ms != last_time {
        return seal_fail(
            FailureKind::Seal,
            "record times differ from the seal".into(),
        );
    }
    if let Some(claimed) = seal.claimed
        && claimed > attested
    {
        return Err(VerifyFailure::new(
            FailureKind::Attestation,
            Some(&seg),
            Some(seal.first_seq + attested),
            format!(
                "records {}..{} were attested by a signed checkpoint before the crash but were missing or altered when the segment was recovered",
                seal.first_seq + attested,
                seal.first_seq + claimed - 1
            ),
        ));
    }
    if seal.after_crash() {
        report.crash_sealed.push(seg.clone());
        if attested < records {
            report.warnings.push(VerifyWarning {
                kind: if seal.version == 1 {
                    WarningKind::SealedWithoutAttestation
                } else {
                    WarningKind::Unattested
                },
                file: seg.clone(),
                first_record: seal.first_seq + attested,
                last_record: seal.first_seq + records - 1,
                count: records - attested,
            });
        }
    }
    if attested > 0
        && let Some(head) = walk.found.get(&(seal.first_seq + attested))
    {
        report.last_attested = Some(AttestedPoint {
            segment: seg.clone(),
            record: seal.first_seq + attested - 1,
            head: hex::encode(head),
        });
    }
    let hash = seal.seal_hash();
    report.last_seal = Some(hex::encode(hash));
    Ok(hash)
}

/// Walks the open segment and checks its checkpoints.
fn open_segment(
    dir: &Path,
    name: &SegmentName,
    key: &VerifyingKey,
    file: std::fs::File,
    walk: &mut Walk,
    buf: &mut Vec<u8>,
    report: &mut VerifyReport,
) -> Result<(), VerifyFailure> {
    let n = name.number;
    let seg = name.seg();
    let att_name = name.att();
    let fail = |kind, record, detail: String| {
        Err(VerifyFailure::new(kind, Some(&att_name), record, detail))
    };
    // The checkpoints first (a writer appends records before their
    // checkpoint, so every checkpoint read covers records on disk).
    let data = match std::fs::read(dir.join(&att_name)) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(VerifyFailure::new(
                FailureKind::Io,
                Some(&att_name),
                None,
                e.to_string(),
            ));
        }
    };
    let mut checkpoints: Vec<Attestation> = Vec::new();
    let complete = data.rsplit_once_newline();
    for (i, line) in complete.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let Some(a) = Attestation::parse(line) else {
            return fail(
                FailureKind::Malformed,
                None,
                format!("checkpoint line {} is malformed", i + 1),
            );
        };
        if a.segment != n || !a.verify(key) {
            return fail(
                FailureKind::Signature,
                None,
                format!(
                    "checkpoint line {} does not verify with the public key (forged?)",
                    i + 1
                ),
            );
        }
        if checkpoints.last().is_some_and(|p| a.records < p.records) || a.records <= walk.seq {
            return fail(
                FailureKind::Attestation,
                None,
                format!("checkpoint line {} goes back in the chain", i + 1),
            );
        }
        walk.want.insert(a.records);
        checkpoints.push(a);
    }
    let first = walk.seq;
    walk_segment(file, &seg, walk, false, buf)?;
    report.open_segment = Some(seg.clone());
    let mut attested_to = first;
    for a in &checkpoints {
        let found = walk.found.get(&a.records);
        if a.records > walk.seq {
            return Err(VerifyFailure::new(
                FailureKind::Attestation,
                Some(&seg),
                Some(walk.seq),
                format!(
                    "a signed checkpoint attests {} record(s), the segment holds records only up to {}: records {}..{} were removed after they were attested",
                    a.records,
                    walk.seq.saturating_sub(1),
                    walk.seq,
                    a.records - 1
                ),
            ));
        }
        if a.records > first && found != a.head().as_ref() {
            return Err(VerifyFailure::new(
                FailureKind::Attestation,
                Some(&seg),
                Some(a.records - 1),
                format!(
                    "record {} does not match the hash a signed checkpoint attested (records up to it were altered, removed or inserted after attestation)",
                    a.records - 1
                ),
            ));
        }
        attested_to = attested_to.max(a.records);
    }
    if let Some(a) = checkpoints.last()
        && a.records > first
    {
        report.last_attested = Some(AttestedPoint {
            segment: seg.clone(),
            record: a.records - 1,
            head: a.head.clone(),
        });
    }
    let after = walk.seq - attested_to;
    if after > 0 {
        if writer_running(dir) {
            report.pending = after;
        } else {
            report.warnings.push(VerifyWarning {
                kind: WarningKind::UnattestedOpen,
                file: seg,
                first_record: attested_to,
                last_record: walk.seq - 1,
                count: after,
            });
        }
    }
    Ok(())
}

/// The bytes up to the last newline (a torn last line is left out).
trait CompleteLines {
    fn rsplit_once_newline(&self) -> &[u8];
}

impl CompleteLines for Vec<u8> {
    fn rsplit_once_newline(&self) -> &[u8] {
        match memchr::memrchr(b'\n', self) {
            Some(i) => &self[..i],
            None => &[],
        }
    }
}

/// Checks a seal against the key and against where the chain stands before
/// its segment.
fn check_seal_head(
    seal: &Seal,
    key: &VerifyingKey,
    name: &SegmentName,
    walk: &Walk,
    prev_seal: &[u8; 32],
) -> Result<(), VerifyFailure> {
    let n = name.number;
    let seal_name = name.seal();
    let fail = |kind, detail: String| Err(VerifyFailure::new(kind, Some(&seal_name), None, detail));
    if !seal.verify(key) {
        return fail(
            FailureKind::Signature,
            "seal signature does not verify with the public key (forged or sealed with another key)".into(),
        );
    }
    if seal.segment != n {
        return fail(
            FailureKind::Seal,
            format!(
                "seal belongs to segment {} (segments reordered or duplicated)",
                SegmentName::new(seal.segment, name.node.as_deref()).seg()
            ),
        );
    }
    if seal.first_seq != walk.seq || seal.prev_hash() != Some(walk.prev) {
        return fail(
            FailureKind::Chain,
            format!(
                "segment starts at record {}, the chain is at record {} (segments reordered, removed or duplicated)",
                seal.first_seq, walk.seq
            ),
        );
    }
    if seal.prev_seal() != Some(*prev_seal) {
        return fail(
            FailureKind::Seal,
            "seal does not link to the previous seal".into(),
        );
    }
    Ok(())
}
