//! The store's shared state: sled, keys, caches of accounts and mailbox
//! indexes, and the group-commit points.

use crate::blob::{self, BlobId};
use crate::codec::{self, Reader, Writer, table};
use crate::crypto::{self, Key};
use crate::sync::GroupSync;
use crate::{
    AccountId, Flags, MailboxEvent, MailboxId, MailboxInfo, MailboxName, MessageEntry, ModSeq,
    Result, SpecialUse, StoreError, StoreOptions, Summarizer, Uid, UidValidity,
};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::broadcast;

/// The mailbox store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub data_dir: PathBuf,
    pub blob_root: PathBuf,
    pub db: sled::Db,
    pub tree: sled::Tree,
    pub master: Key,
    pub system: Key,
    pub restore_key_path: PathBuf,
    pub summarizer: Arc<dyn Summarizer>,
    pub accounts: Mutex<HashMap<AccountId, Arc<AccountCtx>>>,
    pub mailboxes: Mutex<HashMap<(AccountId, MailboxId), SharedState>>,
    pub flush_sync: GroupSync,
    pub counters: Mutex<()>,
    /// The wrapped data keys of accounts (`keyfile`).
    pub key_files: crate::keyfile::KeyFiles,
    /// Serializes account creation (see `create_account`).
    pub creating: Mutex<()>,
    _lock: std::fs::File,
}

/// A mailbox index shared by every session that has it open.
pub(crate) type SharedState = Arc<Mutex<MailboxState>>;

/// An open account: its key and usage counters.
pub(crate) struct AccountCtx {
    pub id: AccountId,
    pub key: Key,
    /// Serializes structural changes (create/delete/rename mailbox).
    pub structure: Mutex<()>,
    /// (bytes, messages), computed on first use.
    pub usage: Mutex<Option<(u64, u64)>>,
    pub quota: Mutex<Option<u64>>,
    pub dir_sync: GroupSync,
}

impl AccountCtx {
    pub(crate) fn new(id: AccountId, key: Key) -> AccountCtx {
        AccountCtx {
            id,
            key,
            structure: Mutex::new(()),
            usage: Mutex::new(None),
            quota: Mutex::new(None),
            dir_sync: GroupSync::default(),
        }
    }
}

/// A mailbox's index in memory, kept current by every write.
pub(crate) struct MailboxState {
    pub info: MailboxInfo,
    pub uid_next: u32,
    pub highest_modseq: u64,
    pub created: i64,
    pub entries: Vec<MessageEntry>,
    pub tx: broadcast::Sender<MailboxEvent>,
    pub recent_cutoff: u32,
}

impl MailboxState {
    pub fn position(&self, uid: Uid) -> Option<usize> {
        self.entries.binary_search_by_key(&uid, |e| e.uid).ok()
    }

    pub fn next_modseq(&mut self) -> ModSeq {
        self.highest_modseq += 1;
        ModSeq(self.highest_modseq)
    }

    pub fn row(&self, key: &Key, account: AccountId) -> Vec<u8> {
        encode_mailbox_row(
            key,
            account,
            &self.info.name,
            self.info.special_use,
            self.info.uid_validity,
            self.uid_next,
            self.highest_modseq,
            self.created,
        )
    }

    pub fn publish(&self, e: MailboxEvent) {
        let _ = self.tx.send(e);
    }
}

/// A stored message row.
pub(crate) struct MessageRow {
    pub blob: BlobId,
    pub flags: Flags,
    pub modseq: u64,
    pub size: u32,
    pub internal_date: i64,
    pub save_date: i64,
}

impl MessageRow {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(1);
        w.0.extend_from_slice(&self.blob.0);
        w.flags(&self.flags)
            .u64(self.modseq)
            .u32(self.size)
            .i64(self.internal_date)
            .i64(self.save_date);
        w.finish()
    }

    pub fn decode(b: &[u8]) -> Result<MessageRow> {
        let mut r = Reader::new(b, 1)?;
        let mut blob = [0u8; 16];
        for x in blob.iter_mut() {
            *x = r.u8()?;
        }
        Ok(MessageRow {
            blob: BlobId(blob),
            flags: r.flags()?,
            modseq: r.u64()?,
            size: r.u32()?,
            internal_date: r.i64()?,
            save_date: r.i64()?,
        })
    }
}

