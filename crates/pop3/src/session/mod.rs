//! The POP3 session state machine, sans-IO (RFC 1939 sections 3-6).
//!
//! ```text
//!   connect ──> AUTHORIZATION ──USER/PASS or AUTH ok──> TRANSACTION ──QUIT──> UPDATE ──> closed
//!                 │   ▲  │                                  │
//!                 │   └──┘ STLS (plain listener only)        └── connection lost: nothing removed
//!                 └── QUIT ──> closed
//! ```
//!
//! The socket loop feeds it [`Frame`]s and carries out the [`Action`]s it
//! returns: write a reply, start TLS, check credentials, read a message,
//! remove messages. The results come back through `on_*` methods, which
//! return the replies to send. Nothing here does I/O, so the same machine
//! runs under the TLS socket loop, the in-memory [`crate::driver`] of the
//! transcripts and the fuzz target.
//!
//! Handlers live in [`auth`] (AUTHORIZATION: CAPA, STLS, USER, PASS, AUTH,
//! APOP, UTF8) and [`transaction`] (STAT, LIST, RETR, TOP, DELE, NOOP,
//! RSET, UIDL, QUIT). The maildrop view is in [`maildrop`].
//!
//! Policy decided here:
//! - TLS first (DESIGN promise 2). On the `pop3` listener CAPA shows STLS
//!   and neither USER nor SASL; USER, PASS and AUTH answer `-ERR` until STLS
//!   has completed, without counting as failed logins.
//! - Failed logins (wrong credentials or throttled) count per connection;
//!   at `max_auth_failures` the session answers and closes. Each bad line
//!   (unknown, malformed, wrong state, too long) gets `-ERR`; after
//!   `max_bad_commands` of them the session closes.
//! - A line over the limit is answered as soon as the limit is passed (the
//!   framer does not wait for its end). Before login the session then
//!   closes: no client needs such a line there, and a 1 MB line without
//!   CRLF must not hold a connection open. After login it is one bad line.
//! - `EXPIRE 0` (config `expire_days = 0`) means retrieved messages are
//!   removed at QUIT like deleted ones (RFC 2449 section 6.7).
//! - `EXPIRE n` for n > 0 is, per RFC 2449 6.7, "the minimum server
//!   retention period": a promise to the client not to delete earlier, not a
//!   deletion schedule. sealpost keeps that promise by never deleting POP3
//!   mail on its own (as Cyrus does); an operator who also removes old mail
//!   must not do so sooner than n days.

pub mod auth;
pub mod maildrop;
pub mod transaction;

pub use maildrop::{Maildrop, MaildropEntry, MaildropRef, MessageState, NoMessage};

use crate::wire::{Command, CommandError, Frame, Reply, RespCode, parse_command};
use sealpost_config::Pop3Config;
use sealpost_directory::Secret;
use sealpost_store::Uid;

/// The server's name in the greeting and IMPLEMENTATION.
pub const IMPLEMENTATION: &str = concat!("sealpost-", env!("CARGO_PKG_VERSION"));

/// Longest SASL response line accepted (RFC 5034 section 4 lifts the 255
/// octet limit for them; PLAIN needs little).
pub const MAX_SASL_LINE: usize = 2048;

/// The policy a session follows, from `[pop3]`.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Longest command line, CRLF included.
    pub max_line: usize,
    /// Failed logins before closing.
    pub max_auth_failures: u32,
    /// Bad command lines before closing.
    pub max_bad_commands: u32,
    /// EXPIRE in days; `None` is NEVER.
    pub expire_days: Option<u32>,
    /// LOGIN-DELAY in seconds; 0 is none.
    pub login_delay_secs: u64,
}

