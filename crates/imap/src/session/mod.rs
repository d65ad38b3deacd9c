//! The IMAP session state machine (RFC 9051 section 3), separate from the
//! socket: framed input in, response bytes out (into an [`Out`]), plus an
//! [`Action`] telling the connection loop what to do next.
//!
//! ```text
//!            +----------------------+
//!            |  NotAuthenticated    |--- STARTTLS (imap listener) --> same, over TLS
//!            +----------------------+
//!                 | LOGIN / AUTHENTICATE
//!                 v
//!            +----------------------+  SELECT/EXAMINE  +------------+
//!            |   Authenticated      |----------------->|  Selected  |
//!            |                      |<-----------------|            |
//!            +----------------------+ CLOSE/UNSELECT   +------------+
//!                 | LOGOUT (from any state), BYE on shutdown/timeout
//!                 v
//!              Logout
//! ```
//!
//! [`State`] carries each state's data (the account; the selected mailbox
//! with its UID map and change receiver), so no handler can reach data that
//! its state does not have. Handlers live one file per command family:
//! [`auth`] (CAPABILITY, STARTTLS, LOGIN, AUTHENTICATE, ENABLE, ID,
//! NAMESPACE), [`mailbox`] (LIST, LSUB, STATUS, CREATE, DELETE, RENAME,
//! SUBSCRIBE), [`select`] (SELECT, EXAMINE, CLOSE, UNSELECT and the
//! untagged updates of the selected state), [`fetch`] (FETCH), [`search`]
//! (SEARCH), [`sort`] (SORT, THREAD), [`messages`] (STORE, EXPUNGE, COPY,
//! MOVE, APPEND).
//!
//! Untagged updates (RFC 9051 7.5.1, 5.5): changes made by other sessions
//! arrive as `sealpost_store::MailboxEvent`s and are announced before the
//! tagged response of the next command; EXPUNGE/VANISHED are held back
//! during FETCH, STORE and SEARCH (non-UID forms), as the RFC requires.

pub(crate) mod auth;
pub(crate) mod fetch;
pub(crate) mod mailbox;
pub(crate) mod messages;
pub(crate) mod search;
pub(crate) mod select;
pub(crate) mod sort;

use crate::error::{CmdError, CmdResult};
use crate::mailstore::MailStore;
use crate::wire::command::{Command, CommandKind, MailboxArg, Tag};
use crate::wire::framer::{Frame, FrameError};
use crate::wire::mutf7;
use crate::wire::parser::{ParseErrorKind, parse_command};
use crate::wire::response::{Code, Out, Status, string};
use sealpost_audit::AuditLog;
use sealpost_config::Config;
use sealpost_directory::Directory;
use sealpost_store::{AccountId, MailboxName};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub(crate) use select::Selected;

/// What the server shares with every session.
pub struct Ctx<S> {
    /// The configuration.
    pub config: Arc<Config>,
    /// The mailbox store.
    pub store: S,
    /// Accounts and passwords.
    pub directory: Directory,
    /// The audit log.
    pub audit: AuditLog,
}

/// The logged-in account.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub id: AccountId,
    pub address: String,
}

/// The session's state (RFC 9051 section 3), each carrying its data.
pub(crate) enum State {
    NotAuthenticated,
    Authenticated(Account),
    Selected(Account, Box<Selected>),
    Logout,
}

/// What the connection loop does after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Flush the output and read on.
    Continue,
    /// Flush, drop buffered input, run the TLS handshake.
    StartTls,
    /// Flush and close.
    Close,
    /// Flush, then compress both directions with DEFLATE (RFC 4978).
    Compress,
}

/// Extensions the client turned on with ENABLE (RFC 5161).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Enabled {
    /// IMAP4rev2: UTF-8 names, no RECENT, ESEARCH-style SEARCH answers.
    pub rev2: bool,
    /// UTF8=ACCEPT (RFC 6855).
    pub utf8: bool,
    /// CONDSTORE (RFC 7162).
    pub condstore: bool,
    /// QRESYNC (RFC 7162): VANISHED instead of EXPUNGE, UID in FETCH updates.
    pub qresync: bool,
}

