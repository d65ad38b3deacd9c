//! Start-up: find where the chain stands and seal a tail left open by a crash.
//!
//! The last segment may lack its seal after kill -9 or power loss. Its
//! complete lines are checked against the chain (sequence and hash links from
//! the last seal); from the first line that is incomplete (a torn write) or
//! does not link, the rest is cut off, and the side file is cut to the same
//! records. Then the segment's signed checkpoints (`attest`) say how many of
//! the records the writer had attested: the segment is sealed as
//! `recovered` with that count, so the records after it are sealed as
//! *unattested*, never blessed as genuine (`verify` names them, `--strict`
//! fails on them, the CSV marks them). If the records the last checkpoint
//! attested are not all there as attested (altered, removed, or a line
//! inserted among them), the seal says so (`claimed` > `attested`) and
//! verification fails; the segment as found is kept beside it
//! (`NNNNNNNNNNNN.seg.damaged-<unix time>`) whenever complete lines are cut.
//!
//! The writer then records an [`crate::Event::AuditTailRecovered`] as the
//! first event of the next segment, and [`crate::AuditLog::recovered_tail`]
//! reports it.

use crate::attest;
use crate::error::AuditError;
use crate::format::{self, GENESIS, Seal, SealKind};
use crate::names::{self, SegmentName};
use ed25519_dalek::SigningKey;
use std::path::Path;

/// A segment that was found unsealed at start and sealed then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredTail {
    /// The segment file name (`000000000007.seg`).
    pub segment: String,
    /// Complete records kept.
    pub records: u64,
    /// Bytes cut off the end (a torn last line, or lines that did not link).
    pub torn_bytes: u64,
    /// Of the records kept, those no signed checkpoint covered (sealed as
    /// unattested).
    pub unattested: u64,
    /// Records the last signed checkpoint claimed that are missing or
    /// altered (0 after an honest crash; more is tampering or disk damage,
    /// and verification fails).
    pub lost_attested: u64,
}

/// Where the chain stands: what the next record and seal link to.
#[derive(Debug, Clone)]
pub(crate) struct ChainState {
    pub next_segment: u64,
    pub next_seq: u64,
    pub prev_hash: [u8; 32],
    pub prev_seal: [u8; 32],
}

/// Finds the chain state in `dir`, sealing an unsealed last segment.
pub(crate) fn recover(
    dir: &Path,
    key: &SigningKey,
) -> Result<(ChainState, Option<RecoveredTail>), AuditError> {
    let mut state = match format::read_checkpoint(dir)? {
        Some(cp) => ChainState {
            next_segment: cp.segment,
            next_seq: cp.seq,
            prev_hash: cp
                .prev_hash()
                .ok_or_else(|| AuditError::format(&dir.join(format::CHECKPOINT), "bad hash"))?,
            prev_seal: cp
                .prev_seal()
                .ok_or_else(|| AuditError::format(&dir.join(format::CHECKPOINT), "bad hash"))?,
        },
        None => ChainState {
            next_segment: 1,
            next_seq: 0,
            prev_hash: GENESIS,
            prev_seal: GENESIS,
        },
    };
    let segments = names::list(dir).map_err(|e| AuditError::io(dir, e))?;
    remove_temporaries(dir);
    let Some(last) = segments.last() else {
        return Ok((state, None));
    };
    // The last sealed segment gives the chain state; an unsealed one after it
    // is the crashed tail.
    let last_sealed = segments.iter().rev().find(|n| dir.join(n.seal()).exists());
    if let Some(name) = last_sealed {
        let path = dir.join(name.seal());
        let seal = format::read_seal(&path)?;
        if !seal.verify(&key.verifying_key()) {
            tracing::warn!(seal = %path.display(), "last audit seal does not verify with the signing key; run `sealpost audit verify`");
        }
        let bad = || AuditError::format(&path, "bad hash");
        state = ChainState {
            next_segment: name.number + 1,
            next_seq: seal.first_seq + seal.records,
            prev_hash: seal.last_hash().ok_or_else(bad)?,
            prev_seal: seal.seal_hash(),
        };
    }
    let sealed_to = last_sealed.map_or(0, |s| s.number);
    for n in segments.iter().filter(|n| n.number < last.number) {
        if n.number > sealed_to && !dir.join(n.seal()).exists() {
            tracing::warn!(segment = %n.seg(), "unsealed audit segment before the last one; left as is");
        }
    }
    if last_sealed == Some(last) {
        return Ok((state, None));
    }
    if last.number < state.next_segment {
        // Only possible with an unsealed segment before the checkpoint.
        return Ok((state, None));
    }
    state.next_segment = last.number;
    let tail = seal_tail(dir, key, last, &mut state)?;
    Ok((state, Some(tail)))
}

