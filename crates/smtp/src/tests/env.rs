//! A test environment: config, store, directory and queue in a tempdir.

use crate::delivery::Services;
use crate::queue::Queue;
use sealpost_audit::AuditLog;
use sealpost_config::Config;
use sealpost_directory::{Directory, ThrottleLimits};
use sealpost_store::{NoSummary, Store, StoreOptions};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub(crate) struct Env {
    pub _dir: tempfile::TempDir,
    pub services: Arc<Services>,
}

/// Accounts: alice (aliases al@, postmaster@), bob (quota 1 octet: full).
pub(crate) const ACCOUNTS: &str =
    "alice@example.org:secret:al@example.org,postmaster@example.org;bob@example.org:hunter2:";

pub(crate) fn write_accounts(path: &Path, accounts: &str) {
    let mut text = String::new();
    for spec in accounts.split(';').filter(|s| !s.is_empty()) {
        let mut parts = spec.split(':');
        let (addr, pass, aliases) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap_or(""),
        );
        let hash = cheap_hash(pass);
        let aliases: Vec<String> = aliases
            .split(',')
            .filter(|a| !a.is_empty())
            .map(|a| format!("\"{a}\""))
            .collect();
        text.push_str(&format!(
            "[[account]]\naddress = \"{addr}\"\npassword = \"{hash}\"\naliases = [{}]\n\n",
            aliases.join(", ")
        ));
    }
    std::fs::write(path, text).unwrap();
}

/// An argon2id hash with tiny parameters: the directory accepts any cost
/// up to its maximum, and debug-build tests should not spend seconds here.
pub(crate) fn cheap_hash(pass: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let params = argon2::Params::new(64, 1, 1, None).unwrap();
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(pass.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string()
}

pub(crate) fn config_text(dir: &Path, extra_smtp: &str) -> String {
    format!(
        r#"[server]
hostname = "mx.example.org"
data_dir = "{d}/data"
accounts = "{d}/accounts.toml"
master_key = "{d}/master.key"
audit_signing_key = "{d}/audit.key"
[tls]
cert = "{d}/cert.pem"
key = "{d}/key.pem"
[smtp.dns]
static_only = true
[smtp]
max_message_size = 20000
max_recipients = 3
{extra_smtp}
[[domain]]
name = "example.org"
"#,
        d = dir.display()
    )
}

pub(crate) fn env() -> Env {
    env_with("max_errors = 20")
}

pub(crate) fn env_with(extra_smtp: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("sealpost.toml");
    std::fs::write(&cfg_path, config_text(dir.path(), extra_smtp)).unwrap();
    let config = Arc::new(Config::load(&cfg_path).unwrap());
    write_accounts(&config.server.accounts, ACCOUNTS);
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
            per_ip: 50,
            per_account: 50,
            window: Duration::from_secs(900),
        },
    )
    .unwrap();
    let audit = AuditLog::disabled();
    let queue = Queue::open(
        config.clone(),
        store.clone(),
        directory.clone(),
        audit.clone(),
    )
    .unwrap();
    let authn = Arc::new(crate::mailauth::MailAuth::new(&config).unwrap());
    queue.set_mail_auth(authn.clone());
    Env {
        _dir: dir,
        services: Arc::new(Services {
            config,
            store,
            directory,
            audit,
            queue,
            mail_auth: authn,
        }),
    }
}

impl Env {
    /// Messages in an account's INBOX, oldest first.
    pub(crate) fn inbox(&self, address: &str) -> Vec<Vec<u8>> {
        let store = &self.services.store;
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
}
