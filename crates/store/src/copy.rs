//! Moving an embedded store into PostgreSQL (`sealpost store copy`).
//!
//! The key encoding is the same on both backends, so rows are copied as
//! they are (sealed, under the same master key: nothing is decrypted or
//! re-encrypted on the way); blobs are copied as sealed bytes; wrapped
//! account keys move from their files to their table.
//!
//! - **Resumable.** Account by account, mailbox by mailbox, in transactions
//!   of at most [`BATCH`] messages. Every write is an upsert (blobs: insert
//!   if absent), so running the copy again after it was interrupted redoes
//!   at most the unfinished batch and skips nothing. An account's own rows
//!   (by address, by id) are written last, so a node serving the database
//!   meanwhile never finds a half-copied account.
//! - **Verified.** Per mailbox, the number of messages and a SHA-256 over
//!   its rows (messages, summaries, expunge records, in key order) and its
//!   blobs (in UID order) are computed on both sides and compared; any
//!   difference fails the copy naming the mailbox (by id: names are sealed).
//! - **Safe to point at the wrong database.** The target must have the
//!   sealpost schema; a target that already holds a store under another
//!   master key, or a different store under the same one, is refused.

use crate::backend::postgres::Postgres;
use crate::backend::{Backend, Fetched, Read};
use crate::codec::{self, table};
use crate::engine::{MessageRow, scan_of};
use crate::tx::Tx;
use crate::{AccountId, MailboxId, PgOptions, Result, Store, StoreError};
use sha2::{Digest, Sha256};

/// Messages per transaction.
pub const BATCH: usize = 200;

/// What [`Store::copy_to_postgresql`] reports as it goes.
#[derive(Debug, Clone)]
pub enum CopyProgress {
    /// One account was copied and verified.
    Account {
        /// Position (1-based) and number of accounts.
        done: usize,
        /// Number of accounts.
        total: usize,
        /// Its id.
        id: AccountId,
        /// Its mailboxes.
        mailboxes: u64,
        /// Its messages.
        messages: u64,
        /// Its blobs' sealed bytes.
        bytes: u64,
    },
}

/// What a copy moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Accounts copied.
    pub accounts: u64,
    /// Mailboxes copied and verified.
    pub mailboxes: u64,
    /// Messages copied.
    pub messages: u64,
    /// Sealed blob bytes copied.
    pub bytes: u64,
}

const META_KEYS: [&[u8]; 5] = [
    b"0sys",
    b"0keycheck",
    b"0account",
    b"0mailbox",
    b"0uidvalidity",
];

fn get(b: &dyn Backend, key: &[u8]) -> Result<Option<Vec<u8>>> {
    Ok(b.read(vec![Read::Get {
        key: key.to_vec(),
        lock: false,
    }])?
    .pop()
    .and_then(Fetched::value))
}

fn scan(b: &dyn Backend, prefix: Vec<u8>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    Ok(b.read(vec![scan_of(prefix)])?
        .pop()
        .map(Fetched::rows)
        .unwrap_or_default())
}

/// Count and SHA-256 of a mailbox's rows and blobs on one backend.
fn mailbox_digest(
    b: &dyn Backend,
    account: AccountId,
    mailbox: MailboxId,
) -> Result<(u64, [u8; 32])> {
    let mut h = Sha256::new();
    let mut count = 0u64;
    for tag in [table::MESSAGE, table::SUMMARY, table::VANISHED] {
        for (k, v) in scan(b, codec::mailbox_key(tag, account, mailbox))? {
            h.update((k.len() as u32).to_be_bytes());
            h.update(&k);
            h.update((v.len() as u32).to_be_bytes());
            h.update(&v);
            if tag == table::MESSAGE {
                count += 1;
                let row = MessageRow::decode(&v)?;
                match b.read_blob(account, row.blob)? {
                    Some(blob) => {
                        h.update((blob.len() as u64).to_be_bytes());
                        h.update(&blob);
                    }
                    None => h.update(b"no blob"),
                }
            }
        }
    }
    Ok((count, h.finalize().into()))
}

