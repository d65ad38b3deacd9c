//! `sealpost serve`: wiring of config, TLS, store, directory, audit log,
//! listeners, admin socket and signals.
//!
//! Start-up order is chosen so a failure changes nothing in data_dir: the
//! config is validated, the certificate loaded (or generated at its own
//! path), the accounts file read and every listener bound before the store
//! is opened. SIGHUP reloads certificates and accounts; SIGTERM and Ctrl-C
//! stop accepting, let sessions say their protocol's goodbye, wait for
//! in-flight writes (bounded), and exit 0.

use crate::{Failure, admin};
use sealpost_audit::{AuditLog, Event};
use sealpost_config::Config;
use sealpost_directory::{Directory, ThrottleLimits};
use sealpost_net::{
    CancellationToken, ConnLimiter, ListenerKind, TaskTracker, TlsManager, serve_listener,
};
use sealpost_store::{Store, StoreError, StoreOptions};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long shutdown waits for sessions to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

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
    ] {
        out.extend(addrs.iter().map(|a| (kind, *a)));
    }
    out
}

fn domains(config: &Config) -> Vec<String> {
    config.domains.iter().map(|d| d.name.clone()).collect()
}

fn throttle(config: &Config) -> ThrottleLimits {
    ThrottleLimits {
        per_ip: config.limits.auth_failures_per_ip,
        per_account: config.limits.auth_failures_per_account,
        window: Duration::from_secs(15 * 60),
    }
}

