//! The one driver of the POP3 session: it performs every [`Action`] the
//! sans-IO [`Session`] returns (credential checks and their audit record,
//! maildrop locks, store calls on the blocking pool, replies and message
//! transfers, the TLS upgrade, idle waits and shutdown), the way
//! `sealpost_smtp`'s engine does for SMTP.
//!
//! The socket loop ([`serve`], used by [`crate::Pop3Server`] over
//! `sealpost_net` streams) and the transcript tests (over a `Vec<u8>`) both
//! go through [`Driver::feed`], so what the tests see is what a client sees.
//! What the driver needs from the store is the small [`Maildrops`]
//! interface: the real [`sealpost_store::Store`] implements it (`store.rs`),
//! and so does [`memory::MemoryMaildrops`] for the in-memory transcripts and
//! the fuzz target; the same transcript files run over both, and a
//! difference between them is a failing test.
//!
//! Order of work per frame (RFC 1939 sections 3-6): frames are cut with the
//! session's current line limit; removals by other sessions (store events)
//! are applied to the maildrop view before each command; a login takes the
//! maildrop lock (waiting a moment for a just-dropped session to let go,
//! see [`crate::locks`]) before the maildrop is opened, and the watch starts
//! before the snapshot so no removal falls between them; QUIT frees the
//! maildrop before its `+OK` is written. Pipelined commands get their
//! replies in one write (RFC 2449 PIPELINING); a message transfer is written
//! out in 64 KiB pieces as it is stuffed.
//!
//! [`serve`] waits for input under the idle timeout (`pop3.idle_timeout_secs`;
//! expiry closes without a reply and removes nothing, RFC 1939 section 3)
//! and the server's shutdown token (`-ERR [SYS/TEMP] server shutting down`).
//! When a read or write finds the connection gone, the maildrop is released
//! at once, before anything else is done on the way out.

#[doc(hidden)]
pub mod fuzz;
pub mod memory;
mod store;
mod timing;

use crate::error::resp_code;
use crate::locks::{Locks, MaildropLock};
use crate::session::{
    Action, LoginResult, Maildrop, MaildropRef, MessageOutcome, Session, SessionConfig,
};
use crate::wire::{LineFramer, Reply, StuffedChunks};
use sealpost_audit::{AuditLog, Event, LoginOutcome, Protocol};
use sealpost_directory::{AuthOutcome, Directory, Secret, ThrottleReason};
use sealpost_net::CancellationToken;
use sealpost_store::{AccountId, StoreError, Uid};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub use fuzz::fuzz_session;
pub use store::{missing_uids, open_maildrop};

/// Output is written once this much is buffered (and whenever input runs out).
const WRITE_AT: usize = 64 * 1024;
/// Bytes read from the socket at a time.
const READ_SIZE: usize = 8 * 1024;

/// What the driver needs from the mailbox store. Calls block (they run on
/// tokio's blocking pool) except [`Maildrops::vanished`], which must be
/// cheap: it runs before every command.
pub trait Maildrops: Send + Sync + 'static {
    /// Store events of one open maildrop.
    type Watch: Send + 'static;
    /// The maildrop's lock across nodes (see [`crate::locks`]); dropping
    /// it releases the maildrop for every node.
    type Claim: Send + 'static;
    /// Takes the account's maildrop for this session on every node
    /// sharing the store; `None` when a session elsewhere holds it.
    fn claim(&self, account: AccountId) -> Result<Option<Self::Claim>, StoreError>;
    /// The account's id, creating the account in the store if the directory
    /// knows it and the store does not yet.
    fn account(&self, address: &str) -> Result<AccountId, StoreError>;
    /// Opens the account's INBOX as a maildrop, watching it for removals by
    /// other sessions (the watch starts before the snapshot).
    fn open(
        &self,
        account: AccountId,
        address: &str,
    ) -> Result<(Maildrop, Self::Watch), StoreError>;
    /// A message's octets; `None` when it was removed meanwhile.
    fn read(&self, at: MaildropRef, uid: Uid) -> Result<Option<Vec<u8>>, StoreError>;
    /// Removes messages (UPDATE state); returns how many were still there.
    fn remove(&self, at: MaildropRef, uids: &[Uid]) -> Result<usize, StoreError>;
    /// Removals by others since the last call, from the watch.
    fn vanished(&self, watch: &mut Self::Watch) -> Vanished;
    /// UIDs of `maildrop` no longer in the store (after events were lost).
    fn missing(&self, maildrop: &Maildrop) -> Result<Vec<Uid>, StoreError>;
}

