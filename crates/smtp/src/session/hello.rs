//! EHLO/HELO (RFC 5321 4.1.1.1) with the extensions we advertise, STARTTLS
//! (RFC 3207), RSET (4.1.1.5).

use super::{Action, AuthState, Helo, Role, Session, Transaction, bad_sequence, ok};
use crate::wire::{Enhanced, Reply};

impl Session {
    /// The extensions advertised in the EHLO response, in order.
    pub fn extensions(&self) -> Vec<String> {
        let mut ext = vec![
            "PIPELINING".to_string(),
            format!("SIZE {}", self.config.max_message_size),
            "8BITMIME".to_string(),
            "SMTPUTF8".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
            "CHUNKING".to_string(),
            "DSN".to_string(),
        ];
        if !self.tls {
            ext.push("STARTTLS".to_string());
        } else {
            // RFC 8689 4.1: MAIL ... REQUIRETLS is only for TLS sessions
            // (and MAIL needs TLS here anyway).
            ext.push("REQUIRETLS".to_string());
        }
        if self.tls
            && self.config.role == Role::Submission
            && !matches!(self.auth, AuthState::Authenticated(_))
        {
            ext.push("AUTH PLAIN LOGIN".to_string());
        }
        ext
    }

    pub(super) fn hello(&mut self, name: String, esmtp: bool) -> Action {
        // RFC 5321 4.1.4: EHLO/HELO in a transaction resets it.
        self.transaction = Transaction::Idle;
        let greeting = format!(
            "{} greets {}",
            self.config.hostname,
            crate::wire::reply::sanitize(&name)
        );
        self.helo = Some(Helo { name, esmtp });
        if !esmtp {
            return Action::Reply(Reply::plain(250, greeting));
        }
        let mut lines = vec![greeting];
        lines.extend(self.extensions());
        Action::Reply(Reply::multiline(250, lines))
    }

    pub(super) fn starttls(&mut self) -> Action {
        if self.tls {
            return Action::Reply(bad_sequence("TLS already active"));
        }
        Action::StartTls(Reply::new(220, Enhanced(2, 0, 0), "Ready to start TLS"))
    }

    pub(super) fn rset(&mut self) -> Action {
        self.transaction = Transaction::Idle;
        Action::Reply(ok("Reset OK"))
    }
}
