//! The PostgreSQL backend: several sealpost nodes over one database.
//!
//! # Client
//!
//! tokio-postgres with a deadpool-postgres pool. tokio-postgres is the
//! maintained, pure-Rust async client (the `postgres` crate and sqlx build on
//! the same protocol code or an equivalent); it *pipelines*: queries polled
//! together go out back to back and their answers come back in order, which
//! is how a store call costs one round trip for several statements (see
//! [`Txn::read`], [`Txn::commit`]). sqlx would add a query macro layer and
//! its own pool for nothing this store uses (every statement is fixed and
//! prepared once per connection, `schema.rs`). deadpool-postgres is the
//! small, maintained pool made for tokio-postgres (recycling checks, wait
//! and create timeouts, a hook that prepares statements on new connections).
//! TLS to the database goes through rustls (the same ring provider as every
//! listener) with the operator's CA file; the server's name is checked.
//!
//! # Threads
//!
//! The store's API is synchronous (protocols call it on tokio's blocking
//! pool). This backend owns a small tokio runtime (two threads) on which the
//! pool's connections, the LISTEN connection and the notifier run; a store
//! call spawns its future there and waits for the answer on a channel, so it
//! works from any thread (a worker thread of the caller's runtime included,
//! where `block_on` would panic). Every call is bounded: the statement
//! timeout plus a margin, after which the database counts as unavailable.
//!
//! # Durability
//!
//! `COMMIT` returns once PostgreSQL has flushed the commit record
//! (`synchronous_commit = on`; a server configured `off` is overridden for
//! sealpost's sessions, with a warning, because acknowledging mail that a
//! database crash could take back would break durability promise 1; with a
//! synchronous standby, `on` also waits for it, which is what makes an
//! acknowledged message survive a failover). Concurrent commits share WAL
//! flushes inside PostgreSQL, the database's own group commit.
//!
//! # Failures
//!
//! A database that cannot be reached, restarts, or runs out of connections
//! makes calls fail with [`StoreError::Unavailable`] (nothing committed, no
//! acknowledgement given); the pool makes new connections when it is back,
//! so service resumes by itself. A commit whose answer is lost (the
//! connection dropped during COMMIT) is reported as unavailable too: the
//! client retries, and the index catches up from the change log if the
//! commit did happen (`cluster.rs`).
//!
//! # What the database sees
//!
//! Keys made of ids and keyed hashes, rows whose personal fields are sealed,
//! sealed blobs, wrapped keys. Never a mailbox name, a message or (once the
//! account index is keyed, issue #17) an address in plaintext. Old row
//! versions stay in the heap until (auto)vacuum, and in WAL archives and
//! backups for as long as those are kept; all of it is ciphertext whose key
//! a purge destroys. A purge deletes the account's wrapped key and vacuums
//! that (small) table at once.

mod claims;
mod listen;
mod schema;

pub use schema::SCHEMA_VERSION;

use super::{Backend, Claims, Fetched, KeyStore, Notice, Read, Txn, Writes};
use crate::blob::BlobId;
use crate::{AccountId, Result, StoreError};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
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
enum Tls {
    None(tokio_postgres::NoTls),
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// A database error as the store reports it.
fn db_error(e: tokio_postgres::Error) -> StoreError {
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

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => db_error(e),
        e => unavailable(format!("database connection pool: {e}")),
    }
}

