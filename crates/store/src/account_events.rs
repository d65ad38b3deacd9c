//! An account's change stream: one bounded broadcast channel per open
//! account that tells of every change to any of its mailboxes (messages
//! added, expunged, flags changed) and to its hierarchy (mailbox created,
//! deleted, renamed; a name subscribed or unsubscribed) and to its METADATA
//! entries (RFC 5464; which entries, not their values). IMAP NOTIFY
//! (RFC 5465) watches the mailboxes a session has not selected through it.
//!
//! The channel holds [`ACCOUNT_EVENTS`] events; a receiver that falls
//! further behind gets `Lagged` and must treat its picture as lost (NOTIFY
//! answers that with `[NOTIFICATIONOVERFLOW]`). An event carries no message
//! data, only which mailbox changed and how: a watcher asks the store for
//! the counters it needs. Nothing is sent while nobody listens.
//!
//! On a shared (PostgreSQL) store, message events of other nodes reach the
//! stream when this node catches the mailbox up (`cluster.rs` publishes
//! through the same `MailboxState::publish`); a rename or deletion of a
//! mailbox this node holds open is told as such, and any other hierarchy
//! or subscription change made on another node as
//! [`AccountChange::Elsewhere`] (the notices between nodes carry ids, never
//! names), after which a watcher compares what it knew.
//!
//! A grant changed by its owner (SETACL/DELETEACL) is told on the
//! grantee's stream as [`AccountChange::Access`], and to other nodes as a
//! notice about the grantee (their watchers hear `Elsewhere`), so a NOTIFY
//! session's set of shared mailboxes follows grants made after NOTIFY SET,
//! and a grantee's session that has the mailbox selected follows the grant
//! (IMAP closes it once `r` is gone). When the notices between nodes were
//! interrupted, every open account hears `Elsewhere` once they are back.

use crate::engine::AccountCtx;
use crate::{AccountId, MailboxEvent, MailboxId, MailboxName, Result, Store};
use tokio::sync::broadcast;

/// Events an account's watcher may fall behind by before it has lagged.
pub const ACCOUNT_EVENTS: usize = 256;

/// One change to an account's mailboxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEvent {
    /// The mailbox (`None` for a subscription, which names no mailbox).
    pub mailbox: Option<MailboxId>,
    /// Its name when the change happened (after a rename: the new one;
    /// for [`AccountChange::ServerMetadata`], which concerns no mailbox,
    /// INBOX).
    pub name: MailboxName,
    /// What happened.
    pub change: AccountChange,
}

/// What happened to a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// Messages were added.
    MessageNew,
    /// Messages were expunged.
    MessageExpunge,
    /// Flags of messages changed.
    FlagChange,
    /// The mailbox was created.
    Created,
    /// The mailbox was deleted.
    Deleted,
    /// The mailbox was renamed from this name.
    Renamed {
        /// The name before.
        from: MailboxName,
    },
    /// The name was subscribed (`true`) or unsubscribed.
    Subscribed(bool),
    /// These METADATA entries of the mailbox were set or removed.
    MailboxMetadata(Vec<String>),
    /// These METADATA entries of the account ("server") were set or removed.
    ServerMetadata(Vec<String>),
    /// Another node changed the hierarchy or the subscriptions (a shared
    /// store): which names, this node cannot tell from the notice (it
    /// carries ids only), so a watcher reads the mailboxes and
    /// subscriptions again and compares (IMAP NOTIFY does). `name` is
    /// INBOX and `mailbox` the mailbox concerned, if the notice named one.
    Elsewhere,
    /// The owner changed what this account may do on the owner's
    /// `mailbox` (SETACL, DELETEACL; RFC 4314). Sent on the grantee's
    /// stream; `name` is INBOX (the owner's names are not the grantee's
    /// stream's to carry) and `readable` says whether the grant now holds
    /// `l` and `r`. A watcher of shared mailboxes (IMAP NOTIFY, RFC 5465
    /// 5.9) starts or stops watching the mailbox. On another node of a
    /// shared store the change arrives as [`AccountChange::Elsewhere`].
    Access {
        /// The account that owns the mailbox.
        owner: AccountId,
        /// `l` and `r` both held now.
        readable: bool,
    },
}

