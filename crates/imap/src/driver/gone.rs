//! The driver's side of a selected mailbox deleted or renamed by another
//! session (RFC 2180 3.3, 3.4; what the session makes of it and why:
//! `session/gone.rs`).
//!
//! The store tells every watcher of a mailbox `MailboxEvent::Gone` when
//! it is deleted or renamed, on this node at once and on another node of
//! a cluster when the notice arrives (`cluster.rs` `check_mailbox`, which
//! also ends the stream there). The event does not say which: the driver
//! asks the store whether the mailbox (by id, which a rename keeps)
//! still exists.
//!
//! - Gone: the session ends with `* BYE` (`Session::mailbox_deleted`),
//!   between commands or in IDLE, at once: the connection loop waits on
//!   the selected mailbox's stream whenever one is held
//!   ([`super::Driver::listening`]), and its events other than this one
//!   wait in the stash for the next command as before.
//! - Still there (renamed): the event is dropped and the session goes on
//!   with the mailbox under its new name, which the driver reads by id
//!   (`shared::name_now`: the owner's name, `Shared/<owner>/<name>` for a
//!   grantee) and hands to the session (`Session::mailbox_renamed`), so
//!   the session's copy follows a rename made by another session, by
//!   this one, or of a parent (the store sends `Gone` to every mailbox a
//!   RENAME moves). If the stream ended (renamed on another node) a new
//!   one is opened and the session resyncs from a snapshot, as after
//!   lost events.
//! - Events lost (the stream lagged) may have held a `Gone`: the store is
//!   asked all the same.
//! - The session's own DELETE of its selected mailbox: the event reaches
//!   the session as it always did (every message expunged at the next
//!   command): the client asked for it and is told by the tagged OK.

use super::{Watch, shared};
use crate::mailstore::MailStore;
use crate::session::Session;
use crate::wire::response::Out;
use sealpost_store::{MailboxEvent, StoreError};
use tokio::sync::broadcast::error::TryRecvError;

/// Events kept for the next command before the driver gives up on them
/// and resyncs from a snapshot instead (a session that sends nothing for
/// long in a busy mailbox).
const STASH_MAX: usize = 4096;

impl Watch {
    /// Keeps an event of the mailbox's stream for the session: `Gone` is
    /// the driver's to look into (see the module docs).
    pub(super) fn keep(&mut self, e: MailboxEvent) {
        if e == MailboxEvent::Gone && !self.deleted_here {
            self.gone = true;
            return;
        }
        if self.stash.len() >= STASH_MAX {
            self.stash.clear();
            self.lagged = true;
        }
        if !self.lagged {
            self.stash.push(e);
        }
    }

    /// The stream ended: the store forgot the mailbox (deleted or renamed
    /// on another node, the account removed).
    pub(super) fn stream_ended(&mut self) {
        self.closed = true;
        self.gone |= !self.deleted_here;
    }

    /// Events were lost (the stream lagged): the session resyncs from a
    /// snapshot, and whether the mailbox still exists is asked, as a
    /// `Gone` may have been among them.
    pub(super) fn lost_events(&mut self) {
        self.stash.clear();
        self.lagged = true;
        self.gone |= !self.deleted_here;
    }

    /// Takes in what the mailbox's stream holds.
    pub(super) fn take_in(&mut self) {
        loop {
            match self.events.try_recv() {
                Ok(e) => self.keep(e),
                Err(TryRecvError::Lagged(_)) => self.lost_events(),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => {
                    if !self.closed {
                        self.stream_ended();
                    }
                    break;
                }
            }
        }
    }
}

/// Whether the watched mailbox no longer exists (a store error other than
/// that tells nothing).
pub(super) fn deleted<S: MailStore>(store: &S, w: &Watch) -> bool {
    matches!(
        store.status(w.account, w.mailbox),
        Err(StoreError::NoMailbox | StoreError::NoAccount)
    )
}

/// The session's own DELETE succeeded: if it removed the selected
/// mailbox, its `Gone` is the session's, not a reason to close.
pub(super) fn deleted_here<S: MailStore>(watch: Option<&mut Watch>, store: &S) {
    if let Some(w) = watch
        && deleted(store, w)
    {
        w.deleted_here = true;
        // A `Gone` taken in before the DELETE's reply was looked at.
        if std::mem::take(&mut w.gone) {
            w.stash.push(MailboxEvent::Gone);
        }
    }
}

/// Looks into a `Gone` of the selected mailbox (see the module docs);
/// `true` when the session ended (`BYE`).
pub(super) fn follow<S: MailStore>(
    watch: &mut Option<Watch>,
    session: &mut Session,
    store: &S,
    out: &mut Out,
) -> bool {
    let Some(w) = watch.as_mut() else {
        return false;
    };
    w.take_in();
    if !w.gone {
        return false;
    }
    match store.status(w.account, w.mailbox) {
        Err(StoreError::NoMailbox | StoreError::NoAccount) => {
            w.gone = false;
            return session.mailbox_deleted(out);
        }
        // Renamed: the session goes on, under the name the mailbox has
        // now. A stream that ended is opened again; what it missed comes
        // from a snapshot.
        Ok(_) => {
            let user = w.grantee.unwrap_or(w.account);
            let Ok(Some(name)) = shared::name_now(store, user, w.account, w.mailbox) else {
                // Gone since, or the store cannot say now: the next
                // wakeup asks again.
                return false;
            };
            session.mailbox_renamed(w.mailbox, name);
            if !w.closed {
                w.gone = false;
            } else if let Ok((_, events)) = store.snapshot_and_watch(w.account, w.mailbox) {
                w.events = events;
                w.closed = false;
                w.gone = false;
                w.stash.clear();
                w.lagged = true;
            }
        }
        // The store cannot say now: the next wakeup asks again.
        Err(_) => {}
    }
    false
}
