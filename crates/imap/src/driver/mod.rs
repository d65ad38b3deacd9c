//! The one IMAP driver: framer + session + everything the session asks
//! for (store calls, password checks, audit records, the selected
//! mailbox's change events), with no socket. The connection loop
//! (`crate::conn`) and every transcript test drive the same driver, over
//! the real store or the in-memory model ([`MailStore`]), so what the tests
//! see is what a client sees.
//!
//! ```text
//!   conn loop ──push_input──▶ Driver::advance ──▶ Control ──▶ conn loop writes output,
//!                                   │                         reads, upgrades TLS,
//!                                   ▼                         turns on COMPRESS, closes
//!                 framer ─frame─▶ Session ──Step::Need(request)──▶ perform ──reply──▶ Session
//! ```
//!
//! Who owns what: the session owns the protocol state and decides; the
//! driver owns the framer, the output buffer, the watch on the selected
//! mailbox (a broadcast receiver, kept in step with the session's selected
//! mailbox after every step) and the request in flight; the connection loop
//! owns the socket, COMPRESS and the timers.
//!
//! # Where the work runs
//!
//! Reads (an index, a message's metadata or content, a status, the change
//! events) are served inline on the connection's task: they never wait for
//! a disk sync, and a hop to another thread would cost more than they do.
//! A store write (APPEND, STORE, EXPUNGE, COPY, MOVE, mailbox changes, the
//! first login's account creation) waits for fsync, so the driver moves
//! itself, framer and session included, onto the blocking pool and stays
//! there: the commands already read behind the write (a pipelined batch)
//! run there too, reads and writes alike, until the input is used up or
//! output must be written. So a batch of pipelined writes costs one hand-off,
//! not one per command, and a read costs none. Password checks await the
//! directory (which hashes on its own pool).
//!
//! # Output
//!
//! Responses collect in one buffer. [`Control::Write`] hands it to the
//! connection loop mid-batch when `imap.max_in_flight` commands are
//! answered or [`FLUSH_BYTES`] are waiting, and mid-command when a long
//! response yields (`Request::Yield`, every `SPILL_BYTES`): the loop writes
//! it and calls [`Driver::advance`] again, so a client that reads slowly
//! slows the command and the server holds one part at a time. Memory
//! while idle: the buffers are released after large commands; an idle
//! session holds its state and nothing else.

mod acl;
mod gone;
mod notify;
mod perform;
mod regrant;
mod shared;
mod timing;

use crate::mailstore::MailStore;
use crate::session::{Next, Reply, Request, Session, SessionConfig, Step, StoreRequest};
use crate::wire::framer::{Frame, FrameLimits, Framer};
use crate::wire::response::Out;
use sealpost_audit::AuditLog;
use sealpost_config::Config;
use sealpost_directory::Directory;
use sealpost_store::{AccountEvent, AccountId, MailboxEvent, MailboxId, StoreError};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// Largest literal accepted before login (a password fits easily).
pub const PREAUTH_MAX_LITERAL: u64 = 8 * 1024;
/// Response bytes held before they are written, whatever `max_in_flight` says.
pub const FLUSH_BYTES: usize = 64 * 1024;

/// What the server shares with every connection.
pub struct Services<S> {
    /// The configuration.
    pub config: Arc<Config>,
    /// The mail store.
    pub store: S,
    /// Accounts and passwords.
    pub directory: Directory,
    /// The audit log.
    pub audit: AuditLog,
}

/// What the connection loop does after [`Driver::advance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Write the output, then call `advance` again (more follows).
    Write,
    /// Everything read is answered: write the output (if any), then wait
    /// for input, the timeout, and (while [`Driver::idling`]) mailbox
    /// changes ([`Driver::changed`]).
    Read,
    /// Write the output, drop buffered input ([`Driver::discard_input`]),
    /// run the TLS handshake, then [`Driver::tls_started`].
    StartTls,
    /// Write the output, then compress both directions; the input not yet
    /// framed ([`Driver::take_input`]) is already compressed.
    Compress,
    /// Write the output and close.
    Close,
}