/// Removes what an interrupted atomic write (seal, side-file rewrite,
/// checkpoint) left behind: `*.tmp` files are never read.
fn remove_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "tmp") {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Cuts the unsealed segment `state.next_segment` to its valid records and
/// seals it as recovered, attested as far as its checkpoints go.
fn seal_tail(
    dir: &Path,
    key: &SigningKey,
    name: &SegmentName,
    state: &mut ChainState,
) -> Result<RecoveredTail, AuditError> {
    let n = name.number;
    let seg_path = dir.join(name.seg());
    let data = std::fs::read(&seg_path).map_err(|e| AuditError::io(&seg_path, e))?;
    let checkpoints = attest::read(dir, name, &key.verifying_key())?;
    let start_hash = state.prev_hash;
    let first_seq = state.next_seq;
    let mut good_len = 0usize;
    let mut records = 0u64;
    let mut first_time = None;
    let mut last_time = None;
    let mut pos = 0usize;
    // The checkpoints that match the chain as found: (records, head).
    let mut attested_to = first_seq;
    let matches = |count: u64, head: &[u8; 32]| {
        checkpoints
            .valid
            .iter()
            .any(|a| a.records == count && a.head().as_ref() == Some(head))
    };
    while let Some(nl) = memchr::memchr(b'\n', &data[pos..]) {
        let line = &data[pos..pos + nl];
        let Ok(head) = format::parse_head(line) else {
            break;
        };
        if line.len() > format::MAX_LINE_BYTES
            || head.seq != state.next_seq
            || head.prev != state.prev_hash
        {
            break;
        }
        state.prev_hash = format::sha256(line);
        state.next_seq += 1;
        if matches(state.next_seq, &state.prev_hash) {
            attested_to = state.next_seq;
        }
        records += 1;
        first_time.get_or_insert(head.time_ms);
        last_time = Some(head.time_ms);
        pos += nl + 1;
        good_len = pos;
    }
    let claimed_to = checkpoints
        .last()
        .map_or(first_seq, |a| a.records.max(first_seq));
    let attested = attested_to - first_seq;
    let claimed = claimed_to - first_seq;
    let torn_bytes = (data.len() - good_len) as u64;
    let cut_lines = data[good_len..].contains(&b'\n');
    if cut_lines || claimed > attested {
        // Complete lines cut, or attested records not as attested: keep
        // the segment as found for whoever investigates.
        let copy = dir.join(format!(
            "{}.damaged-{}",
            name.seg(),
            chrono::Utc::now().timestamp()
        ));
        std::fs::write(&copy, &data).map_err(|e| AuditError::io(&copy, e))?;
        tracing::error!(
            segment = %name.seg(),
            copy = %copy.display(),
            "the unsealed audit segment holds lines that do not link or lacks attested records; kept a copy"
        );
    }
    if torn_bytes > 0 {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&seg_path)
            .map_err(|e| AuditError::io(&seg_path, e))?;
        f.set_len(good_len as u64)
            .and_then(|_| f.sync_all())
            .map_err(|e| AuditError::io(&seg_path, e))?;
    }
    trim_pii(&dir.join(name.pii()), first_seq, state.next_seq)?;
    let mut seal = Seal::v2(
        n,
        first_seq,
        records,
        good_len as u64,
        (first_time, last_time),
        &start_hash,
        &state.prev_hash,
        &state.prev_seal,
        SealKind::Recovered,
        attested,
        claimed,
        torn_bytes,
    );
    seal.sign(key);
    format::write_atomic(&dir.join(name.seal()), &seal.to_bytes())?;
    let _ = std::fs::remove_file(dir.join(name.att()));
    state.prev_seal = seal.seal_hash();
    state.next_segment = n + 1;
    let tail = RecoveredTail {
        segment: name.seg(),
        records,
        torn_bytes,
        unattested: records - attested,
        lost_attested: claimed.saturating_sub(attested),
    };
    tracing::warn!(
        segment = %tail.segment,
        records,
        unattested = tail.unattested,
        lost_attested = tail.lost_attested,
        torn_bytes,
        "audit segment was left unsealed (crash); sealed it as recovered, its unattested records marked as such"
    );
    Ok(tail)
}

/// Keeps only the complete side-file lines of records `first..end`.
fn trim_pii(path: &Path, first: u64, end: u64) -> Result<(), AuditError> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(AuditError::io(path, e)),
    };
    let mut kept = Vec::with_capacity(data.len());
    for line in data.split_inclusive(|&b| b == b'\n') {
        if !line.ends_with(b"\n") {
            continue;
        }
        match crate::pii::Line::parse(line) {
            Some(p) if (first..end).contains(&p.seq()) => kept.extend_from_slice(line),
            _ => {}
        }
    }
    if kept.len() != data.len() {
        format::write_atomic(path, &kept)?;
    }
    Ok(())
}
