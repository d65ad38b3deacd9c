//! MAIL (RFC 5321 4.1.1.2) and RCPT (4.1.1.3), with SIZE (RFC 1870), BODY
//! (RFC 6152), SMTPUTF8 (RFC 6531) and DSN parameters (RFC 3461).
//!
//! RCPT to a forwarding address rewrites the sender for its copies here
//! (SRS0 at the forwarding address's domain; the null sender stays null,
//! and so does an authenticated submitter's own address, which is ours),
//! so a sender that cannot be rewritten is refused at once rather than
//! bounced later. RCPT to an SRS address of a hosted domain is reversed
//! here too: the original sender, if hosted, gets the bounce locally;
//! otherwise it is relayed to. Whatever does not reverse is `550 5.1.1`.
//! RCPTs to SRS addresses are counted against the bounce limits
//! (`srs_limit.rs`): over one, `451 4.7.1`.

use super::{
    Action, AuthState, Destination, Envelope, Recipient, Role, Session, Transaction, bad_sequence,
};
use crate::srs::Srs;
use crate::wire::{Body, Enhanced, ForwardPath, MailParams, RcptParams, Reply, ReversePath};
use sealpost_directory::forward::is_srs_local;
use sealpost_directory::{Directory, Forwarding, Recipient as Lookup};

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
        let text = address.to_string();
        let submitter = matches!(self.auth, AuthState::Authenticated(_));
        let lookup = directory.recipient(&text);
        let now = crate::queue::now();
        let destination = match lookup {
            _ if is_srs_local(&text) && !matches!(lookup, Lookup::NotLocal) => {
                // Counted valid or not (`srs_limit.rs`): over a limit, 451.
                let limit = &self.config.srs_limit;
                match reverse(&self.config.srs, &text, now, directory) {
                    Ok((d, original)) => match limit.admit(Some(&original), now) {
                        Ok(()) => d,
                        Err(over) => return Action::Reply(over.reply()),
                    },
                    Err(reply) => {
                        return Action::Reply(match limit.admit(None, now) {
                            Ok(()) => reply,
                            Err(over) => over.reply(),
                        });
                    }
                }
            }
            Lookup::Local(primary) => Destination::Local(primary),
            Lookup::Forward(f) => {
                let sender = match &envelope.from {
                    ReversePath::Null => String::new(),
                    // Submission: the account's own address, which our
                    // servers are authorized to send for already.
                    ReversePath::Address(a) if submitter => a.to_string(),
                    ReversePath::Address(a) => {
                        let domain = f.address.rsplit_once('@').map_or("", |(_, d)| d);
                        match self.config.srs.forward(&a.to_string(), domain, now) {
                            Ok(s) => s,
                            Err(e) => return Action::Reply(e.reply()),
                        }
                    }
                };
                Destination::Forward {
                    alias: f.address,
                    local: f.local,
                    remote: f.remote,
                    sender,
                }
            }
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

/// The destination of a RCPT to an SRS address in a hosted domain (the
/// original sender, locally when it is hosted) and that sender, or the
/// refusal.
fn reverse(
    srs: &Srs,
    address: &str,
    now: i64,
    directory: &Directory,
) -> Result<(Destination, String), Reply> {
    let local = address.rsplit_once('@').map_or(address, |(l, _)| l);
    let original = srs.reverse(local, now).map_err(|e| e.reply())?;
    match directory.recipient(&original) {
        Lookup::Local(primary)
        | Lookup::Forward(Forwarding {
            local: Some(primary),
            ..
        }) => Ok((Destination::Local(primary), original)),
        Lookup::NotLocal => Ok((Destination::Reversed(original.clone()), original)),
        Lookup::UnknownUser | Lookup::Forward(_) => {
            Err(Reply::new(550, Enhanced(5, 1, 1), "No such user here"))
        }
    }
}