/// The parsed connection settings.
fn pg_config(opts: &PgOptions) -> Result<(tokio_postgres::Config, Tls)> {
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
async fn connect_once(
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
struct OwnedRuntime(Option<tokio::runtime::Runtime>);

impl OwnedRuntime {
    fn handle(&self) -> &tokio::runtime::Handle {
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

fn runtime() -> Result<OwnedRuntime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sealpost-pg")
        .enable_all()
        .build()
        .map(|rt| OwnedRuntime(Some(rt)))
        .map_err(|e| StoreError::Io(format!("cannot start the database runtime: {e}")))
}

/// Runs `fut` on `rt` and waits for it from any thread, at most `limit`.
fn run_on<T: Send + 'static>(
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

/// The applied schema version of the database at `opts` (`None`: no
/// sealpost schema).
pub fn schema_version(opts: &PgOptions) -> Result<Option<i32>> {
    let (config, tls) = pg_config(opts)?;
    let rt = runtime()?;
    let out = run_on(
        rt.handle(),
        opts.connect_timeout * 2 + opts.statement_timeout,
        async move {
            let client = connect_once(&config, &tls).await?;
            read_version(&client).await
        },
    );
    drop(rt);
    out
}

async fn read_version(client: &impl tokio_postgres::GenericClient) -> Result<Option<i32>> {
    let has: bool = client
        .query_one(schema::HAS_SCHEMA, &[])
        .await
        .map_err(db_error)?
        .get(0);
    if !has {
        return Ok(None);
    }
    let v: Option<i32> = client
        .query_one(schema::READ_VERSION, &[])
        .await
        .map_err(db_error)?
        .get(0);
    Ok(v)
}

/// Brings the database's schema to [`SCHEMA_VERSION`]; returns (version
/// before, version after). Refuses a database newer than this build.
pub fn migrate_schema(opts: &PgOptions) -> Result<(i32, i32)> {
    let (config, tls) = pg_config(opts)?;
    let rt = runtime()?;
    let limit = opts.connect_timeout * 2 + opts.statement_timeout * 4;
    let out = run_on(rt.handle(), limit, async move {
        let mut client = connect_once(&config, &tls).await?;
        let tx = client.transaction().await.map_err(db_error)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&schema::MIGRATION_LOCK],
        )
        .await
        .map_err(db_error)?;
        let before = read_version(&tx).await?.unwrap_or(0);
        if before > SCHEMA_VERSION {
            return Err(StoreError::Schema(format!(
                "the database's schema is version {before}, newer than this sealpost's {SCHEMA_VERSION}: upgrade sealpost"
            )));
        }
        for (version, sql) in schema::MIGRATIONS {
            if *version > before {
                tx.batch_execute(sql).await.map_err(db_error)?;
                tx.execute(
                    "INSERT INTO sealpost_schema (version) VALUES ($1)",
                    &[version],
                )
                .await
                .map_err(db_error)?;
            }
        }
        tx.commit().await.map_err(db_error)?;
        Ok((before, SCHEMA_VERSION))
    });
    drop(rt);
    out
}

std::thread_local! {
    /// Round trips made by this thread (store calls are synchronous, so the
    /// difference around a call is that call's, whatever other threads do).
    static ROUND_TRIPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A connection to the database shared by every node.
pub(crate) struct Postgres {
    handle: tokio::runtime::Handle,
    pool: Pool,
    limit: Duration,
    keys: PgKeys,
    listen: listen::Listener,
    /// This node's id in the claim tables (random per process).
    node: String,
    /// See [`PgOptions::lease`].
    lease: Duration,
    /// Tests: the heartbeat stops when set (`Claims::stop_heartbeat`).
    heartbeat_stopped: Arc<std::sync::atomic::AtomicBool>,
    /// Last, so it is dropped last: the pool and tasks above run on it.
    _rt: OwnedRuntime,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.pool.close();
    }
}

impl Postgres {
    /// Connects and checks the schema: refuses (one clear error) a database
    /// that cannot be reached, has no sealpost schema, or another version.
    pub(crate) fn connect(opts: &PgOptions) -> Result<Postgres> {
        let (config, tls) = pg_config(opts)?;
        let rt = runtime()?;
        let handle = rt.handle().clone();
        let limit = opts.statement_timeout + opts.connect_timeout + Duration::from_secs(5);
        let where_ = describe(&config);
        let (c, t) = (config.clone(), tls.clone());
        let version = run_on(&handle, limit, async move {
            let client = connect_once(&c, &t).await?;
            read_version(&client).await
        })
        .map_err(|e| match e {
            StoreError::Unavailable(m) => StoreError::Unavailable(format!("{where_}: {m}")),
            e => e,
        })?;
        match version {
            None => {
                return Err(StoreError::Schema(format!(
                    "{}: the database has no sealpost schema: run `sealpost store migrate-schema` first",
                    describe(&config)
                )));
            }
            Some(v) if v != SCHEMA_VERSION => {
                return Err(StoreError::Schema(format!(
                    "{}: the database's schema is version {v}, this sealpost needs {SCHEMA_VERSION}: {}",
                    describe(&config),
                    if v < SCHEMA_VERSION {
                        "run `sealpost store migrate-schema`"
                    } else {
                        "upgrade sealpost"
                    }
                )));
            }
            Some(_) => {}
        }
        let manager = match &tls {
            Tls::None(t) => Manager::from_config(
                config.clone(),
                *t,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            ),
            Tls::Rustls(t) => Manager::from_config(
                config.clone(),
                t.clone(),
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            ),
        };
        let pool = {
            let _enter = handle.enter();
            Pool::builder(manager)
                .max_size(opts.pool_size.max(1))
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(opts.statement_timeout))
                .create_timeout(Some(opts.connect_timeout))
                .recycle_timeout(Some(opts.connect_timeout))
                .post_create(deadpool_postgres::Hook::async_fn(|client, _| {
                    Box::pin(async move {
                        prepare(client)
                            .await
                            .map_err(deadpool_postgres::HookError::Backend)
                    })
                }))
                .build()
                .map_err(|e| StoreError::Io(format!("database pool: {e}")))?
        };
        let listen = listen::Listener::new(&handle, pool.clone(), config, tls);
        let node = claims::node_id();
        let lease = opts.lease.max(Duration::from_secs(1));
        let heartbeat_stopped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        claims::start_heartbeat(
            &handle,
            pool.clone(),
            node.clone(),
            lease,
            heartbeat_stopped.clone(),
        );
        Ok(Postgres {
            heartbeat_stopped,
            node,
            lease,
            keys: PgKeys {
                handle: handle.clone(),
                pool: pool.clone(),
                limit,
            },
            _rt: rt,
            handle,
            pool,
            limit,
            listen,
        })
    }

    /// Runs one exchange with the database: everything in `fut` is
    /// pipelined, so it costs one network round trip (plus one to connect
    /// when the pool has no idle connection).
    fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        ROUND_TRIPS.with(|n| n.set(n.get() + 1));
        run_on(&self.handle, self.limit, fut)
    }
}

