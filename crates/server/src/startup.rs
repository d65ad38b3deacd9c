//! What every command shares to start: the one-line [`Failure`] each
//! returns, the config, and opening the store, the audit log and the
//! accounts file with one-line errors (`serve` at start-up, the CLI commands
//! when no server runs).
//!
//! The bottom of the crate's modules: it uses none of them, and they all
//! use it (see the module order in `main.rs`).

use sealpost_audit::AuditLog;
use sealpost_config::{Config, StoreBackend};
use sealpost_directory::{Directory, ThrottleLimits};
use sealpost_net::ListenerKind;
use sealpost_store::{BackendOptions, PgOptions, Store, StoreError, StoreOptions};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A failure to report: one line, and the exit code.
pub struct Failure {
    pub message: String,
    pub code: u8,
}

/// The shared file helpers' errors already name the step and the path.
impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::runtime(e)
    }
}

impl Failure {
    pub fn runtime(message: impl std::fmt::Display) -> Failure {
        Failure {
            message: message.to_string(),
            code: 1,
        }
    }
    pub fn config(message: impl std::fmt::Display) -> Failure {
        Failure {
            message: message.to_string(),
            code: 2,
        }
    }
}

/// Loads and validates the config file (exit code 2 when it is wrong).
pub fn load_config(path: &Path) -> Result<Config, Failure> {
    Config::load(path).map_err(Failure::config)
}

/// Every (listener, address) pair of the config.
pub fn listeners(config: &Config) -> Vec<(ListenerKind, SocketAddr)> {
    let l = &config.listen;
    let mut out = Vec::new();
    for (kind, addrs) in [
        (ListenerKind::Imap, &l.imap),
        (ListenerKind::Imaps, &l.imaps),
        (ListenerKind::Pop3, &l.pop3),
        (ListenerKind::Pop3s, &l.pop3s),
        (ListenerKind::Smtp, &l.smtp),
        (ListenerKind::Submission, &l.submission),
        (ListenerKind::Submissions, &l.submissions),
        (ListenerKind::Http, &l.http),
        (ListenerKind::Https, &l.https),
    ] {
        out.extend(addrs.iter().map(|a| (kind, *a)));
    }
    out
}

/// The hosted domains.
pub fn domains(config: &Config) -> Vec<String> {
    config.domains.iter().map(|d| d.name.clone()).collect()
}

fn throttle(config: &Config) -> ThrottleLimits {
    ThrottleLimits {
        per_ip: config.limits.auth_failures_per_ip,
        per_account: config.limits.auth_failures_per_account,
        window: Duration::from_secs(15 * 60),
    }
}

/// Loads the accounts file named by the config; every entry must pass.
pub fn load_directory(config: &Config) -> Result<Directory, Failure> {
    let directory = Directory::load(&config.server.accounts, domains(config), throttle(config))
        .map_err(Failure::config)?;
    // At start there is no previous version to keep for a refused entry:
    // its account would be missing (mail to it refused as unknown), so the
    // start is refused instead. Reloads take the valid entries.
    if let Some(first) = directory.refused().first() {
        return Err(Failure::config(first));
    }
    directory.set_login_cache(Duration::from_secs(config.limits.login_cache_secs));
    Ok(directory)
}

/// The PostgreSQL options of `[store]` with another URL.
pub fn pg_options(config: &Config, url: String, ca_file: Option<PathBuf>) -> PgOptions {
    let s = &config.store;
    PgOptions {
        url,
        ca_file: ca_file.or_else(|| s.ca_file.clone()),
        pool_size: s.pool_size,
        statement_timeout: Duration::from_secs(s.statement_timeout_secs),
        connect_timeout: Duration::from_secs(s.connect_timeout_secs),
        lease: Duration::from_secs(s.lease_secs),
    }
}