/// What [`Maildrops::vanished`] found.
#[derive(Debug, Default)]
pub struct Vanished {
    /// UIDs removed by other sessions.
    pub uids: Vec<Uid>,
    /// Events were lost (or the mailbox is gone): compare with the store.
    pub resync: bool,
}

/// What every connection of one POP3 service shares.
pub struct Services<M> {
    /// The session policy, from `[pop3]`.
    pub session: SessionConfig,
    /// The store.
    pub maildrops: M,
    /// Accounts and login throttling.
    pub directory: Directory,
    /// Where login records go.
    pub audit: AuditLog,
    /// Maildrop locks and last logins.
    pub locks: Arc<Locks>,
    /// How long a login waits for a maildrop held by another session to be
    /// released before answering `[IN-USE]`.
    pub lock_wait: Duration,
}

/// How long a login waits for a held maildrop by default.
pub const LOCK_WAIT: Duration = Duration::from_secs(1);

/// What the connection does after [`Driver::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Read more.
    Continue,
    /// Everything written; upgrade to TLS, then [`Driver::tls_started`].
    StartTls,
    /// Everything written; close the connection.
    Close,
}

/// What a logged-in connection holds.
struct Held<W, C> {
    watch: W,
    /// Released before the local lock, so a login this node lets in next
    /// does not find the maildrop still held elsewhere.
    _claim: C,
    _lock: MaildropLock,
}

/// One connection's session, framer and held maildrop. See the module docs.
pub struct Driver<M: Maildrops> {
    services: Arc<Services<M>>,
    session: Session,
    framer: LineFramer,
    peer: SocketAddr,
    /// The TLS version, for the audit record (`None` in plaintext).
    tls: Option<String>,
    held: Option<Held<M::Watch, M::Claim>>,
    out: Vec<u8>,
    closed: bool,
}

impl<M: Maildrops> Driver<M> {
    /// A connection from `peer`, encrypted when `tls` names a version.
    /// The greeting is waiting in the output.
    pub fn new(services: Arc<Services<M>>, peer: SocketAddr, tls: Option<String>) -> Driver<M> {
        let session = Session::new(services.session.clone(), tls.is_some());
        let mut out = Vec::new();
        session.greeting().encode(&mut out);
        Driver {
            services,
            session,
            framer: LineFramer::new(),
            peer,
            tls,
            held: None,
            out,
            closed: false,
        }
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Whether the session has ended (the connection is to be closed).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Writes what is waiting (the greeting, before any input).
    pub async fn flush<W: AsyncWrite + Unpin>(&mut self, w: &mut W) -> io::Result<()> {
        if !self.out.is_empty() {
            let r = w.write_all(&self.out).await;
            self.out.clear();
            self.gone_if(r)?;
        }
        let r = w.flush().await;
        self.gone_if(r)
    }

    /// Feeds client octets, runs every complete command and writes the
    /// replies to `w`. An error means the connection is gone (the maildrop
    /// is released already).
    pub async fn feed<W: AsyncWrite + Unpin>(
        &mut self,
        input: &[u8],
        w: &mut W,
    ) -> io::Result<Control> {
        if self.closed {
            return Ok(Control::Close);
        }
        self.framer.push(input);
        while let Some(frame) = self.framer.next_frame(self.session.line_limit()) {
            self.apply_vanished().await;
            let timed = timing::Timed::start(&frame);
            let mut action = self.session.on_frame(frame);
            loop {
                match action {
                    Action::Reply(r) => self.reply(&r, w).await?,
                    Action::Close(r) => {
                        // Free the maildrop before the goodbye leaves: a
                        // client that read it may log in again at once.
                        self.release();
                        self.closed = true;
                        r.encode(&mut self.out);
                        self.flush(w).await?;
                        return Ok(Control::Close);
                    }
                    Action::StartTls(r) => {
                        r.encode(&mut self.out);
                        self.flush(w).await?;
                        // Bytes pipelined after STLS came in plaintext: never obey them.
                        self.framer.clear();
                        return Ok(Control::StartTls);
                    }
                    Action::Login {
                        user,
                        secret,
                        mechanism,
                    } => {
                        let result = self.login(&user, secret, mechanism).await;
                        action = self.session.on_login(result);
                        continue;
                    }
                    Action::Send {
                        at,
                        number,
                        uid,
                        top,
                    } => self.send(at, number, uid, top, w).await?,
                    Action::Update { at, uids } => {
                        let result = if uids.is_empty() {
                            Ok(0)
                        } else {
                            let m = self.services.clone();
                            blocking(move || m.maildrops.remove(at, &uids))
                                .await
                                .map_err(|e| {
                                    tracing::warn!(error = %e, "pop3: removing messages at QUIT failed");
                                    resp_code(&e)
                                })
                        };
                        // As for Close: free the maildrop before the reply.
                        self.release();
                        self.closed = true;
                        self.session.on_update(result).encode(&mut self.out);
                        self.flush(w).await?;
                        return Ok(Control::Close);
                    }
                }
                timed.done();
                break;
            }
        }
        self.flush(w).await?;
        Ok(Control::Continue)
    }

    /// The TLS handshake after STLS completed.
    pub fn tls_started(&mut self, version: Option<String>) {
        self.tls = version.or_else(|| Some("TLS".into()));
        self.session.on_tls_established();
    }

    /// Server shutdown: POP3's goodbye, nothing removed.
    pub async fn shutdown<W: AsyncWrite + Unpin>(&mut self, w: &mut W) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        self.release();
        self.closed = true;
        self.session.on_shutdown().encode(&mut self.out);
        self.flush(w).await
    }

