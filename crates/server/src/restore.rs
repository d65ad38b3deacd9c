//! `sealpost restore --from DIR`: a backup (`backup.rs`) into an empty
//! data_dir, every file checked against the manifest before anything is
//! written, and again as it is copied.
//!
//! Into data_dir go the metadata (a new sled database filled from
//! `metadata.rows`), the blob and key files and the rest of data_dir. The
//! accounts file and, from a backup taken with `--include-keys`, the keys
//! are put where the config names them only where nothing is yet; the
//! config file is never applied (it is in `DIR/config/` to compare). A
//! restore that fails leaves data_dir empty again. With the master key in
//! place, the restored store is opened to check it.

use crate::backup::{FORMAT, FileEntry, MANIFEST, MAX_MANIFEST, Manifest, ROWS};
use crate::startup::Failure;
use sealpost_config::{Config, StoreBackend};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// `sealpost restore --from DIR`.
pub fn cli(config_path: &Path, from: &Path) -> Result<(), Failure> {
    let config = crate::startup::load_config(config_path)?;
    if config.store.backend == StoreBackend::Postgresql {
        return Err(Failure::runtime(
            "restore: the config uses the PostgreSQL backend; a sealpost backup restores an embedded store",
        ));
    }
    let _lock = crate::backup::lock_dir(from, false)?;
    let manifest = read_manifest(from)?;
    let data_dir = &config.server.data_dir;
    refuse_non_empty(data_dir)?;
    let plan = plan(&config, &manifest)?;
    for (entry, _) in &plan {
        verify(from, entry, &mut std::io::sink())?;
    }
    let mut created = Vec::new();
    let result = copy_all(&config, from, &plan, &mut created);
    let summary = match result {
        Ok(s) => s,
        Err(f) => {
            undo(data_dir, &created);
            return Err(f);
        }
    };
    println!(
        "restored {} (taken {} on {}) into {}: {}",
        from.display(),
        manifest.created,
        manifest.node,
        data_dir.display(),
        summary
    );
    Ok(())
}

/// Where each file of the backup goes: `None` for files only checked
/// (`metadata.rows`, the saved config) or left alone (a key or accounts
/// file already in place).
fn plan(
    config: &Config,
    manifest: &Manifest,
) -> Result<Vec<(FileEntry, Option<PathBuf>)>, Failure> {
    let data_dir = &config.server.data_dir;
    let master = &config.server.master_key;
    let mut out = Vec::new();
    for entry in &manifest.files {
        let rel = safe_relative(&entry.path)?;
        let target = match entry.path.split_once('/') {
            Some(("blobs" | "account-keys", _)) => Some(data_dir.join(&rel)),
            Some(("data", rest)) => Some(data_dir.join(safe_relative(rest)?)),
            Some(("config", "accounts.toml")) => Some(config.server.accounts.clone()),
            Some(("config", "sealpost.toml")) => None,
            Some(("keys", "master.key")) => Some(master.clone()),
            Some(("keys", "restore.key")) => Some(
                master
                    .parent()
                    .unwrap_or(Path::new("."))
                    .join("restore.key"),
            ),
            Some(("keys", "audit.key")) => Some(config.server.audit_signing_key.clone()),
            None if entry.path == ROWS => None,
            _ => {
                return Err(Failure::runtime(format!(
                    "restore: the manifest names {}, which no backup holds",
                    entry.path
                )));
            }
        };
        // Outside data_dir, never overwrite: the operator's files win.
        let target = target.filter(|t| t.starts_with(data_dir) || !t.exists());
        out.push((entry.clone(), target));
    }
    if !manifest.files.iter().any(|e| e.path == ROWS) {
        return Err(Failure::runtime(format!(
            "restore: the manifest lacks {ROWS}"
        )));
    }
    Ok(out)
}

/// A manifest path as a relative path of plain names only.
fn safe_relative(path: &str) -> Result<PathBuf, Failure> {
    let p = Path::new(path);
    if path.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(Failure::runtime(format!(
            "restore: the manifest names an unsafe path: {path:?}"
        )));
    }
    Ok(p.to_path_buf())
}

fn read_manifest(from: &Path) -> Result<Manifest, Failure> {
    let path = from.join(MANIFEST);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > MAX_MANIFEST) {
        return Err(Failure::runtime(format!(
            "restore: {} is over {MAX_MANIFEST} bytes: not a backup manifest",
            path.display()
        )));
    }
    let text = std::fs::read(&path).map_err(|e| {
        Failure::runtime(format!(
            "restore: {} holds no complete sealpost backup ({}: {e})",
            from.display(),
            path.display()
        ))
    })?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| Failure::runtime(format!("restore: {}: {e}", path.display())))?;
    if manifest.format != FORMAT {
        return Err(Failure::runtime(format!(
            "restore: {}: format {} (this sealpost reads {FORMAT})",
            path.display(),
            manifest.format
        )));
    }
    Ok(manifest)
}

