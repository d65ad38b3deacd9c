//! NOTIFY's MailboxName and SubscriptionChange (RFC 5465 5.4-5.5) for
//! changes made on another node of a cluster.
//!
//! The notices between nodes carry ids, never names, so the store tells a
//! node's watchers only that the account's hierarchy or subscriptions
//! changed elsewhere (`AccountChange::Elsewhere`). The session keeps what
//! it knows (the user's own mailboxes by id, the subscribed names; from
//! NOTIFY SET on, kept current by every event of the stream), reads both
//! again and tells the difference as the events it would have heard had
//! the change been made here: a new id is `Created`, a missing one
//! `Deleted`, a new name for an id `Renamed`, a name (un)subscribed
//! `Subscribed`. Each goes through the same filter as the stream's own
//! events. A change already told (a rename or deletion of a mailbox this
//! node holds open comes as such) is in what the session knows by then,
//! so it is not told twice.

use super::notify::{Notify, NotifyJob};
use super::{Job, Reply, Request, Session, Step, StoreReply, StoreRequest, store_reply};
use crate::wire::command::Tag;
use crate::wire::response::Out;
use sealpost_store::{AccountChange, AccountEvent, AccountId, MailboxId, MailboxInfo, MailboxName};
use std::collections::{BTreeMap, BTreeSet};

impl Notify {
    /// Keeps the known tree current with one event of the stream.
    pub(super) fn follow_tree(&mut self, e: &AccountEvent) {
        if super::acl::in_shared_namespace(e.name.as_str()) {
            return;
        }
        let Some(id) = e.mailbox else {
            return;
        };
        match &e.change {
            AccountChange::Created | AccountChange::Renamed { .. } => {
                self.tree.insert(id, e.name.clone());
            }
            AccountChange::Deleted => {
                self.tree.remove(&id);
            }
            _ => {}
        }
    }
}

impl Session {
    /// Another node changed the hierarchy: read it again (then the
    /// STATUS responses already due).
    pub(super) fn compare_elsewhere(
        &mut self,
        account: AccountId,
        statuses: Vec<(MailboxId, String)>,
    ) -> Step {
        let (tag, idle) = self.unsolicited_tag();
        let job = Job::Notify(NotifyJob::Elsewhere { statuses, idle });
        let request = Request::Store(StoreRequest::MailboxTree { account });
        self.wait(tag, true, job, request)
    }

    /// The hierarchy as it is now: tell the difference.
    pub(super) fn elsewhere_compared(
        &mut self,
        tag: Tag,
        mut statuses: Vec<(MailboxId, String)>,
        idle: bool,
        reply: Reply,
        out: &mut Out,
    ) -> Step {
        // A failed read costs only these LIST lines.
        let Ok(StoreReply::Tree(infos, subs)) = store_reply(reply) else {
            return self.statuses_or_done(tag, statuses, idle);
        };
        let Some(n) = self.notify.as_ref() else {
            return self.unsolicited_done(tag, idle);
        };
        let events = difference(n, &own_tree(&infos), &subs.into_iter().collect());
        let selected = self.selected_id();
        for e in events {
            if let Some(line) = self.account_event(&e, selected, &mut statuses) {
                out.untagged(&line);
            }
        }
        self.statuses_or_done(tag, statuses, idle)
    }

    fn statuses_or_done(
        &mut self,
        tag: Tag,
        statuses: Vec<(MailboxId, String)>,
        idle: bool,
    ) -> Step {
        let Ok(account) = self.account() else {
            return self.unsolicited_done(tag, idle);
        };
        if statuses.is_empty() {
            return self.unsolicited_done(tag, idle);
        }
        let request = StoreRequest::Statuses {
            account: account.id,
            mailboxes: statuses.iter().map(|(id, _)| *id).collect(),
        };
        let job = Job::Notify(NotifyJob::Status {
            names: statuses,
            idle,
        });
        self.wait(tag, true, job, Request::Store(request))
    }
}

/// The user's own mailboxes of a tree (not the shared namespace), by id.
pub(super) fn own_tree(infos: &[MailboxInfo]) -> BTreeMap<MailboxId, MailboxName> {
    infos
        .iter()
        .filter(|i| !super::acl::in_shared_namespace(i.name.as_str()))
        .map(|i| (i.id, i.name.clone()))
        .collect()
}

/// What changed between what `n` knows and `now`, as stream events.
fn difference(
    n: &Notify,
    now: &BTreeMap<MailboxId, MailboxName>,
    subs: &BTreeSet<MailboxName>,
) -> Vec<AccountEvent> {
    let event = |id: Option<MailboxId>, name: &MailboxName, change| AccountEvent {
        mailbox: id,
        name: name.clone(),
        change,
    };
    let mut out = Vec::new();
    for (id, name) in &n.tree {
        match now.get(id) {
            None => out.push(event(Some(*id), name, AccountChange::Deleted)),
            Some(new) if new != name => out.push(event(
                Some(*id),
                new,
                AccountChange::Renamed { from: name.clone() },
            )),
            Some(_) => {}
        }
    }
    for (id, name) in now {
        if !n.tree.contains_key(id) {
            out.push(event(Some(*id), name, AccountChange::Created));
        }
    }
    for name in subs.difference(&n.subscriptions) {
        out.push(event(None, name, AccountChange::Subscribed(true)));
    }
    for name in n.subscriptions.difference(subs) {
        out.push(event(None, name, AccountChange::Subscribed(false)));
    }
    out
}