/// What the next input line is.
enum Mode {
    /// A command.
    Command,
    /// A SASL response to AUTHENTICATE (RFC 9051 6.2.2).
    Sasl { tag: Tag, mechanism: String },
    /// `DONE` ending IDLE (RFC 2177).
    Idle { tag: Tag },
}

/// One client's session. See the module docs.
pub struct Session<S> {
    pub(crate) ctx: Arc<Ctx<S>>,
    pub(crate) peer: SocketAddr,
    /// The negotiated TLS version, once encrypted.
    pub(crate) tls: Option<String>,
    pub(crate) state: State,
    pub(crate) enabled: Enabled,
    pub(crate) auth_failures: u32,
    /// Whether COMPRESS=DEFLATE is active.
    pub(crate) compressed: bool,
    mode: Mode,
    /// While the connection loop runs a command: where a long response
    /// (FETCH of many messages) hands over what it has so far, so the
    /// response is written as it is made instead of held whole.
    spill: Option<tokio::sync::mpsc::Sender<Vec<u8>>>,
}

/// Response bytes a long command holds before it hands them to the
/// connection ([`Session::spill`]): the memory a FETCH 1:* BODY[] of a large
/// mailbox needs is about this plus one message, not the whole mailbox.
pub const SPILL_BYTES: usize = 256 * 1024;

impl<S: MailStore> Session<S> {
    /// A new session; `tls` is the TLS version when the connection is
    /// already encrypted (imaps), `None` on the STARTTLS listener.
    pub fn new(ctx: Arc<Ctx<S>>, peer: SocketAddr, tls: Option<String>) -> Session<S> {
        Session {
            ctx,
            peer,
            tls,
            state: State::NotAuthenticated,
            enabled: Enabled::default(),
            auth_failures: 0,
            compressed: false,
            mode: Mode::Command,
            spill: None,
        }
    }

    /// Lets the next commands hand over partial responses on `tx` (the
    /// connection loop writes them in order, before the rest); `None` keeps
    /// every response whole in the output buffer.
    pub fn set_spill(&mut self, tx: Option<tokio::sync::mpsc::Sender<Vec<u8>>>) {
        self.spill = tx;
    }

    /// Hands over the response so far once it is [`SPILL_BYTES`] or more,
    /// waiting while the connection writes the previous part (backpressure).
    pub(crate) async fn spill(&self, out: &mut Out) {
        if out.buf.len() >= SPILL_BYTES
            && let Some(tx) = &self.spill
        {
            let _ = tx.send(std::mem::take(&mut out.buf)).await;
        }
    }

    /// A session that starts logged in (fuzzing and tests only: it skips
    /// the password check).
    #[doc(hidden)]
    pub fn logged_in(
        ctx: Arc<Ctx<S>>,
        peer: SocketAddr,
        id: AccountId,
        address: String,
    ) -> Session<S> {
        let mut s = Session::new(ctx, peer, Some("TLSv1.3".into()));
        s.state = State::Authenticated(Account { id, address });
        s
    }

    /// The greeting (RFC 9051 7.1.1).
    pub fn greeting(&self, out: &mut Out) {
        out.status(
            None,
            Status::Ok,
            Some(Code::Capability(self.capabilities())),
            "sealpost ready",
        );
    }

    /// The goodbye when the server shuts down.
    pub fn shutdown(&mut self, out: &mut Out) {
        out.status(None, Status::Bye, None, "Server shutting down");
        self.state = State::Logout;
    }

    /// The goodbye after the idle timeout (RFC 9051 5.4).
    pub fn timed_out(&mut self, out: &mut Out) {
        out.status(None, Status::Bye, None, "Autologout; idle for too long");
        self.state = State::Logout;
    }

