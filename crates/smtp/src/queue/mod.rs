//! The outbound queue: messages for other domains, kept until the next hop
//! takes them, they bounce, or their lifetime runs out.
//!
//! - Persistent: one sealed file per message under `data_dir/queue/` (see
//!   `spool.rs`); [`Queue::enqueue`] returns only when the file is durable,
//!   which is what lets the session answer `250`.
//! - Recovery: [`Queue::open`] removes unfinished temporary files; every
//!   `*.queue` file is due again at its recorded next attempt, so a restart
//!   (or kill -9) loses nothing and re-sends at worst a message whose
//!   success had not yet been recorded (RFC 5321 6.1 prefers a duplicate to
//!   a loss).
//! - Retries: exponential backoff from `smtp.retry_initial_secs` to
//!   `smtp.retry_max_secs` on 4xx replies and connection failures; a 5xx
//!   bounces that recipient at once; when `smtp.queue_lifetime_secs` runs
//!   out the rest bounce. Bounces are RFC 3464 delivery status
//!   notifications from `MAILER-DAEMON`, never sent for a null sender.
//! - DSN (RFC 3461): each recipient keeps its NOTIFY and ORCPT, the message
//!   its RET and ENVID; they are passed to a next hop that advertises DSN.
//!   `NOTIFY=SUCCESS` gets a `relayed` DSN when the next hop does not
//!   (one that does reports delivery itself), `DELAY` (or no NOTIFY) one
//!   `delayed` DSN once a recipient has waited `smtp.delay_warning_secs`,
//!   `NEVER` nothing. See `dsn.rs`.
//! - Several nodes: over a shared (PostgreSQL) store the entries live in
//!   the database and each pass claims the due ones, so each entry is
//!   worked by exactly one node and a dead node's entries pass to another
//!   (`spool.rs`).
//! - Time is a parameter ([`Queue::run_once_at`]), so tests can act as if
//!   hours have passed.

mod client;
pub mod control;
pub(crate) mod dsn;
pub(crate) mod runner;
mod spool;
mod tls_report;

pub use tls_report::ReportOutcome;

use crate::wire::{Notify, Ret};
use sealpost_audit::AuditLog;
use sealpost_config::Config;
use sealpost_directory::Directory;
use sealpost_store::Store;
use serde::{Deserialize, Serialize};
use spool::Spool;
use std::path::Path;
use std::sync::Arc;

/// Why a queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// Disk failure.
    #[error("{path}: {message}")]
    Io {
        /// Where.
        path: String,
        /// What.
        message: String,
    },
    /// A queue file failed to decrypt or decode.
    #[error("queue file unreadable: {0}")]
    Corrupt(String),
    /// No queued message has this id (delivered or removed meanwhile).
    #[error("no queued message {0}")]
    NotFound(String),
    /// What the operator asked cannot be done (not a queue id, not held, ...).
    #[error("{0}")]
    Refused(String),
    /// A delivery attempt (on this or another node) holds the entry: the
    /// operator's action changed nothing (see `spool.rs`, "Who may change
    /// an entry").
    #[error(
        "{0}: a delivery attempt (or another queue command) is in progress on this or another node; nothing was changed, try again when it ends"
    )]
    Busy(String),
}

impl QueueError {
    fn io(path: &Path, e: std::io::Error) -> QueueError {
        QueueError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}

/// Where a queued recipient stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RecipientStatus {
    /// Not yet delivered; will be tried again.
    Pending,
    /// Taken by the next hop.
    Delivered {
        /// The host that took it.
        host: String,
    },
    /// Failed for good (and bounced if the sender wanted it).
    Failed {
        /// The reply or reason.
        reason: String,
    },
}

/// One recipient of a queued message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedRecipient {
    /// The address.
    pub address: String,
    /// DSN ORCPT, if given (xtext, as received).
    #[serde(default)]
    pub orcpt: Option<String>,
    /// DSN NOTIFY, if given (RFC 3461 4.1; absent means FAILURE,DELAY).
    #[serde(default)]
    pub notify: Option<Notify>,
    /// Where it stands.
    pub status: RecipientStatus,
    /// The last temporary error, if any.
    #[serde(default)]
    pub last_error: Option<String>,
    /// A `delayed` DSN was sent for this recipient (one is enough).
    #[serde(default)]
    pub delay_reported: bool,
}