impl AccountChange {
    /// The account-level change of a mailbox event (`Gone` has none: the
    /// deletion or rename is announced on its own).
    pub fn of(e: &MailboxEvent) -> Option<AccountChange> {
        match e {
            MailboxEvent::Appended(_) => Some(AccountChange::MessageNew),
            MailboxEvent::Expunged { .. } => Some(AccountChange::MessageExpunge),
            MailboxEvent::FlagsChanged(_) => Some(AccountChange::FlagChange),
            MailboxEvent::Gone => None,
        }
    }
}

/// A new account stream.
pub(crate) fn channel() -> broadcast::Sender<AccountEvent> {
    broadcast::channel(ACCOUNT_EVENTS).0
}

/// Sends a batch of a mailbox's events (one write) to the account
/// stream, if anyone listens: each kind of change once, so a COPY of
/// thousands of messages is one event, not an overflow.
pub(crate) fn relay(
    tx: &broadcast::Sender<AccountEvent>,
    mailbox: MailboxId,
    name: &MailboxName,
    events: &[MailboxEvent],
) {
    if tx.receiver_count() == 0 {
        return;
    }
    let mut sent: Vec<AccountChange> = Vec::new();
    for change in events.iter().filter_map(AccountChange::of) {
        if !sent.contains(&change) {
            let _ = tx.send(AccountEvent {
                mailbox: Some(mailbox),
                name: name.clone(),
                change: change.clone(),
            });
            sent.push(change);
        }
    }
}

impl AccountCtx {
    pub(crate) fn announce(
        &self,
        mailbox: Option<MailboxId>,
        name: &MailboxName,
        c: AccountChange,
    ) {
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(AccountEvent {
                mailbox,
                name: name.clone(),
                change: c,
            });
        }
    }
}