/// Where the database is, for messages (never the password).
fn describe(config: &tokio_postgres::Config) -> String {
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
async fn prepare(
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

/// Runs reads on a connection: locking reads first, one by one, in order;
/// then the unlocked gets in one statement and the scans, pipelined. All in
/// one round trip (pipelined with whatever the caller sends before).
async fn run_reads(
    client: &deadpool_postgres::ClientWrapper,
    reads: &[Read],
) -> Result<Vec<Fetched>> {
    use futures_util::future::try_join_all;
    let get = client
        .prepare_cached(schema::GET_LOCKED)
        .await
        .map_err(db_error)?;
    let many = client
        .prepare_cached(schema::GET_MANY)
        .await
        .map_err(db_error)?;
    let scan = client
        .prepare_cached(schema::SCAN)
        .await
        .map_err(db_error)?;
    let locked: Vec<&Vec<u8>> = reads
        .iter()
        .filter_map(|r| match r {
            Read::Get { key, lock: true } => Some(key),
            _ => None,
        })
        .collect();
    let plain: Vec<&[u8]> = reads
        .iter()
        .filter_map(|r| match r {
            Read::Get { key, lock: false } => Some(key.as_slice()),
            _ => None,
        })
        .collect();
    let scans: Vec<(&Vec<u8>, &Vec<u8>)> = reads
        .iter()
        .filter_map(|r| match r {
            Read::Scan { from, to } => Some((from, to)),
            _ => None,
        })
        .collect();
    let (get, scan) = (&get, &scan);
    let locked_f = try_join_all(
        locked
            .iter()
            .map(|k| async move { client.query(get, &[*k]).await }),
    );
    let plain_f = async {
        if plain.is_empty() {
            Ok(Vec::new())
        } else {
            client.query(&many, &[&plain]).await
        }
    };
    let scans_f = try_join_all(
        scans
            .iter()
            .map(|(f, t)| async move { client.query(scan, &[*f, *t]).await }),
    );
    let (locked_rows, plain_rows, scan_rows) =
        tokio::try_join!(locked_f, plain_f, scans_f).map_err(db_error)?;
    let mut locked_rows = locked_rows.into_iter();
    let mut scan_rows = scan_rows.into_iter();
    let plain: std::collections::HashMap<Vec<u8>, Vec<u8>> = plain_rows
        .into_iter()
        .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, Vec<u8>>(1)))
        .collect();
    Ok(reads
        .iter()
        .map(|r| match r {
            Read::Get { lock: true, .. } => Fetched::Value(
                locked_rows
                    .next()
                    .and_then(|rows| rows.into_iter().next())
                    .map(|row| row.get::<_, Vec<u8>>(0)),
            ),
            Read::Get { key, lock: false } => Fetched::Value(plain.get(key).cloned()),
            Read::Scan { .. } => Fetched::Rows(
                scan_rows
                    .next()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|row| (row.get::<_, Vec<u8>>(0), row.get::<_, Vec<u8>>(1)))
                    .collect(),
            ),
        })
        .collect())
}

