//! sealpost-directory: hosted domains, accounts, aliases, password checks and
//! login throttling.
//!
//! Accounts live in an operator-edited TOML file (`server.accounts`), one
//! `[[account]]` table each, the way Dovecot keeps passwd-files and mox its
//! domains.conf:
//!
//! ```toml
//! [[account]]
//! address = "alice@example.org"
//! password = "$argon2id$v=19$m=19456,t=2,p=1$..."   # PHC string (argon2id), or a legacy hash
//! quota = 1073741824                                # octets, optional; or "1G", "500M"
//! aliases = ["postmaster@example.org"]              # optional
//! ```
//!
//! `[[forward]]` tables name addresses forwarded to outside addresses
//! (see [`forward`]). No other keys or top-level tables are allowed. Addresses and aliases are
//! compared in lower case and must be in a hosted domain; an alias may not
//! be any account's address or another alias. A missing file means no
//! accounts. Errors name the file, the key and the line (see [`mod@file`]).
//!
//! The CLI edits the file in place with toml_edit, keeping the operator's
//! comments and layout ([`add_account`], [`set_password`], ...); every write
//! is atomic and leaves the file mode 0600. A running server reloads it when
//! it changes ([`Directory::spawn_watcher`]): it takes the entries that
//! pass and names the others ([`Directory::refused`]), whose accounts keep
//! their previous version; a file that is not TOML at all leaves the
//! previous accounts in force.
//!
//! Logins ([`Directory::authenticate`]) run argon2id on tokio's blocking pool
//! and are throttled per remote address and per account ([`throttle`]).
//! Unknown users cost the same argon2 work as wrong passwords ([`password`]).
//! Hashes kept from other servers (SHA512-CRYPT, BLF-CRYPT, SSHA, ...: see
//! [`legacy`]) are checked with their own scheme plus one argon2id check of
//! the dummy hash, so they never answer faster than an unknown user; the
//! first successful login replaces such a hash with argon2id in the file
//! ([`replace_legacy_hash`]). (A legacy hash slower than argon2id, such as
//! bcrypt at cost 12, answers slower until then.)
//! A verified login may be remembered for a short while, so a reconnecting
//! client skips argon2 ([`Directory::set_login_cache`], off unless set; see
//! the `cache` module for what is kept and why it leaks nothing).
//!
//! An account may also have app passwords, each hashed on its own and
//! checked instead of the account's password when a login presents one
//! (still one argon2id check a login: see [`app_password`]).
//!
//! Recipients ([`Directory::recipient`]) resolve accounts, aliases and
//! `user+tag` subaddresses (RFC 5233) in any case ([`address`]).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod address;
pub mod app_password;
mod cache;
pub mod dovecot;
mod edit;
mod error;
pub mod file;
pub mod forward;
#[doc(hidden)]
pub mod fuzzing;
pub mod legacy;
pub mod password;
pub mod throttle;
mod watch;

pub use address::{normalize_address, parse_quota};
pub use app_password::AppPasswordInfo;
pub use app_password::Credentials;
pub use edit::{
    add_account, add_accounts_with_hashes, add_alias, add_app_password, check_accounts,
    export_account, import_account, list_accounts, list_app_passwords, remove_account,
    remove_alias, remove_app_password, replace_legacy_hash, set_password, set_quota,
};
pub use error::{DirectoryError, Refusal};
pub use forward::{Forward, Forwarding, add_forward, list_forwards, remove_forward};
pub use legacy::Scheme;
pub use password::{MAX_PASSWORD_LEN, check_stored, hash_password};

use file::{Entry, Stamp};
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use throttle::Throttle;
use tokio::sync::Semaphore;

/// How many argon2 checks may run at once: one per CPU.
fn max_concurrent_checks() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// A credential. Its Debug and Display print nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The credential itself: call only where it is checked.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for Secret {
    /// Overwrites the credential before its memory is freed.
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// Throttling limits (from `[limits]`).
#[derive(Debug, Clone, Copy)]
pub struct ThrottleLimits {
    /// Failures from one IP per window before it is throttled (IPv6: per
    /// /64). 0 turns this limit off.
    pub per_ip: u32,
    /// Failures for one account per window before it is throttled. 0 turns
    /// this limit off.
    pub per_account: u32,
    /// The window (sliding).
    pub window: Duration,
}

