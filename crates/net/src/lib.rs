//! sealpost-net: listeners, TLS, STARTTLS upgrades and connection limits.
//!
//! Every protocol crate gets a [`Conn`]: a stream that is either already TLS
//! (implicit-TLS listeners, handshaken here before the protocol sees a byte)
//! or plaintext that the protocol upgrades with [`Stream::upgrade`] after its
//! STARTTLS/STLS command. Whatever a protocol buffered before the upgrade must
//! be dropped by the protocol itself (RFC 3207 section 4.2, CVE-2011-0411):
//! the upgrade only takes the raw socket.
//!
//! TLS is rustls with the ring provider, TLS 1.2 and 1.3 only. The
//! certificate is held in a [`TlsManager`] that SIGHUP reloads and ACME
//! renewals swap ([`TlsManager::switch_to`]): new handshakes on every
//! listener use the new certificate, established sessions keep theirs.
//!
//! Limits: a global semaphore permit and a per-IP count are taken before a
//! connection is handed to a protocol ([`ConnLimiter`]); a connection over
//! either is closed at once. The TLS handshake has its own timeout.

#![warn(missing_docs)]

mod limit;
mod listener;
mod stream;
mod tls;

pub use limit::{ConnLimiter, ConnPermit};
pub use listener::{Conn, Handler, ListenerKind, serve_listener};
pub use stream::{Stream, TlsInfo};
pub use tls::{ACME_TLS_ALPN, TlsError, TlsManager, write_private_durable};
pub use tokio_util::sync::CancellationToken;
pub use tokio_util::task::TaskTracker;
