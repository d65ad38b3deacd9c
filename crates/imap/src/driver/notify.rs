//! The driver's side of NOTIFY (RFC 5465): the account's change stream
//! (`MailStore::watch_account`), held while the session's NOTIFY is on
//! ([`Session::notify_watch`]) and handed to the session between
//! commands and during IDLE. The stream is bounded: a session that falls
//! behind gets `[NOTIFICATIONOVERFLOW]` and NOTIFY ends.
//!
//! Mailboxes other accounts share with the user (RFC 4314, named
//! `Shared/<owner>/<mailbox>`) are watched through their owners' streams,
//! one per owner who granted the user `l` on something. The grants are
//! read at NOTIFY SET and followed after it: a grant the owner changes
//! comes on the user's own stream (`AccountChange::Access`; from another
//! node of a cluster as `Elsewhere`, after which every grant is read
//! again), and a mailbox that became readable (`l` and `r`) is watched
//! from then on, one that stopped being readable no longer (RFC 5465
//! 5.9). Such a change reaches the session as `Access` under the
//! mailbox's `Shared/` name. Of an owner's stream only the events of the
//! granted mailboxes pass, renamed
//! into the user's namespace, and only while the user still holds the
//! rights (checked as each event arrives, so a revocation silences the
//! mailbox at once): message events and metadata need `l` and `r`,
//! renames `l`; a deletion is told of a mailbox the user could see.
//! The owner's subscriptions, creations (a new mailbox is nobody's
//! grant yet), server metadata and `/private` entries never pass.

use super::shared;
use crate::mailstore::MailStore;
use crate::session::Session;
use crate::session::acl::SHARED_ROOT;
use crate::wire::acl::Rights;
use sealpost_store::{AccountChange, AccountEvent, AccountId, MailboxId, MailboxName};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use tokio::sync::broadcast;

/// The account's change stream, as the driver receives it.
pub(super) struct AccountWatch {
    account: AccountId,
    /// The NOTIFY SET this watch was built for.
    generation: u64,
    events: broadcast::Receiver<AccountEvent>,
    /// The streams of the accounts that share mailboxes with the user.
    shared: Vec<OwnerWatch>,
    /// Received while waiting, not yet handed over.
    stash: Vec<AccountEvent>,
    lagged: bool,
}

/// Another account's stream, for the mailboxes it shares with the user.
struct OwnerWatch {
    owner: AccountId,
    /// `Shared/<owner address>`: where the owner's names appear.
    prefix: String,
    events: broadcast::Receiver<AccountEvent>,
    /// The owner's mailboxes the user could see (`l`), by id.
    visible: HashSet<MailboxId>,
    /// Of those, the ones the user could read (`l` and `r`) when the
    /// grants were last read: a change of this is told (5.9).
    readable: HashSet<MailboxId>,
    /// Received while waiting, not yet checked against the grants.
    raw: Vec<AccountEvent>,
}

impl AccountWatch {
    /// Starts, keeps or ends the watch as the session's NOTIFY says.
    pub(super) fn follow<S: MailStore>(
        watch: &mut Option<AccountWatch>,
        session: &Session,
        store: &S,
    ) {
        let want = session.notify_watch();
        if watch.as_ref().map(|w| (w.account, w.generation)) == want {
            return;
        }
        *watch = want.and_then(|(account, generation)| {
            let events = store.watch_account(account).ok()?;
            Some(AccountWatch {
                account,
                generation,
                events,
                shared: owners(store, account),
                stash: Vec::new(),
                lagged: false,
            })
        });
    }

    /// Whether something waits to be handed over (shared mailboxes'
    /// events are checked against the grants here).
    pub(super) fn ready<S: MailStore>(&mut self, store: &S) -> bool {
        use broadcast::error::TryRecvError;
        loop {
            match self.events.try_recv() {
                Ok(e) => self.stash.push(e),
                Err(TryRecvError::Lagged(_)) => self.lagged = true,
                Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => break,
            }
        }
        self.follow_grants(store);
        for o in &mut self.shared {
            loop {
                match o.events.try_recv() {
                    Ok(e) => o.raw.push(e),
                    Err(TryRecvError::Lagged(_)) => self.lagged = true,
                    Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => break,
                }
            }
            for e in std::mem::take(&mut o.raw) {
                if let Some(e) = o.admit(store, self.account, e) {
                    self.stash.push(e);
                }
            }
        }
        self.lagged || !self.stash.is_empty()
    }

