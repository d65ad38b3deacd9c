//! The `.pii` side files, encrypted under keys that belong to a calendar
//! month (DESIGN.md promises 5 and 8).
//!
//! # Keys
//!
//! Each record's personal fields are sealed (XChaCha20-Poly1305) under the
//! key of the UTC month its time falls in (`2025-01`). Month keys are random
//! 256-bit keys kept in `audit/pii-keys/YYYY-MM.V.key` (0600), wrapped under
//! a key derived from the master key (BLAKE2b-256 keyed by the master key,
//! personalization `sealpost-auditpk`): nothing personal in the log is
//! readable without the master key, which lives outside data_dir.
//!
//! Destroying a month's key files (overwritten with zeros in place, then
//! unlinked) makes that month's personal fields unreadable for good,
//! wherever copies of the side files went (backups, old blocks). That is
//! how anonymization ([`crate::anonymize_before`]) finishes a month, and how
//! erasing a purged account's records ([`crate::AuditLog::erase_personal_data`])
//! makes sure the rewritten lines' old ciphertext dies with it: the months
//! it touches get a new key version (`V` + 1), every line of those months is
//! sealed again under it, and the old versions are destroyed.
//!
//! # Lines
//!
//! One JSON line per record that has personal fields:
//! `{"seq":N,"time_ms":T,"key":"2025-01.0","sealed":"<base64>"}`, where the
//! sealed bytes are `version (1) | nonce (24) | ciphertext+tag` of the JSON
//! list `[["<commitment hex>","<salt hex>","<value>"],...]`, with associated
//! data `sealpost-audit-pii:<seq>:<key id>` (a line moved to another record
//! or key fails to open). `seq` and `time_ms` stay readable: anonymization
//! drops lines by time without opening them.
//!
//! Side files of the previous format held the list in plaintext
//! (`"fields":[...]`); [`migrate_plaintext`] seals them at the writer's open.

mod erase;
mod keys;

pub use erase::EraseReport;
pub(crate) use erase::{collect_old_versions, erase_matching, migrate_plaintext};
#[cfg(test)]
pub(crate) use keys::{KEY_DIR, list_ids};
pub(crate) use keys::{KeyId, MonthKeys, destroy_months_before};

use crate::error::AuditError;
use crate::format;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The (commitment hex, salt hex, plaintext) triples of one record.
pub(crate) type Fields = Vec<(String, String, String)>;

/// A side-file line of the previous format: fields in plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlainLine {
    pub seq: u64,
    pub time_ms: i64,
    pub fields: Fields,
}

/// A side-file line as written now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SealedLine {
    pub seq: u64,
    pub time_ms: i64,
    pub key: String,
    pub sealed: String,
}

/// One side-file line, either format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    Plain(PlainLine),
    Sealed(SealedLine),
}

impl Line {
    pub(crate) fn parse(bytes: &[u8]) -> Option<Line> {
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        if bytes.len() > format::MAX_LINE_BYTES {
            return None;
        }
        serde_json::from_slice::<SealedLine>(bytes)
            .map(Line::Sealed)
            .or_else(|_| serde_json::from_slice::<PlainLine>(bytes).map(Line::Plain))
            .ok()
    }

    pub(crate) fn seq(&self) -> u64 {
        match self {
            Line::Plain(p) => p.seq,
            Line::Sealed(s) => s.seq,
        }
    }

    pub(crate) fn time_ms(&self) -> i64 {
        match self {
            Line::Plain(p) => p.time_ms,
            Line::Sealed(s) => s.time_ms,
        }
    }

    fn key_id(&self) -> Option<KeyId> {
        match self {
            Line::Plain(_) => None,
            Line::Sealed(s) => KeyId::parse(&s.key),
        }
    }
}

pub(super) fn line_bytes(line: &SealedLine) -> Vec<u8> {
    let mut v = serde_json::to_vec(line).expect("side lines serialize");
    v.push(b'\n');
    v
}

/// Every line of a side file with its bytes; lines that do not parse (torn,
/// damaged) are returned as `None` with their bytes.
/// A side-file line as read: parsed (if it parses) and its bytes.
pub(crate) type RawLine = (Option<Line>, Vec<u8>);

pub(crate) fn read_lines(path: &Path) -> Result<Vec<RawLine>, AuditError> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AuditError::io(path, e)),
    };
    Ok(data
        .split_inclusive(|&b| b == b'\n')
        .map(|l| {
            let parsed = l.ends_with(b"\n").then(|| Line::parse(l)).flatten();
            (parsed, l.to_vec())
        })
        .collect())
}

/// The side files of the log, by segment number, from the start of the kept chain.
pub(super) fn side_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, AuditError> {
    let start = format::read_checkpoint(dir)?.map_or(1, |cp| cp.segment);
    Ok(crate::names::list(dir)
        .map_err(|e| AuditError::io(dir, e))?
        .into_iter()
        .filter(|s| s.number >= start)
        .map(|s| (s.number, dir.join(s.pii())))
        .filter(|(_, p)| p.exists())
        .collect())
}

