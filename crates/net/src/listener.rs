//! The accept loop shared by every protocol, and the connection's
//! operational log lines and metrics.
//!
//! Every accepted connection runs in a tracing span `conn{id=N}`, so each
//! line logged while serving it (its login, its messages) can be told
//! apart from the others; `connection accepted` and `connection closed`
//! lines (target `sealpost::event`; the HTTP listeners' at DEBUG, a scrape
//! every few seconds would drown the rest) name the listener, the client's
//! network (`sealpost_telemetry::privacy`), the TLS version (after a
//! STARTTLS too) and, at close, the duration.

use crate::{ConnLimiter, ConnPermit, Stream, TlsInfo, TlsManager};
use sealpost_telemetry::metrics as m;
use sealpost_telemetry::privacy;
use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use std::time::Instant;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

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

tokio::task_local! {
    /// The connection's listener and negotiated TLS version, for a STARTTLS
    /// upgrade (run in the connection's task) to note.
    static CONN_TLS: RefCell<(ListenerKind, Option<String>)>;
}

/// Numbers connections for their log span.
static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// A STARTTLS upgrade succeeded: the closing line names its version.
pub(crate) fn note_tls(info: Option<TlsInfo>) {
    let _ = CONN_TLS.try_with(|c| c.borrow_mut().1 = info.map(|i| i.version));
}

/// A STARTTLS handshake failed or timed out.
pub(crate) fn note_handshake_failure() {
    if let Ok(kind) = CONN_TLS.try_with(|c| c.borrow().0) {
        m::counter!(m::TLS_HANDSHAKE_FAILURES, "protocol" => kind.name()).increment(1);
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
            m::counter!(m::CONNECTIONS_REFUSED, "protocol" => kind.name()).increment(1);
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
        let span = tracing::info_span!("conn", id = NEXT_CONN.fetch_add(1, Ordering::Relaxed));
        m::counter!(m::CONNECTIONS, "protocol" => kind.name()).increment(1);
        tracker.spawn(async move {
            let started = Instant::now();
            let stream = if kind.implicit_tls() {
                let accept = tls.acceptor_for(kind).accept(tcp);
                let failure = match tokio::time::timeout(handshake_timeout, accept).await {
                    Ok(Ok(s)) => Ok(Stream::Tls(Box::new(s))),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("timed out".to_string()),
                };
                match failure {
                    Ok(s) => s,
                    Err(e) => {
                        m::counter!(m::TLS_HANDSHAKE_FAILURES, "protocol" => kind.name()).increment(1);
                        tracing::debug!(listener = kind.name(), %peer, error = %e, "TLS handshake failed");
                        return;
                    }
                }
            } else {
                Stream::Plain(tcp)
            };
            let tls_version = stream.tls_info().map(|i| i.version);
            let remote = privacy::ip(peer.ip());
            log_accepted(kind, &remote, tls_version.as_deref());
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
            let open = m::gauge!(m::CONNECTIONS_OPEN, "protocol" => kind.name());
            open.increment(1.0);
            let tls_version = CONN_TLS
                .scope(RefCell::new((kind, tls_version)), async move {
                    handler.handle(conn).await;
                    CONN_TLS.with(|c| c.borrow().1.clone())
                })
                .await;
            open.decrement(1.0);
            log_closed(kind, &remote, tls_version.as_deref(), started);
        }.instrument(span));
    }
}

/// Whether the listener's connection lines are INFO (mail) or DEBUG (web).
fn is_mail(kind: ListenerKind) -> bool {
    !matches!(kind, ListenerKind::Http | ListenerKind::Https)
}

fn log_accepted(kind: ListenerKind, remote: &str, tls: Option<&str>) {
    let (protocol, tls) = (kind.name(), tls.unwrap_or("none"));
    if is_mail(kind) {
        tracing::info!(target: "sealpost::event", event = "connection_accepted", protocol, remote, tls, "connection accepted");
    } else {
        tracing::debug!(target: "sealpost::event", event = "connection_accepted", protocol, remote, tls, "connection accepted");
    }
}

fn log_closed(kind: ListenerKind, remote: &str, tls: Option<&str>, started: Instant) {
    let (protocol, tls) = (kind.name(), tls.unwrap_or("none"));
    let duration_ms = started.elapsed().as_millis() as u64;
    if is_mail(kind) {
        tracing::info!(target: "sealpost::event", event = "connection_closed", protocol, remote, tls, duration_ms, "connection closed");
    } else {
        tracing::debug!(target: "sealpost::event", event = "connection_closed", protocol, remote, tls, duration_ms, "connection closed");
    }
}
