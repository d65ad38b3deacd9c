//! Rewriting side files: sealing lines of the previous plaintext format,
//! erasing a purged account's fields (under new key versions), and
//! collecting key versions no line uses any more.

use super::keys::{KeyId, MonthKeys, period_of, seal_with};
use super::{Line, names_address, read_lines, side_files};
use crate::error::AuditError;
use crate::format;
use crate::names::{self, SegmentName};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// Seals every plaintext line (previous format) of the log's side files
/// under its month key; returns the number of files rewritten.
pub(crate) fn migrate_plaintext(dir: &Path, keys: &mut MonthKeys) -> Result<u64, AuditError> {
    let mut files = 0;
    for (_, path) in side_files(dir)? {
        // Files are written in one format: the first line tells.
        let lines = read_lines(&path)?;
        if !lines.iter().any(|(l, _)| matches!(l, Some(Line::Plain(_)))) {
            continue;
        }
        let mut out = Vec::new();
        for (line, bytes) in lines {
            match line {
                Some(Line::Plain(p)) => {
                    out.extend_from_slice(&keys.seal_line(p.seq, p.time_ms, &p.fields)?)
                }
                Some(Line::Sealed(_)) => out.extend_from_slice(&bytes),
                // Unreadable plaintext cannot be sealed: dropped (an erasure).
                None => {}
            }
        }
        format::write_atomic(&path, &out)?;
        files += 1;
    }
    if files > 0 {
        tracing::info!(
            files,
            "sealed the personal fields of audit side files written in plaintext by an earlier version"
        );
    }
    Ok(files)
}

/// What [`crate::AuditLog::erase_personal_data`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EraseReport {
    /// Records whose personal fields were erased.
    pub records: u64,
    /// Personal fields erased.
    pub fields: u64,
    /// Side files rewritten.
    pub files: u64,
    /// Month keys replaced (their old versions destroyed).
    pub months: u64,
}

/// Erases every personal field of every record one of whose personal fields
/// names one of `addresses` (see [`names_address`]), in every side file of
/// the log; the months touched get a new key version and the old versions
/// are destroyed. The caller makes sure no segment is open.
pub(crate) fn erase_matching(
    dir: &Path,
    keys: &mut MonthKeys,
    addresses: &[String],
) -> Result<EraseReport, AuditError> {
    let addresses: Vec<String> = addresses
        .iter()
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| a.contains('@'))
        .collect();
    let files = side_files(dir)?;
    let mut report = EraseReport::default();
    // Pass 1: which lines go, and which months they belong to.
    let mut doomed: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    let mut months: BTreeSet<String> = BTreeSet::new();
    for (n, path) in &files {
        for (line, _) in read_lines(path)? {
            let Some(line) = line else { continue };
            let Some(fields) = keys.open_line(&line) else {
                continue;
            };
            if fields
                .iter()
                .any(|(_, _, v)| addresses.iter().any(|a| names_address(v, a)))
            {
                doomed.entry(*n).or_default().insert(line.seq());
                report.records += 1;
                report.fields += fields.len() as u64;
                months.insert(
                    line.key_id()
                        .map_or_else(|| period_of(line.time_ms()), |k| k.period),
                );
            }
        }
    }
    if doomed.is_empty() {
        return Ok(report);
    }
    // Records of the same messages (our message id: queued, relayed,
    // bounced for a message the account sent or received) name its
    // correspondents without naming it: they go too.
    let segments = names::list(dir).map_err(|e| AuditError::io(dir, e))?;
    for (n, seq) in linked_records(dir, &segments, &doomed)? {
        let path = dir.join(names::name_in(&segments, n).pii());
        if !doomed.get(&n).is_some_and(|d| d.contains(&seq)) {
            for (line, _) in read_lines(&path)? {
                if let Some(line) = line
                    && line.seq() == seq
                {
                    report.records += 1;
                    report.fields += keys.open_line(&line).map_or(0, |f| f.len() as u64);
                    months.insert(
                        line.key_id()
                            .map_or_else(|| period_of(line.time_ms()), |k| k.period),
                    );
                }
            }
            doomed.entry(n).or_default().insert(seq);
        }
    }
    // Pass 2: a new key per month touched; every line of those months
    // sealed again under it, the doomed ones left out.
    let old: Vec<KeyId> = keys
        .list()?
        .into_iter()
        .filter(|k| months.contains(&k.period))
        .collect();
    let mut fresh = HashMap::new();
    for m in &months {
        fresh.insert(m.clone(), keys.create(m)?);
    }
    for (n, path) in &files {
        let lines = read_lines(path)?;
        let gone = doomed.get(n);
        let mut changed = false;
        let mut out = Vec::with_capacity(lines.iter().map(|(_, b)| b.len()).sum());
        for (line, bytes) in lines {
            let Some(line) = line else {
                out.extend_from_slice(&bytes);
                continue;
            };
            if gone.is_some_and(|g| g.contains(&line.seq())) {
                changed = true;
                continue;
            }
            let month = line
                .key_id()
                .map_or_else(|| period_of(line.time_ms()), |k| k.period);
            match fresh.get(&month) {
                Some((id, key)) => {
                    let Some(fields) = keys.open_line(&line) else {
                        // Its key is gone already: nothing readable to keep.
                        changed = true;
                        continue;
                    };
                    out.extend_from_slice(&seal_with(id, key, line.seq(), line.time_ms(), &fields));
                    changed = true;
                }
                None => out.extend_from_slice(&bytes),
            }
        }
        if changed {
            format::write_atomic(path, &out)?;
            report.files += 1;
        }
    }
    // Pass 3: the old versions go; what they sealed is unreadable anywhere.
    for id in old {
        keys.destroy(&id)?;
    }
    report.months = months.len() as u64;
    Ok(report)
}

