//! [`Pop3Server`]: the `sealpost_net` handler of the `pop3` and `pop3s`
//! listeners. It builds the shared [`Services`] over the real store and
//! hands each connection to the one driver ([`crate::driver::serve`]); all
//! the protocol work, the locks and the audit records are there.
//!
//! Every login attempt that reaches the directory is recorded in the audit
//! log (`Event::Login`, protocol pop3, remote ip:port, TLS version, outcome).

use crate::driver::{self, Connection, Driver, LOCK_WAIT, Services};
use crate::locks::Locks;
use crate::session::SessionConfig;
use sealpost_audit::AuditLog;
use sealpost_config::Config;
use sealpost_directory::Directory;
use sealpost_net::{Conn, Handler, Stream, TlsManager};
use sealpost_store::{AccountId, Store};
use std::io;
use std::sync::Arc;
use std::time::Duration;

pub use crate::driver::{missing_uids, open_maildrop};

/// The POP3 service: one per server, shared by every POP3 listener.
pub struct Pop3Server {
    config: Arc<Config>,
    services: Arc<Services<Store>>,
}

impl Pop3Server {
    /// The service over the server's store, directory and audit log.
    pub fn new(config: Arc<Config>, store: Store, directory: Directory, audit: AuditLog) -> Self {
        let services = Arc::new(Services {
            session: SessionConfig::from(&config.pop3),
            maildrops: store,
            directory,
            audit,
            locks: Arc::new(Locks::default()),
            lock_wait: LOCK_WAIT,
        });
        Pop3Server { config, services }
    }

    /// Whether a POP3 session holds this account's maildrop now.
    pub fn is_locked(&self, account: AccountId) -> bool {
        self.services.locks.is_locked(account)
    }
}

impl Handler for Pop3Server {
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
        let _permit = permit;
        let version = stream.tls_info().map(|t| t.version);
        let driver = Driver::new(self.services.clone(), peer, version);
        let idle = Duration::from_secs(self.config.pop3.idle_timeout_secs);
        let conn = Upgradable {
            stream,
            tls,
            handshake_timeout,
        };
        if let Err(e) = driver::serve(driver, conn, idle, shutdown).await {
            tracing::debug!(%peer, error = %e, "pop3 connection ended with an error");
        }
    }

    fn over_capacity_line(&self) -> Option<&'static [u8]> {
        // RFC 1939 4 lets the greeting be -ERR; RFC 3206 SYS/TEMP says retry later.
        Some(b"-ERR [SYS/TEMP] Too many connections from your address, try again later\r\n")
    }
}

/// A listener's stream with what STLS needs to upgrade it.
struct Upgradable {
    stream: Stream,
    tls: TlsManager,
    handshake_timeout: Duration,
}

impl Connection for Upgradable {
    async fn start_tls(self) -> io::Result<(Self, Option<String>)> {
        let Upgradable {
            stream,
            tls,
            handshake_timeout,
        } = self;
        let stream = stream.upgrade(&tls, handshake_timeout).await?;
        let version = stream.tls_info().map(|t| t.version);
        Ok((
            Upgradable {
                stream,
                tls,
                handshake_timeout,
            },
            version,
        ))
    }
}

impl tokio::io::AsyncRead for Upgradable {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Upgradable {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
