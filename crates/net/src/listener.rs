//! The accept loop shared by every protocol.

use crate::{ConnLimiter, ConnPermit, Stream, TlsManager};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Which protocol a listener serves and whether TLS is implicit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListenerKind {
    /// IMAP, STARTTLS required before login.
    Imap,
    /// IMAP over implicit TLS.
    Imaps,
    /// POP3, STLS required before login.
    Pop3,
    /// POP3 over implicit TLS.
    Pop3s,
    /// Inbound SMTP (MX), STARTTLS required before MAIL.
    Smtp,
    /// Submission, STARTTLS required before AUTH.
    Submission,
    /// Submission over implicit TLS.
    Submissions,
    /// HTTP (ACME HTTP-01 answers, autoconfig, redirects to HTTPS).
    Http,
    /// HTTPS (autoconfig, autodiscover, MTA-STS policy, TLS-ALPN-01).
    Https,
}

impl ListenerKind {
    /// Whether the TLS handshake happens before the protocol starts.
    pub fn implicit_tls(self) -> bool {
        matches!(
            self,
            ListenerKind::Imaps
                | ListenerKind::Pop3s
                | ListenerKind::Submissions
                | ListenerKind::Https
        )
    }

    /// The listener's name as in `[listen]`.
    pub fn name(self) -> &'static str {
        match self {
            ListenerKind::Imap => "imap",
            ListenerKind::Imaps => "imaps",
            ListenerKind::Pop3 => "pop3",
            ListenerKind::Pop3s => "pop3s",
            ListenerKind::Smtp => "smtp",
            ListenerKind::Submission => "submission",
            ListenerKind::Submissions => "submissions",
            ListenerKind::Http => "http",
            ListenerKind::Https => "https",
        }
    }
}

/// One accepted client connection, handed to a protocol.
pub struct Conn {
    /// The stream: already TLS on implicit-TLS listeners.
    pub stream: Stream,
    /// The client's address.
    pub peer: SocketAddr,
    /// Our address the client connected to.
    pub local: SocketAddr,
    /// The listener it came in on.
    pub kind: ListenerKind,
    /// The certificate source, for STARTTLS.
    pub tls: TlsManager,
    /// Cancelled when the server shuts down: say the protocol's goodbye and end.
    pub shutdown: CancellationToken,
    /// How long a STARTTLS handshake may take.
    pub handshake_timeout: Duration,
    /// Held for the connection's life (the connection caps).
    pub permit: ConnPermit,
}

/// Serves a protocol's connections.
pub trait Handler: Send + Sync + 'static {
    /// Runs one connection to its end.
    fn handle(self: Arc<Self>, conn: Conn) -> impl Future<Output = ()> + Send;

    /// The line a plaintext listener writes before closing a connection that
    /// is over the caps: the protocol's own refusal (`* BYE`, `-ERR`, `421`).
    /// `None` closes without a word.
    fn over_capacity_line(&self) -> Option<&'static [u8]> {
        None
    }
}

/// Accepts connections on `listener` until `shutdown`, running each in `tracker`.
///
/// A connection over the caps is closed at once. On a plaintext listener it
/// first gets the protocol's refusal line ([`Handler::over_capacity_line`]),
/// written with one non-blocking attempt, so a client learns to retry later
/// and a flood cannot make us wait on it. On implicit-TLS listeners it is
/// closed without a word: a handshake would cost more than the refusal is
/// worth. The handshake of accepted implicit-TLS connections runs here,
/// under `handshake_timeout`.
#[allow(clippy::too_many_arguments)]
pub async fn serve_listener<H: Handler>(
    listener: TcpListener,
    kind: ListenerKind,
    tls: TlsManager,
    limiter: ConnLimiter,
    handshake_timeout: Duration,
    handler: Arc<H>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            a = listener.accept() => a,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off briefly rather than spin.
                tracing::warn!(listener = kind.name(), error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(permit) = limiter.try_acquire(peer.ip()) else {
            tracing::debug!(listener = kind.name(), %peer, "connection limit reached");
            if !kind.implicit_tls()
                && let Some(line) = handler.over_capacity_line()
            {
                // One attempt: the socket's send buffer is empty, so a short
                // line fits; if not, the client gets the bare close.
                let _ = tcp.try_write(line);
            }
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().unwrap_or(peer);
        let handler = handler.clone();
        let tls = tls.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let stream = if kind.implicit_tls() {
                let accept = tls.acceptor_for(kind).accept(tcp);
                match tokio::time::timeout(handshake_timeout, accept).await {
                    Ok(Ok(s)) => Stream::Tls(Box::new(s)),
                    Ok(Err(e)) => {
                        tracing::debug!(listener = kind.name(), %peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(listener = kind.name(), %peer, "TLS handshake timed out");
                        return;
                    }
                }
            } else {
                Stream::Plain(tcp)
            };
            let conn = Conn {
                stream,
                peer,
                local,
                kind,
                tls,
                shutdown,
                handshake_timeout,
                permit,
            };
            handler.handle(conn).await;
        });
    }
}
