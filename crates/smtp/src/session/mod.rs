//! The SMTP session state machine (RFC 5321 4.1.4, 3.3), sans-IO.
//!
//! ```text
//!   connect ──220──▶ Greeted ──EHLO/HELO──▶ Ready ──MAIL──▶ Mail ──RCPT──▶ Mail(rcpts)
//!                      ▲  STARTTLS (RFC 3207 4.2: back to Greeted,  │        │DATA 354 → message → 250
//!                      │  everything learnt before is forgotten)   │        │BDAT chunks → LAST → 250
//!                      └────────────────────────────────────────────┘  RSET / end of transaction → Ready
//! ```
//!
//! [`Session::on_frame`] takes one [`Frame`] from the framer and returns an
//! [`Action`] for the socket loop: a reply, a reply followed by a TLS upgrade,
//! a credential check or a delivery (both async: the loop performs them and
//! feeds the result back with [`Session::auth_result`] and
//! [`Session::delivered`]).
//!
//! Policy decided here:
//! - TLS only: MAIL, RCPT, DATA and BDAT before STARTTLS get `530 5.7.0`
//!   (even before EHLO: nothing proceeds before TLS); AUTH before it `538
//!   5.7.11`. After TLS, MAIL before EHLO is the usual `503 5.5.1`.
//! - Inbound (MX) never offers AUTH; submission requires it before MAIL (RFC 6409 4.3).
//! - Recipients: hosted users only, `550 5.1.1` unknown, `550 5.7.1` relaying
//!   denied unless authenticated (no open relay on any listener). Two kinds
//!   of hosted address leave again: a forwarding address the accounts file
//!   names (its copies carry the sender rewritten with SRS, or the RCPT is
//!   refused when the sender cannot be rewritten) and an SRS address of
//!   ours whose hash and age check out (a bounce, relayed to the original
//!   sender; forged or expired: `550 5.1.1`). Nothing else is relayed.
//! - Every 5xx answer to the client counts as an error; past
//!   `smtp.max_errors` the session ends with `421 4.7.0`.
//!
//! One file per command family: `hello.rs` (EHLO, HELO, STARTTLS, RSET,
//! NOOP, HELP, VRFY, EXPN, QUIT), `envelope.rs` (MAIL, RCPT), `data.rs`
//! (DATA, BDAT), `auth.rs` (AUTH PLAIN/LOGIN, RFC 4954).

mod auth;
mod data;
mod envelope;
mod hello;

pub use auth::AuthExchange;

use crate::srs::Srs;
use crate::wire::{Address, Command, Enhanced, Frame, MailParams, RcptParams, Reply, ReversePath};
use sealpost_directory::{Account, AuthOutcome, Directory, Secret};
use std::sync::Arc;

/// Which service a session provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Inbound MX (port 25): hosted recipients only, no AUTH.
    Inbound,
    /// Submission (587 STARTTLS, 465 implicit TLS): AUTH required.
    Submission,
}

/// Session limits and identity.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Our host name (greeting, EHLO).
    pub hostname: String,
    /// The service.
    pub role: Role,
    /// Largest message, advertised with SIZE.
    pub max_message_size: u64,
    /// Recipients per message.
    pub max_recipients: usize,
    /// Errors before the session is closed.
    pub max_errors: u32,
    /// Failed AUTH attempts before the session is closed.
    pub max_auth_failures: u32,
    /// The first hosted domain, for `RCPT TO:<Postmaster>`.
    pub postmaster_domain: Option<String>,
    /// The forwarder's secret: rewrites the sender of forwarded copies and
    /// reverses bounces to them ([`crate::srs`]).
    pub srs: Arc<Srs>,
    /// Limits on bounces to SRS addresses, shared by the node's sessions
    /// ([`crate::srs_limit`]).
    pub srs_limit: Arc<crate::srs_limit::BounceLimit>,
}

