//! Entry points of the fuzz targets (`fuzz/imap_parser`,
//! `fuzz/imap_session`, `fuzz/imap_message`), kept in the crate so `cargo
//! test` replays their corpora and they cannot rot: each target's body is
//! one call to a function here. Not part of the server's API.
//!
//! - [`message`]: bytes as a message through summarize, encode/decode,
//!   ENVELOPE, BODY/BODYSTRUCTURE, sections, BINARY, SEARCH and THREAD;
//!   nothing may panic and a summary must decode back to itself.
//! - [`parser`]: bytes through the framer (small limits) and every framed
//!   command through the parser; must never panic.
//! - [`FuzzWorld::session`]: bytes as a client's stream through the real
//!   connection loop ([`crate::conn::run`], over an in-memory pipe) to a
//!   session over a real store in a directory the caller provides; must
//!   never panic or hang. The first byte chooses how the rest is split
//!   into writes and the state the session starts in: logged in (no
//!   argon2 per input), or not authenticated on the imaps or on the
//!   STARTTLS listener.

use crate::conn::{self, StartTls, Transport};
use crate::driver::{Driver, Services};
use crate::wire::framer::{Frame, FrameLimits, Framer};
use crate::wire::parser::parse_command;
use sealpost_audit::AuditLog;
use sealpost_config::Config;
use sealpost_directory::{Directory, ThrottleLimits};
use sealpost_net::{CancellationToken, TlsManager};
use sealpost_store::{Store, StoreOptions};
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};

/// The first input byte's low four bits choose how the rest is split
/// into reads (or writes).
fn chunk_size(data: &[u8]) -> (usize, &[u8]) {
    match data.split_first() {
        Some((&b, rest)) => (usize::from(b % 16) + 1, rest),
        None => (1, data),
    }
}

/// Where a fuzzed session starts (bits 4-5 of the first input byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// Logged in over TLS (0 and 3: the corpus made before the other
    /// states existed keeps its meaning).
    LoggedIn,
    /// Not authenticated on the imaps listener.
    Imaps,
    /// Not authenticated on the STARTTLS listener, in plaintext.
    Plaintext,
}

fn start_state(data: &[u8]) -> Start {
    match data.first().map(|b| (b >> 4) & 3) {
        Some(1) => Start::Imaps,
        Some(2) => Start::Plaintext,
        _ => Start::LoggedIn,
    }
}

/// The server's end of the in-memory pipe; STARTTLS only marks it.
struct Pipe(DuplexStream);

