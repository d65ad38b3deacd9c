//! The account index: how an address finds its account, with no address
//! stored in plaintext (DESIGN.md promise 8).
//!
//! # Tables (account index version 3)
//!
//! - `ACCOUNT | MAC(address)` -> the account row (version 3): id, creation
//!   time, deletion time, where its wrapped data key is, and the address
//!   itself sealed under the account's *data key* (associated data
//!   `account-address:<id>`).
//! - `ACCOUNT_ID | id` -> `MAC(address)`: so an id finds its row.
//!
//! `MAC` is BLAKE2b-256 in its keyed mode (RFC 7693 section 2.5) keyed by
//! the master key with the personalization `sealpost-acct-ix`: lookups by
//! address work for whoever holds the master key, and the database alone
//! reveals no address, not even by trying a list of likely ones.
//!
//! Sealing the address under the data key ties it to the account's life:
//! readable through the master key while the account is active, through the
//! restore key while it is deleted (its data key is then wrapped by that
//! key), and by nobody once the purge has destroyed the data key. sled is
//! log-structured and may keep an overwritten or removed row in an old log
//! segment for a while: what lingers there of a purged account is a MAC and
//! ciphertext whose key is gone.
//!
//! [`Store::accounts`](crate::Store::accounts) opens every address; an
//! account whose address cannot be opened (its key destroyed by a purge in
//! progress, or `restore.key` missing) is listed with an empty address and
//! can still be purged by id ([`Store::purge_account_id`](crate::Store::purge_account_id)).
//!
//! # Migration (STYLE.md 12)
//!
//! Stores of the previous format kept `A | address` -> row (version 1 or 2)
//! and `I | id` -> address. [`Store::migrate_account_index`] runs at every
//! open and moves such rows to the tables above, one account per atomic
//! batch, so an interrupted migration is finished by the next open. What
//! sled's log still holds of the old rows (plaintext addresses written
//! before the upgrade) goes when sled reuses that space; stores made by
//! this version never write an address in plaintext.

use crate::codec::{self, Reader, Writer, table};
use crate::crypto::{self, Key};
use crate::engine::key_aad;
use crate::{AccountId, Result, Store, StoreError};

/// The personalization of the address MAC (16 bytes at most).
const INDEX_DOMAIN: &[u8] = b"sealpost-acct-ix";
/// Version of the account rows this code writes.
const ROW_VERSION: u8 = 3;

/// Where an account's wrapped data key is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyPlace {
    /// Destroyed: a purge has started.
    Gone,
    /// In the row itself (row version 1, stores made before key files).
    Row(Vec<u8>),
    /// In its key file (`keyfile`).
    File,
}

/// One account row.
pub(crate) struct AccountRow {
    pub id: AccountId,
    pub created: i64,
    /// Set when deleted: then the key is wrapped by the restore key.
    pub deleted_at: Option<i64>,
    pub key: KeyPlace,
    /// The address sealed under the data key (empty: unknown, see the
    /// module docs; always empty in rows before version 3).
    pub sealed_address: Vec<u8>,
}

impl AccountRow {
    /// Row version 3.
    pub fn encode(&self) -> Vec<u8> {
        let (place, bytes): (u8, &[u8]) = match &self.key {
            KeyPlace::Gone => (0, &[]),
            KeyPlace::Row(b) => (1, b),
            KeyPlace::File => (2, &[]),
        };
        Writer::new(ROW_VERSION)
            .u64(self.id.0)
            .i64(self.created)
            .u8(self.deleted_at.is_some() as u8)
            .i64(self.deleted_at.unwrap_or(0))
            .u8(place)
            .bytes(bytes)
            .bytes(&self.sealed_address)
            .finish()
    }

    /// Reads version 3, 2 (key place, no address) or 1 (key bytes in the
    /// row; empty: gone).
    pub fn decode(b: &[u8]) -> Result<AccountRow> {
        let version = match b.first() {
            Some(&v @ (2 | 3)) => v,
            _ => 1,
        };
        let mut r = Reader::new(b, version)?;
        let id = AccountId(r.u64()?);
        let created = r.i64()?;
        let deleted = r.u8()? != 0;
        let at = r.i64()?;
        let key = if version >= 2 {
            let place = r.u8()?;
            let bytes = r.bytes()?;
            match place {
                0 => KeyPlace::Gone,
                1 => KeyPlace::Row(bytes.to_vec()),
                2 => KeyPlace::File,
                p => return Err(StoreError::Corrupt(format!("unknown key place {p}"))),
            }
        } else {
            match r.bytes()? {
                [] => KeyPlace::Gone,
                b => KeyPlace::Row(b.to_vec()),
            }
        };
        let sealed_address = if version >= 3 {
            r.bytes()?.to_vec()
        } else {
            Vec::new()
        };
        Ok(AccountRow {
            id,
            created,
            deleted_at: deleted.then_some(at),
            key,
            sealed_address,
        })
    }
}

