//! Mailboxes: the hierarchy, subscriptions, status and snapshots.
//!
//! Names are sealed in their rows and indexed by a keyed hash, so the
//! metadata database holds no readable mailbox name either.

use crate::backend::Notice;
use crate::codec::{self, table};
use crate::engine::{self, MessageRow, decode_mailbox_row, encode_mailbox_row, name_aad, now};
use crate::{
    AccountChange, AccountId, Changes, MailboxEvent, MailboxId, MailboxInfo, MailboxName,
    MailboxStatus, MessageEntry, ModSeq, Result, Snapshot, SpecialUse, Store, StoreError, Uid,
    UidValidity,
};
use tokio::sync::broadcast;

fn name_index_key(store: &Store, account: AccountId, name: &MailboxName) -> Result<Vec<u8>> {
    let ctx = store.ctx(account)?;
    Ok(name_index_key_with(&ctx, name))
}

fn name_index_key_with(ctx: &engine::AccountCtx, name: &MailboxName) -> Vec<u8> {
    let account = ctx.id;
    let mut k = codec::account_prefix(table::MAILBOX_NAME, account);
    k.extend_from_slice(
        &ctx.key
            .keyed_hash(b"mailbox-name", name.as_str().as_bytes()),
    );
    k
}

fn subscription_key(ctx: &engine::AccountCtx, name: &MailboxName) -> Vec<u8> {
    let account = ctx.id;
    let mut k = codec::account_prefix(table::SUBSCRIPTION, account);
    k.extend_from_slice(
        &ctx.key
            .keyed_hash(b"subscription", name.as_str().as_bytes()),
    );
    k
}

