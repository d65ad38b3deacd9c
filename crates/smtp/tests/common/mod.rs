//! A real sealpost SMTP server on loopback for end-to-end tests: config,
//! store, directory in a tempdir, a self-signed certificate, and the three
//! SMTP listeners on port 0 served by `sealpost_net::serve_listener`.

#![allow(dead_code)]

use sealpost_audit::AuditLog;
use sealpost_config::Config;
use sealpost_directory::{Directory, ThrottleLimits};
use sealpost_net::{
    CancellationToken, ConnLimiter, ListenerKind, TaskTracker, TlsManager, serve_listener,
};
use sealpost_smtp::{Queue, SmtpServer};
use sealpost_store::{NoSummary, Store, StoreOptions};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub struct Server {
    pub dir: tempfile::TempDir,
    pub config: Arc<Config>,
    pub store: Store,
    pub queue: Queue,
    pub smtp: SocketAddr,
    pub submission: SocketAddr,
    pub submissions: SocketAddr,
    pub shutdown: CancellationToken,
    pub tracker: TaskTracker,
}

pub fn cheap_hash(pass: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let params = argon2::Params::new(64, 1, 1, None).unwrap();
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(pass.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string()
}

/// `accounts`: (address, password, aliases).
pub fn write_accounts(path: &Path, accounts: &[(&str, &str, &[&str])]) {
    let mut text = String::new();
    for (addr, pass, aliases) in accounts {
        let aliases: Vec<String> = aliases.iter().map(|a| format!("\"{a}\"")).collect();
        text.push_str(&format!(
            "[[account]]\naddress = \"{addr}\"\npassword = \"{}\"\naliases = [{}]\n\n",
            cheap_hash(pass),
            aliases.join(", ")
        ));
    }
    std::fs::write(path, text).unwrap();
}

impl Server {
    /// Starts a server for `domain` with hostname `mx.<domain>`; `extra` is
    /// appended to the config (e.g. `[[smtp.route]]` tables).
    pub async fn start(
        domain: &str,
        accounts: &[(&str, &str, &[&str])],
        smtp_keys: &str,
        extra: &str,
    ) -> Server {
        Server::start_on(domain, accounts, smtp_keys, extra, None).await
    }

    /// Like [`Server::start`], with the `smtp` listener already bound (so
    /// another server's route can name its port before it starts).
    pub async fn start_on(
        domain: &str,
        accounts: &[(&str, &str, &[&str])],
        smtp_keys: &str,
        extra: &str,
        smtp_listener: Option<std::net::TcpListener>,
    ) -> Server {
        let mut smtp_listener = smtp_listener;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let text = format!(
            r#"[server]
hostname = "mx.{domain}"
data_dir = "{d}/data"
accounts = "{d}/accounts.toml"
master_key = "{d}/master.key"
audit_signing_key = "{d}/audit.key"
[tls]
cert = "{d}/cert.pem"
key = "{d}/key.pem"
[smtp]
max_message_size = 100000
{smtp_keys}
[smtp.dns]
static_only = true
{extra}
[[domain]]
name = "{domain}"
"#
        );
        let cfg_path = dir.path().join("sealpost.toml");
        std::fs::write(&cfg_path, text).unwrap();
        let config = Arc::new(Config::load(&cfg_path).unwrap());
        write_accounts(&config.server.accounts, accounts);
        let store = Store::open(StoreOptions {
            data_dir: config.server.data_dir.clone(),
            master_key: config.server.master_key.clone(),
            summarizer: Arc::new(NoSummary),
        })
        .unwrap();
        let directory = Directory::load(
            &config.server.accounts,
            config.domains.iter().map(|d| d.name.clone()).collect(),
            ThrottleLimits {
                per_ip: 100,
                per_account: 100,
                window: Duration::from_secs(900),
            },
        )
        .unwrap();
        let (tls, _) = TlsManager::load_or_generate(
            &config.tls.cert,
            &config.tls.key,
            &config.server.hostname,
        )
        .unwrap();
        let server = SmtpServer::new(
            config.clone(),
            store.clone(),
            directory,
            AuditLog::disabled(),
        )
        .unwrap();
        let queue = server.queue();
        let server = Arc::new(server);
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let limiter = ConnLimiter::new(100, 100);
        let mut addrs = Vec::new();
        for kind in [
            ListenerKind::Smtp,
            ListenerKind::Submission,
            ListenerKind::Submissions,
        ] {
            let listener = match (kind, smtp_listener.take()) {
                (ListenerKind::Smtp, Some(l)) => {
                    l.set_nonblocking(true).unwrap();
                    tokio::net::TcpListener::from_std(l).unwrap()
                }
                _ => tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            };
            addrs.push(listener.local_addr().unwrap());
            tokio::spawn(serve_listener(
                listener,
                kind,
                tls.clone(),
                limiter.clone(),
                Duration::from_secs(10),
                server.clone(),
                shutdown.clone(),
                tracker.clone(),
            ));
        }
        Server {
            dir,
            config,
            store,
            queue,
            smtp: addrs[0],
            submission: addrs[1],
            submissions: addrs[2],
            shutdown,
            tracker,
        }
    }

    /// Runs the outbound queue until the server's shutdown.
    pub fn spawn_queue(&self) {
        tokio::spawn(self.queue.clone().run(self.shutdown.clone()));
    }

    /// Messages in an account's INBOX, oldest first.
    pub fn inbox(&self, address: &str) -> Vec<Vec<u8>> {
        let store = &self.store;
        let Some(id) = store.account_id(address).unwrap() else {
            return Vec::new();
        };
        let inbox = store
            .mailboxes(id)
            .unwrap()
            .into_iter()
            .find(|m| m.name.is_inbox())
            .unwrap();
        let snap = store.snapshot(id, inbox.id).unwrap();
        snap.entries
            .iter()
            .map(|e| store.read(id, inbox.id, e.uid).unwrap().unwrap())
            .collect()
    }

    /// Waits (up to `secs`) until `address` has `n` messages.
    pub async fn wait_inbox(&self, address: &str, n: usize, secs: u64) -> Vec<Vec<u8>> {
        for _ in 0..secs * 10 {
            let inbox = self.inbox(address);
            if inbox.len() >= n {
                return inbox;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.inbox(address)
    }
}

/// The standard test accounts for example.org.
pub const ALICE: (&str, &str, &[&str]) = ("alice@example.org", "secret", &["al@example.org"]);
pub const BOB: (&str, &str, &[&str]) = ("bob@example.org", "hunter2", &[]);

/// The repository's tests/ folder (shared client scripts).
pub fn scripts() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests")
}

/// Submits one message with Python's smtplib (tests/smtp_submit.py); see
/// that script for the arguments. Returns its JSON answer.
pub async fn submit_py(args: serde_json::Value) -> serde_json::Value {
    let out = tokio::process::Command::new("python3")
        .arg(scripts().join("smtp_submit.py"))
        .arg(args.to_string())
        .output()
        .await
        .expect("python3 must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "smtp_submit.py: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// alice@example.org submits `subject` to `to` over implicit TLS with these
/// DSN parameters; panics unless it is accepted.
pub async fn submit_with(s: &Server, to: &str, subject: &str, mail: &[&str], rcpt: &[&str]) {
    let r = submit_py(serde_json::json!({
        "port": s.submissions.port(),
        "tls": "implicit",
        "user": "alice@example.org",
        "password": "secret",
        "from": "alice@example.org",
        "to": [to],
        "subject": subject,
        "body": "the body",
        "mail_options": mail,
        "rcpt_options": rcpt,
    }))
    .await;
    assert_eq!(r["ok"], true, "{r}");
}

mod sink;
pub use sink::Sink;

impl Sink {
    /// Waits (up to `secs`) until `n` transactions were accepted.
    pub async fn wait_accepted(&self, n: usize, secs: u64) -> Vec<serde_json::Value> {
        for _ in 0..secs * 10 {
            let got = self.accepted();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.accepted()
    }
}

/// Waits (up to `secs`) until the queue is empty; panics otherwise.
pub async fn wait_queue_empty(queue: &Queue, secs: u64) {
    for _ in 0..secs * 10 {
        if queue.list().unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("queue not emptied: {:?}", queue.list());
}

/// A `[[smtp.route]]` table to a loopback port.
pub fn route(domain: &str, port: u16) -> String {
    format!("[[smtp.route]]\ndomain = \"{domain}\"\nhost = \"127.0.0.1:{port}\"\n")
}