/// An account as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its address, lower case.
    pub address: String,
    /// Quota in octets, if any.
    pub quota: Option<u64>,
    /// Other addresses delivered to it, lower case.
    pub aliases: Vec<String>,
    /// In a login's [`AuthOutcome::Success`]: the label of the app password
    /// that logged in (for the audit log), `None` for the account's own
    /// password. Always `None` in the accounts as configured.
    pub app_password: Option<String>,
}

/// The result of a login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Credentials good.
    Success(Account),
    /// Unknown user or wrong password (indistinguishable, by design).
    Failed,
    /// Refused without checking the password: too many recent failures
    /// from this IP or for this account, or too many logins of this IP
    /// waiting for a check ([`ThrottleReason`]).
    Throttled {
        /// When to try again.
        retry_after: Duration,
        /// What happened: say this to the client, not something else.
        reason: ThrottleReason,
    },
}

/// Why a login was refused without a password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleReason {
    /// Too many failed logins from this address or for this account in the
    /// throttle window.
    Failures,
    /// Too many logins from this address are already waiting for their
    /// password check (see [`throttle::MAX_WAITING_PER_IP`]); none failed.
    Busy,
}

impl ThrottleReason {
    /// What a client is told, in a protocol's reply text (English, no
    /// trailing period), with when to retry.
    pub fn client_text(self, retry_after: Duration) -> String {
        let secs = retry_after.as_secs().max(1);
        match self {
            ThrottleReason::Failures => {
                format!("Too many failed logins, try again in {secs} seconds")
            }
            ThrottleReason::Busy => format!(
                "Too many logins in progress from your address, try again in {secs} seconds"
            ),
        }
    }
}

/// Where mail for an address goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A hosted account (directly or through an alias): its primary address.
    Local(String),
    /// The domain is hosted but the user is not.
    UnknownUser,
    /// The domain is not hosted here.
    NotLocal,
    /// A forwarding address ([`forward`]): outside targets, and the hosted
    /// account that keeps a copy, if any.
    Forward(Forwarding),
}

/// The live directory: domains and accounts, reloadable. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Directory {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Serializes reloads, so an older read never replaces a newer one.
    reloading: Mutex<()>,
    throttle: Throttle,
    /// Bounds argon2 checks running at once, hence their memory (19 MiB
    /// each at the default cost): without it, logins from many addresses,
    /// each under its own limit, could fill the blocking pool (512 threads).
    hashing: Arc<Semaphore>,
    hashing_now: AtomicUsize,
    hashing_peak: AtomicUsize,
    password_checks: AtomicU64,
    login_cache: cache::LoginCache,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let snap = self.snapshot.read();
        f.debug_struct("Directory")
            .field("path", &self.path)
            .field("domains", &snap.domains.len())
            .field("accounts", &snap.accounts.len())
            .finish_non_exhaustive()
    }
}

/// The stored hash a login's password is checked against: an app
/// password's when the password has that shape and one of the account's
/// ids (see [`app_password`]), else the account's own. Either way, one
/// check.
struct Target {
    /// The login cache's key: the address, or address and app password id.
    cache_key: String,
    hash: String,
    /// The app password's label, if it is one.
    label: Option<String>,
}

impl Target {
    fn of(e: &Entry, password: &Secret) -> Target {
        let app = app_password::id_of(password.expose())
            .and_then(|id| e.apps.iter().find(|a| a.id == id));
        match app {
            Some(a) => Target {
                cache_key: format!("{}#{}", e.account.address, a.id),
                hash: a.hash.clone(),
                label: Some(a.label.clone()),
            },
            None => Target {
                cache_key: e.account.address.clone(),
                hash: e.hash.clone(),
                label: None,
            },
        }
    }

    /// The account a success logs in, naming the app password used.
    fn account(&self, e: &Entry) -> Account {
        Account {
            app_password: self.label.clone(),
            ..e.account.clone()
        }
    }
}