/// The associated data binding a sealed address to its account.
pub(crate) fn address_aad(id: AccountId) -> Vec<u8> {
    let mut v = b"account-address:".to_vec();
    v.extend_from_slice(&id.0.to_be_bytes());
    v
}

/// The `ACCOUNT` key of a MAC.
pub(crate) fn row_key(mac: &[u8; 32]) -> Vec<u8> {
    let mut k = Vec::with_capacity(33);
    k.push(table::ACCOUNT);
    k.extend_from_slice(mac);
    k
}

impl Store {
    /// The index MAC of a normalized address.
    pub(crate) fn address_mac(&self, address: &str) -> [u8; 32] {
        self.inner
            .master
            .index_mac(INDEX_DOMAIN, address.as_bytes())
    }

    /// The row of a normalized address, with its MAC.
    pub(crate) fn account_row(&self, address: &str) -> Result<Option<AccountRow>> {
        match self.inner.tree.get(row_key(&self.address_mac(address)))? {
            Some(v) => Ok(Some(AccountRow::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// The row of an account id and the MAC it is stored under.
    pub(crate) fn account_row_by_id(
        &self,
        id: AccountId,
    ) -> Result<Option<([u8; 32], AccountRow)>> {
        let Some(mac) = self
            .inner
            .tree
            .get(codec::account_prefix(table::ACCOUNT_ID, id))?
        else {
            return Ok(None);
        };
        let mac: [u8; 32] = mac
            .as_ref()
            .try_into()
            .map_err(|_| StoreError::Corrupt("account id row".into()))?;
        match self.inner.tree.get(row_key(&mac))? {
            Some(v) => {
                let row = AccountRow::decode(&v)?;
                // The address may have gone to a newer account since.
                Ok((row.id == id).then_some((mac, row)))
            }
            None => Ok(None),
        }
    }

    /// Opens the sealed address of a row; `restore` is the restore key, if
    /// loaded. `None` when no available key opens it (see the module docs).
    pub(crate) fn open_address(&self, row: &AccountRow, restore: Option<&Key>) -> Option<String> {
        if row.sealed_address.is_empty() {
            return None;
        }
        let key = match row.deleted_at {
            None => self.ctx(row.id).ok()?.key.clone(),
            Some(_) => self.unwrap_data_key(row, &[restore?]).ok()?,
        };
        let plain = key.open(&address_aad(row.id), &row.sealed_address).ok()?;
        String::from_utf8(plain).ok()
    }

    /// Moves account rows of the previous format (plaintext address as key
    /// and in the id row) to the keyed index; returns how many moved.
    /// Idempotent: one batch per account.
    pub(crate) fn migrate_account_index(&self) -> Result<usize> {
        let mut old = Vec::new();
        for kv in self.inner.tree.scan_prefix([table::ACCOUNT_V2]) {
            let (k, v) = kv?;
            old.push((k.to_vec(), AccountRow::decode(&v)?));
        }
        if old.is_empty() {
            return Ok(0);
        }
        let restore = crypto::load_or_create_key_file(&self.inner.restore_key_path, false)
            .ok()
            .map(|(k, _)| k);
        let mut moved = 0;
        for (k, mut row) in old {
            let address = String::from_utf8_lossy(&k[1..]).into_owned();
            let keys: Vec<&Key> = match (&row.deleted_at, &restore) {
                (None, Some(r)) => vec![&self.inner.master, r],
                (None, None) => vec![&self.inner.master],
                (Some(_), Some(r)) => vec![r, &self.inner.master],
                (Some(_), None) => vec![],
            };
            row.sealed_address = match self.unwrap_data_key(&row, &keys) {
                Ok(data_key) => data_key.seal(&address_aad(row.id), address.as_bytes()),
                Err(_) => {
                    // Purge in progress (key destroyed) or restore.key
                    // missing: the address is not kept; the account is
                    // still found by id.
                    tracing::warn!(
                        account_id = row.id.0,
                        "account migrated without its address (its data key cannot be opened)"
                    );
                    Vec::new()
                }
            };
            let mac = self.address_mac(&address);
            let mut batch = sled::Batch::default();
            batch.insert(row_key(&mac), row.encode());
            batch.insert(codec::account_prefix(table::ACCOUNT_ID, row.id), &mac[..]);
            batch.remove(k);
            batch.remove(codec::account_prefix(table::ACCOUNT_ID_V2, row.id));
            self.inner.tree.apply_batch(batch)?;
            moved += 1;
        }
        // Ids left in the old id table whose row was gone already.
        let mut batch = sled::Batch::default();
        for kv in self.inner.tree.scan_prefix([table::ACCOUNT_ID_V2]) {
            batch.remove(kv?.0);
        }
        self.inner.tree.apply_batch(batch)?;
        self.inner.db.flush()?;
        tracing::info!(accounts = moved, "account index migrated to keyed hashes");
        Ok(moved)
    }

    /// The data key of `row`, unwrapped by the first of `keys` that opens
    /// one of its stored copies (newest first).
    pub(crate) fn unwrap_data_key(&self, row: &AccountRow, keys: &[&Key]) -> Result<Key> {
        let copies = match &row.key {
            KeyPlace::Gone => Vec::new(),
            KeyPlace::Row(b) => vec![b.clone()],
            KeyPlace::File => self.inner.key_files.copies(row.id)?,
        };
        let mut last = StoreError::Corrupt(format!("account {} has no data key", row.id.0));
        for k in keys {
            for c in &copies {
                match k.unwrap_key(&key_aad(row.id), c) {
                    Ok(key) => return Ok(key),
                    Err(e) => last = e,
                }
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountState, MailboxName, NoSummary, StoreOptions};

    fn open(dir: &std::path::Path) -> Store {
        Store::open(StoreOptions {
            data_dir: dir.join("data"),
            master_key: dir.join("keys/master.key"),
            summarizer: std::sync::Arc::new(NoSummary),
        })
        .unwrap()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn rows_of_versions_1_2_and_3_decode() {
        let v1 = Writer::new(1)
            .u64(5)
            .i64(10)
            .u8(0)
            .i64(0)
            .bytes(b"wrapped")
            .finish();
        let row = AccountRow::decode(&v1).unwrap();
        assert_eq!(row.key, KeyPlace::Row(b"wrapped".to_vec()));
        assert!(row.sealed_address.is_empty());
        let gone = Writer::new(1)
            .u64(5)
            .i64(10)
            .u8(1)
            .i64(3)
            .bytes(b"")
            .finish();
        assert_eq!(AccountRow::decode(&gone).unwrap().key, KeyPlace::Gone);
        let v2 = Writer::new(2)
            .u64(6)
            .i64(11)
            .u8(1)
            .i64(4)
            .u8(2)
            .bytes(b"")
            .finish();
        let row2 = AccountRow::decode(&v2).unwrap();
        assert_eq!((row2.key, row2.deleted_at), (KeyPlace::File, Some(4)));
        // Written back, a row is version 3 and reads the same.
        let mut row = row;
        row.sealed_address = b"sealed".to_vec();
        let bytes = row.encode();
        assert_eq!(bytes[0], 3);
        let again = AccountRow::decode(&bytes).unwrap();
        assert_eq!(
            (again.id, again.created, again.key, again.sealed_address),
            (row.id, 10, row.key, b"sealed".to_vec())
        );
    }

    #[test]
    fn no_address_is_in_the_database_in_plaintext() {
        let d = tempfile::tempdir().unwrap();
        let s = open(d.path());
        let id = s.create_account("Alice.Secret@Example.org").unwrap();
        let other = s.create_account("bob.hidden@example.net").unwrap();
        s.delete_account("bob.hidden@example.net", 7).unwrap();
        for (k, v) in s.raw_entries().unwrap() {
            for needle in [&b"alice.secret"[..], b"bob.hidden", b"example"] {
                assert!(
                    !contains(&k, needle) && !contains(&v, needle),
                    "{:?} in {k:?} = {v:?}",
                    String::from_utf8_lossy(needle)
                );
            }
        }
        // Yet every lookup works, and deleted accounts keep their address.
        assert_eq!(s.account_id("ALICE.secret@example.org").unwrap(), Some(id));
        assert_eq!(s.account_id("bob.hidden@example.net").unwrap(), None);
        let mut all = s.accounts().unwrap();
        all.sort_by_key(|a| a.id);
        assert_eq!(all[0].address, "alice.secret@example.org");
        assert_eq!(all[1].address, "bob.hidden@example.net");
        assert_eq!(all[1].id, other);
        assert_eq!(all[1].state, AccountState::Deleted { at: 7 });
        // Across a restart too.
        drop(s);
        let s = open(d.path());
        assert_eq!(s.accounts().unwrap().len(), 2);
        assert_eq!(s.account_id("alice.secret@example.org").unwrap(), Some(id));
    }

    /// Rewrites account `id` of `address` as the previous format stored it.
    fn make_v2(s: &Store, address: &str, key_in_row: bool) {
        let mac = s.address_mac(address);
        let mut row = s.account_row(address).unwrap().unwrap();
        if key_in_row {
            let wrapped = s.inner.key_files.copies(row.id).unwrap().remove(0);
            s.inner.key_files.shred(row.id).unwrap();
            row.key = KeyPlace::Row(wrapped);
        }
        let (place, bytes): (u8, Vec<u8>) = match &row.key {
            KeyPlace::Gone => (0, vec![]),
            KeyPlace::Row(b) => (1, b.clone()),
            KeyPlace::File => (2, vec![]),
        };
        let v2 = Writer::new(2)
            .u64(row.id.0)
            .i64(row.created)
            .u8(row.deleted_at.is_some() as u8)
            .i64(row.deleted_at.unwrap_or(0))
            .u8(place)
            .bytes(&bytes)
            .finish();
        let mut old_key = vec![table::ACCOUNT_V2];
        old_key.extend_from_slice(address.as_bytes());
        s.inner.tree.remove(row_key(&mac)).unwrap();
        s.inner
            .tree
            .remove(codec::account_prefix(table::ACCOUNT_ID, row.id))
            .unwrap();
        s.inner.tree.insert(old_key, v2).unwrap();
        s.inner
            .tree
            .insert(
                codec::account_prefix(table::ACCOUNT_ID_V2, row.id),
                address.as_bytes(),
            )
            .unwrap();
        s.inner.tree.flush().unwrap();
    }

    #[test]
    fn a_store_of_the_previous_format_opens_and_is_migrated() {
        let d = tempfile::tempdir().unwrap();
        let s = open(d.path());
        let a = s.create_account("a@example.org").unwrap();
        let ib = s.mailbox(a, &MailboxName::inbox()).unwrap().unwrap().id;
        s.deliver(a, b"Subject: x\r\n\r\nkept\r\n").unwrap();
        let b = s.create_account("b@example.org").unwrap();
        s.delete_account("b@example.org", 5).unwrap();
        let c = s.create_account("c@example.org").unwrap();
        make_v2(&s, "a@example.org", true);
        make_v2(&s, "b@example.org", false);
        make_v2(&s, "c@example.org", false);
        drop(s);
        let s = open(d.path());
        for (k, v) in s.raw_entries().unwrap() {
            assert!(
                !contains(&k, b"example.org") && !contains(&v, b"example.org"),
                "{k:?}"
            );
            assert!(k[0] != table::ACCOUNT_V2 && k[0] != table::ACCOUNT_ID_V2);
        }
        assert_eq!(s.account_id("a@example.org").unwrap(), Some(a));
        assert_eq!(s.account_id("c@example.org").unwrap(), Some(c));
        assert!(s.read(a, ib, crate::Uid(1)).unwrap().is_some());
        let mut all = s.accounts().unwrap();
        all.sort_by_key(|r| r.id);
        let listed: Vec<_> = all.iter().map(|r| (r.id, r.address.as_str())).collect();
        assert_eq!(
            listed,
            vec![
                (a, "a@example.org"),
                (b, "b@example.org"),
                (c, "c@example.org")
            ]
        );
        // The deleted one restores with its mail key; the key in the row
        // moves to a file at the next deletion.
        s.restore_account("b@example.org").unwrap();
        assert_eq!(s.account_id("b@example.org").unwrap(), Some(b));
        s.delete_account("a@example.org", 9).unwrap();
        assert_eq!(
            s.account_row("a@example.org").unwrap().unwrap().key,
            KeyPlace::File
        );
        s.restore_account("a@example.org").unwrap();
        assert!(s.read(a, ib, crate::Uid(1)).unwrap().is_some());
        // Opening again migrates nothing more.
        assert_eq!(s.migrate_account_index().unwrap(), 0);
    }

    #[test]
    fn an_account_whose_key_is_gone_is_listed_without_address_and_purged_by_id() {
        let d = tempfile::tempdir().unwrap();
        let s = open(d.path());
        let a = s.create_account("a@example.org").unwrap();
        s.delete_account("a@example.org", 5).unwrap();
        // A purge cut short after step 1: the key is destroyed.
        let mut row = s.account_row("a@example.org").unwrap().unwrap();
        s.inner.key_files.shred(a).unwrap();
        row.key = KeyPlace::Gone;
        s.inner
            .tree
            .insert(row_key(&s.address_mac("a@example.org")), row.encode())
            .unwrap();
        let listed = s.accounts().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].id, listed[0].address.as_str()), (a, ""));
        s.purge_account_id("", a, &mut |_| {}).unwrap();
        assert!(s.accounts().unwrap().is_empty());
        assert!(
            s.raw_entries()
                .unwrap()
                .iter()
                .all(|(k, _)| k[0] == table::META)
        );
    }
}
