//! The seam between the store's logic and where its bytes live.
//!
//! Everything the store keeps is one of two things, and this interface has
//! exactly those two families of calls:
//!
//! - **Metadata**: versioned keys and rows (`codec.rs`), read one by one or
//!   by key range, and changed in *transactions* ([`Txn`]). A key is opaque
//!   bytes to a backend (table tag, then big-endian ids, or a keyed hash);
//!   a row is opaque bytes too (its own version byte, sealed fields). The
//!   backend never decodes either.
//! - **Sealed blobs**: a message's encrypted bytes, put, read, copied within
//!   an account and deleted by `(account, blob id)`.
//!
//! Encryption stays above the seam: a backend only ever receives sealed
//! bytes and keyed index values, never an address, a mailbox name or mail in
//! plaintext (PostgreSQL included).
//!
//! # The transaction model
//!
//! A transaction reads (optionally *locking* what it reads, the way
//! `SELECT ... FOR UPDATE` does), may put blobs, and ends with one
//! [`Txn::commit`] that applies a [`Writes`] set atomically and returns only
//! once it is **durable**: this is where durability promise 1 is decided.
//! The embedded backend logs the change in its own write-ahead log, applies
//! it to sled in memory and shares the log's fdatasync among concurrent
//! committers (group commit, `sync.rs`; `wal.rs`); PostgreSQL commits
//! (`synchronous_commit = on`, so the WAL is flushed, and concurrent commits
//! share WAL flushes the same way). A transaction dropped without commit
//! leaves nothing behind (blobs it wrote are removed).
//!
//! Reads are batched ([`Txn::read`] takes several), so a backend that talks
//! over a network sends them in one round trip.
//!
//! # One process or several
//!
//! [`Backend::shared`] says whether other processes may write the same
//! data. The embedded backend is single-process (the data directory is
//! locked), so the in-memory mailbox indexes of `engine.rs` are the truth
//! and a lock read is never needed. PostgreSQL is shared: every write first
//! locks the mailbox row in the database and catches the in-memory index up
//! from the change log (`cluster.rs`) before it allocates a UID or a modseq.
//!
//! # Why a seam at all
//!
//! Besides letting a host grow past one machine, the seam contains a
//! supply-chain risk: sled 0.34 pulls crates that are no longer maintained
//! (its own development stalled before 1.0). Everything sled-specific is in
//! `embedded.rs`; if sled has to go, one file is replaced and the store's
//! logic, its tests and every protocol crate stay as they are.

mod blob_files;
pub(crate) mod embedded;
pub(crate) mod postgres;
pub(crate) mod wal;

use crate::blob::BlobId;
use crate::{AccountId, Result};

/// A read inside a transaction.
#[derive(Debug, Clone)]
pub(crate) enum Read {
    /// One key; with `lock`, held until the transaction ends.
    Get { key: Vec<u8>, lock: bool },
    /// Every key in `[from, to)`, ascending.
    Scan { from: Vec<u8>, to: Vec<u8> },
}

/// The answer to a [`Read`], in the same position.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// For [`Read::Get`].
    Value(Option<Vec<u8>>),
    /// For [`Read::Scan`].
    Rows(Vec<(Vec<u8>, Vec<u8>)>),
}

impl Fetched {
    pub fn value(self) -> Option<Vec<u8>> {
        match self {
            Fetched::Value(v) => v,
            Fetched::Rows(_) => None,
        }
    }
    pub fn rows(self) -> Vec<(Vec<u8>, Vec<u8>)> {
        match self {
            Fetched::Rows(r) => r,
            Fetched::Value(_) => Vec::new(),
        }
    }
}

