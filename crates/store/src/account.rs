//! Accounts: creation with the default mailboxes, lookup, quota, and the
//! deletion life cycle (delete → restore or purge).
//!
//! # Deletion and crypto-shredding
//!
//! [`Store::delete_account`] makes an account unreadable at once: its data
//! key, until then wrapped by the master key, is re-wrapped under a separate
//! *restore key* (`restore.key` beside the master key) and the master-wrapped
//! copy is overwritten in the same atomic batch; the cached, unwrapped key is
//! dropped from memory. Nothing the running server can reach through the
//! master key alone decrypts the account's blobs, summaries or mailbox names.
//! [`Store::restore_account`] reverses it within the grace period.
//! [`Store::purge_account`] destroys the restore-wrapped key first (the
//! crypto-shred that is final) and then removes every row and blob.
//!
//! What an attacker holding the disk *and* both key files could read during
//! the grace period: the account's mail, as with any restorable deletion.
//! `restore.key` is needed at every deletion and restore, so it sits beside
//! the master key, outside data_dir: the disk alone opens nothing. Once
//! purged, no current key for the data exists anywhere.
//!
//! # What overwriting does and does not erase
//!
//! The wrapped data key lives in its own file (`data_dir/account-keys/`,
//! see `keyfile`), not in sled: sled is log-structured, and a value
//! overwritten there stays in an old log segment until sled reuses the
//! space. The key file is overwritten in place with zeros before it is
//! replaced (delete, restore) or removed (purge), so the old wrapped copy
//! is gone from disk at once on filesystems that write in place. The purge
//! also zeroes every blob file before unlinking it. Neither holds on
//! copy-on-write filesystems or through SSD wear levelling. Stores made
//! before key files kept the key in the account row (`KeyPlace::Row`); it
//! moves to a file at the account's next deletion or restore, and the old
//! row value is then subject to sled's log as before. What sled's log may
//! still hold of a purged account is only ciphertext whose key is gone
//! (sealed summaries, mailbox names and the account's sealed address).
//!
//! # No address in plaintext
//!
//! Accounts are found by a keyed MAC of their address, and the address is
//! kept sealed under the account's own data key (`account_index`), so the
//! database never holds an address in plaintext and a purged account's
//! address is unreadable once its key is destroyed.

use crate::account_index::{AccountRow, KeyPlace, address_aad, row_key};
use crate::backend::Notice;
use crate::codec::{self, table};
use crate::crypto::{self, Key};
use crate::engine::{self, key_aad, now};
use crate::{
    AccountId, AccountRecord, AccountState, MailboxName, PurgeReport, QuotaUsage, Result,
    SpecialUse, Store, StoreError,
};

/// Lower-cases and sanity-checks an address used as an account key.
fn normalize(address: &str) -> Result<String> {
    let a = address.trim().to_ascii_lowercase();
    if a.is_empty()
        || a.len() > 320
        || !a.contains('@')
        || a.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(StoreError::NoAccount);
    }
    Ok(a)
}

impl Store {
    /// Creates an account with INBOX, Sent, Drafts, Trash, Junk and Archive.
    /// Fails with [`StoreError::AccountExists`] if the address has an account,
    /// active or deleted (a deleted one must be purged or restored first).
    pub fn create_account(&self, address: &str) -> Result<AccountId> {
        let address = normalize(address)?;
        // One creation at a time: two creators of one address, one wins.
        let _creating = self.inner.creating.lock();
        let mac = self.address_mac(&address);
        if self.get(row_key(&mac))?.is_some() {
            return Err(StoreError::AccountExists);
        }
        let id = AccountId(self.next_counter(b"account", 1)?);
        let key = Key::generate();
        self.inner
            .backend
            .keys()
            .write(id, &self.inner.master.wrap(&key_aad(id), &key))?;
        let row = AccountRow {
            id,
            created: now(),
            deleted_at: None,
            key: KeyPlace::File,
            sealed_address: key.seal(&address_aad(id), address.as_bytes()),
        };
        // Mailboxes, subscriptions and the rows that let anyone find the
        // account (by address, by id) are one transaction: no session can
        // log in to an account that has no INBOX yet, and of two nodes
        // creating one address, one wins (the address row is created, not
        // overwritten).
        let ctx = std::sync::Arc::new(engine::AccountCtx::new(id, key));
        let created = (|| -> Result<()> {
            let mut tx = self.tx()?;
            self.create_mailbox_in(&mut tx, &ctx, &MailboxName::inbox(), None)?;
            for su in SpecialUse::ALL {
                let name = MailboxName::new(su.default_name())?;
                self.create_mailbox_in(&mut tx, &ctx, &name, Some(su))?;
                self.set_subscribed_in(&mut tx, &ctx, &name, true);
            }
            self.set_subscribed_in(&mut tx, &ctx, &MailboxName::inbox(), true);
            if self.shared() {
                tx.put(
                    codec::account_prefix(table::USAGE, id),
                    crate::cluster::encode_usage(0, 0),
                );
            }
            tx.create(row_key(&mac), row.encode());
            tx.create(codec::account_prefix(table::ACCOUNT_ID, id), mac.to_vec());
            tx.commit()
        })();
        if let Err(e) = created {
            let _ = self.inner.backend.keys().shred(id);
            return Err(match e {
                StoreError::Conflict => StoreError::AccountExists,
                e => e,
            });
        }
        self.inner.accounts.lock().entry(id).or_insert(ctx);
        Ok(id)
    }