impl Inner {
    /// Replaces a legacy hash that just verified with an argon2id hash of
    /// the same password, in the accounts file (comments kept; the watcher
    /// reloads it and the server audits the change). Runs on the blocking
    /// thread of the check, within its hashing slot. Nothing changes if the
    /// hash was edited meanwhile; a failure is logged and the login stands.
    fn rehash(&self, address: &str, from: Scheme, password: &Secret) {
        let Some(old) = self
            .snapshot
            .read()
            .accounts
            .get(address)
            .map(|e| e.hash.clone())
        else {
            return;
        };
        let new = password::hash_password(password);
        match edit::replace_legacy_hash(&self.path, address, &old, &new) {
            Ok(true) => {
                tracing::info!(
                    scheme = from.name(),
                    "legacy password hash replaced with argon2id after a login"
                );
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(scheme = from.name(), error = %e, "legacy password hash not replaced");
            }
        }
    }
}

/// One loaded version of the accounts file.
#[derive(Debug, Default)]
struct Snapshot {
    domains: HashSet<String>,
    accounts: HashMap<String, Entry>,
    /// Alias → primary address.
    aliases: HashMap<String, String>,
    /// Forwarding address → outside targets ([`forward`]).
    forwards: HashMap<String, Vec<String>>,
    /// The file version this was read from; `None` if it did not exist.
    stamp: Option<Stamp>,
    /// Entries of that version that were refused, one line each.
    refused: Vec<String>,
    /// A `[[forward]]` table was refused, so `forwards` is the previous
    /// version's.
    forwards_kept: bool,
}

impl Snapshot {
    /// Reads the file, taking its valid entries. While some entry is
    /// refused, accounts of `previous` that the valid entries lack stay as
    /// they were (the refused entry may be theirs: a typo must not lock an
    /// account out or, worse, have it taken for removed).
    fn read(
        path: &Path,
        domains: Vec<String>,
        previous: Option<&Snapshot>,
    ) -> Result<Snapshot, DirectoryError> {
        let domains: HashSet<String> = domains
            .into_iter()
            .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
            .collect();
        let Some((text, stamp)) = file::read(path)? else {
            return Ok(Snapshot {
                domains,
                ..Snapshot::default()
            });
        };
        let (mut entries, forwards, refused, forward_refused) =
            file::parse_lenient(path, &text, Some(&domains))?;
        // A refused `[[forward]]` table keeps the whole previous forwarding
        // table in force (its domains still hosted): dropping the entry
        // would send that address's mail nowhere outside, or, for an
        // account's address, keep it without the copies the operator
        // asked for, until the typo is found.
        let forwards_kept = forward_refused && previous.is_some();
        let forwards: HashMap<String, Vec<String>> = match previous {
            Some(previous) if forward_refused => previous
                .forwards
                .iter()
                .filter(|(a, _)| domains.contains(address::domain_of(a)))
                .map(|(a, to)| (a.clone(), to.clone()))
                .collect(),
            _ => forwards.into_iter().map(|f| (f.address, f.to)).collect(),
        };
        if let Some(previous) = previous.filter(|_| !refused.is_empty()) {
            let valid: HashSet<String> =
                entries.iter().map(|e| e.account.address.clone()).collect();
            let taken: HashSet<String> = entries
                .iter()
                .flat_map(|e| e.account.aliases.iter().cloned())
                .chain(valid.iter().cloned())
                .collect();
            for old in previous.accounts.values() {
                let hosted = domains.contains(address::domain_of(&old.account.address));
                if hosted && !valid.contains(&old.account.address) {
                    let mut kept = old.clone();
                    kept.account.aliases.retain(|a| !taken.contains(a));
                    entries.push(kept);
                }
            }
        }
        let mut accounts = HashMap::with_capacity(entries.len());
        let mut aliases = HashMap::new();
        for e in entries {
            for alias in &e.account.aliases {
                aliases.insert(alias.clone(), e.account.address.clone());
            }
            accounts.insert(e.account.address.clone(), e);
        }
        Ok(Snapshot {
            domains,
            accounts,
            aliases,
            forwards,
            forwards_kept,
            stamp: Some(stamp),
            refused: refused.into_iter().map(|e| e.to_string()).collect(),
        })
    }

