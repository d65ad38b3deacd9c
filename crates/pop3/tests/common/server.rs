//! A real POP3 server on loopback for end-to-end tests: the store in a
//! tempdir, a directory loaded from an accounts file with argon2id hashes,
//! a generated self-signed certificate, and `sealpost_net::serve_listener`
//! on ephemeral ports for both `pop3s` (implicit TLS) and `pop3` (STLS).

use sealpost_audit::{AuditLog, ExportFilter, Kind, export_csv};
use sealpost_config::Config;
use sealpost_directory::{Directory, Secret, ThrottleLimits, add_account};
use sealpost_net::{
    CancellationToken, ConnLimiter, ListenerKind, TaskTracker, TlsManager, serve_listener,
};
use sealpost_pop3::Pop3Server;
use sealpost_store::{AccountId, MailboxId, MailboxName, NoSummary, Store, StoreOptions};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub pop3s: SocketAddr,
    pub pop3: SocketAddr,
    pub cert: PathBuf,
    pub audit_dir: PathBuf,
    /// The master key the audit log's personal fields are sealed under.
    pub master_key: PathBuf,
    audit: AuditLog,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl TestServer {
    /// Starts a server with these accounts (address, password) and extra
    /// `[pop3]` config lines.
    pub async fn start(accounts: &[(&str, &str)], pop3_config: &str) -> TestServer {
        TestServer::start_with(accounts, pop3_config, |_| {}).await
    }

    /// As [`TestServer::start`], with the loaded config adjusted by `tweak`
    /// (e.g. an idle timeout below what the config file may say).
    pub async fn start_with(
        accounts: &[(&str, &str)],
        pop3_config: &str,
        tweak: impl FnOnce(&mut Config),
    ) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let config_path = root.join("sealpost.toml");
        let text = format!(
            "[server]\nhostname = \"localhost\"\ndata_dir = \"data\"\naccounts = \"accounts.toml\"\n\
             master_key = \"keys/master.key\"\naudit_signing_key = \"keys/audit.key\"\n\
             [tls]\ncert = \"certs/cert.pem\"\nkey = \"certs/key.pem\"\n\
             [pop3]\n{pop3_config}\n\
             [[domain]]\nname = \"example.org\"\n"
        );
        std::fs::write(&config_path, &text).unwrap();
        let mut config = Config::load(&config_path).unwrap();
        tweak(&mut config);
        let config = Arc::new(config);
        let domains: Vec<String> = config.domains.iter().map(|d| d.name.clone()).collect();
        for (address, password) in accounts {
            add_account(
                &config.server.accounts,
                &domains,
                address,
                &Secret::new(*password),
            )
            .unwrap();
        }
        let directory = Directory::load(
            &config.server.accounts,
            domains,
            ThrottleLimits {
                per_ip: 1000,
                per_account: 1000,
                window: Duration::from_secs(900),
            },
        )
        .unwrap();
        let store = Store::open(StoreOptions {
            data_dir: config.server.data_dir.clone(),
            master_key: config.server.master_key.clone(),
            summarizer: Arc::new(NoSummary),
        })
        .unwrap();
        let audit_dir = config.server.data_dir.join("audit");
        let audit =
            AuditLog::open(&audit_dir, &config.server.audit_signing_key, &config.audit).unwrap();
        let (tls, _) =
            TlsManager::load_or_generate(&config.tls.cert, &config.tls.key, "localhost").unwrap();
        let server = Arc::new(Pop3Server::new(
            config.clone(),
            store.clone(),
            directory,
            audit.clone(),
        ));
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let limiter = ConnLimiter::new(100, 100);
        let mut addrs = Vec::new();
        for kind in [ListenerKind::Pop3s, ListenerKind::Pop3] {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
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
        TestServer {
            pop3s: addrs[0],
            pop3: addrs[1],
            cert: config.tls.cert.clone(),
            audit_dir,
            master_key: config.server.master_key.clone(),
            dir,
            store,
            audit,
            shutdown,
            tracker,
        }
    }

    /// The account's id and INBOX (creating the account in the store).
    pub fn inbox(&self, address: &str) -> (AccountId, MailboxId) {
        let id = self.store.ensure_account(address).unwrap();
        let inbox = self
            .store
            .mailbox(id, &MailboxName::inbox())
            .unwrap()
            .unwrap();
        (id, inbox.id)
    }

    /// Delivers messages to an account's INBOX, several threads at once.
    pub fn deliver_many(&self, address: &str, messages: Vec<Vec<u8>>) {
        let (id, _) = self.inbox(address);
        let messages = Arc::new(messages);
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let store = self.store.clone();
                let messages = messages.clone();
                std::thread::spawn(move || {
                    for m in messages.iter().skip(t).step_by(8) {
                        store.deliver(id, m).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }

    /// UIDs in an account's INBOX now.
    pub fn inbox_len(&self, address: &str) -> usize {
        let (id, inbox) = self.inbox(address);
        self.store.snapshot(id, inbox).unwrap().entries.len()
    }

    /// The login records of the audit log, as exported to CSV (column name
    /// to value). Seals the log: call once, at the end of a test.
    pub fn audit_logins(&self) -> Vec<HashMap<String, String>> {
        self.audit.close().unwrap();
        let filter = ExportFilter {
            kind: Some(Kind::Login),
            ..ExportFilter::default()
        };
        let mut csv = Vec::new();
        let keys = sealpost_audit::PiiKeys::open(&self.audit_dir, &self.master_key).unwrap();
        export_csv(&self.audit_dir, &keys, &filter, &mut csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        let mut rows = csv.lines();
        let header: Vec<String> = rows
            .next()
            .unwrap()
            .split(',')
            .map(str::to_string)
            .collect();
        rows.map(|r| {
            // Login rows hold no commas or quotes (addresses, ip:port, TLS versions).
            header
                .iter()
                .cloned()
                .zip(r.split(',').map(str::to_string))
                .collect()
        })
        .collect()
    }

    /// Cancels the listeners and sessions, waits for the sessions to end.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        self.tracker.close();
        tokio::time::timeout(Duration::from_secs(10), self.tracker.wait())
            .await
            .expect("sessions end on shutdown");
    }
}

/// The python3 interpreter, or a clear failure.
pub fn python() -> &'static str {
    match std::process::Command::new("python3")
        .arg("--version")
        .output()
    {
        Ok(o) if o.status.success() => "python3",
        _ => panic!("python3 is required for the poplib tests: apt-get install -y python3"),
    }
}
