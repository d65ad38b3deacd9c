//! `[store]`: where mail is kept. The embedded store (sled and blob files
//! under `server.data_dir`) needs nothing; PostgreSQL is how several nodes
//! share one store (see sealpost-store's `backend` module).

use serde::Deserialize;
use std::path::PathBuf;

/// Which backend holds the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    /// sled + blob files under data_dir (the default).
    #[default]
    Embedded,
    /// A PostgreSQL database shared by every node.
    Postgresql,
}

/// `[store]`, validated.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `embedded` or `postgresql`.
    pub backend: StoreBackend,
    /// libpq connection string (URL or `key=value` pairs), PostgreSQL only.
    pub url: Option<String>,
    /// CA certificate(s) for TLS to the database (made absolute).
    pub ca_file: Option<PathBuf>,
    /// Connections this node keeps to the database at most.
    pub pool_size: usize,
    /// Longest a database statement may run, in seconds.
    pub statement_timeout_secs: u64,
    /// Longest a new database connection may take, in seconds.
    pub connect_timeout_secs: u64,
    /// How long a dead node's claims (POP3 maildrops, queue entries, the
    /// retention run) last before other nodes may take them, in seconds.
    pub lease_secs: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            backend: StoreBackend::Embedded,
            url: None,
            ca_file: None,
            pool_size: 16,
            statement_timeout_secs: 30,
            connect_timeout_secs: 5,
            lease_secs: 30,
        }
    }
}

/// Largest pool (PostgreSQL's own default max_connections is 100).
pub const MAX_POOL_SIZE: usize = 1000;

/// Checks `[store]`; returns the key and message of the first problem.
pub(crate) fn check(store: &StoreConfig) -> Result<(), (&'static str, String)> {
    if !(1..=MAX_POOL_SIZE).contains(&store.pool_size) {
        return Err((
            "store.pool_size",
            format!("must be between 1 and {MAX_POOL_SIZE}"),
        ));
    }
    if !(1..=3600).contains(&store.statement_timeout_secs) {
        return Err((
            "store.statement_timeout_secs",
            "must be between 1 and 3600".into(),
        ));
    }
    if !(1..=600).contains(&store.connect_timeout_secs) {
        return Err((
            "store.connect_timeout_secs",
            "must be between 1 and 600".into(),
        ));
    }
    if !(2..=3600).contains(&store.lease_secs) {
        return Err(("store.lease_secs", "must be between 2 and 3600".into()));
    }
    if let Some(url) = &store.url {
        let url = url.trim();
        let looks_like_libpq = url.starts_with("postgresql://")
            || url.starts_with("postgres://")
            || url.split_whitespace().all(|kv| kv.contains('='));
        if url.is_empty() || !looks_like_libpq {
            return Err((
                "store.url",
                "must be a libpq connection string: postgresql://USER@HOST:PORT/DB (host=/path/to/socket-dir for a Unix socket) or key=value pairs".into(),
            ));
        }
    }
    if store.backend == StoreBackend::Postgresql && store.url.is_none() {
        return Err((
            "store.url",
            "is required with backend = \"postgresql\"".into(),
        ));
    }
    Ok(())
}
