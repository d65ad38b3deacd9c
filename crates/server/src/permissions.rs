//! Every file sealpost creates is 0600 and every folder 0700, whatever the
//! umask it was started with: `main` sets the process umask to 077 before
//! anything else (so files made by libraries, such as sled's, follow too),
//! and the places that create files also pass those modes explicitly.
//!
//! What was made before (an older version, an operator's copy, a restore
//! from backup) may be more open: [`warnings`] walks data_dir and the key
//! files (master key, restore key, audit signing key, TLS key, witness) and
//! returns one line for each file or folder that its group or others can
//! read, write or enter; `serve` and `check-config` print them.

use sealpost_config::{Config, Witness};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Most lines printed; the rest is counted.
pub const MAX_LINES: usize = 20;

/// Makes every file and folder created from here on private to the
/// server's user (umask 077).
pub fn private_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// One line per file or folder under data_dir or among the keys that is
/// open to its group or others.
pub fn warnings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    walk(&config.server.data_dir, &mut out);
    let mut keys: Vec<PathBuf> = vec![
        config.server.master_key.clone(),
        config
            .server
            .master_key
            .parent()
            .unwrap_or(Path::new("/"))
            .join("restore.key"),
        config.server.audit_signing_key.clone(),
        config.tls.key.clone(),
    ];
    if let Witness::File(p) = &config.audit.witness {
        keys.push(p.clone());
    }
    let mut dirs: Vec<PathBuf> = keys
        .iter()
        .filter_map(|k| k.parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    for p in dirs.iter().chain(keys.iter()) {
        check(p, &mut out);
    }
    out
}

fn check(path: &Path, out: &mut Vec<String>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 && !meta.file_type().is_symlink() {
        let what = if meta.is_dir() { "folder" } else { "file" };
        let want = if meta.is_dir() { "700" } else { "600" };
        out.push(format!(
            "{what} {} is open to others (mode {mode:04o}); chmod {want} it",
            path.display()
        ));
    }
}

fn walk(dir: &Path, out: &mut Vec<String>) {
    check(dir, out);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, out),
            Ok(_) => check(&path, out),
            Err(_) => {}
        }
    }
}

/// Whether two paths' folders are on the same filesystem (`None`: unknown).
pub fn same_device(a: &Path, b: &Path) -> Option<bool> {
    let dev = |p: &Path| {
        p.ancestors()
            .find_map(|x| std::fs::metadata(x).ok())
            .map(|m| m.dev())
    };
    Some(dev(a)? == dev(b)?)
}

/// Prints the warnings, one line each (at most [`MAX_LINES`], then a count).
pub fn print(lines: &[String], sink: &mut dyn FnMut(&str)) {
    for l in lines.iter().take(MAX_LINES) {
        sink(l);
    }
    if lines.len() > MAX_LINES {
        sink(&format!(
            "... and {} more file(s) or folder(s) open to others",
            lines.len() - MAX_LINES
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn open_files_and_folders_are_named_once_each() {
        let d = tempfile::tempdir().unwrap();
        let cfg = d.path().join("sealpost.toml");
        std::fs::write(&cfg, "").unwrap();
        let config = Config::load(&cfg).unwrap();
        let data = &config.server.data_dir;
        std::fs::create_dir_all(data.join("blobs")).unwrap();
        std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(data.join("blobs"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        std::fs::write(data.join("blobs/x"), "x").unwrap();
        std::fs::set_permissions(data.join("blobs/x"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        std::fs::write(data.join("ok"), "x").unwrap();
        std::fs::set_permissions(data.join("ok"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let w = warnings(&config);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("folder") && w[0].contains("0755") && w[0].contains("chmod 700"));
        assert!(
            w[1].contains("blobs/x") && w[1].contains("chmod 600"),
            "{w:?}"
        );
        let mut printed = Vec::new();
        let many: Vec<String> = (0..25).map(|i| i.to_string()).collect();
        print(&many, &mut |l| printed.push(l.to_string()));
        assert_eq!(printed.len(), MAX_LINES + 1);
        assert!(printed.last().unwrap().contains("and 5 more"));
    }
}