impl Store {
    /// Copies this (embedded) store into the PostgreSQL database `target`,
    /// whose schema must be migrated. See the module docs.
    pub fn copy_to_postgresql(
        &self,
        target: &PgOptions,
        progress: &mut dyn FnMut(CopyProgress),
    ) -> Result<CopyReport> {
        if self.shared() {
            return Err(StoreError::NotAllowed(
                "the source store is already in PostgreSQL",
            ));
        }
        let src: &dyn Backend = &*self.inner.backend;
        let pg = Postgres::connect(target)?;
        let dst: &dyn Backend = &pg;
        self.copy_meta(src, dst)?;
        let accounts = scan(src, vec![table::ACCOUNT])?;
        let total = accounts.len();
        let mut report = CopyReport::default();
        for (done, (address_key, row)) in accounts.into_iter().enumerate() {
            let id = crate::account_index::AccountRow::decode(&row)?.id;
            let n = copy_account(src, dst, id, address_key, row)?;
            report.accounts += 1;
            report.mailboxes += n.mailboxes;
            report.messages += n.messages;
            report.bytes += n.bytes;
            progress(CopyProgress::Account {
                done: done + 1,
                total,
                id,
                mailboxes: n.mailboxes,
                messages: n.messages,
                bytes: n.bytes,
            });
        }
        Ok(report)
    }

    /// Refuses a target that holds another store (another master key or
    /// system key), then writes the store's own keys and counters (the
    /// larger counter wins, so nothing is handed out twice).
    fn copy_meta(&self, src: &dyn Backend, dst: &dyn Backend) -> Result<()> {
        // The store's own keys: the same master key on both sides.
        let check = self.inner.master.seal(b"keycheck", b"sealpost");
        match get(dst, b"0keycheck")? {
            Some(c) if self.inner.master.open(b"keycheck", &c).is_err() => {
                return Err(StoreError::NotAllowed(
                    "the target database holds a store made with another master key",
                ));
            }
            _ => {}
        }
        let sys = get(src, b"0sys")?.ok_or_else(|| StoreError::Corrupt("no system key".into()))?;
        if let Some(theirs) = get(dst, b"0sys")?
            && self
                .inner
                .master
                .unwrap_key(b"system-key", &theirs)
                .map(|k| k.keyed_hash(b"x", b"x"))?
                != self.inner.system.keyed_hash(b"x", b"x")
        {
            return Err(StoreError::NotAllowed(
                "the target database holds another store (its system key differs)",
            ));
        }
        let mut tx = Tx::new(dst.begin()?);
        for key in META_KEYS {
            let mine = match key {
                b"0keycheck" => Some(check.clone()),
                b"0sys" => Some(sys.clone()),
                _ => get(src, key)?,
            };
            let Some(mine) = mine else { continue };
            let theirs = tx.get_locked(key.to_vec())?;
            let value = match theirs {
                // Counters: the larger, so nothing is handed out twice.
                Some(t) if !matches!(key, b"0sys" | b"0keycheck") => {
                    let n = |b: &[u8]| b.try_into().map(u64::from_be_bytes).unwrap_or(0);
                    n(&t).max(n(&mine)).to_be_bytes().to_vec()
                }
                Some(t) => t,
                None => mine,
            };
            tx.put(key.to_vec(), value);
        }
        tx.commit()
    }
}

/// What one account's copy moved.
#[derive(Default)]
struct Copied {
    mailboxes: u64,
    messages: u64,
    bytes: u64,
}