/// What a transaction changes, applied atomically by [`Txn::commit`].
#[derive(Debug, Default)]
pub(crate) struct Writes {
    /// Keys set (insert or overwrite), in order.
    pub puts: Vec<(Vec<u8>, Vec<u8>)>,
    /// Keys removed (a missing key is fine).
    pub deletes: Vec<Vec<u8>>,
    /// Keys that must not exist yet: if one does, nothing is applied and
    /// commit fails with [`crate::StoreError::Conflict`].
    pub creates: Vec<(Vec<u8>, Vec<u8>)>,
    /// Key ranges `[from, to)` removed.
    pub delete_ranges: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Writes {
    pub fn is_empty(&self) -> bool {
        self.puts.is_empty()
            && self.deletes.is_empty()
            && self.creates.is_empty()
            && self.delete_ranges.is_empty()
    }
}

/// One metadata transaction (see the module docs).
pub(crate) trait Txn: Send {
    /// Runs reads (one round trip for a networked backend).
    fn read(&mut self, reads: Vec<Read>) -> Result<Vec<Fetched>>;
    /// Stores a sealed blob as part of this transaction. The embedded
    /// backend writes the file durably now (removed again if the
    /// transaction is dropped); PostgreSQL inserts it in the transaction.
    fn put_blob(&mut self, account: AccountId, id: BlobId, sealed: &[u8]) -> Result<()>;
    /// Stores, as part of this transaction, a blob whose sealed pieces went
    /// to `sink` (from [`Backend::blob_sink`]): afterwards it is as if
    /// [`Txn::put_blob`] had been called. By default the sink holds the
    /// bytes and they are put here; the embedded backend's sink wrote a
    /// file that is made durable now (and removed if the transaction is
    /// dropped).
    fn put_blob_sink(
        &mut self,
        account: AccountId,
        id: BlobId,
        sink: Box<dyn BlobSink>,
    ) -> Result<()> {
        match sink.finish()? {
            Some(sealed) => self.put_blob(account, id, &sealed),
            None => Ok(()),
        }
    }
    /// Gives blob `from` a second id `to` within the account (COPY).
    fn copy_blob(&mut self, account: AccountId, from: BlobId, to: BlobId) -> Result<()>;
    /// Removes blobs once this transaction is durable (the embedded backend
    /// unlinks after commit; PostgreSQL deletes them in the transaction), so
    /// a crash can leave an unreferenced blob, never a row without its blob.
    fn delete_blobs(&mut self, account: AccountId, ids: &[BlobId]);
    /// Applies `writes` atomically; returns once they are durable.
    fn commit(self: Box<Self>, writes: Writes) -> Result<()>;
}

/// A sealed blob being written piece by piece ([`Backend::blob_sink`]).
/// Dropped without [`Txn::put_blob_sink`], it leaves nothing behind.
pub(crate) trait BlobSink: Send {
    /// Appends sealed bytes.
    fn write(&mut self, sealed: &[u8]) -> Result<()>;
    /// Ends the blob: the bytes when the sink kept them in memory, `None`
    /// when it made them durable under the blob's id itself.
    fn finish(self: Box<Self>) -> Result<Option<Vec<u8>>>;
    /// The sink as `Any`, for a backend whose transaction takes its own
    /// kind of sink over instead of its bytes (PostgreSQL: the open
    /// transaction that holds them); `None` by default.
    fn into_any(self: Box<Self>) -> Option<Box<dyn std::any::Any + Send>> {
        None
    }
    /// Whether [`BlobSink::finish`] may run before the transaction (in
    /// another thread, several at once: `AppendStream::prepare`), its
    /// result handed over later; `false` for a sink the transaction takes
    /// over (PostgreSQL).
    fn may_finish_early(&self) -> bool {
        true
    }
}

/// The default [`BlobSink`]: the sealed bytes in memory.
pub(crate) struct MemorySink(pub Vec<u8>);

impl BlobSink for MemorySink {
    fn write(&mut self, sealed: &[u8]) -> Result<()> {
        self.0.extend_from_slice(sealed);
        Ok(())
    }
    fn finish(self: Box<Self>) -> Result<Option<Vec<u8>>> {
        Ok(Some(self.0))
    }
}

/// A change another node should hear about (sent after commit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// A mailbox's messages changed; its highest modseq is now this.
    Mailbox(AccountId, crate::MailboxId, u64),
    /// A mailbox was created, renamed or deleted.
    Structure(AccountId, crate::MailboxId),
    /// An account was created, deleted, restored or purged, or its
    /// subscriptions changed.
    Account(AccountId),
    /// The connection that hears notices was lost and is back: whatever
    /// was sent meanwhile was missed, so every cache must be checked.
    Resync,
}

/// Where an account's wrapped data key is kept, per backend.
pub(crate) trait KeyStore: Send + Sync {
    /// The stored copies, newest first.
    fn copies(&self, id: AccountId) -> Result<Vec<Vec<u8>>>;
    /// Replaces the wrapped key, destroying the old one.
    fn write(&self, id: AccountId, wrapped: &[u8]) -> Result<()>;
    /// Destroys the wrapped key for good (a missing one is fine).
    fn shred(&self, id: AccountId) -> Result<()>;
    /// Whether any copy is stored.
    fn exists(&self, id: AccountId) -> Result<bool>;
}

