//! Keeping in-memory mailbox indexes true when other nodes write (shared
//! backends: PostgreSQL).
//!
//! The embedded store is one process, so its in-memory indexes
//! (`engine::MailboxState`: entries, UIDNEXT, HIGHESTMODSEQ) are the truth.
//! Over a shared database they are a cache of it, kept coherent so:
//!
//! 1. **Writes lock, then catch up.** Every write to a mailbox first reads
//!    the mailbox row *locked* (`SELECT ... FOR UPDATE`) together with the
//!    change log from the index's own HIGHESTMODSEQ on, in one round trip
//!    ([`Store::lock_for_write`]). Writers of one mailbox on all nodes are
//!    thus serialized by the database, and the index is brought up to the
//!    database's state before a UID or modseq is allocated from it. So UIDs
//!    and modseqs come from committed rows, never from a counter a second
//!    node or a restart could repeat (RFC 9051 2.3.1.1, RFC 7162 3.1).
//! 2. **A change log.** Each write transaction adds one row to the
//!    mailbox's change log (table `c`, keyed by the modseq the transaction
//!    ended at) holding what it did (`Appended`, `FlagsChanged`,
//!    `Expunged`) and the modseq it started from, so a reader can tell a
//!    complete log from a pruned one. The log keeps [`LOG_KEEP`] modseqs; an
//!    index further behind is reloaded whole and the difference published.
//! 3. **Notices.** After commit, the writer tells other nodes the new
//!    HIGHESTMODSEQ (PostgreSQL `NOTIFY`, coalesced, outside the write
//!    transaction so notifying never serializes commits). A node that has
//!    the mailbox open catches up from the log and publishes the changes to
//!    its IDLE and selected sessions, as if they had been made locally,
//!    and to the account's stream (NOTIFY), where a mailbox renamed or
//!    deleted elsewhere is told too, and any other change of the hierarchy
//!    or the subscriptions as `AccountChange::Elsewhere` (creations and
//!    subscriptions send `Notice::Structure` / `Notice::Account`).
//!    When the listening connection is lost and comes back, every open
//!    index and account is checked again ([`Notice::Resync`]), so nothing
//!    sent meanwhile is missed: catching up is from the last modseq seen,
//!    not from the notices; and every open account's watchers hear
//!    `Elsewhere`, since a notice about the account (a hierarchy change, a
//!    grant made to it) may have been lost.
//! 4. **Reads that must be current** (SELECT, EXAMINE, STATUS, IDLE's
//!    start) check the mailbox row first ([`Store::refresh`], one round
//!    trip) so a session never starts from an index older than the
//!    database. FETCH of flags is then served from the index.
//!
//! A database that is found *behind* an index (a failover to a standby
//! that missed committed transactions) is refused for writes: allocating
//! from it would hand out UIDs that clients have already seen.

use crate::AccountChange;
use crate::backend::{Fetched, Notice, Read};
use crate::codec::{self, Reader, Writer, table};
use crate::engine::{MailboxState, decode_entries, decode_mailbox_row};
use crate::tx::Tx;
use crate::{
    AccountId, MailboxEvent, MailboxId, MessageEntry, ModSeq, Result, Store, StoreError, Uid,
};
use std::sync::Weak;

/// How many modseqs of change log a mailbox keeps.
pub(crate) const LOG_KEEP: u64 = 4096;

/// `c | account | mailbox | modseq`.
fn log_key(account: AccountId, mailbox: MailboxId, modseq: u64) -> Vec<u8> {
    let mut k = codec::mailbox_key(table::CHANGE, account, mailbox);
    k.extend_from_slice(&modseq.to_be_bytes());
    k
}

/// One transaction's entry in the change log.
pub(crate) struct LogEntry {
    /// HIGHESTMODSEQ before the transaction.
    pub before: u64,
    /// HIGHESTMODSEQ after it.
    pub after: u64,
    /// UIDNEXT after it.
    pub uid_next: u32,
    /// What it did.
    pub events: Vec<MailboxEvent>,
}

