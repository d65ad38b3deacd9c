//! sealpost-durable: the one way sealpost puts a file on disk so that it
//! survives a crash or a power cut, and the one way it makes a private folder.
//!
//! Every file sealpost writes whole (seals, checkpoints, keys, queue entries,
//! message blobs, the accounts file, exports...) goes through [`write`] or
//! one of its variants:
//!
//! 1. the content goes to a temporary name in the same folder
//!    (`.NAME.PID.N.tmp`, see [`is_temporary`]), created with mode 0600 and
//!    then set to 0600 explicitly, so the umask can neither widen nor narrow it;
//! 2. the temporary file is fsynced (its data and size are on disk);
//! 3. it is renamed over the final name (atomic on POSIX file systems: a
//!    reader, or the next start after a crash, sees the old content or the
//!    new one, never a mix);
//! 4. the folder is fsynced, so the rename itself is on disk: without this
//!    step an acknowledged write can vanish on power loss (ext4, xfs).
//!
//! Ownership: a file that is replaced keeps its owner and group; a new file
//! or folder takes the owner and group of the folder it is made in, when
//! the process may give it (as root: the CLI run by an administrator leaves
//! nothing in the service's folders that the service cannot read). A
//! process that may not (not root) keeps its own, as any program would.
//! The mode is 0600 again after every write, so a file of secrets (the
//! accounts file's hashes) left more open is closed at its next change;
//! [`write_keeping_mode`] keeps a replaced file's mode instead, for a file
//! an administrator made for others to read (the config, root's, which the
//! service reads through its group: 0640 `root:sealpost`).
//!
//! A crash leaves at most a temporary file behind; it is never read under the
//! final name, and callers that sweep their folders recognise it with
//! [`is_temporary`]. Folders are created 0700 ([`create_dir`]), again set
//! explicitly whatever the umask.
//!
//! Errors are [`std::io::Error`]s that keep the [`std::io::ErrorKind`] of the
//! failure and say which step failed on which path (`cannot fsync folder
//! /var/lib/sealpost/queue: Input/output error`); each crate maps them to its
//! own error type.
//!
//! Only Unix is supported (modes, folder fsync).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The mode of every file written here.
pub const FILE_MODE: u32 = 0o600;
/// The mode of every folder created here.
pub const DIR_MODE: u32 = 0o700;

/// The ending of every temporary name (see [`is_temporary`]).
const TEMP_SUFFIX: &str = ".tmp";

/// Replaces (or creates) `path` with `bytes`, durably and atomically: after
/// a crash at any point, `path` holds its old content or `bytes`, whole; once
/// this returns, `bytes` survives a power cut. The file is 0600.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |f| f.write_all(bytes))
}

/// Like [`write`], with the content streamed by `fill` into the temporary
/// file (an export too large for memory). `fill` must write everything and
/// flush any buffer of its own before it returns; when it fails, the
/// temporary file is removed, `path` is left as it was, and its error is
/// returned unchanged.
pub fn write_with<T, E>(path: &Path, fill: impl FnOnce(&mut File) -> Result<T, E>) -> Result<T, E>
where
    E: From<io::Error>,
{
    let (value, tmp) = stage(path, false, fill)?;
    replace(&tmp, path)?;
    sync_dir(folder(path))?;
    Ok(value)
}

/// Like [`write`], except that a replaced file keeps its mode (a new one
/// is 0600): for a file an administrator made for others to read, such as
/// the config that the service reads through its group (0640
/// `root:sealpost`), which a 0600 rewrite would hide from the service.
pub fn write_keeping_mode(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let ((), tmp) = stage(path, true, |f| f.write_all(bytes))?;
    replace(&tmp, path)?;
    sync_dir(folder(path))
}

/// Like [`write`], with the folder fsync (step 4) left to `sync_folder`,
/// which is given the folder and must fsync it before returning, for
/// instance through a group commit that lets concurrent writers share one
/// folder fsync. The write is durable once `sync_folder` has returned `Ok`.
pub fn write_then_sync_dir(
    path: &Path,
    bytes: &[u8],
    sync_folder: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let ((), tmp) = stage(path, false, |f| f.write_all(bytes))?;
    replace(&tmp, path)?;
    sync_folder(folder(path))
}