/// Where one accepted recipient goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A hosted account: its primary address.
    Local(String),
    /// Another domain: the outbound queue (submission only).
    Remote,
    /// A forwarding address (`[[forward]]` in the accounts file): a copy
    /// for each outside target through the queue, under the rewritten
    /// sender, and the hosted account that keeps one, if any.
    Forward {
        /// The forwarding address that matched (for the loop check).
        alias: String,
        /// The account that keeps a copy.
        local: Option<String>,
        /// The outside targets.
        remote: Vec<String>,
        /// The envelope sender of the forwarded copies (SRS0, or empty for
        /// the null sender).
        sender: String,
    },
    /// A bounce to one of our SRS addresses, reversed: relayed to the
    /// original sender under the envelope sender as given.
    Reversed(String),
}

impl Destination {
    /// The hosted account that gets a copy, if any.
    pub fn local_account(&self) -> Option<&String> {
        match self {
            Destination::Local(primary) => Some(primary),
            Destination::Forward { local, .. } => local.as_ref(),
            Destination::Remote | Destination::Reversed(_) => None,
        }
    }

    /// Whether a copy leaves through the outbound queue.
    pub fn is_outbound(&self) -> bool {
        match self {
            Destination::Local(_) => false,
            Destination::Forward { remote, .. } => !remote.is_empty(),
            Destination::Remote | Destination::Reversed(_) => true,
        }
    }
}

/// One accepted recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The address as given in RCPT TO.
    pub address: Address,
    /// DSN parameters.
    pub params: RcptParams,
    /// Where it goes.
    pub destination: Destination,
}

/// The envelope of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// MAIL FROM.
    pub from: ReversePath,
    /// MAIL parameters.
    pub params: MailParams,
    /// Accepted recipients.
    pub recipients: Vec<Recipient>,
}

/// A received message, ready to be delivered or queued.
#[derive(Debug, Clone)]
pub struct Message {
    /// The envelope.
    pub envelope: Envelope,
    /// The message as received (CRLF line ends, unstuffed).
    pub data: Vec<u8>,
    /// The client's EHLO/HELO name, as given.
    pub helo: String,
    /// Whether the client used EHLO (ESMTP) rather than HELO.
    pub esmtp: bool,
    /// The authenticated account (submission).
    pub account: Option<Account>,
    /// Whether it came through BDAT (CHUNKING).
    pub chunked: bool,
}

/// What the socket loop must do next.
#[derive(Debug)]
pub enum Action {
    /// Send this reply.
    Reply(Reply),
    /// Send this reply (354), then read a DATA message.
    StartData(Reply),
    /// Send this reply (220), drop any buffered input, then run the TLS
    /// handshake and call [`Session::tls_started`].
    StartTls(Reply),
    /// Check these credentials, then call [`Session::auth_result`].
    Authenticate {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
        /// The SASL mechanism (`PLAIN`, `LOGIN`), for the audit log.
        mechanism: &'static str,
    },
    /// A BDAT chunk is about to stream in: tell the framer to keep it
    /// ([`crate::wire::Framer::keep_chunk`]) when `keep`, else it is counted
    /// down and dropped. Nothing is sent; the reply comes with the chunk's end.
    ReadChunk {
        /// Whether the chunk belongs to a transaction that can take it.
        keep: bool,
    },
    /// Deliver/queue this message, send the reply, then call [`Session::delivered`].
    Deliver(Box<Message>),
    /// Send this reply and close the connection.
    Close(Reply),
}

/// What the client said it is.
#[derive(Debug, Clone)]
struct Helo {
    name: String,
    esmtp: bool,
}

/// Transaction state (RFC 5321 3.3); each variant carries its data.
#[derive(Debug, Default)]
enum Transaction {
    /// No MAIL yet.
    #[default]
    Idle,
    /// After MAIL, collecting recipients.
    Mail(Envelope),
    /// Receiving BDAT chunks.
    Chunking { envelope: Envelope, data: Vec<u8> },
    /// A BDAT chunk failed: later chunks are read and refused until LAST.
    ChunkingFailed(Reply),
}

/// Authentication state (submission).
#[derive(Debug, Default)]
enum AuthState {
    #[default]
    None,
    /// Inside an AUTH exchange: the next line is a response, not a command.
    Exchange(AuthExchange),
    /// Waiting for the directory's answer.
    Checking,
    /// Logged in.
    Authenticated(Account),
}

