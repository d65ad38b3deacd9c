//! [`Pop3Server`]: the thin socket loop around the session (RFC 1939 over
//! `sealpost_net`), and the maildrop locks.
//!
//! Per connection: greet, then repeatedly cut frames from what was read,
//! apply the store's change events to the maildrop view, run the session's
//! action, and flush the replies (pipelined commands get their replies in
//! one write, RFC 2449 PIPELINING). Reads wait under the idle timeout
//! (`pop3.idle_timeout_secs`; expiry closes silently, removing nothing, as
//! RFC 1939 section 3 asks) and under the server's shutdown token (which
//! sends `-ERR [SYS/TEMP] server shutting down`). STLS flushes `+OK`, drops
//! every buffered byte, then hands the socket to the TLS handshake.
//!
//! Locks: one POP3 session per maildrop, held in an in-process map keyed by
//! account id. The lock is a guard value dropped when the connection task
//! ends, however it ends (error, timeout, shutdown, panic), and at QUIT
//! before the `+OK` is written, so a client may log in again as soon as it
//! has read that reply. The map
//! also remembers each account's last login for LOGIN-DELAY.
//!
//! Every login attempt that reaches the directory is recorded in the audit
//! log (`Event::Login`, protocol pop3, remote ip:port, TLS version, outcome).

use crate::error::{Pop3Error, resp_code};
use crate::session::{
    Action, LoginResult, Maildrop, MaildropRef, MessageOutcome, Session, SessionConfig,
};
use crate::wire::{LineFramer, Reply, StuffedChunks};
use sealpost_audit::{AuditLog, Event, LoginOutcome, Protocol};
use sealpost_config::Config;
use sealpost_directory::{AuthOutcome, Directory, Secret};
use sealpost_net::{Conn, Handler, Stream};
use sealpost_store::{AccountId, MailboxEvent, MailboxName, Store, StoreError, Uid};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast;

/// Output is written once this much is buffered (and whenever input runs out).
const WRITE_AT: usize = 64 * 1024;
/// Bytes read from the socket at a time.
const READ_SIZE: usize = 8 * 1024;

/// The POP3 service: one per server, shared by every POP3 listener.
pub struct Pop3Server {
    config: Arc<Config>,
    session_config: SessionConfig,
    store: Store,
    directory: Directory,
    audit: AuditLog,
    locks: Arc<Locks>,
}

impl Pop3Server {
    /// The service over the server's store, directory and audit log.
    pub fn new(config: Arc<Config>, store: Store, directory: Directory, audit: AuditLog) -> Self {
        let session_config = SessionConfig::from(&config.pop3);
        Pop3Server {
            config,
            session_config,
            store,
            directory,
            audit,
            locks: Arc::new(Locks::default()),
        }
    }

    /// Whether a POP3 session holds this account's maildrop now.
    pub fn is_locked(&self, account: AccountId) -> bool {
        self.locks
            .held
            .lock()
            .map(|h| h.contains(&account))
            .unwrap_or(false)
    }
}

impl Handler for Pop3Server {
    async fn handle(self: Arc<Self>, conn: Conn) {
        let peer = conn.peer;
        if let Err(e) = self.run(conn).await {
            tracing::debug!(%peer, error = %e, "pop3 connection ended with an error");
        }
    }

    fn over_capacity_line(&self) -> Option<&'static [u8]> {
        // RFC 1939 4 lets the greeting be -ERR; RFC 3206 SYS/TEMP says retry later.
        Some(b"-ERR [SYS/TEMP] Too many connections from your address, try again later\r\n")
    }
}

/// The maildrop locks and last logins (see the module documentation).
#[derive(Default)]
struct Locks {
    held: Mutex<HashSet<AccountId>>,
    last_login: Mutex<HashMap<AccountId, Instant>>,
}

/// A held maildrop lock; dropping it releases the maildrop.
struct MaildropLock {
    locks: Arc<Locks>,
    account: AccountId,
}

