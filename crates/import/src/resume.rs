//! What a file import (an mbox, a Maildir folder) remembers between runs,
//! so that a run killed half way (SIGKILL, power cut) and run again
//! imports every message exactly once, and a run after a completed one
//! imports nothing.
//!
//! One [`Progress`] per (account, source path, mailbox), in
//! `data_dir/import/` beside the IMAP import's states and like them named
//! by a keyed MAC of the three and sealed under the `import-state` key
//! ([`StateFiles`]): no address, path or mail in the clear. It holds the
//! mailbox's UIDVALIDITY, the highest UID before the first run
//! (`base_uid`), the highest UID when it was last saved (`last_uid`), how
//! many of the source's messages are done and where the source stands
//! after them (an mbox's byte offset of the next message; a Maildir's
//! count of files in its sorted order), and what identifies the source
//! and that position (hashes, [`Progress::identity`], [`Progress::check`]),
//! so that a changed source is not wrongly skipped.
//!
//! Order of writes: the state is saved once before the first commit, then
//! after every batch's commit (`crate::pipeline`'s checkpoint), before
//! the next commit. A kill can thus fall between a commit and its save:
//! the next run finds that batch (at most one, or the messages of it
//! committed one by one on PostgreSQL) exactly, by content: the messages
//! above `last_uid` ([`Matcher`]) are compared octet for octet with the
//! source's next messages, and those found count as already here. A
//! message delivered meanwhile is never taken for one of them unless it is
//! the same octets.

use crate::Result;
use crate::imap::state::StateFiles;
use sealpost_store::{AccountId, MailboxId, Store, Uid};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"SPFILE01";
const LEN: usize = 8 + 32 + 4 + 4 + 4 + 8 + 8 + 32;

/// Where the states are and whose import this is.
#[derive(Debug, Clone)]
pub struct Resume {
    /// The state files (shared with the IMAP import).
    pub files: StateFiles,
    /// The account's address (part of each file's name).
    pub address: String,
}

/// Where one source's import into one mailbox stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// What identifies the source (see each format).
    pub identity: [u8; 32],
    /// The mailbox's UIDVALIDITY these UIDs belong to.
    pub uid_validity: u32,
    /// The mailbox's highest UID before the first run.
    pub base_uid: u32,
    /// The highest UID when last saved: what a run committed after that
    /// is above it.
    pub last_uid: u32,
    /// Messages of the source done (imported or found here).
    pub done: u64,
    /// Where the source stands after them (mbox: byte offset).
    pub offset: u64,
    /// What identifies that position (see each format).
    pub check: [u8; 32],
}

impl Progress {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.identity);
        for v in [self.uid_validity, self.base_uid, self.last_uid] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.done.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.check);
        out
    }

    fn decode(b: &[u8]) -> Option<Progress> {
        if b.len() != LEN {
            return None;
        }
        let b = b.strip_prefix(MAGIC)?;
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4"));
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8"));
        Some(Progress {
            identity: b[0..32].try_into().ok()?,
            uid_validity: u32_at(32),
            base_uid: u32_at(36),
            last_uid: u32_at(40),
            done: u64_at(44),
            offset: u64_at(52),
            check: b[60..92].try_into().ok()?,
        })
    }
}

/// One source's state file, loaded or started.
pub struct Tracker<'r> {
    resume: &'r Resume,
    path: PathBuf,
    /// Where the import stands.
    pub progress: Progress,
    /// A state of this source was found (and matched its identity).
    pub resumed: bool,
}

