//! One CLI edit of the config file at a time: `domain`, `dkim` and `alias
//! add|remove` commands hold an advisory lock (flock) on `.NAME.lock`
//! beside the config file from before they read it until their edit is
//! written and a running server has taken (or refused) it. A second command waits for the first
//! (up to [`WAIT`]) and then reads the file the first one wrote, so neither
//! edit is lost. The lock file is empty, 0600, and stays; the lock goes
//! with the process, however it ends.
//!
//! Advisory: a hand edit in a text editor does not take it.

use crate::startup::Failure;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a command waits for another one's edit.
const WAIT: Duration = Duration::from_secs(60);

/// The held lock; released on drop.
pub struct ConfigLock {
    _file: File,
}

/// The lock file of `config`.
pub fn lock_path(config: &Path) -> PathBuf {
    let name = config
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    config
        .parent()
        .unwrap_or(Path::new("."))
        .join(format!(".{name}.lock"))
}

impl ConfigLock {
    /// Takes the lock of `config`, waiting for another holder.
    pub fn acquire(config: &Path) -> Result<ConfigLock, Failure> {
        let path = lock_path(config);
        let fail = |e: std::io::Error| Failure::runtime(format!("{}: {e}", path.display()));
        // Created once and never replaced: a rename over it would give a
        // second process another inode to lock.
        match sealpost_durable::write_new(&path, b"") {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(fail(e)),
            _ => {}
        }
        let file = File::open(&path).map_err(fail)?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(ConfigLock { _file: file }),
                Err(TryLockError::WouldBlock) if start.elapsed() < WAIT => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(Failure::runtime(format!(
                        "another sealpost command has been editing {} for {} s (lock {}); try again",
                        config.display(),
                        WAIT.as_secs(),
                        path.display()
                    )));
                }
                Err(TryLockError::Error(e)) => return Err(fail(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(config: &Path) -> ConfigLock {
        ConfigLock::acquire(config).unwrap_or_else(|_| panic!("no lock"))
    }

    #[test]
    fn a_second_holder_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sealpost.toml");
        let first = take(&config);
        let path = lock_path(&config);
        assert_eq!(path, dir.path().join(".sealpost.toml.lock"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let other = File::open(&path).unwrap();
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        let waiter = std::thread::spawn(move || {
            let t = Instant::now();
            let _second = take(&config);
            t.elapsed()
        });
        std::thread::sleep(Duration::from_millis(300));
        drop(first);
        assert!(waiter.join().unwrap() >= Duration::from_millis(250));
    }
}
