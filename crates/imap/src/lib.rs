//! sealpost-imap: the IMAP4rev2 (RFC 9051) / IMAP4rev1 (RFC 3501) server.
//!
//! Layers, from the bytes up:
//!
//! - [`wire`]: sans-IO framing, parsing into typed commands, and response
//!   serialization. All limits live in the framer.
//! - [`session`]: the sans-IO state machine (not authenticated,
//!   authenticated, selected, logout) turning commands into responses and
//!   typed requests (store operations, password checks, audit records,
//!   change events); one handler file per command family.
//! - [`driver`]: the one driver that performs what the session asks,
//!   against any [`mailstore::MailStore`] (the real store, or the
//!   in-memory model the transcript tests also run against).
//! - [`conn`]: the thin socket loop (reads, writes, STARTTLS, COMPRESS,
//!   timeouts, shutdown, IDLE wake-ups).
//! - [`message`]: what FETCH, SEARCH, SORT and THREAD need to know about a
//!   message's content (MIME structure, sections, summaries).
//!
//! The server binary builds an [`ImapServer`] and hands it to
//! `sealpost_net::serve_listener` for the `imap` (STARTTLS) and `imaps`
//! (implicit TLS) listeners.
#![warn(missing_docs)]

pub mod conn;
pub mod driver;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod mailstore;
pub mod message;
pub mod session;
pub mod wire;

use driver::{Driver, Services};
use mailstore::MailStore;
use sealpost_audit::AuditLog;
use sealpost_config::Config;
use sealpost_directory::Directory;
use sealpost_net::{Conn, Handler};
use sealpost_store::Store;
use std::sync::Arc;

/// The IMAP service: one per server, shared by every connection.
pub struct ImapServer<S = Store> {
    services: Arc<Services<S>>,
}

impl<S: MailStore> ImapServer<S> {
    /// Builds the service.
    pub fn new(config: Arc<Config>, store: S, directory: Directory, audit: AuditLog) -> Self {
        ImapServer {
            services: Arc::new(Services {
                config,
                store,
                directory,
                audit,
            }),
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
        let driver = Driver::new(self.services.clone(), peer, version);
        conn::run(stream, driver, starttls, shutdown).await;
        drop(permit);
    }

    fn over_capacity_line(&self) -> Option<&'static [u8]> {
        // RFC 9051 7.1.5: BYE as the greeting when the server will not serve.
        Some(b"* BYE [UNAVAILABLE] Too many connections from your address, try again later\r\n")
    }
}
