//! `sealpost serve`: wiring of config, TLS, store, directory, audit log,
//! listeners, admin socket and signals, in named steps.
//!
//! Start-up order is chosen so a failure changes as little as possible: the
//! config is validated, the certificate loaded (or generated at its own
//! path), the accounts file read, the store opened (its lock first, so a
//! second server on the same data_dir is told so rather than that the ports
//! are taken) and every listener bound before anything is served. SIGHUP
//! reloads the config file (what can change without rebinding a socket:
//! see `running`), certificates and accounts; SIGTERM and Ctrl-C stop accepting,
//! let sessions say their protocol's goodbye, wait for in-flight writes
//! (bounded), and exit 0.
//!
//! The top of the crate's modules: it uses the others, none uses it.

use crate::admin::{self, Request, Response};
use crate::compliance;
use crate::services::{Services, sync_accounts};
use crate::startup::{Failure, listeners, load_config, load_directory, open_audit, open_store};
use sealpost_audit::{AuditLog, Event};
use sealpost_config::Config;
use sealpost_directory::Directory;
use sealpost_net::{
    CancellationToken, ConnLimiter, ListenerKind, TaskTracker, TlsManager, serve_listener,
};
use sealpost_store::Store;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How long shutdown waits for sessions to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub fn run(path: &Path) -> Result<(), Failure> {
    let config = load_config(path)?;
    crate::logging::init(&config);
    sealpost_telemetry::metrics::install();
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
    let tls = load_tls(&config)?;
    let directory = load_directory(&config)?;
    crate::web::install_stored_certificates(&config, &tls, &directory);
    // The store's lock before the ports: a second server on the same
    // data_dir is told so, not that the (same) ports are taken.
    let store = open_store(&config)?;
    tracing::info!(backend = store.backend_name(), "mailbox store opened");
    crate::logging::resolve_accounts_with(&store);
    let bound = bind_listeners(&config).await?;
    let audit = open_audit(&config)?;
    sync_accounts(&config, &store, &directory, &audit)?;

    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let protocols = Protocols::new(&config, &store, &directory, &audit)?;
    let services = Services {
        config: config.clone(),
        running: crate::running::RunningConfig::new(config.clone()),
        store,
        directory: directory.clone(),
        audit: audit.clone(),
        tls: tls.clone(),
        queue: Some(protocols.smtp.queue()),
    };
    // Outbound delivery: retries with backoff, bounces, recovery after a crash.
    tracker.spawn(protocols.smtp.queue().run(shutdown.clone()));
    let bound_addrs: Vec<(ListenerKind, SocketAddr)> = bound
        .iter()
        .filter_map(|(kind, l)| l.local_addr().ok().map(|a| (*kind, a)))
        .collect();
    let health = crate::health::Health::new(&services);
    let web = crate::web::build(&config, &directory, &bound_addrs, &health, &services);
    crate::web::spawn_acme(&config, &directory, &tls, &web, &shutdown, &tracker);
    protocols.spawn_listeners(bound, &web, &config, &tls, &shutdown, &tracker)?;
    health.listeners_accepting();

    let admin_socket = config.admin_socket();
    let admin_task = serve_admin_socket(&admin_socket, &services, &shutdown).await?;
    let _watcher = watch_accounts_file(&directory, &services);
    crate::config_watch::spawn(&services);
    crate::domain_watch::spawn(&services);
    spawn_retention_worker(&services, &shutdown);
    spawn_erasure_worker(&services, &shutdown);
    // Files and folders made before (older versions, copies, restores)
    // may be open to others: one warning line each, found off the start path.
    let scan = config.clone();
    tokio::task::spawn_blocking(move || {
        crate::permissions::print(&crate::permissions::warnings(&scan), &mut |l| {
            tracing::warn!("{l}")
        })
    });

    audit.record(Event::ServerStarted {
        version: env!("CARGO_PKG_VERSION").to_string(),
    });
    // Start-up's own writes (a new store's keys, synced accounts) into the
    // store's files now, not by a checkpoint a second into the run.
    if let Err(e) = services.store.checkpoint() {
        tracing::warn!(error = %e, "could not checkpoint the store after start-up");
    }
    tracing::info!(data_dir = %config.server.data_dir.display(), "sealpost is running");

    signals.wait(&services).await;
    shut_down(shutdown, tracker, admin_task, &admin_socket, &audit).await;
    // The store outlives this function in tasks never joined: leave its
    // files holding everything now, so the next start replays nothing.
    if let Err(e) = services.store.checkpoint() {
        tracing::error!(error = %e, "could not checkpoint the store on shutdown; it is replayed at the next start");
    }
    Ok(())
}

/// Loads the certificate pair, generating a self-signed one at the
/// configured paths on a first start.
fn load_tls(config: &Config) -> Result<TlsManager, Failure> {
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
    Ok(tls)
}

/// Binds every configured listener (all or none: the first failure stops
/// the start).
async fn bind_listeners(config: &Config) -> Result<Vec<(ListenerKind, TcpListener)>, Failure> {
    let mut bound = Vec::new();
    for (kind, addr) in listeners(config) {
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            Failure::runtime(format!("cannot listen on {} {addr}: {e}", kind.name()))
        })?;
        bound.push((kind, listener));
    }
    Ok(bound)
}

