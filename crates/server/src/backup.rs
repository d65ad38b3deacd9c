//! `sealpost backup --out DIR`: a consistent copy of an embedded store,
//! taken from the running server through the admin socket (or offline when
//! none runs), incremental when DIR holds an earlier backup.
//!
//! What DIR holds (every path is in `manifest.json`, written last, with its
//! size and SHA-256; `restore` checks them all):
//!
//! | path | what |
//! |---|---|
//! | `metadata.rows` | every metadata row at one point in time (the store's dump format: `sealpost_store::ROWS_MAGIC`, `write_row`) |
//! | `blobs/ACCOUNT/BLOB` | the sealed message files those rows refer to |
//! | `account-keys/` | the accounts' data keys, wrapped by the master or restore key |
//! | `data/` | the rest of data_dir: audit log, outbound queue, saved accounts, ACME state... |
//! | `config/` | the config file and the accounts file as they were (not applied by restore) |
//! | `keys/` | only with `--include-keys`: master key, restore key, audit signing key |
//!
//! Consistency: the store takes the metadata snapshot under its commit lock
//! and keeps the blob files it lists in place (unlinks deferred, purges
//! waiting) until they are copied (`sealpost_store::BackupHold`). Blob files
//! are written once under a random id and never rewritten, so a blob
//! already in DIR with its size is not copied again. `manifest.json` is
//! removed first and written last: a backup cut short has none, and
//! `restore` refuses it.
//!
//! One writer at a time: a backup holds an exclusive `flock` on DIR itself
//! (no lock file is left in it) from before it touches the manifest until
//! the new manifest is written; a second backup into the same DIR is
//! refused at once, and `restore` takes a shared lock on DIR, so it never
//! reads a backup being written.

use crate::startup::Failure;
use sealpost_config::{Config, StoreBackend};
use sealpost_store::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The manifest's format.
pub const FORMAT: u32 = 1;
/// The manifest's name in DIR.
pub const MANIFEST: &str = "manifest.json";
/// Largest manifest read (some million files).
pub const MAX_MANIFEST: u64 = 256 * 1024 * 1024;
/// The metadata dump's name in DIR.
pub const ROWS: &str = "metadata.rows";

/// What DIR holds and how to check it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// When the metadata snapshot was taken (RFC 3339, UTC).
    pub created: String,
    /// The server's `[server] hostname` and the machine's name.
    pub node: String,
    /// The data_dir the backup was taken from.
    pub data_dir: String,
    /// Whether `keys/` holds the master, restore and audit signing keys.
    pub keys_included: bool,
    /// Rows in `metadata.rows`.
    pub metadata_rows: u64,
    /// Every file, sorted by path.
    pub files: Vec<FileEntry>,
}

/// One file of a backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative, `/`-separated.
    pub path: String,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// `sealpost backup`: through the running server, or offline.
pub fn cli(config_path: &Path, out: PathBuf, include_keys: bool) -> Result<(), Failure> {
    let config = crate::startup::load_config(config_path)?;
    if config.store.backend == StoreBackend::Postgresql {
        return Err(Failure::runtime(
            "backup: the PostgreSQL backend is backed up with pg_dump or point-in-time recovery of the database, plus data_dir and the keys (README, Operating)",
        ));
    }
    if include_keys {
        eprintln!(
            "sealpost: warning: --include-keys: this backup holds the master key; it is as sensitive as the mail itself (keep it encrypted and apart from the data backups)"
        );
    }
    let out = std::path::absolute(&out)
        .map_err(|e| Failure::runtime(format!("backup: {}: {e}", out.display())))?;
    let request = crate::admin::Request::Backup {
        out: out.clone(),
        include_keys,
    };
    let message =
        match crate::admin::request(&config.admin_socket(), &request).map_err(Failure::runtime)? {
            Some(r) if r.ok => {
                crate::startup::seen_here("backup", &out, &out.join(MANIFEST))?;
                r.message
            }
            Some(r) => return Err(Failure::runtime(r.message)),
            None => {
                crate::startup::require_store(&config, "backup")?;
                let store = crate::startup::open_store(&config)?;
                run(&config, &store, None, &out, include_keys)?
            }
        };
    println!("{message}");
    Ok(())
}

