//! The store interface the IMAP driver uses ([`MailStore`]), implemented
//! by the real `sealpost_store::Store` and by [`MemStore`], an in-memory
//! model of it that the transcript tests run against beside the real one.
//!
//! The trait is the subset of `Store`'s public API that IMAP needs, with
//! the same names, arguments and meaning, so the implementation for
//! `Store` only delegates. Everything is synchronous, as in `Store`: the
//! driver (`crate::driver`) decides which calls run inline on the
//! connection's task (reads: served from memory or sled, no disk sync) and
//! which go to the blocking pool (writes: they wait for fsync), see
//! [`MailStore`]'s method groups.
//!
//! [`MemStore`] keeps the same observable behaviour as the real store:
//! the same UID, UIDVALIDITY and MODSEQ allocation, the same quota
//! accounting and errors, the same change events. A transcript whose
//! answers differ between the two is a failing test, so the model is held
//! to the store's behaviour as much as the session is.

mod memory;

pub use memory::MemStore;

use sealpost_store::{
    AccountEvent, AccountId, AclRights, Appended, Changes, CopyOutcome, FlagOp, Flags,
    FlagsOutcome, Grant, MailboxEvent, MailboxId, MailboxInfo, MailboxName, MailboxStatus,
    MessageMeta, MetadataOutcome, MetadataScope, ModSeq, NewMessage, QuotaUsage, Result, Snapshot,
    SpecialUse, Store, StoreError, Uid,
};
use tokio::sync::broadcast;

