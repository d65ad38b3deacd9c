//! Picking up edits of the accounts file while the server runs.
//!
//! The watcher polls instead of using inotify: a poll of one `stat` every
//! half second costs nothing, works on every filesystem (NFS, bind mounts,
//! container volumes) and sees a file replaced by rename, which is how the
//! CLI and most editors save. A change of device, inode, size, mtime or
//! ctime triggers a reload; a failed reload is reported once per version of
//! the file and leaves the previous accounts in force. A file that is
//! removed means no accounts, as at startup.

use crate::file::Stamp;
use crate::{Directory, DirectoryError};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// What the watcher saw at its last poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    File(Option<Stamp>),
    StatFailed,
}

impl Directory {
    /// Polls the accounts file every `interval` (500 ms in the server) and
    /// reloads it when it changes, with the current domain list.
    /// `on_reload` hears every reload's result (to log it and audit it).
    ///
    /// The task ends by itself once every clone of this directory is
    /// dropped; abort the handle to end it sooner. Needs a tokio runtime.
    pub fn spawn_watcher(
        &self,
        interval: Duration,
        on_reload: impl Fn(Result<(), DirectoryError>) + Send + 'static,
    ) -> JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        let mut seen = Seen::File(self.snapshot().stamp);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval.max(Duration::from_millis(10)));
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                let dir = Directory { inner };
                let polled = tokio::task::spawn_blocking(move || dir.poll(seen)).await;
                let Ok((now_seen, outcome)) = polled else {
                    continue;
                };
                seen = now_seen;
                if let Some(outcome) = outcome {
                    on_reload(outcome);
                }
            }
        })
    }

    /// One poll: reloads if the file is not the one last seen nor the one
    /// loaded. Returns what was seen and the reload's outcome, if any.
    fn poll(&self, last: Seen) -> (Seen, Option<Result<(), DirectoryError>>) {
        let current = match Stamp::current(self.path()) {
            Ok(stamp) => Seen::File(stamp),
            Err(e) if last != Seen::StatFailed => return (Seen::StatFailed, Some(Err(e))),
            Err(_) => return (Seen::StatFailed, None),
        };
        if current == last || current == Seen::File(self.snapshot().stamp) {
            return (current, None);
        }
        (current, Some(self.reload(self.domains())))
    }
}