/// A queued message's envelope and retry state (what `sealpost queue list` shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// Our id (also the file name).
    pub id: String,
    /// The envelope sender; empty for the null sender (no bounces).
    pub sender: String,
    /// The recipients.
    pub recipients: Vec<QueuedRecipient>,
    /// When it was queued (Unix seconds).
    pub created: i64,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (Unix seconds).
    pub next_attempt: i64,
    /// Size of the message in octets.
    pub size: u64,
    /// DSN ENVID, if given (xtext, as received).
    #[serde(default)]
    pub envid: Option<String>,
    /// DSN RET, if given: what a failure DSN returns (default the whole message).
    #[serde(default)]
    pub ret: Option<Ret>,
    /// Whether the message needs SMTPUTF8 at the next hop.
    #[serde(default)]
    pub smtputf8: bool,
    /// Held by the operator (`sealpost queue hold`): no attempt and no
    /// delay warning until released (see `control.rs`).
    #[serde(default)]
    pub held: bool,
    /// `REQUIRETLS` (RFC 8689): relay only to a next hop authenticated by
    /// DANE or MTA-STS that offers REQUIRETLS itself.
    #[serde(default)]
    pub requiretls: bool,
}

/// One recipient to queue.
#[derive(Debug, Clone)]
pub struct NewRecipient {
    /// The address.
    pub address: String,
    /// DSN ORCPT.
    pub orcpt: Option<String>,
    /// DSN NOTIFY.
    pub notify: Option<Notify>,
}

/// What to queue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Envelope sender, empty for `<>`.
    pub sender: String,
    /// The recipients.
    pub recipients: Vec<NewRecipient>,
    /// DSN ENVID.
    pub envid: Option<String>,
    /// DSN RET.
    pub ret: Option<Ret>,
    /// SMTPUTF8 needed.
    pub smtputf8: bool,
    /// REQUIRETLS asked (RFC 8689).
    pub requiretls: bool,
}

/// The outbound queue. Cheap to clone.
#[derive(Clone)]
pub struct Queue {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) spool: Spool,
    pub(crate) config: Arc<Config>,
    pub(crate) store: Store,
    pub(crate) audit: AuditLog,
    pub(crate) directory: Directory,
    pub(crate) wake: tokio::sync::Notify,
    /// The resolver (MX and address lookups), set by the server.
    pub(crate) mail_auth: std::sync::OnceLock<Arc<crate::mailauth::MailAuth>>,
    /// Outbound TLS policy (MTA-STS, DANE) and its policy cache.
    pub(crate) outbound: crate::outbound::Outbound,
    /// The forwarder's secret (`data_dir/srs.key`): sessions rewrite with
    /// it, and the queue reverses its own bounces of forwarded copies.
    pub(crate) srs: Arc<crate::srs::Srs>,
    /// Limits on bounces to the forwarder's SRS addresses (one per node).
    pub(crate) srs_limit: Arc<crate::srs_limit::BounceLimit>,
}

impl Queue {
    /// Opens the queue under `data_dir/queue/` (recovering from a crash).
    pub fn open(
        config: Arc<Config>,
        store: Store,
        directory: Directory,
        audit: AuditLog,
    ) -> Result<Queue, QueueError> {
        let dir = config.server.data_dir.join("queue");
        let spool = Spool::open(dir, store.clone(), config.smtp.delay_warning_secs)?;
        let data_dir = &config.server.data_dir;
        let outbound =
            crate::outbound::Outbound::new(&config.smtp, data_dir, &config.server.master_key)
                .map_err(|e| QueueError::Corrupt(format!("outbound TLS state: {e}")))?;
        let srs_limit = Arc::new(crate::srs_limit::BounceLimit::new(&config.smtp));
        let srs = crate::srs::Srs::load_or_create(data_dir)
            .map_err(|e| QueueError::io(&data_dir.join("srs.key"), e))?;
        Ok(Queue {
            inner: Arc::new(Inner {
                spool,
                config,
                store,
                audit,
                directory,
                wake: tokio::sync::Notify::new(),
                mail_auth: std::sync::OnceLock::new(),
                outbound,
                srs: Arc::new(srs),
                srs_limit,
            }),
        })
    }

    pub(crate) fn set_mail_auth(&self, auth: Arc<crate::mailauth::MailAuth>) {
        let _ = self.inner.mail_auth.set(auth);
    }