/// The selected mailbox's change events, as the driver receives them.
struct Watch {
    account: AccountId,
    mailbox: MailboxId,
    /// Opened by EXAMINE, or through a grant: `\Recent` is shown, never
    /// claimed.
    read_only: bool,
    events: broadcast::Receiver<MailboxEvent>,
    /// Received while waiting in IDLE, not yet handed over.
    stash: Vec<MailboxEvent>,
    lagged: bool,
    /// The session's account when the mailbox is another's (a grant).
    grantee: Option<AccountId>,
    /// Events were dropped while the grant was gone.
    missed: bool,
    /// The grantee's own change stream, where a change of the grant is
    /// told (`regrant`); `None` for the user's own mailbox.
    grants: Option<broadcast::Receiver<AccountEvent>>,
    /// The grant may have changed: read it again before the next command.
    regrant: bool,
    /// The mailbox was deleted or renamed (`MailboxEvent::Gone`), or its
    /// stream ended: which of them, `gone` finds out before the next
    /// command.
    gone: bool,
    /// The stream ended (the store forgot the mailbox): not waited on
    /// until it is opened again.
    closed: bool,
    /// This session's own DELETE removed the mailbox: its `Gone` reaches
    /// the session as before (every message expunged), no BYE.
    deleted_here: bool,
}

impl Watch {
    fn ready(&self) -> bool {
        self.lagged || !self.stash.is_empty()
    }

    /// Whether something but flag changes waits (NOTIFY without
    /// FlagChange leaves those for the next command).
    fn ready_beyond_flags(&self) -> bool {
        self.lagged
            || self
                .stash
                .iter()
                .any(|e| !matches!(e, MailboxEvent::FlagsChanged(_)))
    }

    /// Everything received so far, with the `\Recent` status of the
    /// appended messages (RFC 3501 2.3.2: the first session told of a
    /// message claims it, unless it is read-only).
    fn drain<S: MailStore>(&mut self, store: &S) -> Reply {
        if let Some(user) = self.grantee
            && !shared::may_read(store, user, self.account, self.mailbox)
        {
            return self.drop_revoked();
        }
        self.take_in();
        let events = std::mem::take(&mut self.stash);
        let lagged = std::mem::take(&mut self.lagged) || std::mem::take(&mut self.missed);
        let last_appended = events
            .iter()
            .filter_map(|e| match e {
                MailboxEvent::Appended(entry) => Some(entry.uid),
                _ => None,
            })
            .max();
        let recent = last_appended
            .and_then(|through| {
                // A store error only costs the flag: the messages still
                // arrive, and the next claimer sees them recent.
                store
                    .recent_through(self.account, self.mailbox, through, !self.read_only)
                    .ok()
            })
            .unwrap_or_default();
        Reply::Updates {
            events,
            lagged,
            recent,
        }
    }
}

impl Watch {
    /// The grant is gone (RFC 4314): the grantee hears nothing more of the
    /// mailbox, not even counts; what was missed makes a resync if the
    /// grant comes back.
    fn drop_revoked(&mut self) -> Reply {
        self.take_in();
        self.stash.clear();
        self.lagged = false;
        self.missed = true;
        // The session is told before its next command (`regrant`).
        self.regrant = true;
        Reply::Updates {
            events: Vec::new(),
            lagged: false,
            recent: Vec::new(),
        }
    }
}

/// The driver's state that may move to the blocking pool and back.
struct Core {
    session: Session,
    framer: Framer,
    out: Out,
    /// Framer limits once logged in.
    limits: FrameLimits,
    max_in_flight: usize,
    /// Commands answered since the output was last handed over.
    unsent: usize,
    /// What the session waits for, not yet performed.
    pending: Option<Request>,
    watch: Option<Watch>,
    /// The account's change stream while NOTIFY is on.
    notify: Option<notify::AccountWatch>,
    timing: timing::Timing,
}

/// Why `Core::run` stopped.
enum Stop {
    Control(Control),
    /// A write is next: continue on the blocking pool.
    Blocking,
    /// A password check is next: await the directory.
    Authenticate,
}

/// One connection's driver. See the module docs.
pub struct Driver<S: MailStore> {
    services: Arc<Services<S>>,
    peer: SocketAddr,
    /// `None` only while it runs on the blocking pool (or after a panic there).
    core: Option<Box<Core>>,
}

impl<S: MailStore> Driver<S> {
    /// A driver for a new connection; `tls` is the TLS version when the
    /// connection is already encrypted (imaps), `None` on the STARTTLS
    /// listener.
    pub fn new(services: Arc<Services<S>>, peer: SocketAddr, tls: Option<String>) -> Driver<S> {
        let session = Session::new(SessionConfig::new(&services.config.imap), tls);
        Driver::with_session(services, peer, session)
    }

