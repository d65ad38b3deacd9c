//! AUTHORIZATION state: CAPA (RFC 2449 section 5), STLS (RFC 2595 section
//! 4), USER/PASS (RFC 1939 section 7), AUTH PLAIN (RFC 5034, RFC 4616),
//! UTF8 (RFC 6856 section 2), APOP (refused), QUIT (RFC 1939 section 6).
//!
//! Response codes: `[AUTH]` for rejected credentials (RFC 3206 section 4),
//! `[SYS/TEMP]` when the directory throttles or the store fails for a while,
//! `[SYS/PERM]` when the maildrop is unusable, `[IN-USE]` when another POP3
//! session holds it and `[LOGIN-DELAY]` when logging in again too soon
//! (RFC 2449 section 8).

use super::{Action, Authorization, LoginResult, Session, State};
use crate::wire::{Command, Reply, RespCode};
use base64::Engine as _;
use sealpost_directory::Secret;

const TLS_FIRST: &str =
    "this connection is not encrypted: issue STLS first, no credentials in plaintext";

impl Session {
    pub(super) fn authorization(&mut self, cmd: Command) -> Action {
        let State::Authorization(auth) = &mut self.state else {
            return Action::Reply(Reply::err("not in AUTHORIZATION state"));
        };
        if auth.checking {
            // The loop never feeds a command while a login is checked; be safe.
            return Action::Reply(Reply::err("a login is in progress"));
        }
        match cmd {
            Command::Capa => Action::Reply(self.capabilities()),
            Command::Quit => {
                self.state = State::Closed;
                Action::Close(Reply::ok("sealpost POP3 server signing off"))
            }
            Command::Utf8 => {
                self.utf8 = true;
                Action::Reply(Reply::ok("UTF8 enabled"))
            }
            Command::Apop => self.bad(Reply::err(
                "APOP is not supported: use USER/PASS or AUTH PLAIN",
            )),
            Command::Stls => {
                if self.tls {
                    return self.bad(Reply::err("TLS is already active"));
                }
                // RFC 2595 section 4: forget anything said before TLS.
                auth.user = None;
                Action::StartTls(Reply::ok("Begin TLS negotiation"))
            }
            Command::User(name) => {
                if !self.tls {
                    return self.bad(Reply::err(TLS_FIRST));
                }
                auth.user = Some(name);
                Action::Reply(Reply::ok("send PASS"))
            }
            Command::Pass(secret) => {
                if !self.tls {
                    return self.bad(Reply::err(TLS_FIRST));
                }
                match auth.user.take() {
                    None => self.bad(Reply::err("send USER first")),
                    Some(user) => {
                        auth.checking = true;
                        Action::Login {
                            user,
                            secret,
                            mechanism: "USER",
                        }
                    }
                }
            }
            Command::Auth { mechanism, initial } => {
                if !self.tls {
                    return self.bad(Reply::err(TLS_FIRST));
                }
                auth.user = None;
                match mechanism.as_deref() {
                    None => {
                        Action::Reply(Reply::multi("SASL mechanisms follow", vec!["PLAIN".into()]))
                    }
                    Some("PLAIN") => match initial {
                        Some(r) => self.sasl_plain(r.expose().as_bytes()),
                        None => {
                            auth.sasl_pending = true;
                            Action::Reply(Reply::Continue)
                        }
                    },
                    Some(_) => self.bad(Reply::err("unsupported SASL mechanism; PLAIN is offered")),
                }
            }
            Command::Stat
            | Command::List(_)
            | Command::Retr(_)
            | Command::Dele(_)
            | Command::Noop
            | Command::Rset
            | Command::Top { .. }
            | Command::Uidl(_) => self.bad(Reply::err("not logged in: authenticate first")),
        }
    }

    /// The line answering a `+ ` challenge.
    pub(super) fn sasl_response(&mut self, line: &[u8]) -> Action {
        if line == b"*" {
            return Action::Reply(Reply::err("authentication cancelled"));
        }
        self.sasl_plain(line)
    }

    /// Decodes a PLAIN response (RFC 4616 section 2): authzid NUL authcid NUL passwd.
    fn sasl_plain(&mut self, b64: &[u8]) -> Action {
        let decoded = if b64 == b"=" {
            Vec::new()
        } else {
            match base64::engine::general_purpose::STANDARD.decode(b64) {
                Ok(d) => d,
                Err(_) => return self.bad(Reply::err("invalid base64 in SASL response")),
            }
        };
        let mut parts = decoded.split(|&b| b == 0);
        let (Some(authz), Some(authc), Some(pass), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return self.bad(Reply::err("malformed PLAIN response"));
        };
        let (Ok(authz), Ok(authc), Ok(pass)) = (
            std::str::from_utf8(authz),
            std::str::from_utf8(authc),
            std::str::from_utf8(pass),
        ) else {
            return self.bad(Reply::err("PLAIN response is not UTF-8"));
        };
        if authc.is_empty() || pass.is_empty() {
            return self.bad(Reply::err("malformed PLAIN response"));
        }
        if !authz.is_empty() && authz != authc {
            return self.bad(Reply::err("acting as another user is not supported"));
        }
        let user = authc.to_string();
        let secret = Secret::new(pass);
        if let State::Authorization(a) = &mut self.state {
            a.checking = true;
        }
        Action::Login {
            user,
            secret,
            mechanism: "PLAIN",
        }
    }

    /// After STLS: the connection is encrypted and nothing said before counts.
    pub fn on_tls_established(&mut self) {
        self.tls = true;
        self.utf8 = false;
        let failures = match &self.state {
            State::Authorization(a) => a.failures,
            _ => 0,
        };
        self.state = State::Authorization(Authorization {
            failures,
            ..Authorization::default()
        });
    }

    /// The result of an [`Action::Login`].
    pub fn on_login(&mut self, result: LoginResult) -> Action {
        let State::Authorization(auth) = &mut self.state else {
            return Action::Close(Reply::err("login result out of order"));
        };
        auth.checking = false;
        let reply = match result {
            LoginResult::Opened(maildrop) => {
                let (n, size) = maildrop.stat();
                self.state = State::Transaction(maildrop);
                return Action::Reply(Reply::ok(format!(
                    "logged in, maildrop has {n} messages ({size} octets)"
                )));
            }
            LoginResult::InUse => {
                return Action::Reply(Reply::err_code(
                    RespCode::InUse,
                    "maildrop is locked by another POP3 session",
                ));
            }
            LoginResult::TooSoon => {
                return Action::Reply(Reply::err_code(
                    RespCode::LoginDelay,
                    format!(
                        "logged in less than {} seconds ago, try again later",
                        self.config.login_delay_secs
                    ),
                ));
            }
            LoginResult::Unavailable(code) => {
                return Action::Reply(Reply::err_code(code, "maildrop cannot be opened"));
            }
            LoginResult::Failed => Reply::err_code(RespCode::Auth, "invalid user name or password"),
            LoginResult::Throttled(reason) => {
                Reply::err_code(RespCode::SysTemp, crate::driver::throttle_text(reason))
            }
        };
        auth.failures += 1;
        if auth.failures >= self.config.max_auth_failures {
            let code = match &reply {
                Reply::Err { code, .. } => *code,
                _ => None,
            };
            self.state = State::Closed;
            return Action::Close(Reply::Err {
                code,
                text: "too many failed logins, closing".into(),
            });
        }
        Action::Reply(reply)
    }
}