    /// The connection was upgraded to TLS after STARTTLS.
    pub fn tls_established(&mut self, version: String) {
        self.tls = Some(version);
    }

    /// The logged-in account's address, for logs.
    pub fn user(&self) -> Option<&str> {
        match &self.state {
            State::Authenticated(a) | State::Selected(a, _) => Some(&a.address),
            _ => None,
        }
    }

    /// Whether the connection is still unencrypted (before STARTTLS).
    pub fn plaintext(&self) -> bool {
        self.tls.is_none()
    }

    /// Whether a user is logged in.
    pub fn authenticated(&self) -> bool {
        matches!(self.state, State::Authenticated(_) | State::Selected(..))
    }

    /// How many pipelined commands' responses may wait unsent
    /// (`imap.max_in_flight`; 0 counts as 1).
    pub fn max_in_flight(&self) -> usize {
        self.ctx.config.imap.max_in_flight.max(1)
    }

    /// Whether the session is in IDLE, waiting for mailbox changes.
    pub fn idling(&self) -> bool {
        matches!(self.mode, Mode::Idle { .. })
    }

    /// How long the client may stay silent (RFC 9051 5.4: at least 30
    /// minutes once logged in; shorter before).
    pub fn timeout(&self) -> Duration {
        let c = &self.ctx.config.imap;
        Duration::from_secs(if self.authenticated() {
            c.idle_timeout_secs.max(30 * 60)
        } else {
            c.login_timeout_secs
        })
    }

    /// Waits until the selected mailbox changes (never returns when nothing
    /// is selected). Cancel-safe.
    pub async fn changed(&mut self) {
        match &mut self.state {
            State::Selected(_, sel) => sel.wait_event().await,
            _ => std::future::pending().await,
        }
    }

    /// Announces pending mailbox changes at once (used while idling).
    pub fn announce_changes(&mut self, out: &mut Out) {
        self.sync(out, true);
    }

    /// Handles one frame from the framer.
    pub async fn on_frame(&mut self, frame: Frame, out: &mut Out) -> Action {
        match frame {
            Frame::Continue => {
                out.cont("Ready for literal data");
                Action::Continue
            }
            Frame::Rejected { tag, error } => {
                if !matches!(self.mode, Mode::Command) {
                    self.mode = Mode::Command;
                }
                let tag = tag.as_deref();
                match error {
                    FrameError::LineTooLong => {
                        out.status(tag, Status::Bad, Some(Code::Limit), "Command line too long")
                    }
                    FrameError::LiteralTooLarge { .. } => {
                        out.status(tag, Status::No, Some(Code::TooBig), "Literal too large")
                    }
                }
                Action::Continue
            }
            Frame::Command(bytes) => match std::mem::replace(&mut self.mode, Mode::Command) {
                Mode::Command => self.command(&bytes, out).await,
                Mode::Sasl { tag, mechanism } => {
                    self.sasl_response(tag, &mechanism, &bytes, out).await
                }
                Mode::Idle { tag } => {
                    let line = trim_crlf(&bytes);
                    if line.eq_ignore_ascii_case(b"DONE") {
                        self.sync(out, true);
                        out.status(Some(tag.as_str()), Status::Ok, None, "IDLE terminated");
                    } else {
                        out.status(Some(tag.as_str()), Status::Bad, None, "Expected DONE");
                    }
                    Action::Continue
                }
            },
        }
    }

    async fn command(&mut self, bytes: &[u8], out: &mut Out) -> Action {
        let cmd = match parse_command(bytes) {
            Ok(c) => c,
            Err(e) => {
                let tag = e.tag.as_ref().map(Tag::as_str);
                match e.kind {
                    ParseErrorKind::BadCharset => {
                        out.status(tag, Status::No, Some(Code::BadCharset), e.message)
                    }
                    ParseErrorKind::Syntax | ParseErrorKind::UnknownCommand => {
                        out.status(tag, Status::Bad, None, e.message)
                    }
                }
                return Action::Continue;
            }
        };
        self.dispatch(cmd, out).await
    }