    /// A driver whose session starts logged in (fuzzing and tests only: it
    /// skips the password check).
    #[doc(hidden)]
    pub fn logged_in(
        services: Arc<Services<S>>,
        peer: SocketAddr,
        account: AccountId,
        address: String,
    ) -> Driver<S> {
        let config = SessionConfig::new(&services.config.imap);
        let mut d =
            Driver::with_session(services, peer, Session::logged_in(config, account, address));
        if let Some(core) = d.core.as_mut() {
            core.framer.set_limits(core.limits);
        }
        d
    }

    fn with_session(services: Arc<Services<S>>, peer: SocketAddr, session: Session) -> Driver<S> {
        let imap = &services.config.imap;
        let limits = FrameLimits {
            max_line: imap.max_line,
            max_literal: imap.max_literal,
        };
        let preauth = FrameLimits {
            max_line: limits.max_line,
            max_literal: limits.max_literal.min(PREAUTH_MAX_LITERAL),
        };
        let core = Core {
            session,
            framer: Framer::new(preauth),
            out: Out::new(),
            limits,
            max_in_flight: imap.max_in_flight.max(1),
            unsent: 0,
            pending: None,
            watch: None,
            notify: None,
            timing: timing::Timing::default(),
        };
        Driver {
            services,
            peer,
            core: Some(Box::new(core)),
        }
    }

    fn core(&mut self) -> Option<&mut Core> {
        self.core.as_deref_mut()
    }

    /// Writes the greeting into the output.
    pub fn greeting(&mut self) {
        if let Some(c) = self.core() {
            c.session.greeting(&mut c.out);
        }
    }

    /// The output waiting to be written.
    pub fn output(&self) -> &[u8] {
        self.core.as_ref().map_or(&[], |c| &c.out.buf)
    }

    /// The output was written: forget it (and its memory, if it was large).
    pub fn output_written(&mut self) {
        if let Some(c) = self.core() {
            c.out.buf.clear();
            // Keep an idle session small (the IDLE memory goal).
            if c.out.buf.capacity() > 4096 {
                c.out.buf = Vec::new();
            }
        }
    }

    /// Adds bytes read from the client.
    pub fn push_input(&mut self, bytes: &[u8]) {
        if let Some(c) = self.core() {
            c.framer.push(bytes);
        }
    }

    /// Takes the input not yet framed (after COMPRESS it is compressed).
    pub fn take_input(&mut self) -> Vec<u8> {
        self.core()
            .map(|c| c.framer.take_input())
            .unwrap_or_default()
    }

    /// Drops buffered input (after STARTTLS: it came in plaintext).
    pub fn discard_input(&mut self) {
        if let Some(c) = self.core() {
            c.framer.discard_buffered();
        }
    }

    /// Releases memory held after a large command.
    pub fn shrink(&mut self) {
        if let Some(c) = self.core() {
            c.framer.shrink();
        }
    }

    /// The connection was upgraded to TLS after STARTTLS.
    pub fn tls_started(&mut self, version: String) {
        if let Some(c) = self.core() {
            c.session.tls_established(version);
        }
    }

    /// How long the client may stay silent now.
    pub fn timeout(&self) -> Duration {
        self.core
            .as_ref()
            .map_or(Duration::ZERO, |c| c.session.timeout())
    }

    /// Whether the session is in IDLE.
    pub fn idling(&self) -> bool {
        self.core.as_ref().is_some_and(|c| c.session.idling())
    }

    /// Whether something may be sent unasked now (IDLE, NOTIFY, a change
    /// of the grant of a selected shared mailbox, the selected mailbox
    /// deleted elsewhere): wait for [`Driver::changed`] too.
    pub fn listening(&self) -> bool {
        self.core.as_ref().is_some_and(|c| {
            c.session.idling() || c.session.notify_account().is_some() || c.watch.is_some()
        })
    }

