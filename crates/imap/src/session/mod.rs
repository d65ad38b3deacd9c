//! The IMAP session state machine (RFC 9051 section 3), sans-IO: framed
//! input in, response bytes out (into an [`Out`]), and typed requests for
//! everything that needs the world outside. It holds no store, no socket,
//! no tokio type, and never waits: `crate::driver` performs what it asks.
//!
//! ```text
//!            +----------------------+
//!            |  NotAuthenticated    |--- STARTTLS (imap listener) --> same, over TLS
//!            +----------------------+
//!                 | LOGIN / AUTHENTICATE (Request::Authenticate, OpenAccount, AuditLogin)
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
//! with its UID map and pending changes), so no handler can reach data that
//! its state does not have. Orthogonal to it, [`Mode`] says what the next
//! input is: a command, a SASL response, IDLE's `DONE`, or nothing at all
//! while a command waits for the driver.
//!
//! # The protocol with the driver
//!
//! ```text
//!   on_frame(frame) ──▶ Step::Done(next)           command answered
//!          │
//!          └────────▶ Step::Need(request) ──driver performs──▶ resume(reply) ──▶ (again)
//! ```
//!
//! A command that needs the outside returns `Step::Need` and parks its
//! progress in `Mode::Waiting` (a [`Job`], one type per command family,
//! defined beside its handler); the driver answers with `resume`. In the
//! selected state every command ends by asking for the mailbox's change
//! events ([`Request::Updates`]) and announcing them before its tagged
//! response (RFC 9051 7.5.1); EXPUNGE/VANISHED are held back during FETCH,
//! STORE and SEARCH (non-UID forms), as the RFC requires. A long response
//! asks for [`Request::Yield`], so the driver writes what is made so far
//! and the client's reading speed paces the rest.
//!
//! Handlers live one file per command family: [`auth`] (CAPABILITY,
//! STARTTLS, LOGIN, AUTHENTICATE, ENABLE, ID, NAMESPACE, COMPRESS),
//! [`mailbox`] and [`list`] (CREATE, DELETE, RENAME, SUBSCRIBE, LIST, LSUB,
//! with `list_metadata` for LIST-METADATA,
//! STATUS, QUOTA), [`select`] (SELECT, EXAMINE, CLOSE, UNSELECT, IDLE) with
//! [`selected`] (the selected state and its untagged updates), [`fetch`]
//! (FETCH), [`search`] (SEARCH), [`sort`] (SORT, THREAD) with `esort`
//! (ESORT's answers) and `context` (RFC 5267 UPDATE contexts), [`messages`]
//! (STORE, EXPUNGE, COPY, MOVE, APPEND; a large EXPUNGE in `expunge`),
//! [`multiappend`] (MULTIAPPEND),
//! [`catenate`] (CATENATE),
//! [`replace`] (REPLACE), [`acl`] (ACL and shared mailboxes, with
//! `regrant` for a grant changed under a selected one),
//! `notify` (NOTIFY: other mailboxes' changes, unasked),
//! [`objectid`] (OBJECTID's ids, written by the
//! handlers of SELECT, CREATE, STATUS, FETCH and SEARCH), [`uidonly`]
//! (UIDONLY's refusal of sequence numbers and its UIDFETCH responses);
//! [`sync`] ends every command in the selected state.

pub(crate) mod acl;
pub(crate) mod auth;
mod catenate;
mod context;
mod copy_batched;
mod esort;
mod expunge;
pub(crate) mod fetch;
mod fetch_items;
mod gone;
mod limit;
pub(crate) mod list;
mod list_metadata;
pub(crate) mod mailbox;
pub(crate) mod messages;
mod metadata;
mod multiappend;
mod notify;
mod notify_elsewhere;
pub mod objectid;
mod outcome;
mod progress;
mod regrant;
mod replace;
mod request;
mod scan;
pub(crate) mod search;
pub(crate) mod select;
pub(crate) mod selected;
pub(crate) mod sort;
mod sync;
mod uidonly;

pub(crate) use outcome::{Done, store_reply, trim_crlf, unexpected};
pub use request::{AppendItem, Next, Reply, Request, Step, StoreReply, StoreRequest};

