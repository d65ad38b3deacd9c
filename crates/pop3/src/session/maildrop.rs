//! The POP3 view of a maildrop: a fixed list taken at login (RFC 1939
//! section 5: "the POP3 server ... assigns a message-number to each message").
//!
//! # How POP3 coexists with IMAP on the same INBOX
//!
//! The maildrop is the account's INBOX. At login the session takes a
//! snapshot of it: message number *n* is the *n*-th UID of that snapshot
//! and stays so until the session ends, whatever else happens.
//!
//! - Messages delivered during the session do not appear in it.
//! - A message that another session (IMAP EXPUNGE or MOVE, retention)
//!   removes meanwhile becomes *gone*: it keeps its number, so no other
//!   message is renumbered, and it is treated like a message marked deleted
//!   by this session: STAT, LIST and UIDL leave it out, LIST/UIDL/RETR/TOP/
//!   DELE on its number answer `-ERR message N was deleted by another
//!   session`, and RSET does not bring it back. The session learns of
//!   removals from the store's change events before each command, and from
//!   the store itself when a read finds the message missing.
//! - Flags set by IMAP do not affect POP3. POP3 sets no flags either: a
//!   message retrieved by POP3 is not marked `\Seen` (as in Dovecot's default).
//! - QUIT removes the messages this session marked with DELE through
//!   `Store::remove`, which IMAP sessions see as expunges. A session that ends
//!   any other way (connection lost, timeout, shutdown) removes nothing.
//! - Only one POP3 session may hold a maildrop at a time (`-ERR [IN-USE]`);
//!   IMAP sessions are not locked out, and a POP3 login does not lock them.
//!
//! # UIDL
//!
//! The unique id is the IMAP UID and UIDVALIDITY, each as 8 upper-case hex
//! digits (Dovecot's default `%08Xu%08Xv`, so mail migrated from Dovecot
//! with its UIDs keeps its UIDLs and is not downloaded again). It is stable
//! across sessions and changes only if INBOX's UIDVALIDITY does.

use sealpost_store::{AccountId, MailboxId, Uid, UidValidity};

/// Where a maildrop lives in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaildropRef {
    /// The account.
    pub account: AccountId,
    /// Its INBOX.
    pub mailbox: MailboxId,
}

/// What happened to a message in this session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageState {
    /// Listed and retrievable.
    Present,
    /// Marked by DELE; removed at QUIT unless RSET.
    Deleted,
    /// Removed by another session meanwhile.
    Gone,
}

/// One message of the maildrop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaildropEntry {
    /// Its UID in INBOX.
    pub uid: Uid,
    /// Its size in octets as stored.
    pub size: u32,
    /// Present, deleted or gone.
    pub state: MessageState,
    /// Whether RETR sent it (for `EXPIRE 0`).
    pub retrieved: bool,
}

/// The session's fixed view of INBOX.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maildrop {
    /// The authenticated account's address.
    pub address: String,
    /// Where it lives.
    pub at: MaildropRef,
    /// INBOX's UIDVALIDITY at login.
    pub uid_validity: UidValidity,
    /// Message number n is `entries[n - 1]`.
    pub entries: Vec<MaildropEntry>,
}

/// Why a message number cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoMessage {
    /// Out of range.
    NoSuch,
    /// Marked deleted in this session.
    Deleted,
    /// Removed by another session.
    Gone,
}

impl Maildrop {
    /// A maildrop of `(uid, size)` pairs in UID order.
    pub fn new(
        address: String,
        at: MaildropRef,
        uid_validity: UidValidity,
        messages: impl IntoIterator<Item = (Uid, u32)>,
    ) -> Maildrop {
        Maildrop {
            address,
            at,
            uid_validity,
            entries: messages
                .into_iter()
                .map(|(uid, size)| MaildropEntry {
                    uid,
                    size,
                    state: MessageState::Present,
                    retrieved: false,
                })
                .collect(),
        }
    }

    /// The present message numbered `n`.
    pub fn get(&self, n: u32) -> Result<&MaildropEntry, NoMessage> {
        let e = (n as usize)
            .checked_sub(1)
            .and_then(|i| self.entries.get(i))
            .ok_or(NoMessage::NoSuch)?;
        match e.state {
            MessageState::Present => Ok(e),
            MessageState::Deleted => Err(NoMessage::Deleted),
            MessageState::Gone => Err(NoMessage::Gone),
        }
    }