/// The backend `[store]` chooses.
pub fn backend(config: &Config) -> BackendOptions {
    match (config.store.backend, &config.store.url) {
        (StoreBackend::Postgresql, Some(url)) => {
            BackendOptions::PostgreSql(pg_options(config, url.clone(), None))
        }
        // Validation makes `url` required with postgresql.
        _ => BackendOptions::Embedded,
    }
}

/// Whether data_dir holds an embedded store already (its database or its
/// key check; a store is never one without the other). Over PostgreSQL
/// the store is the database, which refuses on its own when it holds no
/// schema: always `true` there.
pub fn store_exists(config: &Config) -> bool {
    if config.store.backend == StoreBackend::Postgresql {
        return true;
    }
    let dir = &config.server.data_dir;
    dir.join("db").exists() || dir.join("keycheck").exists()
}

/// Refuses a command that only reads (or changes what must already be
/// there) when no server runs and data_dir holds no store: opening one
/// would make an empty store (and its keys) where the operator expected
/// their data, which hides a data disk that is not mounted and leaves
/// data behind that nobody asked for. `what` names the command.
pub fn require_store(config: &Config, what: &str) -> Result<(), Failure> {
    if store_exists(config) {
        return Ok(());
    }
    Err(Failure::runtime(format!(
        "{what}: data_dir {} holds no sealpost store (no server has started on it, or the data disk is not mounted); nothing was created",
        config.server.data_dir.display()
    )))
}

/// Whether data_dir holds this node's audit log but no store: the CLI's
/// own edits have used it (`account add` audits there), and no server has
/// made a store in it, so no account of this node has a data key or mail
/// yet. A data disk that is not mounted leaves data_dir missing or empty
/// instead (`serve` refuses those beside an existing master key too).
pub fn never_served(config: &Config) -> bool {
    !store_exists(config) && audit_dir(config).is_dir()
}

/// Refuses a command that would write into data_dir (the accounts audit,
/// the audit log) when data_dir is missing or empty while the master key
/// exists: the same sign of a data disk that is not mounted that the store
/// refuses to open on, by the store's own rule
/// ([`sealpost_store::data_dir_state`]). Without this, an offline
/// `account add` would make data_dir and its audit log on the empty mount
/// point, which the next `serve` would then take for a data directory in
/// use. A fresh install (no master key yet), an operator who put
/// `new-store` there on purpose (left for `serve` to remove) and a node
/// over PostgreSQL pass. `what` names the command.
pub fn require_data_dir_in_place(config: &Config, what: &str) -> Result<(), Failure> {
    let dir = &config.server.data_dir;
    let key = &config.server.master_key;
    // Over PostgreSQL the mail is in the database and a node's data_dir
    // starts empty on purpose (a new node of a cluster), as the store
    // itself allows there.
    if config.store.backend == StoreBackend::Postgresql {
        return Ok(());
    }
    let state = sealpost_store::data_dir_state(dir, key).map_err(|e| {
        Failure::runtime(format!(
            "{what}: data_dir {}: cannot read: {e}",
            dir.display()
        ))
    })?;
    let Some(state) = state.refusal() else {
        return Ok(());
    };
    Err(Failure::runtime(format!(
        "{what}: data_dir {} {state}, but the master key {} exists (is the data disk mounted?); nothing was changed. To start an empty store on purpose, put an empty file `{}` in data_dir",
        dir.display(),
        key.display(),
        sealpost_store::NEW_STORE
    )))
}

/// Like [`require_store`] for the commands that read this node's audit
/// log (`audit verify`, `audit export`): the log is there once anything
/// was audited (the CLI's account edits write it too, before any store).
pub fn require_audit_log(config: &Config, what: &str) -> Result<(), Failure> {
    if audit_dir(config).is_dir() {
        return Ok(());
    }
    Err(Failure::runtime(format!(
        "{what}: data_dir {} holds no audit log (nothing has been audited on it, or the data disk is not mounted); nothing was created",
        config.server.data_dir.display()
    )))
}