impl Drop for MaildropLock {
    fn drop(&mut self) {
        if let Ok(mut held) = self.locks.held.lock() {
            held.remove(&self.account);
        }
    }
}

impl Locks {
    fn try_lock(self: &Arc<Self>, account: AccountId) -> Option<MaildropLock> {
        let mut held = self.held.lock().ok()?;
        held.insert(account).then(|| MaildropLock {
            locks: self.clone(),
            account,
        })
    }

    /// Whether a login now is too soon; records it when it is not.
    fn too_soon(&self, account: AccountId, delay: Duration) -> bool {
        let Ok(mut last) = self.last_login.lock() else {
            return false;
        };
        let now = Instant::now();
        if let Some(t) = last.get(&account)
            && now.duration_since(*t) < delay
        {
            return true;
        }
        last.insert(account, now);
        false
    }
}

/// Opens an account's INBOX as a POP3 maildrop (creating the account in the
/// store if the directory knows it and the store does not yet). Blocking.
pub fn open_maildrop(store: &Store, address: &str) -> Result<Maildrop, StoreError> {
    let account = store.ensure_account(address)?;
    let inbox = store
        .mailbox(account, &MailboxName::inbox())?
        .ok_or(StoreError::NoMailbox)?;
    let snapshot = store.snapshot(account, inbox.id)?;
    Ok(Maildrop::new(
        address.to_string(),
        MaildropRef {
            account,
            mailbox: inbox.id,
        },
        snapshot.mailbox.uid_validity,
        snapshot.entries.iter().map(|e| (e.uid, e.size)),
    ))
}

/// UIDs of `maildrop` that are no longer in the store (after lagging events).
pub fn missing_uids(store: &Store, maildrop: &Maildrop) -> Result<Vec<Uid>, StoreError> {
    let snapshot = store.snapshot(maildrop.at.account, maildrop.at.mailbox)?;
    let now: HashSet<Uid> = snapshot.entries.iter().map(|e| e.uid).collect();
    Ok(maildrop
        .entries
        .iter()
        .map(|e| e.uid)
        .filter(|u| !now.contains(u))
        .collect())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Pop3Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Pop3Error::Task(e.to_string()))
}

/// What a connection holds once logged in.
struct LoggedIn {
    _lock: MaildropLock,
    events: broadcast::Receiver<MailboxEvent>,
}

/// One connection's I/O state.
struct Connection {
    stream: Stream,
    out: Vec<u8>,
    peer: SocketAddr,
}

impl Connection {
    async fn flush(&mut self) -> Result<(), Pop3Error> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
        }
        self.stream.flush().await?;
        Ok(())
    }

    async fn reply(&mut self, r: &Reply) -> Result<(), Pop3Error> {
        r.encode(&mut self.out);
        if self.out.len() >= WRITE_AT {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }
}

/// What the loop does after an action.
enum Flow {
    Continue,
    Close,
}

