//! The driver's side of a grant changed under a selected shared mailbox
//! (RFC 4314 5.1.1; what the session makes of it: `session/regrant.rs`).
//!
//! While a grantee has another account's mailbox selected, the driver
//! also holds the grantee's own change stream (`MailStore::watch_account`,
//! the one NOTIFY uses). The owner's SETACL or DELETEACL is told there as
//! `AccountChange::Access` naming the owner and the mailbox; a change made
//! on another node of a cluster arrives as `AccountChange::Elsewhere`
//! (the store's relay of notices between nodes), and a stream that
//! lagged may have lost one. Any of these makes the driver read the
//! grant again before the next command, and at once while the
//! connection waits (between commands or in IDLE: the connection loop
//! waits on [`super::Driver::changed`] whenever a mailbox is selected),
//! and hand the rights to the session. A request that the grant refused
//! (`recheck`), or events dropped because the grant was gone, do the same,
//! so a change that lands mid-command is told right after it.

use super::Watch;
use super::shared;
use crate::mailstore::MailStore;
use crate::session::Session;
use crate::wire::acl::Rights;
use crate::wire::response::Out;
use sealpost_store::{AccountChange, AccountEvent, AccountId, MailboxEvent, MailboxId};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

impl Watch {
    /// The grantee's stream for a mailbox opened through a grant (`None`
    /// for one of the user's own, or when the stream cannot be had: the
    /// per-request check still holds then).
    pub(super) fn grants_of<S: MailStore>(
        store: &S,
        grantee: Option<AccountId>,
    ) -> Option<broadcast::Receiver<AccountEvent>> {
        grantee.and_then(|g| store.watch_account(g).ok())
    }

    /// Whether an event of the grantee's stream may have changed the grant
    /// on this mailbox.
    fn concerns(&self, e: &AccountEvent) -> bool {
        concerns(self.account, self.mailbox, e)
    }

    /// Takes in what the grant stream holds; whether the grant must be
    /// read again (and forgets that it must).
    fn grant_changed(&mut self) -> bool {
        let mut changed = std::mem::take(&mut self.regrant);
        let (account, mailbox) = (self.account, self.mailbox);
        if let Some(rx) = self.grants.as_mut() {
            loop {
                match rx.try_recv() {
                    Ok(e) => changed |= concerns(account, mailbox, &e),
                    Err(TryRecvError::Lagged(_)) => changed = true,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Closed) => {
                        self.grants = None;
                        break;
                    }
                }
            }
        }
        changed
    }

    /// Waits for the selected mailbox's next event or the grant stream's;
    /// cancel-safe, what arrives is kept for the next
    /// [`super::Driver::advance`]. The mailbox's events are always taken
    /// in, so that its deletion is told at once (`gone`); the others wait
    /// in the stash for the next command unless the session is live (in
    /// IDLE, or as NOTIFY says), when the driver sends them.
    pub(super) async fn changed(watch: Option<&mut Watch>) {
        enum Got {
            Mailbox(Result<MailboxEvent, RecvError>),
            Grant(Result<AccountEvent, RecvError>),
        }
        let Some(w) = watch else {
            return std::future::pending().await;
        };
        let got = {
            let open = !w.closed;
            let (events, grants) = (&mut w.events, &mut w.grants);
            tokio::select! {
                r = events.recv(), if open => Got::Mailbox(r),
                r = async {
                    match grants.as_mut() {
                        Some(rx) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                } => Got::Grant(r),
            }
        };
        match got {
            Got::Mailbox(Ok(e)) => w.keep(e),
            Got::Mailbox(Err(RecvError::Lagged(_))) => w.lost_events(),
            Got::Mailbox(Err(RecvError::Closed)) => w.stream_ended(),
            Got::Grant(Ok(e)) => w.regrant |= w.concerns(&e),
            Got::Grant(Err(RecvError::Lagged(_))) => w.regrant = true,
            Got::Grant(Err(RecvError::Closed)) => w.grants = None,
        }
    }
}

/// Whether an event of the grantee's stream may have changed its grant on
/// the owner's (`account`) `mailbox`: that grant's `Access`, or a notice
/// from another node, which does not say what changed.
fn concerns(account: AccountId, mailbox: MailboxId, e: &AccountEvent) -> bool {
    match e.change {
        AccountChange::Access { owner, .. } => owner == account && e.mailbox == Some(mailbox),
        AccountChange::Elsewhere => true,
        _ => false,
    }
}

/// Reads the grant again if it may have changed, and tells the session;
/// `true` when the session ended (read access gone: `BYE`).
pub(super) fn follow<S: MailStore>(
    watch: &mut Option<Watch>,
    session: &mut Session,
    store: &S,
    out: &mut Out,
) -> bool {
    let Some(w) = watch.as_mut() else {
        return false;
    };
    let Some(user) = w.grantee else {
        return false;
    };
    if !w.grant_changed() {
        return false;
    }
    // A store error tells nothing: the next request's check decides.
    let Ok(rights) = shared::rights_on(store, user, w.account, w.mailbox) else {
        return false;
    };
    // The grant went with the mailbox: that is told as its deletion
    // (`gone`), not as a revocation.
    if !rights.has(Rights::LOOKUP.union(Rights::READ)) && super::gone::deleted(store, w) {
        w.gone = true;
        return false;
    }
    session.grant_changed(rights, out)
}
