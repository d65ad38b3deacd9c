//! The connection loop: the thin part with I/O. It reads bytes into the
//! [`Driver`], writes what the driver produced, runs the STARTTLS upgrade
//! and COMPRESS, and watches the shutdown token, the timeout and (during
//! IDLE) the selected mailbox. Everything else (framing, the session,
//! store calls, flushing policy) is the driver's (`crate::driver`).
//!
//! Backpressure: the loop reads from the socket only when the driver has
//! answered every complete command already read, so at most one read
//! ([`READ_CHUNK`]) of pipelined commands waits; a long response is
//! written part by part as the driver hands it over ([`Control::Write`]),
//! so a client that does not read stalls the command, not our memory.
//!
//! Closing: after the last response (LOGOUT, or BYE over a limit) the loop
//! shuts its side down and reads on for a bounded time ([`linger`]), so a
//! client still sending does not get a reset that destroys the goodbye.
//!
//! COMPRESS=DEFLATE (RFC 4978) sits between the socket and the driver:
//! reads are inflated before framing, each write of responses is deflated
//! with a sync flush.

mod deflate;

pub use deflate::{Deflate, MAX_INFLATE};

use crate::driver::{Control, Driver};
use crate::mailstore::MailStore;
use sealpost_net::{CancellationToken, Stream, TlsManager};
use std::future::Future;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bytes read from the socket at a time.
pub const READ_CHUNK: usize = 4096;

/// How long, and how much input, a closing connection still reads (see
/// [`linger`]).
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 4 << 20;

/// After our goodbye (LOGOUT, or BYE for input over a limit), reads and
/// drops what the client still sends until it closes too, for a bounded
/// time and amount. Closing a TCP socket with unread input makes the
/// kernel send a reset, and a reset can destroy the goodbye in the
/// client's receive queue before it is read: the client would see a
/// dropped connection instead of `BYE` and the tagged OK.
async fn linger<T: Transport>(stream: &mut T) {
    let mut buf = [0u8; READ_CHUNK];
    let _ = tokio::time::timeout(LINGER, async {
        let mut total = 0;
        while total < LINGER_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => total += n,
            }
        }
    })
    .await;
}

/// A byte stream that can be upgraded to TLS.
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send + Sized {
    /// Runs the server side of a TLS handshake; returns the TLS version.
    fn starttls(
        self,
        tls: &TlsManager,
        timeout: Duration,
    ) -> impl Future<Output = io::Result<(Self, String)>> + Send;
}

impl Transport for Stream {
    async fn starttls(self, tls: &TlsManager, timeout: Duration) -> io::Result<(Self, String)> {
        let s = self.upgrade(tls, timeout).await?;
        let version = s
            .tls_info()
            .map(|i| i.version)
            .unwrap_or_else(|| "TLS".into());
        Ok((s, version))
    }
}

/// Where STARTTLS gets its certificate.
pub struct StartTls {
    /// The certificate source.
    pub tls: TlsManager,
    /// Handshake timeout.
    pub timeout: Duration,
}

/// Writes the driver's output (deflated when COMPRESS is on) and flushes.
async fn write_out<T: Transport, S: MailStore>(
    stream: &mut T,
    driver: &mut Driver<S>,
    deflate: &mut Option<Deflate>,
) -> io::Result<()> {
    let out = driver.output();
    if !out.is_empty() {
        match deflate {
            Some(d) => stream.write_all(&d.deflate(out)?).await?,
            None => stream.write_all(out).await?,
        }
        driver.output_written();
    }
    stream.flush().await
}

/// Runs one connection to its end.
pub async fn run<T: Transport, S: MailStore>(
    mut stream: T,
    mut driver: Driver<S>,
    starttls: Option<StartTls>,
    shutdown: CancellationToken,
) {
    let mut deflate: Option<Deflate> = None;
    driver.greeting();
    if write_out(&mut stream, &mut driver, &mut deflate)
        .await
        .is_err()
    {
        return;
    }
    let mut buf = [0u8; READ_CHUNK];
    loop {
        let control = driver.advance().await;
        if (control != Control::Read || !driver.output().is_empty())
            && write_out(&mut stream, &mut driver, &mut deflate)
                .await
                .is_err()
        {
            return;
        }
        match control {
            Control::Write => continue,
            Control::Read => {}
            Control::Close => {
                let _ = stream.shutdown().await;
                linger(&mut stream).await;
                return;
            }
            Control::Compress => {
                // Bytes already read after the COMPRESS line are compressed.
                let mut d = Deflate::default();
                let pending = driver.take_input();
                match d.inflate(&pending) {
                    Ok(plain) => driver.push_input(&plain),
                    Err(_) => return,
                }
                deflate = Some(d);
                continue;
            }
            Control::StartTls => {
                // Whatever was pipelined after STARTTLS came in plaintext:
                // it must not be obeyed (RFC 9051 6.2.1).
                driver.discard_input();
                let Some(st) = &starttls else { return };
                match stream.starttls(&st.tls, st.timeout).await {
                    Ok((s, version)) => {
                        stream = s;
                        driver.tls_started(version);
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "IMAP STARTTLS handshake failed");
                        return;
                    }
                }
                continue;
            }
        }
        driver.shrink();
        let timeout = driver.timeout();
        let idling = driver.listening();
        tokio::select! {
            _ = shutdown.cancelled() => {
                driver.shutdown();
                let _ = write_out(&mut stream, &mut driver, &mut deflate).await;
                let _ = stream.shutdown().await;
                return;
            }
            _ = tokio::time::sleep(timeout) => {
                driver.timed_out();
                let _ = write_out(&mut stream, &mut driver, &mut deflate).await;
                let _ = stream.shutdown().await;
                return;
            }
            _ = driver.changed(), if idling => {}
            r = stream.read(&mut buf) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => match &mut deflate {
                    None => driver.push_input(&buf[..n]),
                    Some(d) => match d.inflate(&buf[..n]) {
                        Ok(plain) => driver.push_input(&plain),
                        Err(e) => {
                            tracing::debug!(error = %e, "IMAP COMPRESS stream broken");
                            return;
                        }
                    },
                },
            }
        }
    }
}