/// Restore writes only into an empty (or absent) data_dir.
fn refuse_non_empty(data_dir: &Path) -> Result<(), Failure> {
    match std::fs::read_dir(data_dir).map(|mut e| e.next().is_none()) {
        Ok(false) => Err(Failure::runtime(format!(
            "restore: {} is not empty; restore only into an empty data_dir",
            data_dir.display()
        ))),
        Ok(true) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Failure::runtime(format!(
            "restore: {}: {e}",
            data_dir.display()
        ))),
    }
}

/// Reads a file of the backup in pieces, checking its size and SHA-256;
/// each piece also goes to `sink` (nothing, or the restored copy). Memory
/// stays at one piece whatever the file's size.
fn verify(from: &Path, entry: &FileEntry, sink: &mut dyn std::io::Write) -> Result<(), Failure> {
    let path = from.join(&entry.path);
    let fail = |e: std::io::Error| Failure::runtime(format!("restore: {}: {e}", path.display()));
    let mut file = std::fs::File::open(&path).map_err(fail)?;
    let mut hash = Sha256::new();
    let mut size = 0u64;
    let mut piece = vec![0u8; PIECE];
    loop {
        let n = match std::io::Read::read(&mut file, &mut piece) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail(e)),
        };
        size += n as u64;
        if size > entry.size {
            break;
        }
        hash.update(&piece[..n]);
        sink.write_all(&piece[..n]).map_err(fail)?;
    }
    if size != entry.size || hex::encode(hash.finalize()) != entry.sha256 {
        return Err(damaged(&path));
    }
    Ok(())
}

/// The bytes read at a time.
const PIECE: usize = 64 * 1024;

fn damaged(path: &Path) -> Failure {
    Failure::runtime(format!(
        "restore: {} does not match the manifest (size or SHA-256): the backup is damaged",
        path.display()
    ))
}

/// Copies every planned file, then builds the metadata database and
/// checks the master key; returns the summary.
fn copy_all(
    config: &Config,
    from: &Path,
    plan: &[(FileEntry, Option<PathBuf>)],
    created: &mut Vec<PathBuf>,
) -> Result<String, Failure> {
    let fail = |e: std::io::Error| Failure::runtime(format!("restore: {e}"));
    let data_dir = &config.server.data_dir;
    sealpost_durable::create_dir(data_dir).map_err(fail)?;
    let (mut blobs, mut keys, mut others) = (0u64, 0u64, 0u64);
    for (entry, target) in plan {
        let Some(target) = target else { continue };
        if let Some(parent) = target.parent() {
            sealpost_durable::create_dir(parent).map_err(fail)?;
        }
        // Checked again as it is copied; a mismatch leaves no file.
        sealpost_durable::write_with(target, |f| {
            let mut out = std::io::BufWriter::new(f);
            verify(from, entry, &mut out)?;
            out.flush()
                .map_err(|e| Failure::runtime(format!("restore: {}: {e}", target.display())))
        })?;
        if !target.starts_with(data_dir) {
            created.push(target.clone());
        }
        match entry.path.split_once('/').map(|p| p.0) {
            Some("blobs") => blobs += 1,
            Some("account-keys") => keys += 1,
            _ => others += 1,
        }
    }
    let rows_entry = plan
        .iter()
        .map(|(e, _)| e)
        .find(|e| e.path == ROWS)
        .expect("planned");
    verify(from, rows_entry, &mut std::io::sink())?;
    // Verified whole just above; read again row by row (one row in memory).
    let dump = std::fs::File::open(from.join(ROWS)).map_err(fail)?;
    let mut rows = sealpost_store::RowReader::new(std::io::BufReader::new(dump)).map_err(fail)?;
    let count = sealpost_store::Store::restore_metadata(data_dir, &mut rows)
        .map_err(|e| Failure::runtime(format!("restore: {e}")))?;
    let check = if config.server.master_key.exists() {
        let store = crate::startup::open_store(config)?;
        let accounts = store
            .accounts()
            .map_err(|e| Failure::runtime(format!("restore: {e}")))?;
        format!("the master key opens it ({} accounts)", accounts.len())
    } else {
        format!(
            "put the master key at {} before starting (it is not in this backup)",
            config.server.master_key.display()
        )
    };
    Ok(format!(
        "{count} metadata rows, {blobs} blob files, {keys} account key files, {others} other files, every checksum verified; {check}"
    ))
}

/// Empties data_dir again and removes the files put outside it.
fn undo(data_dir: &Path, created: &[PathBuf]) {
    if let Ok(entries) = std::fs::read_dir(data_dir) {
        for entry in entries.flatten() {
            let p = entry.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
    for p in created {
        let _ = std::fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_manifest_paths_are_refused() {
        for bad in ["../x", "/etc/passwd", "blobs/../../x", ""] {
            assert!(safe_relative(bad).is_err(), "{bad}");
        }
        assert!(safe_relative("blobs/0000000000000001/ab").is_ok());
    }
}