/// A statement a transaction sends with its next round trip.
enum Pending {
    PutBlob(i64, Vec<u8>, Vec<u8>),
    CopyBlob(i64, Vec<u8>, Vec<u8>),
    DeleteBlobs(i64, Vec<Vec<u8>>),
}

async fn run_pending(client: &deadpool_postgres::ClientWrapper, pending: &[Pending]) -> Result<()> {
    use futures_util::future::try_join_all;
    if pending.is_empty() {
        return Ok(());
    }
    let put = client
        .prepare_cached(schema::PUT_BLOB)
        .await
        .map_err(db_error)?;
    let copy = client
        .prepare_cached(schema::COPY_BLOB)
        .await
        .map_err(db_error)?;
    let del = client
        .prepare_cached(schema::DELETE_BLOBS)
        .await
        .map_err(db_error)?;
    let (put, copy, del) = (&put, &copy, &del);
    try_join_all(pending.iter().map(|p| async move {
        match p {
            Pending::PutBlob(a, id, data) => client.execute(put, &[a, id, data]).await,
            Pending::CopyBlob(a, from, to) => client.execute(copy, &[a, from, to]).await,
            Pending::DeleteBlobs(a, ids) => client.execute(del, &[a, ids]).await,
        }
    }))
    .await
    .map_err(db_error)?;
    Ok(())
}

/// A transaction on one pooled connection. BEGIN goes out with its first
/// round trip; blob statements wait for the next one.
struct PgTxn<'a> {
    pg: &'a Postgres,
    client: Option<Arc<Object>>,
    begun: bool,
    pending: Vec<Pending>,
}

impl PgTxn<'_> {
    fn client(&mut self) -> Result<Arc<Object>> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        let pool = self.pg.pool.clone();
        // Not counted as a round trip: an idle pooled connection is taken
        // without talking to the database.
        let c = Arc::new(run_on(&self.pg.handle, self.pg.limit, async move {
            pool.get().await.map_err(pool_error)
        })?);
        self.client = Some(c.clone());
        Ok(c)
    }
}

impl Txn for PgTxn<'_> {
    fn read(&mut self, reads: Vec<Read>) -> Result<Vec<Fetched>> {
        let client = self.client()?;
        let begin = !self.begun;
        let pending = std::mem::take(&mut self.pending);
        let out = self.pg.run(async move {
            let begin_f = async {
                if begin {
                    client.batch_execute("BEGIN").await.map_err(db_error)
                } else {
                    Ok(())
                }
            };
            let (_, _, fetched) = tokio::try_join!(
                begin_f,
                run_pending(&client, &pending),
                run_reads(&client, &reads)
            )?;
            Ok(fetched)
        });
        self.begun = true;
        out
    }

    fn put_blob(&mut self, account: AccountId, id: BlobId, sealed: &[u8]) -> Result<()> {
        self.pending.push(Pending::PutBlob(
            account.0 as i64,
            id.0.to_vec(),
            sealed.to_vec(),
        ));
        Ok(())
    }

    fn copy_blob(&mut self, account: AccountId, from: BlobId, to: BlobId) -> Result<()> {
        self.pending.push(Pending::CopyBlob(
            account.0 as i64,
            from.0.to_vec(),
            to.0.to_vec(),
        ));
        Ok(())
    }

    fn delete_blobs(&mut self, account: AccountId, ids: &[BlobId]) {
        if !ids.is_empty() {
            self.pending.push(Pending::DeleteBlobs(
                account.0 as i64,
                ids.iter().map(|b| b.0.to_vec()).collect(),
            ));
        }
    }

    fn commit(mut self: Box<Self>, writes: Writes) -> Result<()> {
        if writes.is_empty() && self.pending.is_empty() {
            return self.finish("COMMIT");
        }
        let client = self.client()?;
        let begin = !self.begun;
        let pending = std::mem::take(&mut self.pending);
        self.begun = true;
        let result = self.pg.run(async move {
            let c = &client;
            let range = c
                .prepare_cached(schema::DELETE_RANGE)
                .await
                .map_err(db_error)?;
            let del = c
                .prepare_cached(schema::DELETE_MANY)
                .await
                .map_err(db_error)?;
            let put = c.prepare_cached(schema::PUT_MANY).await.map_err(db_error)?;
            let create = c
                .prepare_cached(schema::CREATE_MANY)
                .await
                .map_err(db_error)?;
            let (pk, pv): (Vec<&[u8]>, Vec<&[u8]>) = writes
                .puts
                .iter()
                .map(|(k, v)| (k.as_slice(), v.as_slice()))
                .unzip();
            let (ck, cv): (Vec<&[u8]>, Vec<&[u8]>) = writes
                .creates
                .iter()
                .map(|(k, v)| (k.as_slice(), v.as_slice()))
                .unzip();
            let dk: Vec<&[u8]> = writes.deletes.iter().map(|k| k.as_slice()).collect();
            let begin_f = async {
                if begin {
                    c.batch_execute("BEGIN").await.map_err(db_error)
                } else {
                    Ok(())
                }
            };
            let ranges_f =
                futures_util::future::try_join_all(writes.delete_ranges.iter().map(|(f, t)| {
                    let range = &range;
                    async move { c.execute(range, &[f, t]).await }
                }));
            let del_f = async {
                if dk.is_empty() {
                    Ok(0)
                } else {
                    c.execute(&del, &[&dk]).await
                }
            };
            let put_f = async {
                if pk.is_empty() {
                    Ok(0)
                } else {
                    c.execute(&put, &[&pk, &pv]).await
                }
            };
            let create_f = async {
                if ck.is_empty() {
                    Ok(0)
                } else {
                    c.execute(&create, &[&ck, &cv]).await
                }
            };
            // COMMIT after a failed statement rolls back; the failure is
            // the error reported (the first to complete, in order).
            let commit_f = async { c.batch_execute("COMMIT").await.map_err(db_error) };
            tokio::try_join!(
                begin_f,
                run_pending(c, &pending),
                async { ranges_f.await.map_err(db_error) },
                async { del_f.await.map_err(db_error) },
                async { put_f.await.map_err(db_error) },
                async { create_f.await.map_err(db_error) },
                commit_f
            )?;
            Ok(())
        });
        if result.is_err() {
            // The connection may be mid-transaction or broken: never reuse it.
            if let Some(c) = self.client.take()
                && let Ok(obj) = Arc::try_unwrap(c)
            {
                let _ = Object::take(obj);
            }
        }
        self.begun = false;
        result
    }
}

