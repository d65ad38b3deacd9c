//! Appending several messages to one mailbox as one change: all of them
//! or none (IMAP MULTIAPPEND, RFC 3502 section 3: "the server MUST NOT
//! append any of the messages if any of them cannot be appended"), and
//! the keyed object ids of the account (IMAP OBJECTID, RFC 8474).
//!
//! The batch follows the single append's write order (see `message.rs`):
//! every blob is put in the transaction first, then the mailbox is
//! locked, consecutive UIDs and one modseq are allocated there, the rows
//! and the mailbox row go into the same commit, and only once it is
//! durable do the messages enter the index and reach watchers. A failure
//! anywhere (quota, a blob write, the commit) leaves no row behind and
//! gives the quota reservation back; the blobs already written are then
//! unreferenced, as after a single append that failed.

use crate::blob::BlobId;
use crate::codec::{self, table};
use crate::engine::{MessageRow, blob_aad, now, summary_aad};
use crate::message::MAX_MESSAGE_SIZE;
use crate::{
    AccountId, Appended, Flags, MailboxEvent, MailboxId, MessageEntry, Result, Store, StoreError,
    Uid,
};

/// One message of an append: its bytes, flags and internal date (now
/// when `None`).
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// The message as received.
    pub raw: &'a [u8],
    /// Its initial flags.
    pub flags: Flags,
    /// Its internal date (seconds since the epoch).
    pub internal_date: Option<i64>,
}

/// Longest personalization [`Store::object_id`] accepts (BLAKE2b's limit).
pub const MAX_OBJECT_ID_DOMAIN: usize = 16;

impl Store {
    /// Stores `messages` in `mailbox` in one durable change: consecutive
    /// UIDs in the given order, all visible at once, or none stored and an
    /// error. Fails with [`StoreError::OverQuota`] when they do not all fit.
    pub fn append_all(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        messages: &[NewMessage<'_>],
    ) -> Result<Vec<Appended>> {
        self.append_batch(account, mailbox, messages, None)
    }

    /// [`Store::append_all`], the first message under `first_uid` when
    /// given (imports keeping another server's UIDs): it must be at least
    /// the mailbox's next UID (UIDs only grow, RFC 9051 2.3.1.1); the UIDs
    /// skipped become gaps, as after an expunge.
    pub(crate) fn append_batch(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        messages: &[NewMessage<'_>],
        first_uid: Option<Uid>,
    ) -> Result<Vec<Appended>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        if messages.iter().any(|m| m.raw.len() > MAX_MESSAGE_SIZE) {
            return Err(StoreError::TooLarge);
        }
        let total: u64 = messages.iter().map(|m| m.raw.len() as u64).sum();
        let count = messages.len() as u64;
        let ctx = self.ctx(account)?;
        let state = self.state(account, mailbox)?;
        let shared = self.shared();
        if !shared {
            self.reserve(&ctx, total, count)?;
        }
        let sealed: Vec<(BlobId, Vec<u8>, Vec<u8>)> = messages
            .iter()
            .map(|m| {
                let summary = self.inner.summarizer.summarize(m.raw);
                (
                    BlobId::random(),
                    ctx.key.seal(&blob_aad(account), m.raw),
                    ctx.key.seal(&summary_aad(account), &summary),
                )
            })
            .collect();
        let result = (|| {
            let mut tx = self.tx()?;
            for (blob, bytes, _) in &sealed {
                tx.put_blob(account, *blob, bytes)?;
            }
            let date = now();
            let mut st = state.lock();
            let mut usage =
                self.lock_for_write(&mut tx, &mut st, account, mailbox, self.usage_read(account))?;
            self.usage_in_tx(&mut tx, &ctx, usage.pop(), total as i64, count as i64)?;
            let before = (st.uid_next, st.highest_modseq);
            match first_uid {
                Some(u) if u.0 < st.uid_next => {
                    return Err(StoreError::NotAllowed(
                        "a given UID must be at least the mailbox's next UID",
                    ));
                }
                Some(u) => st.uid_next = u.0,
                None => {}
            }
            if u64::from(st.uid_next) + count > u64::from(u32::MAX) {
                st.uid_next = before.0;
                return Err(StoreError::NotAllowed("mailbox has run out of UIDs"));
            }
            let modseq = st.next_modseq();
            let mut events = Vec::with_capacity(messages.len());
            for (m, (blob, _, summary)) in messages.iter().zip(&sealed) {
                let uid = Uid(st.uid_next);
                st.uid_next += 1;
                let size = m.raw.len() as u32;
                let row = MessageRow {
                    blob: *blob,
                    flags: m.flags.clone(),
                    modseq: modseq.0,
                    size,
                    internal_date: m.internal_date.unwrap_or(date),
                    save_date: date,
                };
                tx.put(
                    codec::message_key(table::MESSAGE, account, mailbox, uid),
                    row.encode(),
                );
                tx.put(
                    codec::message_key(table::SUMMARY, account, mailbox, uid),
                    summary.clone(),
                );
                events.push(MailboxEvent::Appended(MessageEntry {
                    uid,
                    flags: m.flags.clone(),
                    modseq,
                    size,
                }));
            }
            let appended = events
                .iter()
                .filter_map(|e| match e {
                    MailboxEvent::Appended(entry) => Some(Appended {
                        mailbox,
                        uid_validity: st.info.uid_validity,
                        uid: entry.uid,
                        modseq,
                    }),
                    _ => None,
                })
                .collect();
            self.commit_and_publish(tx, &mut st, &ctx.key, account, mailbox, before, events)?;
            Ok(appended)
        })();
        if result.is_err() && !shared {
            self.release(&ctx, total, count);
        }
        result
    }

    /// An identifier of `data` that only this account's key can produce:
    /// BLAKE2b-256 keyed with a key derived from the account's data key,
    /// personalized with `domain` (at most [`MAX_OBJECT_ID_DOMAIN`]
    /// bytes). Stable for the account's lifetime, unguessable without the
    /// key, and unrelated between accounts and between domains, so equal
    /// content in two accounts never shows up under one id.
    pub fn object_id(&self, account: AccountId, domain: &[u8], data: &[u8]) -> Result<[u8; 32]> {
        if domain.len() > MAX_OBJECT_ID_DOMAIN {
            return Err(StoreError::NotAllowed("object id domain too long"));
        }
        let ctx = self.ctx(account)?;
        let key = ctx.key.derive(b"sealpost-objid", b"v1");
        Ok(key.index_mac(domain, data))
    }
}