impl Pop3Server {
    async fn run(self: &Arc<Self>, conn: Conn) -> Result<(), Pop3Error> {
        let Conn {
            stream,
            peer,
            tls,
            shutdown,
            handshake_timeout,
            permit,
            ..
        } = conn;
        let _permit = permit;
        let idle = Duration::from_secs(self.config.pop3.idle_timeout_secs);
        let mut session = Session::new(self.session_config.clone(), stream.is_tls());
        let mut framer = LineFramer::new();
        let mut io = Connection {
            stream,
            out: Vec::new(),
            peer,
        };
        let mut logged_in: Option<LoggedIn> = None;
        io.reply(&session.greeting()).await?;
        let mut buf = vec![0u8; READ_SIZE];
        loop {
            while let Some(frame) = framer.next_frame(session.line_limit()) {
                self.apply_events(&mut session, &mut logged_in).await;
                let action = session.on_frame(frame);
                if let Action::StartTls(reply) = action {
                    io.reply(&reply).await?;
                    io.flush().await?;
                    // Bytes pipelined after STLS were sent in plaintext: never obey them.
                    framer.clear();
                    io.stream = io
                        .stream
                        .upgrade(&tls, handshake_timeout)
                        .await
                        .map_err(Pop3Error::Tls)?;
                    session.on_tls_established();
                    continue;
                }
                match self
                    .perform(action, &mut session, &mut io, &mut logged_in)
                    .await?
                {
                    Flow::Continue => {}
                    Flow::Close => {
                        io.flush().await?;
                        let _ = io.stream.shutdown().await;
                        return Ok(());
                    }
                }
            }
            io.flush().await?;
            let read = tokio::select! {
                // A client that keeps sending must not delay shutdown.
                biased;
                _ = shutdown.cancelled() => {
                    io.reply(&session.on_shutdown()).await?;
                    io.flush().await?;
                    let _ = io.stream.shutdown().await;
                    return Ok(());
                }
                r = tokio::time::timeout(idle, io.stream.read(&mut buf)) => r,
            };
            match read {
                // RFC 1939 section 3: autologout closes without a response and removes nothing.
                Err(_) => return Ok(()),
                Ok(Ok(0)) => return Ok(()),
                Ok(Ok(n)) => framer.push(&buf[..n]),
                Ok(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// Applies removals by other sessions to the view before a command.
    async fn apply_events(&self, session: &mut Session, logged_in: &mut Option<LoggedIn>) {
        let Some(li) = logged_in.as_mut() else {
            return;
        };
        let mut resync = false;
        loop {
            match li.events.try_recv() {
                Ok(MailboxEvent::Expunged { uids, .. }) => session.vanished(&uids),
                Ok(MailboxEvent::Gone) | Err(broadcast::error::TryRecvError::Lagged(_)) => {
                    resync = true
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if resync && let Some(m) = session.maildrop().cloned() {
            let store = self.store.clone();
            if let Ok(Ok(missing)) = blocking(move || missing_uids(&store, &m)).await {
                session.vanished(&missing);
            }
        }
    }

    async fn perform(
        &self,
        action: Action,
        session: &mut Session,
        io: &mut Connection,
        logged_in: &mut Option<LoggedIn>,
    ) -> Result<Flow, Pop3Error> {
        match action {
            Action::Reply(r) => {
                io.reply(&r).await?;
                Ok(Flow::Continue)
            }
            Action::Close(r) | Action::StartTls(r) => {
                // Free the maildrop before the goodbye leaves: a client that
                // read QUIT's +OK may log in again at once, and the task's
                // own end (TLS close, drop) can come after that login.
                *logged_in = None;
                io.reply(&r).await?;
                Ok(Flow::Close)
            }
            Action::Login { user, secret } => {
                let result = self.login(&user, secret, io, logged_in).await;
                let next = session.on_login(result);
                Box::pin(self.perform(next, session, io, logged_in)).await
            }
            Action::Send {
                at,
                number,
                uid,
                top,
            } => {
                let store = self.store.clone();
                let read = blocking(move || store.read(at.account, at.mailbox, uid)).await?;
                let outcome = match &read {
                    Ok(Some(raw)) => MessageOutcome::Found(raw.len()),
                    Ok(None) => MessageOutcome::Gone,
                    Err(e) => {
                        tracing::warn!(error = %e, "pop3: reading a message failed");
                        MessageOutcome::Failed(resp_code(e))
                    }
                };
                let reply = session.on_message(number, top, outcome);
                io.reply(&reply).await?;
                if let (true, Ok(Some(raw))) = (reply.is_ok(), &read) {
                    for chunk in StuffedChunks::new(raw, top) {
                        io.out.extend_from_slice(&chunk);
                        if io.out.len() >= WRITE_AT {
                            io.stream.write_all(&io.out).await?;
                            io.out.clear();
                        }
                    }
                }
                Ok(Flow::Continue)
            }
            Action::Update { at, uids } => {
                let store = self.store.clone();
                let removed = blocking(move || store.remove(at.account, at.mailbox, &uids)).await?;
                let result = match removed {
                    Ok(gone) => Ok(gone.len()),
                    Err(e) => {
                        tracing::warn!(error = %e, "pop3: removing messages at QUIT failed");
                        Err(resp_code(&e))
                    }
                };
                // As for Action::Close: free the maildrop before the reply
                // can reach the client (a large buffer is written at once).
                *logged_in = None;
                io.reply(&session.on_update(result)).await?;
                Ok(Flow::Close)
            }
        }
    }

    async fn login(
        &self,
        user: &str,
        secret: Secret,
        io: &Connection,
        logged_in: &mut Option<LoggedIn>,
    ) -> LoginResult {
        let outcome = self
            .directory
            .authenticate(user, &secret, io.peer.ip())
            .await;
        drop(secret);
        let audit_outcome = match &outcome {
            AuthOutcome::Success(_) => LoginOutcome::Success,
            AuthOutcome::Failed => LoginOutcome::Failure,
            AuthOutcome::Throttled { .. } => LoginOutcome::Throttled,
        };
        self.audit.record(Event::Login {
            protocol: Protocol::Pop3,
            account: user.to_string(),
            remote: io.peer.to_string(),
            tls: io.stream.tls_info().map(|t| t.version),
            outcome: audit_outcome,
        });
        let account = match outcome {
            AuthOutcome::Success(a) => a,
            AuthOutcome::Failed => return LoginResult::Failed,
            AuthOutcome::Throttled { .. } => return LoginResult::Throttled,
        };
        let primary = account.address;
        let store = self.store.clone();
        let address = primary.clone();
        let id = match blocking(move || store.ensure_account(&address)).await {
            Ok(Ok(id)) => id,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "pop3: opening the account failed");
                return LoginResult::Unavailable(resp_code(&e));
            }
            Err(_) => return LoginResult::Unavailable(crate::wire::RespCode::SysTemp),
        };
        let Some(lock) = self.locks.try_lock(id) else {
            return LoginResult::InUse;
        };
        let delay = Duration::from_secs(self.config.pop3.login_delay_secs);
        if !delay.is_zero() && self.locks.too_soon(id, delay) {
            return LoginResult::TooSoon;
        }
        let store = self.store.clone();
        let address = primary;
        // Watch before the snapshot, so no removal falls between them.
        let opened = blocking(move || -> Result<_, StoreError> {
            let inbox = store
                .mailbox(id, &MailboxName::inbox())?
                .ok_or(StoreError::NoMailbox)?;
            let events = store.watch(id, inbox.id)?;
            let maildrop = open_maildrop(&store, &address)?;
            Ok((maildrop, events))
        })
        .await;
        match opened {
            Ok(Ok((maildrop, events))) => {
                *logged_in = Some(LoggedIn {
                    _lock: lock,
                    events,
                });
                LoginResult::Opened(maildrop)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "pop3: opening the maildrop failed");
                LoginResult::Unavailable(resp_code(&e))
            }
            Err(_) => LoginResult::Unavailable(crate::wire::RespCode::SysTemp),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maildrop_lock_is_exclusive_and_released_on_drop() {
        let locks = Arc::new(Locks::default());
        let a = locks.try_lock(AccountId(1)).expect("free");
        assert!(locks.try_lock(AccountId(1)).is_none(), "held");
        let b = locks
            .try_lock(AccountId(2))
            .expect("other accounts are independent");
        drop(a);
        assert!(
            locks.try_lock(AccountId(1)).is_some(),
            "released when dropped"
        );
        drop(b);
        assert!(locks.held.lock().unwrap().is_empty());
    }

    #[test]
    fn login_delay_counts_from_the_last_login() {
        let locks = Locks::default();
        let delay = Duration::from_secs(300);
        assert!(!locks.too_soon(AccountId(1), delay));
        assert!(locks.too_soon(AccountId(1), delay));
        assert!(!locks.too_soon(AccountId(2), delay));
        assert!(!locks.too_soon(AccountId(3), Duration::ZERO));
        assert!(!locks.too_soon(AccountId(3), Duration::ZERO));
    }
}
