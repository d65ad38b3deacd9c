//! The connection loop: the thin part with I/O. It reads bytes into the
//! framer, hands frames to the [`Session`], writes what the session
//! produced, runs the STARTTLS upgrade, and watches the shutdown token,
//! the idle timeout and (during IDLE) the selected mailbox.
//!
//! Backpressure and the in-flight limit (`imap.max_in_flight`): the loop
//! reads from the socket only when every complete command already read has
//! been answered, so at most one read ([`READ_CHUNK`]) of pipelined
//! commands waits for execution. Commands read together run one after
//! another and their responses are written together: at most
//! `max_in_flight` commands' responses (and about [`FLUSH_BYTES`]) wait
//! unsent before a write. So a pipelining client (RFC 9051 5.5) gets its
//! answers in few TLS records, and one that does not read its responses
//! stalls in our writes, not in our memory.
//!
//! COMPRESS=DEFLATE (RFC 4978) sits between the socket and the framer:
//! reads are inflated before framing, each flush of responses is deflated
//! with a sync flush.
//!
//! Long responses are written while they are made: FETCH hands over its
//! output every `SPILL_BYTES` (see `Session::spill`) through a channel of
//! one, so a FETCH 1:* BODY[] of a mailbox of any size holds about that
//! plus one message, and a client that does not read stalls the command.
//!
//! Memory while idle: the framer and output buffers are shrunk after each
//! command; an idle session holds one small read buffer and its state.

mod deflate;

pub use deflate::{Deflate, MAX_INFLATE};

use crate::mailstore::MailStore;
use crate::session::{Action, Session};
use crate::wire::framer::{Frame, FrameLimits, Framer};
use crate::wire::response::{Code, Out, Status};
use sealpost_net::{CancellationToken, Stream, TlsManager};
use std::future::Future;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest literal accepted before login (a password fits easily).
pub const PREAUTH_MAX_LITERAL: u64 = 8 * 1024;
/// Bytes read from the socket at a time.
pub const READ_CHUNK: usize = 4096;
/// Response bytes held before they are written, whatever `max_in_flight` says.
pub const FLUSH_BYTES: usize = 64 * 1024;

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

/// Writes bytes (deflated when COMPRESS is on) without flushing the stream.
async fn write_out<T: Transport>(
    stream: &mut T,
    bytes: &[u8],
    deflate: &mut Option<Deflate>,
) -> io::Result<()> {
    match deflate {
        Some(d) => stream.write_all(&d.deflate(bytes)?).await,
        None => stream.write_all(bytes).await,
    }
}

/// Runs one command. A long response comes out in parts through the
/// session's spill channel (each part is everything in `out` so far, so
/// order is kept); they are written as they come, and any still queued when
/// the command ends go back in front of what it left in `out`.
/// `None`: the client is gone.
async fn run_command<T: Transport, S: MailStore>(
    session: &mut Session<S>,
    frame: Frame,
    out: &mut Out,
    stream: &mut T,
    deflate: &mut Option<Deflate>,
) -> Option<Action> {
    // Capacity 1: the command makes the next part while one is written.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    session.set_spill(Some(tx));
    let action = {
        let command = session.on_frame(frame, out);
        tokio::pin!(command);
        loop {
            tokio::select! {
                biased;
                Some(part) = rx.recv() => write_out(stream, &part, deflate).await.ok()?,
                action = &mut command => break action,
            }
        }
    };
    session.set_spill(None);
    let mut queued = Vec::new();
    while let Ok(part) = rx.try_recv() {
        queued.extend_from_slice(&part);
    }
    if !queued.is_empty() {
        queued.extend_from_slice(&out.buf);
        out.buf = queued;
    }
    Some(action)
}

async fn flush<T: Transport>(
    stream: &mut T,
    out: &mut Out,
    deflate: &mut Option<Deflate>,
) -> io::Result<()> {
    if !out.buf.is_empty() {
        match deflate {
            Some(d) => stream.write_all(&d.deflate(&out.buf)?).await?,
            None => stream.write_all(&out.buf).await?,
        }
        out.buf.clear();
        // Keep an idle session small (the IDLE memory goal).
        if out.buf.capacity() > 4096 {
            out.buf = Vec::new();
        }
    }
    stream.flush().await
}

