//! The socket loop: greeting, read with a timeout, hand bytes to the
//! [`Engine`], write replies, STARTTLS upgrades and shutdown.
//!
//! Replies are written when the engine has consumed every complete unit in
//! the buffer, i.e. just before we would block on a read: a pipelining
//! client (RFC 2920) gets its replies in one write. On STARTTLS everything
//! already buffered is dropped before the handshake (RFC 3207 4.2,
//! CVE-2011-0411).

use crate::delivery::Services;
use crate::engine::{Control, Engine};
use crate::queue::{Queue, QueueError};
use crate::session::Role;
use sealpost_audit::AuditLog;
use sealpost_config::Config;
use sealpost_directory::Directory;
use sealpost_net::{Conn, Handler, ListenerKind, Stream};
use sealpost_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Why the SMTP service could not start.
#[derive(Debug, thiserror::Error)]
pub enum SmtpServerError {
    /// The queue directory is unusable.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// DKIM keys or the DNS resolver could not be set up.
    #[error(transparent)]
    MailAuth(#[from] crate::mailauth::MailAuthError),
}

/// The SMTP service for the `smtp`, `submission` and `submissions` listeners.
pub struct SmtpServer {
    services: Arc<Services>,
}

impl SmtpServer {
    /// Builds the service: loads DKIM keys, sets up the resolver, and opens
    /// the outbound queue under `data_dir/queue/` (recovering it after a
    /// crash). Must be called inside a tokio runtime.
    pub fn new(
        config: Arc<Config>,
        store: Store,
        directory: Directory,
        audit: AuditLog,
    ) -> Result<SmtpServer, SmtpServerError> {
        let authn = Arc::new(crate::mailauth::MailAuth::new(&config)?);
        let queue = Queue::open(
            config.clone(),
            store.clone(),
            directory.clone(),
            audit.clone(),
        )?;
        queue.set_mail_auth(authn.clone());
        Ok(SmtpServer {
            services: Arc::new(Services {
                config,
                store,
                directory,
                audit,
                queue,
                mail_auth: authn,
            }),
        })
    }

    /// The outbound queue: spawn [`Queue::run`]; the CLI uses
    /// [`Queue::list`] and [`Queue::flush_now`].
    pub fn queue(&self) -> Queue {
        self.services.queue.clone()
    }
}

impl Handler for SmtpServer {
    fn handle(self: Arc<Self>, conn: Conn) -> impl Future<Output = ()> + Send {
        run(self.services.clone(), conn)
    }

    fn over_capacity_line(&self) -> Option<&'static [u8]> {
        // RFC 5321 3.1: a 421 greeting closes the connection; 4.7.0 (RFC 3463).
        Some(b"421 4.7.0 Too many connections from your address, try again later\r\n")
    }
}

async fn run(services: Arc<Services>, conn: Conn) {
    let Conn {
        stream,
        peer,
        kind,
        tls,
        shutdown,
        handshake_timeout,
        permit,
        ..
    } = conn;
    let _permit = permit;
    let role = match kind {
        ListenerKind::Submission | ListenerKind::Submissions => Role::Submission,
        // The server only routes SMTP listeners here; anything else is
        // treated as inbound, the most restrictive role.
        _ => Role::Inbound,
    };
    let timeout = Duration::from_secs(services.config.smtp.timeout_secs.max(1));
    let mut stream = stream;
    let mut engine = Engine::new(services, role, peer, tls_name(&stream));
    let mut out = Vec::new();
    engine.greeting().write_to(&mut out);
    let mut input: Vec<u8> = Vec::with_capacity(4096);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let control = engine.process(&mut input, &mut out).await;
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() || stream.flush().await.is_err() {
                return;
            }
            out.clear();
        }
        match control {
            Control::Close => break,
            Control::StartTls => {
                // Bytes pipelined after STARTTLS were sent in plaintext: drop them.
                input.clear();
                stream = match stream.upgrade(&tls, handshake_timeout).await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "STARTTLS handshake failed");
                        return;
                    }
                };
                engine.tls_started(tls_name(&stream));
                continue;
            }
            Control::Continue => {}
        }
        let read = tokio::select! {
            _ = shutdown.cancelled() => {
                let _ = stream.write_all(&engine.session.shutdown_reply().to_bytes()).await;
                break;
            }
            r = tokio::time::timeout(timeout, stream.read(&mut buf)) => r,
        };
        match read {
            Err(_) => {
                let _ = stream
                    .write_all(&engine.session.timeout_reply().to_bytes())
                    .await;
                break;
            }
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => input.extend_from_slice(&buf[..n]),
        }
    }
    let _ = stream.shutdown().await;
}

fn tls_name(stream: &Stream) -> Option<String> {
    stream
        .tls_info()
        .map(|i| format!("{} with cipher {}", i.version, i.cipher))
}
