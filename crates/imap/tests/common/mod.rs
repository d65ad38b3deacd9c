//! Test harness: a directory and config in a tempdir, a mail store (the
//! real `sealpost_store::Store` in the tempdir, or the in-memory
//! `MemStore`), and an in-memory client that speaks to `conn::run` through
//! a duplex pipe and checks every server line with imap-proto.
//!
//! Every transcript runs against both stores: write the test as
//! `async fn name(store: Backend)`, build its world with that backend, and
//! list it in `both_stores!`, which makes `name::real` and `name::memory`.
//! A transcript that passes on one and fails on the other is a divergence
//! between the model and the store (or a session that depends on one).
#![allow(dead_code)]

use sealpost_audit::AuditLog;
use sealpost_config::Config;
use sealpost_directory::{Directory, Secret, ThrottleLimits};
use sealpost_imap::conn::{self, StartTls, Transport};
use sealpost_imap::driver::{Driver, Services};
use sealpost_imap::mailstore::{MailStore, MemStore};
use sealpost_net::{CancellationToken, TlsManager};
use sealpost_store::{Store, StoreOptions};
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};

pub const USER: &str = "alice@example.org";
pub const PASS: &str = "correct horse";
pub const USER2: &str = "bob@example.org";

/// One argon2 hash for all tests (hashing is slow in debug builds).
fn hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| sealpost_directory::hash_password(&Secret::new(PASS)))
}

/// Which mail store a world runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sealpost_store::Store` in the world's tempdir.
    Real,
    /// The in-memory model.
    Memory,
}

/// Makes `name::real` and `name::memory` tests of each
/// `async fn name(store: Backend)`.
#[allow(unused_macros)]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn real() {
                super::$name($crate::common::Backend::Real).await
            }
            #[tokio::test]
            async fn memory() {
                super::$name($crate::common::Backend::Memory).await
            }
        }
    )*};
}

/// The service context over one of the stores.
pub enum Stores {
    Real(Arc<Services<Store>>),
    Memory(Arc<Services<MemStore>>),
}

/// A server world in a tempdir.
pub struct World {
    pub dir: tempfile::TempDir,
    pub stores: Stores,
    pub tls: TlsManager,
}

impl World {
    pub fn new(backend: Backend) -> World {
        Self::with_imap(backend, "")
    }

    /// A world whose `[imap]` section holds `imap_toml`.
    pub fn with_imap(backend: Backend, imap_toml: &str) -> World {
        Self::build(
            backend,
            Setup {
                imap_toml,
                ..Setup::default()
            },
        )
    }

