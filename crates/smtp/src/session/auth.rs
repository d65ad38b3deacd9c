//! AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN mechanisms, on the
//! submission listeners only and only under TLS. The password is wrapped in
//! a [`Secret`] as soon as it is decoded and never logged.

use super::{Action, AuthState, Role, Session, Transaction, bad_sequence};
use crate::wire::{Enhanced, Reply};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sealpost_directory::Secret;

/// Where an AUTH exchange stands (the next client line is a response).
#[derive(Debug)]
pub enum AuthExchange {
    /// PLAIN, waiting for the initial response.
    Plain,
    /// LOGIN, waiting for the user name.
    LoginUser,
    /// LOGIN, waiting for the password.
    LoginPassword {
        /// The user name given.
        username: String,
    },
}

impl Session {
    pub(super) fn auth(&mut self, mechanism: &str, initial: Option<String>) -> Action {
        if self.config.role != Role::Submission {
            return Action::Reply(Reply::new(502, Enhanced(5, 5, 1), "AUTH not available"));
        }
        if !self.tls {
            return Action::Reply(Reply::new(
                538,
                Enhanced(5, 7, 11),
                "Encryption required for requested authentication mechanism",
            ));
        }
        if self.helo.is_none() {
            return Action::Reply(bad_sequence("Send EHLO first"));
        }
        if matches!(self.auth, AuthState::Authenticated(_)) {
            return Action::Reply(bad_sequence("Already authenticated"));
        }
        if !matches!(self.transaction, Transaction::Idle) {
            return Action::Reply(bad_sequence("AUTH not allowed during a transaction"));
        }
        let exchange = match mechanism {
            "PLAIN" => AuthExchange::Plain,
            "LOGIN" => AuthExchange::LoginUser,
            _ => {
                return Action::Reply(Reply::new(
                    504,
                    Enhanced(5, 5, 4),
                    "Unrecognized authentication mechanism",
                ));
            }
        };
        match initial {
            // "=" is an empty initial response (RFC 4954 4).
            Some(resp) => self.auth_response(exchange, resp.as_bytes()),
            None => {
                let challenge = match exchange {
                    AuthExchange::Plain => "",
                    _ => "VXNlcm5hbWU6", // "Username:"
                };
                self.auth = AuthState::Exchange(exchange);
                Action::Reply(Reply::plain(334, challenge))
            }
        }
    }

    /// One client response line inside an exchange.
    pub(super) fn auth_response(&mut self, exchange: AuthExchange, line: &[u8]) -> Action {
        if line == b"*" {
            return Action::Reply(Reply::new(
                501,
                Enhanced(5, 0, 0),
                "Authentication cancelled",
            ));
        }
        let decoded = if line == b"=" {
            Ok(Vec::new())
        } else {
            B64.decode(line)
        };
        let Ok(decoded) = decoded else {
            return Action::Reply(Reply::new(
                501,
                Enhanced(5, 5, 2),
                "Cannot decode base64 response",
            ));
        };
        let Ok(text) = String::from_utf8(decoded) else {
            return Action::Reply(Reply::new(501, Enhanced(5, 5, 2), "Response is not UTF-8"));
        };
        match exchange {
            AuthExchange::Plain => {
                // authzid NUL authcid NUL passwd (RFC 4616 2)
                let mut parts = text.splitn(3, '\0');
                let (Some(authz), Some(user), Some(pass)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Action::Reply(Reply::new(
                        501,
                        Enhanced(5, 5, 2),
                        "Malformed PLAIN response",
                    ));
                };
                if !authz.is_empty() && !authz.eq_ignore_ascii_case(user) {
                    self.auth = AuthState::Checking;
                    return self.auth_result(sealpost_directory::AuthOutcome::Failed);
                }
                self.check(user.to_string(), Secret::new(pass), "PLAIN")
            }
            AuthExchange::LoginUser => {
                self.auth = AuthState::Exchange(AuthExchange::LoginPassword { username: text });
                Action::Reply(Reply::plain(334, "UGFzc3dvcmQ6")) // "Password:"
            }
            AuthExchange::LoginPassword { username } => {
                self.check(username, Secret::new(text), "LOGIN")
            }
        }
    }

    fn check(&mut self, username: String, password: Secret, mechanism: &'static str) -> Action {
        self.auth = AuthState::Checking;
        Action::Authenticate {
            username,
            password,
            mechanism,
        }
    }
}