/// Takes the backup (in the server with its audit log, or offline);
/// returns the summary line.
pub fn run(
    config: &Config,
    store: &Store,
    audit: Option<&sealpost_audit::AuditLog>,
    out: &Path,
    include_keys: bool,
) -> Result<String, Failure> {
    let fail = |e: std::io::Error| Failure::runtime(format!("backup: {e}"));
    sealpost_durable::create_dir(out).map_err(fail)?;
    let _lock = lock_dir(out, true)?;
    let earlier = prepare(out)?;
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut files = BTreeMap::new();
    let mut counts = Counts::default();

    // 1. The metadata at one point in time, and the blob files it holds.
    let (hold, rows_entry, rows) = sealpost_durable::write_with(&out.join(ROWS), |f| {
        let mut w = Hashing::new(std::io::BufWriter::new(f));
        w.write_all(sealpost_store::ROWS_MAGIC)?;
        let mut rows = 0u64;
        let hold = store
            .backup_snapshot(&mut |k, v| {
                rows += 1;
                sealpost_store::write_row(&mut w, k, v)
            })
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let entry = w.finish(ROWS)?;
        Ok::<_, std::io::Error>((hold, entry, rows))
    })
    .map_err(fail)?;
    files.insert(ROWS.to_string(), rows_entry);
    for (name, bytes) in &hold.key_files {
        let entry = put(out, &format!("account-keys/{name}"), bytes).map_err(fail)?;
        files.insert(entry.path.clone(), entry);
    }
    for blob in &hold.blobs {
        let path = format!("blobs/{}", blob.rel);
        let kept = earlier.get(&path).filter(|e| {
            e.size == blob.len
                && std::fs::metadata(out.join(&path)).is_ok_and(|m| m.len() == blob.len)
        });
        let entry = match kept {
            Some(e) => {
                counts.unchanged += 1;
                e.clone()
            }
            None => {
                let source = hold.blob_path(blob);
                let bytes = std::fs::read(&source).map_err(|e| {
                    Failure::runtime(format!("backup: read {}: {e}", source.display()))
                })?;
                counts.copied += 1;
                counts.bytes += bytes.len() as u64;
                put(out, &path, &bytes).map_err(fail)?
            }
        };
        files.insert(path, entry);
    }
    let blob_count = hold.blobs.len();
    // Copied: unlinks and purges may go on.
    drop(hold);

    // 2. The rest of data_dir, the config and accounts file, the keys.
    if let Some(audit) = audit {
        audit.flush();
    }
    for (rel, source) in other_files(&config.server.data_dir).map_err(fail)? {
        if let Some(entry) = copy_file(out, &format!("data/{rel}"), &source).map_err(fail)? {
            counts.bytes += entry.size;
            files.insert(entry.path.clone(), entry);
        }
    }
    let mut extra = vec![
        ("config/sealpost.toml", config.path.clone()),
        ("config/accounts.toml", config.server.accounts.clone()),
    ];
    if include_keys {
        extra.extend(key_paths(config));
    }
    for (rel, source) in extra {
        if let Some(entry) = copy_file(out, rel, &source).map_err(fail)? {
            files.insert(entry.path.clone(), entry);
        }
    }
    counts.removed = remove_stale(out, &files).map_err(fail)?;

    let manifest = Manifest {
        format: FORMAT,
        created,
        node: node_name(config),
        data_dir: config.server.data_dir.display().to_string(),
        keys_included: include_keys,
        metadata_rows: rows,
        files: files.into_values().collect(),
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(Failure::runtime)?;
    sealpost_durable::write(&out.join(MANIFEST), &json).map_err(fail)?;
    let event = sealpost_audit::Event::BackupTaken {
        dir: out.display().to_string(),
        files: manifest.files.len() as u64,
        copied: counts.copied,
        keys_included: include_keys,
    };
    match audit {
        Some(audit) => audit.record_durable(event),
        None => crate::startup::open_audit(config)?.record_durable(event),
    }
    .map_err(|e| Failure::runtime(format!("backup: taken, but not audited: {e}")))?;
    Ok(format!(
        "backup in {}: {} metadata rows, {} blob files ({} copied, {} unchanged, {} removed), {} files in all, {} bytes copied; keys {}",
        out.display(),
        rows,
        blob_count,
        counts.copied,
        counts.unchanged,
        counts.removed,
        manifest.files.len(),
        counts.bytes,
        if include_keys {
            "included"
        } else {
            "not included (keep the master key and restore key apart)"
        }
    ))
}

#[derive(Default)]
struct Counts {
    copied: u64,
    unchanged: u64,
    removed: u64,
    bytes: u64,
}

/// Locks a backup folder: exclusively to write a backup into it, shared to
/// restore from it. Held while the returned file is open.
pub fn lock_dir(dir: &Path, exclusive: bool) -> Result<std::fs::File, Failure> {
    use rustix::fs::{FlockOperation, flock};
    let what = if exclusive { "backup" } else { "restore" };
    let f = std::fs::File::open(dir)
        .map_err(|e| Failure::runtime(format!("{what}: {}: {e}", dir.display())))?;
    let op = if exclusive {
        FlockOperation::NonBlockingLockExclusive
    } else {
        FlockOperation::NonBlockingLockShared
    };
    match flock(&f, op) {
        Ok(()) => Ok(f),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(Failure::runtime(format!(
            "{what}: {} is in use by a backup being written (or a restore reading it); try again when it is done",
            dir.display()
        ))),
        Err(e) => Err(Failure::runtime(format!(
            "{what}: {}: cannot lock: {e}",
            dir.display()
        ))),
    }
}

/// Creates DIR, or opens an earlier backup in it (whose manifest is removed
/// until this one is complete); refuses a folder holding anything else.
fn prepare(out: &Path) -> Result<BTreeMap<String, FileEntry>, Failure> {
    let fail = |e: std::io::Error| Failure::runtime(format!("backup: {e}"));
    sealpost_durable::create_dir(out).map_err(fail)?;
    let manifest = out.join(MANIFEST);
    if std::fs::metadata(&manifest).is_ok_and(|m| m.len() > MAX_MANIFEST) {
        return Err(Failure::runtime(format!(
            "backup: {} is over {MAX_MANIFEST} bytes: not a backup manifest",
            manifest.display()
        )));
    }
    let text = match std::fs::read(&manifest) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let empty = std::fs::read_dir(out).map_err(fail)?.next().is_none();
            if !empty {
                return Err(Failure::runtime(format!(
                    "backup: {} is not empty and holds no complete sealpost backup (no {MANIFEST})",
                    out.display()
                )));
            }
            return Ok(BTreeMap::new());
        }
        Err(e) => return Err(fail(e)),
    };
    let earlier: Manifest = serde_json::from_slice(&text).map_err(|e| {
        Failure::runtime(format!(
            "backup: {}: not a backup manifest: {e}",
            manifest.display()
        ))
    })?;
    std::fs::remove_file(&manifest).map_err(fail)?;
    sealpost_durable::sync_dir(out).map_err(fail)?;
    Ok(earlier
        .files
        .into_iter()
        .map(|e| (e.path.clone(), e))
        .collect())
}