/// Whether a personal field's value names `address` (lower case): as the
/// whole value, inside a longer text (a bounce reason, a reload error), or
/// as a sub-address `local+tag@domain`; ASCII case-insensitive.
pub fn names_address(value: &str, address: &str) -> bool {
    let value = value.to_ascii_lowercase();
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let at_domain = format!("@{domain}");
    let mut from = 0;
    while let Some(i) = value[from..].find(&at_domain) {
        let at = from + i;
        let end = at + at_domain.len();
        let boundary = value[end..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'));
        let start = value[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c)))
            .map_or(0, |j| {
                j + value[j..].chars().next().map_or(1, char::len_utf8)
            });
        let base = value[start..at].split('+').next().unwrap_or("");
        if boundary && base == local {
            return true;
        }
        from = end;
    }
    false
}

/// The readers' view of the month keys (export, erasure checks).
pub struct PiiKeys {
    pub(crate) keys: parking_lot::Mutex<MonthKeys>,
}

impl PiiKeys {
    /// Opens the month keys of the log in `audit_dir` under the master key
    /// at `master_key` (needed to read personal fields: CSV export).
    pub fn open(audit_dir: &Path, master_key: &Path) -> Result<PiiKeys, AuditError> {
        Ok(PiiKeys {
            keys: parking_lot::Mutex::new(MonthKeys::open_as(audit_dir, master_key, false)?),
        })
    }

    /// The fields of a side line, if it parses and its key still exists.
    pub(crate) fn open_bytes(&self, bytes: &[u8]) -> Option<(u64, Fields)> {
        let line = Line::parse(bytes)?;
        let fields = self.keys.lock().open_line(&line)?;
        Some((line.seq(), fields))
    }
}

#[cfg(test)]
mod tests {
    use super::keys::{period_end_ms, period_of};
    use super::*;

    fn keys(dir: &Path) -> MonthKeys {
        let master = dir.join("master.key");
        if !master.exists() {
            std::fs::write(&master, [7u8; 32]).unwrap();
        }
        MonthKeys::open(&dir.join("audit"), &master).unwrap()
    }

    fn fields(v: &str) -> Fields {
        vec![("c".into(), "s".into(), v.into())]
    }

    #[test]
    fn periods_and_ends() {
        assert_eq!(period_of(0), "1970-01");
        let jan = chrono::NaiveDate::from_ymd_opt(2025, 1, 31)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        assert_eq!(period_of(jan), "2025-01");
        assert_eq!(period_end_ms("2025-01"), Some(jan + 1000));
        assert_eq!(period_of(period_end_ms("2024-12").unwrap()), "2025-01");
        assert_eq!(period_end_ms("2025-13"), None);
        assert_eq!(
            KeyId::parse("2025-01.3"),
            Some(KeyId {
                period: "2025-01".into(),
                version: 3
            })
        );
        for bad in [
            "2025-01",
            "2025-1.3",
            "abcd-01.3",
            "2025-01.+3",
            "2025-01.x",
        ] {
            assert_eq!(KeyId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn lines_are_sealed_and_bound_to_record_and_key() {
        let d = tempfile::tempdir().unwrap();
        let mut k = keys(d.path());
        let line = k
            .seal_line(5, 1_700_000_000_000, &fields("alice@example.org"))
            .unwrap();
        assert!(!String::from_utf8_lossy(&line).contains("alice"));
        let parsed = Line::parse(&line).unwrap();
        assert_eq!(k.open_line(&parsed), Some(fields("alice@example.org")));
        // Moved to another record: refused.
        let Line::Sealed(mut s) = parsed.clone() else {
            panic!()
        };
        s.seq = 6;
        assert_eq!(k.open_line(&Line::Sealed(s)), None);
        // Another master key opens nothing.
        std::fs::write(d.path().join("master.key"), [8u8; 32]).unwrap();
        let mut other = keys(d.path());
        assert_eq!(other.open_line(&parsed), None);
        // Key files are private.
        use std::os::unix::fs::PermissionsExt;
        for id in k.list().unwrap() {
            let mode = std::fs::metadata(k.path(&id)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn destroying_a_month_key_makes_its_lines_unreadable() {
        let d = tempfile::tempdir().unwrap();
        let mut k = keys(d.path());
        let jan = period_end_ms("2024-12").unwrap();
        let feb = period_end_ms("2025-01").unwrap();
        let a = Line::parse(&k.seal_line(1, jan, &fields("a")).unwrap()).unwrap();
        let b = Line::parse(&k.seal_line(2, feb, &fields("b")).unwrap()).unwrap();
        assert_eq!(
            destroy_months_before(&d.path().join("audit"), feb).unwrap(),
            1
        );
        let mut fresh = keys(d.path());
        assert_eq!(fresh.open_line(&a), None);
        assert_eq!(fresh.open_line(&b), Some(fields("b")));
    }

    #[test]
    fn addresses_are_found_in_values() {
        let a = "alice@example.org";
        for yes in [
            "alice@example.org",
            "Alice@Example.ORG",
            "<alice@example.org>: mailbox full",
            "alice+news@example.org",
            "550 5.1.1 <ALICE+x@example.org> unknown",
            "from ü<alice@example.org>",
        ] {
            assert!(names_address(yes, a), "{yes}");
        }
        for no in [
            "bob@example.org",
            "alice@example.org.evil",
            "alice@example.net",
            "calice@example.org",
            "é@example.org ü",
            "",
        ] {
            assert!(!names_address(no, a), "{no}");
        }
    }
}
