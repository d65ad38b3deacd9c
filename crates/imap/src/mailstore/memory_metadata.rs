//! The model's METADATA entries (RFC 5464), as `Store::metadata` and
//! `Store::set_metadata`: per scope (the account, or a mailbox by id), by
//! lower-cased name, all or none under the entry limit; a change is told
//! to the account's stream (NOTIFY) as the real store does.

use super::MemStore;
use super::ext::announce;
use sealpost_store::{AccountChange, AccountId, MailboxName, MetadataOutcome, Result, StoreError};

/// The entries of the account (`None`) or of a mailbox.
pub(super) fn metadata(
    store: &MemStore,
    account: AccountId,
    mailbox: Option<&MailboxName>,
) -> Result<Vec<(String, Vec<u8>)>> {
    let m = store.inner.lock();
    let a = m.account(account)?;
    let scope = match mailbox {
        Some(name) => Some(a.by_name(name).ok_or(StoreError::NoMailbox)?.info.id),
        None => None,
    };
    Ok(a.metadata
        .get(&scope)
        .map(|e| e.values().cloned().collect())
        .unwrap_or_default())
}

/// Sets and removes entries, all or none (`TooMany`: none).
pub(super) fn set_metadata(
    store: &MemStore,
    account: AccountId,
    mailbox: Option<&MailboxName>,
    changes: &[(String, Option<Vec<u8>>)],
    max: usize,
) -> Result<MetadataOutcome> {
    let mut m = store.inner.lock();
    let a = m.account_mut(account)?;
    let scope = match mailbox {
        Some(name) => Some(a.by_name(name).ok_or(StoreError::NoMailbox)?.info.id),
        None => None,
    };
    let mut entries = a.metadata.get(&scope).cloned().unwrap_or_default();
    for (name, value) in changes {
        let key = name.to_ascii_lowercase();
        match value {
            Some(v) => entries.insert(key, (name.clone(), v.clone())),
            None => entries.remove(&key),
        };
    }
    if entries.len() > max {
        return Ok(MetadataOutcome::TooMany);
    }
    a.metadata.insert(scope, entries);
    let names = changes.iter().map(|(n, _)| n.clone()).collect();
    let (name, change) = match mailbox {
        Some(name) => (name.clone(), AccountChange::MailboxMetadata(names)),
        None => (MailboxName::inbox(), AccountChange::ServerMetadata(names)),
    };
    announce(&a.events, scope, &name, change);
    Ok(MetadataOutcome::Stored)
}
