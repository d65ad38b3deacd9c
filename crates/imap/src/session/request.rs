//! What the session asks of its driver, and what comes back.
//!
//! A session never performs I/O. When a command needs something from
//! outside (a password check, a store call, the mailbox's change events, an
//! audit record, room in the output), the session returns
//! [`Step::Need`] with a [`Request`] and waits; the driver performs it and
//! hands the answer back as a [`Reply`] to `Session::resume`. When a command
//! is answered, the session returns [`Step::Done`] with what the connection
//! does next ([`Next`]).
//!
//! Store operations are typed ([`StoreRequest`] / [`StoreReply`]) and
//! scoped by account id like every `MailStore` call. Each request says
//! whether it writes ([`StoreRequest::writes`]): writes wait for fsync, so
//! the driver runs them on the blocking pool; everything else is served
//! inline.

use super::acl::{AclReply, AclRequest, SharedAccess};
use super::objectid::ObjectKey;
use sealpost_audit::LoginOutcome;
use sealpost_directory::{AuthOutcome, Secret};
use sealpost_store::{
    AccountId, Appended, Changes, CopyOutcome, FlagOp, Flags, FlagsOutcome, MailboxEvent,
    MailboxId, MailboxInfo, MailboxName, MailboxStatus, MessageMeta, ModSeq, QuotaUsage, Snapshot,
    SpecialUse, StoreError, Uid,
};

/// What the session returns for each input.
#[derive(Debug)]
pub enum Step {
    /// Perform this and call `Session::resume` with the answer.
    Need(Request),
    /// The command is answered (or the input handled); then this.
    Done(Next),
}

/// What the connection does once a command is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Go on with the next command (or wait for input).
    Continue,
    /// Write the output, drop buffered input, run the TLS handshake, then
    /// `Session::tls_established`.
    StartTls,
    /// Write the output, then compress both directions (RFC 4978).
    Compress,
    /// Write the output and close.
    Close,
    /// A synchronizing literal was announced in plaintext: the framer must
    /// drop the command (`Framer::refuse_literal`) and the session answer
    /// it (`Session::literal_refused`). No `+` is sent.
    RefuseLiteral,
}

/// Something only the driver can do.
#[derive(Debug)]
pub enum Request {
    /// Check credentials with the directory; answer [`Reply::Auth`].
    Authenticate {
        /// The user name as given.
        user: String,
        /// The password.
        password: Secret,
    },
    /// Find (or create) the store account of a user who just logged in
    /// and bring its quota in line with the directory's; answer
    /// [`Reply::Account`].
    OpenAccount {
        /// The account's address.
        address: String,
        /// Its quota in octets.
        quota: Option<u64>,
    },
    /// Record a login attempt in the audit log; answer [`Reply::Done`].
    AuditLogin {
        /// The user name as given (or the account's address).
        user: String,
        /// The negotiated TLS version.
        tls: Option<String>,
        /// What happened.
        outcome: LoginOutcome,
        /// The label of the app password that logged in, if one did.
        app_password: Option<String>,
        /// `LOGIN` (the command) or the SASL mechanism (`PLAIN`).
        mechanism: &'static str,
    },
    /// The selected mailbox's change events since last asked; answer
    /// [`Reply::Updates`].
    Updates,
    /// A long response: write what is in the output before going on;
    /// answer [`Reply::Done`].
    Yield,
    /// A store operation; answer [`Reply::Store`].
    Store(StoreRequest),
}

/// The answer to a [`Request`].
#[derive(Debug)]
pub enum Reply {
    /// The directory's verdict.
    Auth(AuthOutcome),
    /// The account of a user who logged in, and its key for object ids
    /// (OBJECTID, RFC 8474).
    Account(Result<(AccountId, ObjectKey), StoreError>),
    /// Done, nothing to report.
    Done,
    /// Change events of the selected mailbox, in order.
    Updates {
        /// The events.
        events: Vec<MailboxEvent>,
        /// Some were lost (the watcher fell behind): take a new snapshot.
        lagged: bool,
        /// The appended UIDs that are `\Recent` for this session: claimed
        /// from the store for a read-write session (RFC 3501 2.3.2: one
        /// session only), shown to a read-only one while unclaimed.
        recent: Vec<Uid>,
    },
    /// A store operation's result.
    Store(Result<StoreReply, StoreError>),
}