/// Creates `path` with `bytes`, durably, only if nothing is there yet: two
/// processes racing to create the same file (a key generated on first start)
/// cannot overwrite each other, and the loser gets an error of kind
/// [`io::ErrorKind::AlreadyExists`] with `path` untouched. The file appears
/// whole or not at all (written under a temporary name, then hard-linked into
/// place). The file is 0600.
pub fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let ((), tmp) = stage(path, false, |f| f.write_all(bytes))?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    linked.map_err(|e| failed("create", path, e))?;
    sync_dir(folder(path))
}

/// A file written piece by piece as its content arrives (a message read
/// from the network), with the same guarantees as [`write`]: the pieces go
/// to a temporary name (0600) and [`Staged::commit_then_sync_dir`] fsyncs,
/// renames and has the folder fsynced. Dropped without a commit, the
/// temporary file is removed and `path` is untouched.
#[derive(Debug)]
pub struct Staged {
    file: Option<File>,
    tmp: PathBuf,
    path: PathBuf,
}

impl Staged {
    /// Starts writing `path` (its folder must exist).
    pub fn create(path: &Path) -> io::Result<Staged> {
        let (file, tmp) = create_temporary(path, false)?;
        Ok(Staged {
            file: Some(file),
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// Appends `bytes`.
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f
                .write_all(bytes)
                .map_err(|e| failed("write", &self.tmp, e)),
            None => Err(failed(
                "write",
                &self.tmp,
                io::Error::other("already committed"),
            )),
        }
    }

    /// Steps 2 to 4: fsync, rename over `path`, and `sync_folder` given
    /// the folder (as [`write_then_sync_dir`] does). Durable once this
    /// returns `Ok`.
    pub fn commit_then_sync_dir(
        mut self,
        sync_folder: impl FnOnce(&Path) -> io::Result<()>,
    ) -> io::Result<()> {
        let file = self.file.take().expect("a staged file is committed once");
        let synced = file.sync_all();
        drop(file);
        if let Err(e) = synced {
            let _ = fs::remove_file(&self.tmp);
            return Err(failed("fsync", &self.tmp, e));
        }
        replace(&self.tmp, &self.path)?;
        sync_folder(folder(&self.path))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Moves a file that is already on disk (written and fsynced) to `to`,
/// replacing whatever was there, and fsyncs the folder(s) so the move
/// survives a power cut.
pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to).map_err(|e| failed("rename into place", to, e))?;
    if folder(from) != folder(to) {
        sync_dir(folder(from))?;
    }
    sync_dir(folder(to))
}

/// fsyncs a folder, so that creations, renames and removals in it survive
/// a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| failed("fsync folder", dir, e))
}

/// Creates `dir` and any missing parent, each new one 0700 whatever the
/// umask, and fsyncs the folder above each new one so the creation is
/// durable. Folders that already exist keep their mode (an operator's
/// choice). An existing file of that name is an error.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(failed(
                "create folder",
                dir,
                io::Error::new(io::ErrorKind::AlreadyExists, "a file is in the way"),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(failed("create folder", dir, e)),
    }
    let above = folder(dir);
    if above != dir {
        create_dir(above)?;
    }
    match fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
        Ok(()) => {}
        // Another thread or process made it meanwhile: theirs to set up.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(failed("create folder", dir, e)),
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
        .map_err(|e| failed("set the mode of", dir, e))?;
    // The owner and group of the folder above, as for a new file.
    if let (Ok(now), Ok(parent)) = (fs::metadata(dir), fs::metadata(above)) {
        give(now, (parent.uid(), parent.gid()), |uid, gid| {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid))
        })
        .map_err(|e| failed("set the owner of", dir, e))?;
    }
    sync_dir(above)
}

