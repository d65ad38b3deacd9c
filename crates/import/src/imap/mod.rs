//! A whole account from a live IMAP server over TLS (`sealpost import
//! ADDRESS --imap imaps://USER@HOST[:PORT] --password-stdin [--ca-file
//! FILE]`): every selectable folder with its messages, flags, keywords and
//! INTERNALDATE, and the subscriptions. Resumable and incremental: a second
//! run copies only what is new and applies the flag changes made at the
//! source since (see [`sync`]; what a run remembers: [`state`]).
//!
//! Folders are shared among at most [`Options::jobs`] connections; a
//! connection that drops (or times out) is replaced and its folder synced
//! again, up to [`Options::retries`] times in a row, which copies nothing
//! twice. The source's certificate is checked against the system's trust
//! roots, or only against `--ca-file`'s.
//!
//! Memory: one response in a connection's buffer at a time (a message is
//! stored as it arrives), the messages of one FETCH stored but not
//! committed yet (their summaries; on PostgreSQL also their sealed octets,
//! committed early past [`sync::COMMIT_OCTETS`]), the list of a folder's
//! missing UIDs, and the folder's state (12 octets a message).

pub mod body_stream;
pub mod client;
pub mod framer;
pub mod state;
pub mod sync;

use crate::{ImportError, Result, Totals};
use client::Client;
use sealpost_store::{AccountId, MailboxName, Store};
use serde::{Deserialize, Serialize};
use state::StateFiles;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use sync::RemoteFolder;

/// The IMAP account to copy: `imaps://USER@HOST[:PORT]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The login name (may hold `@`; `%40` works too).
    pub user: String,
    /// Host name or address (`[::1]` for IPv6).
    pub host: String,
    /// Port, 993 unless given.
    pub port: u16,
}

impl std::str::FromStr for Source {
    type Err = String;

    fn from_str(url: &str) -> std::result::Result<Source, String> {
        let Some(rest) = url.strip_prefix("imaps://") else {
            return Err(format!(
                "{url}: give imaps://USER@HOST[:PORT] (TLS only; imap:// is not supported)"
            ));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let Some((user, hostport)) = rest.rsplit_once('@') else {
            return Err(format!("{url}: no USER@ before the host"));
        };
        let user =
            percent_decode(user).ok_or_else(|| format!("{url}: bad %-escape in the user"))?;
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("{url}: {p} is not a port"))?,
            ),
            _ => (hostport, 993),
        };
        if user.is_empty() || host.is_empty() || host.contains(['/', '@', ' ']) {
            return Err(format!("{url}: give imaps://USER@HOST[:PORT]"));
        }
        Ok(Source {
            user,
            host: host.to_string(),
            port,
        })
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "imaps://{}@{}:{}", self.user, self.host, self.port)
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The source's password; never printed.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(p: String) -> Password {
        Password(p)
    }

    /// The password itself, to send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// How to import.
#[derive(Debug, Clone)]
pub struct Options {
    /// The account to copy.
    pub source: Source,
    /// Its password.
    pub password: Password,
    /// PEM certificates to trust instead of the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Connections at once (folders synced in parallel).
    pub jobs: usize,
    /// New connections tried in a row for one folder after drops.
    pub retries: u32,
    /// Where runs remember what they copied.
    pub state: StateFiles,
}

/// What the workers share.
pub struct Job {
    store: Store,
    account: AccountId,
    address: String,
    source: Source,
    state: StateFiles,
    totals: Arc<Totals>,
}

/// Why a folder's sync stopped.
#[derive(Debug)]
pub enum Failure {
    /// The connection dropped: a new one may finish the job.
    Connection(String),
    /// Nothing a new connection changes.
    Fatal(ImportError),
}

impl From<ImportError> for Failure {
    fn from(e: ImportError) -> Self {
        Failure::Fatal(e)
    }
}

