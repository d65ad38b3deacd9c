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
//!
//! A CLI command run as root leaves nothing in the service's folders that
//! the service's user cannot use ([`hand_back`]).

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

/// After a CLI command run as root (an administrator's `sudo sealpost
/// ...`), gives back to the service's user whatever the command left in
/// the service's folders under root's name: the files of sled and of the
/// audit log that an offline command made in data_dir, and anything else
/// not written through `sealpost_durable` (which already gives a new file
/// its folder's owner). Without this the service, running as its own user,
/// could not read them at its next start. The service's folders are
/// data_dir (everything under it) and the folders of the keys, the TLS
/// pair and the accounts file (what is directly in them), each when it
/// belongs to a user other than root: an entry whose owner or group
/// differs from its folder's takes the folder's. Folders of root's (the
/// config's `/etc/sealpost`) are left alone, and so is everything when not
/// run as root. Returns one line per entry that could not be changed.
pub fn hand_back(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    if !rustix::process::geteuid().is_root() {
        return problems;
    }
    give_back(&config.server.data_dir, true, &mut problems);
    let mut files: Vec<&Path> = vec![
        &config.server.master_key,
        &config.server.audit_signing_key,
        &config.tls.key,
        &config.tls.cert,
        &config.server.accounts,
    ];
    if let Witness::File(p) = &config.audit.witness {
        files.push(p);
    }
    let mut dirs: Vec<&Path> = files.iter().filter_map(|f| f.parent()).collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        if dir != config.server.data_dir {
            give_back(dir, false, &mut problems);
        }
    }
    problems
}

/// Gives the entries of `dir` (and below, when `deep`) its owner and
/// group, if `dir` belongs to a user other than root.
fn give_back(dir: &Path, deep: bool, problems: &mut Vec<String>) {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() || meta.uid() == 0 {
        return;
    }
    let owner = (meta.uid(), meta.gid());
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            // lstat: a symbolic link is changed itself, never followed.
            let Ok(m) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if (m.uid(), m.gid()) != owner
                && let Err(e) = std::os::unix::fs::lchown(&path, Some(owner.0), Some(owner.1))
            {
                problems.push(format!(
                    "could not give {} to uid {} gid {}: {e}",
                    path.display(),
                    owner.0,
                    owner.1
                ));
            }
            if deep && m.is_dir() {
                pending.push(path);
            }
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
