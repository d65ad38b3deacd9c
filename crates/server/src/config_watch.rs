//! Picks up a hand edit of the config file's `[[domain]]` tables without a
//! SIGHUP: once a second the file's size, mtime and SHA-256 are compared
//! with the last poll (a poll, like the accounts watcher, so it works on
//! every file system and sees an editor's rename-over-the-file); when the
//! content changed, parses cleanly and hosts other domains than the running
//! server, the server reloads as on SIGHUP. Other hand edits still wait for
//! SIGHUP or a restart, as documented; an invalid file is logged once per
//! change and the running config stays.
//!
//! Uses `services`.

use crate::services::Services;
use sealpost_config::Config;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// How often the file is looked at.
pub const POLL: Duration = Duration::from_secs(1);

/// What the last poll saw.
#[derive(PartialEq, Eq, Clone)]
struct Seen {
    len: u64,
    modified: Option<SystemTime>,
    digest: [u8; 32],
}

fn look(path: &PathBuf) -> Option<(Seen, String)> {
    let meta = std::fs::metadata(path).ok()?;
    let text = std::fs::read_to_string(path).ok()?;
    let seen = Seen {
        len: meta.len(),
        modified: meta.modified().ok(),
        digest: Sha256::digest(text.as_bytes()).into(),
    };
    Some((seen, text))
}

fn names(config: &Config) -> Vec<String> {
    crate::running::domain_names(config)
}

/// Starts the watcher thread (it ends with the process).
pub fn spawn(services: &Services) {
    let services = services.clone();
    let path = services.config.path.clone();
    let _ = std::thread::Builder::new()
        .name("config-watch".into())
        .spawn(move || {
            let mut last = look(&path).map(|(s, _)| s);
            loop {
                std::thread::sleep(POLL);
                let Some((seen, text)) = look(&path) else {
                    continue;
                };
                if last.as_ref() == Some(&seen) {
                    continue;
                }
                last = Some(seen);
                let next = match Config::parse(&path, &text) {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "config file changed but is invalid; not applied");
                        continue;
                    }
                };
                // The file's own domains, not the running ones (those add
                // what other nodes publish: `domain_watch`).
                if names(&next) == services.running.file_domains() {
                    continue;
                }
                match services.reload() {
                    Ok(summary) => {
                        tracing::info!(%summary, "config file's domains changed: reloaded")
                    }
                    Err(e) => tracing::warn!(error = %e, "config file's domains changed; reload refused"),
                }
            }
        });
}
