//! Access control lists of mailboxes (the storage half of IMAP ACL, RFC
//! 4314): which other accounts may use a mailbox of an owner, and how.
//!
//! A grant is two rows written in one transaction through the backend seam
//! (so it is durable and shared by every node alike, embedded or
//! PostgreSQL):
//!
//! ```text
//! ACL       | owner | mailbox | grantee  ->  version, rights (u32 bits)
//! ACL_SHARED| grantee | owner | mailbox  ->  version
//! ```
//!
//! The first answers "who may use this mailbox", the second "what is shared
//! with me" (a grantee's LIST) without scanning other accounts. Both hold
//! only ids and bits, nothing personal. What the bits mean is the
//! protocol's business ([`AclRights`] is opaque here); zero rights are no
//! grant, and setting them removes both rows. Mailbox ids are never
//! reused, so a grant follows its mailbox through a rename and dies with
//! it: deleting a mailbox drops its grants in the same transaction
//! ([`Store::drop_mailbox_acl_in`]), purging an account drops every grant
//! it gave or received ([`Store::purge_acl_in`]).

use crate::backend::Notice;
use crate::codec::{self, Reader, Writer, table};
use crate::tx::Tx;
use crate::{AccountChange, AccountId, MailboxId, MailboxName, Result, Store, StoreError};

/// Rights bits of one grant. What they allow is the protocol's business;
/// which letter each bit stands for is fixed here, as part of the stored
/// format: bit `i` is the RFC 4314 right [`ACL_LETTERS`]`[i]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AclRights(pub u32);

/// The RFC 4314 rights letters by bit (format version 1 of the rows).
pub const ACL_LETTERS: &[u8; 11] = b"lrswipkxtea";

impl AclRights {
    /// The letters of the bits set, in bit order (for exports and logs).
    pub fn letters(self) -> String {
        ACL_LETTERS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, &l)| l as char)
            .collect()
    }
}

/// One grant: `grantee` may use the owner's `mailbox` with `rights`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The mailbox's account.
    pub owner: AccountId,
    /// The mailbox.
    pub mailbox: MailboxId,
    /// Who was granted.
    pub grantee: AccountId,
    /// What.
    pub rights: AclRights,
}

const ROW_VERSION: u8 = 1;

fn acl_key(owner: AccountId, mailbox: MailboxId, grantee: AccountId) -> Vec<u8> {
    let mut k = codec::mailbox_key(table::ACL, owner, mailbox);
    k.extend_from_slice(&grantee.0.to_be_bytes());
    k
}

fn shared_key(grantee: AccountId, owner: AccountId, mailbox: MailboxId) -> Vec<u8> {
    let mut k = codec::account_prefix(table::ACL_SHARED, grantee);
    k.extend_from_slice(&owner.0.to_be_bytes());
    k.extend_from_slice(&mailbox.0.to_be_bytes());
    k
}

/// The three ids after the table tag of an `ACL` or `ACL_SHARED` key.
fn ids(key: &[u8]) -> Result<[u64; 3]> {
    let bad = || StoreError::Corrupt("acl key".into());
    if key.len() != 25 {
        return Err(bad());
    }
    let at = |i: usize| -> Result<u64> {
        Ok(u64::from_be_bytes(
            key[1 + 8 * i..9 + 8 * i].try_into().map_err(|_| bad())?,
        ))
    };
    Ok([at(0)?, at(1)?, at(2)?])
}

fn decode_rights(row: &[u8]) -> Result<AclRights> {
    Ok(AclRights(Reader::new(row, ROW_VERSION)?.u32()?))
}

impl Store {
    /// Grants `grantee` exactly `rights` on the owner's `mailbox`
    /// (replacing what it had); zero rights remove the grant.
    /// [`StoreError::NoMailbox`] if the owner has no such mailbox.
    pub fn set_acl(
        &self,
        owner: AccountId,
        mailbox: MailboxId,
        grantee: AccountId,
        rights: AclRights,
    ) -> Result<()> {
        let mut tx = self.tx()?;
        if tx
            .get(codec::mailbox_key(table::MAILBOX, owner, mailbox))?
            .is_none()
        {
            return Err(StoreError::NoMailbox);
        }
        if rights.0 == 0 {
            tx.delete(acl_key(owner, mailbox, grantee));
            tx.delete(shared_key(grantee, owner, mailbox));
        } else {
            let row = Writer::new(ROW_VERSION).u32(rights.0).finish();
            tx.put(acl_key(owner, mailbox, grantee), row);
            tx.put(shared_key(grantee, owner, mailbox), vec![ROW_VERSION]);
        }
        tx.commit()?;
        self.tell_grantee(owner, mailbox, grantee, rights);
        Ok(())
    }

