//! Messages: append and delivery, reads, flag changes, copy, move, expunge.
//!
//! Write order for a new message: blob durable (file fsync, rename, directory
//! fsync) → metadata batch applied under the mailbox lock (UID and modseq
//! allocated there, so they increase in commit order) → sled flush (group
//! commit) → return. Removal order is the reverse: metadata durable first,
//! then blobs unlinked, so a crash can leave an unreferenced blob but never a
//! row whose blob is gone.
//!
//! Durable, then visible (`durable_then_visible`): every change (a new
//! message, a copy, flags, an expunge) is flushed while the mailbox lock is
//! still held, and only then enters the in-memory index and goes out to
//! watchers. No session can see a UID or modseq that a crash could take back
//! and hand out again for something else (RFC 9051 2.3.1.1: UIDs are never
//! reused; RFC 7162: modseqs only grow), so a client that saw a message can
//! never be shown a different one under its UID. The price is that writers
//! to the *same* mailbox wait for each other's flush; writers to different
//! mailboxes still share one flush (group commit). A reader of the index
//! (snapshot, status) may therefore wait one flush: the protocols read it on
//! the blocking pool (IMAP's re-read after its event queue overflowed is the
//! one, rare, inline exception).

use crate::blob::{self, BlobId};
use crate::codec::{self, table};
use crate::engine::{MessageRow, blob_aad, now, summary_aad};
use crate::{
    AccountId, Appended, CopyOutcome, FlagOp, Flags, FlagsOutcome, MailboxEvent, MailboxId,
    MailboxName, MessageEntry, MessageMeta, ModSeq, Result, Store, StoreError, Uid,
};

/// Largest message the store accepts (the protocols' own limits are lower).
pub const MAX_MESSAGE_SIZE: usize = 1 << 30;

impl Store {
    /// Stores a message durably; returns once it is on disk. `internal_date`
    /// defaults to now. Fails with [`StoreError::OverQuota`] past the quota.
    pub fn append(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        raw: &[u8],
        flags: &Flags,
        internal_date: Option<i64>,
    ) -> Result<Appended> {
        if raw.len() > MAX_MESSAGE_SIZE {
            return Err(StoreError::TooLarge);
        }
        let ctx = self.ctx(account)?;
        let state = self.state(account, mailbox)?;
        let size = raw.len() as u32;
        self.reserve(&ctx, size as u64, 1)?;
        let summary = self.inner.summarizer.summarize(raw);
        let sealed_summary = ctx.key.seal(&summary_aad(account), &summary);
        let blob_id = BlobId::random();
        let sealed = ctx.key.seal(&blob_aad(account), raw);
        if let Err(e) = blob::write(self.blob_root(), account, blob_id, &sealed, &ctx.dir_sync) {
            self.release(&ctx, size as u64, 1);
            return Err(e.into());
        }
        let date = now();
        let appended = {
            let mut st = state.lock();
            if st.uid_next == u32::MAX {
                drop(st);
                self.release(&ctx, size as u64, 1);
                self.remove_blobs(account, &[blob_id]);
                return Err(StoreError::NotAllowed("mailbox has run out of UIDs"));
            }
            let uid = Uid(st.uid_next);
            st.uid_next += 1;
            let modseq = st.next_modseq();
            let row = MessageRow {
                blob: blob_id,
                flags: flags.clone(),
                modseq: modseq.0,
                size,
                internal_date: internal_date.unwrap_or(date),
                save_date: date,
            };
            let mut batch = sled::Batch::default();
            batch.insert(
                codec::message_key(table::MESSAGE, account, mailbox, uid),
                row.encode(),
            );
            batch.insert(
                codec::message_key(table::SUMMARY, account, mailbox, uid),
                sealed_summary,
            );
            batch.insert(
                codec::mailbox_key(table::MAILBOX, account, mailbox),
                st.row(&ctx.key, account),
            );
            if let Err(e) = self.inner.tree.apply_batch(batch) {
                st.uid_next -= 1;
                st.highest_modseq -= 1;
                drop(st);
                self.release(&ctx, size as u64, 1);
                self.remove_blobs(account, &[blob_id]);
                return Err(e.into());
            }
            // Durable before it is visible (see `durable_then_visible`).
            self.flush()?;
            let entry = MessageEntry {
                uid,
                flags: flags.clone(),
                modseq,
                size,
            };
            st.entries.push(entry.clone());
            // Published under the lock so watchers see UIDs in order.
            st.publish(MailboxEvent::Appended(entry));
            Appended {
                mailbox,
                uid_validity: st.info.uid_validity,
                uid,
                modseq,
            }
        };
        Ok(appended)
    }