impl From<&Pop3Config> for SessionConfig {
    fn from(c: &Pop3Config) -> Self {
        SessionConfig {
            max_line: c.max_line,
            max_auth_failures: c.max_auth_failures.max(1),
            max_bad_commands: c.max_bad_commands.max(1),
            expire_days: c.expire_days,
            login_delay_secs: c.login_delay_secs,
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig::from(&Pop3Config::default())
    }
}

/// What the socket loop must do next.
#[derive(Debug)]
pub enum Action {
    /// Send this reply and read on.
    Reply(Reply),
    /// Send this reply, then close the connection.
    Close(Reply),
    /// Send this reply, drop every buffered input byte, run the TLS
    /// handshake, then call [`Session::on_tls_established`].
    StartTls(Reply),
    /// Check these credentials, open the maildrop, then call [`Session::on_login`].
    Login {
        /// The user name given.
        user: String,
        /// The password.
        secret: Secret,
        /// `USER` (USER/PASS) or the SASL mechanism (`PLAIN`), for the audit log.
        mechanism: &'static str,
    },
    /// Read message `uid` and call [`Session::on_message`]; when it answers
    /// `+OK`, send the message stuffed ([`crate::wire::StuffedChunks`] with `top`).
    Send {
        /// Which maildrop.
        at: MaildropRef,
        /// Its message number.
        number: u32,
        /// Its UID.
        uid: Uid,
        /// `Some(n)` for TOP.
        top: Option<u32>,
    },
    /// UPDATE state: remove these messages, call [`Session::on_update`],
    /// send its reply and close. Nothing to remove when `uids` is empty.
    Update {
        /// Which maildrop.
        at: MaildropRef,
        /// The UIDs, ascending.
        uids: Vec<Uid>,
    },
}

/// How a login attempt ended, as the loop found out.
#[derive(Debug)]
pub enum LoginResult {
    /// Credentials good and the maildrop is open and locked.
    Opened(Maildrop),
    /// Wrong user name or password.
    Failed,
    /// The directory refused without a check (too many failures, or too
    /// many logins of this address waiting for one).
    Throttled(sealpost_directory::ThrottleReason),
    /// Another POP3 session holds the maildrop.
    InUse,
    /// Logged in again before the LOGIN-DELAY passed.
    TooSoon,
    /// The maildrop could not be opened.
    Unavailable(RespCode),
}

/// What reading a message found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageOutcome {
    /// The message is there, this many octets.
    Found(usize),
    /// Another session removed it.
    Gone,
    /// The store failed.
    Failed(RespCode),
}

/// The session's state; each variant carries its data.
#[derive(Debug)]
pub(crate) enum State {
    /// Before login.
    Authorization(Authorization),
    /// Logged in.
    Transaction(Maildrop),
    /// QUIT sent (UPDATE) or closed.
    Closed,
}

/// AUTHORIZATION state data.
#[derive(Debug, Default)]
pub(crate) struct Authorization {
    /// The name from USER, waiting for PASS.
    pub user: Option<String>,
    /// Failed logins so far.
    pub failures: u32,
    /// Waiting for the client's SASL PLAIN response line.
    pub sasl_pending: bool,
    /// A login is being checked: nothing else may run meanwhile.
    pub checking: bool,
}

/// One POP3 session. See the module documentation.
#[derive(Debug)]
pub struct Session {
    pub(crate) config: SessionConfig,
    /// Whether the connection is TLS (implicit, or after STLS).
    pub(crate) tls: bool,
    /// Whether UTF8 was enabled (RFC 6856).
    pub(crate) utf8: bool,
    pub(crate) bad_commands: u32,
    pub(crate) state: State,
}

impl Session {
    /// A new session; `tls` is whether the connection is already encrypted.
    pub fn new(config: SessionConfig, tls: bool) -> Session {
        Session {
            config,
            tls,
            utf8: false,
            bad_commands: 0,
            state: State::Authorization(Authorization::default()),
        }
    }

    /// The greeting (no APOP timestamp: APOP is not offered).
    pub fn greeting(&self) -> Reply {
        Reply::ok("sealpost POP3 server ready")
    }

    /// The longest line the framer should accept now.
    pub fn line_limit(&self) -> usize {
        match &self.state {
            State::Authorization(a) if a.sasl_pending => MAX_SASL_LINE,
            _ => self.config.max_line,
        }
    }

