//! sealpost-store: every account's mailboxes and messages.
//!
//! The only crate that touches stored mail. Metadata (accounts, mailboxes,
//! UIDs, flags, modseqs, summaries) is one ordered key space with a
//! versioned key encoding (`codec.rs`); message bodies are sealed blobs.
//! Nothing protocol-specific is here: protocols turn their commands into
//! calls on [`Store`], which does not change with the backend.
//!
//! # Design
//!
//! ```text
//!   IMAP / POP3 / SMTP / retention / export / server
//!                      |  Store (sync API, unchanged)
//!   account.rs mailbox.rs message.rs account_index.rs copy.rs
//!     - encryption: names, summaries, blobs, addresses sealed here
//!     - in-memory mailbox indexes + change events (engine.rs)
//!     - lock-then-catch-up, change log, notices (cluster.rs)
//!                      |  Tx: reads (batched, optionally locking),
//!                      |  puts/deletes/creates/ranges, commit = durable
//!   backend/mod.rs: Backend + Txn  (the seam)
//!        |                                   |
//!   embedded.rs: sled tree + blob files   postgres/: one kv table, blobs,
//!   + key files; one process; the         wrapped keys; N nodes; LISTEN/
//!   default                               NOTIFY; schema migrations
//! ```
//!
//! - **The seam** (`backend/mod.rs`) is small: metadata transactions over
//!   opaque versioned keys and rows, sealed blob put/get/copy/delete, store
//!   counters, wrapped-key storage, and notices between nodes. A backend
//!   never sees plaintext: the store seals before it writes.
//! - **Transactions** (`tx.rs`): reads go out in batches (one round trip to
//!   PostgreSQL), a read may lock what it reads until commit, writes are
//!   buffered (read-your-writes) and applied atomically by one commit, which
//!   returns once durable. Where durability is decided: `Txn::commit` (sled
//!   batch + group flush; PostgreSQL COMMIT with `synchronous_commit = on`).
//! - **Indexes across nodes** (`cluster.rs`): with a shared backend, every
//!   mailbox write locks the mailbox row in the database and catches the
//!   in-memory index up from a per-mailbox change log before allocating a
//!   UID or modseq (so they come from committed rows, never from a counter
//!   another node or a restart could repeat); after commit other nodes are
//!   notified and catch up; a lost notice connection resynchronizes every
//!   open index from its last modseq.
//!
//! # Promises kept here
//!
//! - **Durability.** [`Store::append`] (and everything that creates or removes
//!   messages) returns only once the blob and the metadata are durable:
//!   embedded, the blob is written to a temporary name, fsynced, renamed and
//!   its directory fsynced, and the metadata change is appended to the
//!   store's write-ahead log and fdatasynced (sled itself is flushed by a
//!   checkpoint later; the log is replayed on open: `backend/wal.rs`);
//!   PostgreSQL, the transaction holding both is committed. Concurrent
//!   writers share directory fsyncs and log fdatasyncs (group commit; PostgreSQL shares WAL
//!   flushes the same way), so the cost per message falls as load rises. A
//!   database that cannot be reached fails calls with
//!   [`StoreError::Unavailable`]: nothing acknowledged was not committed.
//! - **Encryption at rest.** Every blob, every summary and every mailbox name
//!   is sealed with XChaCha20-Poly1305 under the account's 256-bit data key.
//!   Data keys are stored wrapped by the master key, which lives outside
//!   data_dir (generated 0600 on first start) and never in the database.
//!   Destroying the wrapped data key makes the account's mail unreadable
//!   (crypto-shredding).
//! - **Isolation.** Every call takes an [`AccountId`] and every key starts
//!   with it; mailbox names are only ever keys, never paths.
//! - **UIDs.** Per mailbox, UIDs are allocated under the mailbox's lock (in
//!   memory, and in the database when it is shared) and persisted with the
//!   message in the same commit, so they are unique, increasing and never
//!   reused across restarts, nodes or a failover to a synchronous standby.
//!
//! # Threading
//!
//! [`Store`] is `Clone + Send + Sync`. Its methods are synchronous; the ones
//! that write (append, deliver, copy, move, expunge, flag changes, mailbox
//! changes) block on fsync or a database commit, so async callers run them
//! with `tokio::task::spawn_blocking`. Reads are served from memory or one
//! batched read; the PostgreSQL backend runs its I/O on its own small
//! runtime, so any thread may call it.

#![warn(missing_docs)]