impl AsyncRead for Pipe {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Pipe {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl Transport for Pipe {
    async fn starttls(self, _tls: &TlsManager, _timeout: Duration) -> io::Result<(Self, String)> {
        Ok((self, "TLSv1.3".into()))
    }
}

/// The message logic on arbitrary bytes (see the module docs).
pub fn message(raw: &[u8]) {
    use crate::message::{
        SectionSpec, SectionText, Summary, TextWhere, binary, format_threads, search_text, section,
        thread_ordered_subject, thread_references,
    };
    let s = Summary::from_message(raw);
    let d = Summary::decode(&s.encode()).expect("own encoding decodes");
    assert_eq!(d, s);
    // Made while the message streams in, in pieces of any size, the
    // summary is the same (or none, past the streaming limits).
    for piece in [7, 1000] {
        let mut streamed = crate::message::StreamSummary::new();
        for p in raw.chunks(piece) {
            streamed.push(p);
        }
        let streamed = streamed.finish();
        if !streamed.is_empty() {
            assert!(
                streamed == s.encode(),
                "streamed summary differs (pieces of {piece})"
            );
        }
    }
    let _ = (
        d.envelope(),
        d.body_structure(true),
        d.body_structure(false),
    );
    let _ = (
        d.base_subject(),
        d.display_from(),
        d.display_to(),
        d.references(),
    );
    for part in [&[][..], &[1], &[2], &[1, 1], &[2, 1], &[1, 2, 3]] {
        for text in [
            SectionText::Full,
            SectionText::Header,
            SectionText::Text,
            SectionText::Mime,
            SectionText::HeaderFields(vec!["subject".into()]),
            SectionText::HeaderFieldsNot(vec!["subject".into()]),
        ] {
            let _ = section(
                raw,
                &SectionSpec {
                    part: part.to_vec(),
                    text,
                },
            );
        }
        let _ = binary(raw, part);
    }
    let _ = search_text(raw, "x", TextWhere::Text);
    // Arbitrary bytes that happen to decode must render too.
    if let Some(junk) = Summary::decode(raw) {
        let _ = (junk.envelope(), junk.body_structure(true), junk.preview());
    }
    // The input cut into messages at NUL bytes, threaded both ways.
    let parts: Vec<Summary> = raw
        .split(|&b| b == 0)
        .take(64)
        .map(Summary::from_message)
        .collect();
    let msgs: Vec<(u32, &Summary)> = parts
        .iter()
        .enumerate()
        .map(|(i, s)| (i as u32 + 1, s))
        .collect();
    let _ = format_threads(&thread_references(&msgs));
    let _ = format_threads(&thread_ordered_subject(&msgs));
}

/// Framer + parser on arbitrary bytes.
pub fn parser(data: &[u8]) {
    let (step, data) = chunk_size(data);
    let mut framer = Framer::new(FrameLimits {
        max_line: 512,
        max_literal: 1024,
    });
    for chunk in data.chunks(step) {
        framer.push(chunk);
        while let Some(frame) = framer.next_frame() {
            if let Frame::Command(bytes) = frame {
                let _ = parse_command(&bytes);
            }
        }
    }
}

/// A store, directory and config for session fuzzing.
pub struct FuzzWorld {
    services: Arc<Services<Store>>,
    account: sealpost_store::AccountId,
    tls: TlsManager,
    runtime: tokio::runtime::Runtime,
}

impl FuzzWorld {
    /// Builds the world in `dir` (which must exist and be writable).
    pub fn new(dir: &Path) -> FuzzWorld {
        let text = "[server]\nhostname = \"localhost\"\ndata_dir = \"data\"\naccounts = \"accounts.toml\"\nmaster_key = \"master.key\"\naudit_signing_key = \"audit.key\"\n\n[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n\n[imap]\nmax_line = 512\nmax_literal = 4096\n\n[[domain]]\nname = \"example.org\"\n";
        let path = dir.join("sealpost.toml");
        let config = Config::parse(&path, text).expect("fuzz config");
        let store = Store::open(StoreOptions {
            data_dir: dir.join("data"),
            master_key: dir.join("master.key"),
            summarizer: Arc::new(crate::message::ImapSummarizer),
        })
        .expect("fuzz store");
        let account = store.ensure_account("fuzz@example.org").expect("account");
        let directory = Directory::load(
            &dir.join("accounts.toml"),
            vec!["example.org".into()],
            ThrottleLimits {
                per_ip: 1,
                per_account: 1,
                window: Duration::from_secs(900),
            },
        )
        .expect("fuzz directory");
        let (tls, _) =
            TlsManager::load_or_generate(&dir.join("cert.pem"), &dir.join("key.pem"), "localhost")
                .expect("fuzz certificate");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        FuzzWorld {
            services: Arc::new(Services {
                config: Arc::new(config),
                store,
                directory,
                audit: AuditLog::disabled(),
            }),
            account,
            tls,
            runtime,
        }
    }

    /// Feeds `data` to a session as its client's bytes, through the
    /// connection loop, while draining what the server answers.
    pub fn session(&self, data: &[u8]) {
        let start = start_state(data);
        let (step, data) = chunk_size(data);
        let peer = "127.0.0.1:1".parse().expect("addr");
        let driver = match start {
            Start::LoggedIn => Driver::logged_in(
                self.services.clone(),
                peer,
                self.account,
                "fuzz@example.org".into(),
            ),
            Start::Imaps => Driver::new(self.services.clone(), peer, Some("TLSv1.3".into())),
            Start::Plaintext => Driver::new(self.services.clone(), peer, None),
        };
        let starttls = (start == Start::Plaintext).then(|| StartTls {
            tls: self.tls.clone(),
            timeout: Duration::from_secs(1),
        });
        self.runtime.block_on(async {
            let (client, server) = tokio::io::duplex(64 * 1024);
            let (mut from_server, mut to_server) = tokio::io::split(client);
            let serve = conn::run(Pipe(server), driver, starttls, CancellationToken::new());
            let write = async {
                for chunk in data.chunks(step) {
                    if to_server.write_all(chunk).await.is_err() {
                        return;
                    }
                    tokio::task::yield_now().await;
                }
                // End of input: the loop sees EOF and ends the session.
                let _ = to_server.shutdown().await;
            };
            let read = async {
                let mut sink = [0u8; 8192];
                while matches!(from_server.read(&mut sink).await, Ok(n) if n > 0) {}
            };
            tokio::join!(serve, write, read);
        });
    }
}
