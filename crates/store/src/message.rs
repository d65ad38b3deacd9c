//! Messages: append and delivery, reads, flag changes, copy, move, expunge.
//!
//! Write order for a new message: blob put in the transaction (embedded:
//! file fsync, rename, directory fsync, before the metadata; PostgreSQL: in
//! the same database transaction) → mailbox locked (in memory; in the
//! database too when it is shared, `cluster.rs`) → UID and modseq allocated
//! there, so they increase in commit order → commit, durable on return
//! (embedded: sled batch then a shared flush; PostgreSQL: COMMIT) →
//! return. Removal order is the reverse: metadata durable first, then blobs
//! removed, so a crash can leave an unreferenced blob but never a row whose
//! blob is gone.
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

use crate::backend::{Fetched, Read};
use crate::blob::BlobId;
use crate::codec::{self, table};
use crate::engine::{MessageRow, blob_aad, now, summary_aad};
use crate::{
    AccountId, Appended, CopyOutcome, FlagOp, Flags, FlagsOutcome, MailboxEvent, MailboxId,
    MailboxName, MessageEntry, MessageMeta, ModSeq, NewMessage, Result, Store, StoreError, Uid,
};

/// Largest message the store accepts (the protocols' own limits are lower).
pub const MAX_MESSAGE_SIZE: usize = 1 << 30;