    /// Tells the grantee's watchers here ([`AccountChange::Access`]) and
    /// other nodes (a notice about the grantee: `Elsewhere` there) that a
    /// grant changed. Nothing is opened for it: an account not open here
    /// has no watcher.
    fn tell_grantee(
        &self,
        owner: AccountId,
        mailbox: MailboxId,
        grantee: AccountId,
        rights: AclRights,
    ) {
        self.announce_notice(Notice::Account(grantee));
        let ctx = self.inner.accounts.lock().get(&grantee).cloned();
        if let Some(ctx) = ctx {
            // Bits 0 and 1: `l` and `r` (ACL_LETTERS).
            let readable = rights.0 & 0b11 == 0b11;
            ctx.announce(
                Some(mailbox),
                &MailboxName::inbox(),
                AccountChange::Access { owner, readable },
            );
        }
    }

    /// What `grantee` was granted on the owner's `mailbox` (zero: nothing).
    pub fn acl_rights(
        &self,
        owner: AccountId,
        mailbox: MailboxId,
        grantee: AccountId,
    ) -> Result<AclRights> {
        match self.get(acl_key(owner, mailbox, grantee))? {
            Some(row) => decode_rights(&row),
            None => Ok(AclRights::default()),
        }
    }

    /// Every grant on the owner's `mailbox`, by grantee id.
    pub fn acl(&self, owner: AccountId, mailbox: MailboxId) -> Result<Vec<Grant>> {
        let mut out = Vec::new();
        for (k, v) in self.scan_prefix(codec::mailbox_key(table::ACL, owner, mailbox))? {
            let [_, _, grantee] = ids(&k)?;
            out.push(Grant {
                owner,
                mailbox,
                grantee: AccountId(grantee),
                rights: decode_rights(&v)?,
            });
        }
        Ok(out)
    }

    /// Every grant the owner gave, on any of its mailboxes (the data
    /// export's list of who may read what).
    pub fn acl_given(&self, owner: AccountId) -> Result<Vec<Grant>> {
        let mut out = Vec::new();
        for (k, v) in self.scan_prefix(codec::account_prefix(table::ACL, owner))? {
            let [_, mailbox, grantee] = ids(&k)?;
            out.push(Grant {
                owner,
                mailbox: MailboxId(mailbox),
                grantee: AccountId(grantee),
                rights: decode_rights(&v)?,
            });
        }
        Ok(out)
    }

    /// Every grant made to `grantee`, by owner and mailbox id.
    pub fn acl_received(&self, grantee: AccountId) -> Result<Vec<Grant>> {
        let mut out = Vec::new();
        for (k, _) in self.scan_prefix(codec::account_prefix(table::ACL_SHARED, grantee))? {
            let [_, owner, mailbox] = ids(&k)?;
            let (owner, mailbox) = (AccountId(owner), MailboxId(mailbox));
            let rights = self.acl_rights(owner, mailbox, grantee)?;
            if rights.0 != 0 {
                out.push(Grant {
                    owner,
                    mailbox,
                    grantee,
                    rights,
                });
            }
        }
        Ok(out)
    }

    /// The address of an active account by id (`None`: no such active
    /// account), for naming owners and grantees.
    pub fn account_address(&self, id: AccountId) -> Result<Option<String>> {
        Ok(self
            .account_row_by_id(id)?
            .filter(|(_, row)| row.deleted_at.is_none())
            .and_then(|(_, row)| self.open_address(&row, None)))
    }

    /// Adds the removal of every grant on a mailbox to `tx`.
    pub(crate) fn drop_mailbox_acl_in(
        &self,
        tx: &mut Tx<'_>,
        owner: AccountId,
        mailbox: MailboxId,
    ) -> Result<()> {
        let prefix = codec::mailbox_key(table::ACL, owner, mailbox);
        for (k, _) in tx.scan_prefix(prefix.clone())? {
            let [_, _, grantee] = ids(&k)?;
            tx.delete(shared_key(AccountId(grantee), owner, mailbox));
        }
        let end = crate::backend::prefix_end(&prefix);
        tx.delete_range(prefix, end);
        Ok(())
    }

    /// Adds the removal of every grant `id` gave or received to `tx` (a
    /// purge: no trace of the account stays in other accounts' lists).
    pub(crate) fn purge_acl_in(&self, tx: &mut Tx<'_>, id: AccountId) -> Result<()> {
        for (k, _) in tx.scan_prefix(codec::account_prefix(table::ACL, id))? {
            let [_, mailbox, grantee] = ids(&k)?;
            tx.delete(shared_key(AccountId(grantee), id, MailboxId(mailbox)));
        }
        for (k, _) in tx.scan_prefix(codec::account_prefix(table::ACL_SHARED, id))? {
            let [_, owner, mailbox] = ids(&k)?;
            tx.delete(acl_key(AccountId(owner), MailboxId(mailbox), id));
        }
        for tag in [table::ACL, table::ACL_SHARED] {
            let prefix = codec::account_prefix(tag, id);
            let end = crate::backend::prefix_end(&prefix);
            tx.delete_range(prefix, end);
        }
        Ok(())
    }
}