    /// Waits until the selected mailbox changes (kept for the next command
    /// unless in IDLE or NOTIFY names it; its deletion is told at once),
    /// the grant of a selected shared mailbox may have changed
    /// (`regrant`) or, with NOTIFY, another of the account's mailboxes
    /// changes (never returns when nothing is watched). Cancel-safe: what
    /// arrives is kept for the next [`Driver::advance`].
    pub async fn changed(&mut self) {
        let Some(c) = self.core.as_deref_mut() else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = Watch::changed(c.watch.as_mut()) => {}
            _ = notify::AccountWatch::changed(c.notify.as_mut()) => {}
        }
    }

    /// Writes the goodbye of a server shutdown into the output.
    pub fn shutdown(&mut self) {
        if let Some(c) = self.core() {
            c.session.shutdown(&mut c.out);
        }
    }

    /// Writes the goodbye of the idle timeout into the output.
    pub fn timed_out(&mut self) {
        if let Some(c) = self.core() {
            c.session.timed_out(&mut c.out);
        }
    }

    /// Runs the commands read so far, until the output must be written or
    /// more input is needed (see [`Control`]). Not cancel-safe: the
    /// connection loop awaits it to the end.
    pub async fn advance(&mut self) -> Control {
        loop {
            let Some(core) = self.core.as_deref_mut() else {
                return Control::Close;
            };
            match core.run(&self.services, self.peer, false) {
                Stop::Control(c) => return c,
                Stop::Authenticate => {
                    let Some(Request::Authenticate { user, password }) = core.pending.take() else {
                        continue;
                    };
                    let outcome = self
                        .services
                        .directory
                        .authenticate(&user, &password, self.peer.ip())
                        .await;
                    let step = core.session.resume(Reply::Auth(outcome), &mut core.out);
                    if let Some(c) = core.apply(step) {
                        return c;
                    }
                }
                Stop::Blocking => {
                    let Some(mut core) = self.core.take() else {
                        return Control::Close;
                    };
                    let services = self.services.clone();
                    let peer = self.peer;
                    let ran = tokio::task::spawn_blocking(move || {
                        let stop = core.run(&services, peer, true);
                        (core, stop)
                    })
                    .await;
                    let Ok((core, stop)) = ran else {
                        // A panic on the blocking pool: the session is lost.
                        return Control::Close;
                    };
                    self.core = Some(core);
                    match stop {
                        Stop::Control(c) => return c,
                        // The loop takes it from here.
                        Stop::Authenticate | Stop::Blocking => {}
                    }
                }
            }
        }
    }
}

impl Core {
    /// Frames input, feeds the session and performs what it asks, until
    /// something needs the connection loop, an await, or (unless already
    /// there, `blocking`) the blocking pool.
    fn run<S: MailStore>(
        &mut self,
        services: &Services<S>,
        peer: SocketAddr,
        blocking: bool,
    ) -> Stop {
        loop {
            notify::AccountWatch::follow(&mut self.notify, &self.session, &services.store);
            if let Some(request) = self.pending.take() {
                let reply = match request {
                    Request::Authenticate { .. } => {
                        self.pending = Some(request);
                        return Stop::Authenticate;
                    }
                    Request::Yield if !self.out.buf.is_empty() => {
                        // Resumed with `Reply::Done` once written.
                        self.pending = Some(Request::Yield);
                        self.unsent = 0;
                        return Stop::Control(Control::Write);
                    }
                    Request::Store(ref r) if r.writes() && !blocking => {
                        self.pending = Some(request);
                        return Stop::Blocking;
                    }
                    Request::OpenAccount { .. } if !blocking => {
                        self.pending = Some(request);
                        return Stop::Blocking;
                    }
                    other => self.perform(services, peer, other),
                };
                let step = self.session.resume(reply, &mut self.out);
                if let Some(c) = self.apply(step) {
                    return Stop::Control(c);
                }
                continue;
            }
            // Between commands (and in IDLE): a grant changed under a
            // selected shared mailbox takes effect now, and a selected
            // mailbox deleted by another session closes this one.
            if regrant::follow(
                &mut self.watch,
                &mut self.session,
                &services.store,
                &mut self.out,
            ) || gone::follow(
                &mut self.watch,
                &mut self.session,
                &services.store,
                &mut self.out,
            ) {
                self.unsent = 0;
                return Stop::Control(Control::Close);
            }
            let step = match self.framer.next_frame() {
                Some(frame) => {
                    if let Frame::Command(bytes) = &frame {
                        self.timing.start(bytes);
                    }
                    self.session.on_frame(frame, &mut self.out)
                }
                None if self.session.notify_ready()
                    && self
                        .notify
                        .as_mut()
                        .is_some_and(|n| n.ready(&services.store)) =>
                {
                    let (events, lagged) =
                        self.notify.as_mut().map(|n| n.drain()).unwrap_or_default();
                    self.session
                        .on_account_events(events, lagged, &mut self.out)
                }
                // The selected mailbox's changes, unasked: in IDLE, or as
                // NOTIFY says (`Session::selected_live`); NOTIFY without
                // FlagChange leaves flag changes for the next command.
                None if self.session.selected_live()
                    && (self.session.idling() || self.session.notify_ready())
                    && self.watch.as_ref().is_some_and(|w| {
                        if self.session.notify_account().is_none()
                            || self.session.notify_selected_flags()
                        {
                            w.ready()
                        } else {
                            w.ready_beyond_flags()
                        }
                    }) =>
                {
                    self.session.on_changes(&mut self.out)
                }
                None => {
                    self.unsent = 0;
                    return Stop::Control(Control::Read);
                }
            };
            if let Some(c) = self.apply(step) {
                return Stop::Control(c);
            }
        }
    }