impl LogEntry {
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(1);
        w.u64(self.before).u32(self.uid_next);
        w.u32(self.events.len() as u32);
        for e in &self.events {
            match e {
                MailboxEvent::Appended(m) | MailboxEvent::FlagsChanged(m) => {
                    w.u8(if matches!(e, MailboxEvent::Appended(_)) {
                        1
                    } else {
                        2
                    });
                    w.u32(m.uid.0).flags(&m.flags).u64(m.modseq.0).u32(m.size);
                }
                MailboxEvent::Expunged { uids, modseq } => {
                    w.u8(3).u64(modseq.0).u32(uids.len() as u32);
                    for u in uids {
                        w.u32(u.0);
                    }
                }
                MailboxEvent::Gone => {
                    w.u8(4);
                }
            }
        }
        w.finish()
    }

    fn decode(key: &[u8], b: &[u8]) -> Result<LogEntry> {
        let after = u64::from_be_bytes(
            key[key.len().saturating_sub(8)..]
                .try_into()
                .map_err(|_| StoreError::Corrupt("change log key".into()))?,
        );
        let mut r = Reader::new(b, 1)?;
        let before = r.u64()?;
        let uid_next = r.u32()?;
        let n = r.u32()? as usize;
        let mut events = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            events.push(match r.u8()? {
                k @ (1 | 2) => {
                    let m = MessageEntry {
                        uid: Uid(r.u32()?),
                        flags: r.flags()?,
                        modseq: ModSeq(r.u64()?),
                        size: r.u32()?,
                    };
                    if k == 1 {
                        MailboxEvent::Appended(m)
                    } else {
                        MailboxEvent::FlagsChanged(m)
                    }
                }
                3 => {
                    let modseq = ModSeq(r.u64()?);
                    let count = r.u32()? as usize;
                    let mut uids = Vec::with_capacity(count.min(65536));
                    for _ in 0..count {
                        uids.push(Uid(r.u32()?));
                    }
                    MailboxEvent::Expunged { uids, modseq }
                }
                4 => MailboxEvent::Gone,
                k => return Err(StoreError::Corrupt(format!("change log event {k}"))),
            });
        }
        Ok(LogEntry {
            before,
            after,
            uid_next,
            events,
        })
    }
}

/// Applies one event to an index (and nothing else).
pub(crate) fn apply_event(st: &mut MailboxState, e: &MailboxEvent) {
    match e {
        MailboxEvent::Appended(m) => match st.entries.binary_search_by_key(&m.uid, |x| x.uid) {
            Ok(i) => st.entries[i] = m.clone(),
            Err(i) => st.entries.insert(i, m.clone()),
        },
        MailboxEvent::FlagsChanged(m) => {
            if let Some(i) = st.position(m.uid) {
                st.entries[i] = m.clone();
            }
        }
        MailboxEvent::Expunged { uids, .. } => {
            let set: std::collections::HashSet<Uid> = uids.iter().copied().collect();
            st.entries.retain(|x| !set.contains(&x.uid));
        }
        MailboxEvent::Gone => {}
    }
}

/// Applies log rows in order; false if the log does not continue from the
/// index's modseq (pruned, or a row is missing).
fn apply_log(st: &mut MailboxState, rows: Vec<(Vec<u8>, Vec<u8>)>) -> Result<bool> {
    for (k, v) in rows {
        let entry = LogEntry::decode(&k, &v)?;
        if entry.after <= st.highest_modseq {
            continue;
        }
        if entry.before != st.highest_modseq {
            return Ok(false);
        }
        st.relay(&entry.events);
        for e in &entry.events {
            apply_event(st, e);
            st.send(e.clone());
        }
        st.highest_modseq = entry.after;
        st.uid_next = st.uid_next.max(entry.uid_next);
    }
    Ok(true)
}