    /// The id of an active account by address (any case).
    pub fn account_id(&self, address: &str) -> Result<Option<AccountId>> {
        let Ok(address) = normalize(address) else {
            return Ok(None);
        };
        Ok(self
            .account_row(&address)?
            .filter(|r| r.deleted_at.is_none())
            .map(|r| r.id))
    }

    /// The id of an active account, creating the account if it does not exist.
    pub fn ensure_account(&self, address: &str) -> Result<AccountId> {
        if let Some(id) = self.account_id(address)? {
            return Ok(id);
        }
        match self.create_account(address) {
            Err(StoreError::AccountExists) => {
                self.account_id(address)?.ok_or(StoreError::NoAccount)
            }
            r => r,
        }
    }

    /// Every account the store knows, active and deleted. The address of
    /// an account whose key is destroyed (a purge in progress) or cannot be
    /// opened (`restore.key` missing) is empty: see `account_index`.
    pub fn accounts(&self) -> Result<Vec<AccountRecord>> {
        let mut rows = Vec::new();
        for (_, v) in self.scan_prefix(vec![table::ACCOUNT])? {
            rows.push(AccountRow::decode(&v)?);
        }
        let restore = if rows.iter().any(|r| r.deleted_at.is_some()) {
            crypto::load_or_create_key_file(&self.inner.restore_key_path, false)
                .ok()
                .map(|(k, _)| k)
        } else {
            None
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(AccountRecord {
                id: row.id,
                address: self
                    .open_address(&row, restore.as_ref())
                    .unwrap_or_default(),
                state: match row.deleted_at {
                    Some(at) => AccountState::Deleted { at },
                    None => AccountState::Active,
                },
                created: row.created,
            });
        }
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    /// Sets (or clears) an account's quota in octets.
    pub fn set_quota(&self, account: AccountId, limit: Option<u64>) {
        if let Ok(ctx) = self.ctx(account) {
            *ctx.quota.lock() = limit;
        }
    }

    /// Storage used by an account.
    pub fn quota(&self, account: AccountId) -> Result<QuotaUsage> {
        let ctx = self.ctx(account)?;
        let (bytes, messages) = if self.shared() {
            match self.get(codec::account_prefix(table::USAGE, account))? {
                Some(v) => crate::cluster::decode_usage(&v)?,
                None => crate::cluster::count_usage(&mut self.tx()?, account)?,
            }
        } else {
            self.usage(&ctx)?
        };
        Ok(QuotaUsage {
            bytes,
            messages,
            limit: *ctx.quota.lock(),
        })
    }

    pub(crate) fn usage(&self, ctx: &engine::AccountCtx) -> Result<(u64, u64)> {
        let mut usage = ctx.usage.lock();
        if let Some(u) = *usage {
            return Ok(u);
        }
        let (mut bytes, mut msgs) = (0u64, 0u64);
        for (_, v) in self.scan_prefix(codec::account_prefix(table::MESSAGE, ctx.id))? {
            bytes += engine::MessageRow::decode(&v)?.size as u64;
            msgs += 1;
        }
        *usage = Some((bytes, msgs));
        Ok((bytes, msgs))
    }

    /// Reserves room for `size` more octets, atomically with the check
    /// (no check-then-increment race between concurrent appends).
    pub(crate) fn reserve(&self, ctx: &engine::AccountCtx, size: u64, count: u64) -> Result<()> {
        self.usage(ctx)?;
        let limit = *ctx.quota.lock();
        let mut usage = ctx.usage.lock();
        let (b, m) = usage.unwrap_or((0, 0));
        if let Some(limit) = limit
            && b + size > limit
        {
            return Err(StoreError::OverQuota);
        }
        *usage = Some((b + size, m + count));
        Ok(())
    }

    pub(crate) fn release(&self, ctx: &engine::AccountCtx, size: u64, count: u64) {
        let mut usage = ctx.usage.lock();
        if let Some((b, m)) = *usage {
            *usage = Some((b.saturating_sub(size), m.saturating_sub(count)));
        }
    }

    /// Deletes an account: unreadable at once (its key is re-wrapped under the
    /// restore key), restorable until purged. Returns its id.
    pub fn delete_account(&self, address: &str, at: i64) -> Result<AccountId> {
        let address = normalize(address)?;
        let _g = self.inner.counters.lock();
        let row_key = row_key(&self.address_mac(&address));
        let mut tx = self.tx()?;
        let mut row = match tx.get_locked(row_key.clone())? {
            Some(v) => AccountRow::decode(&v)?,
            None => return Err(StoreError::NoAccount),
        };
        if row.deleted_at.is_some() {
            return Err(StoreError::NoAccount);
        }
        let (restore, _) = crypto::load_or_create_key_file(&self.inner.restore_key_path, true)?;
        // The restore key too: a deletion cut short may have re-wrapped it.
        let key = self.unwrap_data_key(&row, &[&self.inner.master, &restore])?;
        self.inner
            .backend
            .keys()
            .write(row.id, &restore.wrap(&key_aad(row.id), &key))?;
        row.key = KeyPlace::File;
        row.deleted_at = Some(at);
        tx.put(row_key, row.encode());
        tx.commit()?;
        drop(_g);
        self.drop_account(row.id);
        self.announce_notice(Notice::Account(row.id));
        Ok(row.id)
    }

    /// Restores a deleted account with all its mail.
    pub fn restore_account(&self, address: &str) -> Result<AccountId> {
        let address = normalize(address)?;
        let _g = self.inner.counters.lock();
        let row_key = row_key(&self.address_mac(&address));
        let mut tx = self.tx()?;
        let mut row = match tx.get_locked(row_key.clone())? {
            Some(v) => AccountRow::decode(&v)?,
            None => return Err(StoreError::NoAccount),
        };
        if row.deleted_at.is_none() || row.key == KeyPlace::Gone {
            return Err(StoreError::NoAccount);
        }
        let (restore, _) = crypto::load_or_create_key_file(&self.inner.restore_key_path, false)?;
        // The master key too: a restore cut short may have re-wrapped it.
        let key = self.unwrap_data_key(&row, &[&restore, &self.inner.master])?;
        self.inner
            .backend
            .keys()
            .write(row.id, &self.inner.master.wrap(&key_aad(row.id), &key))?;
        row.key = KeyPlace::File;
        row.deleted_at = None;
        tx.put(row_key, row.encode());
        tx.commit()?;
        drop(_g);
        self.announce_notice(Notice::Account(row.id));
        Ok(row.id)
    }

    /// What purging a deleted account would remove, counted before anything
    /// is removed (the retention worker keeps these counts in its durable
    /// purge marker, so the audit record is right even if a purge is killed
    /// and finished by a later run). `None` when the address has no account.
    pub fn purge_preview(&self, address: &str) -> Result<Option<(AccountId, PurgeReport)>> {
        let address = normalize(address)?;
        let Some(row) = self.account_row(&address)? else {
            return Ok(None);
        };
        self.purge_preview_id(row.id)
            .map(|r| r.map(|report| (row.id, report)))
    }

    /// Like [`Store::purge_preview`], by account id (an account whose
    /// address can no longer be read is still purged: see
    /// [`Store::accounts`]).
    pub fn purge_preview_id(&self, id: AccountId) -> Result<Option<PurgeReport>> {
        let Some((_, row)) = self.account_row_by_id(id)? else {
            return Ok(None);
        };
        if row.deleted_at.is_none() {
            return Err(StoreError::NotAllowed("account is not deleted"));
        }
        let mut report = PurgeReport::default();
        for (_, v) in self.scan_prefix(codec::account_prefix(table::MESSAGE, row.id))? {
            report.messages += 1;
            report.bytes += engine::MessageRow::decode(&v).map_or(0, |m| m.size as u64);
        }
        report.mailboxes = self
            .scan_prefix(codec::account_prefix(table::MAILBOX, row.id))?
            .len() as u64;
        Ok(Some(report))
    }

    /// Purges a deleted account for good: destroys its key, then every row and
    /// blob. Idempotent and resumable: a purge interrupted at any point leaves
    /// the account unreadable and is finished by the next call.
    pub fn purge_account(&self, address: &str) -> Result<PurgeReport> {
        let Some((id, _)) = self.purge_preview(address)? else {
            return Ok(PurgeReport::default());
        };
        self.purge_account_id(address, id, &mut |_| {})
    }

    /// Purges the deleted account `id` (that had `address`), telling
    /// `observe` after each step (the retention worker's test hook pauses
    /// there).
    ///
    /// The account is found by its id: `address` may be empty (it is not
    /// needed, and an account whose key is destroyed no longer shows it).
    /// Every step is idempotent, so a purge killed at any point is finished
    /// by calling this again with the same id. The id pins the account: if
    /// the address was meanwhile given to a new account (possible once the
    /// old row is gone), only the old id's rows and blobs are removed, never
    /// the new account's (ids are never reused).
    pub fn purge_account_id(
        &self,
        address: &str,
        id: AccountId,
        observe: &mut dyn FnMut(PurgeStep),
    ) -> Result<PurgeReport> {
        let _ = address;
        let row = self.account_row_by_id(id)?;
        // 1. The final crypto-shred: no wrapped key remains anywhere.
        if let Some((mac, mut row)) = row {
            if row.deleted_at.is_none() {
                return Err(StoreError::NotAllowed("account is not deleted"));
            }
            self.inner.backend.keys().shred(id)?;
            if row.key != KeyPlace::Gone {
                row.key = KeyPlace::Gone;
                let mut tx = self.tx()?;
                tx.put(row_key(&mac), row.encode());
                tx.commit()?;
            }
        } else {
            // The row is gone already (step 4 ran): nothing left to shred
            // but a key file a crash may have left behind.
            self.inner.backend.keys().shred(id)?;
        }
        self.drop_account(id);
        self.announce_notice(Notice::Account(id));
        observe(PurgeStep::KeyDestroyed);
        let mut report = PurgeReport::default();
        // 2. Rows, table by table; grants it gave or received first.
        let mut tx = self.tx()?;
        self.purge_acl_in(&mut tx, id)?;
        for tag in [
            table::MESSAGE,
            table::SUMMARY,
            table::VANISHED,
            table::MAILBOX_NAME,
            table::SUBSCRIPTION,
            table::MAILBOX,
            table::CHANGE,
            table::USAGE,
            table::METADATA,
        ] {
            let prefix = codec::account_prefix(tag, id);
            match tag {
                table::MESSAGE => {
                    for (_, v) in tx.scan_prefix(prefix.clone())? {
                        report.messages += 1;
                        report.bytes += engine::MessageRow::decode(&v).map_or(0, |m| m.size as u64);
                    }
                }
                table::MAILBOX => report.mailboxes += tx.scan_prefix(prefix.clone())?.len() as u64,
                _ => {}
            }
            let end = crate::backend::prefix_end(&prefix);
            tx.delete_range(prefix, end);
        }
        tx.commit()?;
        observe(PurgeStep::RowsRemoved);
        // 3. Blobs: overwritten with zeros before they are unlinked (embedded),
        // so the ciphertext does not linger in freed blocks (on filesystems
        // that write in place; copy-on-write filesystems and SSD wear
        // levelling may keep old blocks regardless); deleted (PostgreSQL).
        self.inner.backend.purge_blobs(id)?;
        observe(PurgeStep::BlobsRemoved);
        // 4. The account itself, last: until here a rerun finds it and finishes.
        let mut tx = self.tx()?;
        if let Some((mac, _)) = self.account_row_by_id(id)? {
            tx.delete(row_key(&mac));
        }
        tx.delete(codec::account_prefix(table::ACCOUNT_ID, id));
        tx.commit()?;
        Ok(report)
    }

    /// Whether any wrapped copy of account `id`'s data key is on disk, in its
    /// key file or its row (tests and forensics: none after a purge).
    #[doc(hidden)]
    pub fn data_key_exists(&self, id: AccountId) -> Result<bool> {
        if self.inner.backend.keys().exists(id)? {
            return Ok(true);
        }
        Ok(self
            .account_row_by_id(id)?
            .is_some_and(|(_, row)| row.key != KeyPlace::Gone))
    }

    /// The stored wrapped copies of account `id`'s data key, newest first
    /// (tests and forensics).
    #[doc(hidden)]
    pub fn raw_key_copies(&self, id: AccountId) -> Result<Vec<Vec<u8>>> {
        self.inner.backend.keys().copies(id)
    }

    /// How many blobs account `id` has (tests and forensics).
    #[doc(hidden)]
    pub fn raw_blob_count(&self, id: AccountId) -> Result<u64> {
        self.inner.backend.count_blobs(id)
    }

    /// The restore key file (`restore.key` beside the master key): wraps the
    /// data keys of deleted accounts until they are purged or restored.
    /// Created at the first deletion.
    pub fn restore_key_path(&self) -> &std::path::Path {
        &self.inner.restore_key_path
    }

    /// Every key and value of the metadata tree, raw. For tests and
    /// forensics that check what the store holds (e.g. that nothing of a
    /// purged account remains); not for serving.
    #[doc(hidden)]
    pub fn raw_entries(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .inner
            .backend
            .read(vec![crate::backend::Read::Scan {
                from: Vec::new(),
                to: vec![0xff; 2],
            }])?
            .pop()
            .map(crate::backend::Fetched::rows)
            .unwrap_or_default())
    }
}

