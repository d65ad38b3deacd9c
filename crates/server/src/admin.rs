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
//! Operations: `ping`, `reload` (the config file's reloadable parts,
//! accounts and certificates), `delete-account` (crypto-shreds in the
//! running store), `compliance-report` and `dpia` (rendered from the
//! configuration the server runs with, compared with the file the CLI
//! names), `import` (mail into an account; progress lines count messages
//! and octets), and the others below.

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
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
    /// Reload the config file's reloadable parts, accounts and
    /// certificates. `config`: the file the CLI edited; a server that runs
    /// from another file refuses (the edit would not be what it runs).
    Reload {
        #[serde(default)]
        config: Option<std::path::PathBuf>,
    },
    /// Delete an account's store data (after it was removed from the accounts file).
    DeleteAccount { address: String },
    /// Restore a deleted account's store data.
    RestoreAccount { address: String },
    /// Record an audit event on behalf of the CLI.
    Audit { event: sealpost_audit::Event },
    /// One retention pass as if at this Unix time.
    RetentionRun { at: i64 },
    /// The nodes known to the store and the audit erasures they owe.
    StoreNodes,
    /// Forget a retired node: audit erasures stop waiting for it.
    ForgetNode { node: String },
    /// Export an account's data to a file the server writes.
    Export {
        address: String,
        out: std::path::PathBuf,
        maildir: bool,
    },
    /// The register of processing, from the running configuration,
    /// compared with this config file.
    ComplianceReport {
        #[serde(default)]
        file: Option<std::path::PathBuf>,
    },
    /// The data protection impact assessment, likewise.
    Dpia {
        #[serde(default)]
        file: Option<std::path::PathBuf>,
    },
    /// The outbound queue, formatted.
    QueueList,
    /// Retry every queued message now.
    QueueFlush,
    /// Send the TLS reports now (of one domain, or all) and retry the
    /// waiting ones (`tls_report.rs`).
    TlsReportSend {
        #[serde(default)]
        domain: Option<String>,
    },
    /// Octets and messages each account's mail takes (`usage`).
    AccountUsage,
    /// Show, hold, release, delete or bounce queued messages (`queue_control`).
    QueueControl { action: QueueAction },
    /// A backup of the store into this folder (`backup.rs`).
    Backup {
        out: std::path::PathBuf,
        include_keys: bool,
    },
    /// Import mail into an account (`sealpost import`), in the server so
    /// that IMAP sessions see it arrive.
    Import {
        address: String,
        source: sealpost_import::Origin,
    },
}

/// What `sealpost queue show|hold|release|delete|bounce` asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum QueueAction {
    /// The envelope and state; the message too with `body`.
    Show { id: String, body: bool },
    /// No attempt until released.
    Hold { id: String },
    /// Due again now.
    Release { id: String },
    /// Removed without a DSN.
    Delete { id: String },
    /// Every pending recipient in this domain removed.
    DeleteFor { domain: String },
    /// Failed now, with a DSN to the sender.
    Bounce { id: String },
}

/// The answer: zero or more progress lines, then one with `ok`.
#[derive(Debug, Serialize, Deserialize, Default)]
pub struct Response {
    #[serde(default)]
    pub ok: bool,
    #[serde(default)]
    pub message: String,
    /// (done, total) while a long operation runs; absent on the final line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<(u64, u64)>,
    /// Bytes that follow the message, base64 (a queued message's content
    /// for `queue show --body`: mail need not be UTF-8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

impl Response {
    pub fn done(ok: bool, message: impl Into<String>) -> Response {
        Response {
            ok,
            message: message.into(),
            progress: None,
            data: None,
        }
    }
}

/// What the server does with one request: run on the blocking pool, it
/// reports progress through the callback and returns the final answer.
/// (`serve` supplies it; this module knows nothing of what requests do.)
pub type Execute = dyn Fn(Request, &mut dyn FnMut(u64, u64)) -> Response + Send + Sync;

/// Binds the socket and serves it until `shutdown`.
pub async fn serve(
    path: &Path,
    execute: Arc<Execute>,
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
            let execute = execute.clone();
            tokio::spawn(async move {
                let _ = handle(stream, execute).await;
            });
        }
    }))
}

async fn handle(stream: UnixStream, execute: Arc<Execute>) -> std::io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(r).take(MAX_REQUEST as u64);
    reader.read_line(&mut line).await?;
    let req = match serde_json::from_str::<Request>(line.trim()) {
        Ok(req) => req,
        Err(e) => {
            let mut out = serde_json::to_vec(&Response::done(false, format!("bad request: {e}")))
                .unwrap_or_default();
            out.push(b'\n');
            w.write_all(&out).await?;
            return w.shutdown().await;
        }
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Response>();
    let worker = tokio::task::spawn_blocking(move || {
        let progress_tx = tx.clone();
        let mut progress = move |done: u64, total: u64| {
            let _ = progress_tx.send(Response {
                progress: Some((done, total)),
                ..Default::default()
            });
        };
        let r = execute(req, &mut progress);
        let _ = tx.send(r);
    });
    while let Some(r) = rx.recv().await {
        let last = r.progress.is_none();
        let mut out = serde_json::to_vec(&r).unwrap_or_default();
        out.push(b'\n');
        w.write_all(&out).await?;
        if last {
            break;
        }
    }
    let _ = worker.await;
    w.shutdown().await
}

use tokio::io::AsyncReadExt;

/// Sends a request to a running server; `Ok(None)` when no server is running.
pub fn request(socket: &Path, req: &Request) -> Result<Option<Response>, String> {
    use std::io::Write;
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
    request_with_progress(stream, &mut |_, _| {})
}

/// Like [`request`], reporting progress lines as they come.
pub fn request_progress(
    socket: &Path,
    req: &Request,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Option<Response>, String> {
    use std::io::Write;
    let mut stream = match std::os::unix::net::UnixStream::connect(socket) {
        Ok(s) => s,
        Err(_) => return Ok(None),
    };
    let mut line = serde_json::to_vec(req).map_err(|e| e.to_string())?;
    line.push(b'\n');
    stream
        .write_all(&line)
        .map_err(|e| format!("admin socket: {e}"))?;
    request_with_progress(stream, progress)
}

fn request_with_progress(
    stream: std::os::unix::net::UnixStream,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Option<Response>, String> {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::new(stream);
    loop {
        let mut answer = String::new();
        let n = reader
            .read_line(&mut answer)
            .map_err(|e| format!("admin socket: {e}"))?;
        if n == 0 {
            return Err("admin socket: the server closed the connection without an answer".into());
        }
        let r: Response = serde_json::from_str(answer.trim())
            .map_err(|e| format!("admin socket: bad answer: {e}"))?;
        match r.progress {
            Some((done, total)) => progress(done, total),
            None => return Ok(Some(r)),
        }
    }
}