/// The `"id":"..."` value of a record line, if it has one.
fn message_id_of(line: &[u8]) -> Option<&[u8]> {
    let key = b"\"id\":\"";
    let at = memchr::memmem::find(line, key)? + key.len();
    let end = memchr::memchr(b'"', &line[at..])?;
    Some(&line[at..at + end])
}

/// (segment, seq) of every record that shares a message id with one of
/// the `doomed` records (two scans of the kept segments, at reading speed;
/// a purge is rare).
fn linked_records(
    dir: &Path,
    all: &[SegmentName],
    doomed: &BTreeMap<u64, BTreeSet<u64>>,
) -> Result<Vec<(u64, u64)>, AuditError> {
    let start = format::read_checkpoint(dir)?.map_or(1, |cp| cp.segment);
    let segments: Vec<u64> = all
        .iter()
        .map(|s| s.number)
        .filter(|&n| n >= start)
        .collect();
    let lines = |n: u64| -> Result<Vec<u8>, AuditError> {
        let p = dir.join(names::name_in(all, n).seg());
        std::fs::read(&p).map_err(|e| AuditError::io(&p, e))
    };
    let mut ids: BTreeSet<Vec<u8>> = BTreeSet::new();
    for &n in &segments {
        let Some(wanted) = doomed.get(&n) else {
            continue;
        };
        for line in lines(n)?.split(|&b| b == b'\n') {
            if let Ok(head) = format::parse_head(line)
                && wanted.contains(&head.seq)
                && let Some(id) = message_id_of(line)
                && !id.is_empty()
            {
                ids.insert(id.to_vec());
            }
        }
    }
    let mut out = Vec::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for &n in &segments {
        for line in lines(n)?.split(|&b| b == b'\n') {
            if let Some(id) = message_id_of(line)
                && ids.contains(id)
                && let Ok(head) = format::parse_head(line)
            {
                out.push((n, head.seq));
            }
        }
    }
    Ok(out)
}

/// Destroys every key version that is not the newest of its month and that
/// no side-file line uses (left by an erasure cut short by a crash).
pub(crate) fn collect_old_versions(dir: &Path, keys: &mut MonthKeys) -> Result<u64, AuditError> {
    let all = keys.list()?;
    let mut newest: HashMap<&str, u32> = HashMap::new();
    for k in &all {
        let v = newest.entry(&k.period).or_insert(0);
        *v = (*v).max(k.version);
    }
    let stale: Vec<&KeyId> = all
        .iter()
        .filter(|k| newest.get(k.period.as_str()) != Some(&k.version))
        .collect();
    if stale.is_empty() {
        return Ok(0);
    }
    let mut used = BTreeSet::new();
    for (_, path) in side_files(dir)? {
        for (line, _) in read_lines(&path)? {
            if let Some(id) = line.and_then(|l| l.key_id()) {
                used.insert(id);
            }
        }
    }
    let mut n = 0;
    for id in stale {
        if !used.contains(id) {
            keys.destroy(id)?;
            n += 1;
        }
    }
    Ok(n)
}