/// Copies the account `opts.source` into `account` (`address`), counting
/// into `totals`. Runs on its own threads; returns when done.
pub fn run(
    store: &Store,
    account: AccountId,
    address: &str,
    opts: &Options,
    totals: Arc<Totals>,
) -> Result<()> {
    totals.compares_flags.store(true, Ordering::Relaxed);
    let tls = tls_config(opts.ca_file.as_deref())?;
    let job = Arc::new(Job {
        store: store.clone(),
        account,
        address: address.to_string(),
        source: opts.source.clone(),
        state: opts.state.clone(),
        totals,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.jobs.clamp(1, 4))
        .enable_all()
        .build()
        .map_err(|e| ImportError::Imap(format!("runtime: {e}")))?;
    // A thread of its own: the caller may be inside another runtime (the
    // server's admin socket), where blocking on this one is not allowed.
    std::thread::scope(|s| {
        s.spawn(|| runtime.block_on(run_async(job, opts, tls)))
            .join()
            .unwrap_or_else(|_| Err(ImportError::Imap("the import panicked".into())))
    })
}

async fn run_async(job: Arc<Job>, opts: &Options, tls: Arc<rustls::ClientConfig>) -> Result<()> {
    let connect = || Client::connect(&opts.source, &opts.password, tls.clone());
    let (first, folders, subscribed) = retrying(opts.retries, || async {
        let mut c = connect().await?;
        let listed = c.list(false).await?;
        let subscribed = c.list(true).await?;
        Ok::<_, Failure>((c, listed, subscribed))
    })
    .await?;
    let folders: VecDeque<RemoteFolder> = folders
        .into_iter()
        .filter(|(_, _, selectable, _)| *selectable)
        .filter_map(|(wire, delim, _, special_use)| {
            local_name(&wire, delim.as_deref()).map(|name| RemoteFolder {
                wire,
                name,
                special_use,
            })
        })
        .collect();
    let count = folders.len();
    let queue = Arc::new(shared::Queue::new(folders));
    let mut workers = tokio::task::JoinSet::new();
    let mut first = Some(first);
    for _ in 0..opts.jobs.clamp(1, 16).min(count.max(1)) {
        let (job, queue, opts, tls) = (job.clone(), queue.clone(), opts.clone(), tls.clone());
        let client = first.take();
        workers.spawn(async move { worker(client, &job, &queue, &opts, tls).await });
    }
    let mut result = Ok(());
    while let Some(r) = workers.join_next().await {
        let r = r.unwrap_or_else(|e| Err(ImportError::Imap(format!("a worker failed: {e}"))));
        if r.is_err() && result.is_ok() {
            queue.clear();
            result = r;
        }
    }
    result?;
    for (wire, delim, _, _) in subscribed {
        if let Some(name) = local_name(&wire, delim.as_deref())
            && let Ok(name) = MailboxName::new(&name)
        {
            let store = &job.store;
            tokio::task::block_in_place(|| store.set_subscribed(job.account, &name, true))?;
        }
    }
    Ok(())
}

/// Takes folders until none is left; one connection, replaced after a drop.
async fn worker(
    mut client: Option<Client>,
    job: &Job,
    queue: &shared::Queue<RemoteFolder>,
    opts: &Options,
    tls: Arc<rustls::ClientConfig>,
) -> Result<()> {
    while let Some(folder) = queue.pop() {
        let mut failures = 0;
        loop {
            let attempt = async {
                let c = match client.as_mut() {
                    Some(c) => c,
                    None => client
                        .insert(Client::connect(&opts.source, &opts.password, tls.clone()).await?),
                };
                sync::sync(c, job, &folder).await
            };
            let result = attempt.await;
            match result {
                Ok(()) => break,
                Err(Failure::Connection(_)) if failures < opts.retries => {
                    failures += 1;
                    client = None;
                    tokio::time::sleep(backoff(failures)).await;
                }
                Err(Failure::Connection(e)) => {
                    return Err(ImportError::Imap(format!(
                        "{}: {e} (gave up after {failures} new connections)",
                        folder.name
                    )));
                }
                Err(Failure::Fatal(ImportError::Imap(e))) => {
                    return Err(ImportError::Imap(format!("{}: {e}", folder.name)));
                }
                Err(Failure::Fatal(e)) => return Err(e),
            }
        }
    }
    if let Some(c) = client {
        c.logout().await;
    }
    Ok(())
}

/// Runs `f` again after a dropped connection, up to `retries` times.
async fn retrying<T, F, Fut>(retries: u32, f: F) -> Result<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, Failure>>,
{
    let mut failures = 0;
    loop {
        match f().await {
            Ok(t) => return Ok(t),
            Err(Failure::Connection(_)) if failures < retries => {
                failures += 1;
                tokio::time::sleep(backoff(failures)).await;
            }
            Err(Failure::Connection(e)) => return Err(ImportError::Imap(e)),
            Err(Failure::Fatal(e)) => return Err(e),
        }
    }
}

fn backoff(failures: u32) -> Duration {
    Duration::from_millis(500 * u64::from(failures.min(10)))
}

/// The name here of a source folder: modified UTF-7 decoded, its delimiter
/// replaced by `/`, INBOX in any case as INBOX. `None` for a name this
/// store cannot hold.
pub fn local_name(wire: &str, delimiter: Option<&str>) -> Option<String> {
    let decoded = sealpost_imap::wire::mutf7::decode(wire).ok()?;
    let name = match delimiter {
        Some(d) if d != "/" && !d.is_empty() => decoded.replace(d, "/"),
        _ => decoded,
    };
    let name = if name.eq_ignore_ascii_case("INBOX") {
        "INBOX".to_string()
    } else {
        name
    };
    MailboxName::new(&name).ok().map(|n| n.as_str().to_string())
}

/// The TLS settings: `ca_file`'s certificates, or the system's roots.
pub fn tls_config(ca_file: Option<&std::path::Path>) -> Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let bad = |e: String| ImportError::Format(format!("--ca-file {}: {e}", path.display()));
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
                let cert = cert.map_err(|e| bad(e.to_string()))?;
                roots.add(cert).map_err(|e| bad(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(bad("no certificate in it".into()));
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(ImportError::Format(
                    "no system trust roots found (install ca-certificates or give --ca-file)"
                        .into(),
                ));
            }
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ImportError::Imap(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A queue of folders shared by the workers.
mod shared {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    /// A mutex-guarded queue.
    pub struct Queue<T>(Mutex<VecDeque<T>>);

    impl<T> Queue<T> {
        pub fn new(items: VecDeque<T>) -> Self {
            Queue(Mutex::new(items))
        }
        pub fn pop(&self) -> Option<T> {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
        }
        pub fn clear(&self) {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_urls() {
        let s: Source = "imaps://alice@example.org@mail.example.net:1993"
            .parse()
            .unwrap();
        assert_eq!(s.user, "alice@example.org");
        assert_eq!(s.host, "mail.example.net");
        assert_eq!(s.port, 1993);
        let s: Source = "imaps://bob%40x.org@[::1]/".parse().unwrap();
        assert_eq!(
            (s.user.as_str(), s.host.as_str(), s.port),
            ("bob@x.org", "[::1]", 993)
        );
        assert!("imap://bob@host".parse::<Source>().is_err());
        assert!("imaps://host".parse::<Source>().is_err());
        assert!("imaps://bob@host:99999".parse::<Source>().is_err());
    }

    #[test]
    fn names_here() {
        assert_eq!(local_name("Lists.rust", Some(".")).unwrap(), "Lists/rust");
        assert_eq!(local_name("inbox", Some(".")).unwrap(), "INBOX");
        assert_eq!(local_name("Entw&APw-rfe", Some("/")).unwrap(), "Entwürfe");
    }

    #[test]
    fn the_password_never_prints() {
        assert_eq!(
            format!("{:?}", Password::new("hunter2".into())),
            "Password(..)"
        );
    }
}