    /// The grants changed (an `Access` event of the user's stream, or
    /// another node's `Elsewhere`): watch what became readable, stop
    /// watching what no longer is, and hand the session an `Access`
    /// event, named in its namespace, for each mailbox that changed.
    fn follow_grants<S: MailStore>(&mut self, store: &S) {
        let mut changed: Vec<(AccountId, MailboxId)> = Vec::new();
        let mut all = false;
        for e in &self.stash {
            match (&e.change, e.mailbox) {
                (AccountChange::Access { owner, .. }, Some(id)) => changed.push((*owner, id)),
                (AccountChange::Elsewhere, _) => all = true,
                _ => {}
            }
        }
        if changed.is_empty() && !all {
            return;
        }
        self.stash
            .retain(|e| !matches!(e.change, AccountChange::Access { .. }));
        if all {
            // Every grant held now, and every one watched before.
            if let Ok(grants) = store.acl_received(self.account) {
                changed.extend(grants.iter().map(|g| (g.owner, g.mailbox)));
            }
            for o in &self.shared {
                changed.extend(o.visible.iter().map(|id| (o.owner, *id)));
            }
        }
        changed.sort_unstable_by_key(|(o, m)| (o.0, m.0));
        changed.dedup();
        for (owner, id) in changed {
            if owner == self.account {
                continue;
            }
            if let Some(e) = self.regrant(store, owner, id) {
                self.stash.push(e);
            }
        }
    }

    /// Reads the user's rights on one of `owner`'s mailboxes again; the
    /// `Access` event to tell if its readability changed.
    fn regrant<S: MailStore>(
        &mut self,
        store: &S,
        owner: AccountId,
        id: MailboxId,
    ) -> Option<AccountEvent> {
        let rights = shared::rights_on(store, self.account, owner, id).unwrap_or(Rights::NONE);
        let readable = rights.has(Rights::LOOKUP.union(Rights::READ));
        let i = match self.shared.iter().position(|o| o.owner == owner) {
            Some(i) => i,
            None if rights.has(Rights::LOOKUP) => {
                self.shared.push(OwnerWatch::new(store, owner)?);
                self.shared.len() - 1
            }
            None => return None,
        };
        let o = &mut self.shared[i];
        if rights.has(Rights::LOOKUP) {
            o.visible.insert(id);
        } else {
            o.visible.remove(&id);
        }
        let was = if readable {
            !o.readable.insert(id)
        } else {
            o.readable.remove(&id)
        };
        if was == readable {
            return None;
        }
        // The name as the owner has it now (a mailbox deleted meanwhile
        // is told by its own event, if at all).
        let info = store
            .mailboxes(owner)
            .ok()?
            .into_iter()
            .find(|m| m.id == id)?;
        o.renamed(AccountEvent {
            mailbox: Some(id),
            name: info.name,
            change: AccountChange::Access { owner, readable },
        })
    }

    /// Everything received (after [`AccountWatch::ready`]), and whether
    /// some was lost.
    pub(super) fn drain(&mut self) -> (Vec<AccountEvent>, bool) {
        (
            std::mem::take(&mut self.stash),
            std::mem::take(&mut self.lagged),
        )
    }

    /// Waits for the next event of any watched stream (cancel-safe: it
    /// is kept).
    pub(super) async fn changed(watch: Option<&mut AccountWatch>) {
        use broadcast::error::RecvError;
        let Some(w) = watch else {
            return std::future::pending().await;
        };
        let got = {
            let mut own = Box::pin(w.events.recv());
            let mut others: Vec<_> = w
                .shared
                .iter_mut()
                .map(|o| Box::pin(o.events.recv()))
                .collect();
            std::future::poll_fn(|cx| {
                if let Poll::Ready(r) = own.as_mut().poll(cx) {
                    return Poll::Ready((None, r));
                }
                for (i, f) in others.iter_mut().enumerate() {
                    if let Poll::Ready(r) = Pin::as_mut(f).poll(cx) {
                        return Poll::Ready((Some(i), r));
                    }
                }
                Poll::Pending
            })
            .await
        };
        match got {
            (None, Ok(e)) => w.stash.push(e),
            (Some(i), Ok(e)) => w.shared[i].raw.push(e),
            (_, Err(RecvError::Lagged(_))) => w.lagged = true,
            // The owner's account is gone from memory: nothing more to hear.
            (Some(i), Err(RecvError::Closed)) => {
                w.shared.swap_remove(i);
            }
            (None, Err(RecvError::Closed)) => std::future::pending().await,
        }
    }
}