    /// Replaces the DKIM signing keys of the SMTP service this queue belongs
    /// to (submission signs with them) with the `[[smtp.dkim]]` keys of
    /// `config`; on error the keys in use stay. Returns how many sign.
    pub fn reload_dkim(&self, config: &Config) -> Result<usize, crate::MailAuthError> {
        match self.inner.mail_auth.get() {
            Some(auth) => auth.reload_signers(config),
            None => Err(crate::MailAuthError("no SMTP service runs".into())),
        }
    }

    /// Queues a message durably and returns its id. Blocks on fsync: call
    /// from `spawn_blocking` in async code.
    pub fn enqueue(&self, new: NewMessage, message: &[u8]) -> Result<String, QueueError> {
        let id = new_id();
        self.enqueue_with_id(&id, new, message)?;
        Ok(id)
    }

    /// Like [`Queue::enqueue`] with a given id (the session's message id).
    pub fn enqueue_with_id(
        &self,
        id: &str,
        new: NewMessage,
        message: &[u8],
    ) -> Result<(), QueueError> {
        let now = now();
        let entry = QueueEntry {
            id: id.to_string(),
            sender: new.sender,
            recipients: new
                .recipients
                .into_iter()
                .map(|r| QueuedRecipient {
                    address: r.address,
                    orcpt: r.orcpt,
                    notify: r.notify,
                    status: RecipientStatus::Pending,
                    last_error: None,
                    delay_reported: false,
                })
                .collect(),
            created: now,
            attempts: 0,
            next_attempt: now,
            size: message.len() as u64,
            envid: new.envid,
            ret: new.ret,
            smtputf8: new.smtputf8,
            held: false,
            requiretls: new.requiretls,
        };
        self.inner.spool.write(&entry, message)?;
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Every queued message's envelope and state, by id.
    pub fn list(&self) -> Result<Vec<QueueEntry>, QueueError> {
        let mut out = Vec::new();
        for id in self.inner.spool.ids()? {
            match self.inner.spool.read(&id) {
                Ok((entry, _)) => out.push(entry),
                // Removed between listing and reading: delivered meanwhile.
                Err(QueueError::NotFound(_) | QueueError::Io { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Removes one queued message durably without sending or bouncing it
    /// (the purge of a deleted account); one that is gone already is fine.
    pub fn remove(&self, id: &str) -> Result<(), QueueError> {
        // Ids name files: never let one be a path.
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(QueueError::Corrupt(format!("not a queue id: {id:?}")));
        }
        self.inner.spool.remove(id)
    }

    /// Makes every queued message due now and wakes the runner; returns
    /// how many messages are queued.
    pub fn flush_now(&self) -> Result<usize, QueueError> {
        let now = now();
        let ids = self.inner.spool.ids()?;
        for id in &ids {
            // An entry in an attempt now needs no flush (and must not
            // have its result overwritten by this stale copy).
            let Ok(Some(lock)) = self.inner.spool.lock(id) else {
                continue;
            };
            let _lock = control::WorkLock(Some(lock));
            if let Ok((mut entry, message)) = self.inner.spool.read(id)
                && entry.next_attempt > now
            {
                entry.next_attempt = now;
                self.inner.spool.update(&entry, &message)?;
            }
        }
        self.inner.wake.notify_one();
        Ok(ids.len())
    }
}

/// Lists the queue of a store whose server is not running (the CLI).
pub fn queue_list(
    config: Arc<Config>,
    store: Store,
    directory: Directory,
) -> Result<Vec<QueueEntry>, QueueError> {
    Queue::open(config, store, directory, AuditLog::disabled())?.list()
}

/// Makes every message of a store whose server is not running due at once
/// (the CLI): the server delivers them as soon as it starts. Returns how
/// many messages are queued.
pub fn queue_flush(
    config: Arc<Config>,
    store: Store,
    directory: Directory,
) -> Result<usize, QueueError> {
    Queue::open(config, store, directory, AuditLog::disabled())?.flush_now()
}

/// `sealpost tls-report send` on a store whose server is not running:
/// ends the report period (of `only` that domain, or all), sends its
/// reports and tries the waiting ones again.
pub async fn tls_report_send(
    config: Arc<Config>,
    store: Store,
    directory: Directory,
    only: Option<&str>,
) -> Result<Vec<ReportOutcome>, String> {
    Queue::open(config, store, directory, AuditLog::disabled())
        .map_err(|e| e.to_string())?
        .send_tls_reports_now(only)
        .await
}

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A new message id: time and randomness, hex, sortable by time.
pub(crate) fn new_id() -> String {
    use rand::RngCore;
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    format!("{micros:014x}{:08x}", rand::thread_rng().next_u32())
}
