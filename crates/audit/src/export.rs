//! `sealpost audit export --csv`: the log as RFC 4180 CSV, for operators,
//! data subjects (GDPR Art. 15) and regulators.
//!
//! One header row, then one row per record with the same columns
//! ([`COLUMNS`]); fields holding a comma, quote, CR or LF are quoted with
//! quotes doubled; rows end with CRLF (RFC 4180 section 2). Personal fields
//! are shown from the side files when their commitment checks out, as
//! `[anonymized]` once anonymization erased them. A text cell that starts
//! with `=`, `+`, `-`, `@`, TAB or CR gets a leading `'` so a spreadsheet
//! opening the file does not run it as a formula (OWASP "CSV injection").
//! Fields no column names go to `details` as `key=value; ...`.
//!
//! Personal fields are sealed under month keys wrapped by the master key
//! (`pii`), so exporting them needs it ([`PiiKeys`]); a month whose key was
//! destroyed (anonymized) shows `[anonymized]`.
//!
//! The `attested` column says whether a signature covers the record: `yes`
//! (a seal or a checkpoint), `no` (sealed after a crash as unattested, or
//! sealed after a crash by a version without checkpoints), `pending` (the
//! open segment, after its last checkpoint).
//!
//! Export reads what is flushed, like [`crate::verify`], but does not check
//! seals or chain links: run `verify` for that.

use crate::Event;
use crate::error::AuditError;
use crate::event::Kind;
use crate::format;
use crate::names::{self, SegmentName};
use crate::pii::PiiKeys;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

/// Which records to export; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// Records naming this address (any of `account`, `sender`,
    /// `recipient`, `recipients`; ASCII case-insensitive). Anonymized
    /// records no longer name anyone.
    pub account: Option<String>,
    /// Records at or after this Unix time (seconds).
    pub since: Option<i64>,
    /// Records before this Unix time (seconds).
    pub until: Option<i64>,
    /// Records of this kind.
    pub kind: Option<Kind>,
}

/// The columns, in order.
pub const COLUMNS: [&str; 19] = [
    "seq",
    "time",
    "time_ms",
    "kind",
    "event",
    "protocol",
    "outcome",
    "account",
    "remote",
    "tls",
    "id",
    "message_id",
    "sender",
    "recipients",
    "recipient",
    "size",
    "reason",
    "details",
    "attested",
];

/// Shown for a personal field whose plaintext was erased.
pub const ANONYMIZED: &str = "[anonymized]";

/// Writes the records under `dir` that match `filter` to `out` as CSV,
/// personal fields opened with `keys`; returns the number of rows (header
/// excluded).
pub fn export_csv(
    dir: &Path,
    keys: &PiiKeys,
    filter: &ExportFilter,
    out: &mut impl Write,
) -> Result<u64, AuditError> {
    let werr = |e: std::io::Error| AuditError::Export(e.to_string());
    write_row(out, COLUMNS.iter().map(|c| c.to_string())).map_err(werr)?;
    let mut rows = 0u64;
    let mut source = Rows::new(dir, keys, filter)?;
    while let Some((_, cells)) = source.next_row()? {
        write_row(out, cells).map_err(werr)?;
        rows += 1;
    }
    out.flush().map_err(werr)?;
    Ok(rows)
}