impl OwnerWatch {
    /// The owner's stream, nothing granted yet (`None`: the owner is gone).
    fn new<S: MailStore>(store: &S, owner: AccountId) -> Option<OwnerWatch> {
        let (Ok(Some(address)), Ok(events)) =
            (store.account_address(owner), store.watch_account(owner))
        else {
            return None;
        };
        Some(OwnerWatch {
            owner,
            prefix: format!("{SHARED_ROOT}/{address}"),
            events,
            visible: HashSet::new(),
            readable: HashSet::new(),
            raw: Vec::new(),
        })
    }

    /// One of the owner's events as the user may hear it, if at all (see
    /// the module docs).
    fn admit<S: MailStore>(
        &mut self,
        store: &S,
        user: AccountId,
        e: AccountEvent,
    ) -> Option<AccountEvent> {
        let id = e.mailbox?;
        if !self.visible.contains(&id) {
            return None;
        }
        if e.change == AccountChange::Deleted {
            self.visible.remove(&id);
            self.readable.remove(&id);
            return self.renamed(e);
        }
        let rights = shared::rights_on(store, user, self.owner, id).unwrap_or(Rights::NONE);
        if !rights.has(Rights::LOOKUP) {
            // Revoked: silent from now on (the revocation itself is told
            // by its `Access` event; a new grant brings the mailbox back).
            return None;
        }
        let readable = rights.has(Rights::READ);
        let e = match e.change {
            AccountChange::MessageNew
            | AccountChange::MessageExpunge
            | AccountChange::FlagChange
                if readable =>
            {
                e
            }
            AccountChange::Renamed { .. } => e,
            AccountChange::MailboxMetadata(entries) if readable => {
                let shared: Vec<String> = entries
                    .into_iter()
                    .filter(|n| {
                        n.get(..8)
                            .is_some_and(|p| p.eq_ignore_ascii_case("/shared/"))
                    })
                    .collect();
                if shared.is_empty() {
                    return None;
                }
                AccountEvent {
                    change: AccountChange::MailboxMetadata(shared),
                    ..e
                }
            }
            _ => return None,
        };
        self.renamed(e)
    }

    /// The event with its names in the user's namespace.
    fn renamed(&self, e: AccountEvent) -> Option<AccountEvent> {
        let name = MailboxName::new(&format!("{}/{}", self.prefix, e.name)).ok()?;
        let change = match e.change {
            AccountChange::Renamed { from } => AccountChange::Renamed {
                from: MailboxName::new(&format!("{}/{from}", self.prefix)).ok()?,
            },
            other => other,
        };
        Some(AccountEvent {
            mailbox: e.mailbox,
            name,
            change,
        })
    }
}

/// The streams of the accounts that granted `user` `l` on a mailbox.
fn owners<S: MailStore>(store: &S, user: AccountId) -> Vec<OwnerWatch> {
    let mut out: Vec<OwnerWatch> = Vec::new();
    let Ok(grants) = store.acl_received(user) else {
        return out;
    };
    for g in grants {
        let rights = Rights::from_bits(g.rights.0);
        if g.owner == user || !rights.has(Rights::LOOKUP) {
            continue;
        }
        let i = match out.iter().position(|o| o.owner == g.owner) {
            Some(i) => i,
            None => match OwnerWatch::new(store, g.owner) {
                Some(o) => {
                    out.push(o);
                    out.len() - 1
                }
                None => continue,
            },
        };
        out[i].visible.insert(g.mailbox);
        if rights.has(Rights::READ) {
            out[i].readable.insert(g.mailbox);
        }
    }
    out
}