    /// Takes in a session step; `Some` when the connection loop must act.
    fn apply(&mut self, step: Step) -> Option<Control> {
        // The watch follows the session's selected mailbox (SELECT starts
        // it in `perform`; leaving the mailbox ends it here).
        if let Some(w) = &self.watch
            && self.session.selected_mailbox().map(|(_, m)| m) != Some(w.mailbox)
        {
            self.watch = None;
        }
        let next = match step {
            Step::Need(request) => {
                self.pending = Some(request);
                return None;
            }
            Step::Done(next) => {
                self.timing.done();
                next
            }
        };
        if self.session.authenticated() {
            self.framer.set_limits(self.limits);
        }
        match next {
            Next::Continue => {
                self.unsent += 1;
                if self.unsent >= self.max_in_flight || self.out.buf.len() >= FLUSH_BYTES {
                    self.unsent = 0;
                    return Some(Control::Write);
                }
                None
            }
            Next::RefuseLiteral => {
                let tag = self.framer.refuse_literal();
                self.session.literal_refused(tag, &mut self.out);
                self.unsent = 0;
                Some(Control::Write)
            }
            Next::StartTls => Some(Control::StartTls),
            Next::Compress => Some(Control::Compress),
            Next::Close => Some(Control::Close),
        }
    }

    /// Performs a request that needs no await.
    fn perform<S: MailStore>(
        &mut self,
        services: &Services<S>,
        peer: SocketAddr,
        request: Request,
    ) -> Reply {
        match request {
            Request::OpenAccount { address, quota } => {
                Reply::Account(perform::open_account(&services.store, &address, quota))
            }
            Request::AuditLogin {
                user,
                tls,
                outcome,
                app_password,
                mechanism,
            } => {
                services.audit.record(sealpost_audit::Event::Login {
                    protocol: sealpost_audit::Protocol::Imap,
                    account: user,
                    remote: peer.to_string(),
                    tls,
                    outcome,
                    app_password,
                    mechanism: Some(mechanism.to_string()),
                });
                Reply::Done
            }
            Request::Updates => match &mut self.watch {
                Some(w) => w.drain(&services.store),
                None => Reply::Updates {
                    events: Vec::new(),
                    lagged: false,
                    recent: Vec::new(),
                },
            },
            Request::Yield => Reply::Done,
            Request::Store(StoreRequest::Acl(r)) => Reply::Store(acl::perform(
                &services.store,
                &services.directory,
                &services.audit,
                r,
            )),
            Request::Store(r) => {
                let user = self.session.account_id();
                let delete = matches!(r, StoreRequest::DeleteMailbox { .. });
                let (reply, watch) = perform::store(&services.store, user, r);
                if delete && reply.is_ok() {
                    gone::deleted_here(self.watch.as_mut(), &services.store);
                }
                // Refused by the grant as it is now: tell the session the
                // new grant right after this command (`regrant`).
                if let (Err(StoreError::NoMailbox | StoreError::Denied), Some(w)) =
                    (&reply, self.watch.as_mut())
                {
                    w.regrant = w.grantee.is_some();
                }
                if let Some(perform::NewWatch {
                    account,
                    mailbox,
                    read_only,
                    events,
                }) = watch
                {
                    let grantee = user.filter(|&u| u != account);
                    self.watch = Some(Watch {
                        account,
                        mailbox,
                        read_only: read_only || grantee.is_some(),
                        events,
                        stash: Vec::new(),
                        lagged: false,
                        grants: Watch::grants_of(&services.store, grantee),
                        grantee,
                        missed: false,
                        regrant: false,
                        gone: false,
                        closed: false,
                        deleted_here: false,
                    });
                }
                Reply::Store(reply)
            }
            // Handled by `Driver::advance`.
            Request::Authenticate { .. } => Reply::Auth(sealpost_directory::AuthOutcome::Failed),
        }
    }
}