/// The steps of [`Store::purge_account_id`], in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeStep {
    /// The account's wrapped key is gone: its data is unreadable for good.
    KeyDestroyed,
    /// Its metadata rows (messages, summaries, mailboxes, subscriptions) are gone.
    RowsRemoved,
    /// Its blob files are overwritten and removed.
    BlobsRemoved,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MailboxName;

    fn store(dir: &std::path::Path) -> Store {
        crate::test_backend::open(dir)
    }

    #[test]
    fn a_store_with_keys_in_rows_still_opens_its_accounts_and_moves_them_out() {
        crate::test_backend::each(|| {
            let d = tempfile::tempdir().unwrap();
            let s = store(d.path());
            let id = s.create_account("a@example.org").unwrap();
            let ib = s.mailbox(id, &MailboxName::inbox()).unwrap().unwrap().id;
            s.deliver(id, b"Subject: x\r\n\r\nold\r\n").unwrap();
            // Turn it into what an older store wrote: the key in the row.
            let mut row = s.account_row("a@example.org").unwrap().unwrap();
            let wrapped = s.inner.backend.keys().copies(id).unwrap().remove(0);
            row.key = KeyPlace::Row(wrapped);
            let mut tx = s.tx().unwrap();
            tx.put(row_key(&s.address_mac("a@example.org")), row.encode());
            tx.commit().unwrap();
            s.inner.backend.keys().shred(id).unwrap();
            s.inner.accounts.lock().remove(&id);
            assert!(s.read(id, ib, crate::Uid(1)).unwrap().is_some());
            s.delete_account("a@example.org", 1).unwrap();
            assert_eq!(
                s.account_row("a@example.org").unwrap().unwrap().key,
                KeyPlace::File
            );
            s.restore_account("a@example.org").unwrap();
            assert!(s.read(id, ib, crate::Uid(1)).unwrap().is_some());
        });
    }

    #[test]
    fn a_deletion_cut_short_after_the_key_file_is_finished_by_running_it_again() {
        crate::test_backend::each(|| {
            let d = tempfile::tempdir().unwrap();
            let s = store(d.path());
            let id = s.create_account("a@example.org").unwrap();
            let ib = s.mailbox(id, &MailboxName::inbox()).unwrap().unwrap().id;
            s.deliver(id, b"Subject: x\r\n\r\nkept\r\n").unwrap();
            // The crash: key re-wrapped under the restore key, row still active.
            let row = s.account_row("a@example.org").unwrap().unwrap();
            let key = s.unwrap_data_key(&row, &[&s.inner.master]).unwrap();
            let (restore, _) =
                crypto::load_or_create_key_file(&s.inner.restore_key_path, true).unwrap();
            s.inner
                .backend
                .keys()
                .write(id, &restore.wrap(&key_aad(id), &key))
                .unwrap();
            s.inner.accounts.lock().remove(&id);
            // Still usable (the row says active), and the deletion completes.
            assert!(s.read(id, ib, crate::Uid(1)).unwrap().is_some());
            s.delete_account("a@example.org", 1).unwrap();
            assert_eq!(s.account_id("a@example.org").unwrap(), None);
            s.restore_account("a@example.org").unwrap();
            assert!(s.read(id, ib, crate::Uid(1)).unwrap().is_some());
        });
    }
}
