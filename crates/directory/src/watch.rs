//! Picking up edits of the accounts file while the server runs.
//!
//! The watcher polls instead of using inotify: a poll of one `stat` every
//! half second costs nothing, works on every filesystem (NFS, bind mounts,
//! container volumes) and sees a file replaced by rename, which is how the
//! CLI and most editors save. A change of device, inode, size, mtime or
//! ctime triggers a reload once the file has stayed the same for one more
//! poll: an editor that saves in place truncates first, and reading that
//! moment would drop every account, so that mail to them bounced, until the
//! next poll. With the server's 500 ms interval an edit is live within 1 s.
//! A failed reload is reported once per version of the file and leaves the
//! previous accounts in force. A file that is removed (and stays removed)
//! means no accounts, as at startup.

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
        let mut pending = None;
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
                let polled = tokio::task::spawn_blocking(move || dir.poll(seen, pending)).await;
                let Ok(poll) = polled else {
                    continue;
                };
                (seen, pending) = (poll.seen, poll.pending);
                if let Some(outcome) = poll.outcome {
                    on_reload(outcome);
                }
            }
        })
    }

    /// One poll: a file that differs from the one last seen and the one
    /// loaded becomes pending; a pending file unchanged since the last poll
    /// is reloaded.
    fn poll(&self, last: Seen, pending: Option<Seen>) -> Poll {
        let current = match Stamp::current(self.path()) {
            Ok(stamp) => Seen::File(stamp),
            Err(e) => {
                let outcome = (last != Seen::StatFailed).then_some(Err(e));
                return Poll {
                    seen: Seen::StatFailed,
                    pending: None,
                    outcome,
                };
            }
        };
        if current == last || current == Seen::File(self.snapshot().stamp) {
            return Poll {
                seen: current,
                pending: None,
                outcome: None,
            };
        }
        if pending != Some(current) {
            return Poll {
                seen: last,
                pending: Some(current),
                outcome: None,
            };
        }
        let outcome = Some(self.reload(self.domains()));
        Poll {
            seen: current,
            pending: None,
            outcome,
        }
    }
}

/// What one poll saw and did.
struct Poll {
    seen: Seen,
    pending: Option<Seen>,
    outcome: Option<Result<(), DirectoryError>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ThrottleLimits;

    const HASH: &str = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

    fn entry(address: &str) -> String {
        format!("[[account]]\naddress = \"{address}\"\npassword = \"{HASH}\"\n")
    }

    fn setup() -> (tempfile::TempDir, Directory) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.toml");
        std::fs::write(&path, entry("a@example.org")).unwrap();
        let limits = ThrottleLimits {
            per_ip: 1,
            per_account: 1,
            window: Duration::from_secs(1),
        };
        let d = Directory::load(&path, vec!["example.org".into()], limits).unwrap();
        (dir, d)
    }

    fn loaded(d: &Directory) -> Seen {
        Seen::File(d.snapshot().stamp)
    }

    #[test]
    fn a_change_is_loaded_once_it_is_stable_for_a_poll() {
        let (_t, d) = setup();
        let start = loaded(&d);
        let p = d.poll(start, None);
        assert!(p.outcome.is_none() && p.pending.is_none());

        std::fs::write(d.path(), "").unwrap();
        let p1 = d.poll(p.seen, p.pending);
        assert!(p1.outcome.is_none(), "reloaded on first sight");
        assert!(p1.pending.is_some());
        // The save goes on before the next poll: the empty moment is never loaded.
        std::fs::write(
            d.path(),
            format!("{}{}", entry("a@example.org"), entry("b@example.org")),
        )
        .unwrap();
        let p2 = d.poll(p1.seen, p1.pending);
        assert!(p2.outcome.is_none());
        assert_eq!(d.accounts().len(), 1);
        let p3 = d.poll(p2.seen, p2.pending);
        assert!(matches!(p3.outcome, Some(Ok(()))));
        assert_eq!(d.accounts().len(), 2);
        let p4 = d.poll(p3.seen, p3.pending);
        assert!(p4.outcome.is_none() && p4.pending.is_none());
    }

    #[test]
    fn a_bad_version_is_reported_once() {
        let (_t, d) = setup();
        std::fs::write(d.path(), "nonsense").unwrap();
        let p1 = d.poll(loaded(&d), None);
        let p2 = d.poll(p1.seen, p1.pending);
        assert!(matches!(p2.outcome, Some(Err(DirectoryError::Invalid(_)))));
        let p3 = d.poll(p2.seen, p2.pending);
        assert!(p3.outcome.is_none() && p3.pending.is_none());
        assert_eq!(d.accounts().len(), 1);
    }

    #[test]
    fn a_refused_entry_leaves_the_others_applied_and_keeps_its_account() {
        let (_t, d) = setup();
        // a@ gets a broken hash, b@ is new and valid, c@ is in another
        // domain, and b@ is listed twice.
        let text = format!(
            "[[account]]\naddress = \"a@example.org\"\npassword = \"oops\"\n\n{}\n{}\n{}",
            entry("b@example.org"),
            entry("c@elsewhere.example"),
            entry("B@example.org"),
        );
        std::fs::write(d.path(), text).unwrap();
        d.reload(d.domains()).unwrap();
        let refused = d.refused();
        assert_eq!(refused.len(), 3, "{refused:?}");
        assert!(
            refused[0].contains(":3:12: key `account[0].password`"),
            "{refused:?}"
        );
        assert!(
            refused[1].contains(":10:11: key `account[2].address`"),
            "{refused:?}"
        );
        assert!(refused[2].contains(":14:11: key `account[3].address`: address `b@example.org` is already `account[1].address`"), "{refused:?}");
        let addresses: Vec<String> = d.accounts().into_iter().map(|a| a.address).collect();
        assert_eq!(
            addresses,
            vec!["a@example.org", "b@example.org"],
            "a@ kept as it was"
        );
        // Once the file is whole, a@ is what the file says: gone.
        std::fs::write(d.path(), entry("b@example.org")).unwrap();
        d.reload(d.domains()).unwrap();
        assert!(d.refused().is_empty());
        assert_eq!(d.accounts().len(), 1);
    }
}