/// Several nodes' logs as one CSV, in time order (ties: the node, then
/// each log's own order), with a last column `node` naming each row's log
/// by the node id in its segment names, or by its label in `logs` when
/// the names carry none (written before node ids). Each log is read with its own month keys
/// (a cluster's nodes share the master key that wraps them). Streams: one
/// record per log in memory at a time.
pub fn export_csv_merged(
    logs: &[(&str, &Path, &PiiKeys)],
    filter: &ExportFilter,
    out: &mut impl Write,
) -> Result<u64, AuditError> {
    let werr = |e: std::io::Error| AuditError::Export(e.to_string());
    write_row(
        out,
        COLUMNS
            .iter()
            .map(|c| c.to_string())
            .chain(["node".to_string()]),
    )
    .map_err(werr)?;
    let mut sources = Vec::with_capacity(logs.len());
    let mut heads = Vec::with_capacity(logs.len());
    let mut nodes = Vec::with_capacity(logs.len());
    for (label, dir, keys) in logs {
        let mut source = Rows::new(dir, keys, filter)?;
        nodes.push(source.node.clone().unwrap_or_else(|| label.to_string()));
        heads.push(source.next_row()?);
        sources.push(source);
    }
    let mut rows = 0u64;
    loop {
        let next = heads
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.as_ref().map(|(t, _)| (*t, &nodes[i], i)))
            .min();
        let Some((_, _, i)) = next else { break };
        let (_, mut cells) = heads[i].take().expect("chosen head is there");
        cells.push(nodes[i].clone());
        write_row(out, cells).map_err(werr)?;
        rows += 1;
        heads[i] = sources[i].next_row()?;
    }
    out.flush().map_err(werr)?;
    Ok(rows)
}

/// The rows of one log that match a filter, in the log's order.
pub(crate) struct Rows<'a> {
    dir: &'a Path,
    keys: &'a PiiKeys,
    filter: &'a ExportFilter,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    wanted: Option<String>,
    pubkey: Option<ed25519_dalek::VerifyingKey>,
    segments: std::vec::IntoIter<SegmentName>,
    /// The node id in the log's segment names, if any.
    pub(crate) node: Option<String>,
    current: Option<Segment>,
    line: Vec<u8>,
}

/// The segment being read.
struct Segment {
    path: std::path::PathBuf,
    reader: BufReader<std::io::Take<std::fs::File>>,
    pii: PiiMap,
    /// Up to which sequence number a signature covers.
    attested_to: u64,
    /// What the records after it are (`no` or `pending`).
    after: &'static str,
}

impl<'a> Rows<'a> {
    pub(crate) fn new(
        dir: &'a Path,
        keys: &'a PiiKeys,
        filter: &'a ExportFilter,
    ) -> Result<Self, AuditError> {
        let start = format::read_checkpoint(dir)?.map_or(1, |cp| cp.segment);
        let segments = names::list(dir).map_err(|e| AuditError::io(dir, e))?;
        let node = names::node_of(&segments).map(str::to_string);
        let segments: Vec<SegmentName> =
            segments.into_iter().filter(|s| s.number >= start).collect();
        Ok(Rows {
            dir,
            keys,
            filter,
            since_ms: filter.since.map(|s| s.saturating_mul(1000)),
            until_ms: filter.until.map(|s| s.saturating_mul(1000)),
            wanted: filter.account.as_deref().map(str::to_ascii_lowercase),
            pubkey: crate::keys::read_public_key(&dir.join(format::PUBKEY_FILE)).ok(),
            segments: segments.into_iter(),
            node,
            current: None,
            line: Vec::new(),
        })
    }

    fn open_segment(&self, name: &SegmentName) -> Result<Segment, AuditError> {
        let dir = self.dir;
        let path = dir.join(name.seg());
        // The writer flushes a side line before its record line: take the
        // segment's length first, then the side file, so every record read
        // finds its side line (an open segment grows meanwhile).
        let file = std::fs::File::open(&path).map_err(|e| AuditError::io(&path, e))?;
        let limit = file.metadata().map_err(|e| AuditError::io(&path, e))?.len();
        let pii = read_pii(&dir.join(name.pii()), self.keys)?;
        let (attested_to, after) = match format::read_seal(&dir.join(name.seal())) {
            Ok(seal) => (seal.first_seq + seal.attested_records(), "no"),
            Err(_) => {
                let covered = self
                    .pubkey
                    .as_ref()
                    .and_then(|k| crate::attest::read(dir, name, k).ok())
                    .and_then(|f| f.last().map(|a| a.records))
                    .unwrap_or(0);
                (covered, "pending")
            }
        };
        Ok(Segment {
            path,
            reader: BufReader::with_capacity(1 << 20, file.take(limit)),
            pii,
            attested_to,
            after,
        })
    }

