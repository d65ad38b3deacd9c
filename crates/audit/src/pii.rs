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

use crate::error::AuditError;
use crate::format;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The folder of month keys inside the audit directory.
pub(crate) const KEY_DIR: &str = "pii-keys";
const SEAL_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const WRAP_DOMAIN: &[u8] = b"sealpost-auditpk";

/// A 256-bit key, wiped when dropped.
#[derive(Clone)]
pub(crate) struct SecretKey(Zeroizing<[u8; 32]>);

impl SecretKey {
    fn generate() -> SecretKey {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(k.as_mut());
        SecretKey(k)
    }

    fn seal(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
            .expect("in-memory encryption cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != SEAL_VERSION {
            return None;
        }
        let cipher = XChaCha20Poly1305::new(self.0.as_ref().into());
        cipher
            .decrypt(
                XNonce::from_slice(&sealed[1..1 + NONCE_LEN]),
                Payload {
                    msg: &sealed[1 + NONCE_LEN..],
                    aad,
                },
            )
            .ok()
    }
}

/// Creates a master key file (32 random bytes, 0600, folder 0700) for a
/// log that has never been written: the first thing a new server does may
/// be to audit an account added before it ever started. The store reads
/// the same file at its first open.
fn create_master_key(path: &Path) -> Result<(), AuditError> {
    use std::os::unix::fs::OpenOptionsExt;
    let parent = path.parent().unwrap_or(Path::new("."));
    sealpost_durable::create_dir(parent).map_err(|e| AuditError::io(parent, e))?;
    let key = SecretKey::generate();
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut f) => f
            .write_all(key.0.as_ref())
            .and_then(|_| f.sync_all())
            .map_err(|e| AuditError::io(path, e))?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(AuditError::io(path, e)),
    }
    format::sync_dir(parent)
}

/// The key that wraps month keys, derived from the master key file
/// (created when `create` and missing).
fn wrap_key(master_key: &Path, create: bool) -> Result<SecretKey, AuditError> {
    use blake2::digest::{Mac, consts::U32};
    if master_key.as_os_str().is_empty() {
        return Err(AuditError::key(
            master_key,
            "no master key given to encrypt personal fields under (server.master_key)",
        ));
    }
    if create && !master_key.exists() {
        create_master_key(master_key)?;
    }
    let bytes = Zeroizing::new(std::fs::read(master_key).map_err(|e| {
        AuditError::key(
            master_key,
            format!("cannot read the master key that protects personal fields: {e}"),
        )
    })?);
    if bytes.len() != 32 {
        return Err(AuditError::key(
            master_key,
            format!("must be exactly 32 bytes, found {}", bytes.len()),
        ));
    }
    let mut mac = blake2::Blake2bMac::<U32>::new_with_salt_and_personal(&bytes, &[], WRAP_DOMAIN)
        .expect("32-byte key, 16-byte domain");
    mac.update(b"wrap month keys v1");
    let out: [u8; 32] = mac.finalize().into_bytes().into();
    Ok(SecretKey(Zeroizing::new(out)))
}

/// The UTC month (`YYYY-MM`) of a time in Unix milliseconds.
pub(crate) fn period_of(time_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(time_ms)
        .map(|t| t.format("%Y-%m").to_string())
        .unwrap_or_else(|| "0000-00".into())
}

/// The first millisecond after a `YYYY-MM` month.
pub(crate) fn period_end_ms(period: &str) -> Option<i64> {
    let (y, m) = period.split_once('-')?;
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    chrono::NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

/// A key id: `YYYY-MM.V`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct KeyId {
    pub period: String,
    pub version: u32,
}

impl KeyId {
    pub(crate) fn parse(s: &str) -> Option<KeyId> {
        let (period, v) = s.rsplit_once('.')?;
        let ok = period.len() == 7
            && period.as_bytes()[4] == b'-'
            && period
                .bytes()
                .enumerate()
                .all(|(i, b)| i == 4 || b.is_ascii_digit());
        let version = v.parse().ok().filter(|_| ok && !v.starts_with('+'))?;
        Some(KeyId {
            period: period.to_string(),
            version,
        })
    }

    fn file_name(&self) -> String {
        format!("{}.{}.key", self.period, self.version)
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.period, self.version)
    }
}

fn key_aad(id: &KeyId) -> Vec<u8> {
    format!("sealpost-audit-pii-key:{id}").into_bytes()
}

