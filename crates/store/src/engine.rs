//! The store's shared state: the backend (`backend/`), keys, caches of
//! accounts and mailbox indexes; opening a store on either backend.

use crate::backend::embedded::Embedded;
use crate::backend::{Backend, Fetched, Read};
use crate::blob::BlobId;
use crate::codec::{self, Reader, Writer, table};
use crate::crypto::{self, Key};
use crate::data_dir::{DataDirState, NEW_STORE, data_dir_state};
use crate::tx::Tx;
use crate::{
    AccountId, BackendOptions, Flags, MailboxEvent, MailboxId, MailboxInfo, MailboxName,
    MessageEntry, ModSeq, Result, SpecialUse, StoreError, StoreOptions, Summarizer, Uid,
    UidValidity,
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
    /// Where metadata and blobs live (`backend/`).
    pub backend: Box<dyn Backend>,
    pub master: Key,
    pub system: Key,
    pub restore_key_path: PathBuf,
    pub summarizer: Arc<dyn Summarizer>,
    pub accounts: Mutex<HashMap<AccountId, Arc<AccountCtx>>>,
    pub mailboxes: Mutex<HashMap<(AccountId, MailboxId), SharedState>>,
    /// Serializes account deletion and restore within this process.
    pub counters: Mutex<()>,
    /// Serializes account creation (see `create_account`).
    pub creating: Mutex<()>,
    /// Tests: other nodes' notices wait while set (`hold_notices`).
    pub hold_notices: std::sync::atomic::AtomicBool,
    /// Leases held in this process when the backend is not shared
    /// (`claims.rs`).
    pub leases: Mutex<std::collections::HashSet<Vec<u8>>>,
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
    /// Every change of the account's mailboxes (`account_events.rs`).
    pub events: broadcast::Sender<crate::AccountEvent>,
}

impl AccountCtx {
    pub(crate) fn new(id: AccountId, key: Key) -> AccountCtx {
        AccountCtx {
            id,
            key,
            structure: Mutex::new(()),
            usage: Mutex::new(None),
            quota: Mutex::new(None),
            events: crate::account_events::channel(),
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
    /// The account's stream (`account_events.rs`).
    pub account_tx: broadcast::Sender<crate::AccountEvent>,
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
        self.relay(std::slice::from_ref(&e));
        self.send(e);
    }

    /// Tells the account's stream of a batch of events (one write).
    pub fn relay(&self, events: &[MailboxEvent]) {
        crate::account_events::relay(&self.account_tx, self.info.id, &self.info.name, events);
    }

    /// Sends an event to the mailbox's watchers only (after `relay`).
    pub fn send(&self, e: MailboxEvent) {
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

/// The META key of the wrapped system key.
const SYSTEM_KEY: [u8; 4] = [table::META, b's', b'y', b's'];
/// The META key of the key check (PostgreSQL; the embedded store keeps it
/// in a file beside sled, `data_dir/keycheck`).
const KEYCHECK: [u8; 9] = [table::META, b'k', b'e', b'y', b'c', b'h', b'e', b'c', b'k'];

/// Refuses to start a store in `dir` where [`data_dir_state`] says so
/// (the data disk not mounted, most likely), and removes the marker
/// [`NEW_STORE`] once it has let an empty store start.
fn new_store_allowed(dir: &Path, master_key: &Path) -> Result<()> {
    let state = data_dir_state(dir, master_key)
        .map_err(|e| data_dir_error(dir, format!("cannot read: {e}")))?;
    match state {
        DataDirState::FirstStart | DataDirState::InPlace => Ok(()),
        // A master key without its data_dir: most likely the data disk is
        // not mounted or the path is mistyped. Starting an empty store
        // there would hide every mailbox; the operator makes the folder
        // to start afresh on purpose.
        DataDirState::Missing => Err(data_dir_error(
            dir,
            format!(
                "does not exist, but the master key {} does (is the data disk mounted?); create the folder with an empty file `{NEW_STORE}` in it to start an empty store",
                master_key.display()
            ),
        )),
        DataDirState::Empty => Err(data_dir_error(
            dir,
            format!(
                "is empty, but the master key {} exists (is the data disk mounted?); put an empty file `{NEW_STORE}` in it to start an empty store",
                master_key.display()
            ),
        )),
        DataDirState::NewStore => std::fs::remove_file(dir.join(NEW_STORE))
            .map_err(|e| data_dir_error(dir, format!("cannot remove {NEW_STORE}: {e}"))),
    }
}

/// Creates `dir` if allowed and takes its lock. `must_exist` (the
/// embedded store) applies [`new_store_allowed`] first.
fn lock_data_dir(dir: &Path, master_key: &Path, must_exist: bool) -> Result<std::fs::File> {
    let exists = match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => return Err(data_dir_error(dir, "is not a directory")),
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(data_dir_error(dir, format!("cannot read: {e}"))),
    };
    if must_exist {
        new_store_allowed(dir, master_key)?;
    }
    if !exists {
        sealpost_durable::create_dir(dir)
            .map_err(|e| data_dir_error(dir, format!("cannot create: {e}")))?;
    }
    let lock_path = dir.join("lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&lock_path)
        .map_err(|e| data_dir_error(dir, format!("cannot open lock file: {e}")))?;
    // A store closed a moment ago (its background threads let go of it
    // just after the last handle) is waited for briefly; another process
    // that keeps the data_dir is named after that.
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match fs4::fs_std::FileExt::try_lock_exclusive(&lock) {
            Ok(true) => return Ok(lock),
            Ok(false) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(25))
            }
            Ok(false) => return Err(StoreError::Locked(dir.to_path_buf())),
            Err(e) => return Err(data_dir_error(dir, format!("cannot lock: {e}"))),
        }
    }
}