    /// The next matching row with its time, or `None` at the end.
    pub(crate) fn next_row(&mut self) -> Result<Option<(i64, Vec<String>)>, AuditError> {
        loop {
            if self.current.is_none() {
                let Some(name) = self.segments.next() else {
                    return Ok(None);
                };
                self.current = Some(self.open_segment(&name)?);
            }
            let seg = self.current.as_mut().expect("opened above");
            self.line.clear();
            let got = (&mut seg.reader)
                .take(format::MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut self.line)
                .map_err(|e| AuditError::io(&seg.path, e))?;
            if got == 0 || self.line.last() != Some(&b'\n') {
                // The end, or a line still being written.
                self.current = None;
                continue;
            }
            self.line.pop();
            let value: Value = serde_json::from_slice(&self.line)
                .map_err(|e| AuditError::format(&seg.path, format!("bad record: {e}")))?;
            let Some(record) = value.as_object() else {
                return Err(AuditError::format(&seg.path, "bad record: not an object"));
            };
            let time_ms = record.get("time_ms").and_then(Value::as_i64).unwrap_or(0);
            if self.since_ms.is_some_and(|s| time_ms < s)
                || self.until_ms.is_some_and(|u| time_ms >= u)
            {
                continue;
            }
            let tag = record.get("event").and_then(Value::as_str).unwrap_or("");
            let kind = Kind::of_tag(tag);
            if self.filter.kind.is_some_and(|k| k != kind) {
                continue;
            }
            let row = Row::new(&value, record, &seg.pii);
            if let Some(w) = &self.wanted
                && !row.names(w)
            {
                continue;
            }
            let seq = record.get("seq").and_then(Value::as_u64).unwrap_or(0);
            let mut cells = row.cells(record, kind);
            cells.push(
                if seq < seg.attested_to {
                    "yes"
                } else {
                    seg.after
                }
                .to_string(),
            );
            return Ok(Some((time_ms, cells)));
        }
    }
}

type PiiMap = HashMap<String, (String, String)>;

fn read_pii(path: &Path, keys: &PiiKeys) -> Result<PiiMap, AuditError> {
    let mut map = HashMap::new();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(map),
        Err(e) => return Err(AuditError::io(path, e)),
    };
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    loop {
        line.clear();
        let got = (&mut reader)
            .take(format::MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| AuditError::io(path, e))?;
        if got == 0 || line.last() != Some(&b'\n') {
            break;
        }
        // A damaged side line, or one whose month key is destroyed, only
        // costs its own fields ([anonymized]).
        if let Some((_, fields)) = keys.open_bytes(&line) {
            for (c, salt, value) in fields {
                map.insert(c, (salt, value));
            }
        }
    }
    Ok(map)
}

/// The plaintext behind a commitment, if the side file still has it and it
/// matches.
fn reveal(commit: &str, pii: &PiiMap) -> Option<String> {
    let c = commit.strip_prefix(format::COMMIT_PREFIX)?;
    let (salt, value) = pii.get(c)?;
    let salt = hex::decode(salt).ok()?;
    (hex::encode(format::commitment(&salt, value)) == c).then(|| value.clone())
}

/// A record's personal fields, resolved.
struct Row {
    personal: HashMap<String, Value>,
}