/// One store operation. The driver runs it against its `MailStore`.
#[derive(Debug)]
pub enum StoreRequest {
    /// Creates `parents` that do not exist yet (in order), then `name`.
    CreateMailbox {
        /// The account.
        account: AccountId,
        /// Superiors to create first; existing ones are fine.
        parents: Vec<MailboxName>,
        /// The mailbox.
        name: MailboxName,
        /// Its special use.
        special_use: Option<SpecialUse>,
    },
    /// Deletes a mailbox.
    DeleteMailbox {
        /// The account.
        account: AccountId,
        /// The mailbox.
        name: MailboxName,
    },
    /// Renames a mailbox.
    RenameMailbox {
        /// The account.
        account: AccountId,
        /// Old name.
        from: MailboxName,
        /// New name.
        to: MailboxName,
    },
    /// Subscribes or unsubscribes a name.
    Subscribe {
        /// The account.
        account: AccountId,
        /// The name.
        name: MailboxName,
        /// Subscribe (true) or unsubscribe.
        on: bool,
    },
    /// Every mailbox and every subscription ([`StoreReply::Tree`]).
    MailboxTree {
        /// The account.
        account: AccountId,
    },
    /// Counters of several mailboxes ([`StoreReply::Statuses`]).
    Statuses {
        /// The account.
        account: AccountId,
        /// The mailboxes.
        mailboxes: Vec<MailboxId>,
    },
    /// One mailbox by name and its counters ([`StoreReply::Status`]).
    Status {
        /// The account.
        account: AccountId,
        /// The mailbox.
        name: MailboxName,
    },
    /// METADATA entries of the account or a mailbox ([`StoreReply::Metadata`]).
    GetMetadata {
        /// The account.
        account: AccountId,
        /// The mailbox; `None`: the account's own entries.
        mailbox: Option<MailboxName>,
    },
    /// METADATA entries of several mailboxes, for LIST-METADATA
    /// ([`StoreReply::MetadataOf`]).
    MetadataOf {
        /// The account.
        account: AccountId,
        /// The mailboxes.
        mailboxes: Vec<MailboxName>,
    },
    /// Sets and removes METADATA entries ([`StoreReply::MetadataSet`]).
    SetMetadata {
        /// The account.
        account: AccountId,
        /// The mailbox; `None`: the account's own entries.
        mailbox: Option<MailboxName>,
        /// Entry names and values (`None` removes).
        changes: Vec<(String, Option<Vec<u8>>)>,
        /// Most entries the scope may hold afterwards.
        max: usize,
    },
    /// The account's usage and limit ([`StoreReply::Quota`]).
    Quota {
        /// The account.
        account: AccountId,
    },
    /// Whether a mailbox exists, and the quota ([`StoreReply::QuotaRoot`]).
    QuotaRoot {
        /// The account.
        account: AccountId,
        /// The mailbox.
        name: MailboxName,
    },
    /// Opens a mailbox: its index, the `\Recent` UIDs it claims unless
    /// read-only, changes since a modseq for QRESYNC; the driver starts
    /// watching it ([`StoreReply::Selected`]).
    Select {
        /// The account.
        account: AccountId,
        /// The mailbox.
        name: MailboxName,
        /// EXAMINE: claim no `\Recent`.
        read_only: bool,
        /// QRESYNC: also the changes since this modseq.
        changes_since: Option<ModSeq>,
    },
    /// Changes since a modseq ([`StoreReply::Changes`]).
    ChangesSince {
        /// The account.
        account: AccountId,
        /// The mailbox.
        mailbox: MailboxId,
        /// The modseq.
        since: ModSeq,
    },
    /// The mailbox's index now ([`StoreReply::Snapshot`]).
    Snapshot {
        /// The account.
        account: AccountId,
        /// The mailbox.
        mailbox: MailboxId,
    },
    /// The index entries of some messages only ([`StoreReply::Snapshot`]
    /// holding just those).
    Entries {
        /// The account.
        account: AccountId,
        /// The mailbox.
        mailbox: MailboxId,
        /// The messages.
        uids: Vec<Uid>,
    },
    /// Several messages' metadata, in one store read ([`StoreReply::Metas`]).
    Metas {
        /// The account.
        account: AccountId,
        /// The mailbox.
        mailbox: MailboxId,
        /// The messages, in the order the reply keeps.
        uids: Vec<Uid>,
    },
    /// One message's metadata and/or content ([`StoreReply::Message`]).
    Message {
        /// The account.
        account: AccountId,
        /// The mailbox.
        mailbox: MailboxId,
        /// The message.
        uid: Uid,
        /// Read its metadata (dates, summary).
        meta: bool,
        /// Read its content.
        raw: bool,
    },
    /// Changes flags ([`StoreReply::Flags`]).
    StoreFlags {
        /// The account.
        account: AccountId,
        /// The mailbox.
        mailbox: MailboxId,
        /// The messages.
        uids: Vec<Uid>,
        /// Add, remove or replace.
        op: FlagOp,
        /// The flags.
        flags: Flags,
        /// CONDSTORE UNCHANGEDSINCE.
        unchanged_since: Option<ModSeq>,
    },
    /// Expunges `\Deleted` messages ([`StoreReply::Expunged`]).
    Expunge {
        /// The account.
        account: AccountId,
        /// The mailbox.
        mailbox: MailboxId,
        /// UID EXPUNGE: only these.
        only: Option<Vec<Uid>>,
    },
    /// Copies or moves messages to a mailbox named by the client
    /// ([`StoreReply::Copied`]).
    CopyMove {
        /// The source mailbox's account (its owner's, when shared).
        account: AccountId,
        /// The logged-in account, in whose namespace `to` is named.
        user: AccountId,
        /// The source mailbox.
        from: MailboxId,
        /// The messages.
        uids: Vec<Uid>,
        /// The destination.
        to: MailboxName,
        /// MOVE rather than COPY.
        is_move: bool,
    },
    /// Takes back the copies a failed batched COPY made (RFC 9051 6.4.7:
    /// the destination as it was) ([`StoreReply::Done`]).
    Uncopy {
        /// The logged-in account, in whose namespace `to` is named.
        user: AccountId,
        /// The COPY's destination.
        to: MailboxName,
        /// The copies' UIDs there.
        uids: Vec<Uid>,
    },
    /// Appends a message to a mailbox named by the client
    /// ([`StoreReply::Appended`]).
    Append {
        /// The account.
        account: AccountId,
        /// The mailbox.
        mailbox: MailboxName,
        /// The message.
        message: Vec<u8>,
        /// Its flags.
        flags: Flags,
        /// Its internal date.
        date: Option<i64>,
    },
    /// Appends several messages as one change, all or none (MULTIAPPEND,
    /// [`StoreReply::AppendedAll`]).
    AppendAll {
        /// The account.
        account: AccountId,
        /// The mailbox.
        mailbox: MailboxName,
        /// The messages, in order.
        messages: Vec<AppendItem>,
    },
    /// Appends a message, then removes the one it replaces (REPLACE,
    /// [`StoreReply::Replaced`]); nothing is removed if the append fails.
    Replace {
        /// The selected mailbox's account (its owner's, when shared).
        account: AccountId,
        /// The logged-in account, in whose namespace `to` is named.
        user: AccountId,
        /// The selected mailbox, holding the old message.
        from: MailboxId,
        /// The old message.
        uid: Uid,
        /// Where the new message goes.
        to: MailboxName,
        /// The new message.
        item: AppendItem,
    },
    /// An ACL command (RFC 4314, `session/acl.rs`): [`StoreReply::Acl`].
    Acl(AclRequest),
    /// The content of a message a CATENATE URL names, read with the
    /// rights of a FETCH ([`StoreReply::Message`], `raw` only). `None`
    /// alike when the mailbox is missing or not readable by the user, its
    /// UIDVALIDITY differs, or the message is gone (all `BADURL`).
    UrlMessage {
        /// The logged-in account, in whose namespace `mailbox` is named.
        user: AccountId,
        /// The mailbox.
        mailbox: MailboxName,
        /// The URL's UIDVALIDITY, if it gave one.
        uid_validity: Option<u32>,
        /// The message.
        uid: Uid,
    },
}