impl Store {
    /// Every mailbox of an account, sorted by name.
    pub fn mailboxes(&self, account: AccountId) -> Result<Vec<MailboxInfo>> {
        let ctx = self.ctx(account)?;
        let mut out = Vec::new();
        for (k, v) in self.scan_prefix(codec::account_prefix(table::MAILBOX, account))? {
            let id = MailboxId(u64::from_be_bytes(
                k[k.len() - 8..]
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("key".into()))?,
            ));
            let row = decode_mailbox_row(&ctx.key, account, &v)?;
            out.push(MailboxInfo {
                id,
                name: row.name,
                special_use: row.special_use,
                uid_validity: row.uid_validity,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// One mailbox by name.
    pub fn mailbox(&self, account: AccountId, name: &MailboxName) -> Result<Option<MailboxInfo>> {
        let Some(id) = self.get(name_index_key(self, account, name)?)? else {
            return Ok(None);
        };
        let id = MailboxId(u64::from_be_bytes(
            id.as_slice()
                .try_into()
                .map_err(|_| StoreError::Corrupt("mailbox id".into()))?,
        ));
        let state = self.state(account, id)?;
        let info = state.lock().info.clone();
        Ok(Some(info))
    }

    /// Creates a mailbox (parents are not created implicitly).
    pub fn create_mailbox(
        &self,
        account: AccountId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<MailboxInfo> {
        let ctx = self.ctx(account)?;
        let _g = ctx.structure.lock();
        let mut tx = self.tx()?;
        let info = self.create_mailbox_in(&mut tx, &ctx, name, special_use)?;
        match tx.commit() {
            Err(StoreError::Conflict) => return Err(StoreError::MailboxExists),
            r => r?,
        }
        // Other nodes' NOTIFY sessions hear of it (`cluster.rs`).
        self.announce_notice(Notice::Structure(account, info.id));
        ctx.announce(Some(info.id), name, AccountChange::Created);
        Ok(info)
    }

    /// Adds a mailbox's rows to `tx` (the caller holds the structure lock).
    pub(crate) fn create_mailbox_in(
        &self,
        tx: &mut crate::tx::Tx<'_>,
        ctx: &engine::AccountCtx,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<MailboxInfo> {
        let account = ctx.id;
        let idx = name_index_key_with(ctx, name);
        if tx.get(idx.clone())?.is_some() {
            return Err(StoreError::MailboxExists);
        }
        let id = MailboxId(self.next_counter(b"mailbox", 1)?);
        // UIDVALIDITY from the clock, strictly increasing store-wide, so a
        // re-created name never repeats an old value (RFC 9051 2.3.1.1).
        let uv = self.next_counter(b"uidvalidity", now().max(1) as u64 & 0xffff_ffff)?;
        let uid_validity = UidValidity((uv & 0xffff_ffff).max(1) as u32);
        tx.put(
            codec::mailbox_key(table::MAILBOX, account, id),
            encode_mailbox_row(
                &ctx.key,
                account,
                name,
                special_use,
                uid_validity,
                1,
                1,
                now(),
            ),
        );
        // The name index is created, not overwritten: of two nodes creating
        // one name at once, one gets `MailboxExists`.
        tx.create(idx, id.0.to_be_bytes().to_vec());
        Ok(MailboxInfo {
            id,
            name: name.clone(),
            special_use,
            uid_validity,
        })
    }

    /// Sets the UIDVALIDITY of a mailbox that has never held a message
    /// (its next UID is still 1), for imports that keep another server's
    /// UIDVALIDITY and UIDs (with [`Store::append_with_uid`]). Refused with
    /// [`StoreError::NotAllowed`] once a message was stored: clients may
    /// have cached its UIDs under the old value. Call it before any client
    /// has selected the mailbox (imports do it right after creating it).
    pub fn set_uid_validity(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uid_validity: crate::UidValidity,
    ) -> Result<()> {
        if uid_validity.0 == 0 {
            return Err(StoreError::NotAllowed("UIDVALIDITY must not be 0"));
        }
        let ctx = self.ctx(account)?;
        let state = self.state(account, mailbox)?;
        let mut tx = self.tx()?;
        let mut st = state.lock();
        self.lock_for_write(&mut tx, &mut st, account, mailbox, Vec::new())?;
        if st.uid_next != 1 || !st.entries.is_empty() {
            return Err(StoreError::NotAllowed(
                "UIDVALIDITY can only be set on a mailbox that never held a message",
            ));
        }
        let before = st.info.uid_validity;
        st.info.uid_validity = uid_validity;
        tx.put(
            codec::mailbox_key(table::MAILBOX, account, mailbox),
            st.row(&ctx.key, account),
        );
        if let Err(e) = tx.commit() {
            st.info.uid_validity = before;
            return Err(e);
        }
        Ok(())
    }

    /// Deletes a mailbox and its messages. INBOX cannot be deleted.
    pub fn delete_mailbox(&self, account: AccountId, name: &MailboxName) -> Result<()> {
        if name.is_inbox() {
            return Err(StoreError::NotAllowed("INBOX cannot be deleted"));
        }
        let ctx = self.ctx(account)?;
        let info = self.mailbox(account, name)?.ok_or(StoreError::NoMailbox)?;
        let _g = ctx.structure.lock();
        let state = self.state(account, info.id)?;
        let mut st = state.lock();
        let mut tx = self.tx()?;
        let mut usage =
            self.lock_for_write(&mut tx, &mut st, account, info.id, self.usage_read(account))?;
        let mut blobs = Vec::new();
        let (mut bytes, mut count) = (0u64, 0u64);
        for (_, v) in tx.scan_prefix(codec::mailbox_key(table::MESSAGE, account, info.id))? {
            let row = MessageRow::decode(&v)?;
            blobs.push(row.blob);
            bytes += row.size as u64;
            count += 1;
        }
        for tag in [
            table::MESSAGE,
            table::SUMMARY,
            table::VANISHED,
            table::CHANGE,
            table::METADATA,
        ] {
            let prefix = codec::mailbox_key(tag, account, info.id);
            let end = crate::backend::prefix_end(&prefix);
            tx.delete_range(prefix, end);
        }
        tx.delete(codec::mailbox_key(table::MAILBOX, account, info.id));
        tx.delete(name_index_key(self, account, name)?);
        self.drop_mailbox_acl_in(&mut tx, account, info.id)?;
        self.usage_in_tx(&mut tx, &ctx, usage.pop(), -(bytes as i64), -(count as i64))?;
        tx.delete_blobs(account, &blobs);
        tx.commit()?;
        drop(st);
        drop(_g);
        if !self.shared() {
            self.release(&ctx, bytes, count);
        }
        self.forget_mailbox(account, info.id);
        self.announce_notice(Notice::Structure(account, info.id));
        ctx.announce(Some(info.id), name, AccountChange::Deleted);
        Ok(())
    }

    /// Renames a mailbox and its children. Renaming INBOX moves its messages
    /// to a new mailbox and leaves INBOX empty (RFC 9051 6.3.6).
    pub fn rename_mailbox(
        &self,
        account: AccountId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<()> {
        if to.is_inbox() || to.is_descendant_of(from) || from == to {
            return Err(StoreError::NotAllowed(
                "cannot rename a mailbox to that name",
            ));
        }
        if self.mailbox(account, to)?.is_some() {
            return Err(StoreError::MailboxExists);
        }
        let source = self.mailbox(account, from)?.ok_or(StoreError::NoMailbox)?;
        if from.is_inbox() {
            let target = self.create_mailbox(account, to, None)?;
            let uids: Vec<Uid> = self
                .snapshot(account, source.id)?
                .entries
                .iter()
                .map(|e| e.uid)
                .collect();
            if !uids.is_empty() {
                self.move_messages(account, source.id, &uids, target.id)?;
            }
            return Ok(());
        }
        let ctx = self.ctx(account)?;
        let _g = ctx.structure.lock();
        let all = self.mailboxes(account)?;
        let mut tx = self.tx()?;
        let mut renamed = Vec::new();
        let mut states = Vec::new();
        for mb in all
            .iter()
            .filter(|m| m.name == *from || m.name.is_descendant_of(from))
        {
            let new_name = MailboxName::new(&format!(
                "{}{}",
                to.as_str(),
                &mb.name.as_str()[from.as_str().len()..]
            ))?;
            if all.iter().any(|m| m.name == new_name) {
                return Err(StoreError::MailboxExists);
            }
            states.push((mb.clone(), new_name, self.state(account, mb.id)?));
        }
        // Every renamed mailbox is locked (and, shared, caught up: its row is
        // rewritten whole, counters included) before any row is written.
        let mut guards = Vec::new();
        for (mb, new_name, state) in &states {
            let mut st = state.lock_arc();
            self.lock_for_write(&mut tx, &mut st, account, mb.id, Vec::new())?;
            // The row under the new name; the index keeps the old one
            // until the commit is durable.
            let old_name = std::mem::replace(&mut st.info.name, new_name.clone());
            let row = st.row(&ctx.key, account);
            st.info.name = old_name;
            tx.put(codec::mailbox_key(table::MAILBOX, account, mb.id), row);
            tx.delete(name_index_key(self, account, &mb.name)?);
            tx.create(
                name_index_key(self, account, new_name)?,
                mb.id.0.to_be_bytes().to_vec(),
            );
            renamed.push(mb.id);
            guards.push((st, new_name.clone()));
        }
        match tx.commit() {
            Err(StoreError::Conflict) => return Err(StoreError::MailboxExists),
            r => r?,
        }
        for (mut st, new_name) in guards {
            let from = std::mem::replace(&mut st.info.name, new_name.clone());
            ctx.announce(Some(st.info.id), &new_name, AccountChange::Renamed { from });
        }
        drop(_g);
        // Sessions that had the old name selected must leave it (RFC 9051 6.3.6).
        for id in renamed {
            if let Some(s) = self.inner.mailboxes.lock().get(&(account, id)) {
                s.lock().publish(MailboxEvent::Gone);
            }
            self.announce_notice(Notice::Structure(account, id));
        }
        Ok(())
    }

    /// Subscribes or unsubscribes a name (which need not exist).
    pub fn set_subscribed(
        &self,
        account: AccountId,
        name: &MailboxName,
        subscribed: bool,
    ) -> Result<()> {
        let ctx = self.ctx(account)?;
        let mut tx = self.tx()?;
        self.set_subscribed_in(&mut tx, &ctx, name, subscribed);
        tx.commit()?;
        // Other nodes' NOTIFY sessions hear of it (`cluster.rs`).
        self.announce_notice(Notice::Account(account));
        ctx.announce(None, name, AccountChange::Subscribed(subscribed));
        Ok(())
    }

    pub(crate) fn set_subscribed_in(
        &self,
        tx: &mut crate::tx::Tx<'_>,
        ctx: &engine::AccountCtx,
        name: &MailboxName,
        subscribed: bool,
    ) {
        let k = subscription_key(ctx, name);
        if subscribed {
            let mut aad = name_aad(ctx.id);
            aad.extend_from_slice(b":sub");
            tx.put(k, ctx.key.seal(&aad, name.as_str().as_bytes()));
        } else {
            tx.delete(k);
        }
    }

    /// Subscribed names, sorted.
    pub fn subscriptions(&self, account: AccountId) -> Result<Vec<MailboxName>> {
        let ctx = self.ctx(account)?;
        let mut aad = name_aad(account);
        aad.extend_from_slice(b":sub");
        let mut out = Vec::new();
        for (_, v) in self.scan_prefix(codec::account_prefix(table::SUBSCRIPTION, account))? {
            let name = ctx.key.open(&aad, &v)?;
            let name =
                String::from_utf8(name).map_err(|_| StoreError::Corrupt("subscription".into()))?;
            out.push(MailboxName::new(&name)?);
        }
        out.sort();
        Ok(out)
    }

    /// Counters of a mailbox.
    pub fn status(&self, account: AccountId, mailbox: MailboxId) -> Result<MailboxStatus> {
        self.refresh(account, mailbox)?;
        let state = self.state(account, mailbox)?;
        let st = state.lock();
        let mut unseen = 0;
        let mut deleted = 0;
        let mut size = 0u64;
        for e in &st.entries {
            if !e.flags.has(crate::Flags::SEEN) {
                unseen += 1;
            }
            if e.flags.has(crate::Flags::DELETED) {
                deleted += 1;
            }
            size += e.size as u64;
        }
        Ok(MailboxStatus {
            messages: st.entries.len() as u32,
            unseen,
            deleted,
            uid_next: Uid(st.uid_next),
            uid_validity: st.info.uid_validity,
            highest_modseq: ModSeq(st.highest_modseq),
            size,
            recent: st
                .entries
                .iter()
                .filter(|e| e.uid.0 > st.recent_cutoff)
                .count() as u32,
        })
    }

    /// The mailbox's index at this moment, from memory (fast even for 100,000 messages).
    pub fn snapshot(&self, account: AccountId, mailbox: MailboxId) -> Result<Snapshot> {
        self.view(account, mailbox, |index| index.to_vec())
    }

    /// The index entries of `uids` only (ascending; missing UIDs are left
    /// out), with the mailbox's counters: what a FETCH of a few messages
    /// needs, without copying the whole index of a large mailbox.
    pub fn entries(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> Result<Snapshot> {
        self.view(account, mailbox, |index| pick_entries(index, uids))
    }

    /// The mailbox's counters now, with the entries `pick` takes from its
    /// index (the index brought up to date first).
    fn view(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        pick: impl FnOnce(&[MessageEntry]) -> Vec<MessageEntry>,
    ) -> Result<Snapshot> {
        self.refresh(account, mailbox)?;
        let state = self.state(account, mailbox)?;
        let st = state.lock();
        Ok(Snapshot {
            mailbox: st.info.clone(),
            uid_next: Uid(st.uid_next),
            highest_modseq: ModSeq(st.highest_modseq),
            entries: pick(&st.entries),
        })
    }

    /// A snapshot and a watch taken atomically: no event is missed or doubled
    /// between them (what SELECT and IDLE need).
    pub fn snapshot_and_watch(
        &self,
        account: AccountId,
        mailbox: MailboxId,
    ) -> Result<(Snapshot, broadcast::Receiver<MailboxEvent>)> {
        self.refresh(account, mailbox)?;
        let state = self.state(account, mailbox)?;
        let st = state.lock();
        let rx = st.tx.subscribe();
        Ok((
            Snapshot {
                mailbox: st.info.clone(),
                uid_next: Uid(st.uid_next),
                highest_modseq: ModSeq(st.highest_modseq),
                entries: st.entries.clone(),
            },
            rx,
        ))
    }

    /// Subscribes to a mailbox's changes. A lagging receiver gets
    /// `RecvError::Lagged` and should take a new [`Store::snapshot`].
    pub fn watch(
        &self,
        account: AccountId,
        mailbox: MailboxId,
    ) -> Result<broadcast::Receiver<MailboxEvent>> {
        Ok(self.state(account, mailbox)?.lock().tx.subscribe())
    }

    /// UIDs that are `\Recent` for the caller (RFC 3501): those added since the
    /// last claim; each UID is handed to one claimer only. Not persisted: after
    /// a restart nothing is recent, which RFC 3501 permits.
    pub fn claim_recent(&self, account: AccountId, mailbox: MailboxId) -> Result<Vec<Uid>> {
        let state = self.state(account, mailbox)?;
        let mut st = state.lock();
        let cutoff = st.recent_cutoff;
        let recent: Vec<Uid> = st
            .entries
            .iter()
            .filter(|e| e.uid.0 > cutoff)
            .map(|e| e.uid)
            .collect();
        st.recent_cutoff = st.uid_next.saturating_sub(1);
        Ok(recent)
    }

    /// The `\Recent` UIDs up to `through` (RFC 3501 2.3.2): those past the
    /// claim cutoff. With `claim`, they are handed to the caller alone (the
    /// cutoff moves to `through`, never back); without, they stay recent
    /// for the next claimer (EXAMINE). Bounding the claim by the last UID
    /// the caller has seen (its snapshot, or the appends it was told of)
    /// keeps a message that arrives meanwhile recent for whoever sees it
    /// first. Costs the number of recent messages, not of the mailbox.
    pub fn recent_through(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        through: Uid,
        claim: bool,
    ) -> Result<Vec<Uid>> {
        let state = self.state(account, mailbox)?;
        let mut st = state.lock();
        let cutoff = st.recent_cutoff;
        let mut recent: Vec<Uid> = st
            .entries
            .iter()
            .rev()
            .take_while(|e| e.uid.0 > cutoff)
            .filter(|e| e.uid <= through)
            .map(|e| e.uid)
            .collect();
        recent.reverse();
        if claim {
            st.recent_cutoff = st.recent_cutoff.max(through.0);
        }
        Ok(recent)
    }

    /// UIDs that are `\Recent` now, without claiming them: what EXAMINE
    /// shows (RFC 3501 6.3.2: EXAMINE must not take `\Recent` away).
    pub fn peek_recent(&self, account: AccountId, mailbox: MailboxId) -> Result<Vec<Uid>> {
        let state = self.state(account, mailbox)?;
        let st = state.lock();
        let cutoff = st.recent_cutoff;
        Ok(st
            .entries
            .iter()
            .filter(|e| e.uid.0 > cutoff)
            .map(|e| e.uid)
            .collect())
    }

    /// Changes since `since` (CONDSTORE/QRESYNC).
    pub fn changes_since(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        since: ModSeq,
    ) -> Result<Changes> {
        self.refresh(account, mailbox)?;
        let state = self.state(account, mailbox)?;
        let changed: Vec<MessageEntry> = state
            .lock()
            .entries
            .iter()
            .filter(|e| e.modseq > since)
            .cloned()
            .collect();
        let mut vanished = Vec::new();
        let prefix = codec::mailbox_key(table::VANISHED, account, mailbox);
        let prefix_len = prefix.len();
        let mut from = prefix.clone();
        from.extend_from_slice(&(since.0 + 1).to_be_bytes());
        let rows = self
            .inner
            .backend
            .read(vec![crate::backend::Read::Scan {
                from,
                to: crate::backend::prefix_end(&prefix),
            }])?
            .pop()
            .map(crate::backend::Fetched::rows)
            .unwrap_or_default();
        for (k, _) in rows {
            let uid = u32::from_be_bytes(
                k[prefix_len + 8..]
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("vanished key".into()))?,
            );
            vanished.push(Uid(uid));
        }
        vanished.sort();
        vanished.dedup();
        Ok(Changes { changed, vanished })
    }

    #[allow(dead_code)]
    pub(crate) fn state_info(&self, account: AccountId, mailbox: MailboxId) -> Result<MailboxInfo> {
        Ok(self.state(account, mailbox)?.lock().info.clone())
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn f<T: Send + Sync>() {}
    f::<Store>();
    let _ = engine::now;
}

/// The entries of `uids` (in any order, duplicates allowed) from an index
/// sorted by UID, ascending and without duplicates.
pub(crate) fn pick_entries(index: &[MessageEntry], uids: &[Uid]) -> Vec<MessageEntry> {
    let mut wanted = uids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.len().saturating_mul(8) < index.len() {
        return wanted
            .iter()
            .filter_map(|u| index.binary_search_by_key(u, |e| e.uid).ok())
            .map(|i| index[i].clone())
            .collect();
    }
    // Many: one walk over both.
    let mut out = Vec::with_capacity(wanted.len().min(index.len()));
    let mut w = wanted.iter().peekable();
    for e in index {
        while w.next_if(|u| **u < e.uid).is_some() {}
        if w.next_if(|u| **u == e.uid).is_some() {
            out.push(e.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::pick_entries;
    use crate::{Flags, MessageEntry, ModSeq, Uid};

    fn index(uids: &[u32]) -> Vec<MessageEntry> {
        uids.iter()
            .map(|&u| MessageEntry {
                uid: Uid(u),
                flags: Flags::default(),
                modseq: ModSeq(u64::from(u)),
                size: u,
            })
            .collect()
    }

    fn uids(v: &[MessageEntry]) -> Vec<u32> {
        v.iter().map(|e| e.uid.0).collect()
    }

    #[test]
    fn picks_only_the_uids_asked_for_in_uid_order() {
        let ix = index(&[2, 3, 5, 8, 13, 21]);
        let got = pick_entries(&ix, &[Uid(13), Uid(4), Uid(2), Uid(13), Uid(99)]);
        assert_eq!(uids(&got), vec![2, 13]);
        assert_eq!(got[1].size, 13);
        assert!(pick_entries(&ix, &[]).is_empty());
        let all: Vec<Uid> = (1..=30).map(Uid).collect();
        assert_eq!(uids(&pick_entries(&ix, &all)), vec![2, 3, 5, 8, 13, 21]);
        // As many UIDs as the index holds, none of them in it.
        let other: Vec<Uid> = (100..106).map(Uid).collect();
        assert!(pick_entries(&ix, &other).is_empty());
        let some = [Uid(21), Uid(1), Uid(3), Uid(3), Uid(8), Uid(9)];
        assert_eq!(uids(&pick_entries(&ix, &some)), vec![3, 8, 21]);
    }
}