/// The three protocol servers, each shared by all its listeners.
struct Protocols {
    imap: Arc<sealpost_imap::ImapServer>,
    pop3: Arc<sealpost_pop3::Pop3Server>,
    smtp: Arc<sealpost_smtp::SmtpServer>,
}

impl Protocols {
    fn new(
        config: &Arc<Config>,
        store: &Store,
        directory: &Directory,
        audit: &AuditLog,
    ) -> Result<Protocols, Failure> {
        Ok(Protocols {
            imap: Arc::new(sealpost_imap::ImapServer::new(
                config.clone(),
                store.clone(),
                directory.clone(),
                audit.clone(),
            )),
            pop3: Arc::new(sealpost_pop3::Pop3Server::new(
                config.clone(),
                store.clone(),
                directory.clone(),
                audit.clone(),
            )),
            smtp: Arc::new(
                sealpost_smtp::SmtpServer::new(
                    config.clone(),
                    store.clone(),
                    directory.clone(),
                    audit.clone(),
                )
                .map_err(|e| Failure::runtime(format!("outbound queue: {e}")))?,
            ),
        })
    }

    /// Starts accepting on every bound listener, each handing its
    /// connections to its protocol under the shared connection limits.
    fn spawn_listeners(
        &self,
        bound: Vec<(ListenerKind, TcpListener)>,
        web: &crate::web::Web,
        config: &Config,
        tls: &TlsManager,
        shutdown: &CancellationToken,
        tracker: &TaskTracker,
    ) -> Result<(), Failure> {
        let limiter = ConnLimiter::new(
            config.limits.max_connections,
            config.limits.max_connections_per_ip,
        );
        let handshake = Duration::from_secs(config.limits.tls_handshake_timeout_secs);
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
                        self.imap.clone(),
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
                        self.pop3.clone(),
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
                        self.smtp.clone(),
                        shutdown,
                        tracker,
                    ));
                }
                // The web listeners have their own connection caps.
                ListenerKind::Http | ListenerKind::Https => {
                    tokio::spawn(serve_listener(
                        listener,
                        kind,
                        tls,
                        web.limiter.clone(),
                        handshake,
                        web.server.clone(),
                        shutdown,
                        tracker,
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Opens the admin socket, through which the CLI reaches this server.
async fn serve_admin_socket(
    path: &Path,
    services: &Services,
    shutdown: &CancellationToken,
) -> Result<JoinHandle<()>, Failure> {
    let services = services.clone();
    let execute: Arc<admin::Execute> =
        Arc::new(move |req, progress| admin_request(req, &services, progress));
    admin::serve(path, execute, shutdown.clone())
        .await
        .map_err(|e| Failure::runtime(format!("cannot open admin socket {}: {e}", path.display())))
}

/// What the server does with an admin-socket request: the in-server side
/// of the CLI commands.
fn admin_request(
    req: Request,
    services: &Services,
    progress: &mut dyn FnMut(u64, u64),
) -> Response {
    let req = match req {
        Request::QueueControl { action } => {
            return crate::queue_control::in_server(services, action);
        }
        other => other,
    };
    let result = match req {
        Request::Ping => Ok("pong".to_string()),
        Request::Reload { config } => match config {
            Some(edited) if !same_file(&edited, &services.config.path) => {
                Err(Failure::runtime(format!(
                    "this server runs from {}, not {}",
                    services.config.path.display(),
                    edited.display()
                )))
            }
            _ => services.reload().map_err(Failure::runtime),
        },
        Request::Audit { event } => services
            .audit
            .record_durable(event)
            .map(|_| "recorded".to_string())
            .map_err(Failure::runtime),
        Request::DeleteAccount { address } => {
            crate::accounts::delete_in_store(&services.store, &services.audit, &address)
        }
        Request::RestoreAccount { address } => {
            crate::accounts::restore_in_store(&services.store, &services.audit, &address)
        }
        Request::RetentionRun { at } => crate::compliance::retention_run(services, at),
        Request::StoreNodes => crate::store_cli::nodes(&services.store),
        Request::ForgetNode { node } => crate::store_cli::forget_node(&services.store, &node),
        Request::Export {
            address,
            out,
            maildir,
        } => crate::compliance::export(services, &address, &out, maildir, progress),
        Request::Import { address, source } => crate::import_mail::import(
            &services.config,
            &services.store,
            &services.audit,
            &address,
            &source,
            progress,
        ),
        Request::ComplianceReport { file } => crate::compliance::report(services, file.as_deref()),
        Request::Dpia { file } => crate::compliance::dpia(services, file.as_deref()),
        Request::QueueList => match &services.queue {
            Some(q) => q
                .list()
                .map(|e| crate::queue::format_entries(&e))
                .map_err(Failure::runtime),
            None => Err(Failure::runtime("no outbound queue")),
        },
        Request::QueueFlush => match &services.queue {
            Some(q) => q
                .flush_now()
                .map(|_| "every queued message is due now".to_string())
                .map_err(Failure::runtime),
            None => Err(Failure::runtime("no outbound queue")),
        },
        Request::TlsReportSend { domain } => {
            return match crate::tls_report::in_server(services.queue.as_ref(), domain) {
                Ok((text, all_sent)) => Response::done(all_sent, text),
                Err(f) => Response::done(false, f.message),
            };
        }
        Request::AccountUsage => crate::usage::in_server(&services.store),
        Request::Backup { out, include_keys } => crate::backup::run(
            &services.config,
            &services.store,
            Some(&services.audit),
            &out,
            include_keys,
        ),
        Request::QueueControl { .. } => unreachable!("answered above"),
    };
    match result {
        Ok(m) => Response::done(true, m),
        Err(f) => Response::done(false, f.message),
    }
}

/// The accounts file entries the directory refused, as an audit error
/// (the reload is audited as not ok while any is).
fn refused_entries(directory: &Directory) -> Option<String> {
    let refused = directory.refused();
    (!refused.is_empty()).then(|| format!("accounts file entries refused: {}", refused.join("; ")))
}

/// Whether two paths name one file (the same inode; else the same name).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => a == b,
    }
}

/// Picks up edits of the accounts file (the CLI also signals through the
/// admin socket). Each is audited like any reload (the error may quote
/// addresses: it is a personal field, stored as a commitment).
fn watch_accounts_file(directory: &Directory, services: &Services) -> JoinHandle<()> {
    let services = services.clone();
    directory.spawn_watcher(Duration::from_millis(500), move |r| {
        let s = &services;
        let error = match r {
            Ok(()) => match sync_accounts(&s.config, &s.store, &s.directory, &s.audit) {
                Ok(()) => {
                    tracing::info!("accounts file changed: reloaded");
                    refused_entries(&s.directory)
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
    })
}

/// Gives this node its id (made once in data_dir) and records it in the
/// store, so erasures requested by any node wait for this one too.
fn register_node(services: &Services) -> Result<(), String> {
    let config = services.running.current();
    let node = sealpost_retention::erasures::this_node(&config).map_err(|e| e.to_string())?;
    services
        .store
        .register_node(&node)
        .map_err(|e| e.to_string())?;
    tracing::info!(node = %node, "node registered in the store");
    Ok(())
}

/// How often a node looks for audit erasures other nodes' purges asked for.
const ERASURE_POLL: Duration = Duration::from_secs(2);

/// Registers this node in the store (so erasures wait for it), then, over
/// a shared store, applies other nodes' purges to this node's audit log
/// every [`ERASURE_POLL`] (see `sealpost_retention::erasures`), until
/// shutdown. A failure (database away) is logged and retried.
fn spawn_erasure_worker(services: &Services, shutdown: &CancellationToken) {
    let services = services.clone();
    let shutdown = shutdown.clone();
    // Registered before the server says it is running, so its data_dir
    // (node-id, the store's node row) is settled by then; a failure (the
    // database away) is retried by the worker.
    let mut registered = match register_node(&services) {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "node registration failed; retrying");
            false
        }
    };
    tokio::spawn(async move {
        loop {
            let s = services.clone();
            let r = tokio::task::spawn_blocking(move || {
                let config = s.running.current();
                if !registered {
                    register_node(&s)?;
                }
                sealpost_retention::erasures::apply_pending(&config, &s.store, &s.audit)
                    .map_err(|e| e.to_string())
            })
            .await;
            match r {
                Ok(Ok(_)) => registered = true,
                Ok(Err(e)) => tracing::error!(error = %e, "audit erasure worker failed; retrying"),
                Err(e) => tracing::error!(error = %e, "audit erasure worker panicked"),
            }
            if registered && services.store.backend_name() != "postgresql" {
                // One node: its own purges erase its own log at once.
                break;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(ERASURE_POLL) => {}
            }
        }
    });
}

/// The retention worker: once at start, then every interval, until
/// shutdown; both as the running configuration says at that moment (a
/// reload applies).
fn spawn_retention_worker(services: &Services, shutdown: &CancellationToken) {
    let services = services.clone();
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        loop {
            let s = services.clone();
            let every = Duration::from_secs(s.running.current().retention.interval_secs);
            let r = tokio::task::spawn_blocking(move || {
                compliance::run_retention(
                    &s.running.current(),
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
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(every) => {}
            }
        }
    });
}

/// Stops accepting, lets sessions say their protocol's goodbye (bounded by
/// [`SHUTDOWN_GRACE`]), closes the admin socket and seals the audit log.
async fn shut_down(
    shutdown: CancellationToken,
    tracker: TaskTracker,
    admin_task: JoinHandle<()>,
    admin_socket: &Path,
    audit: &AuditLog,
) {
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
    let _ = std::fs::remove_file(admin_socket);
    audit.record(Event::ServerStopped);
    if let Err(e) = audit.close() {
        tracing::error!(error = %e, "could not seal the audit log on shutdown");
    }
    tracing::info!("stopped");
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