/// One message to append.
#[derive(Debug)]
pub struct AppendItem {
    /// Its content.
    pub message: Vec<u8>,
    /// Its flags.
    pub flags: Flags,
    /// Its internal date.
    pub date: Option<i64>,
}

impl StoreRequest {
    /// Whether the operation writes (and so waits for fsync).
    pub fn writes(&self) -> bool {
        use StoreRequest as R;
        match self {
            R::CreateMailbox { .. }
            | R::DeleteMailbox { .. }
            | R::RenameMailbox { .. }
            | R::Subscribe { .. }
            | R::SetMetadata { .. }
            | R::StoreFlags { .. }
            | R::Expunge { .. }
            | R::CopyMove { .. }
            | R::Uncopy { .. }
            | R::Append { .. }
            | R::AppendAll { .. }
            | R::Replace { .. } => true,
            R::Acl(a) => a.writes(),
            R::MailboxTree { .. }
            | R::Statuses { .. }
            | R::Status { .. }
            | R::Quota { .. }
            | R::GetMetadata { .. }
            | R::MetadataOf { .. }
            | R::QuotaRoot { .. }
            | R::Select { .. }
            | R::ChangesSince { .. }
            | R::Snapshot { .. }
            | R::Entries { .. }
            | R::Metas { .. }
            | R::UrlMessage { .. }
            | R::Message { .. } => false,
        }
    }
}