mod account;
mod account_events;
mod account_index;
mod acl;
mod append;
mod append_stream;
mod backend;
mod backup;
mod blob;
mod chunked;
mod claims;
mod cluster;
mod codec;
mod copy;
#[cfg(feature = "crash-hooks")]
#[doc(hidden)]
pub mod crash_hooks;
mod crypto;
mod data_dir;
mod domains;
mod engine;
mod erasure;
mod file_key;
pub mod fuzzing;
mod keyfile;
mod mailbox;
mod message;
mod metadata;
mod special_use;
mod sync;
mod tx;
mod types;

pub use backend::postgres::{PgOptions, SCHEMA_VERSION, migrate_schema, schema_version};
pub use erasure::{ErasureStatus, node_id, valid_node_id};

/// Helpers for tests that need a PostgreSQL database (this crate's, the
/// server's end-to-end tests). Not for serving.
#[doc(hidden)]
pub mod testing {
    use crate::PgOptions;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    /// The variable naming the test instance (`tests/pg.sh start` prints it).
    pub const ENV: &str = "SEALPOST_TEST_PG";

    /// Stops (or lets run again) the embedded store's periodic checkpoints
    /// in this process: a test can then crash a store whose sled was not
    /// flushed since it opened, so only the write-ahead log holds what was
    /// committed (`backend/wal.rs`).
    pub fn pause_checkpoints(paused: bool) {
        crate::backend::embedded::PAUSE_CHECKPOINTS.store(paused, Ordering::SeqCst);
    }

    /// Options for the test instance's admin database. Panics (the test
    /// fails, it is not skipped) when `SEALPOST_TEST_PG` is not set.
    pub fn admin() -> PgOptions {
        let url = std::env::var(ENV).unwrap_or_else(|_| {
            panic!(
                "{ENV} is not set: these tests need PostgreSQL; run `eval \"$(tests/pg.sh start)\"` first (.ci/run does)"
            )
        });
        PgOptions {
            url,
            pool_size: 4,
            statement_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            ..PgOptions::default()
        }
    }

    /// A new database on the test instance, its schema migrated, empty.
    pub fn fresh_database() -> PgOptions {
        let opts = fresh_unmigrated_database();
        crate::migrate_schema(&opts).expect("migrate the test database");
        opts
    }

    /// A new database on the test instance without any schema.
    pub fn fresh_unmigrated_database() -> PgOptions {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "sealpost_t{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        crate::backend::postgres::create_database(&admin(), &name).expect("create a test database")
    }
}

pub use account::PurgeStep;
pub use account_events::{ACCOUNT_EVENTS, AccountChange, AccountEvent};
pub use acl::{ACL_LETTERS, AclRights, Grant};
pub use append::{MAX_OBJECT_ID_DOMAIN, NewMessage};
pub use append_stream::{AppendStream, MAX_BATCH, Placement, Prepared, SUMMARY_WHOLE};
pub use backup::{
    BackupHold, BlobFile, MAX_ROW_KEY, MAX_ROW_VALUE, ROWS_MAGIC, RowReader, RowSink, write_row,
};
pub use claims::{Lease, SharedQueue};
pub use copy::{BATCH as COPY_BATCH, CopyProgress, CopyReport};
pub use data_dir::{DataDirState, NEW_STORE, data_dir_state};
pub use engine::Store;
pub use file_key::FileKey;
pub use metadata::{MetadataOutcome, MetadataScope};

pub use types::*;

use std::path::PathBuf;
use std::sync::Arc;

/// Turns a raw message into the summary kept beside it (envelope,
/// body structure, preview...), computed once at delivery.
///
/// The store does not interpret it; it encrypts it with the message and hands
/// it back in [`MessageMeta::summary`]. The IMAP crate provides the real one.
pub trait Summarizer: Send + Sync + 'static {
    /// Summarizes `raw`. Must not panic on any input.
    fn summarize(&self, raw: &[u8]) -> Vec<u8>;
    /// A summary made while a message arrives in pieces, for one too large
    /// to hold whole ([`AppendStream`]); it must give what
    /// [`Summarizer::summarize`] gives for the whole message, or nothing.
    /// `None` (the default): such a message is stored without a summary.
    fn stream(&self) -> Option<Box<dyn SummaryStream>> {
        None
    }
}