/// Opens the store on the backend `[store]` chooses, with the IMAP
/// summarizer, with one-line errors.
pub fn open_store(config: &Config) -> Result<Store, Failure> {
    Store::open_with(
        StoreOptions {
            data_dir: config.server.data_dir.clone(),
            master_key: config.server.master_key.clone(),
            summarizer: summarizer(),
        },
        &backend(config),
    )
    .map_err(|e| match e {
        StoreError::Locked(p) => Failure::runtime(format!(
            "data_dir {} is in use by another sealpost process",
            p.display()
        )),
        other => Failure::runtime(other),
    })
}

/// ENVELOPE, BODYSTRUCTURE and PREVIEW are computed once, at delivery.
fn summarizer() -> Arc<dyn sealpost_store::Summarizer> {
    Arc::new(sealpost_imap::message::ImapSummarizer)
}

/// The audit log's folder.
pub fn audit_dir(config: &Config) -> std::path::PathBuf {
    config.server.data_dir.join("audit")
}

/// Opens the audit log named by the config (seals a tail a crash left open).
pub fn open_audit(config: &Config) -> Result<AuditLog, Failure> {
    if !config.audit.enabled {
        tracing::warn!(
            "[audit] enabled = false: no security event is recorded or sealed (for benchmarks and test servers only)"
        );
        return Ok(AuditLog::disabled());
    }
    require_data_dir_in_place(config, "audit log")?;
    // Segment names carry this node's permanent id, so that several
    // nodes' logs say whose they are (`audit verify`/`export` of several).
    let node = sealpost_durable::create_dir(&config.server.data_dir)
        .and_then(|()| sealpost_store::node_id(&config.server.data_dir))
        .map_err(|e| match e.kind() {
            // Already names the file.
            std::io::ErrorKind::InvalidData => Failure::runtime(e),
            _ => Failure::runtime(format!(
                "{}: {e}",
                config.server.data_dir.join("node-id").display()
            )),
        })?;
    let log = AuditLog::open_node(
        &audit_dir(config),
        &config.server.audit_signing_key,
        &config.audit,
        &node,
    )
    .map_err(Failure::runtime)?;
    if let Some(tail) = log.recovered_tail() {
        tracing::warn!(
            ?tail,
            "the audit log had an unsealed tail (crash?): sealed it and continued the chain"
        );
    }
    Ok(log)
}

/// The audit log's public key, printable, if the signing key exists.
pub fn audit_public_key(config: &Config) -> Option<String> {
    sealpost_audit::public_key(&config.server.audit_signing_key).ok()
}

/// An account's own logins from the audit log, as RFC 4180 CSV.
pub fn audit_access_log(config: &Config, address: &str) -> Result<Vec<u8>, String> {
    let filter = sealpost_audit::ExportFilter {
        account: Some(address.to_string()),
        since: None,
        until: None,
        kind: Some(sealpost_audit::Kind::Login),
    };
    let dir = audit_dir(config);
    let keys = sealpost_audit::PiiKeys::open(&dir, &config.server.master_key)
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    sealpost_audit::export_csv(&dir, &keys, &filter, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// What the running server wrote for a command (`backup --out`, `export
/// --out`: `out`, checked through `written`) this command must see too. A
/// server under deploy/sealpost.service has a /tmp of its own
/// (`PrivateTmp=`), so `--out /tmp/x` lands where nobody else looks and is
/// gone when the service stops: say so rather than report a file that is
/// not there.
pub fn seen_here(what: &str, out: &Path, written: &Path) -> Result<(), Failure> {
    if written.exists() {
        return Ok(());
    }
    Err(Failure::runtime(format!(
        "{what}: the server wrote {}, but this command does not see it there: the server sees another file system (the unit's PrivateTmp= gives it a /tmp of its own); write into a folder the service may write, such as /var/backups/sealpost",
        out.display()
    )))
}
