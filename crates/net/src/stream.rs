//! A connection's byte stream: plaintext until upgraded, or TLS.

use crate::TlsManager;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// What was negotiated on a TLS connection (for logs and the audit trail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// "TLSv1.3" or "TLSv1.2".
    pub version: String,
    /// The cipher suite's name.
    pub cipher: String,
}

/// A client connection: plaintext (before STARTTLS) or TLS.
pub enum Stream {
    /// Not yet upgraded. Only protocol greetings, CAPABILITY-like commands,
    /// STARTTLS and LOGOUT may be served on it.
    Plain(TcpStream),
    /// Encrypted.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    /// Whether the stream is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// The negotiated TLS version and cipher, if encrypted.
    pub fn tls_info(&self) -> Option<TlsInfo> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(s) => {
                let (_, conn) = s.get_ref();
                Some(TlsInfo {
                    version: conn
                        .protocol_version()
                        .and_then(|v| v.as_str())
                        .unwrap_or("TLS")
                        .replace("TLSv1_", "TLSv1."),
                    cipher: conn
                        .negotiated_cipher_suite()
                        .and_then(|c| c.suite().as_str())
                        .unwrap_or("unknown")
                        .to_string(),
                })
            }
        }
    }

    /// The ALPN protocol negotiated on a TLS connection, if any.
    pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(s) => s.get_ref().1.alpn_protocol().map(<[u8]>::to_vec),
        }
    }

    /// Runs the server side of a TLS handshake on a plaintext stream.
    ///
    /// The caller must have dropped any bytes it read past the STARTTLS
    /// command line: they were sent in plaintext and must not be obeyed.
    pub async fn upgrade(self, tls: &TlsManager, timeout: Duration) -> io::Result<Stream> {
        match self {
            Stream::Tls(_) => Err(io::Error::other("stream is already TLS")),
            Stream::Plain(tcp) => {
                let accept = tls.acceptor().accept(tcp);
                let upgraded = match tokio::time::timeout(timeout, accept).await {
                    Ok(Ok(s)) => Ok(Stream::Tls(Box::new(s))),
                    Ok(Err(e)) => Err(e),
                    Err(_) => Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "TLS handshake timed out",
                    )),
                };
                match &upgraded {
                    Ok(s) => crate::listener::note_tls(s.tls_info()),
                    Err(_) => crate::listener::note_handshake_failure(),
                }
                upgraded
            }
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