/// A place the store's metadata and blobs live (see the module docs).
pub(crate) trait Backend: Send + Sync {
    /// `"embedded"` or `"postgresql"` (logs, errors).
    fn name(&self) -> &'static str;
    /// Whether other processes write the same data.
    fn shared(&self) -> bool;
    /// Starts a transaction.
    fn begin(&self) -> Result<Box<dyn Txn + '_>>;
    /// Reads outside a transaction (each read sees committed data).
    fn read(&self, reads: Vec<Read>) -> Result<Vec<Fetched>>;
    /// Next value of a store-wide counter, at least `floor`, durable, never
    /// handed out twice (a value lost with a failed transaction is a gap).
    fn next_counter(&self, name: &[u8], floor: u64) -> Result<u64>;
    /// Somewhere to write a sealed blob piece by piece as it arrives,
    /// before any transaction (a large message read from the network);
    /// [`Txn::put_blob_sink`] then stores it. The default keeps the pieces
    /// in memory; the embedded backend writes them to a temporary file and
    /// PostgreSQL, past its first MiB, to a large object in a transaction
    /// that the store's transaction then takes over (`postgres/sink.rs`),
    /// so memory stays flat whatever the message's size.
    fn blob_sink(&self, _account: AccountId, _id: BlobId) -> Result<Box<dyn BlobSink>> {
        Ok(Box::new(MemorySink(Vec::new())))
    }
    /// A sealed blob, `None` if it does not exist.
    fn read_blob(&self, account: AccountId, id: BlobId) -> Result<Option<Vec<u8>>>;
    /// Destroys every blob of an account (purge): overwritten where the
    /// medium allows, then removed.
    fn purge_blobs(&self, account: AccountId) -> Result<()>;
    /// How many blobs an account has (tests, `store copy` checks).
    fn count_blobs(&self, account: AccountId) -> Result<u64>;
    /// Where wrapped account keys live.
    fn keys(&self) -> &dyn KeyStore;
    /// The snapshot a backup copies (`crate::backup`): every metadata row
    /// given to `rows` at one point in time, the blob and key files that
    /// belong to it, held in place until the hold is dropped. `None` for a
    /// backend backed up by its own tools (PostgreSQL).
    fn backup_snapshot(
        &self,
        _rows: &mut crate::backup::RowSink<'_>,
    ) -> Result<Option<crate::backup::BackupHold<'_>>> {
        Ok(None)
    }
    /// Tells other nodes (no-op for a single process). Best effort, after
    /// commit: a lost notice is repaired by the next [`Notice::Resync`].
    fn notify(&self, notice: Notice);
    /// Installs the receiver of other nodes' notices (shared backends).
    fn listen(&self, deliver: Box<dyn Fn(Notice) + Send + Sync>);

    /// Makes the backend's own files hold everything committed, so the
    /// next open has nothing to recover (embedded: a checkpoint of the
    /// write-ahead log). Called at a clean shutdown.
    fn checkpoint(&self) -> Result<()> {
        Ok(())
    }
    /// Network round trips to the database made by the calling thread so
    /// far (0 when embedded): the unit of the cost per operation (tests,
    /// bench, the cluster write-up).
    fn round_trips(&self) -> u64 {
        0
    }
    /// Claims that hold across nodes (`None` for a single process, where
    /// the caller's own in-process locks are the whole truth).
    fn claims(&self) -> Option<&dyn Claims> {
        None
    }
}

/// Claims that hold across the nodes of a shared backend: named leases
/// and the shared outbound queue. Every claim belongs to this node and
/// lives while the node's heartbeat renews it; a node that dies stops
/// renewing, and after the lease time another node may take what it held.
pub(crate) trait Claims: Send + Sync {
    /// Takes the lease `name` if nobody holds it (or its holder's lease
    /// ran out); returns the token that releases it.
    fn try_lease(&self, name: &[u8]) -> Result<Option<u64>>;
    /// Gives a lease back (best effort, without waiting: a lost release is
    /// a lease that runs out).
    fn release_lease(&self, name: &[u8], token: u64);
    /// Whether this node still holds the lease (its heartbeat kept it).
    fn lease_held(&self, name: &[u8], token: u64) -> Result<bool>;
    /// Adds a sealed queue entry, due at `due` (Unix seconds).
    fn queue_insert(&self, id: &str, due: i64, sealed: &[u8]) -> Result<()>;
    /// Replaces an entry; `false` when it is gone (removed meanwhile).
    fn queue_update(&self, id: &str, due: i64, sealed: &[u8]) -> Result<bool>;
    /// One sealed entry.
    fn queue_get(&self, id: &str) -> Result<Option<Vec<u8>>>;
    /// Removes an entry (a missing one is fine).
    fn queue_delete(&self, id: &str) -> Result<()>;
    /// Every entry's id, ascending.
    fn queue_ids(&self) -> Result<Vec<String>>;
    /// Claims up to `limit` entries due at `now` that no live node holds
    /// (`FOR UPDATE SKIP LOCKED`, then a lease on each): ids, oldest due first.
    fn queue_claim(&self, now: i64, limit: i64) -> Result<Vec<String>>;
    /// Gives a claimed entry back (best effort, like [`Claims::release_lease`]).
    fn queue_release(&self, id: &str);
    /// When the next entry nobody holds is due; with entries held by other
    /// nodes, at the latest when their leases run out.
    fn queue_next_due(&self) -> Result<Option<i64>>;
    /// Tests: stops renewing this node's claims, as if it were cut off.
    fn stop_heartbeat(&self);
}

/// The first key after every key that starts with `prefix`.
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // All 0xff (or empty): no upper bound within the key space.
    vec![0xff; prefix.len() + 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_the_next_prefix() {
        assert_eq!(prefix_end(b"M\x00\x01"), b"M\x00\x02");
        assert_eq!(prefix_end(b"M\x00\xff"), b"M\x01");
        assert_eq!(prefix_end(b"\xff"), vec![0xff, 0xff]);
    }
}