use crate::error::{CmdError, CmdResult};
use crate::wire::command::{Command, CommandKind, MailboxArg, Tag};
use crate::wire::framer::{Frame, FrameError};
use crate::wire::mutf7;
use crate::wire::parser::{ParseErrorKind, parse_command};
use crate::wire::response::{Code, Out, Status, string};
use sealpost_config::ImapConfig;
use sealpost_store::{AccountId, MailboxId, MailboxName};
use std::time::Duration;

pub(crate) use selected::Selected;
pub(crate) use sync::AfterSync;

/// What a session needs to know of the configuration.
#[derive(Debug, Clone, Copy)]
pub struct SessionConfig {
    /// Largest APPEND literal (advertised as APPENDLIMIT).
    pub max_literal: u64,
    /// Failed logins before the connection is closed.
    pub max_auth_failures: u32,
    /// Silence allowed before login.
    pub login_timeout: Duration,
    /// Silence allowed once logged in (at least 30 minutes, RFC 9051 5.4).
    pub idle_timeout: Duration,
    /// MESSAGELIMIT (RFC 9738): messages one command acts on.
    pub message_limit: u32,
    /// Between INPROGRESS notes (RFC 9585, `progress`).
    pub progress_interval: Duration,
}

impl SessionConfig {
    /// The largest refused non-synchronizing literal that is read and
    /// thrown away to keep the connection; a larger one closes it (twice
    /// the largest literal accepted: more is not worth the wait).
    pub fn max_discard(&self) -> u64 {
        self.max_literal.saturating_mul(2)
    }

    /// From the `[imap]` section.
    pub fn new(c: &ImapConfig) -> SessionConfig {
        SessionConfig {
            max_literal: c.max_literal,
            max_auth_failures: c.max_auth_failures,
            login_timeout: Duration::from_secs(c.login_timeout_secs),
            idle_timeout: Duration::from_secs(c.idle_timeout_secs.max(30 * 60)),
            message_limit: c.message_limit.max(1),
            progress_interval: Duration::from_millis(c.progress_interval_ms),
        }
    }
}

/// The logged-in account.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub id: AccountId,
    pub address: String,
    /// The key of its object ids (OBJECTID, RFC 8474).
    pub ids: objectid::ObjectKey,
}

/// The session's state (RFC 9051 section 3), each carrying its data.
pub(crate) enum State {
    NotAuthenticated,
    Authenticated(Account),
    Selected(Account, Box<Selected>),
    Logout,
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
    /// UIDONLY (RFC 9586): UIDs only, both ways (see [`uidonly`]).
    pub uidonly: bool,
    /// NOTIFY's FlagChange on the selected mailbox: its FETCH updates
    /// carry the UID (RFC 5465 5.1). Not from ENABLE: set per sync.
    pub flag_uid: bool,
}

impl Enabled {
    /// Whether expunges are announced as VANISHED (QRESYNC, UIDONLY).
    pub fn vanished(&self) -> bool {
        self.qresync || self.uidonly
    }
}

/// What the next input is.
pub(crate) enum Mode {
    /// A command.
    Ready,
    /// A SASL response to AUTHENTICATE (RFC 9051 6.2.2).
    Sasl { tag: Tag },
    /// `DONE` ending IDLE (RFC 2177).
    Idle { tag: Tag },
    /// Nothing: a command waits for the driver's reply.
    Waiting(Running),
}

/// A command waiting for the driver.
pub(crate) struct Running {
    tag: Tag,
    /// Whether EXPUNGE may be announced when it ends (RFC 9051 7.5.1).
    allow_expunge: bool,
    job: Job,
}