/// Runs one connection to its end.
pub async fn run<T: Transport, S: MailStore>(
    mut stream: T,
    mut session: Session<S>,
    limits: FrameLimits,
    starttls: Option<StartTls>,
    shutdown: CancellationToken,
) {
    let preauth = FrameLimits {
        max_line: limits.max_line,
        max_literal: limits.max_literal.min(PREAUTH_MAX_LITERAL),
    };
    let mut framer = Framer::new(preauth);
    let mut out = Out::new();
    let mut deflate: Option<Deflate> = None;
    session.greeting(&mut out);
    if flush(&mut stream, &mut out, &mut deflate).await.is_err() {
        return;
    }
    let mut buf = [0u8; READ_CHUNK];
    let max_in_flight = session.max_in_flight();
    loop {
        // Commands answered since the last write.
        let mut unsent = 0usize;
        while let Some(frame) = framer.next_frame() {
            if frame == Frame::Continue && session.plaintext() {
                // No literal (a password, a name) is accepted in plaintext:
                // refuse it before the client sends it (RFC 9051 6.2.1).
                let tag = framer.refuse_literal();
                out.status(
                    tag.as_deref(),
                    Status::Bad,
                    Some(Code::PrivacyRequired),
                    "Use STARTTLS first",
                );
                if flush(&mut stream, &mut out, &mut deflate).await.is_err() {
                    return;
                }
                continue;
            }
            let Some(action) =
                run_command(&mut session, frame, &mut out, &mut stream, &mut deflate).await
            else {
                return;
            };
            if session.authenticated() {
                framer.set_limits(limits);
            }
            unsent += 1;
            if action != Action::Continue || unsent >= max_in_flight || out.buf.len() >= FLUSH_BYTES
            {
                if flush(&mut stream, &mut out, &mut deflate).await.is_err() {
                    return;
                }
                unsent = 0;
            }
            match action {
                Action::Continue => {}
                Action::Compress => {
                    // Bytes already read after the COMPRESS line are compressed.
                    let mut d = Deflate::default();
                    let pending = framer.take_input();
                    match d.inflate(&pending) {
                        Ok(plain) => framer.push(&plain),
                        Err(_) => return,
                    }
                    deflate = Some(d);
                }
                Action::Close => {
                    let _ = stream.shutdown().await;
                    return;
                }
                Action::StartTls => {
                    // Whatever was pipelined after STARTTLS came in
                    // plaintext: it must not be obeyed (RFC 9051 6.2.1).
                    framer.discard_buffered();
                    let Some(st) = &starttls else { return };
                    match stream.starttls(&st.tls, st.timeout).await {
                        Ok((s, version)) => {
                            stream = s;
                            session.tls_established(version);
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "IMAP STARTTLS handshake failed");
                            return;
                        }
                    }
                }
            }
        }
        // Nothing more to run without reading: answer what ran.
        if !out.buf.is_empty() && flush(&mut stream, &mut out, &mut deflate).await.is_err() {
            return;
        }
        framer.shrink();
        let timeout = session.timeout();
        let idling = session.idling();
        tokio::select! {
            _ = shutdown.cancelled() => {
                session.shutdown(&mut out);
                let _ = flush(&mut stream, &mut out, &mut deflate).await;
                let _ = stream.shutdown().await;
                return;
            }
            _ = tokio::time::sleep(timeout) => {
                session.timed_out(&mut out);
                let _ = flush(&mut stream, &mut out, &mut deflate).await;
                let _ = stream.shutdown().await;
                return;
            }
            _ = session.changed(), if idling => {
                session.announce_changes(&mut out);
                if flush(&mut stream, &mut out, &mut deflate).await.is_err() {
                    return;
                }
            }
            r = stream.read(&mut buf) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => match &mut deflate {
                    None => framer.push(&buf[..n]),
                    Some(d) => match d.inflate(&buf[..n]) {
                        Ok(plain) => framer.push(&plain),
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