impl PgTxn<'_> {
    fn finish(&mut self, what: &'static str) -> Result<()> {
        if !self.begun {
            return Ok(());
        }
        self.begun = false;
        let Some(client) = self.client.clone() else {
            return Ok(());
        };
        let r = self
            .pg
            .run(async move { client.batch_execute(what).await.map_err(db_error) });
        if r.is_err()
            && let Some(c) = self.client.take()
            && let Ok(obj) = Arc::try_unwrap(c)
        {
            let _ = Object::take(obj);
        }
        r
    }
}

impl Drop for PgTxn<'_> {
    fn drop(&mut self) {
        // Abandoned: roll back before the connection goes back to the pool.
        if self.begun {
            let _ = self.finish("ROLLBACK");
        }
    }
}

impl Backend for Postgres {
    fn name(&self) -> &'static str {
        "postgresql"
    }

    fn shared(&self) -> bool {
        true
    }

    fn begin(&self) -> Result<Box<dyn Txn + '_>> {
        Ok(Box::new(PgTxn {
            pg: self,
            client: None,
            begun: false,
            pending: Vec::new(),
        }))
    }

    fn read(&self, reads: Vec<Read>) -> Result<Vec<Fetched>> {
        let pool = self.pool.clone();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            run_reads(&client, &reads).await
        })
    }

    fn next_counter(&self, name: &[u8], floor: u64) -> Result<u64> {
        let pool = self.pool.clone();
        let mut key = vec![crate::codec::table::META];
        key.extend_from_slice(name);
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let st = client
                .prepare_cached(schema::NEXT_COUNTER)
                .await
                .map_err(db_error)?;
            let row = client
                .query_one(&st, &[&key, &(floor.min(i64::MAX as u64) as i64)])
                .await
                .map_err(db_error)?;
            let v: Vec<u8> = row.get(0);
            let v: [u8; 8] = v
                .as_slice()
                .try_into()
                .map_err(|_| StoreError::Corrupt("counter".into()))?;
            Ok(u64::from_be_bytes(v))
        })
    }

    fn read_blob(&self, account: AccountId, id: BlobId) -> Result<Option<Vec<u8>>> {
        let pool = self.pool.clone();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let st = client
                .prepare_cached(schema::GET_BLOB)
                .await
                .map_err(db_error)?;
            let row = client
                .query_opt(&st, &[&(account.0 as i64), &id.0.as_slice()])
                .await
                .map_err(db_error)?;
            Ok(row.map(|r| r.get::<_, Vec<u8>>(0)))
        })
    }

    fn purge_blobs(&self, account: AccountId) -> Result<()> {
        let pool = self.pool.clone();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            client
                .execute(schema::PURGE_BLOBS, &[&(account.0 as i64)])
                .await
                .map_err(db_error)?;
            Ok(())
        })
    }

    fn count_blobs(&self, account: AccountId) -> Result<u64> {
        let pool = self.pool.clone();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let n: i64 = client
                .query_one(
                    "SELECT count(*) FROM sealpost_blob WHERE account = $1",
                    &[&(account.0 as i64)],
                )
                .await
                .map_err(db_error)?
                .get(0);
            Ok(n as u64)
        })
    }

    fn keys(&self) -> &dyn KeyStore {
        &self.keys
    }

    fn notify(&self, notice: Notice) {
        self.listen.notify(notice);
    }

    fn listen(&self, deliver: Box<dyn Fn(Notice) + Send + Sync>) {
        self.listen.start(deliver);
    }

    fn round_trips(&self) -> u64 {
        ROUND_TRIPS.with(|n| n.get())
    }

    fn claims(&self) -> Option<&dyn Claims> {
        Some(self)
    }
}