/// One client session. See the module docs.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    tls: bool,
    helo: Option<Helo>,
    auth: AuthState,
    transaction: Transaction,
    errors: u32,
    auth_failures: u32,
}

impl Session {
    /// A new session; `tls` is true on implicit-TLS listeners.
    pub fn new(config: SessionConfig, tls: bool) -> Session {
        Session {
            config,
            tls,
            helo: None,
            auth: AuthState::None,
            transaction: Transaction::Idle,
            errors: 0,
            auth_failures: 0,
        }
    }

    /// The greeting (RFC 5321 4.2, 3.1).
    pub fn greeting(&self) -> Reply {
        Reply::plain(220, format!("{} ESMTP sealpost", self.config.hostname))
    }

    /// The goodbye on server shutdown.
    pub fn shutdown_reply(&self) -> Reply {
        Reply::new(421, Enhanced(4, 3, 2), "Server shutting down")
    }

    /// The reply when the client was silent too long.
    pub fn timeout_reply(&self) -> Reply {
        Reply::new(421, Enhanced(4, 4, 2), "Timeout: closing connection")
    }

    /// Whether the session is encrypted.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Whether the next line is a response inside an AUTH exchange.
    pub fn in_auth_exchange(&self) -> bool {
        matches!(self.auth, AuthState::Exchange(_))
    }

    /// The authenticated account, if any.
    pub fn account(&self) -> Option<&Account> {
        match &self.auth {
            AuthState::Authenticated(a) => Some(a),
            _ => None,
        }
    }

    /// Handles one frame.
    pub fn on_frame(&mut self, frame: Frame, directory: &Directory) -> Action {
        // A line that is no response ends an AUTH exchange: the next line is
        // a command again, so the client and we stay in step.
        let in_exchange = matches!(self.auth, AuthState::Exchange(_));
        if in_exchange && matches!(frame, Frame::LineTooLong | Frame::BareLf) {
            self.auth = AuthState::None;
        }
        let action = match frame {
            Frame::LineTooLong if in_exchange => Action::Reply(Reply::new(
                500,
                Enhanced(5, 5, 6),
                "Authentication response too long (RFC 4954 4: 12288 octets); exchange cancelled",
            )),
            Frame::LineTooLong => Action::Reply(Reply::new(
                500,
                Enhanced(5, 5, 6),
                "Line too long (RFC 5321 4.5.3.1.4: 512 octets)",
            )),
            Frame::BareLf => Action::Reply(Reply::new(
                500,
                Enhanced(5, 5, 2),
                "Bare LF: command lines must end with CRLF",
            )),
            // Nothing could find the end of that chunk: answer and close.
            Frame::BdatTooBig => Action::Close(Reply::new(
                552,
                Enhanced(5, 3, 4),
                "Message size exceeds fixed maximum message size; closing",
            )),
            Frame::Line(line) => match std::mem::take(&mut self.auth) {
                AuthState::Exchange(ex) => self.auth_response(ex, &line),
                other => {
                    self.auth = other;
                    match Command::parse(&line) {
                        Ok(cmd) => self.on_command(cmd, directory),
                        Err(e) => Action::Reply(e.reply()),
                    }
                }
            },
            Frame::Data(result) => self.on_data(result),
            Frame::BdatStart { size, .. } => self.on_bdat_start(size),
            Frame::Bdat { size, last, chunk } => self.on_bdat(size, last, chunk),
        };
        self.count_errors(action)
    }

