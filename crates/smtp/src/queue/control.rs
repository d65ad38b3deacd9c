//! The operator's hand on single queued messages: show, hold, release,
//! delete (one, or every recipient of a domain) and bounce.
//!
//! - A held entry gets no attempt and no delay warning until released
//!   (the runner skips it; over a shared store its due time is "never", so
//!   no node claims it). Release makes it due at once. A hold asked while
//!   an attempt is in flight waits for that attempt's result (below).
//! - Delete removes an entry without a DSN: the operator's decision, as
//!   Postfix's `postsuper -d`. `--all-for DOMAIN` takes out the pending
//!   recipients in that domain: an entry with none left goes, one that
//!   still has recipients elsewhere keeps them (the others are marked
//!   failed, "deleted by the operator").
//! - Bounce fails every pending recipient now and sends the sender the
//!   same RFC 3464 `failed` DSN a real bounce sends (honouring NOTIFY and
//!   RET; none for the null sender), then removes the entry.
//!
//! - Each change happens under the entry's work lock (`spool.rs`, "Who
//!   may change an entry"), so it and a delivery attempt of the same entry
//!   (by any node) never overlap: an action that finds an attempt in
//!   progress waits for it up to [`BUSY_WAIT`] and then is refused with
//!   [`QueueError::Busy`], having changed nothing. When it waited, it acts
//!   on the entry as the attempt left it: a bounce after a delivery finds
//!   no recipient left (refused, no DSN), a delete after a delivery finds
//!   the entry gone (not found). A message is never both delivered and
//!   bounced by us, and never lost between the two.
//!
//! Every action is audited durably (`queue_admin` with the id and the
//! action; a bounce also records `message_bounced` per recipient, as the
//! runner does) before it is reported done. The same functions serve the
//! admin socket of a running server and the CLI when none runs, on both
//! store backends (the spool hides which).

use super::dsn::{self, Notice, RecipientReport};
use super::{Queue, QueueEntry, QueueError, RecipientStatus, now};
use crate::wire::Notify;
use sealpost_audit::Event;

/// Longest queue id accepted (ours are 22 hex digits).
const MAX_ID: usize = 64;

/// How long an operator's action waits for a delivery attempt of the same
/// entry to end before it is refused ([`QueueError::Busy`]).
pub const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What `--all-for DOMAIN` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainDeletion {
    /// Entries removed whole.
    pub deleted: Vec<String>,
    /// Entries that keep recipients in other domains.
    pub trimmed: Vec<String>,
    /// Entries left as they were: a delivery attempt held them longer
    /// than [`BUSY_WAIT`] (run the command again).
    pub busy: Vec<String>,
}

impl Queue {
    /// One entry and its message, by id.
    pub fn get(&self, id: &str) -> Result<(QueueEntry, Vec<u8>), QueueError> {
        check_id(id)?;
        self.inner.spool.read(id)
    }

    /// Audits that the operator looked at an entry (`with_body`: its
    /// content too).
    pub fn audit_shown(&self, id: &str, with_body: bool) -> Result<(), QueueError> {
        let action = if with_body {
            "shown_with_body"
        } else {
            "shown"
        };
        self.audit(id, action)
    }