/// The files of data_dir a backup copies besides the store's own (sled's
/// files, blobs and key files come from the snapshot): `(relative path,
/// source)`. Left out: the lock, the admin socket, the audit writer's
/// lock, temporary names, and the store's write-ahead log (`wal`: the
/// snapshot's rows already hold every change it logged, and replaying it
/// over restored rows would mix two points in time).
fn other_files(data_dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    const SKIP: [&str; 7] = [
        "lock",
        "admin.sock",
        "db",
        "wal",
        "blobs",
        "account-keys",
        "audit/writer.lock",
    ];
    let mut out = Vec::new();
    let mut pending = vec![(String::new(), data_dir.to_path_buf())];
    while let Some((prefix, dir)) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let rel = format!("{prefix}{}", name.to_string_lossy());
            if SKIP.contains(&rel.as_str()) || sealpost_durable::is_temporary(&name) {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push((format!("{rel}/"), entry.path()));
            } else if kind.is_file() {
                out.push((rel, entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The key files `--include-keys` adds.
fn key_paths(config: &Config) -> Vec<(&'static str, PathBuf)> {
    let master = &config.server.master_key;
    vec![
        ("keys/master.key", master.clone()),
        (
            "keys/restore.key",
            master
                .parent()
                .unwrap_or(Path::new("."))
                .join("restore.key"),
        ),
        ("keys/audit.key", config.server.audit_signing_key.clone()),
    ]
}

/// Copies `source` to `out/rel`; `None` if it is gone (a queue entry sent
/// meanwhile) or was never made (a restore key before the first deletion).
fn copy_file(out: &Path, rel: &str, source: &Path) -> std::io::Result<Option<FileEntry>> {
    match std::fs::read(source) {
        Ok(bytes) => put(out, rel, &bytes).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(std::io::Error::new(
            e.kind(),
            format!("read {}: {e}", source.display()),
        )),
    }
}

/// Writes `bytes` to `out/rel` durably (0600, folders 0700).
fn put(out: &Path, rel: &str, bytes: &[u8]) -> std::io::Result<FileEntry> {
    let path = out.join(rel);
    if let Some(parent) = path.parent() {
        sealpost_durable::create_dir(parent)?;
    }
    sealpost_durable::write(&path, bytes)?;
    Ok(FileEntry {
        path: rel.to_string(),
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
    })
}

/// Removes files of an earlier backup this one does not hold (expunged
/// blobs, sent queue entries); returns how many.
fn remove_stale(out: &Path, keep: &BTreeMap<String, FileEntry>) -> std::io::Result<u64> {
    let mut removed = 0;
    let mut pending = vec![(String::new(), out.to_path_buf())];
    let mut touched = BTreeSet::new();
    while let Some((prefix, dir)) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let rel = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.file_type()?.is_dir() {
                pending.push((format!("{rel}/"), entry.path()));
            } else if !keep.contains_key(&rel) && rel != MANIFEST {
                std::fs::remove_file(entry.path())?;
                touched.insert(dir.clone());
                removed += 1;
            }
        }
    }
    for dir in touched {
        sealpost_durable::sync_dir(&dir)?;
    }
    Ok(removed)
}

/// `[server] hostname` and the machine's own name.
fn node_name(config: &Config) -> String {
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    format!("{} ({machine})", config.server.hostname)
}

/// A writer that hashes and counts what passes through.
struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
    size: u64,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing {
            inner,
            hash: Sha256::new(),
            size: 0,
        }
    }
    fn finish(mut self, path: &str) -> std::io::Result<FileEntry> {
        self.inner.flush()?;
        Ok(FileEntry {
            path: path.to_string(),
            size: self.size,
            sha256: hex::encode(self.hash.finalize()),
        })
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