/// How long opening waits for the data_dir's lock before saying it is in use.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Store {
    /// Opens (creating if needed) the embedded store; fails with
    /// [`StoreError::Locked`] when another process has it open. Checks that
    /// the master key is the one the data directory was created with before
    /// touching anything else. A missing data directory is created only on a
    /// first start (no master key yet): with a key, it is an error rather
    /// than a silent empty store.
    pub fn open(opts: StoreOptions) -> Result<Store> {
        Store::open_with(opts, &BackendOptions::Embedded)
    }

    /// Opens the store on the chosen backend. With PostgreSQL, the schema
    /// must have been migrated (`sealpost store migrate-schema`); an empty
    /// database, another schema version or a database that cannot be
    /// reached is refused with one clear error, never set up silently.
    pub fn open_with(opts: StoreOptions, backend: &BackendOptions) -> Result<Store> {
        let dir = &opts.data_dir;
        let (backend, master, system, lock): (Box<dyn Backend>, Key, Key, std::fs::File) =
            match backend {
                BackendOptions::Embedded => {
                    let lock = lock_data_dir(dir, &opts.master_key, true)?;
                    let (b, master, system) = open_embedded(dir, &opts.master_key)?;
                    (Box::new(b), master, system, lock)
                }
                BackendOptions::PostgreSql(pg) => {
                    let lock = lock_data_dir(dir, &opts.master_key, false)?;
                    let b = crate::backend::postgres::Postgres::connect(pg)?;
                    let (master, system) = open_keys_in_database(&b, &opts.master_key)?;
                    (Box::new(b), master, system, lock)
                }
            };
        let restore_key_path = opts
            .master_key
            .parent()
            .unwrap_or(Path::new("."))
            .join("restore.key");
        let store = Store {
            inner: Arc::new(Inner {
                data_dir: dir.clone(),
                backend,
                master,
                system,
                restore_key_path,
                summarizer: opts.summarizer,
                accounts: Mutex::new(HashMap::new()),
                mailboxes: Mutex::new(HashMap::new()),
                counters: Mutex::new(()),
                creating: Mutex::new(()),
                hold_notices: std::sync::atomic::AtomicBool::new(false),
                leases: Mutex::new(std::collections::HashSet::new()),
                _lock: lock,
            }),
        };
        store.migrate_account_index()?;
        if store.inner.backend.shared() {
            crate::cluster::start(&store);
        }
        Ok(store)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Makes the store's own files hold everything committed, so the next
    /// start replays nothing (embedded: sled flushed, the write-ahead log
    /// emptied). For a clean shutdown: the store may be shared by tasks
    /// that are never dropped before the process exits.
    pub fn checkpoint(&self) -> Result<()> {
        self.inner.backend.checkpoint()
    }

    /// `"embedded"` or `"postgresql"`.
    pub fn backend_name(&self) -> &'static str {
        self.inner.backend.name()
    }

    /// Database round trips made so far by the calling thread (PostgreSQL;
    /// 0 when embedded).
    #[doc(hidden)]
    pub fn database_round_trips(&self) -> u64 {
        self.inner.backend.round_trips()
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

    /// Whether other processes write the same store (PostgreSQL).
    pub(crate) fn shared(&self) -> bool {
        self.inner.backend.shared()
    }

    /// Starts a metadata transaction.
    pub(crate) fn tx(&self) -> Result<Tx<'_>> {
        Ok(Tx::new(self.inner.backend.begin()?))
    }

    /// One key, outside any transaction.
    pub(crate) fn get(&self, key: Vec<u8>) -> Result<Option<Vec<u8>>> {
        Ok(self
            .inner
            .backend
            .read(vec![Read::Get { key, lock: false }])?
            .pop()
            .and_then(Fetched::value))
    }

    /// Every key starting with `prefix`, outside any transaction.
    pub(crate) fn scan_prefix(&self, prefix: Vec<u8>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let to = crate::backend::prefix_end(&prefix);
        Ok(self
            .inner
            .backend
            .read(vec![Read::Scan { from: prefix, to }])?
            .pop()
            .map(Fetched::rows)
            .unwrap_or_default())
    }

    /// Next value of a store-wide counter (account ids, mailbox ids, UIDVALIDITY).
    pub(crate) fn next_counter(&self, name: &[u8], floor: u64) -> Result<u64> {
        self.inner.backend.next_counter(name, floor)
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
        let fetched = self.inner.backend.read(vec![
            Read::Get {
                key: codec::mailbox_key(table::MAILBOX, account, mailbox),
                lock: false,
            },
            scan_of(codec::mailbox_key(table::MESSAGE, account, mailbox)),
        ])?;
        let mut fetched = fetched.into_iter();
        let row = fetched
            .next()
            .and_then(Fetched::value)
            .ok_or(StoreError::NoMailbox)?;
        let row = decode_mailbox_row(&ctx.key, account, &row)?;
        let entries = decode_entries(fetched.next().map(Fetched::rows).unwrap_or_default())?;
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
            account_tx: ctx.events.clone(),
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
}