/// Replaces an index by the database's rows and publishes the difference.
fn reload(st: &mut MailboxState, fresh: Vec<MessageEntry>, uid_next: u32, modseq: u64) {
    let old: std::collections::HashMap<Uid, &MessageEntry> =
        st.entries.iter().map(|e| (e.uid, e)).collect();
    let new: std::collections::HashSet<Uid> = fresh.iter().map(|e| e.uid).collect();
    let mut events = Vec::new();
    let gone: Vec<Uid> = st
        .entries
        .iter()
        .filter(|e| !new.contains(&e.uid))
        .map(|e| e.uid)
        .collect();
    if !gone.is_empty() {
        events.push(MailboxEvent::Expunged {
            uids: gone,
            modseq: ModSeq(modseq),
        });
    }
    for e in &fresh {
        match old.get(&e.uid) {
            None => events.push(MailboxEvent::Appended(e.clone())),
            Some(o) if *o != e => events.push(MailboxEvent::FlagsChanged(e.clone())),
            Some(_) => {}
        }
    }
    st.entries = fresh;
    st.uid_next = uid_next;
    st.highest_modseq = modseq;
    st.relay(&events);
    for e in events {
        st.send(e);
    }
}

impl Store {
    /// Prepares a write to a mailbox whose index `st` the caller holds
    /// locked: in a shared store, locks the mailbox row in the database and
    /// brings `st` up to it (see the module docs). `extra` reads are sent
    /// in the same round trip and their answers returned.
    pub(crate) fn lock_for_write(
        &self,
        tx: &mut Tx<'_>,
        st: &mut MailboxState,
        account: AccountId,
        mailbox: MailboxId,
        extra: Vec<Read>,
    ) -> Result<Vec<Fetched>> {
        if !self.shared() {
            return if extra.is_empty() {
                Ok(Vec::new())
            } else {
                tx.read(extra)
            };
        }
        let mut reads = vec![
            Read::Get {
                key: codec::mailbox_key(table::MAILBOX, account, mailbox),
                lock: true,
            },
            Read::Scan {
                from: log_key(account, mailbox, st.highest_modseq + 1),
                to: crate::backend::prefix_end(&codec::mailbox_key(
                    table::CHANGE,
                    account,
                    mailbox,
                )),
            },
        ];
        reads.extend(extra);
        let mut fetched = tx.read(reads)?.into_iter();
        let row = fetched
            .next()
            .and_then(Fetched::value)
            .ok_or(StoreError::NoMailbox)?;
        let log = fetched.next().map(Fetched::rows).unwrap_or_default();
        let ctx = self.ctx(account)?;
        let row = decode_mailbox_row(&ctx.key, account, &row)?;
        if row.highest_modseq < st.highest_modseq {
            tracing::error!(
                account = account.0,
                mailbox = mailbox.0,
                database = row.highest_modseq,
                seen = st.highest_modseq,
                "the database is behind what this node has already served (failover to a standby that lost commits?): writes to the mailbox refused"
            );
            return Err(StoreError::Unavailable(
                "the database is behind this node's view of the mailbox".into(),
            ));
        }
        st.info.name = row.name;
        if row.highest_modseq > st.highest_modseq
            && (!apply_log(st, log)? || st.highest_modseq != row.highest_modseq)
        {
            let rows = tx.scan_prefix(codec::mailbox_key(table::MESSAGE, account, mailbox))?;
            reload(st, decode_entries(rows)?, row.uid_next, row.highest_modseq);
        }
        st.uid_next = st.uid_next.max(row.uid_next);
        Ok(fetched.collect())
    }

    /// Records a write's events in the change log (shared stores): called
    /// with the transaction, before commit, with `st` already advanced.
    pub(crate) fn log_change(
        &self,
        tx: &mut Tx<'_>,
        st: &MailboxState,
        account: AccountId,
        mailbox: MailboxId,
        before: u64,
        events: &[MailboxEvent],
    ) {
        if !self.shared() || events.is_empty() {
            return;
        }
        let after = st.highest_modseq;
        let entry = LogEntry {
            before,
            after,
            uid_next: st.uid_next,
            events: events.to_vec(),
        };
        tx.put(log_key(account, mailbox, after), entry.encode());
        if after / 256 != before / 256 && after > LOG_KEEP {
            tx.delete_range(
                log_key(account, mailbox, 0),
                log_key(account, mailbox, after - LOG_KEEP),
            );
        }
    }

