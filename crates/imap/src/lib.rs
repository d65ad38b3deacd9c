//! sealpost-imap: the IMAP4rev2 (RFC 9051) / IMAP4rev1 (RFC 3501) server.
//!
//! Layers, from the bytes up:
//!
//! - [`wire`]: sans-IO framing, parsing into typed commands, and response
//!   serialization. All limits live in the framer.
//! - [`session`]: the state machine (not authenticated, authenticated,
//!   selected, logout) turning commands into store calls and responses;
//!   one handler file per command family.
//! - [`conn`]: the thin socket loop (reads, writes, STARTTLS, timeouts,
//!   shutdown, IDLE wake-ups).
//! - [`message`]: what FETCH, SEARCH, SORT and THREAD need to know about a
//!   message's content (MIME structure, sections, summaries).
//!
//! The server binary builds an [`ImapServer`] and hands it to
//! `sealpost_net::serve_listener` for the `imap` (STARTTLS) and `imaps`
//! (implicit TLS) listeners.
#![warn(missing_docs)]

pub mod conn;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod mailstore;
pub mod message;
pub mod session;
pub mod wire;

use mailstore::MailStore;
use sealpost_audit::AuditLog;
use sealpost_config::Config;
use sealpost_directory::Directory;
use sealpost_net::{Conn, Handler};
use sealpost_store::Store;
use session::{Ctx, Session};
use std::sync::Arc;
use wire::framer::FrameLimits;

/// The IMAP service: one per server, shared by every connection.
pub struct ImapServer<S = Store> {
    ctx: Arc<Ctx<S>>,
}

impl<S: MailStore> ImapServer<S> {
    /// Builds the service.
    pub fn new(config: Arc<Config>, store: S, directory: Directory, audit: AuditLog) -> Self {
        ImapServer {
            ctx: Arc::new(Ctx {
                config,
                store,
                directory,
                audit,
            }),
        }
    }

    fn limits(&self) -> FrameLimits {
        FrameLimits {
            max_line: self.ctx.config.imap.max_line,
            max_literal: self.ctx.config.imap.max_literal,
        }
    }
}

impl<S: MailStore> Handler for ImapServer<S> {
    async fn handle(self: Arc<Self>, conn: Conn) {
        let Conn {
            stream,
            peer,
            tls,
            shutdown,
            handshake_timeout,
            permit,
            ..
        } = conn;
        let version = stream.tls_info().map(|i| i.version);
        let starttls = version.is_none().then(|| conn::StartTls {
            tls,
            timeout: handshake_timeout,
        });
        let session = Session::new(self.ctx.clone(), peer, version);
        conn::run(stream, session, self.limits(), starttls, shutdown).await;
        drop(permit);
    }

    fn over_capacity_line(&self) -> Option<&'static [u8]> {
        // RFC 9051 7.1.5: BYE as the greeting when the server will not serve.
        Some(b"* BYE [UNAVAILABLE] Too many connections from your address, try again later\r\n")
    }
}
