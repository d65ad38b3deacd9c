//! METADATA entries of an account (RFC 5464): annotations on the server
//! (account-wide) or on one of its mailboxes, such as `/private/comment`.
//! The IMAP crate speaks the protocol; this file only keeps them.
//!
//! Storage, the same on every backend (one more table behind the seam,
//! `codec::table::METADATA`): the key is `METADATA | account | scope |
//! keyed hash of the lower-cased entry name`, where the scope is the
//! mailbox id or `u64::MAX` for the server; the value is the entry's name
//! and value sealed together under the account's data key, the account
//! and scope in the associated data. So PostgreSQL (or sled) sees neither
//! names nor values, and a row cannot be moved to another account or
//! mailbox unnoticed. Entries go with their mailbox (`delete_mailbox`)
//! and with the account (the purge), and `store copy` carries them.

use crate::codec::{self, table};
use crate::engine::name_aad;
use crate::{AccountId, MailboxId, Result, Store, StoreError};

/// Where an entry is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataScope {
    /// The account as a whole (the IMAP "server" entries, mailbox `""`).
    Server,
    /// One mailbox (its entries survive a RENAME: the id stays).
    Mailbox(MailboxId),
}

impl MetadataScope {
    fn id(self) -> MailboxId {
        match self {
            MetadataScope::Server => MailboxId(u64::MAX),
            MetadataScope::Mailbox(m) => m,
        }
    }
}

/// What [`Store::set_metadata`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataOutcome {
    /// Every change was stored.
    Stored,
    /// Nothing was stored: the scope would hold more than the limit.
    TooMany,
}

fn aad(account: AccountId, scope: MetadataScope) -> Vec<u8> {
    let mut v = name_aad(account);
    v.extend_from_slice(b":metadata:");
    v.extend_from_slice(&scope.id().0.to_be_bytes());
    v
}

fn seal_entry(name: &str, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(2 + name.len() + value.len());
    v.extend_from_slice(&(name.len() as u16).to_be_bytes());
    v.extend_from_slice(name.as_bytes());
    v.extend_from_slice(value);
    v
}

fn open_entry(plain: &[u8]) -> Result<(String, Vec<u8>)> {
    let corrupt = || StoreError::Corrupt("metadata entry".into());
    let len = u16::from_be_bytes(
        plain
            .get(..2)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?,
    );
    let end = 2 + len as usize;
    let name = plain.get(2..end).ok_or_else(corrupt)?;
    let name = String::from_utf8(name.to_vec()).map_err(|_| corrupt())?;
    Ok((name, plain[end..].to_vec()))
}

impl Store {
    fn metadata_key(
        &self,
        account: AccountId,
        scope: MetadataScope,
        name: &str,
    ) -> Result<Vec<u8>> {
        let ctx = self.ctx(account)?;
        let mut k = codec::mailbox_key(table::METADATA, account, scope.id());
        let lower = name.to_ascii_lowercase();
        k.extend_from_slice(&ctx.key.keyed_hash(b"metadata", lower.as_bytes()));
        Ok(k)
    }

    /// Every entry of one scope, sorted by name (lower-cased).
    pub fn metadata(
        &self,
        account: AccountId,
        scope: MetadataScope,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        let ctx = self.ctx(account)?;
        let aad = aad(account, scope);
        let prefix = codec::mailbox_key(table::METADATA, account, scope.id());
        let mut out = Vec::new();
        for (_, v) in self.scan_prefix(prefix)? {
            out.push(open_entry(&ctx.key.open(&aad, &v)?)?);
        }
        out.sort_by_key(|(n, _)| n.to_ascii_lowercase());
        Ok(out)
    }

    /// Sets (`Some`) and removes (`None`) entries of one scope, all in one
    /// transaction (RFC 5464 4.3: all or none); nothing is stored when the
    /// scope would then hold more than `max_entries`.
    pub fn set_metadata(
        &self,
        account: AccountId,
        scope: MetadataScope,
        changes: &[(String, Option<Vec<u8>>)],
        max_entries: usize,
    ) -> Result<MetadataOutcome> {
        let ctx = self.ctx(account)?;
        let aad = aad(account, scope);
        let mut tx = self.tx()?;
        let prefix = codec::mailbox_key(table::METADATA, account, scope.id());
        let mut keys: std::collections::BTreeSet<Vec<u8>> = tx
            .scan_prefix(prefix)?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        for (name, value) in changes {
            let k = self.metadata_key(account, scope, name)?;
            match value {
                Some(v) => {
                    tx.put(k.clone(), ctx.key.seal(&aad, &seal_entry(name, v)));
                    keys.insert(k);
                }
                None => {
                    tx.delete(k.clone());
                    keys.remove(&k);
                }
            }
        }
        if keys.len() > max_entries {
            return Ok(MetadataOutcome::TooMany);
        }
        tx.commit()?;
        if ctx.events.receiver_count() > 0 {
            let names = changes.iter().map(|(n, _)| n.clone()).collect();
            match scope {
                MetadataScope::Server => {
                    let inbox = crate::MailboxName::inbox();
                    ctx.announce(None, &inbox, crate::AccountChange::ServerMetadata(names));
                }
                MetadataScope::Mailbox(id) => {
                    let name = self.state(account, id)?.lock().info.name.clone();
                    ctx.announce(
                        Some(id),
                        &name,
                        crate::AccountChange::MailboxMetadata(names),
                    );
                }
            }
        }
        Ok(MetadataOutcome::Stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_opens_to_its_name_and_value() {
        let sealed = seal_entry("/private/comment", b"hello");
        assert_eq!(
            open_entry(&sealed).unwrap(),
            ("/private/comment".to_string(), b"hello".to_vec())
        );
        assert!(open_entry(&[0, 9, b'x']).is_err());
        assert!(open_entry(&[0]).is_err());
    }
}