/// Wrapped account keys in `sealpost_account_key`.
struct PgKeys {
    handle: tokio::runtime::Handle,
    pool: Pool,
    limit: Duration,
}

impl KeyStore for PgKeys {
    fn copies(&self, id: AccountId) -> Result<Vec<Vec<u8>>> {
        let pool = self.pool.clone();
        run_on(&self.handle, self.limit, async move {
            let client = pool.get().await.map_err(pool_error)?;
            let rows = client
                .query(schema::GET_KEY, &[&(id.0 as i64)])
                .await
                .map_err(db_error)?;
            Ok(rows.into_iter().map(|r| r.get::<_, Vec<u8>>(0)).collect())
        })
    }

    fn write(&self, id: AccountId, wrapped: &[u8]) -> Result<()> {
        let pool = self.pool.clone();
        let wrapped = wrapped.to_vec();
        run_on(&self.handle, self.limit, async move {
            let client = pool.get().await.map_err(pool_error)?;
            client
                .execute(schema::PUT_KEY, &[&(id.0 as i64), &wrapped])
                .await
                .map_err(db_error)?;
            Ok(())
        })
    }

    fn shred(&self, id: AccountId) -> Result<()> {
        let pool = self.pool.clone();
        run_on(&self.handle, self.limit, async move {
            let client = pool.get().await.map_err(pool_error)?;
            let n = client
                .execute(schema::DELETE_KEY, &[&(id.0 as i64)])
                .await
                .map_err(db_error)?;
            if n > 0 {
                // Removes the dead row from the table's pages now rather than
                // at the next autovacuum (WAL and backups keep it as long as
                // they are kept: wrapped, useless without the restore key).
                if let Err(e) = client.batch_execute("VACUUM sealpost_account_key").await {
                    tracing::warn!(error = %e, "could not vacuum the account key table after a purge; autovacuum will");
                }
            }
            Ok(())
        })
    }

    fn exists(&self, id: AccountId) -> Result<bool> {
        Ok(!self.copies(id)?.is_empty())
    }
}

/// `url` naming database `name` instead (libpq: a later `dbname` wins).
pub fn with_database(url: &str, name: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}dbname={name}")
    } else {
        format!("{url} dbname={name}")
    }
}

/// Creates an empty database `name` (tests, tools): `opts` names a
/// database to connect to for it (e.g. `postgres`).
pub fn create_database(opts: &PgOptions, name: &str) -> Result<PgOptions> {
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(StoreError::Schema(format!("bad database name {name}")));
    }
    let (config, tls) = pg_config(opts)?;
    let rt = runtime()?;
    let sql = format!("CREATE DATABASE {name}");
    let out = run_on(
        rt.handle(),
        opts.connect_timeout + opts.statement_timeout,
        async move {
            let client = connect_once(&config, &tls).await?;
            client.batch_execute(&sql).await.map_err(db_error)
        },
    );
    drop(rt);
    out?;
    Ok(PgOptions {
        url: with_database(&opts.url, name),
        ..opts.clone()
    })
}
