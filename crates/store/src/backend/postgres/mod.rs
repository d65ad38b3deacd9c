//! PostgreSQL backend (in progress).

use super::{Backend, Fetched, KeyStore, Notice, Read, Txn};
use crate::blob::BlobId;
use crate::{AccountId, Result, StoreError};
use std::path::PathBuf;
use std::time::Duration;

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: i32 = 1;

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// libpq connection URL.
    pub url: String,
    /// CA file for TLS.
    pub ca_file: Option<PathBuf>,
    /// Connections in the pool.
    pub pool_size: usize,
    /// Statement timeout.
    pub statement_timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
}

/// Applies migrations.
pub fn migrate_schema(_opts: &PgOptions) -> Result<(i32, i32)> {
    Err(StoreError::Unavailable("not yet".into()))
}

/// Reads the schema version.
pub fn schema_version(_opts: &PgOptions) -> Result<Option<i32>> {
    Err(StoreError::Unavailable("not yet".into()))
}

pub(crate) struct Postgres;

impl Postgres {
    pub(crate) fn connect(_opts: &PgOptions) -> Result<Postgres> {
        Err(StoreError::Unavailable("not yet".into()))
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
        unimplemented!()
    }
    fn read(&self, _reads: Vec<Read>) -> Result<Vec<Fetched>> {
        unimplemented!()
    }
    fn next_counter(&self, _name: &[u8], _floor: u64) -> Result<u64> {
        unimplemented!()
    }
    fn read_blob(&self, _account: AccountId, _id: BlobId) -> Result<Option<Vec<u8>>> {
        unimplemented!()
    }
    fn purge_blobs(&self, _account: AccountId) -> Result<()> {
        unimplemented!()
    }
    fn keys(&self) -> &dyn KeyStore {
        unimplemented!()
    }
    fn notify(&self, _notice: Notice) {}
    fn listen(&self, _deliver: Box<dyn Fn(Notice) + Send + Sync>) {}
}