/// A scan of every key under `prefix`.
pub(crate) fn scan_of(prefix: Vec<u8>) -> Read {
    let to = crate::backend::prefix_end(&prefix);
    Read::Scan { from: prefix, to }
}

/// The index entries of a mailbox's message rows (keys end with the UID).
pub(crate) fn decode_entries(rows: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Vec<MessageEntry>> {
    let mut entries = Vec::with_capacity(rows.len());
    for (k, v) in rows {
        let uid = u32::from_be_bytes(
            k[k.len().saturating_sub(4)..]
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
    Ok(entries)
}

/// The embedded backend with its master and system keys.
fn open_embedded(dir: &Path, master_key: &Path) -> Result<(Embedded, Key, Key)> {
    let db_path = dir.join("db");
    let keycheck_path = dir.join("keycheck");
    let fresh = !db_path.exists() && !keycheck_path.exists();
    let (master, _) = crypto::load_or_create_key_file(master_key, fresh)?;
    let mut write_keycheck = false;
    match std::fs::read(&keycheck_path) {
        Ok(sealed) => {
            if master.open(b"keycheck", &sealed).is_err() {
                return Err(StoreError::MasterKey {
                    path: master_key.to_path_buf(),
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
    let backend = Embedded::open(dir)?;
    let stored = backend
        .read(vec![Read::Get {
            key: SYSTEM_KEY.to_vec(),
            lock: false,
        }])?
        .pop()
        .and_then(Fetched::value);
    let system = match stored {
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
            let mut tx = Tx::new(backend.begin()?);
            tx.put(SYSTEM_KEY.to_vec(), master.wrap(b"system-key", &k));
            tx.commit()?;
            k
        }
    };
    if write_keycheck {
        write_durable(&keycheck_path, &master.seal(b"keycheck", b"sealpost"))?;
    }
    Ok((backend, master, system))
}

/// The master and system keys of a database store: the key check and the
/// wrapped system key are rows. A database that has neither is new (the
/// master key file is created if missing); one that has them must open
/// with this master key, and a missing key file is then an error.
fn open_keys_in_database(backend: &dyn Backend, master_key: &Path) -> Result<(Key, Key)> {
    let mut rows = backend
        .read(vec![
            Read::Get {
                key: KEYCHECK.to_vec(),
                lock: false,
            },
            Read::Get {
                key: SYSTEM_KEY.to_vec(),
                lock: false,
            },
        ])?
        .into_iter()
        .map(Fetched::value);
    let (check, system) = (rows.next().flatten(), rows.next().flatten());
    match (check, system) {
        (Some(check), Some(system)) => {
            let (master, _) = crypto::load_or_create_key_file(master_key, false)?;
            if master.open(b"keycheck", &check).is_err() {
                return Err(StoreError::MasterKey {
                    path: master_key.to_path_buf(),
                    message: format!(
                        "is not the key the {} store was created with",
                        backend.name()
                    ),
                });
            }
            let system = master.unwrap_key(b"system-key", &system)?;
            Ok((master, system))
        }
        (None, None) => {
            let (master, _) = crypto::load_or_create_key_file(master_key, true)?;
            let system = Key::generate();
            let mut tx = Tx::new(backend.begin()?);
            tx.create(KEYCHECK.to_vec(), master.seal(b"keycheck", b"sealpost"));
            tx.create(SYSTEM_KEY.to_vec(), master.wrap(b"system-key", &system));
            match tx.commit() {
                Ok(()) => Ok((master, system)),
                // Another node set the store up at the same moment: use theirs.
                Err(StoreError::Conflict) => open_keys_in_database(backend, master_key),
                Err(e) => Err(e),
            }
        }
        _ => Err(StoreError::Corrupt(
            "the database has a key check without a system key or the reverse".into(),
        )),
    }
}

fn write_durable(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(sealpost_durable::write(path, bytes)?)
}