    /// Whether the session has ended (QUIT answered or a limit reached).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Whether the session is logged in.
    pub fn is_authenticated(&self) -> bool {
        matches!(self.state, State::Transaction(_))
    }

    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The maildrop, once logged in.
    pub fn maildrop(&self) -> Option<&Maildrop> {
        match &self.state {
            State::Transaction(m) => Some(m),
            _ => None,
        }
    }

    /// Handles one frame from the framer.
    pub fn on_frame(&mut self, frame: Frame) -> Action {
        if let State::Authorization(a) = &mut self.state {
            if matches!(frame, Frame::TooLong) {
                // Before login nobody needs a long line: answer and close
                // at once rather than read on (the framer says so as soon
                // as the limit is passed, not when the line ends).
                let limit = self.line_limit();
                self.state = State::Closed;
                return Action::Close(Reply::err(format!(
                    "line too long (at most {limit} octets), closing"
                )));
            }
            if a.sasl_pending {
                a.sasl_pending = false;
                if let Frame::Line(line) = frame {
                    return self.sasl_response(&line);
                }
            }
        }
        match frame {
            Frame::TooLong => self.bad(Reply::err(format!(
                "line too long (at most {} octets)",
                self.config.max_line
            ))),
            Frame::Line(line) => match parse_command(&line) {
                Ok(cmd) => self.on_command(cmd),
                Err(CommandError::Unknown) => self.bad(Reply::err("unknown command")),
                Err(e) => self.bad(Reply::err(e.to_string())),
            },
        }
    }

    /// Handles one parsed command.
    pub fn on_command(&mut self, cmd: Command) -> Action {
        match &self.state {
            State::Closed => Action::Close(Reply::err("session is over")),
            State::Authorization(_) => self.authorization(cmd),
            State::Transaction(_) => self.transaction(cmd),
        }
    }

    /// A bad line: `-ERR`, and the end once there were too many.
    pub(crate) fn bad(&mut self, reply: Reply) -> Action {
        self.bad_commands += 1;
        if self.bad_commands >= self.config.max_bad_commands {
            self.state = State::Closed;
            return Action::Close(Reply::err("too many bad commands, closing"));
        }
        Action::Reply(reply)
    }

    /// Messages removed by another session (store events).
    pub fn vanished(&mut self, uids: &[Uid]) {
        if let State::Transaction(m) = &mut self.state {
            m.vanished(uids);
        }
    }

    /// The goodbye on server shutdown; the session is over and removes nothing.
    pub fn on_shutdown(&mut self) -> Reply {
        self.state = State::Closed;
        Reply::err_code(RespCode::SysTemp, "server shutting down")
    }

    /// The CAPA response (RFC 2449 section 5) for the current state.
    pub fn capabilities(&self) -> Reply {
        let mut caps: Vec<String> = vec!["CAPA".into(), "TOP".into(), "UIDL".into()];
        let authorization = matches!(self.state, State::Authorization(_));
        if authorization && self.tls {
            caps.push("USER".into());
            caps.push("SASL PLAIN".into());
        }
        if authorization && !self.tls {
            caps.push("STLS".into());
        }
        caps.push("RESP-CODES".into());
        caps.push("AUTH-RESP-CODE".into());
        caps.push("PIPELINING".into());
        caps.push(match self.config.expire_days {
            None => "EXPIRE NEVER".into(),
            Some(d) => format!("EXPIRE {d}"),
        });
        if self.config.login_delay_secs > 0 {
            caps.push(format!("LOGIN-DELAY {}", self.config.login_delay_secs));
        }
        if authorization {
            // RFC 6856 3: the USER tag says USER/PASS take UTF-8; before
            // STLS there is no USER to speak of.
            caps.push(if self.tls { "UTF8 USER" } else { "UTF8" }.into());
        }
        caps.push(format!("IMPLEMENTATION {IMPLEMENTATION}"));
        Reply::multi("capability list follows", caps)
    }
}
