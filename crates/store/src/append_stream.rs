//! Appending a message that arrives in pieces (an import reading a large
//! message from the network or a file), with memory flat whatever its size.
//!
//! [`Store::append_stream`] starts an [`AppendStream`]; each
//! [`AppendStream::write`] seals what it is given in pieces (`chunked.rs`)
//! and hands the sealed pieces to the backend's blob sink
//! ([`crate::backend::Backend::blob_sink`]: a temporary file when
//! embedded), so at most one piece of the message is held. Nothing is
//! visible until [`AppendStream::finish`], which follows the single
//! append's write order (`message.rs`): the blob is made durable in the
//! transaction, the mailbox is locked, the quota is reserved, the UID and
//! modseq are allocated, and the row commits. Dropped before that, or
//! failing, it leaves no row and no blob behind.
//!
//! The summary IMAP keeps beside a message is made from the whole message
//! when it is at most [`SUMMARY_WHOLE`] octets (the first octets are kept
//! for it); a larger message is stored without one, and IMAP makes it from
//! the message when a client asks for the envelope or structure (as it does
//! for messages stored before summaries existed).

use crate::backend::BlobSink;
use crate::blob::BlobId;
use crate::chunked::Sealer;
use crate::codec::{self, table};
use crate::engine::{AccountCtx, MessageRow, blob_aad, now, summary_aad};
use crate::message::MAX_MESSAGE_SIZE;
use crate::{
    AccountId, Appended, Flags, MailboxEvent, MailboxId, MessageEntry, Result, Store, StoreError,
    Uid,
};
use std::sync::Arc;

/// Largest message whose summary is made at append; its octets are held
/// until then.
pub const SUMMARY_WHOLE: usize = 4 << 20;

/// A message being appended piece by piece (see the module docs).
pub struct AppendStream<'a> {
    store: &'a Store,
    account: AccountId,
    ctx: Arc<AccountCtx>,
    blob: BlobId,
    sealer: Sealer,
    sink: Box<dyn BlobSink>,
    /// The message while it is at most [`SUMMARY_WHOLE`] octets.
    head: Option<Vec<u8>>,
    size: u64,
}

impl std::fmt::Debug for AppendStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppendStream")
            .field("account", &self.account)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Starts appending a message to `account` that arrives in pieces.
    pub fn append_stream(&self, account: AccountId) -> Result<AppendStream<'_>> {
        let ctx = self.ctx(account)?;
        let blob = BlobId::random();
        let mut sink = self.inner.backend.blob_sink(account, blob)?;
        let (sealer, header) = Sealer::new(&ctx.key, blob_aad(account));
        sink.write(&header)?;
        Ok(AppendStream {
            store: self,
            account,
            ctx,
            blob,
            sealer,
            sink,
            head: Some(Vec::new()),
            size: 0,
        })
    }
}

impl AppendStream<'_> {
    /// Adds the next octets of the message. Past the store's limit
    /// ([`MAX_MESSAGE_SIZE`]) it fails with [`StoreError::TooLarge`].
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.size += bytes.len() as u64;
        if self.size > MAX_MESSAGE_SIZE as u64 {
            return Err(StoreError::TooLarge);
        }
        if let Some(head) = &mut self.head {
            if head.len() + bytes.len() <= SUMMARY_WHOLE {
                head.extend_from_slice(bytes);
            } else {
                self.head = None;
            }
        }
        let sink = &mut self.sink;
        self.sealer.push(bytes, &mut |sealed| sink.write(sealed))
    }

    /// Octets written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Stores the message in `mailbox` with `flags` and its internal date
    /// (now when `None`), under `keep_uid` when given and still possible
    /// (at least the mailbox's next UID: UIDs only grow, RFC 9051
    /// 2.3.1.1), under the next UID otherwise. Returns once it is durable.
    pub fn finish(
        self,
        mailbox: MailboxId,
        flags: &Flags,
        internal_date: Option<i64>,
        keep_uid: Option<Uid>,
    ) -> Result<Appended> {
        let AppendStream {
            store,
            account,
            ctx,
            blob,
            sealer,
            mut sink,
            head,
            size,
        } = self;
        sealer.finish(&mut |sealed| sink.write(sealed))?;
        let summary = head
            .map(|raw| store.inner.summarizer.summarize(&raw))
            .unwrap_or_default();
        let summary = ctx.key.seal(&summary_aad(account), &summary);
        let state = store.state(account, mailbox)?;
        let shared = store.shared();
        if !shared {
            store.reserve(&ctx, size, 1)?;
        }
        let result = (|| {
            let mut tx = store.tx()?;
            tx.put_blob_sink(account, blob, sink)?;
            let date = now();
            let mut st = state.lock();
            let mut usage = store.lock_for_write(
                &mut tx,
                &mut st,
                account,
                mailbox,
                store.usage_read(account),
            )?;
            store.usage_in_tx(&mut tx, &ctx, usage.pop(), size as i64, 1)?;
            let before = (st.uid_next, st.highest_modseq);
            if let Some(u) = keep_uid
                && u.0 >= st.uid_next
            {
                st.uid_next = u.0;
            }
            if st.uid_next == u32::MAX {
                st.uid_next = before.0;
                return Err(StoreError::NotAllowed("mailbox has run out of UIDs"));
            }
            let modseq = st.next_modseq();
            let uid = Uid(st.uid_next);
            st.uid_next += 1;
            let row = MessageRow {
                blob,
                flags: flags.clone(),
                modseq: modseq.0,
                size: size as u32,
                internal_date: internal_date.unwrap_or(date),
                save_date: date,
            };
            tx.put(
                codec::message_key(table::MESSAGE, account, mailbox, uid),
                row.encode(),
            );
            tx.put(
                codec::message_key(table::SUMMARY, account, mailbox, uid),
                summary,
            );
            let event = MailboxEvent::Appended(MessageEntry {
                uid,
                flags: flags.clone(),
                modseq,
                size: size as u32,
            });
            let appended = Appended {
                mailbox,
                uid_validity: st.info.uid_validity,
                uid,
                modseq,
            };
            store.commit_and_publish(
                tx,
                &mut st,
                &ctx.key,
                account,
                mailbox,
                before,
                vec![event],
            )?;
            Ok(appended)
        })();
        if result.is_err() && !shared {
            store.release(&ctx, size, 1);
        }
        result
    }
}