    /// The connection is gone (EOF, reset, idle timeout): release the
    /// maildrop now; nothing is removed (RFC 1939 section 6: no QUIT, no
    /// UPDATE).
    pub fn disconnect(&mut self) {
        self.release();
        self.closed = true;
    }

    fn release(&mut self) {
        self.held = None;
    }

    fn gone_if(&mut self, r: io::Result<()>) -> io::Result<()> {
        if r.is_err() {
            self.disconnect();
        }
        r
    }

    async fn reply<W: AsyncWrite + Unpin>(&mut self, r: &Reply, w: &mut W) -> io::Result<()> {
        r.encode(&mut self.out);
        if self.out.len() >= WRITE_AT {
            let res = w.write_all(&self.out).await;
            self.out.clear();
            self.gone_if(res)?;
        }
        Ok(())
    }

    /// Applies removals by other sessions to the view before a command.
    async fn apply_vanished(&mut self) {
        let Some(held) = self.held.as_mut() else {
            return;
        };
        let found = self.services.maildrops.vanished(&mut held.watch);
        if !found.uids.is_empty() {
            self.session.vanished(&found.uids);
        }
        if found.resync
            && let Some(m) = self.session.maildrop().cloned()
        {
            let s = self.services.clone();
            if let Ok(missing) = blocking(move || s.maildrops.missing(&m)).await {
                self.session.vanished(&missing);
            }
        }
    }

    async fn send<W: AsyncWrite + Unpin>(
        &mut self,
        at: MaildropRef,
        number: u32,
        uid: Uid,
        top: Option<u32>,
        w: &mut W,
    ) -> io::Result<()> {
        let s = self.services.clone();
        let read = blocking(move || s.maildrops.read(at, uid)).await;
        let outcome = match &read {
            Ok(Some(raw)) => MessageOutcome::Found(raw.len()),
            Ok(None) => MessageOutcome::Gone,
            Err(e) => {
                tracing::warn!(error = %e, "pop3: reading a message failed");
                MessageOutcome::Failed(resp_code(e))
            }
        };
        let reply = self.session.on_message(number, top, outcome);
        self.reply(&reply, w).await?;
        if let (true, Ok(Some(raw))) = (reply.is_ok(), &read) {
            for chunk in StuffedChunks::new(raw, top) {
                self.out.extend_from_slice(&chunk);
                if self.out.len() >= WRITE_AT {
                    let res = w.write_all(&self.out).await;
                    self.out.clear();
                    self.gone_if(res)?;
                }
            }
        }
        Ok(())
    }

