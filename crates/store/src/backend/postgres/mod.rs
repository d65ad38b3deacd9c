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

mod admin;
mod claims;
mod conn;
mod keys;
mod listen;
mod schema;
mod sink;
mod txn;

pub use admin::{create_database, migrate_schema, schema_version};
pub use conn::PgOptions;
pub use schema::SCHEMA_VERSION;

use super::{Backend, BlobSink, Claims, Fetched, KeyStore, Notice, Read, Txn};
use crate::blob::BlobId;
use crate::{AccountId, Result, StoreError};
use admin::read_version;
use conn::{
    OwnedRuntime, Tls, connect_once, db_error, describe, pg_config, pool_error, prepare, run_on,
    runtime,
};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use keys::PgKeys;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use txn::{PgTxn, run_reads};

std::thread_local! {
    /// Round trips made by this thread (store calls are synchronous, so the
    /// difference around a call is that call's, whatever other threads do).
    static ROUND_TRIPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts a network round trip made outside [`Postgres::run`] (the blob
/// sink's).
fn count_round_trip() {
    ROUND_TRIPS.with(|n| n.set(n.get() + 1));
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

    fn blob_sink(&self, _account: AccountId, _id: BlobId) -> Result<Box<dyn BlobSink>> {
        Ok(Box::new(sink::PgSink::new(
            self.handle.clone(),
            self.pool.clone(),
            self.limit,
        )))
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