    /// Tells other nodes a mailbox changed (after commit).
    pub(crate) fn announce(&self, account: AccountId, mailbox: MailboxId, modseq: u64) {
        if self.shared() {
            self.inner
                .backend
                .notify(Notice::Mailbox(account, mailbox, modseq));
        }
    }

    /// Brings a mailbox's index up to the database (shared stores; one
    /// round trip when current). Embedded: nothing to do.
    pub(crate) fn refresh(&self, account: AccountId, mailbox: MailboxId) -> Result<()> {
        if !self.shared() {
            return Ok(());
        }
        let state = self.state(account, mailbox)?;
        let mut st = state.lock();
        self.refresh_locked(&mut st, account, mailbox)
    }

    fn refresh_locked(
        &self,
        st: &mut MailboxState,
        account: AccountId,
        mailbox: MailboxId,
    ) -> Result<()> {
        let mut fetched = self
            .inner
            .backend
            .read(vec![
                Read::Get {
                    key: codec::mailbox_key(table::MAILBOX, account, mailbox),
                    lock: false,
                },
                Read::Scan {
                    from: log_key(account, mailbox, st.highest_modseq + 1),
                    to: crate::backend::prefix_end(&codec::mailbox_key(
                        table::CHANGE,
                        account,
                        mailbox,
                    )),
                },
            ])?
            .into_iter();
        let Some(row) = fetched.next().and_then(Fetched::value) else {
            return Err(StoreError::NoMailbox);
        };
        let ctx = self.ctx(account)?;
        let row = decode_mailbox_row(&ctx.key, account, &row)?;
        if row.highest_modseq <= st.highest_modseq {
            return Ok(());
        }
        let log = fetched.next().map(Fetched::rows).unwrap_or_default();
        if apply_log(st, log)? && st.highest_modseq >= row.highest_modseq {
            return Ok(());
        }
        // The log does not reach: reload under the row lock, so the rows
        // read are those of one moment.
        let mut tx = self.tx()?;
        self.lock_for_write(&mut tx, st, account, mailbox, Vec::new())?;
        Ok(())
    }

    /// Handles a notice from another node.
    fn on_notice(&self, notice: Notice) {
        match notice {
            Notice::Mailbox(account, mailbox, modseq) => {
                let state = self
                    .inner
                    .mailboxes
                    .lock()
                    .get(&(account, mailbox))
                    .cloned();
                if let Some(state) = state {
                    let mut st = state.lock();
                    if st.highest_modseq < modseq
                        && let Err(e) = self.refresh_locked(&mut st, account, mailbox)
                    {
                        drop(st);
                        self.after_failed_refresh(account, mailbox, e);
                    }
                }
            }
            Notice::Structure(account, mailbox) => {
                self.check_mailbox(account, mailbox);
                self.tell_elsewhere(account, Some(mailbox));
            }
            Notice::Account(account) => {
                self.check_account(account);
                self.tell_elsewhere(account, None);
            }
            Notice::Resync => {
                let accounts: Vec<AccountId> = self.inner.accounts.lock().keys().copied().collect();
                for a in accounts {
                    self.check_account(a);
                    // Notices about the account (its hierarchy, grants made
                    // to it) may have been lost: its watchers look again.
                    self.tell_elsewhere(a, None);
                }
                let open: Vec<(AccountId, MailboxId)> =
                    self.inner.mailboxes.lock().keys().copied().collect();
                for (a, m) in open {
                    self.check_mailbox(a, m);
                }
            }
        }
    }

    /// The hierarchy or subscriptions changed on another node: watchers
    /// of the account's stream here (NOTIFY) are told to look again (see
    /// `account_events.rs`). Nothing when nobody here watches, or the
    /// account is not open here.
    fn tell_elsewhere(&self, account: AccountId, mailbox: Option<MailboxId>) {
        let ctx = self.inner.accounts.lock().get(&account).cloned();
        if let Some(ctx) = ctx {
            ctx.announce(
                mailbox,
                &crate::MailboxName::inbox(),
                AccountChange::Elsewhere,
            );
        }
    }

    fn after_failed_refresh(&self, account: AccountId, mailbox: MailboxId, e: StoreError) {
        match e {
            StoreError::NoMailbox | StoreError::NoAccount => self.forget_mailbox(account, mailbox),
            // The database is away: the reconnect's resync catches up.
            e => tracing::warn!(error = %e, "could not catch a mailbox up with the database"),
        }
    }