impl Row {
    fn new(value: &Value, record: &Map<String, Value>, pii: &PiiMap) -> Row {
        let fields: Vec<String> = match <Event as serde::Deserialize>::deserialize(value) {
            Ok(e) => e.personal_fields().iter().map(|s| s.to_string()).collect(),
            // A variant this build does not know: trust the commitment shape.
            Err(_) => record
                .iter()
                .filter(|(_, v)| match v {
                    Value::String(s) => is_commitment(s),
                    Value::Array(a) => a.iter().any(|v| v.as_str().is_some_and(is_commitment)),
                    _ => false,
                })
                .map(|(k, _)| k.clone())
                .collect(),
        };
        let resolve = |v: &Value| match v {
            Value::String(s) => Value::String(reveal(s, pii).unwrap_or_else(|| ANONYMIZED.into())),
            other => other.clone(),
        };
        let personal = fields
            .into_iter()
            .filter_map(|k| {
                let v = record.get(&k)?;
                let v = match v {
                    Value::Array(items) => Value::Array(items.iter().map(resolve).collect()),
                    v => resolve(v),
                };
                Some((k, v))
            })
            .collect();
        Row { personal }
    }

    /// Whether one of the address fields names `wanted` (lower case).
    fn names(&self, wanted: &str) -> bool {
        ["account", "sender", "recipient", "recipients"]
            .iter()
            .filter_map(|k| self.personal.get(*k))
            .any(|v| match v {
                Value::String(s) => s.eq_ignore_ascii_case(wanted),
                Value::Array(a) => a
                    .iter()
                    .any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(wanted))),
                _ => false,
            })
    }

    fn cells(&self, record: &Map<String, Value>, kind: Kind) -> Vec<String> {
        let get = |k: &str| self.personal.get(k).or_else(|| record.get(k));
        let mut cells = Vec::with_capacity(COLUMNS.len());
        let time_ms = record.get("time_ms").and_then(Value::as_i64).unwrap_or(0);
        for col in COLUMNS.iter().take(COLUMNS.len() - 1) {
            let col = *col;
            let cell = match col {
                "seq" => record.get("seq").map(render).unwrap_or_default(),
                "time" => chrono::DateTime::from_timestamp_millis(time_ms)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                    .unwrap_or_default(),
                "time_ms" => time_ms.to_string(),
                "kind" => kind.as_str().to_string(),
                "details" => {
                    let mut parts = Vec::new();
                    for (k, v) in record {
                        if matches!(k.as_str(), "seq" | "time_ms" | "prev")
                            || COLUMNS.contains(&k.as_str())
                        {
                            continue;
                        }
                        parts.push(format!("{k}={}", render(get(k).unwrap_or(v))));
                    }
                    defuse(parts.join("; "))
                }
                "size" => get(col).map(render).unwrap_or_default(),
                _ => defuse(get(col).map(render).unwrap_or_default()),
            };
            cells.push(cell);
        }
        cells
    }
}

fn is_commitment(s: &str) -> bool {
    s.strip_prefix(format::COMMIT_PREFIX)
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A JSON value as cell text: strings as they are, lists joined by `;`.
fn render(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(render).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

/// Prefixes text a spreadsheet would take for a formula with `'`.
fn defuse(s: String) -> String {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{s}"),
        _ => s,
    }
}

/// Writes one RFC 4180 row.
fn write_row(out: &mut impl Write, cells: impl IntoIterator<Item = String>) -> std::io::Result<()> {
    let mut line = String::new();
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        if cell.contains([',', '"', '\r', '\n']) {
            line.push('"');
            line.push_str(&cell.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(&cell);
        }
    }
    line.push_str("\r\n");
    out.write_all(line.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> String {
        let mut out = Vec::new();
        write_row(&mut out, cells.iter().map(|s| s.to_string())).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quoting_follows_rfc_4180() {
        assert_eq!(row(&["a", "b"]), "a,b\r\n");
        assert_eq!(row(&["a,b", "c"]), "\"a,b\",c\r\n");
        assert_eq!(row(&["say \"hi\""]), "\"say \"\"hi\"\"\"\r\n");
        assert_eq!(row(&["x\r\ny"]), "\"x\r\ny\"\r\n");
        assert_eq!(row(&["", ""]), ",\r\n");
    }

    #[test]
    fn formulas_are_defused() {
        for s in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(defuse(s.into()), format!("'{s}"));
        }
        assert_eq!(defuse("a=1".into()), "a=1");
        assert_eq!(defuse(String::new()), "");
    }
}