pub(crate) fn name_aad(account: AccountId) -> Vec<u8> {
    let mut v = b"mailbox-name:".to_vec();
    v.extend_from_slice(&account.0.to_be_bytes());
    v
}

pub(crate) fn blob_aad(account: AccountId) -> Vec<u8> {
    let mut v = b"blob:".to_vec();
    v.extend_from_slice(&account.0.to_be_bytes());
    v
}

pub(crate) fn summary_aad(account: AccountId) -> Vec<u8> {
    let mut v = b"summary:".to_vec();
    v.extend_from_slice(&account.0.to_be_bytes());
    v
}

pub(crate) fn key_aad(account: AccountId) -> Vec<u8> {
    let mut v = b"account-key:".to_vec();
    v.extend_from_slice(&account.0.to_be_bytes());
    v
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn encode_mailbox_row(
    key: &Key,
    account: AccountId,
    name: &MailboxName,
    special_use: Option<SpecialUse>,
    uid_validity: UidValidity,
    uid_next: u32,
    highest_modseq: u64,
    created: i64,
) -> Vec<u8> {
    let sealed = key.seal(&name_aad(account), name.as_str().as_bytes());
    Writer::new(1)
        .bytes(&sealed)
        .u8(special_use.map_or(0, |s| s.code()))
        .u32(uid_validity.0)
        .u32(uid_next)
        .u64(highest_modseq)
        .i64(created)
        .finish()
}

pub(crate) struct MailboxRow {
    pub name: MailboxName,
    pub special_use: Option<SpecialUse>,
    pub uid_validity: UidValidity,
    pub uid_next: u32,
    pub highest_modseq: u64,
    pub created: i64,
}

pub(crate) fn decode_mailbox_row(key: &Key, account: AccountId, b: &[u8]) -> Result<MailboxRow> {
    let mut r = Reader::new(b, 1)?;
    let name = key.open(&name_aad(account), r.bytes()?)?;
    let name = String::from_utf8(name).map_err(|_| StoreError::Corrupt("mailbox name".into()))?;
    Ok(MailboxRow {
        name: MailboxName::new(&name).map_err(|_| StoreError::Corrupt("mailbox name".into()))?,
        special_use: SpecialUse::from_code(r.u8()?),
        uid_validity: UidValidity(r.u32()?),
        uid_next: r.u32()?,
        highest_modseq: r.u64()?,
        created: r.i64()?,
    })
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn data_dir_error(path: &Path, message: impl Into<String>) -> StoreError {
    StoreError::DataDir {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

impl Store {
    /// Opens (creating if needed) the store; fails with [`StoreError::Locked`]
    /// when another process has it open. Checks that the master key is the one
    /// the data directory was created with before touching anything else.
    /// A missing data directory is created only on a first start (no master
    /// key yet): with a key, it is an error rather than a silent empty store.
    pub fn open(opts: StoreOptions) -> Result<Store> {
        let dir = &opts.data_dir;
        match std::fs::metadata(dir) {
            Ok(m) if !m.is_dir() => return Err(data_dir_error(dir, "is not a directory")),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A master key without its data_dir: most likely the data
                // disk is not mounted or the path is mistyped. Starting an
                // empty store there would hide every mailbox; the operator
                // makes the folder to start afresh on purpose.
                if opts.master_key.exists() {
                    return Err(data_dir_error(
                        dir,
                        format!(
                            "does not exist, but the master key {} does (is the data disk mounted?); create the folder to start an empty store",
                            opts.master_key.display()
                        ),
                    ));
                }
                sealpost_durable::create_dir(dir)
                    .map_err(|e| data_dir_error(dir, format!("cannot create: {e}")))?;
            }
            Err(e) => return Err(data_dir_error(dir, format!("cannot read: {e}"))),
        }
        let lock_path = dir.join("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(|e| data_dir_error(dir, format!("cannot open lock file: {e}")))?;
        match fs4::fs_std::FileExt::try_lock_exclusive(&lock) {
            Ok(true) => {}
            Ok(false) => return Err(StoreError::Locked(dir.clone())),
            Err(e) => return Err(data_dir_error(dir, format!("cannot lock: {e}"))),
        }

        let db_path = dir.join("db");
        let keycheck_path = dir.join("keycheck");
        let fresh = !db_path.exists() && !keycheck_path.exists();
        let (master, _) = crypto::load_or_create_key_file(&opts.master_key, fresh)?;
        let mut write_keycheck = false;
        match std::fs::read(&keycheck_path) {
            Ok(sealed) => {
                if master.open(b"keycheck", &sealed).is_err() {
                    return Err(StoreError::MasterKey {
                        path: opts.master_key.clone(),
                        message: format!("is not the key {} was created with", dir.display()),
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !fresh {
                    return Err(data_dir_error(
                        dir,
                        "keycheck is missing: not a complete sealpost data directory",
                    ));
                }
                // Written once the database holds its first key (below), so
                // a keycheck always means a database that must not be empty.
                write_keycheck = true;
            }
            Err(e) => return Err(data_dir_error(&keycheck_path, format!("cannot read: {e}"))),
        }

        let db = sled::Config::new()
            .path(&db_path)
            .mode(sled::Mode::HighThroughput)
            .flush_every_ms(Some(1000))
            .open()
            .map_err(|e| {
                data_dir_error(&db_path, format!("cannot open the metadata database: {e}"))
            })?;
        let tree = db.open_tree(codec::TREE)?;
        let system_key_id = [table::META, b's', b'y', b's'];
        let system = match tree.get(system_key_id)? {
            Some(w) => master.unwrap_key(b"system-key", &w)?,
            // sled recovers a damaged log to its longest valid prefix, which
            // for a garbled or replaced file is nothing at all: opening that
            // would silently re-create every account empty.
            None if !fresh => {
                return Err(data_dir_error(
                    &db_path,
                    "the metadata database has lost its contents (corrupt, truncated or replaced); restore data_dir from a backup",
                ));
            }
            None => {
                let k = Key::generate();
                tree.insert(system_key_id, master.wrap(b"system-key", &k))?;
                db.flush()?;
                k
            }
        };
        if write_keycheck {
            write_durable(&keycheck_path, &master.seal(b"keycheck", b"sealpost"))?;
        }
        let blob_root = dir.join("blobs");
        sealpost_durable::create_dir(&blob_root)?;
        let key_files = crate::keyfile::KeyFiles::open(dir)?;
        let restore_key_path = opts
            .master_key
            .parent()
            .unwrap_or(Path::new("."))
            .join("restore.key");
        let store = Store {
            inner: Arc::new(Inner {
                data_dir: dir.clone(),
                blob_root,
                db,
                tree,
                master,
                system,
                restore_key_path,
                summarizer: opts.summarizer,
                accounts: Mutex::new(HashMap::new()),
                mailboxes: Mutex::new(HashMap::new()),
                flush_sync: GroupSync::default(),
                counters: Mutex::new(()),
                key_files,
                creating: Mutex::new(()),
                _lock: lock,
            }),
        };
        store.migrate_account_index()?;
        Ok(store)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Encrypts data that lives outside the mailboxes but must not be plaintext
    /// on disk (the outbound queue), under a system key wrapped by the master key.
    pub fn seal_system(&self, plaintext: &[u8]) -> Vec<u8> {
        self.inner.system.seal(b"system", plaintext)
    }

    /// Decrypts what [`Store::seal_system`] produced.
    pub fn open_system(&self, sealed: &[u8]) -> Result<Vec<u8>> {
        self.inner.system.open(b"system", sealed)
    }

    /// Makes every write so far durable (group commit of sled flushes).
    pub(crate) fn flush(&self) -> Result<()> {
        let db = &self.inner.db;
        self.inner
            .flush_sync
            .sync(|| db.flush().map(|_| ()).map_err(std::io::Error::other))?;
        Ok(())
    }

    /// Next value of a store-wide counter (account ids, mailbox ids, UIDVALIDITY).
    pub(crate) fn next_counter(&self, name: &[u8], floor: u64) -> Result<u64> {
        let _g = self.inner.counters.lock();
        let mut key = vec![table::META];
        key.extend_from_slice(name);
        let cur = self
            .inner
            .tree
            .get(&key)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0);
        let next = (cur + 1).max(floor);
        self.inner.tree.insert(key, &next.to_be_bytes())?;
        Ok(next)
    }

    /// The context of an active account (key unwrapped), cached.
    pub(crate) fn ctx(&self, account: AccountId) -> Result<Arc<AccountCtx>> {
        if let Some(c) = self.inner.accounts.lock().get(&account) {
            return Ok(c.clone());
        }
        let (_, row) = self
            .account_row_by_id(account)?
            .ok_or(StoreError::NoAccount)?;
        if row.deleted_at.is_some() {
            return Err(StoreError::NoAccount);
        }
        let data_key = match self.unwrap_data_key(&row, &[&self.inner.master]) {
            Ok(k) => k,
            // A deletion cut short by a crash may have re-wrapped the key
            // under the restore key while the row still says active: the
            // account stays usable until the deletion is run again.
            Err(e) => match crypto::load_or_create_key_file(&self.inner.restore_key_path, false) {
                Ok((restore, _)) => self.unwrap_data_key(&row, &[&restore]).map_err(|_| e)?,
                Err(_) => return Err(e),
            },
        };
        let ctx = Arc::new(AccountCtx::new(account, data_key));
        Ok(self
            .inner
            .accounts
            .lock()
            .entry(account)
            .or_insert(ctx)
            .clone())
    }

    /// The in-memory index of a mailbox, loaded on first use.
    pub(crate) fn state(
        &self,
        account: AccountId,
        mailbox: MailboxId,
    ) -> Result<Arc<Mutex<MailboxState>>> {
        if let Some(s) = self.inner.mailboxes.lock().get(&(account, mailbox)) {
            return Ok(s.clone());
        }
        let ctx = self.ctx(account)?;
        let row = self
            .inner
            .tree
            .get(codec::mailbox_key(table::MAILBOX, account, mailbox))?
            .ok_or(StoreError::NoMailbox)?;
        let row = decode_mailbox_row(&ctx.key, account, &row)?;
        let mut entries = Vec::new();
        for kv in self
            .inner
            .tree
            .scan_prefix(codec::mailbox_key(table::MESSAGE, account, mailbox))
        {
            let (k, v) = kv?;
            let uid = u32::from_be_bytes(
                k[k.len() - 4..]
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("key".into()))?,
            );
            let m = MessageRow::decode(&v)?;
            entries.push(MessageEntry {
                uid: Uid(uid),
                flags: m.flags,
                modseq: ModSeq(m.modseq),
                size: m.size,
            });
        }
        let (tx, _) = broadcast::channel(1024);
        let state = Arc::new(Mutex::new(MailboxState {
            info: MailboxInfo {
                id: mailbox,
                name: row.name,
                special_use: row.special_use,
                uid_validity: row.uid_validity,
            },
            uid_next: row.uid_next,
            highest_modseq: row.highest_modseq,
            created: row.created,
            entries,
            tx,
            recent_cutoff: row.uid_next.saturating_sub(1),
        }));
        Ok(self
            .inner
            .mailboxes
            .lock()
            .entry((account, mailbox))
            .or_insert(state)
            .clone())
    }

    pub(crate) fn forget_mailbox(&self, account: AccountId, mailbox: MailboxId) {
        if let Some(s) = self.inner.mailboxes.lock().remove(&(account, mailbox)) {
            s.lock().publish(MailboxEvent::Gone);
        }
    }

    pub(crate) fn blob_root(&self) -> &Path {
        &self.inner.blob_root
    }

    pub(crate) fn remove_blobs(&self, account: AccountId, blobs: &[BlobId]) {
        for b in blobs {
            if let Err(e) = blob::remove(self.blob_root(), account, *b) {
                tracing::warn!(error = %e, "could not remove a blob; it is unreferenced and will be swept");
            }
        }
    }
}

fn write_durable(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(sealpost_durable::write(path, bytes)?)
}