    async fn dispatch(&mut self, cmd: Command, out: &mut Out) -> Action {
        let Command { tag, kind } = cmd;
        let authed = self.authenticated();
        let selected = matches!(self.state, State::Selected(..));
        use CommandKind as K;
        // Commands during which EXPUNGE must not be sent (RFC 9051 7.5.1).
        let mut allow_expunge = true;
        let result: CmdResult<Done> = match kind {
            K::Capability => self.capability(out),
            K::Noop => Done::ok("NOOP completed"),
            K::Check if selected => Done::ok("CHECK completed"),
            K::Logout => {
                out.status(None, Status::Bye, None, "Logging out");
                out.status(Some(tag.as_str()), Status::Ok, None, "LOGOUT completed");
                self.state = State::Logout;
                return Action::Close;
            }
            K::StartTls if !authed => return self.starttls(tag, out),
            K::Login { user, password } if !authed => {
                return self.login(tag, user, password, out).await;
            }
            K::Authenticate { mechanism, initial } if !authed => {
                return self.authenticate(tag, mechanism, initial, out).await;
            }
            K::Enable(caps) if authed => self.enable(caps, out),
            K::Id(_) => self.id(out),
            K::Namespace if authed => self.namespace(out),
            K::Select {
                mailbox,
                options,
                read_only,
            } if authed => self.select(mailbox, options, read_only, out).await,
            K::Create { mailbox, options } if authed => self.create(mailbox, options).await,
            K::Delete(m) if authed => self.delete(m).await,
            K::Rename { from, to } if authed => self.rename(from, to).await,
            K::Subscribe(m) if authed => self.subscribe(m, true).await,
            K::Unsubscribe(m) if authed => self.subscribe(m, false).await,
            K::List {
                reference,
                patterns,
                options,
            } if authed => self.list(reference, patterns, options, out).await,
            K::Lsub { reference, pattern } if authed => self.lsub(reference, pattern, out).await,
            K::Status { mailbox, items } if authed => self.status(mailbox, items, out).await,
            K::Append {
                mailbox,
                flags,
                date,
                message,
            } if authed => self.append(mailbox, flags, date, message).await,
            K::Idle if authed => {
                self.sync(out, true);
                out.cont("idling");
                self.mode = Mode::Idle { tag };
                return Action::Continue;
            }
            K::Close if selected => self.close(true).await,
            K::Unselect if selected => self.close(false).await,
            K::Expunge { uids } if selected => self.expunge(uids, out).await,
            K::Search { uid, ret, key } if selected => {
                allow_expunge = uid;
                self.search(&tag, uid, ret, key, out).await
            }
            K::Sort { uid, criteria, key } if selected => {
                allow_expunge = uid;
                self.sort(uid, criteria, key, out).await
            }
            K::Thread {
                uid,
                algorithm,
                key,
            } if selected => {
                allow_expunge = uid;
                self.thread(uid, algorithm, key, out).await
            }
            K::Fetch {
                uid,
                set,
                items,
                modifiers,
            } if selected => {
                allow_expunge = uid;
                self.fetch(uid, set, items, modifiers, out).await
            }
            K::Store {
                uid,
                set,
                op,
                silent,
                flags,
                unchanged_since,
            } if selected => {
                allow_expunge = uid;
                self.store_flags(uid, set, op, silent, flags, unchanged_since, out)
                    .await
            }
            K::Copy { uid, set, mailbox } if selected => {
                self.copy_move(uid, set, mailbox, false, out).await
            }
            K::Move { uid, set, mailbox } if selected => {
                self.copy_move(uid, set, mailbox, true, out).await
            }
            K::Compress(mechanism) if authed => {
                self.sync(out, true);
                if mechanism != "DEFLATE" {
                    out.status(Some(tag.as_str()), Status::Bad, None, "Unknown mechanism");
                    return Action::Continue;
                }
                if self.compressed {
                    out.status(
                        Some(tag.as_str()),
                        Status::No,
                        Some(Code::CompressionActive),
                        "Compression is already active",
                    );
                    return Action::Continue;
                }
                self.compressed = true;
                out.status(Some(tag.as_str()), Status::Ok, None, "DEFLATE active");
                return Action::Compress;
            }
            K::GetQuota(root) if authed => self.get_quota(root, out).await,
            K::GetQuotaRoot(m) if authed => self.get_quota_root(m, out).await,
            K::SetQuota { root, limits } if authed => self.set_quota(root, limits),
            _ if !authed && self.tls.is_none() => Err(CmdError::bad(
                Some(Code::PrivacyRequired),
                "Use STARTTLS first",
            )),
            _ => Err(CmdError::bad(None, "Command not valid in this state")),
        };
        self.sync(out, allow_expunge);
        match result {
            Ok(done) => out.status(Some(tag.as_str()), Status::Ok, done.code, &done.text),
            Err(e) => out.status(Some(tag.as_str()), e.status, e.code, &e.text),
        }
        Action::Continue
    }

