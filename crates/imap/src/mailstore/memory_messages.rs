//! The model's message operations, as the real store's: APPEND (next
//! UID, one modseq, quota reserved before the write), STORE (a modseq per
//! changed message, CONDSTORE's UNCHANGEDSINCE), COPY and MOVE (one modseq
//! for the whole copy, consecutive UIDs), EXPUNGE (remembered with its
//! modseq for QRESYNC), the changes since a modseq, and message metadata.

use super::{Body, MAX_MESSAGE_SIZE, MemStore, Model, now};
use crate::message::ImapSummarizer;
use sealpost_store::{
    AccountId, Appended, Changes, CopyOutcome, FlagOp, Flags, FlagsOutcome, MailboxEvent,
    MailboxId, MessageEntry, MessageMeta, ModSeq, Result, StoreError, Summarizer, Uid,
};
use std::sync::Arc;

impl Model {
    /// Copies messages (the real store's `copy`); MOVE removes them after.
    pub(super) fn copy(
        &mut self,
        account: AccountId,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<CopyOutcome> {
        let source = self.mailbox(account, from)?;
        self.mailbox(account, to)?;
        let mut wanted: Vec<Uid> = uids
            .iter()
            .copied()
            .filter(|u| source.position(*u).is_some())
            .collect();
        wanted.sort();
        wanted.dedup();
        let items: Vec<(Uid, MessageEntry, Body)> = wanted
            .iter()
            .filter_map(|u| {
                let e = source.entries[source.position(*u)?].clone();
                let b = source.bodies.get(u)?.clone();
                Some((*u, e, b))
            })
            .collect();
        let total: u64 = items.iter().map(|(_, e, _)| u64::from(e.size)).sum();
        let acct = self.account_mut(account)?;
        acct.reserve(total)?;
        let dest = acct.mailbox_mut(to)?;
        if u64::from(dest.uid_next) + items.len() as u64 >= u64::from(u32::MAX) {
            return Err(StoreError::NotAllowed("mailbox has run out of UIDs"));
        }
        let date = now();
        let modseq = dest.next_modseq();
        let mut pairs = Vec::with_capacity(items.len());
        for (uid, entry, mut body) in items {
            let new_uid = Uid(dest.uid_next);
            dest.uid_next += 1;
            body.save_date = date;
            let e = MessageEntry {
                uid: new_uid,
                flags: entry.flags,
                modseq,
                size: entry.size,
            };
            dest.entries.push(e.clone());
            dest.bodies.insert(new_uid, body);
            dest.send(MailboxEvent::Appended(e));
            pairs.push((uid, new_uid));
        }
        if !pairs.is_empty() {
            dest.relay(sealpost_store::AccountChange::MessageNew);
        }
        Ok(CopyOutcome {
            uid_validity: dest.info.uid_validity,
            pairs,
        })
    }

    pub(super) fn remove_where(
        &mut self,
        account: AccountId,
        mailbox: MailboxId,
        only: Option<&[Uid]>,
        need_deleted_flag: bool,
    ) -> Result<Vec<Uid>> {
        let mb = self.account_mut(account)?.mailbox_mut(mailbox)?;
        let victims: Vec<Uid> = mb
            .entries
            .iter()
            .filter(|e| only.is_none_or(|o| o.contains(&e.uid)))
            .filter(|e| !need_deleted_flag || e.flags.has(Flags::DELETED))
            .map(|e| e.uid)
            .collect();
        if !victims.is_empty() {
            mb.remove(&victims);
        }
        Ok(victims)
    }
}

/// The real store's `changes_since`: flag changes and expunges after `since`.
pub(super) fn changes_since(
    store: &MemStore,
    account: AccountId,
    mailbox: MailboxId,
    since: ModSeq,
) -> Result<Changes> {
    let m = store.inner.lock();
    let mb = m.mailbox(account, mailbox)?;
    let changed = mb
        .entries
        .iter()
        .filter(|e| e.modseq > since)
        .cloned()
        .collect();
    let mut vanished: Vec<Uid> = mb
        .vanished
        .iter()
        .filter(|(m, _)| *m > since)
        .map(|(_, u)| *u)
        .collect();
    vanished.sort();
    vanished.dedup();
    Ok(Changes { changed, vanished })
}

/// The real store's `append`: the next UID and modseq, quota reserved first.
pub(super) fn append(
    store: &MemStore,
    account: AccountId,
    mailbox: MailboxId,
    raw: &[u8],
    flags: &Flags,
    internal_date: Option<i64>,
) -> Result<Appended> {
    if raw.len() > MAX_MESSAGE_SIZE {
        return Err(StoreError::TooLarge);
    }
    let summary = ImapSummarizer.summarize(raw);
    let mut m = store.inner.lock();
    let a = m.account_mut(account)?;
    a.mailbox_mut(mailbox)?;
    let size = raw.len() as u32;
    a.reserve(u64::from(size))?;
    let mb = a.mailbox_mut(mailbox)?;
    if mb.uid_next == u32::MAX {
        return Err(StoreError::NotAllowed("mailbox has run out of UIDs"));
    }
    let uid = Uid(mb.uid_next);
    mb.uid_next += 1;
    let modseq = mb.next_modseq();
    let date = now();
    mb.bodies.insert(
        uid,
        Body {
            raw: Arc::new(raw.to_vec()),
            summary: Arc::new(summary),
            internal_date: internal_date.unwrap_or(date),
            save_date: date,
        },
    );
    let entry = MessageEntry {
        uid,
        flags: flags.clone(),
        modseq,
        size,
    };
    mb.entries.push(entry.clone());
    mb.publish(MailboxEvent::Appended(entry));
    Ok(Appended {
        mailbox,
        uid_validity: mb.info.uid_validity,
        uid,
        modseq,
    })
}

/// The real store's `meta`: flags, dates and summary of one message.
pub(super) fn meta(
    store: &MemStore,
    account: AccountId,
    mailbox: MailboxId,
    uid: Uid,
) -> Result<Option<MessageMeta>> {
    let m = store.inner.lock();
    let mb = m.mailbox(account, mailbox)?;
    let (Some(pos), Some(body)) = (mb.position(uid), mb.bodies.get(&uid)) else {
        return Ok(None);
    };
    let e = &mb.entries[pos];
    Ok(Some(MessageMeta {
        uid,
        flags: e.flags.clone(),
        modseq: e.modseq,
        size: e.size,
        internal_date: body.internal_date,
        save_date: body.save_date,
        summary: body.summary.to_vec(),
    }))
}

/// The real store's `store_flags`: a modseq per message that changed;
/// `UNCHANGEDSINCE` leaves newer ones alone and reports them modified.
pub(super) fn store_flags(
    store: &MemStore,
    account: AccountId,
    mailbox: MailboxId,
    uids: &[Uid],
    op: FlagOp,
    flags: &Flags,
    unchanged_since: Option<ModSeq>,
) -> Result<FlagsOutcome> {
    let mut m = store.inner.lock();
    let mb = m.account_mut(account)?.mailbox_mut(mailbox)?;
    let mut outcome = FlagsOutcome::default();
    let mut events = Vec::new();
    for &uid in uids {
        let Some(pos) = mb.position(uid) else {
            continue;
        };
        if let Some(since) = unchanged_since
            && mb.entries[pos].modseq > since
        {
            outcome.modified.push(uid);
            continue;
        }
        let mut new_flags = mb.entries[pos].flags.clone();
        new_flags.apply(op, flags);
        if new_flags == mb.entries[pos].flags {
            outcome.updated.push(mb.entries[pos].clone());
            continue;
        }
        let modseq = mb.next_modseq();
        let e = &mut mb.entries[pos];
        e.flags = new_flags;
        e.modseq = modseq;
        outcome.updated.push(e.clone());
        events.push(MailboxEvent::FlagsChanged(e.clone()));
    }
    if !events.is_empty() {
        mb.relay(sealpost_store::AccountChange::FlagChange);
    }
    for e in events {
        mb.send(e);
    }
    Ok(outcome)
}
