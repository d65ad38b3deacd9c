//! A metadata transaction as the store's logic uses it: a backend
//! transaction ([`crate::backend::Txn`]) plus the writes made so far, which
//! later reads of the same transaction see (read-your-writes), applied
//! together at commit.

use crate::backend::{Fetched, Read, Txn, Writes};
use crate::blob::BlobId;
use crate::{AccountId, Result};
use std::collections::BTreeMap;

/// A transaction with its pending writes.
pub(crate) struct Tx<'a> {
    inner: Box<dyn Txn + 'a>,
    /// Key -> new value (`None`: removed).
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    creates: Vec<(Vec<u8>, Vec<u8>)>,
    delete_ranges: Vec<(Vec<u8>, Vec<u8>)>,
}

impl<'a> Tx<'a> {
    pub fn new(inner: Box<dyn Txn + 'a>) -> Tx<'a> {
        Tx {
            inner,
            pending: BTreeMap::new(),
            creates: Vec::new(),
            delete_ranges: Vec::new(),
        }
    }

    /// Runs reads in one batch, with this transaction's own writes applied.
    pub fn read(&mut self, reads: Vec<Read>) -> Result<Vec<Fetched>> {
        let fetched = self.inner.read(reads.clone())?;
        Ok(reads
            .iter()
            .zip(fetched)
            .map(|(r, f)| self.overlay(r, f))
            .collect())
    }

    fn overlay(&self, read: &Read, fetched: Fetched) -> Fetched {
        match (read, fetched) {
            (Read::Get { key, .. }, Fetched::Value(v)) => match self.pending.get(key) {
                Some(p) => Fetched::Value(p.clone()),
                None if self.creates.iter().any(|(k, _)| k == key) => Fetched::Value(
                    self.creates
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v.clone()),
                ),
                None => Fetched::Value(v),
            },
            (Read::Scan { from, to }, Fetched::Rows(rows)) => {
                if self.pending.is_empty() && self.creates.is_empty() {
                    return Fetched::Rows(rows);
                }
                let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = rows.into_iter().collect();
                for (k, v) in self.pending.range(from.clone()..to.clone()) {
                    match v {
                        Some(v) => merged.insert(k.clone(), v.clone()),
                        None => merged.remove(k),
                    };
                }
                for (k, v) in &self.creates {
                    if k >= from && k < to {
                        merged.insert(k.clone(), v.clone());
                    }
                }
                Fetched::Rows(merged.into_iter().collect())
            }
            (_, f) => f,
        }
    }

    /// One key.
    pub fn get(&mut self, key: Vec<u8>) -> Result<Option<Vec<u8>>> {
        Ok(self
            .read(vec![Read::Get { key, lock: false }])?
            .pop()
            .and_then(Fetched::value))
    }

    /// One key, locked until the transaction ends.
    pub fn get_locked(&mut self, key: Vec<u8>) -> Result<Option<Vec<u8>>> {
        Ok(self
            .read(vec![Read::Get { key, lock: true }])?
            .pop()
            .and_then(Fetched::value))
    }

    /// Every key starting with `prefix`.
    pub fn scan_prefix(&mut self, prefix: Vec<u8>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let to = crate::backend::prefix_end(&prefix);
        Ok(self
            .read(vec![Read::Scan { from: prefix, to }])?
            .pop()
            .map(Fetched::rows)
            .unwrap_or_default())
    }

    /// Sets a key.
    pub fn put(&mut self, key: Vec<u8>, value: impl Into<Vec<u8>>) {
        self.pending.insert(key, Some(value.into()));
    }

    /// Removes a key.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.pending.insert(key, None);
    }

    /// Sets a key that must not exist yet (checked at commit: `Conflict`).
    pub fn create(&mut self, key: Vec<u8>, value: impl Into<Vec<u8>>) {
        self.creates.push((key, value.into()));
    }

    /// Removes every key in `[from, to)` (as stored before this transaction).
    pub fn delete_range(&mut self, from: Vec<u8>, to: Vec<u8>) {
        self.delete_ranges.push((from, to));
    }

    /// Stores a sealed blob with this transaction.
    pub fn put_blob(&mut self, account: AccountId, id: BlobId, sealed: &[u8]) -> Result<()> {
        self.inner.put_blob(account, id, sealed)
    }

    /// Stores a blob written piece by piece with this transaction.
    pub fn put_blob_sink(
        &mut self,
        account: AccountId,
        id: BlobId,
        sink: Box<dyn crate::backend::BlobSink>,
    ) -> Result<()> {
        self.inner.put_blob_sink(account, id, sink)
    }

    /// Gives a blob a second id within the account.
    pub fn copy_blob(&mut self, account: AccountId, from: BlobId, to: BlobId) -> Result<()> {
        self.inner.copy_blob(account, from, to)
    }

    /// Removes blobs once the transaction is durable.
    pub fn delete_blobs(&mut self, account: AccountId, ids: &[BlobId]) {
        self.inner.delete_blobs(account, ids)
    }

    /// Applies every write atomically; returns once durable.
    pub fn commit(self) -> Result<()> {
        let mut writes = Writes {
            creates: self.creates,
            delete_ranges: self.delete_ranges,
            ..Writes::default()
        };
        for (k, v) in self.pending {
            match v {
                Some(v) => writes.puts.push((k, v)),
                None => writes.deletes.push(k),
            }
        }
        self.inner.commit(writes)
    }
}
