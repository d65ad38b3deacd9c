//! Byte encoding of metadata keys and rows (format version 1), the same for
//! every backend.
//!
//! All metadata is one ordered key space: the embedded backend keeps it in
//! one sled tree named `sealpost.v1`, PostgreSQL in one table of `bytea`
//! keys and rows (compared bytewise, so the order is the same). The first
//! byte of a key names its table, the rest is big-endian so that prefix
//! scans iterate in id/UID order; index keys that would otherwise hold a
//! name (mailboxes, subscriptions) hold a keyed hash instead, so a backend
//! only ever sees opaque bytes. Rows start with their own version byte. A
//! new format gets a new tree name (and schema version) and a migration,
//! never a silent reinterpretation.

use crate::{AccountId, Flags, MailboxId, ModSeq, Result, StoreError, Uid};

/// The sled tree holding all metadata in format version 1.
pub const TREE: &str = "sealpost.v1";

/// Table tags (first key byte).
pub mod table {
    /// Store-wide values: counters, key check, system key.
    pub const META: u8 = b'0';
    /// Before account index version 3: address (plaintext) -> account
    /// row. Read only by the migration at open (`account_index`).
    pub const ACCOUNT_V2: u8 = b'A';
    /// Before account index version 3: account id -> address (plaintext).
    /// Read only by the migration at open.
    pub const ACCOUNT_ID_V2: u8 = b'I';
    /// keyed MAC of the address -> account row (version 3: the address
    /// sealed under the account's data key inside).
    pub const ACCOUNT: u8 = b'H';
    /// account id -> keyed MAC of its address (the key of its `ACCOUNT` row).
    pub const ACCOUNT_ID: u8 = b'J';
    /// account, mailbox id -> mailbox row.
    pub const MAILBOX: u8 = b'M';
    /// account, keyed hash of name -> mailbox id.
    pub const MAILBOX_NAME: u8 = b'N';
    /// account, mailbox, uid -> message row.
    pub const MESSAGE: u8 = b'm';
    /// account, mailbox, uid -> sealed summary.
    pub const SUMMARY: u8 = b's';
    /// account, mailbox, modseq, uid -> () (expunged UIDs, for QRESYNC).
    pub const VANISHED: u8 = b'v';
    /// account, keyed hash of name -> sealed name.
    pub const SUBSCRIPTION: u8 = b'S';
    /// account, mailbox, modseq -> what one transaction changed (shared
    /// stores only: the change log other nodes catch up from, `cluster.rs`).
    pub const CHANGE: u8 = b'c';
    /// account -> (bytes, messages) (shared stores only: quota usage that
    /// every node sees).
    pub const USAGE: u8 = b'U';
    /// account id -> the sealed names a purge asked every node to erase
    /// from its audit log (emptied once every known node did: `erasure.rs`).
    pub const ERASURE: u8 = b'E';
    /// account id, node id -> when that node erased them (Unix seconds).
    pub const ERASURE_DONE: u8 = b'e';
    /// node id -> when the node last started (Unix seconds).
    pub const NODE: u8 = b'n';
    /// keyed MAC of a domain name -> the name sealed under the system key
    /// (hosted domains every node of a shared store serves: `domains.rs`).
    pub const DOMAIN: u8 = b'D';
    /// owner, mailbox, grantee -> rights (`acl.rs`).
    pub const ACL: u8 = b'L';
    /// grantee, owner, mailbox -> () (what is shared with an account, `acl.rs`).
    pub const ACL_SHARED: u8 = b'G';
    /// account, scope (mailbox id, or `u64::MAX` for the account), keyed
    /// hash of the entry name -> sealed name and value (RFC 5464 METADATA,
    /// `metadata.rs`).
    pub const METADATA: u8 = b'T';
    /// keyed MAC of a domain name -> the name and its DKIM keys (private
    /// keys included) sealed under the system key (`domains.rs`).
    pub const DKIM: u8 = b'K';
}

