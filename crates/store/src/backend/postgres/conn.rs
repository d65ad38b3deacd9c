//! Reaching the database: the connection settings and TLS, the
//! backend's own runtime, statement preparation, and how database errors
//! become store errors.

use super::schema;
use crate::{Result, StoreError};
use rustls::pki_types::pem::PemObject;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::error::SqlState;

/// How to reach the database (`[store]` in the config).
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// libpq connection string: a URL (`postgresql://user@host:port/db?...`,
    /// `host=/path/to/socket-dir` for a Unix socket) or `key=value` pairs.
    pub url: String,
    /// PEM CA certificate(s) that sign the database server's certificate.
    /// Given, TLS is used and verified (chain and host name); `sslmode=require`
    /// in the URL without it is refused.
    pub ca_file: Option<PathBuf>,
    /// Connections this node keeps open at most.
    pub pool_size: usize,
    /// Longest a statement may run (PostgreSQL `statement_timeout`); also
    /// bounds how long a store call waits for the database.
    pub statement_timeout: Duration,
    /// Longest a new connection may take.
    pub connect_timeout: Duration,
    /// How long a claim (POP3 maildrop, queue entry, retention run)
    /// outlives a node that stops renewing it (`claims.rs`).
    pub lease: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            url: String::new(),
            ca_file: None,
            pool_size: 16,
            statement_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            lease: Duration::from_secs(30),
        }
    }
}

/// The TLS connector for the configured URL and CA file.
#[derive(Clone)]
pub(super) enum Tls {
    None(tokio_postgres::NoTls),
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// A database error as the store reports it.
pub(super) fn db_error(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::UNIQUE_VIOLATION
            || *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            return StoreError::Conflict;
        }
        if *code == SqlState::UNDEFINED_TABLE {
            return StoreError::Schema(format!(
                "the database has no sealpost schema ({}): run `sealpost store migrate-schema`",
                db.message()
            ));
        }
        let class = &code.code()[..2];
        // Connection exceptions, operator intervention (shutdown, cannot
        // connect now, query cancelled by the statement timeout),
        // insufficient resources: the database may well come back.
        if matches!(class, "08" | "57" | "53" | "58") {
            return StoreError::Unavailable(format!("{}: {}", code.code(), db.message()));
        }
        return StoreError::Io(format!("database: {} ({})", db.message(), code.code()));
    }
    StoreError::Unavailable(format!("database connection: {e}"))
}

pub(super) fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => db_error(e),
        e => unavailable(format!("database connection pool: {e}")),
    }
}

/// The parsed connection settings.
pub(super) fn pg_config(opts: &PgOptions) -> Result<(tokio_postgres::Config, Tls)> {
    let mut config: tokio_postgres::Config = opts
        .url
        .parse()
        .map_err(|e| StoreError::Schema(format!("store url: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(opts.connect_timeout);
    }
    config.keepalives_idle(Duration::from_secs(30));
    config.application_name("sealpost");
    let mut options = config.get_options().unwrap_or("").to_string();
    options.push_str(&format!(
        " -c statement_timeout={}",
        opts.statement_timeout.as_millis().max(1)
    ));
    config.options(options.trim());
    let tls = match &opts.ca_file {
        Some(ca) => Tls::Rustls(rustls_connector(ca)?),
        None => {
            if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
                return Err(StoreError::Schema(
                    "store url asks for sslmode=require but no ca_file is set to verify the database's certificate"
                        .into(),
                ));
            }
            Tls::None(tokio_postgres::NoTls)
        }
    };
    Ok((config, tls))
}

fn rustls_connector(ca: &std::path::Path) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let bad = |m: String| StoreError::Schema(format!("store ca_file {}: {m}", ca.display()));
    let pem = std::fs::read(ca).map_err(|e| bad(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// A one-off connection (migrations, version checks, the tools).
pub(super) async fn connect_once(
    config: &tokio_postgres::Config,
    tls: &Tls,
) -> Result<tokio_postgres::Client> {
    macro_rules! go {
        ($tls:expr) => {{
            let (client, conn) = config.connect($tls).await.map_err(|e| {
                StoreError::Unavailable(format!("cannot connect to the database: {e}"))
            })?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            client
        }};
    }
    Ok(match tls {
        Tls::None(t) => go!(*t),
        Tls::Rustls(t) => go!(t.clone()),
    })
}

/// The backend's own runtime. Dropped without blocking: a runtime dropped
/// the ordinary way inside another runtime's thread (the server opens the
/// store from async code) panics.
pub(super) struct OwnedRuntime(pub(super) Option<tokio::runtime::Runtime>);

impl OwnedRuntime {
    pub(super) fn handle(&self) -> &tokio::runtime::Handle {
        self.0
            .as_ref()
            .expect("runtime is there until drop")
            .handle()
    }
}

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

pub(super) fn runtime() -> Result<OwnedRuntime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sealpost-pg")
        .enable_all()
        .build()
        .map(|rt| OwnedRuntime(Some(rt)))
        .map_err(|e| StoreError::Io(format!("cannot start the database runtime: {e}")))
}

/// Runs `fut` on `rt` and waits for it from any thread, at most `limit`.
pub(super) fn run_on<T: Send + 'static>(
    rt: &tokio::runtime::Handle,
    limit: Duration,
    fut: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    let (send, recv) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let out = match tokio::time::timeout(limit, fut).await {
            Ok(r) => r,
            Err(_) => Err(unavailable("the database did not answer in time")),
        };
        let _ = send.send(out);
    });
    recv.recv()
        .map_err(|_| unavailable("the database task ended without an answer"))?
}

/// Where the database is, for messages (never the password).
pub(super) fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "PostgreSQL {host}:{port}/{}",
        config.get_dbname().unwrap_or("")
    )
}

/// Prepares every statement on a new connection, and makes sure its
/// commits are durable (see the module docs).
pub(super) async fn prepare(
    client: &deadpool_postgres::ClientWrapper,
) -> std::result::Result<(), tokio_postgres::Error> {
    for sql in schema::PREPARED {
        client.prepare_cached(sql).await?;
    }
    let mode: String = client
        .query_one("SHOW synchronous_commit", &[])
        .await?
        .get(0);
    if mode == "off" {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            tracing::warn!(
                "PostgreSQL runs with synchronous_commit = off: sealpost sets it to on for its own sessions, so that no message is acknowledged before it is durable"
            )
        });
        client.batch_execute("SET synchronous_commit = on").await?;
    }
    Ok(())
}
