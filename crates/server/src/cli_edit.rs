//! How a CLI edit of the config or the accounts file reaches a running
//! server: the file is written, the server is asked to reload, and when it
//! refuses, the file is put back as it was (and the server asked again), so
//! the file and the server never disagree. Files the edit created (DKIM
//! keys) are removed then too.
//!
//! Uses `startup` and `admin`.

use crate::admin::{self, Request};
use crate::startup::Failure;
use sealpost_config::Config;
use std::path::{Path, PathBuf};

/// A file's contents before an edit, to put back if the server refuses it.
pub struct Undo {
    path: PathBuf,
    /// `None`: the file did not exist.
    before: Option<Vec<u8>>,
}

impl Undo {
    /// Remembers `path` as it is now.
    pub fn take(path: &Path) -> Result<Undo, Failure> {
        let before = match std::fs::read(path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Failure::runtime(format!("{}: {e}", path.display()))),
        };
        Ok(Undo {
            path: path.to_path_buf(),
            before,
        })
    }

    /// Puts the file back as it was.
    pub fn restore(&self) -> Result<(), Failure> {
        match &self.before {
            // The mode the edit left (the config's kept, the accounts
            // file's 0600) stays.
            Some(bytes) => Ok(sealpost_durable::write_keeping_mode(&self.path, bytes)?),
            None => match std::fs::remove_file(&self.path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Failure::runtime(format!("{}: {e}", self.path.display()))),
            },
        }
    }
}

/// What a running server said about an edit.
pub enum Outcome {
    /// It reloaded; its one-line summary.
    Taken(String),
    /// No server runs (the edit is in force at the next start).
    NoServer,
}

/// Asks a running server to reload `config`'s file. When it refuses, every
/// `undo` is restored, `created` files are removed, the server is asked to
/// reload the restored files, and the refusal is the error (one line).
pub fn reload_or_undo(
    config: &Config,
    undo: &[Undo],
    created: &[PathBuf],
) -> Result<Outcome, Failure> {
    let request = Request::Reload {
        config: Some(config.path.clone()),
    };
    let refused = match admin::request(&config.admin_socket(), &request) {
        Ok(None) => return Ok(Outcome::NoServer),
        Ok(Some(r)) if r.ok => return Ok(Outcome::Taken(r.message)),
        Ok(Some(r)) => r.message,
        Err(e) => e,
    };
    for u in undo {
        u.restore()?;
    }
    for f in created {
        let _ = std::fs::remove_file(f);
    }
    // The server may have taken part of the edit (accounts while the
    // config failed): it reads the restored files now.
    let _ = admin::request(&config.admin_socket(), &request);
    Err(Failure::runtime(format!(
        "the running server refused the change, so it was undone in the file: {refused}"
    )))
}