impl<'r> Tracker<'r> {
    /// The state of `source` into `mailbox` (named `name`): the one saved,
    /// if its identity and UIDVALIDITY still hold and `valid` accepts it,
    /// or a new one, saved at once (before any commit).
    #[allow(clippy::too_many_arguments)]
    pub fn begin(
        resume: &'r Resume,
        store: &Store,
        account: AccountId,
        mailbox: MailboxId,
        source: &Path,
        name: &str,
        identity: [u8; 32],
        valid: impl Fn(&Progress) -> bool,
    ) -> Result<Tracker<'r>> {
        let source = std::fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf());
        let path = resume
            .files
            .path(&resume.address, &format!("file:{}", source.display()), name);
        let snapshot = store.snapshot(account, mailbox)?;
        let uid_validity = snapshot.mailbox.uid_validity.0;
        let loaded = load(&resume.files, &path)?
            .filter(|p| p.identity == identity && p.uid_validity == uid_validity && valid(p));
        let highest = snapshot.uid_next.0.saturating_sub(1);
        let mut t = Tracker {
            resume,
            path,
            resumed: loaded.is_some(),
            progress: loaded.unwrap_or(Progress {
                identity,
                uid_validity,
                base_uid: highest,
                last_uid: highest,
                done: 0,
                offset: 0,
                check: [0; 32],
            }),
        };
        if !t.resumed {
            t.save()?;
        }
        Ok(t)
    }

    /// Records a commit: `appended` UIDs, the source now at `offset` with
    /// `check`, `count` more messages done; saved durably.
    pub fn committed(
        &mut self,
        count: u64,
        highest: Option<Uid>,
        offset: u64,
        check: [u8; 32],
    ) -> Result<()> {
        let p = &mut self.progress;
        p.done = p.done.saturating_add(count);
        if let Some(u) = highest {
            p.last_uid = p.last_uid.max(u.0);
        }
        p.offset = offset;
        p.check = check;
        self.save()
    }

    /// Saves the state durably (0600, `sealpost-durable`).
    pub fn save(&mut self) -> Result<()> {
        self.resume
            .files
            .write_sealed(&self.path, &self.progress.encode())
    }
}

fn load(files: &StateFiles, path: &Path) -> Result<Option<Progress>> {
    let Some(sealed) = files.read_sealed(path)? else {
        return Ok(None);
    };
    // A state that does not open or decode is not this format's (or is
    // damaged): the import starts over rather than skip on its word.
    Ok(files
        .key
        .open(&sealed)
        .ok()
        .and_then(|plain| Progress::decode(&plain)))
}

/// SHA-256 of the parts, each preceded by its length.
pub fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// The messages of a mailbox above a UID, to find a source's messages
/// among them by content (see the module docs).
pub struct Matcher<'s> {
    store: &'s Store,
    account: AccountId,
    mailbox: MailboxId,
    by_size: BTreeMap<u32, Vec<Uid>>,
}

impl<'s> Matcher<'s> {
    /// The messages of `mailbox` whose UID is above `uid`.
    pub fn above(
        store: &'s Store,
        account: AccountId,
        mailbox: MailboxId,
        uid: u32,
    ) -> Result<Matcher<'s>> {
        let mut by_size: BTreeMap<u32, Vec<Uid>> = BTreeMap::new();
        for e in store.snapshot(account, mailbox)?.entries {
            if e.uid.0 > uid {
                by_size.entry(e.size).or_default().push(e.uid);
            }
        }
        Ok(Matcher {
            store,
            account,
            mailbox,
            by_size,
        })
    }

    /// No message left to find.
    pub fn is_empty(&self) -> bool {
        self.by_size.values().all(Vec::is_empty)
    }

    /// The message here with exactly the octets `raw` (CRLF line endings,
    /// as stored), taken so it is not found twice; `None` if there is none.
    pub fn take(&mut self, raw: &[u8]) -> Result<Option<Uid>> {
        let Ok(size) = u32::try_from(raw.len()) else {
            return Ok(None);
        };
        let Some(uids) = self.by_size.get_mut(&size) else {
            return Ok(None);
        };
        for i in 0..uids.len() {
            if self
                .store
                .read(self.account, self.mailbox, uids[i])?
                .as_deref()
                == Some(raw)
            {
                return Ok(Some(uids.remove(i)));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_round_trips_and_refuses_damage() {
        let p = Progress {
            identity: [7; 32],
            uid_validity: 3,
            base_uid: 10,
            last_uid: 99,
            done: 1234,
            offset: 1 << 40,
            check: [9; 32],
        };
        let b = p.encode();
        assert_eq!(b.len(), LEN);
        assert_eq!(Progress::decode(&b), Some(p));
        for cut in 0..b.len() {
            assert_eq!(Progress::decode(&b[..cut]), None);
        }
        let mut bad = b.clone();
        bad[0] = b'X';
        assert_eq!(Progress::decode(&bad), None);
    }

    #[test]
    fn digest_separates_its_parts() {
        assert_ne!(digest(&[b"ab", b"c"]), digest(&[b"a", b"bc"]));
        assert_eq!(digest(&[b"ab"]), digest(&[b"ab"]));
    }
}