    fn entry_mut(&mut self, n: u32) -> Option<&mut MaildropEntry> {
        (n as usize)
            .checked_sub(1)
            .and_then(|i| self.entries.get_mut(i))
    }

    /// Marks message `n` deleted.
    pub fn delete(&mut self, n: u32) -> Result<(), NoMessage> {
        self.get(n)?;
        if let Some(e) = self.entry_mut(n) {
            e.state = MessageState::Deleted;
        }
        Ok(())
    }

    /// Marks message `n` retrieved.
    pub fn mark_retrieved(&mut self, n: u32) {
        if let Some(e) = self.entry_mut(n) {
            e.retrieved = true;
        }
    }

    /// Marks message `n` gone (a read found it missing).
    pub fn mark_gone(&mut self, n: u32) {
        if let Some(e) = self.entry_mut(n) {
            e.state = MessageState::Gone;
        }
    }

    /// Marks these UIDs gone (removed by another session).
    pub fn vanished(&mut self, uids: &[Uid]) {
        let uids: std::collections::HashSet<Uid> = uids.iter().copied().collect();
        for e in &mut self.entries {
            if uids.contains(&e.uid) {
                e.state = MessageState::Gone;
            }
        }
    }

    /// Unmarks every message marked deleted (RSET).
    pub fn reset(&mut self) {
        for e in &mut self.entries {
            if e.state == MessageState::Deleted {
                e.state = MessageState::Present;
            }
        }
    }

    /// Present messages: (number, entry).
    pub fn present(&self) -> impl Iterator<Item = (u32, &MaildropEntry)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.state == MessageState::Present)
            .map(|(i, e)| (i as u32 + 1, e))
    }

    /// Count and total octets of present messages (STAT).
    pub fn stat(&self) -> (usize, u64) {
        self.present()
            .fold((0, 0), |(n, s), (_, e)| (n + 1, s + u64::from(e.size)))
    }

    /// The UIDs to remove at QUIT: marked deleted, plus retrieved ones when
    /// `remove_retrieved` (`EXPIRE 0`). Ascending.
    pub fn to_remove(&self, remove_retrieved: bool) -> Vec<Uid> {
        self.entries
            .iter()
            .filter(|e| {
                e.state == MessageState::Deleted
                    || (remove_retrieved && e.retrieved && e.state == MessageState::Present)
            })
            .map(|e| e.uid)
            .collect()
    }

    /// The UIDL of an entry.
    pub fn unique_id(&self, e: &MaildropEntry) -> String {
        format!("{:08X}{:08X}", e.uid.0, self.uid_validity.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drop3() -> Maildrop {
        Maildrop::new(
            "a@example.org".into(),
            MaildropRef {
                account: AccountId(1),
                mailbox: MailboxId(2),
            },
            UidValidity(0x1234),
            [(Uid(3), 10), (Uid(7), 20), (Uid(9), 30)],
        )
    }

    #[test]
    fn numbering_is_stable_through_deletes_and_vanishing() {
        let mut m = drop3();
        assert_eq!(m.stat(), (3, 60));
        m.delete(1).unwrap();
        m.vanished(&[Uid(7)]);
        assert_eq!(m.stat(), (1, 30));
        assert_eq!(m.get(1), Err(NoMessage::Deleted));
        assert_eq!(m.get(2), Err(NoMessage::Gone));
        assert_eq!(m.get(3).unwrap().uid, Uid(9));
        assert_eq!(m.get(4), Err(NoMessage::NoSuch));
        assert_eq!(m.get(0), Err(NoMessage::NoSuch));
        m.reset();
        assert_eq!(m.stat(), (2, 40));
        assert_eq!(m.get(2), Err(NoMessage::Gone));
        assert_eq!(m.to_remove(false), Vec::<Uid>::new());
        m.delete(3).unwrap();
        m.mark_retrieved(1);
        assert_eq!(m.to_remove(false), vec![Uid(9)]);
        assert_eq!(m.to_remove(true), vec![Uid(3), Uid(9)]);
    }

    #[test]
    fn unique_ids() {
        let m = drop3();
        assert_eq!(m.unique_id(&m.entries[0]), "0000000300001234");
    }
}