/// Gives a new temporary `file`, about to become `path` in `dir`, the mode
/// and ownership it must have (see the module docs): the owner and group
/// of the file it replaces (and its mode, with `keep_mode`), or those of
/// `dir`; 0600 otherwise. A change of owner the process may not make (not
/// root) is left out.
fn fit(file: &File, path: &Path, dir: &Path, keep_mode: bool) -> io::Result<()> {
    let (mode, owner) = match fs::metadata(path) {
        Ok(old) => (
            if keep_mode {
                old.permissions().mode() & 0o777
            } else {
                FILE_MODE
            },
            Some((old.uid(), old.gid())),
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => (
            FILE_MODE,
            fs::metadata(dir).ok().map(|d| (d.uid(), d.gid())),
        ),
        Err(e) => return Err(e),
    };
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    if let Some(owner) = owner {
        give(file.metadata()?, owner, |uid, gid| {
            std::os::unix::fs::fchown(file, Some(uid), Some(gid))
        })?;
    }
    Ok(())
}

/// Changes the owner and group of what `now` describes to `want` through
/// `chown`, if they differ; a refusal (`EPERM`: not root) leaves them.
fn give(
    now: fs::Metadata,
    want: (u32, u32),
    chown: impl FnOnce(u32, u32) -> io::Result<()>,
) -> io::Result<()> {
    if (now.uid(), now.gid()) == want {
        return Ok(());
    }
    match chown(want.0, want.1) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Ok(()),
        other => other,
    }
}

/// Whether a file name is one of the temporary names used here (what an
/// interrupted write leaves behind; safe to delete when sweeping a folder
/// that only this process writes). Such names start with `.` and end with
/// `.tmp`.
pub fn is_temporary(name: &OsStr) -> bool {
    let name = name.as_encoded_bytes();
    name.starts_with(b".") && name.ends_with(TEMP_SUFFIX.as_bytes())
}

/// The folder a path is in (`.` for a bare file name).
fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// An error that keeps the kind of `e` and names the step and the path.
fn failed(step: &str, path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("cannot {step} {}: {e}", path.display()))
}