/// The result of a [`StoreRequest`], variant for variant.
#[derive(Debug)]
pub enum StoreReply {
    /// A change with nothing to report.
    Done,
    /// A mailbox created.
    Created(MailboxInfo),
    /// Mailboxes (sorted by name) and subscriptions (sorted).
    Tree(Vec<MailboxInfo>, Vec<MailboxName>),
    /// Counters per mailbox; `None` where the mailbox vanished meanwhile.
    Statuses(Vec<(MailboxId, Option<MailboxStatus>)>),
    /// A mailbox and its counters.
    Status(MailboxInfo, MailboxStatus),
    /// Usage and limit.
    Quota(QuotaUsage),
    /// METADATA entries, sorted by lower-cased name.
    Metadata(Vec<(String, Vec<u8>)>),
    /// METADATA entries per mailbox, in the order asked (`None` where they
    /// cannot be read: a shared mailbox, one gone meanwhile).
    MetadataOf(Vec<super::list_metadata::MailboxEntries>),
    /// What a SETMETADATA did.
    MetadataSet(sealpost_store::MetadataOutcome),
    /// Whether the mailbox exists, and the quota.
    QuotaRoot {
        /// The mailbox exists.
        exists: bool,
        /// Usage and limit.
        quota: QuotaUsage,
    },
    /// An opened mailbox.
    Selected {
        /// The mailbox.
        info: MailboxInfo,
        /// Its index.
        snapshot: Snapshot,
        /// `\Recent` UIDs claimed.
        recent: Vec<Uid>,
        /// Changes since the QRESYNC modseq.
        changes: Option<Changes>,
        /// Another account's mailbox, opened through a grant (ACL).
        shared: Option<SharedAccess>,
    },
    /// Changes since a modseq.
    Changes(Changes),
    /// An index.
    Snapshot(Snapshot),
    /// A message (each part `None` when not asked for or gone).
    Message {
        /// Metadata.
        meta: Option<MessageMeta>,
        /// Content.
        raw: Option<Vec<u8>>,
    },
    /// Metadata of several messages, in the order asked (`None`: gone).
    Metas(Vec<Option<MessageMeta>>),
    /// Flags changed.
    Flags(FlagsOutcome),
    /// UIDs expunged, ascending.
    Expunged(Vec<Uid>),
    /// Messages copied or moved.
    Copied(CopyOutcome),
    /// A message appended.
    Appended(Appended),
    /// Messages appended together, in order.
    AppendedAll(Vec<Appended>),
    /// A message replaced: the new one, and the old one's UID if it was
    /// still there to remove.
    Replaced {
        /// The new message.
        appended: Appended,
        /// The old message, removed.
        removed: Vec<Uid>,
    },
    /// An ACL command's answer.
    Acl(AclReply),
}
