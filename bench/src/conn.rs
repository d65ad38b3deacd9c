//! The client side of the wire: TCP on loopback, TLS (implicit or after
//! STARTTLS/STLS) with a verifier that accepts the servers' self-signed
//! certificates, and bounded line and literal reads.
//!
//! The benchmark measures servers, not certificate chains: every server under
//! test presents a throw-away self-signed certificate, so the verifier accepts
//! any certificate but still checks the handshake signatures (RFC 8446 4.4.3),
//! which keeps the TLS work on both sides real.

use anyhow::{Context, Result, bail};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// The longest response line accepted from a server.
pub const MAX_LINE: usize = 1 << 20;
/// The largest IMAP literal accepted from a server.
pub const MAX_LITERAL: usize = 64 << 20;
/// How long any single read or write may take before the run fails.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn connector() -> TlsConnector {
    static CONNECTOR: OnceLock<TlsConnector> = OnceLock::new();
    CONNECTOR
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
                .with_no_client_auth();
            TlsConnector::from(Arc::new(config))
        })
        .clone()
}

/// A client socket, before or after TLS.
pub enum Io {
    /// Plain TCP (only before STARTTLS/STLS).
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A buffered connection with bounded, timed reads.
pub struct Conn {
    io: BufReader<Io>,
}

async fn timed<T>(what: &str, f: impl Future<Output = std::io::Result<T>>) -> Result<T> {
    match tokio::time::timeout(IO_TIMEOUT, f).await {
        Ok(r) => r.with_context(|| what.to_string()),
        Err(_) => bail!("{what}: timed out after {IO_TIMEOUT:?}"),
    }
}

impl Conn {
    /// Connects over TCP, with TLS at once when `tls` is set.
    pub async fn connect(addr: SocketAddr, tls: bool) -> Result<Conn> {
        let tcp = timed("connect", TcpStream::connect(addr)).await?;
        tcp.set_nodelay(true)?;
        let mut conn = Conn {
            io: BufReader::new(Io::Plain(tcp)),
        };
        if tls {
            conn = conn.start_tls().await?;
        }
        Ok(conn)
    }

    /// Upgrades a plain connection to TLS. Bytes the server sent after its
    /// go-ahead would be an injection, so any buffered input is an error.
    pub async fn start_tls(self) -> Result<Conn> {
        if !self.io.buffer().is_empty() {
            bail!("server sent data after its STARTTLS go-ahead");
        }
        let Io::Plain(tcp) = self.io.into_inner() else {
            bail!("already TLS");
        };
        let name = ServerName::try_from("localhost").expect("valid name");
        let tls = timed("TLS handshake", connector().connect(name, tcp)).await?;
        Ok(Conn {
            io: BufReader::new(Io::Tls(Box::new(tls))),
        })
    }

    /// Writes all of `data`.
    pub async fn send(&mut self, data: &[u8]) -> Result<()> {
        timed("write", self.io.get_mut().write_all(data)).await
    }

    /// Reads one line including its CRLF; fails on EOF or an over-long line.
    pub async fn line(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        let limit = (MAX_LINE + 1) as u64;
        let n = timed("read", (&mut self.io).take(limit).read_until(b'\n', out)).await?;
        if n == 0 {
            bail!("connection closed by server");
        }
        if out.len() - start > MAX_LINE || out.last() != Some(&b'\n') {
            bail!("response line longer than {MAX_LINE} octets or cut off");
        }
        Ok(())
    }

    /// Reads exactly `n` octets (an IMAP literal), appending them to `out`.
    pub async fn exact(&mut self, n: usize, out: &mut Vec<u8>) -> Result<()> {
        if n > MAX_LITERAL {
            bail!("literal of {n} octets exceeds {MAX_LITERAL}");
        }
        let start = out.len();
        out.resize(start + n, 0);
        timed("read literal", self.io.read_exact(&mut out[start..])).await?;
        Ok(())
    }
}