/// Steps 1 and 2: a new temporary file beside `path`, 0600, filled by
/// `fill`, fsynced and closed. Returns `fill`'s value and the temporary path;
/// on failure nothing is left behind.
fn stage<T, E>(
    path: &Path,
    keep_mode: bool,
    fill: impl FnOnce(&mut File) -> Result<T, E>,
) -> Result<(T, PathBuf), E>
where
    E: From<io::Error>,
{
    let (mut file, tmp) = create_temporary(path, keep_mode)?;
    let value = match fill(&mut file) {
        Ok(v) => v,
        Err(e) => {
            drop(file);
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if let Err(e) = file.sync_all() {
        drop(file);
        let _ = fs::remove_file(&tmp);
        return Err(failed("fsync", &tmp, e).into());
    }
    Ok((value, tmp))
}

/// Step 3; the temporary file is removed if the rename fails.
fn replace(tmp: &Path, path: &Path) -> io::Result<()> {
    fs::rename(tmp, path).map_err(|e| {
        let _ = fs::remove_file(tmp);
        failed("rename into place", path, e)
    })
}

/// Creates a temporary file beside `path` that nobody else is using.
fn create_temporary(path: &Path, keep_mode: bool) -> io::Result<(File, PathBuf)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        failed(
            "write",
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "not a file name"),
        )
    })?;
    let dir = folder(path);
    let mut attempts = 0;
    loop {
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".{}.{}{TEMP_SUFFIX}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let tmp = dir.join(tmp_name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&tmp)
        {
            Ok(file) => {
                // The umask may have taken bits off: 0600 exactly (or the
                // mode of the file it replaces, when asked).
                if let Err(e) = fit(&file, path, dir, keep_mode) {
                    drop(file);
                    let _ = fs::remove_file(&tmp);
                    return Err(failed("set the mode of", &tmp, e));
                }
                return Ok((file, tmp));
            }
            // Left by a dead process that had our pid: take the next number.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => {
                attempts += 1;
            }
            Err(e) => return Err(failed("create", &tmp, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn write_creates_then_replaces_with_mode_0600_and_no_leftover() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        write(&p, b"one").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        write(&p, b"two, longer").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two, longer");
        assert_eq!(mode(&p), 0o600, "a replaced file is 0600 again");
        assert_eq!(names(d.path()), vec!["state.json"]);
    }

    #[test]
    fn write_keeping_mode_creates_0600_and_keeps_a_replaced_files_mode() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sealpost.toml");
        write_keeping_mode(&p, b"one").unwrap();
        assert_eq!(mode(&p), 0o600, "a new file is 0600");
        // An operator's choice (a config the service reads through its
        // group) stays.
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        write_keeping_mode(&p, b"two, longer").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two, longer");
        assert_eq!(mode(&p), 0o640, "a replaced file keeps its mode");
        assert_eq!(names(d.path()), vec!["sealpost.toml"]);
    }

    /// The uid and gid of `p`.
    fn owner(p: &Path) -> (u32, u32) {
        let m = fs::metadata(p).unwrap();
        (m.uid(), m.gid())
    }

    /// Ownership can only be given away by root; CI runs the tests as
    /// root, and this test says so rather than pass without checking.
    fn require_root(d: &Path) {
        let probe = d.join("probe");
        fs::write(&probe, b"").unwrap();
        assert_eq!(
            owner(&probe).0,
            0,
            "this test gives files away and must run as root (as CI does)"
        );
        fs::remove_file(&probe).unwrap();
    }

    #[test]
    fn as_root_new_files_and_folders_take_their_folders_owner_and_replaced_ones_keep_theirs() {
        // uid/gid 65534 (nobody/nogroup) stand for the service's user.
        const SERVICE: (u32, u32) = (65534, 65534);
        let d = tempfile::tempdir().unwrap();
        require_root(d.path());
        let service_dir = d.path().join("keys");
        create_dir(&service_dir).unwrap();
        std::os::unix::fs::chown(&service_dir, Some(SERVICE.0), Some(SERVICE.1)).unwrap();

        // New files through each entry point, and a new folder.
        let key = service_dir.join("dkim.pem");
        write_new(&key, b"key").unwrap();
        assert_eq!(owner(&key), SERVICE, "write_new");
        let state = service_dir.join("state");
        write(&state, b"one").unwrap();
        assert_eq!(owner(&state), SERVICE, "write");
        let sub = service_dir.join("audit").join("2026");
        create_dir(&sub).unwrap();
        assert_eq!(owner(&sub), SERVICE, "create_dir");
        assert_eq!(
            owner(&service_dir.join("audit")),
            SERVICE,
            "create_dir's parents"
        );
        let mut staged = Staged::create(&sub.join("blob")).unwrap();
        staged.write_all(b"blob").unwrap();
        staged.commit_then_sync_dir(sync_dir).unwrap();
        assert_eq!(owner(&sub.join("blob")), SERVICE, "Staged");
        for p in [&key, &state, &sub.join("blob")] {
            assert_eq!(mode(p), 0o600, "{}", p.display());
        }

        // A replaced file keeps its owner and group, in a folder of root's:
        // the config, root's, that the service reads by its group, with
        // its mode too.
        let config = d.path().join("sealpost.toml");
        fs::write(&config, b"old").unwrap();
        std::os::unix::fs::chown(&config, Some(0), Some(SERVICE.1)).unwrap();
        fs::set_permissions(&config, fs::Permissions::from_mode(0o640)).unwrap();
        write_keeping_mode(&config, b"new").unwrap();
        assert_eq!(owner(&config), (0, SERVICE.1));
        assert_eq!(mode(&config), 0o640);
        write(&config, b"newer").unwrap();
        assert_eq!(owner(&config), (0, SERVICE.1));
        assert_eq!(mode(&config), 0o600);
        // And a file of the service's, replaced by root, stays the service's.
        std::os::unix::fs::chown(&state, Some(SERVICE.0), Some(0)).unwrap();
        write(&state, b"two").unwrap();
        assert_eq!(owner(&state), (SERVICE.0, 0));
    }

    #[test]
    fn a_failing_fill_leaves_the_old_file_and_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("export.tar");
        write(&p, b"old").unwrap();
        let r: Result<(), io::Error> = write_with(&p, |f| {
            f.write_all(b"half of it")?;
            Err(io::Error::other("the export failed"))
        });
        assert_eq!(r.unwrap_err().to_string(), "the export failed");
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert_eq!(names(d.path()), vec!["export.tar"]);
    }

    #[test]
    fn write_with_returns_what_fill_returns() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out");
        let n = write_with(&p, |f| -> io::Result<usize> {
            f.write_all(b"12345")?;
            Ok(5)
        })
        .unwrap();
        assert_eq!(n, 5);
        assert_eq!(fs::read(&p).unwrap(), b"12345");
    }

    #[test]
    fn write_new_refuses_to_overwrite_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("master.key");
        write_new(&p, b"first").unwrap();
        assert_eq!(mode(&p), 0o600);
        let e = write_new(&p, b"second").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert!(e.to_string().contains("master.key"), "{e}");
        assert_eq!(fs::read(&p).unwrap(), b"first");
        assert_eq!(names(d.path()), vec!["master.key"]);
    }

    #[test]
    fn write_then_sync_dir_calls_back_with_the_folder() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("blob");
        let mut seen = None;
        write_then_sync_dir(&p, b"x", |dir| {
            seen = Some(dir.to_path_buf());
            sync_dir(dir)
        })
        .unwrap();
        assert_eq!(seen.as_deref(), Some(d.path()));
        assert_eq!(fs::read(&p).unwrap(), b"x");
    }

    #[test]
    fn errors_keep_their_kind_and_name_the_path() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("missing-folder/file");
        let e = write(&p, b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("missing-folder"), "{e}");
        let e = sync_dir(&d.path().join("nope")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().starts_with("cannot fsync folder "), "{e}");
    }

    #[test]
    fn a_folder_in_the_way_of_the_target_is_an_error_and_nothing_is_left() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("taken");
        fs::create_dir(&p).unwrap();
        fs::write(p.join("inside"), b"").unwrap();
        assert!(write(&p, b"x").is_err());
        assert_eq!(names(d.path()), vec!["taken"]);
    }

    #[test]
    fn create_dir_makes_every_missing_level_0700_and_leaves_existing_ones() {
        let d = tempfile::tempdir().unwrap();
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let deep = d.path().join("a/b/c");
        create_dir(&deep).unwrap();
        for p in [d.path().join("a"), d.path().join("a/b"), deep.clone()] {
            assert_eq!(mode(&p), 0o700, "{}", p.display());
        }
        assert_eq!(mode(d.path()), 0o755, "an existing folder keeps its mode");
        create_dir(&deep).unwrap();
        let file = d.path().join("file");
        fs::write(&file, b"").unwrap();
        let e = create_dir(&file).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn rename_moves_and_replaces() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a.new"), d.path().join("a"));
        fs::write(&a, b"new").unwrap();
        fs::write(&b, b"old").unwrap();
        rename(&a, &b).unwrap();
        assert_eq!(fs::read(&b).unwrap(), b"new");
        assert!(!a.exists());
    }

    #[test]
    fn temporary_names_are_recognised() {
        let d = tempfile::tempdir().unwrap();
        let (_f, tmp) = create_temporary(&d.path().join("000001.seal"), false).unwrap();
        let name = tmp.file_name().unwrap();
        assert!(is_temporary(name), "{name:?}");
        assert_eq!(tmp.extension().unwrap(), "tmp");
        assert!(!is_temporary(OsStr::new("000001.seal")));
        assert!(!is_temporary(OsStr::new("notes.tmp")));
    }

    #[test]
    fn a_relative_bare_name_uses_the_current_folder() {
        assert_eq!(folder(Path::new("x")), Path::new("."));
        assert_eq!(folder(Path::new("/x")), Path::new("/"));
        assert_eq!(folder(Path::new("a/x")), Path::new("a"));
    }

    #[test]
    fn a_staged_file_appears_whole_at_commit_and_not_at_all_when_dropped() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("blob");
        let mut staged = Staged::create(&p).unwrap();
        staged.write_all(b"one ").unwrap();
        staged.write_all(b"two").unwrap();
        assert!(
            !p.exists(),
            "nothing under the final name before the commit"
        );
        staged.commit_then_sync_dir(sync_dir).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one two");
        assert_eq!(mode(&p), 0o600);
        let mut dropped = Staged::create(&d.path().join("other")).unwrap();
        dropped.write_all(b"half").unwrap();
        drop(dropped);
        assert_eq!(names(d.path()), vec!["blob"], "the temporary file is gone");
    }
}