    fn on_command(&mut self, cmd: Command, directory: &Directory) -> Action {
        match cmd {
            Command::Ehlo(name) => self.hello(name, true),
            Command::Helo(name) => self.hello(name, false),
            Command::StartTls => self.starttls(),
            Command::Auth { mechanism, initial } => self.auth(&mechanism, initial),
            Command::Mail { from, params } => self.mail(from, params, directory),
            Command::Rcpt { to, params } => self.rcpt(to, params, directory),
            Command::Data => self.data(),
            // The framer turns valid BDAT lines into chunks; this is unreachable
            // in practice but answered correctly anyway.
            Command::Bdat { .. } => {
                Action::Reply(Reply::new(501, Enhanced(5, 5, 4), "BDAT chunk missing"))
            }
            Command::Rset => self.rset(),
            Command::Noop => Action::Reply(ok("OK")),
            Command::Help => Action::Reply(Reply::new(
                214,
                Enhanced(2, 0, 0),
                "See RFC 5321; https://www.rfc-editor.org/rfc/rfc5321",
            )),
            Command::Vrfy => Action::Reply(Reply::new(
                252,
                Enhanced(2, 5, 0),
                "Cannot VRFY user, but will accept message and attempt delivery",
            )),
            Command::Expn => {
                Action::Reply(Reply::new(502, Enhanced(5, 5, 1), "EXPN not available"))
            }
            Command::Quit => Action::Close(Reply::new(221, Enhanced(2, 0, 0), "Bye")),
        }
    }

    /// Counts 5xx replies; past the limit, the session ends with 421.
    fn count_errors(&mut self, action: Action) -> Action {
        let failed = match &action {
            Action::Reply(r) | Action::Close(r) => r.is_permanent(),
            _ => false,
        };
        if failed {
            self.errors += 1;
            if self.errors >= self.config.max_errors {
                return Action::Close(Reply::new(
                    421,
                    Enhanced(4, 7, 0),
                    "Too many errors, closing connection",
                ));
            }
        }
        action
    }

    /// The TLS handshake after STARTTLS succeeded: forget everything learnt
    /// before it (RFC 3207 4.2).
    pub fn tls_started(&mut self) {
        self.tls = true;
        self.helo = None;
        self.auth = AuthState::None;
        self.transaction = Transaction::Idle;
    }

    /// The directory's answer to [`Action::Authenticate`].
    pub fn auth_result(&mut self, outcome: AuthOutcome) -> Action {
        match std::mem::take(&mut self.auth) {
            AuthState::Checking => {}
            other => {
                self.auth = other;
                return Action::Reply(Reply::new(503, Enhanced(5, 5, 1), "No AUTH in progress"));
            }
        }
        match outcome {
            AuthOutcome::Success(account) => {
                self.auth = AuthState::Authenticated(account);
                Action::Reply(Reply::new(
                    235,
                    Enhanced(2, 7, 0),
                    "Authentication successful",
                ))
            }
            AuthOutcome::Failed => {
                self.auth_failures += 1;
                if self.auth_failures >= self.config.max_auth_failures {
                    return Action::Close(Reply::new(
                        421,
                        Enhanced(4, 7, 0),
                        "Too many failed authentications",
                    ));
                }
                self.count_errors(Action::Reply(Reply::new(
                    535,
                    Enhanced(5, 7, 8),
                    "Authentication credentials invalid",
                )))
            }
            AuthOutcome::Throttled {
                retry_after,
                reason,
            } => Action::Reply(Reply::new(
                454,
                Enhanced(4, 7, 0),
                reason.client_text(retry_after),
            )),
        }
    }

    /// The answer to RCPT, DATA or BDAT outside a transaction: nothing
    /// proceeds before TLS (`530 5.7.0`), nor on submission before AUTH;
    /// otherwise it is a plain sequence error.
    fn no_transaction(&self, verb: &str) -> Reply {
        if !self.tls {
            return Reply::new(
                530,
                Enhanced(5, 7, 0),
                "Must issue a STARTTLS command first",
            );
        }
        if self.config.role == Role::Submission && self.account().is_none() {
            return Reply::new(530, Enhanced(5, 7, 0), "Authentication required");
        }
        match verb {
            "RCPT" => bad_sequence("Need MAIL before RCPT"),
            _ => bad_sequence(&format!("Need MAIL and RCPT before {verb}")),
        }
    }

    /// The transaction ended (delivered or refused): back to Ready.
    pub fn delivered(&mut self) {
        self.transaction = Transaction::Idle;
    }
}

fn ok(text: &str) -> Reply {
    Reply::new(250, Enhanced(2, 0, 0), text)
}

fn bad_sequence(text: &str) -> Reply {
    Reply::new(503, Enhanced(5, 5, 1), text)
}