/// A command's progress while it waits, one kind per command family.
pub(crate) enum Job {
    Login(auth::Login),
    Select(select::Opening),
    Close(select::Closing),
    Fetch(Box<fetch::Fetch>),
    Search(Box<search::SearchJob>),
    Sort(Box<sort::SortJob>),
    Mailbox(mailbox::MailboxJob),
    List(Box<list::ListJob>),
    Messages(messages::MessagesJob),
    /// MULTIAPPEND (RFC 3502) waits for its one write.
    MultiAppend,
    /// CATENATE (RFC 4469) waits for a URL's message.
    Catenate(Box<catenate::CatenateJob>),
    /// A large EXPUNGE, batch by batch (`expunge`).
    Expunge(Box<expunge::ExpungeJob>),
    /// A large COPY or MOVE, batch by batch (`copy_batched`).
    Copy(Box<copy_batched::CopyJob>),
    /// REPLACE (RFC 8508) waits for its append and removal.
    Replace,
    /// An ACL command (RFC 4314) waits for the store.
    Acl(acl::AclJob),
    /// Waiting for the selected mailbox's events, then `AfterSync`.
    Sync(AfterSync),
    /// Events were lost: waiting for a snapshot, then `AfterSync`.
    Resync(AfterSync),
    /// Updating contexts are evaluated again (RFC 5267), then `AfterSync`.
    Context(Box<context::Refresh>),
    /// GETMETADATA, SETMETADATA (RFC 5464).
    Metadata(metadata::MetadataJob),
    /// NOTIFY (RFC 5465), and what it sends unasked.
    Notify(notify::NotifyJob),
}

/// What a handler decided.
pub(crate) enum Flow {
    /// Answer with this status (after the selected mailbox's changes).
    Done(CmdResult<Done>),
    /// The same, then the connection does `Next` (COMPRESS).
    DoneThen(CmdResult<Done>, Next),
    /// Ask the driver; continue with the job when the reply comes.
    Need(Request, Job),
    /// The handler answered (or changed mode) itself.
    Answered(Next),
}

/// One client's session. See the module docs.
pub struct Session {
    pub(crate) config: SessionConfig,
    /// The negotiated TLS version, once encrypted.
    pub(crate) tls: Option<String>,
    pub(crate) state: State,
    pub(crate) enabled: Enabled,
    pub(crate) auth_failures: u32,
    /// How the login in progress was made (`LOGIN` or `PLAIN`), for the
    /// audit record.
    pub(crate) login_mechanism: &'static str,
    /// Whether COMPRESS=DEFLATE is active.
    pub(crate) compressed: bool,
    pub(crate) mode: Mode,
    /// What NOTIFY asked for (RFC 5465), while on.
    pub(crate) notify: Option<Box<notify::Notify>>,
}

/// Response bytes a long command makes before it yields to the driver
/// ([`Request::Yield`]): the memory a FETCH 1:* of a large mailbox needs
/// is about this plus one message, not the whole response.
pub const SPILL_BYTES: usize = 256 * 1024;

impl Session {
    /// A new session; `tls` is the TLS version when the connection is
    /// already encrypted (imaps), `None` on the STARTTLS listener.
    pub fn new(config: SessionConfig, tls: Option<String>) -> Session {
        Session {
            config,
            tls,
            state: State::NotAuthenticated,
            enabled: Enabled::default(),
            auth_failures: 0,
            login_mechanism: "LOGIN",
            compressed: false,
            mode: Mode::Ready,
            notify: None,
        }
    }

