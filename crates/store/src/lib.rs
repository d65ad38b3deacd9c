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

mod types;

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

/// The mailbox store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {}

#[allow(unused_variables)]
impl Store {
    /// Opens (creating if needed) the store; fails with [`StoreError::Locked`]
    /// when another process has it open.
    pub fn open(opts: StoreOptions) -> Result<Store> {
        todo!()
    }

    // ---- accounts -------------------------------------------------------

    /// Creates an account with INBOX, Sent, Drafts, Trash, Junk and Archive.
    pub fn create_account(&self, address: &str) -> Result<AccountId> {
        todo!()
    }

    /// The id of an active account by address (any case).
    pub fn account_id(&self, address: &str) -> Result<Option<AccountId>> {
        todo!()
    }

    /// The id of an active account, creating the account if it does not exist.
    pub fn ensure_account(&self, address: &str) -> Result<AccountId> {
        todo!()
    }

    /// Every account the store knows, active and deleted.
    pub fn accounts(&self) -> Result<Vec<AccountRecord>> {
        todo!()
    }

    /// Sets (or clears) an account's quota in octets.
    pub fn set_quota(&self, account: AccountId, limit: Option<u64>) {
        todo!()
    }

    /// Storage used by an account.
    pub fn quota(&self, account: AccountId) -> Result<QuotaUsage> {
        todo!()
    }

    // ---- mailboxes ------------------------------------------------------

    /// Every mailbox of an account, sorted by name.
    pub fn mailboxes(&self, account: AccountId) -> Result<Vec<MailboxInfo>> {
        todo!()
    }

    /// One mailbox by name.
    pub fn mailbox(&self, account: AccountId, name: &MailboxName) -> Result<Option<MailboxInfo>> {
        todo!()
    }

    /// Creates a mailbox (parents are not created implicitly).
    pub fn create_mailbox(
        &self,
        account: AccountId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<MailboxInfo> {
        todo!()
    }

    /// Deletes a mailbox and its messages. INBOX cannot be deleted.
    pub fn delete_mailbox(&self, account: AccountId, name: &MailboxName) -> Result<()> {
        todo!()
    }

    /// Renames a mailbox and its children. Renaming INBOX moves its messages
    /// to a new mailbox and leaves INBOX empty (RFC 9051 6.3.6).
    pub fn rename_mailbox(
        &self,
        account: AccountId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<()> {
        todo!()
    }

    /// Subscribes or unsubscribes a name (which need not exist).
    pub fn set_subscribed(
        &self,
        account: AccountId,
        name: &MailboxName,
        subscribed: bool,
    ) -> Result<()> {
        todo!()
    }

    /// Subscribed names, sorted.
    pub fn subscriptions(&self, account: AccountId) -> Result<Vec<MailboxName>> {
        todo!()
    }

    /// Counters of a mailbox.
    pub fn status(&self, account: AccountId, mailbox: MailboxId) -> Result<MailboxStatus> {
        todo!()
    }

    /// The mailbox's index at this moment, from memory (fast even for 100,000 messages).
    pub fn snapshot(&self, account: AccountId, mailbox: MailboxId) -> Result<Snapshot> {
        todo!()
    }

    /// Subscribes to a mailbox's changes. A lagging receiver gets
    /// `RecvError::Lagged` and should take a new [`Store::snapshot`].
    pub fn watch(
        &self,
        account: AccountId,
        mailbox: MailboxId,
    ) -> Result<tokio::sync::broadcast::Receiver<MailboxEvent>> {
        todo!()
    }

    /// UIDs that are `\Recent` for the caller (RFC 3501): those added since the
    /// last claim; each UID is handed to one claimer only.
    pub fn claim_recent(&self, account: AccountId, mailbox: MailboxId) -> Result<Vec<Uid>> {
        todo!()
    }

    // ---- messages -------------------------------------------------------

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
        todo!()
    }

    /// Delivers to the account's INBOX (SMTP, local submission).
    pub fn deliver(&self, account: AccountId, raw: &[u8]) -> Result<Appended> {
        todo!()
    }

    /// Metadata of one message.
    pub fn meta(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uid: Uid,
    ) -> Result<Option<MessageMeta>> {
        todo!()
    }

    /// The message's bytes exactly as stored (decrypted).
    pub fn read(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uid: Uid,
    ) -> Result<Option<Vec<u8>>> {
        todo!()
    }

    /// Changes flags of `uids` (missing UIDs are skipped). With
    /// `unchanged_since`, messages modified after it are left alone and listed
    /// in [`FlagsOutcome::modified`].
    pub fn store_flags(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uids: &[Uid],
        op: FlagOp,
        flags: &Flags,
        unchanged_since: Option<ModSeq>,
    ) -> Result<FlagsOutcome> {
        todo!()
    }

    /// Copies messages to another mailbox of the same account.
    pub fn copy(
        &self,
        account: AccountId,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<CopyOutcome> {
        todo!()
    }

    /// Moves messages (copy, then expunge from the source, atomically to watchers).
    pub fn move_messages(
        &self,
        account: AccountId,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<CopyOutcome> {
        todo!()
    }

    /// Expunges messages flagged `\Deleted`; with `only`, just those among
    /// them (UID EXPUNGE). Returns the expunged UIDs, ascending.
    pub fn expunge(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        only: Option<&[Uid]>,
    ) -> Result<Vec<Uid>> {
        todo!()
    }

    /// Removes the given messages whatever their flags (POP3 QUIT, retention).
    pub fn remove(&self, account: AccountId, mailbox: MailboxId, uids: &[Uid]) -> Result<Vec<Uid>> {
        todo!()
    }

    /// Changes since `since` (CONDSTORE/QRESYNC).
    pub fn changes_since(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        since: ModSeq,
    ) -> Result<Changes> {
        todo!()
    }

    // ---- data outside mailboxes -------------------------------------------

    /// Encrypts data that lives outside the mailboxes but must not be plaintext
    /// on disk (the outbound queue), under a system key wrapped by the master key.
    pub fn seal_system(&self, plaintext: &[u8]) -> Vec<u8> {
        todo!()
    }

    /// Decrypts what [`Store::seal_system`] produced.
    pub fn open_system(&self, sealed: &[u8]) -> Result<Vec<u8>> {
        todo!()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        todo!()
    }
}
