//! Month keys: random per-month keys wrapped under the master key, each
//! line sealed under its month's key, and destroyed (zeroed, unlinked) to
//! make a month's personal fields unreadable for good.

use super::{Fields, Line, SealedLine, line_bytes};
use crate::error::AuditError;
use crate::format;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::collections::HashMap;
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
        let fresh = crate::names::list(audit_dir).is_ok_and(|s| s.is_empty())
            && format::read_checkpoint(audit_dir).is_ok_and(|c| c.is_none());
        Self::open_as(audit_dir, master_key, fresh)
    }

    pub(super) fn open_as(
        audit_dir: &Path,
        master_key: &Path,
        create: bool,
    ) -> Result<MonthKeys, AuditError> {
        Ok(MonthKeys {
            dir: audit_dir.join(KEY_DIR),
            wrap: wrap_key(master_key, create)?,
            cache: HashMap::new(),
            current: None,
        })
    }

    pub(super) fn path(&self, id: &KeyId) -> PathBuf {
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
    pub(super) fn create(&mut self, period: &str) -> Result<(KeyId, SecretKey), AuditError> {
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

pub(super) fn seal_with(
    id: &KeyId,
    key: &SecretKey,
    seq: u64,
    time_ms: i64,
    fields: &Fields,
) -> Vec<u8> {
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