    /// Takes the entry's work lock, waiting up to [`BUSY_WAIT`] for an
    /// attempt in progress (blocking).
    fn work_lock(&self, id: &str) -> Result<WorkLock, QueueError> {
        let deadline = std::time::Instant::now() + BUSY_WAIT;
        loop {
            if let Some(lock) = self.inner.spool.lock(id)? {
                return Ok(WorkLock(Some(lock)));
            }
            if std::time::Instant::now() >= deadline {
                return Err(QueueError::Busy(id.to_string()));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Holds an entry; `false` when it was held already.
    pub fn hold(&self, id: &str) -> Result<bool, QueueError> {
        check_id(id)?;
        let _lock = self.work_lock(id)?;
        let changed = self
            .inner
            .spool
            .modify(id, |entry| Ok(!std::mem::replace(&mut entry.held, true)))?;
        if changed {
            self.audit(id, "held")?;
        }
        Ok(changed)
    }

    /// Releases a held entry and makes it due now; refused when it is not held.
    pub fn release_hold(&self, id: &str) -> Result<(), QueueError> {
        check_id(id)?;
        let _lock = self.work_lock(id)?;
        self.inner.spool.modify(id, |entry| {
            if !entry.held {
                return Err(QueueError::Refused(format!("{id} is not held")));
            }
            entry.held = false;
            entry.next_attempt = now();
            Ok(())
        })?;
        self.audit(id, "released")?;
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Removes an entry without a DSN; returns it as it was.
    pub fn delete(&self, id: &str) -> Result<QueueEntry, QueueError> {
        check_id(id)?;
        let _lock = self.work_lock(id)?;
        let (entry, _) = self.get(id)?;
        self.inner.spool.remove(id)?;
        self.audit(id, "deleted")?;
        Ok(entry)
    }

    /// Removes the pending recipients in `domain` from every entry, and
    /// the entries left with none (see the module docs).
    pub fn delete_for_domain(&self, domain: &str) -> Result<DomainDeletion, QueueError> {
        let domain = check_domain(domain)?;
        let mut done = DomainDeletion::default();
        for id in self.inner.spool.ids()? {
            let _lock = match self.work_lock(&id) {
                Ok(lock) => lock,
                Err(QueueError::Busy(_)) => {
                    done.busy.push(id);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let entry = match self.inner.spool.read(&id) {
                Ok((entry, _)) => entry,
                Err(QueueError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            let pending: Vec<bool> = entry
                .recipients
                .iter()
                .filter(|r| r.status == RecipientStatus::Pending)
                .map(|r| in_domain(&r.address, &domain))
                .collect();
            if !pending.contains(&true) {
                continue;
            }
            if pending.iter().all(|&hit| hit) {
                self.inner.spool.remove(&id)?;
                self.audit(&id, "deleted")?;
                done.deleted.push(id);
                continue;
            }
            let trimmed = self.inner.spool.modify(&id, |entry| {
                for r in &mut entry.recipients {
                    if r.status == RecipientStatus::Pending && in_domain(&r.address, &domain) {
                        r.status = RecipientStatus::Failed {
                            reason: "deleted by the operator".into(),
                        };
                    }
                }
                Ok(())
            });
            match trimmed {
                Ok(()) => {}
                Err(QueueError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            }
            self.audit(&id, "recipients_deleted")?;
            done.trimmed.push(id);
        }
        Ok(done)
    }

    /// Fails every pending recipient now, sends the sender a `failed` DSN
    /// as a real bounce does, and removes the entry. Returns how many
    /// recipients bounced. Blocking (store and queue writes).
    pub fn bounce(&self, id: &str, hostname: &str) -> Result<usize, QueueError> {
        check_id(id)?;
        let _lock = self.work_lock(id)?;
        let (mut entry, message) = self.get(id)?;
        let why = format!("5.0.0 returned to the sender by the postmaster of {hostname}");
        let mut reports = Vec::new();
        let mut bounced = 0;
        for r in &mut entry.recipients {
            if r.status != RecipientStatus::Pending {
                continue;
            }
            bounced += 1;
            let diagnostic = match &r.last_error {
                Some(last) => format!("{why}; last error: {last}"),
                None => why.clone(),
            };
            if Notify::failure(r.notify) {
                reports.push(RecipientReport::failed(
                    &r.address,
                    r.orcpt.as_deref(),
                    "5.0.0".into(),
                    &diagnostic,
                ));
            }
            r.status = RecipientStatus::Failed { reason: diagnostic };
        }
        if bounced == 0 {
            return Err(QueueError::Refused(format!(
                "{id} has no recipient left to bounce"
            )));
        }
        let notice = Notice {
            sender: &entry.sender,
            id: &entry.id,
            envid: entry.envid.as_deref(),
            ret: entry.ret,
            arrival: entry.created,
            retry_until: Some(entry.created + self.inner.config.smtp.queue_lifetime_secs as i64),
            original: &message,
            requiretls: entry.requiretls,
        };
        // The DSN first, as the runner does: a crash in between sends it
        // again rather than losing it.
        dsn::send(self, &notice, &reports);
        self.inner.spool.remove(id)?;
        self.audit(id, "bounced")?;
        Ok(bounced)
    }

    fn audit(&self, id: &str, action: &str) -> Result<(), QueueError> {
        self.inner
            .audit
            .record_durable(Event::QueueAdmin {
                id: id.to_string(),
                action: action.to_string(),
            })
            .map_err(|e| QueueError::Io {
                path: "audit log".into(),
                message: e.to_string(),
            })
    }
}

/// An operator's hold on an entry's work lock. Given back, and waited for,
/// when the action ends: the CLI exits right after it, and a release left
/// to the background would be lost with the process (the entry would then
/// stay locked for the lease time, its attempts and the next command
/// waiting for nothing).
pub(super) struct WorkLock(pub(super) Option<sealpost_store::Lease>);

impl Drop for WorkLock {
    fn drop(&mut self) {
        if let Some(lease) = self.0.take() {
            lease.release_and_wait(std::time::Duration::from_secs(2));
        }
    }
}

/// Ids name files: never let one be a path.
fn check_id(id: &str) -> Result<(), QueueError> {
    if id.is_empty() || id.len() > MAX_ID || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(QueueError::Refused(format!(
            "not a queue id: {:?} (see sealpost queue list)",
            id.chars().take(MAX_ID).collect::<String>()
        )));
    }
    Ok(())
}

/// A domain name as `--all-for` takes it, lower-cased.
fn check_domain(domain: &str) -> Result<String, QueueError> {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 255
        && !d.starts_with('.')
        && !d.contains("..")
        && d.chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.' || c == '_');
    if !ok {
        return Err(QueueError::Refused(format!(
            "not a domain name: {:?}",
            domain.chars().take(80).collect::<String>()
        )));
    }
    Ok(d)
}

fn in_domain(address: &str, domain: &str) -> bool {
    address
        .rsplit_once('@')
        .is_some_and(|(_, d)| d.trim_end_matches('.').eq_ignore_ascii_case(domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_domains_are_checked() {
        assert!(check_id("0005e2a1b2c3d4e5f6a7b8").is_ok());
        for bad in ["", "../queue", "a/b", "a.queue", &"a".repeat(65)] {
            assert!(
                matches!(check_id(bad), Err(QueueError::Refused(_))),
                "{bad}"
            );
        }
        assert_eq!(check_domain("Remote.Example.").unwrap(), "remote.example");
        for bad in ["", ".", "a..b", "x@y", "a b", ".a"] {
            assert!(check_domain(bad).is_err(), "{bad}");
        }
        assert!(in_domain("carol@REMOTE.example", "remote.example"));
        assert!(!in_domain("carol@sub.remote.example", "remote.example"));
    }
}