    /// The primary address mail for a normalized address goes to: exact
    /// account, exact alias, then the same without a `+tag`.
    fn resolve(&self, address: &str) -> Option<&str> {
        let exact = |a: &str| -> Option<&str> {
            if let Some((primary, _)) = self.accounts.get_key_value(a) {
                return Some(primary);
            }
            self.aliases.get(a).map(String::as_str)
        };
        exact(address).or_else(|| exact(&address::without_subaddress(address)?))
    }
}

impl Directory {
    /// Loads the accounts file (absent means no accounts).
    ///
    /// Also makes the dummy hash unknown users are checked against, so the
    /// first unknown user does not pay for making it (and stand out).
    pub fn load(
        accounts_file: &Path,
        domains: Vec<String>,
        limits: ThrottleLimits,
    ) -> Result<Directory, DirectoryError> {
        let snapshot = Snapshot::read(accounts_file, domains, None)?;
        password::dummy_hash();
        Ok(Directory {
            inner: Arc::new(Inner {
                path: accounts_file.to_path_buf(),
                snapshot: RwLock::new(Arc::new(snapshot)),
                reloading: Mutex::new(()),
                throttle: Throttle::new(limits),
                hashing: Arc::new(Semaphore::new(max_concurrent_checks())),
                hashing_now: AtomicUsize::new(0),
                hashing_peak: AtomicUsize::new(0),
                password_checks: AtomicU64::new(0),
                login_cache: cache::LoginCache::new(Duration::ZERO),
            }),
        })
    }

    /// Re-reads the accounts file (and takes a new domain list). Entries
    /// that fail a check are refused one by one ([`Directory::refused`]);
    /// while any is, accounts missing from the valid entries keep their
    /// previous version, and while a `[[forward]]` table is refused the
    /// previous forwarding table stays whole. A file that is not TOML is an error, and the old
    /// contents stay in force.
    pub fn reload(&self, domains: Vec<String>) -> Result<(), DirectoryError> {
        let _one_at_a_time = self.inner.reloading.lock();
        let previous = self.snapshot();
        let snapshot = Snapshot::read(&self.inner.path, domains, Some(&previous))?;
        *self.inner.snapshot.write() = Arc::new(snapshot);
        Ok(())
    }

    /// Whether the forwarding table in force is the previous version's,
    /// kept because a `[[forward]]` table of the file was refused.
    pub fn forwarding_kept(&self) -> bool {
        self.snapshot().forwards_kept
    }

    /// The entries of the loaded accounts file that were refused, one line
    /// each (`FILE:LINE:COL: key `account[N]...`: why`); empty when all passed.
    pub fn refused(&self) -> Vec<String> {
        self.snapshot().refused.clone()
    }

    /// Remembers verified logins for `ttl` (zero: not at all, the default),
    /// so a client reconnecting with the same password skips argon2. Only
    /// successes are kept, as a keyed MAC bound to the stored hash; a
    /// password change or removal invalidates an entry at once.
    pub fn set_login_cache(&self, ttl: Duration) {
        self.inner.login_cache.set_ttl(ttl);
    }

    /// The accounts file this directory reads.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The hosted domains, sorted.
    pub fn domains(&self) -> Vec<String> {
        let mut d: Vec<String> = self.snapshot().domains.iter().cloned().collect();
        d.sort();
        d
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.snapshot.read().clone()
    }

