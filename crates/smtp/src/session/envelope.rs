//! MAIL (RFC 5321 4.1.1.2) and RCPT (4.1.1.3), with SIZE (RFC 1870), BODY
//! (RFC 6152), SMTPUTF8 (RFC 6531) and DSN parameters (RFC 3461).

use super::{
    Action, AuthState, Destination, Envelope, Recipient, Role, Session, Transaction, bad_sequence,
};
use crate::wire::{Body, Enhanced, ForwardPath, MailParams, RcptParams, Reply, ReversePath};
use sealpost_directory::{Directory, Recipient as Lookup};

impl Session {
    pub(super) fn mail(
        &mut self,
        from: ReversePath,
        params: MailParams,
        directory: &Directory,
    ) -> Action {
        if !self.tls {
            return Action::Reply(Reply::new(
                530,
                Enhanced(5, 7, 0),
                "Must issue a STARTTLS command first",
            ));
        }
        if self.helo.is_none() {
            return Action::Reply(bad_sequence("Send EHLO or HELO first"));
        }
        if !matches!(self.transaction, Transaction::Idle) {
            return Action::Reply(bad_sequence("Nested MAIL command"));
        }
        if self.config.role == Role::Submission {
            let AuthState::Authenticated(account) = &self.auth else {
                return Action::Reply(Reply::new(
                    530,
                    Enhanced(5, 7, 0),
                    "Authentication required",
                ));
            };
            let owned = match &from {
                ReversePath::Address(a) => directory.owns_address(&account.address, &a.to_string()),
                ReversePath::Null => false,
            };
            if !owned {
                return Action::Reply(Reply::new(
                    553,
                    Enhanced(5, 7, 1),
                    "Sender address not owned by the authenticated account",
                ));
            }
        }
        if params.body == Some(Body::BinaryMime) {
            return Action::Reply(Reply::new(
                555,
                Enhanced(5, 5, 4),
                "BINARYMIME is not supported",
            ));
        }
        if let Some(size) = params.size
            && size > self.config.max_message_size
        {
            return Action::Reply(Reply::new(
                552,
                Enhanced(5, 3, 4),
                "Message size exceeds fixed maximum message size",
            ));
        }
        self.transaction = Transaction::Mail(Envelope {
            from,
            params,
            recipients: Vec::new(),
        });
        Action::Reply(Reply::new(250, Enhanced(2, 1, 0), "Sender OK"))
    }

    pub(super) fn rcpt(
        &mut self,
        to: ForwardPath,
        params: RcptParams,
        directory: &Directory,
    ) -> Action {
        let Transaction::Mail(envelope) = &mut self.transaction else {
            return Action::Reply(self.no_transaction("RCPT"));
        };
        if envelope.recipients.len() >= self.config.max_recipients {
            return Action::Reply(Reply::new(452, Enhanced(4, 5, 3), "Too many recipients"));
        }
        let address = match to {
            ForwardPath::Address(a) => a,
            ForwardPath::Postmaster => {
                let Some(domain) = &self.config.postmaster_domain else {
                    return Action::Reply(Reply::new(550, Enhanced(5, 1, 1), "No postmaster here"));
                };
                match crate::wire::Address::parse(&format!("postmaster@{domain}"), false) {
                    Ok(a) => a,
                    Err(_) => {
                        return Action::Reply(Reply::new(
                            550,
                            Enhanced(5, 1, 1),
                            "No postmaster here",
                        ));
                    }
                }
            }
        };
        if address.is_utf8() && !envelope.params.smtputf8 {
            return Action::Reply(Reply::new(
                553,
                Enhanced(5, 6, 7),
                "Non-ASCII address requires SMTPUTF8",
            ));
        }
        let destination = match directory.recipient(&address.to_string()) {
            Lookup::Local(primary) => Destination::Local(primary),
            Lookup::UnknownUser => {
                return Action::Reply(Reply::new(550, Enhanced(5, 1, 1), "No such user here"));
            }
            Lookup::NotLocal => {
                if matches!(self.auth, AuthState::Authenticated(_)) {
                    Destination::Remote
                } else {
                    return Action::Reply(Reply::new(550, Enhanced(5, 7, 1), "Relaying denied"));
                }
            }
        };
        if envelope.recipients.iter().any(|r| r.address == address) {
            return Action::Reply(Reply::new(
                250,
                Enhanced(2, 1, 5),
                "Recipient OK (duplicate)",
            ));
        }
        envelope.recipients.push(Recipient {
            address,
            params,
            destination,
        });
        Action::Reply(Reply::new(250, Enhanced(2, 1, 5), "Recipient OK"))
    }
}