    /// Checks credentials (recording the attempt in the audit log), takes
    /// the maildrop lock and opens the maildrop.
    async fn login(&mut self, user: &str, secret: Secret, mechanism: &str) -> LoginResult {
        let svc = self.services.clone();
        let outcome = svc
            .directory
            .authenticate(user, &secret, self.peer.ip())
            .await;
        drop(secret);
        svc.audit.record(Event::Login {
            protocol: Protocol::Pop3,
            account: user.chars().take(320).collect(),
            remote: self.peer.to_string(),
            tls: self.tls.clone(),
            outcome: match &outcome {
                AuthOutcome::Success(_) => LoginOutcome::Success,
                AuthOutcome::Failed => LoginOutcome::Failure,
                AuthOutcome::Throttled { .. } => LoginOutcome::Throttled,
            },
            app_password: match &outcome {
                AuthOutcome::Success(a) => a.app_password.clone(),
                _ => None,
            },
            mechanism: Some(mechanism.to_string()),
        });
        let address = match outcome {
            AuthOutcome::Success(a) => a.address,
            AuthOutcome::Failed => return LoginResult::Failed,
            AuthOutcome::Throttled { reason, .. } => return LoginResult::Throttled(reason),
        };
        let s = svc.clone();
        let a = address.clone();
        let account = match blocking(move || s.maildrops.account(&a)).await {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(error = %e, "pop3: opening the account failed");
                return LoginResult::Unavailable(resp_code(&e));
            }
        };
        let Some(lock) = svc.locks.lock(account, svc.lock_wait).await else {
            return LoginResult::InUse;
        };
        let claim = match claim(&svc, account, svc.lock_wait).await {
            Ok(Some(claim)) => claim,
            Ok(None) => return LoginResult::InUse,
            Err(e) => {
                tracing::warn!(error = %e, "pop3: claiming the maildrop failed");
                return LoginResult::Unavailable(resp_code(&e));
            }
        };
        let delay = Duration::from_secs(svc.session.login_delay_secs);
        if svc.locks.too_soon(account, delay) {
            return LoginResult::TooSoon;
        }
        let s = svc.clone();
        match blocking(move || s.maildrops.open(account, &address)).await {
            Ok((maildrop, watch)) => {
                self.held = Some(Held {
                    watch,
                    _claim: claim,
                    _lock: lock,
                });
                LoginResult::Opened(maildrop)
            }
            Err(e) => {
                tracing::warn!(error = %e, "pop3: opening the maildrop failed");
                LoginResult::Unavailable(resp_code(&e))
            }
        }
    }
}

impl<M: Maildrops> Drop for Driver<M> {
    fn drop(&mut self) {
        self.release();
    }
}

/// Takes the maildrop on every node (after this node's own lock), waiting
/// up to `wait` for a session elsewhere that is letting go: a client that
/// quit on one node and logs in on another at once finds its old claim
/// released within milliseconds.
async fn claim<M: Maildrops>(
    svc: &Arc<Services<M>>,
    account: AccountId,
    wait: Duration,
) -> Result<Option<M::Claim>, StoreError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let s = svc.clone();
        if let Some(claim) = blocking(move || s.maildrops.claim(account)).await? {
            return Ok(Some(claim));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(CLAIM_POLL).await;
    }
}

/// How often a login waiting for a maildrop held elsewhere asks again.
const CLAIM_POLL: Duration = Duration::from_millis(100);

/// Runs a blocking store call on tokio's blocking pool; a panicked task is
/// a temporary failure.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(StoreError::Io(format!("store task failed: {e}"))))
}

/// What to tell a client the directory refused without a check.
pub(crate) fn throttle_text(reason: ThrottleReason) -> &'static str {
    match reason {
        ThrottleReason::Failures => "too many failed logins, try again later",
        ThrottleReason::Busy => "too many logins in progress from your address, try again later",
    }
}

/// A connection the socket loop can serve: a byte stream that can be
/// upgraded to TLS (STLS).
pub trait Connection: AsyncRead + AsyncWrite + Unpin + Send + Sized {
    /// Runs the TLS handshake; returns the encrypted stream and its TLS version.
    fn start_tls(self) -> impl Future<Output = io::Result<(Self, Option<String>)>> + Send;
}

/// The socket loop: greet, then read under the idle timeout and the
/// shutdown token, feed the driver, upgrade on STLS, until the session or
/// the connection ends. Returns why it ended when that was an I/O error.
pub async fn serve<M: Maildrops, C: Connection>(
    mut driver: Driver<M>,
    mut conn: C,
    idle: Duration,
    shutdown: CancellationToken,
) -> io::Result<()> {
    driver.flush(&mut conn).await?;
    let mut buf = vec![0u8; READ_SIZE];
    let mut input_len;
    loop {
        let read = tokio::select! {
            // A client that keeps sending must not delay shutdown.
            biased;
            _ = shutdown.cancelled() => {
                let r = driver.shutdown(&mut conn).await;
                let _ = conn.shutdown().await;
                return r;
            }
            r = tokio::time::timeout(idle, conn.read(&mut buf)) => r,
        };
        input_len = match read {
            // RFC 1939 section 3: autologout closes without a response and removes nothing.
            Err(_) | Ok(Ok(0)) => {
                driver.disconnect();
                return Ok(());
            }
            Ok(Err(e)) => {
                driver.disconnect();
                return Err(e);
            }
            Ok(Ok(n)) => n,
        };
        match driver.feed(&buf[..input_len], &mut conn).await? {
            Control::Continue => {}
            Control::Close => {
                let _ = conn.shutdown().await;
                return Ok(());
            }
            Control::StartTls => {
                let (upgraded, version) = match conn.start_tls().await {
                    Ok(c) => c,
                    Err(e) => {
                        driver.disconnect();
                        return Err(e);
                    }
                };
                conn = upgraded;
                driver.tls_started(version);
            }
        }
    }
}