/// Copies one account: its wrapped key, its mailbox tables, every mailbox
/// (checked), and last its usage and the rows that make it findable.
fn copy_account(
    src: &dyn Backend,
    dst: &dyn Backend,
    id: AccountId,
    address_key: Vec<u8>,
    row: Vec<u8>,
) -> Result<Copied> {
    let mut n = Copied::default();
    // Its wrapped key, newest copy.
    if let Some(wrapped) = src.keys().copies(id)?.into_iter().next() {
        dst.keys().write(id, &wrapped)?;
    }
    // Tables without messages: mailbox rows, name index, subscriptions,
    // grants given and received, METADATA entries (small: one transaction).
    let mut tx = Tx::new(dst.begin()?);
    for tag in [
        table::MAILBOX,
        table::MAILBOX_NAME,
        table::SUBSCRIPTION,
        table::ACL,
        table::ACL_SHARED,
        table::METADATA,
    ] {
        for (k, v) in scan(src, codec::account_prefix(tag, id))? {
            tx.put(k, v);
        }
    }
    tx.commit()?;
    let mut usage = (0u64, 0u64);
    for (k, _) in scan(src, codec::account_prefix(table::MAILBOX, id))? {
        let mailbox = MailboxId(u64::from_be_bytes(
            k[k.len() - 8..]
                .try_into()
                .map_err(|_| StoreError::Corrupt("mailbox key".into()))?,
        ));
        n.mailboxes += 1;
        copy_mailbox(src, dst, id, mailbox, &mut usage, &mut n)?;
    }
    // Last: usage, then the rows that make the account findable.
    let mut tx = Tx::new(dst.begin()?);
    tx.put(
        codec::account_prefix(table::USAGE, id),
        crate::cluster::encode_usage(usage.0, usage.1),
    );
    if let Some(index) = get(src, &codec::account_prefix(table::ACCOUNT_ID, id))? {
        tx.put(codec::account_prefix(table::ACCOUNT_ID, id), index);
    }
    tx.put(address_key, row);
    tx.commit()?;
    Ok(n)
}

/// Copies one mailbox's messages (rows, summaries, blobs; in batches of
/// [`BATCH`]) and vanished UIDs, then compares both sides' digests.
fn copy_mailbox(
    src: &dyn Backend,
    dst: &dyn Backend,
    id: AccountId,
    mailbox: MailboxId,
    usage: &mut (u64, u64),
    n: &mut Copied,
) -> Result<()> {
    let rows = scan(src, codec::mailbox_key(table::MESSAGE, id, mailbox))?;
    for chunk in rows.chunks(BATCH) {
        let mut tx = Tx::new(dst.begin()?);
        let mut reads = Vec::with_capacity(chunk.len());
        for (k, v) in chunk {
            let m = MessageRow::decode(v)?;
            usage.0 += m.size as u64;
            usage.1 += 1;
            n.messages += 1;
            if let Some(blob) = src.read_blob(id, m.blob)? {
                n.bytes += blob.len() as u64;
                tx.put_blob(id, m.blob, &blob)?;
            }
            tx.put(k.clone(), v.clone());
            let mut sk = k.clone();
            sk[0] = table::SUMMARY;
            reads.push(Read::Get {
                key: sk,
                lock: false,
            });
        }
        let summaries = src.read(reads)?;
        for ((k, _), s) in chunk.iter().zip(summaries) {
            if let Some(s) = s.value() {
                let mut sk = k.clone();
                sk[0] = table::SUMMARY;
                tx.put(sk, s);
            }
        }
        tx.commit()?;
    }
    let mut tx = Tx::new(dst.begin()?);
    for (k, v) in scan(src, codec::mailbox_key(table::VANISHED, id, mailbox))? {
        tx.put(k, v);
    }
    tx.commit()?;
    let (a, b) = (
        mailbox_digest(src, id, mailbox)?,
        mailbox_digest(dst, id, mailbox)?,
    );
    if a != b {
        return Err(StoreError::Corrupt(format!(
            "account {} mailbox {}: the copy differs ({} message(s) here, {} there, or their checksum)",
            id.0, mailbox.0, a.0, b.0
        )));
    }
    Ok(())
}
