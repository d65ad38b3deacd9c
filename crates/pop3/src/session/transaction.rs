//! TRANSACTION and UPDATE states (RFC 1939 sections 5 and 6; TOP and UIDL
//! of section 7): STAT, LIST, RETR, TOP, DELE, NOOP, RSET, UIDL, QUIT, and
//! CAPA (RFC 2449) which is valid in every state.
//!
//! Message numbers refer to the view fixed at login (see
//! [`super::maildrop`]); deleted and gone messages are left out of
//! listings and refused by number.

use super::{Action, MessageOutcome, NoMessage, Session, State};
use crate::wire::{Command, Reply, RespCode};

fn no_message(n: u32, why: NoMessage, count: usize) -> Reply {
    Reply::err(match why {
        NoMessage::NoSuch => format!("no such message, only {count} messages in maildrop"),
        NoMessage::Deleted => format!("message {n} already deleted"),
        NoMessage::Gone => format!("message {n} was deleted by another session"),
    })
}

impl Session {
    pub(super) fn transaction(&mut self, cmd: Command) -> Action {
        let remove_retrieved = self.config.expire_days == Some(0);
        let State::Transaction(m) = &mut self.state else {
            return Action::Reply(Reply::err("not in TRANSACTION state"));
        };
        let count = m.entries.len();
        match cmd {
            Command::Capa => Action::Reply(self.capabilities()),
            Command::Noop => Action::Reply(Reply::ok("")),
            Command::Stat => {
                let (n, size) = m.stat();
                Action::Reply(Reply::ok(format!("{n} {size}")))
            }
            Command::List(None) => {
                let (n, size) = m.stat();
                let lines = m
                    .present()
                    .map(|(i, e)| format!("{i} {}", e.size))
                    .collect();
                Action::Reply(Reply::multi(format!("{n} messages ({size} octets)"), lines))
            }
            Command::List(Some(i)) => match m.get(i) {
                Ok(e) => Action::Reply(Reply::ok(format!("{i} {}", e.size))),
                Err(why) => Action::Reply(no_message(i, why, count)),
            },
            Command::Uidl(None) => {
                let lines = m
                    .present()
                    .map(|(i, e)| format!("{i} {}", m.unique_id(e)))
                    .collect();
                Action::Reply(Reply::multi("unique-id listing follows", lines))
            }
            Command::Uidl(Some(i)) => match m.get(i) {
                Ok(e) => Action::Reply(Reply::ok(format!("{i} {}", m.unique_id(e)))),
                Err(why) => Action::Reply(no_message(i, why, count)),
            },
            Command::Retr(i) => self.send(i, None),
            Command::Top { msg, lines } => self.send(msg, Some(lines)),
            Command::Dele(i) => match m.delete(i) {
                Ok(()) => Action::Reply(Reply::ok(format!("message {i} deleted"))),
                Err(why) => Action::Reply(no_message(i, why, count)),
            },
            Command::Rset => {
                m.reset();
                let (n, size) = m.stat();
                Action::Reply(Reply::ok(format!(
                    "maildrop has {n} messages ({size} octets)"
                )))
            }
            Command::Quit => {
                let uids = m.to_remove(remove_retrieved);
                let at = m.at;
                if uids.is_empty() {
                    self.state = State::Closed;
                    Action::Close(Reply::ok("sealpost POP3 server signing off"))
                } else {
                    // UPDATE: the state stays until the removal is reported.
                    Action::Update { at, uids }
                }
            }
            Command::Stls
            | Command::User(_)
            | Command::Pass(_)
            | Command::Auth { .. }
            | Command::Apop
            | Command::Utf8 => self.bad(Reply::err("already logged in")),
        }
    }

    fn send(&mut self, n: u32, top: Option<u32>) -> Action {
        let State::Transaction(m) = &self.state else {
            return Action::Reply(Reply::err("not in TRANSACTION state"));
        };
        match m.get(n) {
            Ok(e) => Action::Send {
                at: m.at,
                number: n,
                uid: e.uid,
                top,
            },
            Err(why) => Action::Reply(no_message(n, why, m.entries.len())),
        }
    }

    /// The result of an [`Action::Send`]: the status line to send (then the
    /// message, when it is `+OK`), or the error.
    pub fn on_message(&mut self, number: u32, top: Option<u32>, outcome: MessageOutcome) -> Reply {
        let State::Transaction(m) = &mut self.state else {
            return Reply::err("not in TRANSACTION state");
        };
        match outcome {
            MessageOutcome::Found(size) => {
                if top.is_none() {
                    m.mark_retrieved(number);
                    Reply::ok(format!("{size} octets"))
                } else {
                    Reply::ok("top of message follows")
                }
            }
            MessageOutcome::Gone => {
                m.mark_gone(number);
                no_message(number, NoMessage::Gone, m.entries.len())
            }
            MessageOutcome::Failed(code) => Reply::err_code(code, "message cannot be read now"),
        }
    }

    /// The result of an [`Action::Update`]: `Ok(n)` removed, or the store's
    /// failure. The session is over either way.
    pub fn on_update(&mut self, result: Result<usize, RespCode>) -> Reply {
        self.state = State::Closed;
        match result {
            Ok(n) => Reply::ok(format!(
                "sealpost POP3 server signing off ({n} messages deleted)"
            )),
            Err(code) => Reply::err_code(code, "some deleted messages not removed"),
        }
    }
}
