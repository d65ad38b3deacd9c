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
//! for it); past that, the octets held so far and every further piece go
//! to the summarizer's streaming form ([`crate::Summarizer::stream`]),
//! which keeps the headers and measures the bodies, so a message of any
//! size gets its summary in bounded memory. A summarizer without one (or
//! one past its own limits) leaves a large message without a summary, and
//! IMAP makes it from the message when a client asks for the envelope or
//! structure (as it does for messages stored before summaries existed).

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
    /// The summary made from the pieces, past that.
    streamed: Option<Box<dyn crate::SummaryStream>>,
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
            streamed: None,
            size: 0,
        })
    }
}

impl<'a> AppendStream<'a> {
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
                self.streamed = self.store.inner.summarizer.stream();
                if let Some(s) = &mut self.streamed {
                    s.push(head);
                }
                self.head = None;
            }
        }
        if self.head.is_none()
            && let Some(s) = &mut self.streamed
        {
            s.push(bytes);
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
        let store = self.store;
        let prepared = self.end()?;
        let placement = Placement {
            flags: flags.clone(),
            internal_date,
            keep_uid,
        };
        let mut appended = store.commit_prepared(mailbox, vec![(prepared, placement)])?;
        appended.pop().ok_or(StoreError::Conflict)
    }

    /// Ends the message and makes its blob durable now where the backend
    /// can do that on its own (embedded: the file fsynced and in place;
    /// PostgreSQL keeps its transaction for the commit), without a row
    /// yet: several messages can be prepared at once, in several threads,
    /// and their rows committed afterwards in their order, together
    /// ([`Store::commit_prepared`]). Dropped uncommitted, a prepared
    /// message leaves nothing behind.
    pub fn prepare(self) -> Result<Prepared<'a>> {
        let mut prepared = self.end()?;
        if let Some(sink) = prepared.sink.take_if(|s| s.may_finish_early()) {
            prepared.sink = Some(Box::new(Finished(Some(sink.finish()?))));
            prepared.early = true;
        }
        Ok(prepared)
    }

    /// The last piece sealed, the summary made.
    fn end(self) -> Result<Prepared<'a>> {
        let AppendStream {
            store,
            account,
            ctx,
            blob,
            sealer,
            mut sink,
            head,
            streamed,
            size,
        } = self;
        sealer.finish(&mut |sealed| sink.write(sealed))?;
        let summary = match (head, streamed) {
            (Some(raw), _) => store.inner.summarizer.summarize(&raw),
            (None, Some(s)) => s.finish(),
            (None, None) => Vec::new(),
        };
        let summary = ctx.key.seal(&summary_aad(account), &summary);
        Ok(Prepared {
            store,
            account,
            ctx,
            blob,
            sink: Some(sink),
            early: false,
            summary,
            size,
        })
    }
}

/// A [`BlobSink`] already finished ([`AppendStream::prepare`]): what its
/// `finish` gave, handed to the transaction as if finished there.
struct Finished(Option<Option<Vec<u8>>>);

impl BlobSink for Finished {
    fn write(&mut self, _sealed: &[u8]) -> Result<()> {
        Err(StoreError::Io("write to a finished blob".into()))
    }
    fn finish(mut self: Box<Self>) -> Result<Option<Vec<u8>>> {
        Ok(self.0.take().flatten())
    }
}

/// A message whose pieces are all written, waiting for its row
/// ([`AppendStream::prepare`], [`Store::commit_prepared`]).
pub struct Prepared<'a> {
    store: &'a Store,
    account: AccountId,
    ctx: Arc<AccountCtx>,
    blob: BlobId,
    /// Until it joins a transaction.
    sink: Option<Box<dyn BlobSink>>,
    /// The sink was finished (its blob durable) before any transaction.
    early: bool,
    summary: Vec<u8>,
    size: u64,
}

impl Prepared<'_> {
    /// The message's octets.
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl std::fmt::Debug for Prepared<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("account", &self.account)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Drop for Prepared<'_> {
    fn drop(&mut self) {
        // Never committed: a blob made durable already is removed the way
        // a transaction dropped without commit removes its blobs (a sink
        // not finished yet leaves nothing behind when dropped).
        if self.early
            && let Some(sink) = self.sink.take()
            && let Ok(mut tx) = self.store.tx()
        {
            let _ = tx.put_blob_sink(self.account, self.blob, sink);
        }
    }
}

