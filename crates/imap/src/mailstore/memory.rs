//! [`MemStore`]: the mail store as an in-memory model, for the transcript
//! tests that run every script against it and against the real store.
//!
//! It follows `sealpost_store::Store` rule for rule where a client can see
//! the difference: accounts are created with INBOX and the five
//! special-use mailboxes (those and INBOX subscribed); ids, UIDVALIDITY
//! (from the clock, strictly increasing) and UIDs are allocated the same
//! way; every change takes the next MODSEQ of its mailbox (one for a whole
//! COPY or EXPUNGE); quotas are reserved before a write and checked the
//! same way; expunges are remembered for QRESYNC; events are published on
//! a broadcast channel per mailbox after each change. What it leaves out
//! is what a client cannot see: encryption, durability, sled.
//!
//! One mutex guards the whole model: it is a test double, not a server.
//!
//! By family: accounts, mailboxes and the index here; message operations
//! (APPEND, STORE, COPY/MOVE, EXPUNGE, changes, metadata) in
//! `memory_messages.rs`; the extensions' (MULTIAPPEND, REPLACE, OBJECTID)
//! in `memory_ext.rs`; METADATA's entries in `memory_metadata.rs`.

use super::MailStore;
use ext::announce;

#[path = "memory_acl.rs"]
mod acl;
#[path = "memory_ext.rs"]
mod ext;
#[path = "memory_messages.rs"]
mod messages;
#[path = "memory_metadata.rs"]
mod metadata;
use parking_lot::Mutex;
use sealpost_store::{
    ACCOUNT_EVENTS, AccountChange, AccountEvent, AccountId, AclRights, Appended, Changes,
    CopyOutcome, FlagOp, Flags, FlagsOutcome, Grant, MailboxEvent, MailboxId, MailboxInfo,
    MailboxName, MailboxStatus, MessageEntry, MessageMeta, MetadataOutcome, ModSeq, NewMessage,
    QuotaUsage, Result, Snapshot, SpecialUse, StoreError, Uid, UidValidity,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Largest message accepted, as in the real store.
const MAX_MESSAGE_SIZE: usize = 1 << 30;
/// Events a watcher may fall behind by before it must re-read the index.
const EVENT_CAPACITY: usize = 1024;

/// The in-memory mail store. Cheap to clone (shared state).
#[derive(Clone, Default)]
pub struct MemStore {
    inner: Arc<Mutex<Model>>,
}

#[derive(Default)]
struct Model {
    /// Store-wide counters, as the real store's `next_counter`.
    account_counter: u64,
    mailbox_counter: u64,
    uidvalidity_counter: u64,
    /// Active accounts by normalized address.
    by_address: BTreeMap<String, AccountId>,
    accounts: HashMap<AccountId, Account>,
    /// (owner, mailbox, grantee) -> rights (`memory_acl.rs`).
    acl: BTreeMap<(AccountId, MailboxId, AccountId), u32>,
}

struct Account {
    quota: Option<u64>,
    mailboxes: HashMap<MailboxId, Mailbox>,
    subscriptions: BTreeSet<MailboxName>,
    /// METADATA entries by scope (`None`: the account).
    metadata: HashMap<Option<MailboxId>, Entries>,
    /// The account's change stream, as `Store::watch_account`.
    events: broadcast::Sender<AccountEvent>,
}

/// METADATA entries of one scope by lower-cased name: name and value.
type Entries = BTreeMap<String, (String, Vec<u8>)>;

struct Mailbox {
    info: MailboxInfo,
    uid_next: u32,
    highest_modseq: u64,
    /// The index, ascending by UID.
    entries: Vec<MessageEntry>,
    bodies: HashMap<Uid, Body>,
    /// Expunged UIDs with the modseq of their expunge (QRESYNC).
    vanished: Vec<(ModSeq, Uid)>,
    recent_cutoff: u32,
    events: broadcast::Sender<MailboxEvent>,
    account_events: broadcast::Sender<AccountEvent>,
}

#[derive(Clone)]
struct Body {
    raw: Arc<Vec<u8>>,
    summary: Arc<Vec<u8>>,
    internal_date: i64,
    save_date: i64,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

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

impl Mailbox {
    fn position(&self, uid: Uid) -> Option<usize> {
        self.entries.binary_search_by_key(&uid, |e| e.uid).ok()
    }

    fn next_modseq(&mut self) -> ModSeq {
        self.highest_modseq += 1;
        ModSeq(self.highest_modseq)
    }

    fn publish(&self, e: MailboxEvent) {
        if let Some(change) = AccountChange::of(&e) {
            self.relay(change);
        }
        self.send(e);
    }

    /// Tells the account's stream of a write (once per kind of change, as
    /// the real store).
    fn relay(&self, change: AccountChange) {
        announce(
            &self.account_events,
            Some(self.info.id),
            &self.info.name,
            change,
        );
    }

    /// Sends an event to the mailbox's watchers only (after `relay`).
    fn send(&self, e: MailboxEvent) {
        let _ = self.events.send(e);
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            mailbox: self.info.clone(),
            uid_next: Uid(self.uid_next),
            highest_modseq: ModSeq(self.highest_modseq),
            entries: self.entries.clone(),
        }
    }

    /// Removes `victims` (all present) under one modseq, as the real
    /// store's `remove_where`; returns the octets freed.
    fn remove(&mut self, victims: &[Uid]) -> u64 {
        let modseq = self.next_modseq();
        let mut bytes = 0u64;
        for &uid in victims {
            if let Some(pos) = self.position(uid) {
                bytes += u64::from(self.entries[pos].size);
                self.entries.remove(pos);
            }
            self.bodies.remove(&uid);
            self.vanished.push((modseq, uid));
        }
        self.publish(MailboxEvent::Expunged {
            uids: victims.to_vec(),
            modseq,
        });
        bytes
    }
}

impl Account {
    fn usage(&self) -> (u64, u64) {
        let mut bytes = 0u64;
        let mut messages = 0u64;
        for m in self.mailboxes.values() {
            for e in &m.entries {
                bytes += u64::from(e.size);
                messages += 1;
            }
        }
        (bytes, messages)
    }

    /// The quota check of the real store's `reserve`.
    fn reserve(&self, size: u64) -> Result<()> {
        if let Some(limit) = self.quota
            && self.usage().0 + size > limit
        {
            return Err(StoreError::OverQuota);
        }
        Ok(())
    }

    fn by_name(&self, name: &MailboxName) -> Option<&Mailbox> {
        self.mailboxes.values().find(|m| m.info.name == *name)
    }

    fn mailbox_mut(&mut self, id: MailboxId) -> Result<&mut Mailbox> {
        self.mailboxes.get_mut(&id).ok_or(StoreError::NoMailbox)
    }
}

impl Model {
    fn account(&self, id: AccountId) -> Result<&Account> {
        self.accounts.get(&id).ok_or(StoreError::NoAccount)
    }

    fn account_mut(&mut self, id: AccountId) -> Result<&mut Account> {
        self.accounts.get_mut(&id).ok_or(StoreError::NoAccount)
    }

    fn mailbox(&self, account: AccountId, id: MailboxId) -> Result<&Mailbox> {
        self.account(account)?
            .mailboxes
            .get(&id)
            .ok_or(StoreError::NoMailbox)
    }

    fn create_mailbox(
        &mut self,
        account: AccountId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<MailboxInfo> {
        if self.account(account)?.by_name(name).is_some() {
            return Err(StoreError::MailboxExists);
        }
        self.mailbox_counter += 1;
        let id = MailboxId(self.mailbox_counter);
        let floor = now().max(1) as u64 & 0xffff_ffff;
        self.uidvalidity_counter = (self.uidvalidity_counter + 1).max(floor);
        let uid_validity = UidValidity((self.uidvalidity_counter & 0xffff_ffff).max(1) as u32);
        let info = MailboxInfo {
            id,
            name: name.clone(),
            special_use,
            uid_validity,
        };
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let account_events = self.account(account)?.events.clone();
        announce(&account_events, Some(id), name, AccountChange::Created);
        self.account_mut(account)?.mailboxes.insert(
            id,
            Mailbox {
                info: info.clone(),
                uid_next: 1,
                highest_modseq: 1,
                entries: Vec::new(),
                bodies: HashMap::new(),
                vanished: Vec::new(),
                recent_cutoff: 0,
                events,
                account_events,
            },
        );
        Ok(info)
    }

    fn create_account(&mut self, address: &str) -> Result<AccountId> {
        if self.by_address.contains_key(address) {
            return Err(StoreError::AccountExists);
        }
        self.account_counter += 1;
        let id = AccountId(self.account_counter);
        self.accounts.insert(
            id,
            Account {
                quota: None,
                mailboxes: HashMap::new(),
                subscriptions: BTreeSet::new(),
                metadata: HashMap::new(),
                events: broadcast::channel(ACCOUNT_EVENTS).0,
            },
        );
        self.create_mailbox(id, &MailboxName::inbox(), None)?;
        for su in SpecialUse::ALL {
            let name = MailboxName::new(su.default_name())?;
            self.create_mailbox(id, &name, Some(su))?;
            self.account_mut(id)?.subscriptions.insert(name);
        }
        self.account_mut(id)?
            .subscriptions
            .insert(MailboxName::inbox());
        self.by_address.insert(address.to_string(), id);
        Ok(id)
    }
}

impl MemStore {
    /// An empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }
}

impl MailStore for MemStore {
    fn account_id(&self, address: &str) -> Result<Option<AccountId>> {
        let Ok(address) = normalize(address) else {
            return Ok(None);
        };
        Ok(self.inner.lock().by_address.get(&address).copied())
    }

    fn ensure_account(&self, address: &str) -> Result<AccountId> {
        let address = normalize(address)?;
        let mut m = self.inner.lock();
        if let Some(id) = m.by_address.get(&address) {
            return Ok(*id);
        }
        m.create_account(&address)
    }

    fn quota(&self, account: AccountId) -> Result<QuotaUsage> {
        let m = self.inner.lock();
        let a = m.account(account)?;
        let (bytes, messages) = a.usage();
        Ok(QuotaUsage {
            bytes,
            messages,
            limit: a.quota,
        })
    }

    fn set_quota(&self, account: AccountId, limit: Option<u64>) {
        if let Ok(a) = self.inner.lock().account_mut(account) {
            a.quota = limit;
        }
    }

    fn mailboxes(&self, account: AccountId) -> Result<Vec<MailboxInfo>> {
        let m = self.inner.lock();
        let mut out: Vec<MailboxInfo> = m
            .account(account)?
            .mailboxes
            .values()
            .map(|b| b.info.clone())
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn mailbox(&self, account: AccountId, name: &MailboxName) -> Result<Option<MailboxInfo>> {
        let m = self.inner.lock();
        Ok(m.account(account)?.by_name(name).map(|b| b.info.clone()))
    }

    fn create_mailbox(
        &self,
        account: AccountId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<MailboxInfo> {
        self.inner.lock().create_mailbox(account, name, special_use)
    }

    fn delete_mailbox(&self, account: AccountId, name: &MailboxName) -> Result<()> {
        if name.is_inbox() {
            return Err(StoreError::NotAllowed("INBOX cannot be deleted"));
        }
        let mut m = self.inner.lock();
        let a = m.account_mut(account)?;
        let id = a.by_name(name).ok_or(StoreError::NoMailbox)?.info.id;
        if let Some(gone) = a.mailboxes.remove(&id) {
            gone.publish(MailboxEvent::Gone);
            announce(&a.events, Some(id), name, AccountChange::Deleted);
        }
        a.metadata.remove(&Some(id));
        m.acl.retain(|k, _| k.1 != id);
        Ok(())
    }

    fn rename_mailbox(
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
        let mut m = self.inner.lock();
        let a = m.account(account)?;
        if a.by_name(to).is_some() {
            return Err(StoreError::MailboxExists);
        }
        let source = a.by_name(from).ok_or(StoreError::NoMailbox)?.info.id;
        if from.is_inbox() {
            let target = m.create_mailbox(account, to, None)?.id;
            let uids: Vec<Uid> = m
                .mailbox(account, source)?
                .entries
                .iter()
                .map(|e| e.uid)
                .collect();
            if !uids.is_empty() {
                m.copy(account, source, &uids, target)?;
                m.remove_where(account, source, Some(&uids), false)?;
            }
            return Ok(());
        }
        let a = m.account_mut(account)?;
        let mut renames = Vec::new();
        for mb in a.mailboxes.values() {
            let name = &mb.info.name;
            if name == from || name.is_descendant_of(from) {
                let new_name = MailboxName::new(&format!(
                    "{}{}",
                    to.as_str(),
                    &name.as_str()[from.as_str().len()..]
                ))?;
                if a.by_name(&new_name).is_some() {
                    return Err(StoreError::MailboxExists);
                }
                renames.push((mb.info.id, new_name));
            }
        }
        for (id, new_name) in renames {
            let from = std::mem::replace(&mut a.mailbox_mut(id)?.info.name, new_name.clone());
            announce(
                &a.events,
                Some(id),
                &new_name,
                AccountChange::Renamed { from },
            );
            let mb = a.mailbox_mut(id)?;
            // Sessions that had the old name selected must leave it.
            mb.publish(MailboxEvent::Gone);
        }
        Ok(())
    }

    fn watch_account(&self, account: AccountId) -> Result<broadcast::Receiver<AccountEvent>> {
        Ok(self.inner.lock().account(account)?.events.subscribe())
    }

    fn set_subscribed(&self, account: AccountId, name: &MailboxName, on: bool) -> Result<()> {
        let mut m = self.inner.lock();
        let subs = &mut m.account_mut(account)?.subscriptions;
        if on {
            subs.insert(name.clone());
        } else {
            subs.remove(name);
        }
        let a = m.account(account)?;
        announce(&a.events, None, name, AccountChange::Subscribed(on));
        Ok(())
    }

    fn subscriptions(&self, account: AccountId) -> Result<Vec<MailboxName>> {
        let m = self.inner.lock();
        Ok(m.account(account)?.subscriptions.iter().cloned().collect())
    }

    fn status(&self, account: AccountId, mailbox: MailboxId) -> Result<MailboxStatus> {
        let m = self.inner.lock();
        let mb = m.mailbox(account, mailbox)?;
        let mut st = MailboxStatus {
            messages: mb.entries.len() as u32,
            unseen: 0,
            deleted: 0,
            uid_next: Uid(mb.uid_next),
            uid_validity: mb.info.uid_validity,
            highest_modseq: ModSeq(mb.highest_modseq),
            size: 0,
            recent: 0,
        };
        for e in &mb.entries {
            if !e.flags.has(Flags::SEEN) {
                st.unseen += 1;
            }
            if e.flags.has(Flags::DELETED) {
                st.deleted += 1;
            }
            st.size += u64::from(e.size);
            if e.uid.0 > mb.recent_cutoff {
                st.recent += 1;
            }
        }
        Ok(st)
    }

    fn snapshot(&self, account: AccountId, mailbox: MailboxId) -> Result<Snapshot> {
        Ok(self.inner.lock().mailbox(account, mailbox)?.snapshot())
    }

    fn snapshot_and_watch(
        &self,
        account: AccountId,
        mailbox: MailboxId,
    ) -> Result<(Snapshot, broadcast::Receiver<MailboxEvent>)> {
        let m = self.inner.lock();
        let mb = m.mailbox(account, mailbox)?;
        Ok((mb.snapshot(), mb.events.subscribe()))
    }

    fn recent_through(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        through: Uid,
        claim: bool,
    ) -> Result<Vec<Uid>> {
        let mut m = self.inner.lock();
        let mb = m.account_mut(account)?.mailbox_mut(mailbox)?;
        let cutoff = mb.recent_cutoff;
        let recent = mb
            .entries
            .iter()
            .filter(|e| e.uid.0 > cutoff && e.uid <= through)
            .map(|e| e.uid)
            .collect();
        if claim {
            mb.recent_cutoff = mb.recent_cutoff.max(through.0);
        }
        Ok(recent)
    }

    fn changes_since(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        since: ModSeq,
    ) -> Result<Changes> {
        messages::changes_since(self, account, mailbox, since)
    }

    fn append(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        raw: &[u8],
        flags: &Flags,
        internal_date: Option<i64>,
    ) -> Result<Appended> {
        messages::append(self, account, mailbox, raw, flags, internal_date)
    }

    fn meta(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uid: Uid,
    ) -> Result<Option<MessageMeta>> {
        messages::meta(self, account, mailbox, uid)
    }

    fn read(&self, account: AccountId, mailbox: MailboxId, uid: Uid) -> Result<Option<Vec<u8>>> {
        let m = self.inner.lock();
        let mb = m.mailbox(account, mailbox)?;
        Ok(mb.bodies.get(&uid).map(|b| b.raw.to_vec()))
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
        messages::store_flags(self, account, mailbox, uids, op, flags, unchanged_since)
    }

    fn copy(
        &self,
        account: AccountId,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<CopyOutcome> {
        self.inner.lock().copy(account, from, uids, to)
    }

    fn move_messages(
        &self,
        account: AccountId,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<CopyOutcome> {
        let mut m = self.inner.lock();
        let outcome = m.copy(account, from, uids, to)?;
        let moved: Vec<Uid> = outcome.pairs.iter().map(|(s, _)| *s).collect();
        m.remove_where(account, from, Some(&moved), false)?;
        Ok(outcome)
    }

    fn expunge(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        only: Option<&[Uid]>,
    ) -> Result<Vec<Uid>> {
        self.inner.lock().remove_where(account, mailbox, only, true)
    }

    fn append_all(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        messages: &[NewMessage<'_>],
    ) -> Result<Vec<Appended>> {
        ext::append_all(self, account, mailbox, messages)
    }

    fn remove(&self, account: AccountId, mailbox: MailboxId, uids: &[Uid]) -> Result<Vec<Uid>> {
        ext::remove(self, account, mailbox, uids)
    }

    fn object_id(&self, account: AccountId, domain: &[u8], data: &[u8]) -> Result<[u8; 32]> {
        ext::object_id(self, account, domain, data)
    }

    fn set_acl(
        &self,
        owner: AccountId,
        mailbox: MailboxId,
        grantee: AccountId,
        rights: AclRights,
    ) -> Result<()> {
        acl::set_acl(self, owner, mailbox, grantee, rights)
    }

    fn acl_rights(
        &self,
        owner: AccountId,
        mailbox: MailboxId,
        grantee: AccountId,
    ) -> Result<AclRights> {
        acl::acl_rights(self, owner, mailbox, grantee)
    }

    fn acl(&self, owner: AccountId, mailbox: MailboxId) -> Result<Vec<Grant>> {
        acl::acl(self, owner, mailbox)
    }

    fn acl_received(&self, grantee: AccountId) -> Result<Vec<Grant>> {
        acl::acl_received(self, grantee)
    }

    fn account_address(&self, id: AccountId) -> Result<Option<String>> {
        acl::account_address(self, id)
    }

    fn metadata(
        &self,
        account: AccountId,
        mailbox: Option<&MailboxName>,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        metadata::metadata(self, account, mailbox)
    }

    fn set_metadata(
        &self,
        account: AccountId,
        mailbox: Option<&MailboxName>,
        changes: &[(String, Option<Vec<u8>>)],
        max: usize,
    ) -> Result<MetadataOutcome> {
        metadata::set_metadata(self, account, mailbox, changes, max)
    }
}

#[cfg(test)]
#[path = "memory_tests.rs"]
mod tests;