impl Store {
    /// Subscribes to every change of an account's mailboxes (see the
    /// module docs). A lagging receiver gets `RecvError::Lagged`.
    pub fn watch_account(&self, account: AccountId) -> Result<broadcast::Receiver<AccountEvent>> {
        Ok(self.ctx(account)?.events.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Flags;
    use tokio::sync::broadcast::error::TryRecvError;

    fn drain(rx: &mut broadcast::Receiver<AccountEvent>) -> Vec<(String, AccountChange)> {
        let mut v = Vec::new();
        while let Ok(e) = rx.try_recv() {
            v.push((e.name.as_str().to_string(), e.change));
        }
        v
    }

    #[test]
    fn every_change_of_an_account_reaches_its_stream_and_no_other() {
        crate::test_backend::each(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = crate::test_backend::open(dir.path());
            let a = store.ensure_account("a@example.org").unwrap();
            let b = store.ensure_account("b@example.org").unwrap();
            let mut rx = store.watch_account(a).unwrap();
            let mut other = store.watch_account(b).unwrap();
            let n = |s: &str| MailboxName::new(s).unwrap();
            let work = store.create_mailbox(a, &n("Work"), None).unwrap();
            store
                .append(
                    a,
                    work.id,
                    b"Subject: x\r\n\r\nhi\r\n",
                    &Flags::default(),
                    None,
                )
                .unwrap();
            store.set_subscribed(a, &n("Work"), true).unwrap();
            let entry = |e: &str| vec![(e.to_string(), Some(b"v".to_vec()))];
            let scope = crate::MetadataScope::Mailbox(work.id);
            store
                .set_metadata(a, scope, &entry("/private/x"), 10)
                .unwrap();
            store
                .set_metadata(a, crate::MetadataScope::Server, &entry("/shared/y"), 10)
                .unwrap();
            store.rename_mailbox(a, &n("Work"), &n("Job")).unwrap();
            store.delete_mailbox(a, &n("Job")).unwrap();
            assert_eq!(
                drain(&mut rx),
                vec![
                    ("Work".into(), AccountChange::Created),
                    ("Work".into(), AccountChange::MessageNew),
                    ("Work".into(), AccountChange::Subscribed(true)),
                    (
                        "Work".into(),
                        AccountChange::MailboxMetadata(vec!["/private/x".into()])
                    ),
                    (
                        "INBOX".into(),
                        AccountChange::ServerMetadata(vec!["/shared/y".into()])
                    ),
                    ("Job".into(), AccountChange::Renamed { from: n("Work") }),
                    ("Job".into(), AccountChange::Deleted),
                ]
            );
            assert!(matches!(other.try_recv(), Err(TryRecvError::Empty)));
        });
    }

    #[test]
    fn a_grant_changed_is_told_to_the_grantee_only() {
        crate::test_backend::each(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = crate::test_backend::open(dir.path());
            let a = store.ensure_account("a@example.org").unwrap();
            let b = store.ensure_account("b@example.org").unwrap();
            let team = store
                .create_mailbox(a, &MailboxName::new("Team").unwrap(), None)
                .unwrap();
            let mut owner = store.watch_account(a).unwrap();
            let mut grantee = store.watch_account(b).unwrap();
            let access = |readable| AccountEvent {
                mailbox: Some(team.id),
                name: MailboxName::inbox(),
                change: AccountChange::Access { owner: a, readable },
            };
            // `l` and `r` are bits 0 and 1.
            store
                .set_acl(a, team.id, b, crate::AclRights(0b11))
                .unwrap();
            store.set_acl(a, team.id, b, crate::AclRights(0b1)).unwrap();
            store.set_acl(a, team.id, b, crate::AclRights(0)).unwrap();
            // (A shared store's own notices may come back as `Elsewhere`.)
            let heard = |rx: &mut broadcast::Receiver<AccountEvent>| {
                std::iter::from_fn(|| rx.try_recv().ok())
                    .filter(|e| e.change != AccountChange::Elsewhere)
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                heard(&mut grantee),
                vec![access(true), access(false), access(false)]
            );
            assert_eq!(heard(&mut owner), vec![]);
        });
    }

    #[test]
    fn a_write_of_many_messages_is_one_event() {
        crate::test_backend::each(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = crate::test_backend::open(dir.path());
            let a = store.ensure_account("a@example.org").unwrap();
            let inbox = store.mailbox(a, &MailboxName::inbox()).unwrap().unwrap().id;
            let n = |s: &str| MailboxName::new(s).unwrap();
            let work = store.create_mailbox(a, &n("Work"), None).unwrap();
            let mut uids = Vec::new();
            for _ in 0..ACCOUNT_EVENTS + 10 {
                let raw = b"Subject: x\r\n\r\nhi\r\n";
                uids.push(
                    store
                        .append(a, inbox, raw, &Flags::default(), None)
                        .unwrap()
                        .uid,
                );
            }
            let mut rx = store.watch_account(a).unwrap();
            store.copy(a, inbox, &uids, work.id).unwrap();
            let flags = Flags::system(Flags::SEEN);
            store
                .store_flags(a, inbox, &uids, crate::FlagOp::Add, &flags, None)
                .unwrap();
            assert_eq!(
                drain(&mut rx),
                vec![
                    ("Work".into(), AccountChange::MessageNew),
                    ("INBOX".into(), AccountChange::FlagChange),
                ]
            );
        });
    }

    #[test]
    fn a_watcher_that_falls_behind_is_told_it_lagged() {
        crate::test_backend::each(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = crate::test_backend::open(dir.path());
            let a = store.ensure_account("a@example.org").unwrap();
            let mut rx = store.watch_account(a).unwrap();
            for i in 0..=ACCOUNT_EVENTS {
                let name = MailboxName::new(&format!("S{i}")).unwrap();
                store.set_subscribed(a, &name, true).unwrap();
            }
            assert!(matches!(rx.try_recv(), Err(TryRecvError::Lagged(_))));
        });
    }
}