/// Where a prepared message goes in its mailbox.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// Its flags.
    pub flags: Flags,
    /// Its internal date (now when `None`).
    pub internal_date: Option<i64>,
    /// The UID to keep when still possible (see [`AppendStream::finish`]).
    pub keep_uid: Option<Uid>,
}

/// Most messages committed in one transaction by [`Store::commit_prepared`].
pub const MAX_BATCH: usize = 1024;

impl Store {
    /// Stores prepared messages of one account in `mailbox`, in their
    /// order, in one transaction: one durable commit (one flush) for all,
    /// as [`AppendStream::finish`] does for one. All or none: on an error
    /// no row is written and every blob is removed. A backend whose
    /// transaction takes a sink over (PostgreSQL) commits them one by one
    /// instead, each all or none, stopping at the first error.
    pub fn commit_prepared(
        &self,
        mailbox: MailboxId,
        mut batch: Vec<(Prepared<'_>, Placement)>,
    ) -> Result<Vec<Appended>> {
        let Some(account) = batch.first().map(|(p, _)| p.account) else {
            return Ok(Vec::new());
        };
        if batch.len() > MAX_BATCH || batch.iter().any(|(p, _)| p.account != account) {
            return Err(StoreError::NotAllowed(
                "a batch holds at most MAX_BATCH messages of one account",
            ));
        }
        let taken_over = |p: &Prepared<'_>| p.sink.as_ref().is_some_and(|s| !s.may_finish_early());
        if batch.len() > 1 && batch.iter().any(|(p, _)| taken_over(p)) {
            let mut out = Vec::with_capacity(batch.len());
            for one in batch {
                out.extend(self.commit_prepared(mailbox, vec![one])?);
            }
            return Ok(out);
        }
        let ctx = batch[0].0.ctx.clone();
        let size: u64 = batch.iter().map(|(p, _)| p.size).sum();
        let count = batch.len() as u64;
        let state = self.state(account, mailbox)?;
        let shared = self.shared();
        if !shared {
            self.reserve(&ctx, size, count)?;
        }
        let result = (|| {
            let mut tx = self.tx()?;
            for (p, _) in &mut batch {
                if let Some(sink) = p.sink.take() {
                    tx.put_blob_sink(account, p.blob, sink)?;
                }
            }
            let date = now();
            let mut st = state.lock();
            let mut usage =
                self.lock_for_write(&mut tx, &mut st, account, mailbox, self.usage_read(account))?;
            self.usage_in_tx(&mut tx, &ctx, usage.pop(), size as i64, count as i64)?;
            let before = (st.uid_next, st.highest_modseq);
            let mut events = Vec::with_capacity(batch.len());
            let mut appended = Vec::with_capacity(batch.len());
            for (p, place) in &mut batch {
                if let Some(u) = place.keep_uid
                    && u.0 >= st.uid_next
                {
                    st.uid_next = u.0;
                }
                if st.uid_next == u32::MAX {
                    (st.uid_next, st.highest_modseq) = before;
                    return Err(StoreError::NotAllowed("mailbox has run out of UIDs"));
                }
                let modseq = st.next_modseq();
                let uid = Uid(st.uid_next);
                st.uid_next += 1;
                let row = MessageRow {
                    blob: p.blob,
                    flags: place.flags.clone(),
                    modseq: modseq.0,
                    size: p.size as u32,
                    internal_date: place.internal_date.unwrap_or(date),
                    save_date: date,
                };
                tx.put(
                    codec::message_key(table::MESSAGE, account, mailbox, uid),
                    row.encode(),
                );
                tx.put(
                    codec::message_key(table::SUMMARY, account, mailbox, uid),
                    std::mem::take(&mut p.summary),
                );
                events.push(MailboxEvent::Appended(MessageEntry {
                    uid,
                    flags: std::mem::take(&mut place.flags),
                    modseq,
                    size: p.size as u32,
                }));
                appended.push(Appended {
                    mailbox,
                    uid_validity: st.info.uid_validity,
                    uid,
                    modseq,
                });
            }
            self.commit_and_publish(tx, &mut st, &ctx.key, account, mailbox, before, events)?;
            Ok(appended)
        })();
        if result.is_err() && !shared {
            self.release(&ctx, size, count);
        }
        result
    }
}
