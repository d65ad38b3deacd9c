//! `POST /account/export`: the data-subject export as a download,
//! streamed (GDPR art. 15 and 20).
//!
//! The archive is the one `sealpost export` writes (the backend runs the
//! same code). It is produced on the blocking pool into a writer that
//! hands 64 KiB chunks through a bounded channel to the response body, so
//! memory stays flat whatever the mailbox size, and the browser's reading
//! paces the export. The response starts only once the first chunk exists:
//! a failure before it (no mail store for the account, say) is an error
//! page; a failure after it cuts the download short (the body ends with an
//! error, so the browser reports the download as failed instead of saving
//! half an archive). The backend audits the export after the last byte is
//! handed over. A client that stops reading for [`STALL`] is dropped.
//!
//! Exports are heavy (every message read and decrypted): at most
//! `max_concurrent_exports` run at once and one per account; others get
//! `429` with `Retry-After`.

use super::request::{PageError, read_form, signed_in_post};
use super::{AccountPage, ActionError, ExportFormat};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper::body::Frame;
use parking_lot::Mutex;
use std::collections::HashSet;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

/// Size of the chunks handed to the body.
const CHUNK: usize = 64 * 1024;
/// Chunks waiting for the client at most.
const QUEUED_CHUNKS: usize = 4;
/// How long the export waits for a client that does not read.
pub const STALL: Duration = Duration::from_secs(60);

/// The exports running now.
pub struct Exports {
    slots: Arc<Semaphore>,
    accounts: Arc<Mutex<HashSet<String>>>,
}

/// One running export: frees its slot and its account when dropped.
struct Running {
    _permit: OwnedSemaphorePermit,
    accounts: Arc<Mutex<HashSet<String>>>,
    address: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.accounts.lock().remove(&self.address);
    }
}

impl Exports {
    /// At most `max` at once.
    pub fn new(max: usize) -> Exports {
        Exports {
            slots: Arc::new(Semaphore::new(max)),
            accounts: Arc::default(),
        }
    }

    fn start(&self, address: &str) -> Result<Running, PageError> {
        if !self.accounts.lock().insert(address.to_string()) {
            return Err(PageError::throttled(
                super::text::t().export_running.into(),
                60,
            ));
        }
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                self.accounts.lock().remove(address);
                return Err(PageError::throttled(
                    super::text::t().export_busy.into(),
                    60,
                ));
            }
        };
        Ok(Running {
            _permit: permit,
            accounts: self.accounts.clone(),
            address: address.to_string(),
        })
    }
}

type Chunk = Result<Bytes, io::Error>;

/// The blocking side: buffers writes and sends full chunks.
struct ChannelWriter {
    tx: mpsc::Sender<Chunk>,
    buf: Vec<u8>,
    runtime: tokio::runtime::Handle,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        let tx = self.tx.clone();
        match self
            .runtime
            .block_on(async { tokio::time::timeout(STALL, tx.send(Ok(chunk))).await })
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the browser closed the download",
            )),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the browser stopped reading the download",
            )),
        }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The response body: the first chunk, then whatever the channel brings.
struct ExportBody {
    first: Option<Bytes>,
    rx: mpsc::Receiver<Chunk>,
}

impl hyper::body::Body for ExportBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|r| r.map(Frame::data)))
    }
}

/// `POST /account/export` (form: `csrf`, `format` = `mbox` | `maildir`).
pub async fn download(State(page): State<Arc<AccountPage>>, req: Request) -> Response {
    match export(&page, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn export(page: &Arc<AccountPage>, req: Request) -> Result<Response, PageError> {
    let (headers, form) = read_form(page, req).await?;
    let (_, current) = signed_in_post(page, &headers, &form)?;
    let format = match form.get("format").unwrap_or("mbox") {
        "mbox" => ExportFormat::Mbox,
        "maildir" => ExportFormat::Maildir,
        _ => {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                super::text::t().export_not_started,
                super::text::t().export_bad_format,
            ));
        }
    };
    let running = page.exports.start(&current.address)?;
    let (tx, mut rx) = mpsc::channel::<Chunk>(QUEUED_CHUNKS);
    let address = current.address.clone();
    let runtime = tokio::runtime::Handle::current();
    let backend = page.backend.clone();
    let job = tokio::task::spawn_blocking(move || {
        let _running = running;
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
            runtime: runtime.clone(),
        };
        let result = backend.export(&address, format, &mut out);
        if let Err(e) = &result {
            // Cuts the download short (or, before the first chunk, becomes
            // the error page below).
            let message = e.to_string();
            let _ = runtime.block_on(tokio::time::timeout(
                STALL,
                tx.send(Err(io::Error::other(message))),
            ));
        }
        result
    });
    let first = match rx.recv().await {
        Some(Ok(chunk)) => chunk,
        // The backend failed before writing anything: its error, as a page.
        _ => {
            return Err(match job.await {
                Ok(Err(e)) => PageError::from(e),
                _ => PageError::from(ActionError::Failed("export ended without data".into())),
            });
        }
    };
    let name = format!(
        "attachment; filename=\"sealpost-export-{}-{}.tar\"",
        chrono::Utc::now().format("%Y-%m-%d"),
        match format {
            ExportFormat::Mbox => "mbox",
            ExportFormat::Maildir => "maildir",
        }
    );
    let body = Body::new(ExportBody {
        first: Some(first),
        rx,
    });
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn writer(tx: mpsc::Sender<Chunk>) -> ChannelWriter {
        ChannelWriter {
            tx,
            buf: Vec::new(),
            runtime: tokio::runtime::Handle::current(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chunks_arrive_in_order_and_a_late_failure_cuts_the_body_short() {
        let (tx, rx) = mpsc::channel(QUEUED_CHUNKS);
        let mut w = writer(tx.clone());
        let job = tokio::task::spawn_blocking(move || {
            let data: Vec<u8> = (0..CHUNK * 3 + 100).map(|i| i as u8).collect();
            w.write_all(&data).unwrap();
            w.flush().unwrap();
            let rt = w.runtime.clone();
            rt.block_on(tx.send(Err(io::Error::other("store gone"))))
                .unwrap();
        });
        let mut body = ExportBody {
            first: Some(Bytes::from_static(b"head")),
            rx,
        };
        let mut got = Vec::new();
        let mut error = None;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => got.extend_from_slice(f.data_ref().unwrap()),
                Err(e) => {
                    error = Some(e.to_string());
                    break;
                }
            }
        }
        job.await.unwrap();
        assert_eq!(&got[..4], b"head");
        let expected: Vec<u8> = (0..CHUNK * 3 + 100).map(|i| i as u8).collect();
        assert_eq!(&got[4..], &expected[..]);
        assert_eq!(
            error.as_deref(),
            Some("store gone"),
            "the body ends in an error"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_browser_that_goes_away_stops_the_export() {
        let (tx, rx) = mpsc::channel(QUEUED_CHUNKS);
        drop(rx);
        let mut w = writer(tx);
        let err = tokio::task::spawn_blocking(move || w.write_all(&vec![0u8; CHUNK]))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn one_export_per_account_and_a_bounded_number_in_all() {
        let exports = Exports::new(2);
        let a = exports.start("a@example.org").unwrap();
        assert_eq!(
            exports.start("a@example.org").err().unwrap().status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        let _b = exports.start("b@example.org").unwrap();
        assert_eq!(
            exports.start("c@example.org").err().unwrap().status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        drop(a);
        assert!(exports.start("a@example.org").is_ok(), "freed when done");
    }
}