    /// Announces what changed in the selected mailbox (RFC 9051 7.5.1).
    pub(crate) fn sync(&mut self, out: &mut Out, allow_expunge: bool) {
        if let State::Selected(account, sel) = &mut self.state {
            sel.sync(
                &self.ctx.store,
                account.id,
                self.enabled,
                out,
                allow_expunge,
            );
        }
    }

    /// The logged-in account, or a BAD for the wrong state.
    pub(crate) fn account(&self) -> CmdResult<Account> {
        match &self.state {
            State::Authenticated(a) | State::Selected(a, _) => Ok(a.clone()),
            _ => Err(CmdError::bad(None, "Not authenticated")),
        }
    }

    /// Whether mailbox names are UTF-8 on the wire (IMAP4rev2, UTF8=ACCEPT).
    pub(crate) fn utf8_names(&self) -> bool {
        self.enabled.utf8 || self.enabled.rev2
    }

    /// A mailbox name from the wire, validated (RFC 3501 5.1.3, RFC 9051 5.1).
    pub(crate) fn mailbox_name(&self, arg: &MailboxArg) -> CmdResult<MailboxName> {
        let text = if self.utf8_names() {
            arg.0.clone()
        } else {
            mutf7::decode(&arg.0).map_err(|e| CmdError::no(Some(Code::Cannot), e.to_string()))?
        };
        MailboxName::new(&text).map_err(|e| CmdError::no(Some(Code::Cannot), e.to_string()))
    }

    /// A mailbox name for the wire.
    pub(crate) fn wire_name(&self, name: &str) -> String {
        if self.utf8_names() {
            string(name, true)
        } else {
            string(&mutf7::encode(name), false)
        }
    }

    /// Runs a blocking store call off the async threads.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> CmdResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&S) -> sealpost_store::Result<T> + Send + 'static,
    {
        let store = self.ctx.store.clone();
        match tokio::task::spawn_blocking(move || f(&store)).await {
            Ok(r) => r.map_err(CmdError::from),
            Err(_) => Err(CmdError::no(Some(Code::ServerBug), "Internal error")),
        }
    }
}

/// A command's successful completion: the tagged OK's code and text.
pub(crate) struct Done {
    pub code: Option<Code>,
    pub text: String,
}

impl Done {
    pub(crate) fn ok(text: impl Into<String>) -> CmdResult<Done> {
        Ok(Done {
            code: None,
            text: text.into(),
        })
    }

    pub(crate) fn with(code: Code, text: impl Into<String>) -> CmdResult<Done> {
        Ok(Done {
            code: Some(code),
            text: text.into(),
        })
    }
}

pub(crate) fn trim_crlf(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.strip_suffix(b"\r").unwrap_or(b)
}