/// Loads the accounts file named by the config.
pub fn load_directory(config: &Config) -> Result<Directory, Failure> {
    let directory = Directory::load(&config.server.accounts, domains(config), throttle(config))
        .map_err(Failure::config)?;
    directory.set_login_cache(Duration::from_secs(config.limits.login_cache_secs));
    Ok(directory)
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
        &crate::store_cli::backend(config),
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
    let log = AuditLog::open(
        &audit_dir(config),
        &config.server.audit_signing_key,
        &config.audit,
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
    let mut out = Vec::new();
    sealpost_audit::export_csv(&audit_dir(config), &filter, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Makes the store follow the accounts file: audits what changed in the
/// file since it was last audited (see `accounts_audit`), creates store
/// accounts for configured ones (with quotas), and crypto-shreds
/// (restorably) accounts that were removed from the file, as `account
/// delete` would.
///
/// A missing accounts file is taken for an operator's mistake, not for
/// "delete everyone": nothing is deleted then, and an error is logged.
pub fn sync_accounts(
    config: &Config,
    store: &Store,
    directory: &Directory,
    audit: &AuditLog,
) -> Result<(), Failure> {
    let mut problems = Vec::new();
    // Before store accounts are created: a first start audits every account.
    // A failure here must not stop the server: it is logged.
    if let Err(f) = crate::accounts_audit::audit_changes(config, audit, Some(store)) {
        tracing::error!(error = %f.message, "accounts file changes not audited");
    }
    let configured = directory.accounts();
    for account in &configured {
        match store.ensure_account(&account.address) {
            Ok(id) => store.set_quota(id, account.quota),
            // E.g. a deleted account put back by hand instead of `account restore`.
            Err(e) => problems.push(format!("account {}: {e}", account.address)),
        }
    }
    let records = store.accounts().map_err(Failure::runtime)?;
    if !directory.path().exists() {
        if records
            .iter()
            .any(|r| r.state == sealpost_store::AccountState::Active)
        {
            tracing::error!(file = %directory.path().display(), "accounts file is missing; no account is deleted until it is back");
        }
        return Ok(());
    }
    for record in records {
        if record.state == sealpost_store::AccountState::Active
            && !configured.iter().any(|a| a.address == record.address)
        {
            crate::accounts::delete_in_store(store, audit, &record.address)?;
            // The address goes to the audit log only (redactable there).
            tracing::info!(
                account_id = record.id.0,
                "account removed from the accounts file: mail sealed away until purge"
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::runtime(problems.join("; ")))
    }
}

/// The shared pieces every protocol and the admin socket use.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub store: Store,
    pub directory: Directory,
    pub audit: AuditLog,
    pub tls: TlsManager,
    /// The outbound queue (absent in offline CLI use).
    pub queue: Option<sealpost_smtp::Queue>,
}

impl Services {
    /// Reloads accounts (and certificates); returns a one-line summary or error.
    pub fn reload(&self) -> Result<String, String> {
        let mut problems = Vec::new();
        if let Err(e) = self.tls.reload() {
            problems.push(format!("certificate not reloaded: {e}"));
        }
        match self.directory.reload(domains(&self.config)) {
            Ok(()) => {
                if let Err(f) =
                    sync_accounts(&self.config, &self.store, &self.directory, &self.audit)
                {
                    problems.push(f.message);
                }
            }
            Err(e) => problems.push(format!("accounts not reloaded: {e}")),
        }
        let ok = problems.is_empty();
        self.audit.record(Event::ConfigReloaded {
            ok,
            error: (!ok).then(|| problems.join("; ")),
        });
        if ok {
            tracing::info!("reloaded certificates and accounts");
            Ok(format!(
                "reloaded ({} accounts)",
                self.directory.accounts().len()
            ))
        } else {
            tracing::warn!(problems = %problems.join("; "), "reload incomplete");
            Err(problems.join("; "))
        }
    }
}

pub fn run(path: &Path) -> Result<(), Failure> {
    let config = crate::load_config(path)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SEALPOST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sealpost")
        .build()
        .map_err(Failure::runtime)?;
    rt.block_on(serve(config))
}

async fn serve(config: Config) -> Result<(), Failure> {
    // First of all, so a signal during start-up is handled, not fatal.
    let signals = Signals::install()
        .map_err(|e| Failure::runtime(format!("cannot install signal handlers: {e}")))?;
    let config = Arc::new(config);
    let (tls, generated) =
        TlsManager::load_or_generate(&config.tls.cert, &config.tls.key, &config.server.hostname)
            .map_err(Failure::config)?;
    if generated {
        tracing::info!(
            cert = %config.tls.cert.display(),
            key = %config.tls.key.display(),
            hostname = %config.server.hostname,
            "generated a self-signed certificate (key mode 0600)"
        );
    }
    let directory = load_directory(&config)?;
    // The store's lock before the ports: a second server on the same
    // data_dir is told so, not that the (same) ports are taken.
    let store = open_store(&config)?;
    tracing::info!(backend = store.backend_name(), "mailbox store opened");

    let mut bound = Vec::new();
    for (kind, addr) in listeners(&config) {
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            Failure::runtime(format!("cannot listen on {} {addr}: {e}", kind.name()))
        })?;
        bound.push((kind, listener));
    }

    let audit = open_audit(&config)?;
    sync_accounts(&config, &store, &directory, &audit)?;
    let services = Services {
        config: config.clone(),
        store,
        directory: directory.clone(),
        audit: audit.clone(),
        tls: tls.clone(),
        queue: None,
    };

    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let limiter = ConnLimiter::new(
        config.limits.max_connections,
        config.limits.max_connections_per_ip,
    );
    let handshake = Duration::from_secs(config.limits.tls_handshake_timeout_secs);

    let imap = Arc::new(sealpost_imap::ImapServer::new(
        config.clone(),
        services.store.clone(),
        services.directory.clone(),
        audit.clone(),
    ));
    let pop3 = Arc::new(sealpost_pop3::Pop3Server::new(
        config.clone(),
        services.store.clone(),
        services.directory.clone(),
        audit.clone(),
    ));
    let smtp = Arc::new(
        sealpost_smtp::SmtpServer::new(
            config.clone(),
            services.store.clone(),
            services.directory.clone(),
            audit.clone(),
        )
        .map_err(|e| Failure::runtime(format!("outbound queue: {e}")))?,
    );
    let services = Services {
        queue: Some(smtp.queue()),
        ..services
    };
    // Outbound delivery: retries with backoff, bounces, recovery after a crash.
    tracker.spawn(smtp.queue().run(shutdown.clone()));
    for (kind, listener) in bound {
        let addr = listener.local_addr().map_err(Failure::runtime)?;
        tracing::info!(listener = kind.name(), %addr, "listening");
        let (tls, limiter, shutdown, tracker) = (
            tls.clone(),
            limiter.clone(),
            shutdown.clone(),
            tracker.clone(),
        );
        match kind {
            ListenerKind::Imap | ListenerKind::Imaps => {
                tokio::spawn(serve_listener(
                    listener,
                    kind,
                    tls,
                    limiter,
                    handshake,
                    imap.clone(),
                    shutdown,
                    tracker,
                ));
            }
            ListenerKind::Pop3 | ListenerKind::Pop3s => {
                tokio::spawn(serve_listener(
                    listener,
                    kind,
                    tls,
                    limiter,
                    handshake,
                    pop3.clone(),
                    shutdown,
                    tracker,
                ));
            }
            ListenerKind::Smtp | ListenerKind::Submission | ListenerKind::Submissions => {
                tokio::spawn(serve_listener(
                    listener,
                    kind,
                    tls,
                    limiter,
                    handshake,
                    smtp.clone(),
                    shutdown,
                    tracker,
                ));
            }
        }
    }

    let admin_socket = config.admin_socket();
    let admin_task = admin::serve(&admin_socket, services.clone(), shutdown.clone())
        .await
        .map_err(|e| {
            Failure::runtime(format!(
                "cannot open admin socket {}: {e}",
                admin_socket.display()
            ))
        })?;

    // Pick up edits of the accounts file (the CLI also signals through the admin socket).
    let watch_services = services.clone();
    // Audited like any reload (the error may quote addresses: it is a
    // personal field, stored as a commitment).
    let _watcher = directory.spawn_watcher(Duration::from_millis(500), move |r| {
        let s = &watch_services;
        let error = match r {
            Ok(()) => match sync_accounts(&s.config, &s.store, &s.directory, &s.audit) {
                Ok(()) => {
                    tracing::info!("accounts file changed: reloaded");
                    None
                }
                Err(f) => {
                    tracing::warn!(error = %f.message, "accounts reloaded but not synced");
                    Some(f.message)
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "accounts file changed but is invalid; keeping the old accounts");
                Some(format!("accounts not reloaded: {e}"))
            }
        };
        s.audit.record(Event::ConfigReloaded {
            ok: error.is_none(),
            error,
        });
    });

    // The retention worker: once at start, then every interval.
    let retention_services = services.clone();
    let retention_shutdown = shutdown.clone();
    let every = Duration::from_secs(config.retention.interval_secs);
    tokio::spawn(async move {
        loop {
            let s = retention_services.clone();
            let r = tokio::task::spawn_blocking(move || {
                crate::compliance::run_retention(
                    &s.config,
                    &s.store,
                    &s.audit,
                    s.queue.clone(),
                    chrono::Utc::now().timestamp(),
                )
            })
            .await;
            match r {
                Ok(Ok(m)) => tracing::info!(result = %m, "retention pass"),
                Ok(Err(f)) => tracing::error!(error = %f.message, "retention pass failed"),
                Err(e) => tracing::error!(error = %e, "retention pass panicked"),
            }
            tokio::select! {
                _ = retention_shutdown.cancelled() => break,
                _ = tokio::time::sleep(every) => {}
            }
        }
    });

    audit.record(Event::ServerStarted {
        version: env!("CARGO_PKG_VERSION").to_string(),
    });
    tracing::info!(data_dir = %config.server.data_dir.display(), "sealpost is running");

    signals.wait(&services).await;

    tracing::info!("shutting down");
    shutdown.cancel();
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("sessions still open after the grace period; closing them");
    }
    let _ = admin_task.await;
    let _ = std::fs::remove_file(&admin_socket);
    audit.record(Event::ServerStopped);
    if let Err(e) = audit.close() {
        tracing::error!(error = %e, "could not seal the audit log on shutdown");
    }
    tracing::info!("stopped");
    Ok(())
}

/// SIGHUP reloads; SIGTERM and SIGINT stop.
struct Signals {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn wait(mut self, services: &Services) {
        loop {
            tokio::select! {
                _ = self.hup.recv() => {
                    let s = services.clone();
                    let _ = tokio::task::spawn_blocking(move || s.reload()).await;
                }
                _ = self.term.recv() => return,
                _ = self.int.recv() => return,
            }
        }
    }
}
