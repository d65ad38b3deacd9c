//! Wrapped account keys in `sealpost_account_key`; a purge deletes the
//! row and vacuums the table at once.

use super::conn::{db_error, pool_error, run_on};
use super::{KeyStore, schema};
use crate::{AccountId, Result};
use deadpool_postgres::Pool;
use std::time::Duration;

/// Wrapped account keys in `sealpost_account_key`.
pub(super) struct PgKeys {
    pub(super) handle: tokio::runtime::Handle,
    pub(super) pool: Pool,
    pub(super) limit: Duration,
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