    /// The real store's context (for tests that need the real server).
    pub fn real(&self) -> &Arc<Services<Store>> {
        match &self.stores {
            Stores::Real(c) => c,
            Stores::Memory(_) => panic!("this test needs the real store"),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        match &self.stores {
            Stores::Real(c) => &c.config,
            Stores::Memory(c) => &c.config,
        }
    }

    /// A world as `setup` describes.
    pub fn build(backend: Backend, setup: Setup) -> World {
        let Setup {
            imap_toml,
            alice_quota,
            throttle,
        } = setup;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let quota = alice_quota
            .map(|q| format!("quota = {q}\n"))
            .unwrap_or_default();
        std::fs::write(
            d.join("accounts.toml"),
            format!(
                "[[account]]\naddress = \"{USER}\"\npassword = \"{h}\"\n{quota}\n[[account]]\naddress = \"{USER2}\"\npassword = \"{h}\"\n",
                h = hash()
            ),
        )
        .unwrap();
        let cfg = format!(
            "[server]\nhostname = \"localhost\"\ndata_dir = \"data\"\naccounts = \"accounts.toml\"\nmaster_key = \"master.key\"\naudit_signing_key = \"audit.key\"\n\n[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n\n[imap]\n{imap_toml}\n\n[[domain]]\nname = \"example.org\"\n"
        );
        let path = d.join("sealpost.toml");
        std::fs::write(&path, &cfg).unwrap();
        let config = Config::parse(&path, &cfg).unwrap();
        let directory = Directory::load(
            &d.join("accounts.toml"),
            vec!["example.org".into()],
            throttle.unwrap_or(ThrottleLimits {
                per_ip: 1000,
                per_account: 1000,
                window: Duration::from_secs(900),
            }),
        )
        .unwrap();
        let (tls, _) =
            TlsManager::load_or_generate(&d.join("cert.pem"), &d.join("key.pem"), "localhost")
                .unwrap();
        let config = Arc::new(config);
        let stores = match backend {
            Backend::Real => Stores::Real(Arc::new(Services {
                config,
                store: Store::open(StoreOptions {
                    data_dir: d.join("data"),
                    master_key: d.join("master.key"),
                    summarizer: Arc::new(sealpost_imap::message::ImapSummarizer),
                })
                .unwrap(),
                directory,
                audit: AuditLog::disabled(),
            })),
            Backend::Memory => Stores::Memory(Arc::new(Services {
                config,
                store: MemStore::new(),
                directory,
                audit: AuditLog::disabled(),
            })),
        };
        World { dir, stores, tls }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Connects a client; `tls` says whether the connection starts encrypted.
    pub async fn connect(&self, tls: bool) -> Client {
        self.connect_counting(tls, Arc::new(AtomicUsize::new(0)))
            .await
    }

    /// Connects a client whose server side counts its flushes (writes of
    /// a batch of responses) in `flushes`.
    pub async fn connect_counting(&self, tls: bool, flushes: Arc<AtomicUsize>) -> Client {
        let (client, server) = tokio::io::duplex(1 << 20);
        let shutdown = CancellationToken::new();
        let server = FakeTls(server, flushes);
        let task = match &self.stores {
            Stores::Real(ctx) => self.serve(ctx, server, tls, shutdown.clone()),
            Stores::Memory(ctx) => self.serve(ctx, server, tls, shutdown.clone()),
        };
        let mut c = Client {
            io: client,
            buf: Vec::new(),
            shutdown,
            task: Some(task),
        };
        let greeting = c.line().await;
        assert!(greeting.starts_with("* OK [CAPABILITY "), "{greeting}");
        c
    }

    fn serve<S: MailStore>(
        &self,
        ctx: &Arc<Services<S>>,
        server: FakeTls,
        tls: bool,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let driver = Driver::new(
            ctx.clone(),
            "127.0.0.1:40000".parse().unwrap(),
            tls.then(|| "TLSv1.3".to_string()),
        );
        let starttls = (!tls).then(|| StartTls {
            tls: self.tls.clone(),
            timeout: Duration::from_secs(5),
        });
        tokio::spawn(conn::run(server, driver, starttls, shutdown))
    }

    /// A client logged in as alice over TLS.
    pub async fn login(&self) -> Client {
        let mut c = self.connect(true).await;
        let r = c.cmd(&format!("L1 LOGIN {USER} \"{PASS}\"")).await;
        assert!(r.last().unwrap().starts_with("L1 OK"), "{r:?}");
        c
    }
}

/// What a test world differs in.
#[derive(Default)]
pub struct Setup<'a> {
    /// The `[imap]` section's body.
    pub imap_toml: &'a str,
    /// alice's quota in octets.
    pub alice_quota: Option<u64>,
    /// Login throttling (default: effectively off).
    pub throttle: Option<ThrottleLimits>,
}

/// The duplex pipe pretending to be a TCP stream; STARTTLS just marks it.
/// Counts the server's flushes.
pub struct FakeTls(pub DuplexStream, pub Arc<AtomicUsize>);

impl AsyncRead for FakeTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for FakeTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.0).poll_flush(cx);
        if r.is_ready() {
            this.1.fetch_add(1, Ordering::SeqCst);
        }
        r
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl Transport for FakeTls {
    async fn starttls(self, _tls: &TlsManager, _timeout: Duration) -> io::Result<(Self, String)> {
        Ok((self, "TLSv1.3".into()))
    }
}

/// The client end.
pub struct Client {
    pub io: DuplexStream,
    buf: Vec<u8>,
    pub shutdown: CancellationToken,
    pub task: Option<tokio::task::JoinHandle<()>>,
}

/// Checks a complete response with imap-proto (the strict parser).
pub fn assert_parses(resp: &[u8]) {
    let text = String::from_utf8_lossy(resp);
    // imap-proto does not know MODSEQ in SEARCH answers (RFC 7162).
    if text.starts_with("* SEARCH") && text.contains("MODSEQ") {
        return;
    }
    // imap-proto knows neither STATUS=SIZE nor DELETED (RFC 8438, RFC 9051).
    if text.starts_with("* STATUS") && (text.contains(" SIZE ") || text.contains("DELETED")) {
        return;
    }
    // ...nor BINARY (RFC 3516) nor PREVIEW (RFC 8970).
    // imap-proto also misreads the non-extensible `BODY (...)` item.
    // ...nor SAVEDATE (RFC 8514), nor OBJECTID's items (RFC 8474).
    if text.contains("BINARY")
        || text.contains("EMAILID")
        || text.contains("THREADID")
        || text.contains("MAILBOXID (")
        || text.contains("PREVIEW")
        || text.contains("BODY (")
        || text.contains("SAVEDATE")
    {
        return;
    }
    // imap-proto predates UTF8=ACCEPT / IMAP4rev2 UTF-8 quoted strings.
    if resp.iter().any(|&b| b >= 0x80) {
        return;
    }
    // imap-proto does not know these (newer) responses.
    for skip in [
        "* ESEARCH",
        "* THREAD",
        "* SORT",
        "* ENABLED",
        "* QUOTA",
        "* NAMESPACE",
        "* VANISHED",
        "* METADATA",
    ] {
        if text.starts_with(skip) {
            return;
        }
    }
    // ...nor UIDONLY's UIDFETCH (RFC 9586), which has FETCH's syntax with
    // a UID for the number: checked as that FETCH.
    if let Some(i) = text.find(" UIDFETCH (") {
        let mut fetch = resp[..i].to_vec();
        fetch.extend_from_slice(b" FETCH");
        fetch.extend_from_slice(&resp[i + " UIDFETCH".len()..]);
        return assert_parses(&fetch);
    }
    // ...nor LIST-EXTENDED's extended data (RFC 5258 CHILDINFO): check
    // the rest of the line.
    // ...nor NOTIFY's OLDNAME (RFC 5465 5.4), the same extended data.
    if let Some(i) = text
        .find(" (\"CHILDINFO\" (")
        .or_else(|| text.find(" (\"OLDNAME\" ("))
    {
        let mut rest = resp[..i].to_vec();
        rest.extend_from_slice(b"\r\n");
        return assert_parses(&rest);
    }
    match imap_proto::parser::parse_response(resp) {
        Ok((rest, _)) => assert!(rest.is_empty(), "trailing bytes after {text:?}"),
        Err(e) => panic!("imap-proto cannot parse {text:?}: {e:?}"),
    }
}