fn line_aad(seq: u64, id: &KeyId) -> Vec<u8> {
    format!("sealpost-audit-pii:{seq}:{id}").into_bytes()
}

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

fn line_bytes(line: &SealedLine) -> Vec<u8> {
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

/// Month keys: the writer's (creating) and the readers' (opening) view.
pub(crate) struct MonthKeys {
    dir: PathBuf,
    wrap: SecretKey,
    /// Keys opened so far; `None`: destroyed or unreadable.
    cache: HashMap<KeyId, Option<SecretKey>>,
    /// The key new lines of a month are sealed under (no folder listing
    /// per record).
    current: Option<(KeyId, SecretKey)>,
}

impl MonthKeys {
    /// Opens the key folder of the log in `audit_dir` under the master key;
    /// for a log that holds no segment yet, a missing master key is made.
    pub(crate) fn open(audit_dir: &Path, master_key: &Path) -> Result<MonthKeys, AuditError> {
        let fresh = format::list_segments(audit_dir).is_ok_and(|s| s.is_empty())
            && format::read_checkpoint(audit_dir).is_ok_and(|c| c.is_none());
        Self::open_as(audit_dir, master_key, fresh)
    }

    fn open_as(audit_dir: &Path, master_key: &Path, create: bool) -> Result<MonthKeys, AuditError> {
        Ok(MonthKeys {
            dir: audit_dir.join(KEY_DIR),
            wrap: wrap_key(master_key, create)?,
            cache: HashMap::new(),
            current: None,
        })
    }

    fn path(&self, id: &KeyId) -> PathBuf {
        self.dir.join(id.file_name())
    }

    /// Every key id on disk, ascending.
    pub(crate) fn list(&self) -> Result<Vec<KeyId>, AuditError> {
        list_ids(&self.dir)
    }

    /// The newest version of a month's key, if any.
    fn newest(&self, period: &str) -> Result<Option<KeyId>, AuditError> {
        Ok(self.list()?.into_iter().rfind(|k| k.period == period))
    }

    /// Opens a key by id (cached).
    pub(crate) fn get(&mut self, id: &KeyId) -> Option<SecretKey> {
        if let Some(k) = self.cache.get(id) {
            return k.clone();
        }
        let key = std::fs::read(self.path(id))
            .ok()
            .and_then(|w| self.wrap.open(&key_aad(id), &w))
            .and_then(|raw| {
                let raw = Zeroizing::new(raw);
                let arr: [u8; 32] = raw.as_slice().try_into().ok()?;
                Some(SecretKey(Zeroizing::new(arr)))
            });
        self.cache.insert(id.clone(), key.clone());
        key
    }

    /// Writes a new key version for `period` (the next after the newest).
    fn create(&mut self, period: &str) -> Result<(KeyId, SecretKey), AuditError> {
        let version = self.newest(period)?.map_or(0, |k| k.version + 1);
        let id = KeyId {
            period: period.to_string(),
            version,
        };
        sealpost_durable::create_dir(&self.dir).map_err(|e| AuditError::io(&self.dir, e))?;
        let key = SecretKey::generate();
        let wrapped = self.wrap.seal(&key_aad(&id), key.0.as_ref());
        format::write_atomic(&self.path(&id), &wrapped)?;
        self.cache.insert(id.clone(), Some(key.clone()));
        if self
            .current
            .as_ref()
            .is_some_and(|(c, _)| c.period == id.period)
        {
            self.current = Some((id.clone(), key.clone()));
        }
        Ok((id, key))
    }

    /// The key new lines of `period` are sealed under (created on first use).
    pub(crate) fn current(&mut self, period: &str) -> Result<(KeyId, SecretKey), AuditError> {
        if let Some((id, k)) = &self.current
            && id.period == period
        {
            return Ok((id.clone(), k.clone()));
        }
        let found = match self.newest(period)? {
            Some(id) => self.get(&id).map(|k| (id, k)),
            None => None,
        };
        let (id, key) = match found {
            Some(f) => f,
            None => self.create(period)?,
        };
        self.current = Some((id.clone(), key.clone()));
        Ok((id, key))
    }

    /// Destroys a key for good: zeroed in place, fsynced, unlinked.
    pub(crate) fn destroy(&mut self, id: &KeyId) -> Result<(), AuditError> {
        zero_and_remove(&self.path(id))?;
        self.cache.insert(id.clone(), None);
        if self.current.as_ref().is_some_and(|(c, _)| c == id) {
            self.current = None;
        }
        Ok(())
    }

    /// Seals `fields` of record `seq` at `time_ms` as a side-file line.
    pub(crate) fn seal_line(
        &mut self,
        seq: u64,
        time_ms: i64,
        fields: &Fields,
    ) -> Result<Vec<u8>, AuditError> {
        let (id, key) = self.current(&period_of(time_ms))?;
        Ok(seal_with(&id, &key, seq, time_ms, fields))
    }

    /// The fields of a line, if its key still exists.
    pub(crate) fn open_line(&mut self, line: &Line) -> Option<Fields> {
        match line {
            Line::Plain(p) => Some(p.fields.clone()),
            Line::Sealed(s) => {
                let id = KeyId::parse(&s.key)?;
                let key = self.get(&id)?;
                let sealed = base64::engine::general_purpose::STANDARD
                    .decode(&s.sealed)
                    .ok()?;
                let plain = key.open(&line_aad(s.seq, &id), &sealed)?;
                serde_json::from_slice(&plain).ok()
            }
        }
    }
}

fn seal_with(id: &KeyId, key: &SecretKey, seq: u64, time_ms: i64, fields: &Fields) -> Vec<u8> {
    let plain = Zeroizing::new(serde_json::to_vec(fields).expect("fields serialize"));
    let sealed = key.seal(&line_aad(seq, id), &plain);
    line_bytes(&SealedLine {
        seq,
        time_ms,
        key: id.to_string(),
        sealed: base64::engine::general_purpose::STANDARD.encode(sealed),
    })
}

/// Overwrites a file with zeros in place, fsyncs, unlinks it and fsyncs its
/// folder; a missing file is fine.
pub(crate) fn zero_and_remove(path: &Path) -> Result<(), AuditError> {
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(mut f) => {
            let len = f.metadata().map_err(|e| AuditError::io(path, e))?.len() as usize;
            f.write_all(&vec![0u8; len])
                .and_then(|_| f.sync_all())
                .map_err(|e| AuditError::io(path, e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(AuditError::io(path, e)),
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(AuditError::io(path, e)),
    }
    format::sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// The side files of the log, by segment number, from the start of the kept chain.
fn side_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, AuditError> {
    let start = format::read_checkpoint(dir)?.map_or(1, |cp| cp.segment);
    Ok(format::list_segments(dir)
        .map_err(|e| AuditError::io(dir, e))?
        .into_iter()
        .filter(|&n| n >= start)
        .map(|n| (n, dir.join(format::pii_name(n))))
        .filter(|(_, p)| p.exists())
        .collect())
}

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
    for (n, seq) in linked_records(dir, &doomed)? {
        let path = dir.join(format::pii_name(n));
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

/// The key ids in a key folder, ascending.
pub(crate) fn list_ids(dir: &Path) -> Result<Vec<KeyId>, AuditError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AuditError::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let name = entry.map_err(|e| AuditError::io(dir, e))?.file_name();
        if let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".key"))
            .and_then(KeyId::parse)
        {
            out.push(id);
        }
    }
    out.sort();
    Ok(out)
}

/// Destroys the keys of months that ended at or before `cutoff_ms` in the
/// log under `audit_dir` (no master key needed: destroying needs none);
/// returns how many key files went.
pub(crate) fn destroy_months_before(audit_dir: &Path, cutoff_ms: i64) -> Result<u64, AuditError> {
    let dir = audit_dir.join(KEY_DIR);
    let mut n = 0;
    for id in list_ids(&dir)? {
        if period_end_ms(&id.period).is_some_and(|end| end <= cutoff_ms) {
            zero_and_remove(&dir.join(id.file_name()))?;
            n += 1;
        }
    }
    Ok(n)
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
    doomed: &BTreeMap<u64, BTreeSet<u64>>,
) -> Result<Vec<(u64, u64)>, AuditError> {
    let start = format::read_checkpoint(dir)?.map_or(1, |cp| cp.segment);
    let segments: Vec<u64> = format::list_segments(dir)
        .map_err(|e| AuditError::io(dir, e))?
        .into_iter()
        .filter(|&n| n >= start)
        .collect();
    let lines = |n: u64| -> Result<Vec<u8>, AuditError> {
        let p = dir.join(format::seg_name(n));
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