    /// Checks a login. Runs argon2id (CPU-heavy: the async wrapper runs it on
    /// the blocking pool). Unknown users cost the same work as wrong passwords.
    ///
    /// The user name is the account's primary address (any case). A throttled
    /// attempt is refused before argon2 runs; concurrent attempts from one
    /// address wait their turn rather than fail; see [`throttle`] for what
    /// counts.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &Secret,
        remote: IpAddr,
    ) -> AuthOutcome {
        let name = address::normalize(username).ok();
        let throttle = &self.inner.throttle;
        if let Some(retry_after) = throttle.refused(remote, name.as_deref(), Instant::now()) {
            return AuthOutcome::Throttled {
                retry_after,
                reason: ThrottleReason::Failures,
            };
        }
        if password.expose().len() > MAX_PASSWORD_LEN {
            // No stored password can be this long (hash_password's callers
            // refuse it), so this reveals nothing about the account.
            throttle.failed_at_once(remote, name.as_deref(), Instant::now());
            return AuthOutcome::Failed;
        }
        let snapshot = self.snapshot();
        let entry = name
            .as_ref()
            .and_then(|n| snapshot.accounts.get(n))
            .cloned();
        let target = entry.as_ref().map(|e| Target::of(e, password));
        if let (Some(e), Some(t)) = (&entry, &target)
            && self
                .inner
                .login_cache
                .hit(&t.cache_key, &t.hash, password.expose(), Instant::now())
        {
            throttle.succeeded_at_once(&e.account.address);
            return AuthOutcome::Success(t.account(e));
        }
        // Wait for this address's turn (a check in flight is not a failure;
        // see the throttle module), then for a hashing slot.
        let attempt = match throttle.admit(remote, name.as_deref()).await {
            Ok(a) => a,
            Err(refused) => {
                return AuthOutcome::Throttled {
                    retry_after: refused.retry_after,
                    reason: refused.reason,
                };
            }
        };
        // The permit and the attempt move into the blocking task, so a
        // client that hangs up mid-check neither frees its slot early nor
        // escapes its failure being counted.
        let Ok(permit) = self.inner.hashing.clone().acquire_owned().await else {
            return AuthOutcome::Failed;
        };
        let phc = match &target {
            Some(t) => t.hash.clone(),
            None => password::dummy_hash().to_owned(),
        };
        let known = entry.is_some();
        // Only the account's own password is ever a legacy hash.
        let entry_for_rehash = match (&entry, &target) {
            (Some(e), Some(t)) if t.label.is_none() => Some(e.account.address.clone()),
            _ => None,
        };
        let checked = password.clone();
        let inner = self.inner.clone();
        let verified = tokio::task::spawn_blocking(move || {
            inner.password_checks.fetch_add(1, Ordering::Relaxed);
            let running = inner.hashing_now.fetch_add(1, Ordering::SeqCst) + 1;
            inner.hashing_peak.fetch_max(running, Ordering::SeqCst);
            let ok = password::verify(&phc, &checked) && known;
            let legacy = Scheme::of(&phc).filter(|s| *s != Scheme::Argon2id);
            if legacy.is_some() {
                // Never less work than an unknown user's argon2id check,
                // however cheap the legacy scheme (SSHA is one digest).
                password::verify(password::dummy_hash(), &checked);
            }
            if ok {
                attempt.succeeded();
            } else {
                attempt.failed();
            }
            if let (true, Some(scheme), Some(e)) = (ok, legacy, &entry_for_rehash) {
                inner.rehash(e, scheme, &checked);
            }
            inner.hashing_now.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            ok
        })
        .await
        .unwrap_or(false);
        match (entry, target) {
            (Some(e), Some(t)) if verified => {
                self.inner.login_cache.remember(
                    &t.cache_key,
                    &t.hash,
                    password.expose(),
                    Instant::now(),
                );
                AuthOutcome::Success(t.account(&e))
            }
            _ => AuthOutcome::Failed,
        }
    }

    /// Client addresses and accounts refused logins now after too many
    /// failures (for the metrics).
    pub fn throttled(&self) -> (usize, usize) {
        self.inner.throttle.throttled(std::time::Instant::now())
    }

    /// How many argon2 password checks this directory has run (a metric; it
    /// also lets tests see that unknown users cost a check and throttled
    /// attempts do not).
    pub fn password_checks(&self) -> u64 {
        self.inner.password_checks.load(Ordering::Relaxed)
    }

    /// Resolves a recipient address (accounts and aliases, any case).
    ///
    /// `user+tag@domain` reaches `user@domain` (or the account behind the
    /// alias `user@domain`) when no account or alias is `user+tag` itself;
    /// what is neither reaches the domain's catch-all alias `*@domain`, if
    /// an account has one. A forward on the address (or on the account it
    /// reaches, not through the catch-all) makes it [`Recipient::Forward`].
    pub fn recipient(&self, address: &str) -> Recipient {
        let snap = self.snapshot();
        let Ok(a) = address::normalize(address) else {
            // Malformed: still say whether the domain is ours.
            let domain = address
                .rsplit_once('@')
                .map(|(_, d)| d.to_ascii_lowercase());
            return match domain {
                Some(d) if snap.domains.contains(&d) => Recipient::UnknownUser,
                _ => Recipient::NotLocal,
            };
        };
        if !snap.domains.contains(address::domain_of(&a)) {
            return Recipient::NotLocal;
        }
        if let Some(forwarding) = snap.forwarding(&a) {
            return Recipient::Forward(forwarding);
        }
        // The domain's catch-all (`*@domain`) last; it never lets its
        // account send as any address (see `owns_address`).
        match snap.resolve(&a).or_else(|| {
            snap.aliases
                .get(&address::catch_all_of(&a))
                .map(String::as_str)
        }) {
            Some(primary) => Recipient::Local(primary.to_owned()),
            None => Recipient::UnknownUser,
        }
    }

    /// Whether `account` may send as `address` (its own address or an alias).
    ///
    /// Subaddresses of those count too: whoever receives `user+tag` may
    /// send as it.
    pub fn owns_address(&self, account: &str, address: &str) -> bool {
        let (Ok(account), Ok(address)) = (address::normalize(account), address::normalize(address))
        else {
            return false;
        };
        let snap = self.snapshot();
        snap.accounts.contains_key(&account) && snap.resolve(&address) == Some(account.as_str())
    }

    /// One account by primary address.
    pub fn account(&self, address: &str) -> Option<Account> {
        let a = address::normalize(address).ok()?;
        self.snapshot().accounts.get(&a).map(|e| e.account.clone())
    }

    /// Every account, sorted by address.
    pub fn accounts(&self) -> Vec<Account> {
        let mut all: Vec<Account> = self
            .snapshot()
            .accounts
            .values()
            .map(|e| e.account.clone())
            .collect();
        all.sort_by(|a, b| a.address.cmp(&b.address));
        all
    }

    /// Whether a domain is hosted.
    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.snapshot()
            .domains
            .contains(&domain.trim_end_matches('.').to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn argon2_checks_run_at_most_one_per_cpu() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.toml");
        std::fs::write(
            &path,
            format!("[[account]]\naddress = \"a@example.org\"\npassword = \"{HASH}\"\n"),
        )
        .unwrap();
        let limits = ThrottleLimits {
            per_ip: 0,
            per_account: 0,
            window: Duration::from_secs(1),
        };
        let d = Directory::load(&path, vec!["example.org".into()], limits).unwrap();
        let n = max_concurrent_checks() * 2 + 1;
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let d = d.clone();
                // Unknown users: the dummy hash has the real default cost.
                let user = format!("u{i}@example.org");
                tokio::spawn(async move {
                    d.authenticate(&user, &Secret::new("x"), "192.0.2.1".parse().unwrap())
                        .await
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), AuthOutcome::Failed);
        }
        assert_eq!(d.password_checks(), n as u64);
        let peak = d.inner.hashing_peak.load(Ordering::SeqCst);
        assert!(peak >= 1 && peak <= max_concurrent_checks(), "peak {peak}");
        assert_eq!(d.inner.hashing.available_permits(), max_concurrent_checks());
    }

    #[tokio::test]
    async fn abandoned_logins_keep_their_slot_until_argon2_ends() {
        let dir = tempfile::tempdir().unwrap();
        let limits = ThrottleLimits {
            per_ip: 0,
            per_account: 0,
            window: Duration::from_secs(1),
        };
        let d = Directory::load(
            &dir.path().join("none.toml"),
            vec!["example.org".into()],
            limits,
        )
        .unwrap();
        let password = Secret::new("x");
        let login = d.authenticate("x@example.org", &password, "192.0.2.1".parse().unwrap());
        // Poll once so the check starts, then hang up.
        assert!(
            tokio::time::timeout(Duration::from_millis(1), login)
                .await
                .is_err()
        );
        // argon2 is still running on its blocking thread, holding the slot.
        assert_eq!(
            d.inner.hashing.available_permits(),
            max_concurrent_checks() - 1
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while d.inner.hashing.available_permits() != max_concurrent_checks() {
            assert!(Instant::now() < deadline, "slot never given back");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(d.password_checks(), 1);
    }
}