    /// A mailbox changed shape elsewhere: renamed or deleted mailboxes are
    /// left by their sessions (as after a local rename or delete), others
    /// are caught up.
    fn check_mailbox(&self, account: AccountId, mailbox: MailboxId) {
        let Some(state) = self
            .inner
            .mailboxes
            .lock()
            .get(&(account, mailbox))
            .cloned()
        else {
            return;
        };
        let key = codec::mailbox_key(table::MAILBOX, account, mailbox);
        let row = match self.get(key) {
            Ok(r) => r,
            Err(e) => return self.after_failed_refresh(account, mailbox, e),
        };
        let old = state.lock().info.name.clone();
        // What NOTIFY sessions here are told (`account_events.rs`).
        let (renamed, change) = match (row, self.ctx(account)) {
            (Some(row), Ok(ctx)) => match decode_mailbox_row(&ctx.key, account, &row) {
                Ok(row) if row.name != old => {
                    let from = old.clone();
                    (true, Some((ctx, row.name, AccountChange::Renamed { from })))
                }
                Ok(_) => (false, None),
                Err(_) => (true, None),
            },
            (None, Ok(ctx)) => (true, Some((ctx, old, AccountChange::Deleted))),
            _ => (true, None),
        };
        if renamed {
            self.forget_mailbox(account, mailbox);
            if let Some((ctx, name, change)) = change {
                ctx.announce(Some(mailbox), &name, change);
            }
            return;
        }
        let mut st = state.lock();
        if let Err(e) = self.refresh_locked(&mut st, account, mailbox) {
            drop(st);
            self.after_failed_refresh(account, mailbox, e);
        }
    }

    /// An account changed elsewhere: a deleted or purged one is dropped from
    /// memory (its key with it) and its sessions leave their mailboxes.
    fn check_account(&self, account: AccountId) {
        let active = match self.account_row_by_id(account) {
            Ok(row) => row.is_some_and(|(_, r)| r.deleted_at.is_none()),
            Err(e) => {
                tracing::warn!(error = %e, "could not check an account with the database");
                return;
            }
        };
        if !active {
            self.drop_account(account);
        }
    }

    /// Forgets an account's key and open mailboxes.
    pub(crate) fn drop_account(&self, account: AccountId) {
        self.inner.accounts.lock().remove(&account);
        let mine: Vec<_> = self
            .inner
            .mailboxes
            .lock()
            .keys()
            .filter(|(a, _)| *a == account)
            .copied()
            .collect();
        for (a, m) in mine {
            self.forget_mailbox(a, m);
        }
    }

    /// Holds (true) or releases other nodes' notices: while held they queue
    /// up unapplied, as if the network were slow. For tests of catch-up.
    #[doc(hidden)]
    pub fn hold_notices(&self, hold: bool) {
        self.inner
            .hold_notices
            .store(hold, std::sync::atomic::Ordering::Relaxed);
    }

    /// Tells other nodes of a change to an account or a mailbox's shape.
    pub(crate) fn announce_notice(&self, notice: Notice) {
        if self.shared() {
            self.inner.backend.notify(notice);
        }
    }

    /// The read of an account's usage row, locked (shared stores), to send
    /// with [`Store::lock_for_write`]'s round trip.
    pub(crate) fn usage_read(&self, account: AccountId) -> Vec<Read> {
        if !self.shared() {
            return Vec::new();
        }
        vec![Read::Get {
            key: codec::account_prefix(table::USAGE, account),
            lock: true,
        }]
    }