/// `tag | account`.
pub fn account_prefix(tag: u8, a: AccountId) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(tag);
    k.extend_from_slice(&a.0.to_be_bytes());
    k
}

/// `tag | account | mailbox`.
pub fn mailbox_key(tag: u8, a: AccountId, m: MailboxId) -> Vec<u8> {
    let mut k = account_prefix(tag, a);
    k.extend_from_slice(&m.0.to_be_bytes());
    k
}

/// `tag | account | mailbox | uid`.
pub fn message_key(tag: u8, a: AccountId, m: MailboxId, uid: Uid) -> Vec<u8> {
    let mut k = mailbox_key(tag, a, m);
    k.extend_from_slice(&uid.0.to_be_bytes());
    k
}

/// `VANISHED | account | mailbox | modseq | uid`.
pub fn vanished_key(a: AccountId, m: MailboxId, modseq: ModSeq, uid: Uid) -> Vec<u8> {
    let mut k = mailbox_key(table::VANISHED, a, m);
    k.extend_from_slice(&modseq.0.to_be_bytes());
    k.extend_from_slice(&uid.0.to_be_bytes());
    k
}

/// Appends fields to a row.
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    /// A row of version `v`.
    pub fn new(v: u8) -> Writer {
        Writer(vec![v])
    }
    /// u8.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    /// u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// i64.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Length-prefixed bytes.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v);
        self
    }
    /// Flags: system bits then keywords.
    pub fn flags(&mut self, f: &Flags) -> &mut Self {
        self.u8(f.system);
        self.u32(f.keywords.len() as u32);
        for k in &f.keywords {
            self.bytes(k.as_bytes());
        }
        self
    }
    /// The row.
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

/// Reads fields of a row.
pub struct Reader<'a> {
    buf: &'a [u8],
}

fn corrupt() -> StoreError {
    StoreError::Corrupt("truncated metadata row".into())
}

impl<'a> Reader<'a> {
    /// Reads a row, checking its version.
    pub fn new(buf: &'a [u8], version: u8) -> Result<Reader<'a>> {
        match buf.split_first() {
            Some((&v, rest)) if v == version => Ok(Reader { buf: rest }),
            Some((&v, _)) => Err(StoreError::Corrupt(format!("unknown row version {v}"))),
            None => Err(corrupt()),
        }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(corrupt());
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    /// u8.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    /// u32.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().map_err(|_| corrupt())?,
        ))
    }
    /// u64.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().map_err(|_| corrupt())?,
        ))
    }
    /// i64.
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(
            self.take(8)?.try_into().map_err(|_| corrupt())?,
        ))
    }
    /// Length-prefixed bytes.
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    /// Flags.
    pub fn flags(&mut self) -> Result<Flags> {
        let system = self.u8()?;
        let n = self.u32()? as usize;
        let mut keywords = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            let k = std::str::from_utf8(self.bytes()?).map_err(|_| corrupt())?;
            keywords.push(k.to_string());
        }
        Ok(Flags { system, keywords })
    }
}

#[cfg(test)]
mod tests {
    use super::table::*;

    #[test]
    fn every_table_has_its_own_tag() {
        // Two tables on one tag would share a key space: a purge deleting
        // one account's rows by prefix would delete the other table's too.
        let tags = [
            META,
            ACCOUNT_V2,
            ACCOUNT_ID_V2,
            ACCOUNT,
            ACCOUNT_ID,
            MAILBOX,
            MAILBOX_NAME,
            MESSAGE,
            SUMMARY,
            VANISHED,
            SUBSCRIPTION,
            CHANGE,
            USAGE,
            ERASURE,
            ERASURE_DONE,
            NODE,
            DOMAIN,
            ACL,
            ACL_SHARED,
            METADATA,
            DKIM,
        ];
        let mut seen = std::collections::HashSet::new();
        for t in tags {
            assert!(seen.insert(t), "tag {:?} used twice", t as char);
        }
    }
}
