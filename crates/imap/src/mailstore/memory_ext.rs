//! The model's side of the extensions: MULTIAPPEND's all-or-nothing
//! append (as `Store::append_all`), REPLACE's removal of the old message
//! (as `Store::remove`) and OBJECTID's keyed ids (as `Store::object_id`:
//! here a SipHash under a random per-process key, not BLAKE2b, but with
//! the same shape: 32 bytes, stable, different per account and domain);
//! and the account change stream NOTIFY watches (as `Store::watch_account`).

use super::{Body, MAX_MESSAGE_SIZE, MemStore, now};
use crate::message::ImapSummarizer;
use sealpost_store::{
    AccountId, Appended, MailboxEvent, MailboxId, MessageEntry, NewMessage, Result, StoreError,
    Summarizer, Uid,
};
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, OnceLock};

/// The real store's `append_all`: all or none, consecutive UIDs, one modseq.
pub(super) fn append_all(
    store: &MemStore,
    account: AccountId,
    mailbox: MailboxId,
    messages: &[NewMessage<'_>],
) -> Result<Vec<Appended>> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    if messages.iter().any(|m| m.raw.len() > MAX_MESSAGE_SIZE) {
        return Err(StoreError::TooLarge);
    }
    let total: u64 = messages.iter().map(|m| m.raw.len() as u64).sum();
    let mut m = store.inner.lock();
    let a = m.account_mut(account)?;
    a.mailbox_mut(mailbox)?;
    a.reserve(total)?;
    let mb = a.mailbox_mut(mailbox)?;
    if u64::from(mb.uid_next) + messages.len() as u64 > u64::from(u32::MAX) {
        return Err(StoreError::NotAllowed("mailbox has run out of UIDs"));
    }
    let modseq = mb.next_modseq();
    let date = now();
    let mut appended = Vec::with_capacity(messages.len());
    for msg in messages {
        let uid = Uid(mb.uid_next);
        mb.uid_next += 1;
        mb.bodies.insert(
            uid,
            Body {
                raw: Arc::new(msg.raw.to_vec()),
                summary: Arc::new(ImapSummarizer.summarize(msg.raw)),
                internal_date: msg.internal_date.unwrap_or(date),
                save_date: date,
            },
        );
        let entry = MessageEntry {
            uid,
            flags: msg.flags.clone(),
            modseq,
            size: msg.raw.len() as u32,
        };
        mb.entries.push(entry.clone());
        mb.send(MailboxEvent::Appended(entry));
        appended.push(Appended {
            mailbox,
            uid_validity: mb.info.uid_validity,
            uid,
            modseq,
        });
    }
    mb.relay(sealpost_store::AccountChange::MessageNew);
    Ok(appended)
}

/// The real store's `remove`: these messages, `\Deleted` or not.
pub(super) fn remove(
    store: &MemStore,
    account: AccountId,
    mailbox: MailboxId,
    uids: &[Uid],
) -> Result<Vec<Uid>> {
    store
        .inner
        .lock()
        .remove_where(account, mailbox, Some(uids), false)
}

/// The real store's `object_id`, keyed by a random key of this process.
pub(super) fn object_id(
    store: &MemStore,
    account: AccountId,
    domain: &[u8],
    data: &[u8],
) -> Result<[u8; 32]> {
    static KEY: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    if domain.len() > sealpost_store::MAX_OBJECT_ID_DOMAIN {
        return Err(StoreError::NotAllowed("object id domain too long"));
    }
    store.inner.lock().account(account)?;
    let key = KEY.get_or_init(Default::default);
    let mut id = [0u8; 32];
    for (i, chunk) in id.chunks_mut(8).enumerate() {
        let mut h = key.build_hasher();
        h.write_u64(account.0);
        h.write_usize(i);
        h.write(domain);
        h.write(data);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    Ok(id)
}

/// Sends an account event (as the real store: only while someone listens).
pub(super) fn announce(
    tx: &tokio::sync::broadcast::Sender<sealpost_store::AccountEvent>,
    mailbox: Option<MailboxId>,
    name: &sealpost_store::MailboxName,
    change: sealpost_store::AccountChange,
) {
    if tx.receiver_count() > 0 {
        let _ = tx.send(sealpost_store::AccountEvent {
            mailbox,
            name: name.clone(),
            change,
        });
    }
}