impl Client {
    pub async fn send(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).await.unwrap();
    }

    async fn fill(&mut self) -> bool {
        let mut tmp = [0u8; 8192];
        let n = tokio::time::timeout(Duration::from_secs(30), self.io.read(&mut tmp))
            .await
            .expect("server did not answer in time")
            .unwrap();
        self.buf.extend_from_slice(&tmp[..n]);
        n > 0
    }

    /// One whole response (a line, with any literals it announces).
    pub async fn response(&mut self) -> Vec<u8> {
        let mut pos = 0;
        loop {
            if let Some(i) = self.buf[pos..].windows(2).position(|w| w == b"\r\n") {
                let end = pos + i + 2;
                let line = &self.buf[..end];
                if let Some((n, _)) = literal_at_end(line) {
                    if self.buf.len() >= end + n {
                        pos = end + n;
                        continue;
                    }
                } else {
                    let r: Vec<u8> = self.buf.drain(..end).collect();
                    return r;
                }
            }
            if !self.fill().await {
                let r = std::mem::take(&mut self.buf);
                return r;
            }
        }
    }

    /// One response as text, without CRLF, checked with imap-proto.
    pub async fn line(&mut self) -> String {
        let r = self.response().await;
        if r.is_empty() {
            return String::new();
        }
        assert_parses(&r);
        String::from_utf8_lossy(&r)
            .trim_end_matches("\r\n")
            .to_string()
    }

    /// Sends a command line and returns every response up to its tagged one.
    pub async fn cmd(&mut self, line: &str) -> Vec<String> {
        let tag = line.split(' ').next().unwrap().to_string();
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.until_tagged(&tag).await
    }

    pub async fn until_tagged(&mut self, tag: &str) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let l = self.line().await;
            if l.is_empty() {
                out.push(l);
                return out;
            }
            let done = l.starts_with(&format!("{tag} "));
            out.push(l);
            if done {
                return out;
            }
        }
    }

    /// Whether the server closed the connection.
    pub async fn closed(&mut self) -> bool {
        matches!(
            tokio::time::timeout(Duration::from_secs(10), async {
                let mut tmp = [0u8; 256];
                loop {
                    match self.io.read(&mut tmp).await {
                        Ok(0) | Err(_) => return true,
                        Ok(_) => continue,
                    }
                }
            })
            .await,
            Ok(true)
        )
    }
}

fn literal_at_end(line: &[u8]) -> Option<(usize, ())> {
    let l = line.strip_suffix(b"\r\n")?.strip_suffix(b"}")?;
    let open = l.iter().rposition(|&b| b == b'{')?;
    let n = std::str::from_utf8(&l[open + 1..]).ok()?.parse().ok()?;
    Some((n, ()))
}

/// Replays a C:/S: transcript. `S:` lines are matched in order; `..` in an
/// expected line matches any text.
pub async fn transcript(c: &mut Client, script: &str) {
    let mut expected: Vec<&str> = Vec::new();
    let lines: Vec<&str> = script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if let Some(cmd) = l.strip_prefix("C: ") {
            c.send(format!("{cmd}\r\n").as_bytes()).await;
            expected.clear();
            i += 1;
            while i < lines.len() && lines[i].starts_with("S: ") {
                expected.push(&lines[i][3..]);
                i += 1;
            }
            for (n, exp) in expected.iter().enumerate() {
                let got = c.line().await;
                assert!(
                    glob(exp, &got),
                    "after {cmd:?}, response {n}: expected {exp:?}, got {got:?}"
                );
            }
        } else {
            panic!("bad transcript line {l:?}");
        }
    }
}

/// `..` matches any run of characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split("..").collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(p) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(k) => rest = &rest[k + p.len()..],
                None => return false,
            }
        }
    }
    true
}