/// A summary being made from a message's pieces ([`Summarizer::stream`]).
pub trait SummaryStream: Send {
    /// The next octets of the message. Must not panic on any input.
    fn push(&mut self, bytes: &[u8]);
    /// The summary (empty when it could not be made within its limits).
    fn finish(self: Box<Self>) -> Vec<u8>;
}

/// A summarizer that keeps nothing (tests, tools).
pub struct NoSummary;

impl Summarizer for NoSummary {
    fn summarize(&self, _raw: &[u8]) -> Vec<u8> {
        Vec::new()
    }
}

/// Where the store lives and how it summarizes.
pub struct StoreOptions {
    /// The data directory (created if missing).
    pub data_dir: PathBuf,
    /// The master key file (32 random bytes, generated 0600 if missing).
    pub master_key: PathBuf,
    /// The summarizer run on every new message.
    pub summarizer: Arc<dyn Summarizer>,
}

/// Which backend holds the store (see `backend/`).
#[derive(Debug, Clone, Default)]
pub enum BackendOptions {
    /// sled and blob files under the data directory (the default).
    #[default]
    Embedded,
    /// A PostgreSQL database shared by every node.
    PostgreSql(PgOptions),
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the data directory.
    #[error("{0} is in use by another sealpost process")]
    Locked(PathBuf),
    /// The data directory is unusable (not a directory, unreadable, corrupt).
    #[error("{path}: {message}")]
    DataDir {
        /// Where.
        path: PathBuf,
        /// What.
        message: String,
    },
    /// The master key file is unusable.
    #[error("master key {path}: {message}")]
    MasterKey {
        /// Where.
        path: PathBuf,
        /// What.
        message: String,
    },
    /// No such account (or it is deleted).
    #[error("no such account")]
    NoAccount,
    /// The account exists already.
    #[error("account exists already")]
    AccountExists,
    /// No such mailbox.
    #[error("no such mailbox")]
    NoMailbox,
    /// The mailbox exists already.
    #[error("mailbox exists already")]
    MailboxExists,
    /// The operation is not allowed on this mailbox (e.g. deleting INBOX).
    #[error("{0}")]
    NotAllowed(&'static str),
    /// The caller lacks the right for this operation on another account's
    /// mailbox (mailbox access control, `acl.rs`).
    #[error("permission denied")]
    Denied,
    /// The mailbox name is invalid.
    #[error(transparent)]
    InvalidName(#[from] InvalidMailboxName),
    /// The account's quota would be exceeded.
    #[error("quota exceeded")]
    OverQuota,
    /// A message is too large for the store.
    #[error("message too large")]
    TooLarge,
    /// Stored data failed to decrypt or decode (tampering, or a destroyed key).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// Disk or database failure.
    #[error("storage failure: {0}")]
    Io(String),
    /// The database cannot be reached (down, restarting, out of
    /// connections). Nothing was committed; retrying later can succeed, and
    /// service resumes by itself when the database is back.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A concurrent writer (another node) changed what this write depended
    /// on; nothing was applied. The store retries or turns it into a
    /// precise error where it can, so callers rarely see it.
    #[error("conflicting concurrent change")]
    Conflict,
    /// The database's schema is missing or of another version.
    #[error("{0}")]
    Schema(String),
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

/// Result alias.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Unit tests run each case on every backend (see `tests/store.rs`).
#[cfg(test)]
pub(crate) mod test_backend {
    use crate::{BackendOptions, Store, StoreOptions};
    use std::cell::RefCell;

    thread_local! {
        static CURRENT: RefCell<BackendOptions> = const { RefCell::new(BackendOptions::Embedded) };
    }

    /// Runs `case` on the embedded store, then on a fresh PostgreSQL
    /// database (failing without `SEALPOST_TEST_PG`).
    pub fn each(case: impl Fn()) {
        for backend in [
            BackendOptions::Embedded,
            BackendOptions::PostgreSql(crate::testing::fresh_database()),
        ] {
            CURRENT.with(|c| *c.borrow_mut() = backend);
            case();
        }
        CURRENT.with(|c| *c.borrow_mut() = BackendOptions::Embedded);
    }

    /// Opens the store under `dir` on the current case's backend.
    pub fn open(dir: &std::path::Path) -> Store {
        let backend = CURRENT.with(|c| c.borrow().clone());
        Store::open_with(
            StoreOptions {
                data_dir: dir.join("data"),
                master_key: dir.join("keys/master.key"),
                summarizer: std::sync::Arc::new(crate::NoSummary),
            },
            &backend,
        )
        .unwrap()
    }
}
