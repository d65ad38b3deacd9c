//! The admin socket: how the CLI reaches a running server.
//!
//! A Unix socket `data_dir/admin.sock`, mode 0600 inside the 0700 data_dir,
//! so only the server's own user can connect. One JSON request line per
//! connection, one JSON response line back:
//!
//! ```text
//! > {"op":"reload"}
//! < {"ok":true,"message":"reloaded (3 accounts)"}
//! ```
//!
//! Operations: `ping`, `reload` (accounts and certificates), and
//! `delete-account` (crypto-shreds in the running store).

use crate::serve::Services;
use serde::{Deserialize, Serialize};
use std::path::Path;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Longest request line.
const MAX_REQUEST: usize = 64 * 1024;

/// A request to the running server.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// Is a server there?
    Ping,
    /// Reload accounts and certificates.
    Reload,
    /// Delete an account's store data (after it was removed from the accounts file).
    DeleteAccount { address: String },
    /// Record an audit event on behalf of the CLI.
    Audit { event: sealpost_audit::Event },
}

/// The answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    pub message: String,
}

/// Binds the socket and serves it until `shutdown`.
pub async fn serve(
    path: &Path,
    services: Services,
    shutdown: CancellationToken,
) -> std::io::Result<JoinHandle<()>> {
    // We hold the data_dir lock, so a socket file left here is stale.
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                _ = shutdown.cancelled() => break,
                a = listener.accept() => match a {
                    Ok((s, _)) => s,
                    Err(_) => continue,
                },
            };
            let services = services.clone();
            tokio::spawn(async move {
                let _ = handle(stream, services).await;
            });
        }
    }))
}

async fn handle(stream: UnixStream, services: Services) -> std::io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(r).take(MAX_REQUEST as u64);
    reader.read_line(&mut line).await?;
    let response = match serde_json::from_str::<Request>(line.trim()) {
        Ok(req) => {
            let services = services.clone();
            tokio::task::spawn_blocking(move || execute(req, &services))
                .await
                .unwrap_or_else(|e| Response {
                    ok: false,
                    message: format!("internal error: {e}"),
                })
        }
        Err(e) => Response {
            ok: false,
            message: format!("bad request: {e}"),
        },
    };
    let mut out = serde_json::to_vec(&response).unwrap_or_default();
    out.push(b'\n');
    w.write_all(&out).await?;
    w.shutdown().await
}

use tokio::io::AsyncReadExt;

fn execute(req: Request, services: &Services) -> Response {
    match req {
        Request::Ping => Response {
            ok: true,
            message: "pong".into(),
        },
        Request::Reload => match services.reload() {
            Ok(m) => Response {
                ok: true,
                message: m,
            },
            Err(m) => Response {
                ok: false,
                message: m,
            },
        },
        Request::Audit { event } => {
            services.audit.record(event);
            Response {
                ok: true,
                message: "recorded".into(),
            }
        }
        Request::DeleteAccount { address } => {
            let r = crate::accounts::delete_in_store(&services.store, &services.audit, &address);
            match r {
                Ok(m) => Response {
                    ok: true,
                    message: m,
                },
                Err(f) => Response {
                    ok: false,
                    message: f.message,
                },
            }
        }
    }
}

/// Sends a request to a running server; `Ok(None)` when no server is running.
pub fn request(socket: &Path, req: &Request) -> Result<Option<Response>, String> {
    use std::io::{BufRead, Write};
    let mut stream = match std::os::unix::net::UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(format!(
                "cannot reach the server at {}: {e}",
                socket.display()
            ));
        }
    };
    let mut line = serde_json::to_vec(req).map_err(|e| e.to_string())?;
    line.push(b'\n');
    stream
        .write_all(&line)
        .map_err(|e| format!("admin socket: {e}"))?;
    let mut answer = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(|e| format!("admin socket: {e}"))?;
    serde_json::from_str(answer.trim())
        .map(Some)
        .map_err(|e| format!("admin socket: bad answer: {e}"))
}
