//! sealpost-store: every account's mailboxes and messages.
//!
//! The only crate that touches mail on disk. Metadata (accounts, mailboxes,
//! UIDs, flags, modseqs, summaries) lives in sled behind a versioned key
//! encoding (`keys.rs`); message bodies live in blob files, one per message,
//! under `data_dir/blobs/`. Nothing protocol-specific is here: protocols turn
//! their commands into calls on [`Store`].
//!
//! # Promises kept here
//!
//! - **Durability.** [`Store::append`] (and everything that creates or removes
//!   messages) returns only once the blob is written to a temporary name,
//!   fsynced, renamed and its directory fsynced, and the metadata is flushed
//!   by sled. Concurrent writers share directory fsyncs and sled flushes
//!   (group commit), so the cost per message falls as load rises.
//! - **Encryption at rest.** Every blob, every summary and every mailbox name
//!   is sealed with XChaCha20-Poly1305 under the account's 256-bit data key.
//!   Data keys are stored wrapped by the master key, which lives outside
//!   data_dir (generated 0600 on first start). Destroying the wrapped data key
//!   makes the account's mail unreadable (crypto-shredding).
//! - **Isolation.** Every call takes an [`AccountId`] and every key starts
//!   with it; mailbox names are only ever keys, never paths.
//! - **UIDs.** Per mailbox, UIDs are allocated under the mailbox's lock and
//!   persisted with the message, so they are unique, increasing and never
//!   reused across restarts.
//!
//! # Threading
//!
//! [`Store`] is `Clone + Send + Sync`. Its methods are synchronous; the ones
//! that write (append, deliver, copy, move, expunge, flag changes, mailbox
//! changes) block on fsync, so async callers run them with
//! `tokio::task::spawn_blocking`. Reads (snapshot, status, meta) are served
//! from memory or sled without disk syncs and are fine to call inline.

#![warn(missing_docs)]

mod account;
mod account_index;
mod blob;
mod codec;
mod crypto;
mod engine;
mod keyfile;
mod mailbox;
mod message;
mod sync;
mod types;

pub use account::PurgeStep;
pub use engine::Store;

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
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

/// Result alias.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
