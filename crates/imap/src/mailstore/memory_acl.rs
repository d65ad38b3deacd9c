//! The model's side of mailbox grants (IMAP ACL, RFC 4314), as the real
//! store's `acl.rs`: one map from (owner, mailbox, grantee) to rights
//! bits; zero removes; a missing mailbox is `NoMailbox`; deleting a
//! mailbox drops its grants (in `delete_mailbox`).

use super::MemStore;
use sealpost_store::{AccountChange, AccountId, AclRights, Grant, MailboxId, MailboxName, Result};

pub(super) fn set_acl(
    store: &MemStore,
    owner: AccountId,
    mailbox: MailboxId,
    grantee: AccountId,
    rights: AclRights,
) -> Result<()> {
    let mut m = store.inner.lock();
    m.mailbox(owner, mailbox)?;
    if rights.0 == 0 {
        m.acl.remove(&(owner, mailbox, grantee));
    } else {
        m.acl.insert((owner, mailbox, grantee), rights.0);
    }
    // The grantee's watchers hear of it, as from the real store.
    if let Ok(a) = m.account(grantee) {
        let readable = rights.0 & 0b11 == 0b11;
        super::ext::announce(
            &a.events,
            Some(mailbox),
            &MailboxName::inbox(),
            AccountChange::Access { owner, readable },
        );
    }
    Ok(())
}

pub(super) fn acl_rights(
    store: &MemStore,
    owner: AccountId,
    mailbox: MailboxId,
    grantee: AccountId,
) -> Result<AclRights> {
    let m = store.inner.lock();
    Ok(AclRights(
        m.acl.get(&(owner, mailbox, grantee)).copied().unwrap_or(0),
    ))
}

pub(super) fn acl(store: &MemStore, owner: AccountId, mailbox: MailboxId) -> Result<Vec<Grant>> {
    let m = store.inner.lock();
    Ok(m.acl
        .iter()
        .filter(|(k, _)| k.0 == owner && k.1 == mailbox)
        .map(|(k, &rights)| grant(*k, rights))
        .collect())
}

pub(super) fn acl_received(store: &MemStore, grantee: AccountId) -> Result<Vec<Grant>> {
    let m = store.inner.lock();
    Ok(m.acl
        .iter()
        .filter(|(k, _)| k.2 == grantee)
        .map(|(k, &rights)| grant(*k, rights))
        .collect())
}

pub(super) fn account_address(store: &MemStore, id: AccountId) -> Result<Option<String>> {
    let m = store.inner.lock();
    Ok(m.by_address
        .iter()
        .find(|(_, a)| **a == id)
        .map(|(address, _)| address.clone()))
}

fn grant((owner, mailbox, grantee): (AccountId, MailboxId, AccountId), rights: u32) -> Grant {
    Grant {
        owner,
        mailbox,
        grantee,
        rights: AclRights(rights),
    }
}