    /// A session that starts logged in (fuzzing and tests only: it skips
    /// the password check).
    #[doc(hidden)]
    pub fn logged_in(config: SessionConfig, id: AccountId, address: String) -> Session {
        let mut s = Session::new(config, Some("TLSv1.3".into()));
        let ids = objectid::ObjectKey::new([0x5e; 32]);
        s.state = State::Authenticated(Account { id, address, ids });
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

    /// The selected mailbox, whose changes the driver must watch.
    pub fn selected_mailbox(&self) -> Option<(AccountId, MailboxId)> {
        match &self.state {
            State::Selected(a, sel) => Some((sel.account_of(a.id), sel.info.id)),
            _ => None,
        }
    }

    /// Whether the session is in IDLE, waiting for mailbox changes.
    pub fn idling(&self) -> bool {
        matches!(self.mode, Mode::Idle { .. })
    }

    /// Whether a command waits for a reply (the driver owes a `resume`).
    pub fn waiting(&self) -> bool {
        matches!(self.mode, Mode::Waiting(_))
    }

    /// How long the client may stay silent (RFC 9051 5.4: at least 30
    /// minutes once logged in; shorter before).
    pub fn timeout(&self) -> Duration {
        if self.authenticated() {
            self.config.idle_timeout
        } else {
            self.config.login_timeout
        }
    }

    /// The selected mailbox changed during IDLE (or, with NOTIFY, between
    /// commands): announce it (see `notify`).
    pub fn on_changes(&mut self, _out: &mut Out) -> Step {
        self.selected_changes()
    }

    /// Handles one frame from the framer.
    pub fn on_frame(&mut self, frame: Frame, out: &mut Out) -> Step {
        if self.waiting() {
            // The driver answers every request before it reads on.
            debug_assert!(false, "frame while a command waits");
            out.status(None, Status::Bad, Some(Code::ServerBug), "Busy");
            return Step::Done(Next::Continue);
        }
        match frame {
            Frame::Continue => {
                if self.plaintext() {
                    // No literal (a password, a name) is accepted in
                    // plaintext: refused before the client sends it
                    // (RFC 9051 6.2.1).
                    return Step::Done(Next::RefuseLiteral);
                }
                out.cont("Ready for literal data");
                Step::Done(Next::Continue)
            }
            Frame::Rejected { tag, error } => self.rejected(tag, error, out),
            Frame::Command(bytes) => match std::mem::replace(&mut self.mode, Mode::Ready) {
                Mode::Sasl { tag } => {
                    let flow = self.sasl_response(&tag, &bytes, out);
                    self.flow(tag, true, flow, out)
                }
                Mode::Idle { tag } => self.idle_line(tag, &bytes, out),
                Mode::Ready | Mode::Waiting(_) => self.command(&bytes, out),
            },
        }
    }

    /// The framer refused a command (or a SASL response, or what came
    /// instead of IDLE's `DONE`) for going over a limit; it tells us as
    /// soon as the limit is passed, before the rest arrives. Once logged
    /// in, the command gets its tagged answer at once and the framer skips
    /// the rest in silence (a refused synchronizing literal is `NO`: the
    /// client sends nothing of it). Before login, or when the literal
    /// still to come is larger than [`SessionConfig::max_discard`], the
    /// connection is closed with `BYE` instead: nobody gets to make us read
    /// gigabytes first (RFC 7888 4, RFC 9051 7.1.5).
    fn rejected(&mut self, tag: Option<String>, error: FrameError, out: &mut Out) -> Step {
        // A SASL response or IDLE's DONE belongs to its command's tag.
        let tag = match std::mem::replace(&mut self.mode, Mode::Ready) {
            Mode::Sasl { tag } | Mode::Idle { tag } => Some(tag.as_str().to_string()),
            Mode::Ready | Mode::Waiting(_) => tag,
        };
        let (code, text) = match error {
            FrameError::LineTooLong => (Code::Limit, "Command line too long"),
            FrameError::LiteralTooLarge { .. } => (Code::TooBig, "Literal too large"),
        };
        let too_much = match error {
            FrameError::LiteralTooLarge {
                synchronizing: false,
                size,
            } => size > self.config.max_discard(),
            _ => false,
        };
        if !self.authenticated() || too_much {
            out.status(None, Status::Bye, Some(code), &format!("{text}, closing"));
            self.state = State::Logout;
            return Step::Done(Next::Close);
        }
        let status = match error {
            FrameError::LiteralTooLarge {
                synchronizing: true,
                ..
            } => Status::No,
            _ => Status::Bad,
        };
        out.status(tag.as_deref(), status, Some(code), text);
        Step::Done(Next::Continue)
    }

    /// A synchronizing literal announced in plaintext was dropped by the
    /// framer (after [`Next::RefuseLiteral`]): answer its command.
    pub fn literal_refused(&mut self, tag: Option<String>, out: &mut Out) {
        out.status(
            tag.as_deref(),
            Status::Bad,
            Some(Code::PrivacyRequired),
            "Use STARTTLS first",
        );
    }

    /// The driver's answer to the last [`Step::Need`].
    pub fn resume(&mut self, reply: Reply, out: &mut Out) -> Step {
        let Mode::Waiting(Running {
            tag,
            allow_expunge,
            job,
        }) = std::mem::replace(&mut self.mode, Mode::Ready)
        else {
            debug_assert!(false, "reply without a request");
            return Step::Done(Next::Continue);
        };
        let flow = match job {
            Job::Login(j) => self.login_resume(&tag, j, reply, out),
            Job::Select(j) => self.select_resume(j, reply, out),
            Job::Close(j) => self.close_resume(j, reply),
            Job::Fetch(j) => self.fetch_resume(j, reply, out),
            Job::Search(j) => self.search_resume(&tag, j, reply, out),
            Job::Sort(j) => self.sort_resume(&tag, j, reply, out),
            Job::Mailbox(j) => self.mailbox_resume(j, reply, out),
            Job::List(j) => self.list_resume(*j, reply, out),
            Job::Messages(j) => self.messages_resume(j, reply, out),
            Job::MultiAppend => self.multi_append_resume(reply),
            Job::Catenate(j) => self.catenate_resume(j, reply),
            Job::Expunge(j) => self.expunge_resume(&tag, j, reply, out),
            Job::Copy(j) => self.copy_resume(&tag, j, reply, out),
            Job::Replace => self.replace_resume(reply, out),
            Job::Acl(j) => self.acl_resume(j, reply, out),
            Job::Metadata(j) => self.metadata_resume(j, reply, out),
            Job::Sync(after) => return self.synced(tag, allow_expunge, after, reply, out),
            Job::Resync(after) => return self.resynced(tag, allow_expunge, after, reply, out),
            Job::Context(j) => return self.context_resume(tag, allow_expunge, j, reply, out),
            Job::Notify(j) => return self.notify_resume(tag, j, reply, out),
        };
        self.flow(tag, allow_expunge, flow, out)
    }

    fn command(&mut self, bytes: &[u8], out: &mut Out) -> Step {
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
                return Step::Done(Next::Continue);
            }
        };
        let Command { tag, kind } = cmd;
        if self.enabled.uidonly && uidonly::uses_sequence_numbers(&kind) {
            let text = "Message sequence numbers are not allowed with UIDONLY";
            out.status(
                Some(tag.as_str()),
                Status::Bad,
                Some(Code::UidRequired),
                text,
            );
            return Step::Done(Next::Continue);
        }
        // Commands during which EXPUNGE must not be sent (RFC 9051 7.5.1).
        let allow_expunge = match &kind {
            CommandKind::Search { uid, .. }
            | CommandKind::Sort { uid, .. }
            | CommandKind::Thread { uid, .. }
            | CommandKind::Fetch { uid, .. }
            | CommandKind::Store { uid, .. } => *uid,
            _ => true,
        };
        let flow = self.dispatch(&tag, kind, out);
        self.flow(tag, allow_expunge, flow, out)
    }

    fn dispatch(&mut self, tag: &Tag, kind: CommandKind, out: &mut Out) -> Flow {
        let authed = self.authenticated();
        let selected = matches!(self.state, State::Selected(..));
        use CommandKind as K;
        match kind {
            K::Capability => Flow::Done(self.capability(out)),
            K::Noop => Flow::Done(Done::ok("NOOP completed")),
            K::Check if selected => Flow::Done(Done::ok("CHECK completed")),
            K::Logout => {
                out.status(None, Status::Bye, None, "Logging out");
                out.status(Some(tag.as_str()), Status::Ok, None, "LOGOUT completed");
                self.state = State::Logout;
                Flow::Answered(Next::Close)
            }
            K::StartTls if !authed => self.starttls(tag, out),
            K::Login { user, password } if !authed => self.login(tag, user, password, out),
            K::Authenticate { mechanism, initial } if !authed => {
                self.authenticate(tag, mechanism, initial, out)
            }
            K::Enable(caps) if authed => Flow::Done(self.enable(caps, out)),
            K::Id(_) => Flow::Done(self.id(out)),
            K::Namespace if authed => Flow::Done(self.namespace(out)),
            K::Compress(mechanism) if authed => self.compress(&mechanism),
            K::Select {
                mailbox,
                options,
                read_only,
            } if authed => self.select(mailbox, options, read_only, out),
            K::Create { mailbox, options } if authed => self.create(mailbox, options),
            K::Delete(m) if authed => self.delete(m),
            K::Rename { from, to } if authed => self.rename(from, to),
            K::Subscribe(m) if authed => self.subscribe(m, true),
            K::Unsubscribe(m) if authed => self.subscribe(m, false),
            K::List {
                reference,
                patterns,
                options,
            } if authed => self.list(reference, patterns, options, out),
            K::Lsub { reference, pattern } if authed => self.lsub(reference, pattern),
            K::Status { mailbox, items } if authed => self.status(mailbox, items),
            K::Append {
                mailbox,
                flags,
                date,
                message,
            } if authed => self.append(mailbox, flags, date, message),
            K::MultiAppend { mailbox, messages } if authed => self.multi_append(mailbox, messages),
            K::Catenate {
                mailbox,
                messages,
                replace,
            } if authed => self.catenate(mailbox, messages, replace),
            K::Replace {
                uid,
                target,
                mailbox,
                message,
            } if selected => self.replace(uid, target, mailbox, message),
            K::Idle if authed => self.idle(tag, out),
            K::Close if selected => self.close(true),
            K::Unselect if selected => self.close(false),
            K::Expunge { uids } if selected => self.expunge(tag, uids, out),
            K::Search { uid, ret, key } if selected => self.search(tag, uid, ret, key),
            K::Sort {
                uid,
                ret,
                criteria,
                key,
            } if selected => self.sort(tag, uid, ret, criteria, key),
            K::CancelUpdate(tags) if selected => Flow::Done(self.cancel_update(&tags)),
            K::GetMetadata {
                mailbox,
                entries,
                maxsize,
                depth,
            } if authed => self.get_metadata(mailbox, entries, maxsize, depth),
            K::SetMetadata { mailbox, entries } if authed => self.set_metadata(mailbox, entries),
            K::Thread {
                uid,
                algorithm,
                key,
            } if selected => self.thread(uid, algorithm, key),
            K::Fetch {
                uid,
                set,
                items,
                modifiers,
            } if selected => self.fetch(uid, set, items, modifiers),
            K::Store {
                uid,
                set,
                op,
                silent,
                flags,
                unchanged_since,
            } if selected => self.store_flags(messages::StoreArgs {
                uid,
                set,
                op,
                silent,
                flags,
                unchanged_since,
            }),
            K::Copy { uid, set, mailbox } if selected => {
                self.copy_move(tag, (uid, set, mailbox), false, out)
            }
            K::Move { uid, set, mailbox } if selected => {
                self.copy_move(tag, (uid, set, mailbox), true, out)
            }
            K::GetQuota(root) if authed => self.get_quota(root),
            K::GetQuotaRoot(m) if authed => self.get_quota_root(m),
            K::SetQuota { root, limits } if authed => Flow::Done(self.set_quota(root, limits)),
            K::Acl(command) if authed => self.acl(command, out),
            K::Notify(command) if authed => self.notify(command),
            _ if !authed && self.tls.is_none() => Flow::Done(Err(CmdError::bad(
                Some(Code::PrivacyRequired),
                "Use STARTTLS first",
            ))),
            _ => Flow::Done(Err(CmdError::bad(None, "Command not valid in this state"))),
        }
    }

    /// Carries out a handler's decision.
    fn flow(&mut self, tag: Tag, allow_expunge: bool, flow: Flow, out: &mut Out) -> Step {
        match flow {
            Flow::Done(result) => self.finish(tag, allow_expunge, result, Next::Continue, out),
            Flow::DoneThen(result, next) => self.finish(tag, allow_expunge, result, next, out),
            Flow::Need(request, job) => self.wait(tag, allow_expunge, job, request),
            Flow::Answered(next) => Step::Done(next),
        }
    }

    fn wait(&mut self, tag: Tag, allow_expunge: bool, job: Job, request: Request) -> Step {
        self.mode = Mode::Waiting(Running {
            tag,
            allow_expunge,
            job,
        });
        Step::Need(request)
    }

    /// The logged-in account, or a BAD for the wrong state.
    pub(crate) fn account(&self) -> CmdResult<Account> {
        match &self.state {
            State::Authenticated(a) | State::Selected(a, _) => Ok(a.clone()),
            _ => Err(CmdError::bad(None, "Not authenticated")),
        }
    }

    /// The selected mailbox, or BAD.
    pub(crate) fn selected(&mut self) -> CmdResult<(AccountId, &mut Selected)> {
        match &mut self.state {
            State::Selected(a, sel) => Ok((sel.account_of(a.id), sel)),
            _ => Err(CmdError::bad(None, "No mailbox selected")),
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
}
