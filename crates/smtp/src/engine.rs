//! One connection's protocol engine: framer + session + the async effects
//! (credential checks, delivery), with no socket. The socket loop
//! (`server.rs`) and the transcript tests drive the same engine, so what the
//! tests see is what a client sees.

use crate::delivery::{self, Origin, Services};
use crate::session::{Action, Role, Session, SessionConfig};
use crate::wire::{Framer, Limits, LineEndings, Reply};
use sealpost_audit::{Event, LoginOutcome, Protocol};
use sealpost_config::BareLfPolicy;
use sealpost_directory::AuthOutcome;
use std::net::SocketAddr;
use std::sync::Arc;

/// What the socket loop does after [`Engine::process`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// Write the output, read more.
    Continue,
    /// Write the output, drop buffered input, upgrade to TLS, then
    /// [`Engine::tls_started`].
    StartTls,
    /// Write the output and close.
    Close,
}

pub(crate) struct Engine {
    pub(crate) session: Session,
    framer: Framer,
    services: Arc<Services>,
    origin: Origin,
}

impl Engine {
    pub(crate) fn new(
        services: Arc<Services>,
        role: Role,
        peer: SocketAddr,
        tls: Option<String>,
    ) -> Engine {
        let smtp = &services.config.smtp;
        let config = SessionConfig {
            hostname: services.config.server.hostname.clone(),
            role,
            max_message_size: smtp.max_message_size,
            max_recipients: smtp.max_recipients,
            max_errors: smtp.max_errors.max(1),
            max_auth_failures: smtp.max_auth_failures.max(1),
            postmaster_domain: services.config.domains.first().map(|d| d.name.clone()),
            srs: services.queue.inner.srs.clone(),
            srs_limit: services.queue.inner.srs_limit.clone(),
        };
        let framer = Framer::new(Limits {
            command_line: 512,
            text_line: smtp.max_line_length.max(1000),
            max_message: smtp.max_message_size,
            line_endings: match smtp.bare_lf {
                BareLfPolicy::Normalize => LineEndings::Normalize,
                BareLfPolicy::Reject => LineEndings::Strict,
            },
        });
        let session = Session::new(config, tls.is_some());
        Engine {
            session,
            framer,
            services,
            origin: Origin { role, peer, tls },
        }
    }

    /// Message octets the framer holds (tests check that unwanted chunks hold none).
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.framer.buffered()
    }

    pub(crate) fn greeting(&self) -> Reply {
        self.session.greeting()
    }

    pub(crate) fn tls_started(&mut self, info: Option<String>) {
        self.origin.tls = info.or_else(|| Some("TLS".into()));
        self.session.tls_started();
    }

    /// Handles every complete unit in `input`, appending replies to `out`.
    pub(crate) async fn process(&mut self, input: &mut Vec<u8>, out: &mut Vec<u8>) -> Control {
        loop {
            self.framer
                .set_auth_response(self.session.in_auth_exchange());
            let Some(frame) = self.framer.next(input) else {
                break;
            };
            let timed = crate::timing::Timed::start(&frame, self.session.in_auth_exchange());
            let mut action = self.session.on_frame(frame, &self.services.directory);
            loop {
                match action {
                    Action::Reply(r) => r.write_to(out),
                    Action::StartData(r) => {
                        r.write_to(out);
                        self.framer.begin_data();
                    }
                    Action::ReadChunk { keep } => {
                        if keep {
                            self.framer.keep_chunk();
                        }
                    }
                    Action::StartTls(r) => {
                        r.write_to(out);
                        return Control::StartTls;
                    }
                    Action::Close(r) => {
                        r.write_to(out);
                        return Control::Close;
                    }
                    Action::Authenticate {
                        username,
                        password,
                        mechanism,
                    } => {
                        let outcome = self
                            .services
                            .directory
                            .authenticate(&username, &password, self.origin.peer.ip())
                            .await;
                        self.services.audit.record(Event::Login {
                            protocol: Protocol::Submission,
                            account: username.chars().take(320).collect(),
                            remote: self.origin.peer.to_string(),
                            // The version alone, as IMAP and POP3 record it
                            // (`origin.tls` also names the cipher, for Received:).
                            tls: self
                                .origin
                                .tls
                                .as_deref()
                                .and_then(|t| t.split(' ').next())
                                .map(str::to_string),
                            outcome: match outcome {
                                AuthOutcome::Success(_) => LoginOutcome::Success,
                                AuthOutcome::Failed => LoginOutcome::Failure,
                                AuthOutcome::Throttled { .. } => LoginOutcome::Throttled,
                            },
                            app_password: match &outcome {
                                AuthOutcome::Success(a) => a.app_password.clone(),
                                _ => None,
                            },
                            mechanism: Some(mechanism.to_string()),
                        });
                        action = self.session.auth_result(outcome);
                        continue;
                    }
                    Action::Deliver(message) => {
                        let reply = delivery::accept(&self.services, *message, &self.origin).await;
                        self.session.delivered();
                        reply.write_to(out);
                    }
                }
                if let Some(t) = timed {
                    t.done(self.origin.role);
                }
                break;
            }
        }
        Control::Continue
    }
}