    /// Delivers to the account's INBOX (SMTP, local submission).
    pub fn deliver(&self, account: AccountId, raw: &[u8]) -> Result<Appended> {
        let inbox = self
            .mailbox(account, &MailboxName::inbox())?
            .ok_or(StoreError::NoMailbox)?;
        self.append(account, inbox.id, raw, &Flags::empty(), None)
    }

    fn row(&self, account: AccountId, mailbox: MailboxId, uid: Uid) -> Result<Option<MessageRow>> {
        match self
            .inner
            .tree
            .get(codec::message_key(table::MESSAGE, account, mailbox, uid))?
        {
            Some(v) => Ok(Some(MessageRow::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Metadata of one message.
    pub fn meta(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uid: Uid,
    ) -> Result<Option<MessageMeta>> {
        let ctx = self.ctx(account)?;
        let Some(row) = self.row(account, mailbox, uid)? else {
            return Ok(None);
        };
        let summary =
            match self
                .inner
                .tree
                .get(codec::message_key(table::SUMMARY, account, mailbox, uid))?
            {
                Some(s) => ctx.key.open(&summary_aad(account), &s)?,
                None => Vec::new(),
            };
        Ok(Some(MessageMeta {
            uid,
            flags: row.flags,
            modseq: ModSeq(row.modseq),
            size: row.size,
            internal_date: row.internal_date,
            save_date: row.save_date,
            summary,
        }))
    }

    /// The message's bytes exactly as stored (decrypted).
    pub fn read(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uid: Uid,
    ) -> Result<Option<Vec<u8>>> {
        let ctx = self.ctx(account)?;
        let Some(row) = self.row(account, mailbox, uid)? else {
            return Ok(None);
        };
        let sealed = match blob::read(self.blob_root(), account, row.blob) {
            Ok(b) => b,
            // Expunged between the row read and the file read.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some(ctx.key.open(&blob_aad(account), &sealed)?))
    }

    /// Changes flags of `uids` (missing UIDs are skipped). With
    /// `unchanged_since`, messages modified after it are left alone and listed
    /// in [`FlagsOutcome::modified`]. Messages whose flags do not change keep
    /// their modseq but are still listed in [`FlagsOutcome::updated`].
    pub fn store_flags(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uids: &[Uid],
        op: FlagOp,
        flags: &Flags,
        unchanged_since: Option<ModSeq>,
    ) -> Result<FlagsOutcome> {
        let ctx = self.ctx(account)?;
        let state = self.state(account, mailbox)?;
        let mut outcome = FlagsOutcome::default();
        {
            let mut st = state.lock();
            let mut batch = sled::Batch::default();
            let mut events = Vec::new();
            for &uid in uids {
                let Some(pos) = st.position(uid) else {
                    continue;
                };
                if let Some(since) = unchanged_since
                    && st.entries[pos].modseq > since
                {
                    outcome.modified.push(uid);
                    continue;
                }
                let mut new_flags = st.entries[pos].flags.clone();
                new_flags.apply(op, flags);
                if new_flags == st.entries[pos].flags {
                    outcome.updated.push(st.entries[pos].clone());
                    continue;
                }
                let Some(mut row) = self.row(account, mailbox, uid)? else {
                    continue;
                };
                let modseq = st.next_modseq();
                row.flags = new_flags.clone();
                row.modseq = modseq.0;
                batch.insert(
                    codec::message_key(table::MESSAGE, account, mailbox, uid),
                    row.encode(),
                );
                let e = &mut st.entries[pos];
                e.flags = new_flags;
                e.modseq = modseq;
                outcome.updated.push(e.clone());
                events.push(MailboxEvent::FlagsChanged(e.clone()));
            }
            if !events.is_empty() {
                batch.insert(
                    codec::mailbox_key(table::MAILBOX, account, mailbox),
                    st.row(&ctx.key, account),
                );
                self.inner.tree.apply_batch(batch)?;
                // Durable before other sessions hear of it.
                self.flush()?;
                for e in events {
                    st.publish(e);
                }
            }
        }
        Ok(outcome)
    }

    /// Copies messages to another mailbox of the same account.
    pub fn copy(
        &self,
        account: AccountId,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<CopyOutcome> {
        let ctx = self.ctx(account)?;
        let source = self.state(account, from)?;
        let dest = self.state(account, to)?;
        let mut wanted: Vec<Uid> = {
            let st = source.lock();
            uids.iter()
                .copied()
                .filter(|u| st.position(*u).is_some())
                .collect()
        };
        wanted.sort();
        wanted.dedup();
        // Gather rows and summaries; link blobs under new ids.
        let mut items = Vec::with_capacity(wanted.len());
        let mut total = 0u64;
        for &uid in &wanted {
            let Some(row) = self.row(account, from, uid)? else {
                continue;
            };
            let summary = self
                .inner
                .tree
                .get(codec::message_key(table::SUMMARY, account, from, uid))?
                .map(|s| s.to_vec())
                .unwrap_or_default();
            total += row.size as u64;
            items.push((uid, row, summary));
        }
        self.reserve(&ctx, total, items.len() as u64)?;
        let mut new_blobs = Vec::with_capacity(items.len());
        for (_, row, _) in items.iter_mut() {
            let nb = BlobId::random();
            if let Err(e) = blob::link(self.blob_root(), account, row.blob, nb) {
                self.remove_blobs(account, &new_blobs);
                self.release(&ctx, total, items.len() as u64);
                return Err(e.into());
            }
            new_blobs.push(nb);
            row.blob = nb;
        }
        if let Err(e) = blob::sync_account_dir(self.blob_root(), account, &ctx.dir_sync) {
            self.remove_blobs(account, &new_blobs);
            self.release(&ctx, total, items.len() as u64);
            return Err(e.into());
        }
        let date = now();
        let outcome = {
            let mut st = dest.lock();
            if (st.uid_next as u64) + (items.len() as u64) >= u32::MAX as u64 {
                return Err(StoreError::NotAllowed("mailbox has run out of UIDs"));
            }
            let mut batch = sled::Batch::default();
            let mut pairs = Vec::with_capacity(items.len());
            let mut entries = Vec::with_capacity(items.len());
            let modseq = st.next_modseq();
            for (uid, mut row, summary) in items {
                let new_uid = Uid(st.uid_next);
                st.uid_next += 1;
                row.modseq = modseq.0;
                row.save_date = date;
                batch.insert(
                    codec::message_key(table::MESSAGE, account, to, new_uid),
                    row.encode(),
                );
                batch.insert(
                    codec::message_key(table::SUMMARY, account, to, new_uid),
                    summary,
                );
                entries.push(MessageEntry {
                    uid: new_uid,
                    flags: row.flags,
                    modseq,
                    size: row.size,
                });
                pairs.push((uid, new_uid));
            }
            batch.insert(
                codec::mailbox_key(table::MAILBOX, account, to),
                st.row(&ctx.key, account),
            );
            if let Err(e) = self.inner.tree.apply_batch(batch) {
                drop(st);
                self.remove_blobs(account, &new_blobs);
                self.release(&ctx, total, pairs.len() as u64);
                return Err(e.into());
            }
            self.flush()?;
            for e in entries {
                st.entries.push(e.clone());
                st.publish(MailboxEvent::Appended(e));
            }
            CopyOutcome {
                uid_validity: st.info.uid_validity,
                pairs,
            }
        };
        Ok(outcome)
    }

    /// Moves messages (copy, then expunge from the source).
    pub fn move_messages(
        &self,
        account: AccountId,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<CopyOutcome> {
        let outcome = self.copy(account, from, uids, to)?;
        let moved: Vec<Uid> = outcome.pairs.iter().map(|(s, _)| *s).collect();
        self.remove_where(account, from, Some(&moved), false)?;
        Ok(outcome)
    }

    /// Expunges messages flagged `\Deleted`; with `only`, just those among
    /// them (UID EXPUNGE). Returns the expunged UIDs, ascending.
    pub fn expunge(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        only: Option<&[Uid]>,
    ) -> Result<Vec<Uid>> {
        self.remove_where(account, mailbox, only, true)
    }

    /// UIDs of messages that entered the mailbox before `before` (Unix seconds):
    /// what auto-expunge of Trash and Junk removes (RFC 8514 SAVEDATE).
    pub fn saved_before(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        before: i64,
    ) -> Result<Vec<Uid>> {
        self.ctx(account)?;
        let mut out = Vec::new();
        for kv in self
            .inner
            .tree
            .scan_prefix(codec::mailbox_key(table::MESSAGE, account, mailbox))
        {
            let (k, v) = kv?;
            if MessageRow::decode(&v)?.save_date < before {
                let uid = u32::from_be_bytes(
                    k[k.len() - 4..]
                        .try_into()
                        .map_err(|_| StoreError::Corrupt("message key".into()))?,
                );
                out.push(Uid(uid));
            }
        }
        Ok(out)
    }

    /// Removes the given messages whatever their flags (POP3 QUIT, retention).
    pub fn remove(&self, account: AccountId, mailbox: MailboxId, uids: &[Uid]) -> Result<Vec<Uid>> {
        self.remove_where(account, mailbox, Some(uids), false)
    }

    fn remove_where(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        only: Option<&[Uid]>,
        need_deleted_flag: bool,
    ) -> Result<Vec<Uid>> {
        let ctx = self.ctx(account)?;
        let state = self.state(account, mailbox)?;
        let only: Option<std::collections::HashSet<Uid>> =
            only.map(|u| u.iter().copied().collect());
        let mut blobs = Vec::new();
        let mut bytes = 0u64;
        let removed = {
            let mut st = state.lock();
            let victims: Vec<Uid> = st
                .entries
                .iter()
                .filter(|e| only.as_ref().is_none_or(|o| o.contains(&e.uid)))
                .filter(|e| !need_deleted_flag || e.flags.has(Flags::DELETED))
                .map(|e| e.uid)
                .collect();
            if victims.is_empty() {
                return Ok(victims);
            }
            let modseq = st.next_modseq();
            let mut batch = sled::Batch::default();
            for &uid in &victims {
                if let Some(row) = self.row(account, mailbox, uid)? {
                    blobs.push(row.blob);
                    bytes += row.size as u64;
                }
                batch.remove(codec::message_key(table::MESSAGE, account, mailbox, uid));
                batch.remove(codec::message_key(table::SUMMARY, account, mailbox, uid));
                batch.insert(codec::vanished_key(account, mailbox, modseq, uid), &[]);
            }
            batch.insert(
                codec::mailbox_key(table::MAILBOX, account, mailbox),
                st.row(&ctx.key, account),
            );
            self.inner.tree.apply_batch(batch)?;
            self.flush()?;
            let set: std::collections::HashSet<Uid> = victims.iter().copied().collect();
            st.entries.retain(|e| !set.contains(&e.uid));
            st.publish(MailboxEvent::Expunged {
                uids: victims.clone(),
                modseq,
            });
            victims
        };
        // Blob files go only once no durable row points at them.
        self.release(&ctx, bytes, removed.len() as u64);
        self.remove_blobs(account, &blobs);
        Ok(removed)
    }
}