fn row_read(account: AccountId, mailbox: MailboxId, uid: Uid) -> Read {
    Read::Get {
        key: codec::message_key(table::MESSAGE, account, mailbox, uid),
        lock: false,
    }
}

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
        let one = NewMessage {
            raw,
            flags: flags.clone(),
            internal_date,
        };
        let mut appended = self.append_all(account, mailbox, std::slice::from_ref(&one))?;
        appended
            .pop()
            .ok_or(StoreError::NotAllowed("nothing appended"))
    }

    /// Stores a message under a given UID, as [`Store::append`] does
    /// otherwise: for imports that keep the UIDs another server gave
    /// (Dovecot's `dovecot-uidlist`), so clients that synced against it
    /// download nothing again. The UID must be at least the mailbox's next
    /// UID (UIDs only grow, RFC 9051 2.3.1.1); UIDs skipped become gaps, as
    /// after an expunge. Fails with [`StoreError::NotAllowed`] otherwise.
    pub fn append_with_uid(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        raw: &[u8],
        flags: &Flags,
        internal_date: Option<i64>,
        uid: Uid,
    ) -> Result<Appended> {
        let one = NewMessage {
            raw,
            flags: flags.clone(),
            internal_date,
        };
        let mut appended =
            self.append_batch(account, mailbox, std::slice::from_ref(&one), Some(uid))?;
        appended
            .pop()
            .ok_or(StoreError::NotAllowed("nothing appended"))
    }

    /// Delivers to the account's INBOX (SMTP, local submission).
    pub fn deliver(&self, account: AccountId, raw: &[u8]) -> Result<Appended> {
        let inbox = self
            .mailbox(account, &MailboxName::inbox())?
            .ok_or(StoreError::NoMailbox)?;
        self.append(account, inbox.id, raw, &Flags::empty(), None)
    }

    fn row(&self, account: AccountId, mailbox: MailboxId, uid: Uid) -> Result<Option<MessageRow>> {
        match self.get(codec::message_key(table::MESSAGE, account, mailbox, uid))? {
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
        Ok(self.metas(account, mailbox, &[uid])?.pop().flatten())
    }

    /// Metadata of several messages, in the order of `uids` (`None` for
    /// one that does not exist), read in one backend request: one round
    /// trip to PostgreSQL for a whole FETCH ENVELOPE or SEARCH SUBJECT
    /// batch instead of one per message.
    pub fn metas(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> Result<Vec<Option<MessageMeta>>> {
        let ctx = self.ctx(account)?;
        let mut reads = Vec::with_capacity(uids.len() * 2);
        for &uid in uids {
            reads.push(row_read(account, mailbox, uid));
            reads.push(Read::Get {
                key: codec::message_key(table::SUMMARY, account, mailbox, uid),
                lock: false,
            });
        }
        let mut fetched = self
            .inner
            .backend
            .read(reads)?
            .into_iter()
            .map(Fetched::value);
        let aad = summary_aad(account);
        let mut out = Vec::with_capacity(uids.len());
        for &uid in uids {
            let (row, summary) = (fetched.next().flatten(), fetched.next().flatten());
            let Some(row) = row else {
                out.push(None);
                continue;
            };
            let row = MessageRow::decode(&row)?;
            let summary = match summary {
                Some(s) => ctx.key.open(&aad, &s)?,
                None => Vec::new(),
            };
            out.push(Some(MessageMeta {
                uid,
                flags: row.flags,
                modseq: ModSeq(row.modseq),
                size: row.size,
                internal_date: row.internal_date,
                save_date: row.save_date,
                summary,
            }));
        }
        Ok(out)
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
        // None: expunged between the row read and the blob read.
        let Some(sealed) = self.inner.backend.read_blob(account, row.blob)? else {
            return Ok(None);
        };
        Ok(Some(crate::chunked::open_blob(
            &ctx.key,
            &blob_aad(account),
            &sealed,
        )?))
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
        let mut st = state.lock();
        // Which messages change, as the index says now: their rows are read
        // with the lock (one round trip when shared); the index is caught
        // up first, so the plan is made again below.
        let plan = |st: &crate::engine::MailboxState| -> Vec<Uid> {
            uids.iter()
                .copied()
                .filter(|&uid| {
                    st.position(uid).is_some_and(|pos| {
                        let e = &st.entries[pos];
                        let mut nf = e.flags.clone();
                        nf.apply(op, flags);
                        unchanged_since.is_none_or(|s| e.modseq <= s) && nf != e.flags
                    })
                })
                .collect()
        };
        let mut tx = self.tx()?;
        let guess = plan(&st);
        let reads = guess
            .iter()
            .map(|&u| row_read(account, mailbox, u))
            .collect();
        let fetched = self.lock_for_write(&mut tx, &mut st, account, mailbox, reads)?;
        let mut rows: std::collections::HashMap<Uid, Option<Vec<u8>>> = guess
            .iter()
            .copied()
            .zip(fetched.into_iter().map(Fetched::value))
            .collect();
        let changing = plan(&st);
        let missing: Vec<Uid> = changing
            .iter()
            .copied()
            .filter(|u| !rows.contains_key(u))
            .collect();
        if !missing.is_empty() {
            let more = tx.read(
                missing
                    .iter()
                    .map(|&u| row_read(account, mailbox, u))
                    .collect(),
            )?;
            rows.extend(
                missing
                    .into_iter()
                    .zip(more.into_iter().map(Fetched::value)),
            );
        }
        let mut outcome = FlagsOutcome::default();
        let before = (st.uid_next, st.highest_modseq);
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
            let Some(Some(row)) = rows.get(&uid) else {
                continue;
            };
            let mut row = MessageRow::decode(row)?;
            let modseq = st.next_modseq();
            row.flags = new_flags.clone();
            row.modseq = modseq.0;
            tx.put(
                codec::message_key(table::MESSAGE, account, mailbox, uid),
                row.encode(),
            );
            let e = MessageEntry {
                uid,
                flags: new_flags,
                modseq,
                size: st.entries[pos].size,
            };
            outcome.updated.push(e.clone());
            events.push(MailboxEvent::FlagsChanged(e));
        }
        if !events.is_empty() {
            self.commit_and_publish(tx, &mut st, &ctx.key, account, mailbox, before, events)?;
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
        let shared = self.shared();
        self.refresh(account, from)?;
        let mut wanted: Vec<Uid> = {
            let st = source.lock();
            uids.iter()
                .copied()
                .filter(|u| st.position(*u).is_some())
                .collect()
        };
        wanted.sort();
        wanted.dedup();
        let mut tx = self.tx()?;
        // Rows and summaries of the source, in one batch.
        let mut reads = Vec::with_capacity(wanted.len() * 2);
        for &uid in &wanted {
            reads.push(row_read(account, from, uid));
            reads.push(Read::Get {
                key: codec::message_key(table::SUMMARY, account, from, uid),
                lock: false,
            });
        }
        let mut fetched = tx.read(reads)?.into_iter().map(Fetched::value);
        let mut items = Vec::with_capacity(wanted.len());
        let mut total = 0u64;
        for &uid in &wanted {
            let (row, summary) = (fetched.next().flatten(), fetched.next().flatten());
            let Some(row) = row else {
                continue;
            };
            let row = MessageRow::decode(&row)?;
            total += row.size as u64;
            items.push((uid, row, summary.unwrap_or_default()));
        }
        if !shared {
            self.reserve(&ctx, total, items.len() as u64)?;
        }
        let count = items.len() as u64;
        let result = (|| {
            // The copies share bytes: a link (embedded) or a copy made by the
            // database itself, under new ids.
            for (_, row, _) in items.iter_mut() {
                let nb = BlobId::random();
                tx.copy_blob(account, row.blob, nb)?;
                row.blob = nb;
            }
            let date = now();
            let mut st = dest.lock();
            let mut usage =
                self.lock_for_write(&mut tx, &mut st, account, to, self.usage_read(account))?;
            self.usage_in_tx(&mut tx, &ctx, usage.pop(), total as i64, count as i64)?;
            if (st.uid_next as u64) + (items.len() as u64) >= u32::MAX as u64 {
                return Err(StoreError::NotAllowed("mailbox has run out of UIDs"));
            }
            let before = (st.uid_next, st.highest_modseq);
            let mut pairs = Vec::with_capacity(items.len());
            let mut events = Vec::with_capacity(items.len());
            let modseq = st.next_modseq();
            for (uid, mut row, summary) in items {
                let new_uid = Uid(st.uid_next);
                st.uid_next += 1;
                row.modseq = modseq.0;
                row.save_date = date;
                tx.put(
                    codec::message_key(table::MESSAGE, account, to, new_uid),
                    row.encode(),
                );
                tx.put(
                    codec::message_key(table::SUMMARY, account, to, new_uid),
                    summary,
                );
                events.push(MailboxEvent::Appended(MessageEntry {
                    uid: new_uid,
                    flags: row.flags,
                    modseq,
                    size: row.size,
                }));
                pairs.push((uid, new_uid));
            }
            self.commit_and_publish(tx, &mut st, &ctx.key, account, to, before, events)?;
            Ok(CopyOutcome {
                uid_validity: st.info.uid_validity,
                pairs,
            })
        })();
        if result.is_err() && !shared {
            self.release(&ctx, total, count);
        }
        result
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
        for (k, v) in self.scan_prefix(codec::mailbox_key(table::MESSAGE, account, mailbox))? {
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
        let shared = self.shared();
        let only: Option<std::collections::HashSet<Uid>> =
            only.map(|u| u.iter().copied().collect());
        let victims_of = |st: &crate::engine::MailboxState| -> Vec<Uid> {
            st.entries
                .iter()
                .filter(|e| only.as_ref().is_none_or(|o| o.contains(&e.uid)))
                .filter(|e| !need_deleted_flag || e.flags.has(Flags::DELETED))
                .map(|e| e.uid)
                .collect()
        };
        let mut st = state.lock();
        if !shared && victims_of(&st).is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.tx()?;
        let guess = victims_of(&st);
        let mut reads: Vec<Read> = guess
            .iter()
            .map(|&u| row_read(account, mailbox, u))
            .collect();
        reads.extend(self.usage_read(account));
        let mut fetched = self.lock_for_write(&mut tx, &mut st, account, mailbox, reads)?;
        let usage = if shared { fetched.pop() } else { None };
        let mut rows: std::collections::HashMap<Uid, Option<Vec<u8>>> = guess
            .iter()
            .copied()
            .zip(fetched.into_iter().map(Fetched::value))
            .collect();
        let victims = victims_of(&st);
        if victims.is_empty() {
            return Ok(victims);
        }
        let missing: Vec<Uid> = victims
            .iter()
            .copied()
            .filter(|u| !rows.contains_key(u))
            .collect();
        if !missing.is_empty() {
            let more = tx.read(
                missing
                    .iter()
                    .map(|&u| row_read(account, mailbox, u))
                    .collect(),
            )?;
            rows.extend(
                missing
                    .into_iter()
                    .zip(more.into_iter().map(Fetched::value)),
            );
        }
        let before = (st.uid_next, st.highest_modseq);
        let modseq = st.next_modseq();
        let mut blobs = Vec::new();
        let mut bytes = 0u64;
        for &uid in &victims {
            if let Some(Some(row)) = rows.get(&uid) {
                let row = MessageRow::decode(row)?;
                blobs.push(row.blob);
                bytes += row.size as u64;
            }
            tx.delete(codec::message_key(table::MESSAGE, account, mailbox, uid));
            tx.delete(codec::message_key(table::SUMMARY, account, mailbox, uid));
            tx.put(
                codec::vanished_key(account, mailbox, modseq, uid),
                Vec::new(),
            );
        }
        self.usage_in_tx(
            &mut tx,
            &ctx,
            usage,
            -(bytes as i64),
            -(victims.len() as i64),
        )?;
        let event = MailboxEvent::Expunged {
            uids: victims.clone(),
            modseq,
        };
        // Blobs go only once no durable row points at them (with the commit).
        tx.delete_blobs(account, &blobs);
        self.commit_and_publish(tx, &mut st, &ctx.key, account, mailbox, before, vec![event])?;
        drop(st);
        if !shared {
            self.release(&ctx, bytes, victims.len() as u64);
        }
        Ok(victims)
    }
}

impl Store {
    /// The end of every write to one mailbox: the mailbox row and the
    /// change-log entry join `tx`, which commits; only then are `events`
    /// applied to the index, published to watchers (under the lock, so they
    /// see UIDs in order) and announced to other nodes. Durable before
    /// visible. If the commit fails, a shared index gets back the
    /// `uid_next` and `highest_modseq` it had before the write (`before`);
    /// on an embedded store the caller releases its own reservations.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn commit_and_publish(
        &self,
        mut tx: crate::tx::Tx<'_>,
        st: &mut crate::engine::MailboxState,
        key: &crate::crypto::Key,
        account: AccountId,
        mailbox: MailboxId,
        before: (u32, u64),
        events: Vec<MailboxEvent>,
    ) -> Result<()> {
        tx.put(
            codec::mailbox_key(table::MAILBOX, account, mailbox),
            st.row(key, account),
        );
        self.log_change(&mut tx, st, account, mailbox, before.1, &events);
        if let Err(e) = tx.commit() {
            if self.shared() {
                (st.uid_next, st.highest_modseq) = before;
            }
            return Err(e);
        }
        st.relay(&events);
        for e in events {
            crate::cluster::apply_event(st, &e);
            st.send(e);
        }
        self.announce(account, mailbox, st.highest_modseq);
        Ok(())
    }
}