    /// In a shared store: changes the account's usage row in the
    /// transaction by `bytes`/`count` (negative to release), refusing past
    /// the quota. `fetched` is the answer to [`Store::usage_read`]; the row
    /// stays locked until commit, so two nodes cannot both take the last
    /// room. Embedded: nothing (usage is counted in memory).
    pub(crate) fn usage_in_tx(
        &self,
        tx: &mut Tx<'_>,
        ctx: &crate::engine::AccountCtx,
        fetched: Option<Fetched>,
        bytes: i64,
        count: i64,
    ) -> Result<()> {
        if !self.shared() {
            return Ok(());
        }
        let key = codec::account_prefix(table::USAGE, ctx.id);
        let (b, m) = match fetched.and_then(Fetched::value) {
            Some(v) => decode_usage(&v)?,
            None => match tx.get_locked(key.clone())? {
                Some(v) => decode_usage(&v)?,
                None => count_usage(tx, ctx.id)?,
            },
        };
        let nb = (b as i64 + bytes).max(0) as u64;
        let nm = (m as i64 + count).max(0) as u64;
        if bytes > 0
            && let Some(limit) = *ctx.quota.lock()
            && nb > limit
        {
            return Err(StoreError::OverQuota);
        }
        tx.put(key, encode_usage(nb, nm));
        Ok(())
    }
}

/// A usage row: bytes and messages of an account (shared stores).
pub(crate) fn encode_usage(bytes: u64, messages: u64) -> Vec<u8> {
    Writer::new(1).u64(bytes).u64(messages).finish()
}

pub(crate) fn decode_usage(b: &[u8]) -> Result<(u64, u64)> {
    let mut r = Reader::new(b, 1)?;
    Ok((r.u64()?, r.u64()?))
}

/// Counts an account's messages by scanning them (a missing usage row).
pub(crate) fn count_usage(tx: &mut Tx<'_>, account: AccountId) -> Result<(u64, u64)> {
    let (mut bytes, mut count) = (0u64, 0u64);
    for (_, v) in tx.scan_prefix(codec::account_prefix(table::MESSAGE, account))? {
        bytes += crate::engine::MessageRow::decode(&v)?.size as u64;
        count += 1;
    }
    Ok((bytes, count))
}

/// Starts the thread that applies other nodes' notices to this store.
pub(crate) fn start(store: &Store) {
    let (send, recv) = std::sync::mpsc::channel::<Notice>();
    let weak: Weak<crate::engine::Inner> = std::sync::Arc::downgrade(&store.inner);
    store.inner.backend.listen(Box::new(move |n| {
        let _ = send.send(n);
    }));
    let spawned = std::thread::Builder::new()
        .name("sealpost-store-notices".into())
        .spawn(move || {
            while let Ok(n) = recv.recv() {
                let Some(inner) = weak.upgrade() else { break };
                while inner
                    .hold_notices
                    .load(std::sync::atomic::Ordering::Relaxed)
                {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                let store = Store { inner };
                store.on_notice(n);
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the thread that applies other nodes' changes");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Flags;

    #[test]
    fn log_entries_round_trip() {
        let e = LogEntry {
            before: 7,
            after: 9,
            uid_next: 12,
            events: vec![
                MailboxEvent::Appended(MessageEntry {
                    uid: Uid(10),
                    flags: Flags {
                        system: Flags::SEEN,
                        keywords: vec!["$Forwarded".into()],
                    },
                    modseq: ModSeq(8),
                    size: 100,
                }),
                MailboxEvent::Expunged {
                    uids: vec![Uid(3), Uid(4)],
                    modseq: ModSeq(9),
                },
            ],
        };
        let back = LogEntry::decode(&log_key(AccountId(1), MailboxId(2), 9), &e.encode()).unwrap();
        assert_eq!((back.before, back.after, back.uid_next), (7, 9, 12));
        assert_eq!(back.events, e.events);
    }

    /// After the notices between nodes were interrupted, every open
    /// account's watchers are told to look again: a grant revoked
    /// meanwhile (IMAP's selected shared mailbox, NOTIFY) is not missed.
    #[test]
    fn a_resync_tells_every_open_account_to_look_again() {
        crate::test_backend::each(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = crate::test_backend::open(dir.path());
            let a = store.ensure_account("a@example.org").unwrap();
            let mut rx = store.watch_account(a).unwrap();
            store.on_notice(Notice::Resync);
            let heard: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok())
                .map(|e| e.change)
                .collect();
            assert!(heard.contains(&AccountChange::Elsewhere), "{heard:?}");
        });
    }
}