/// What IMAP asks of a mail store. See the module docs.
///
/// Reads (`account_id`, `quota`, `mailboxes`, `mailbox`, `subscriptions`,
/// `status`, `snapshot`, `watch`, `recent_through`, `changes_since`, `meta`,
/// `read`) never wait for a disk sync; writes (`ensure_account`,
/// `create_mailbox`, `delete_mailbox`, `rename_mailbox`, `set_subscribed`,
/// `append`, `store_flags`, `copy`, `move_messages`, `expunge`) return
/// only once the change is durable.
pub trait MailStore: Clone + Send + Sync + 'static {
    /// The id of an active account by address.
    fn account_id(&self, address: &str) -> Result<Option<AccountId>>;
    /// The id of an active account, created (with its default mailboxes)
    /// if it does not exist.
    fn ensure_account(&self, address: &str) -> Result<AccountId>;
    /// Storage used by an account, and its limit.
    fn quota(&self, account: AccountId) -> Result<QuotaUsage>;
    /// Sets (or clears) an account's quota in octets.
    fn set_quota(&self, account: AccountId, limit: Option<u64>);
    /// Every mailbox of an account, sorted by name.
    fn mailboxes(&self, account: AccountId) -> Result<Vec<MailboxInfo>>;
    /// One mailbox by name.
    fn mailbox(&self, account: AccountId, name: &MailboxName) -> Result<Option<MailboxInfo>>;
    /// Creates a mailbox (parents are not created implicitly).
    fn create_mailbox(
        &self,
        account: AccountId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<MailboxInfo>;
    /// Deletes a mailbox and its messages.
    fn delete_mailbox(&self, account: AccountId, name: &MailboxName) -> Result<()>;
    /// Renames a mailbox and its children (INBOX: moves its messages).
    fn rename_mailbox(
        &self,
        account: AccountId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<()>;
    /// Subscribes or unsubscribes a name (which need not exist).
    fn set_subscribed(&self, account: AccountId, name: &MailboxName, on: bool) -> Result<()>;
    /// Every change of the account's mailboxes and hierarchy, on a bounded
    /// channel (NOTIFY; see `Store::watch_account`).
    fn watch_account(&self, account: AccountId) -> Result<broadcast::Receiver<AccountEvent>>;
    /// Subscribed names, sorted.
    fn subscriptions(&self, account: AccountId) -> Result<Vec<MailboxName>>;
    /// Counters of a mailbox.
    fn status(&self, account: AccountId, mailbox: MailboxId) -> Result<MailboxStatus>;
    /// The mailbox's index at this moment.
    fn snapshot(&self, account: AccountId, mailbox: MailboxId) -> Result<Snapshot>;
    /// The same, holding only the entries of `uids` (ascending; missing
    /// ones left out): a FETCH of a few messages copies only theirs.
    fn entries(&self, account: AccountId, mailbox: MailboxId, uids: &[Uid]) -> Result<Snapshot> {
        let mut snap = self.snapshot(account, mailbox)?;
        let mut wanted = uids.to_vec();
        wanted.sort_unstable();
        snap.entries
            .retain(|e| wanted.binary_search(&e.uid).is_ok());
        Ok(snap)
    }
    /// A snapshot and a watch taken atomically (no change falls between).
    fn snapshot_and_watch(
        &self,
        account: AccountId,
        mailbox: MailboxId,
    ) -> Result<(Snapshot, broadcast::Receiver<MailboxEvent>)>;
    /// The `\Recent` UIDs up to `through`; with `claim`, handed to the
    /// caller alone (see `Store::recent_through`); without, only shown
    /// (EXAMINE).
    fn recent_through(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        through: Uid,
        claim: bool,
    ) -> Result<Vec<Uid>>;
    /// Changes since a modseq (CONDSTORE/QRESYNC).
    fn changes_since(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        since: ModSeq,
    ) -> Result<Changes>;
    /// Stores a message durably.
    fn append(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        raw: &[u8],
        flags: &Flags,
        internal_date: Option<i64>,
    ) -> Result<Appended>;
    /// Metadata of one message (flags, dates, summary).
    fn meta(&self, account: AccountId, mailbox: MailboxId, uid: Uid)
    -> Result<Option<MessageMeta>>;
    /// Metadata of several messages, in the order of `uids`.
    fn metas(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> Result<Vec<Option<MessageMeta>>> {
        uids.iter()
            .map(|&u| self.meta(account, mailbox, u))
            .collect()
    }
    /// The message's bytes as stored.
    fn read(&self, account: AccountId, mailbox: MailboxId, uid: Uid) -> Result<Option<Vec<u8>>>;
    /// Changes flags (see `Store::store_flags`).
    fn store_flags(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uids: &[Uid],
        op: FlagOp,
        flags: &Flags,
        unchanged_since: Option<ModSeq>,
    ) -> Result<FlagsOutcome>;
    /// Copies messages to another mailbox of the same account.
    fn copy(
        &self,
        account: AccountId,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<CopyOutcome>;
    /// Moves messages (copy, then remove from the source).
    fn move_messages(
        &self,
        account: AccountId,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<CopyOutcome>;
    /// Expunges `\Deleted` messages (with `only`: just those among them).
    fn expunge(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        only: Option<&[Uid]>,
    ) -> Result<Vec<Uid>>;
    /// Appends several messages as one change: all or none (MULTIAPPEND).
    fn append_all(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        messages: &[NewMessage<'_>],
    ) -> Result<Vec<Appended>>;
    /// Removes these messages whatever their flags (REPLACE).
    fn remove(&self, account: AccountId, mailbox: MailboxId, uids: &[Uid]) -> Result<Vec<Uid>>;
    /// A keyed id of `data` under the account's key (OBJECTID).
    fn object_id(&self, account: AccountId, domain: &[u8], data: &[u8]) -> Result<[u8; 32]>;
    /// Sets a grantee's rights on an owner's mailbox; zero removes the
    /// grant (ACL, RFC 4314; see `Store::set_acl`).
    fn set_acl(
        &self,
        owner: AccountId,
        mailbox: MailboxId,
        grantee: AccountId,
        rights: AclRights,
    ) -> Result<()>;
    /// A grantee's rights on an owner's mailbox (zero: none).
    fn acl_rights(
        &self,
        owner: AccountId,
        mailbox: MailboxId,
        grantee: AccountId,
    ) -> Result<AclRights>;
    /// Every grant on an owner's mailbox.
    fn acl(&self, owner: AccountId, mailbox: MailboxId) -> Result<Vec<Grant>>;
    /// Every grant made to a grantee.
    fn acl_received(&self, grantee: AccountId) -> Result<Vec<Grant>>;
    /// The address of an active account.
    fn account_address(&self, id: AccountId) -> Result<Option<String>>;
    /// METADATA entries (RFC 5464) of the account (`None`) or of a
    /// mailbox, sorted by lower-cased name.
    fn metadata(
        &self,
        account: AccountId,
        mailbox: Option<&MailboxName>,
    ) -> Result<Vec<(String, Vec<u8>)>>;
    /// Sets (`Some`) and removes (`None`) METADATA entries, all or none;
    /// nothing when the scope would hold more than `max` entries.
    fn set_metadata(
        &self,
        account: AccountId,
        mailbox: Option<&MailboxName>,
        changes: &[(String, Option<Vec<u8>>)],
        max: usize,
    ) -> Result<MetadataOutcome>;
}

/// The store's place of an entry: the account, or a mailbox by name.
fn metadata_scope(
    store: &Store,
    account: AccountId,
    mailbox: Option<&MailboxName>,
) -> Result<MetadataScope> {
    Ok(match mailbox {
        None => MetadataScope::Server,
        Some(name) => {
            let info = Store::mailbox(store, account, name)?.ok_or(StoreError::NoMailbox)?;
            MetadataScope::Mailbox(info.id)
        }
    })
}

impl MailStore for Store {
    fn account_id(&self, address: &str) -> Result<Option<AccountId>> {
        Store::account_id(self, address)
    }
    fn ensure_account(&self, address: &str) -> Result<AccountId> {
        Store::ensure_account(self, address)
    }
    fn quota(&self, account: AccountId) -> Result<QuotaUsage> {
        Store::quota(self, account)
    }
    fn set_quota(&self, account: AccountId, limit: Option<u64>) {
        Store::set_quota(self, account, limit)
    }
    fn mailboxes(&self, account: AccountId) -> Result<Vec<MailboxInfo>> {
        Store::mailboxes(self, account)
    }
    fn mailbox(&self, account: AccountId, name: &MailboxName) -> Result<Option<MailboxInfo>> {
        Store::mailbox(self, account, name)
    }
    fn create_mailbox(
        &self,
        account: AccountId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<MailboxInfo> {
        Store::create_mailbox(self, account, name, special_use)
    }
    fn delete_mailbox(&self, account: AccountId, name: &MailboxName) -> Result<()> {
        Store::delete_mailbox(self, account, name)
    }
    fn rename_mailbox(
        &self,
        account: AccountId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<()> {
        Store::rename_mailbox(self, account, from, to)
    }
    fn set_subscribed(&self, account: AccountId, name: &MailboxName, on: bool) -> Result<()> {
        Store::set_subscribed(self, account, name, on)
    }
    fn subscriptions(&self, account: AccountId) -> Result<Vec<MailboxName>> {
        Store::subscriptions(self, account)
    }
    fn watch_account(&self, account: AccountId) -> Result<broadcast::Receiver<AccountEvent>> {
        Store::watch_account(self, account)
    }
    fn status(&self, account: AccountId, mailbox: MailboxId) -> Result<MailboxStatus> {
        Store::status(self, account, mailbox)
    }
    fn snapshot(&self, account: AccountId, mailbox: MailboxId) -> Result<Snapshot> {
        Store::snapshot(self, account, mailbox)
    }
    fn entries(&self, account: AccountId, mailbox: MailboxId, uids: &[Uid]) -> Result<Snapshot> {
        Store::entries(self, account, mailbox, uids)
    }
    fn snapshot_and_watch(
        &self,
        account: AccountId,
        mailbox: MailboxId,
    ) -> Result<(Snapshot, broadcast::Receiver<MailboxEvent>)> {
        Store::snapshot_and_watch(self, account, mailbox)
    }
    fn recent_through(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        through: Uid,
        claim: bool,
    ) -> Result<Vec<Uid>> {
        Store::recent_through(self, account, mailbox, through, claim)
    }
    fn changes_since(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        since: ModSeq,
    ) -> Result<Changes> {
        Store::changes_since(self, account, mailbox, since)
    }
    fn append(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        raw: &[u8],
        flags: &Flags,
        internal_date: Option<i64>,
    ) -> Result<Appended> {
        Store::append(self, account, mailbox, raw, flags, internal_date)
    }
    fn meta(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uid: Uid,
    ) -> Result<Option<MessageMeta>> {
        Store::meta(self, account, mailbox, uid)
    }
    fn metas(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> Result<Vec<Option<MessageMeta>>> {
        Store::metas(self, account, mailbox, uids)
    }
    fn read(&self, account: AccountId, mailbox: MailboxId, uid: Uid) -> Result<Option<Vec<u8>>> {
        Store::read(self, account, mailbox, uid)
    }
    fn store_flags(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uids: &[Uid],
        op: FlagOp,
        flags: &Flags,
        unchanged_since: Option<ModSeq>,
    ) -> Result<FlagsOutcome> {
        Store::store_flags(self, account, mailbox, uids, op, flags, unchanged_since)
    }
    fn copy(
        &self,
        account: AccountId,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<CopyOutcome> {
        Store::copy(self, account, from, uids, to)
    }
    fn move_messages(
        &self,
        account: AccountId,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<CopyOutcome> {
        Store::move_messages(self, account, from, uids, to)
    }
    fn expunge(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        only: Option<&[Uid]>,
    ) -> Result<Vec<Uid>> {
        Store::expunge(self, account, mailbox, only)
    }
    fn append_all(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        messages: &[NewMessage<'_>],
    ) -> Result<Vec<Appended>> {
        Store::append_all(self, account, mailbox, messages)
    }
    fn remove(&self, account: AccountId, mailbox: MailboxId, uids: &[Uid]) -> Result<Vec<Uid>> {
        Store::remove(self, account, mailbox, uids)
    }
    fn object_id(&self, account: AccountId, domain: &[u8], data: &[u8]) -> Result<[u8; 32]> {
        Store::object_id(self, account, domain, data)
    }
    fn set_acl(
        &self,
        owner: AccountId,
        mailbox: MailboxId,
        grantee: AccountId,
        rights: AclRights,
    ) -> Result<()> {
        Store::set_acl(self, owner, mailbox, grantee, rights)
    }
    fn acl_rights(
        &self,
        owner: AccountId,
        mailbox: MailboxId,
        grantee: AccountId,
    ) -> Result<AclRights> {
        Store::acl_rights(self, owner, mailbox, grantee)
    }
    fn acl(&self, owner: AccountId, mailbox: MailboxId) -> Result<Vec<Grant>> {
        Store::acl(self, owner, mailbox)
    }
    fn acl_received(&self, grantee: AccountId) -> Result<Vec<Grant>> {
        Store::acl_received(self, grantee)
    }
    fn account_address(&self, id: AccountId) -> Result<Option<String>> {
        Store::account_address(self, id)
    }
    fn metadata(
        &self,
        account: AccountId,
        mailbox: Option<&MailboxName>,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        Store::metadata(self, account, metadata_scope(self, account, mailbox)?)
    }
    fn set_metadata(
        &self,
        account: AccountId,
        mailbox: Option<&MailboxName>,
        changes: &[(String, Option<Vec<u8>>)],
        max: usize,
    ) -> Result<MetadataOutcome> {
        let scope = metadata_scope(self, account, mailbox)?;
        Store::set_metadata(self, account, scope, changes, max)
    }
}
