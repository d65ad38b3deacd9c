//! Claims across nodes: named leases and the shared outbound queue.
//!
//! # Leases
//!
//! A lease is a row of `sealpost_lease` naming the node that holds it and
//! when it runs out. Taking one is one statement (`INSERT ... ON CONFLICT
//! DO UPDATE ... WHERE expires < now()`), so two nodes racing for a name
//! get one winner (the row lock of the conflict serializes them). Each
//! claim has its own random token: releasing deletes the row only if it is
//! still this claim, never a later holder's.
//!
//! # The heartbeat
//!
//! One task per node renews *every* lease and queue claim the node holds
//! with two statements (`WHERE node = $me`) every third of the lease time.
//! A node that dies (kill -9, power, network) stops renewing: after at
//! most the lease time (`[store] lease_secs`) its maildrops and queue
//! entries are free for the other nodes. The node id is random per
//! process, so a restarted node does not inherit the claims of its
//! previous life; they run out like a dead node's.
//!
//! The database clock (`now()`) decides expiry, so the nodes' clocks need
//! not agree.
//!
//! # The queue
//!
//! An entry is claimed by `UPDATE ... FROM (SELECT ... FOR UPDATE SKIP
//! LOCKED)`: concurrent claimers skip each other's rows instead of
//! waiting, and the lease columns keep the entry this node's after the
//! statement's transaction ends (a delivery attempt takes seconds to
//! minutes; holding a transaction open that long would pin a connection
//! and block vacuum). The due time is in plaintext (Unix seconds, nothing
//! personal); the entry itself is sealed with the system key.

use super::{Postgres, db_error, pool_error, schema};
use crate::Result;
use crate::backend::Claims;
use deadpool_postgres::Pool;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// This node's identity in the claim tables: random per process.
pub(crate) fn node_id() -> String {
    format!("{}-{:016x}", std::process::id(), rand::random::<u64>())
}

/// Starts the heartbeat that renews this node's claims (see the module
/// docs); it ends with the backend's runtime.
pub(crate) fn start_heartbeat(
    handle: &tokio::runtime::Handle,
    pool: Pool,
    node: String,
    lease: Duration,
    stopped: Arc<AtomicBool>,
) {
    let every = (lease / 3).max(Duration::from_millis(200));
    let secs = lease.as_secs_f64();
    handle.spawn(async move {
        let mut warned = false;
        loop {
            tokio::time::sleep(every).await;
            if stopped.load(Ordering::Relaxed) {
                return;
            }
            let renewed = async {
                let client = pool.get().await.map_err(pool_error)?;
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&node, &secs];
                let a = client.execute(schema::RENEW_LEASES, &params);
                let b = client.execute(schema::RENEW_QUEUE, &params);
                tokio::try_join!(a, b).map_err(db_error)?;
                Ok::<_, crate::StoreError>(())
            }
            .await;
            match renewed {
                Ok(()) => warned = false,
                Err(e) if !warned => {
                    warned = true;
                    tracing::warn!(error = %e, "cannot renew this node's leases; other nodes take them over once they run out");
                }
                Err(_) => {}
            }
        }
    });
}

impl Postgres {
    fn lease_secs(&self) -> f64 {
        self.lease.as_secs_f64()
    }
}

impl Claims for Postgres {
    fn try_lease(&self, name: &[u8]) -> Result<Option<u64>> {
        let pool = self.pool.clone();
        let (name, node, secs) = (name.to_vec(), self.node.clone(), self.lease_secs());
        let token = rand::random::<i64>();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let row = client
                .query_opt(schema::TAKE_LEASE, &[&name, &node, &token, &secs])
                .await
                .map_err(db_error)?;
            Ok(row.map(|_| token as u64))
        })
    }

    fn release_lease(&self, name: &[u8], token: u64) {
        let pool = self.pool.clone();
        let name = name.to_vec();
        self.handle.spawn(async move {
            if let Ok(client) = pool.get().await
                && let Err(e) = client
                    .execute(schema::RELEASE_LEASE, &[&name, &(token as i64)])
                    .await
            {
                tracing::debug!(error = %e, "lease release failed; it runs out instead");
            }
        });
    }

    fn lease_held(&self, name: &[u8], token: u64) -> Result<bool> {
        let pool = self.pool.clone();
        let name = name.to_vec();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let row = client
                .query_opt(schema::LEASE_HELD, &[&name, &(token as i64)])
                .await
                .map_err(db_error)?;
            Ok(row.is_some())
        })
    }

    fn queue_insert(&self, id: &str, due: i64, sealed: &[u8]) -> Result<()> {
        let pool = self.pool.clone();
        let (id, sealed) = (id.to_string(), sealed.to_vec());
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            client
                .execute(schema::QUEUE_INSERT, &[&id, &due, &sealed])
                .await
                .map_err(db_error)?;
            Ok(())
        })
    }

    fn queue_update(&self, id: &str, due: i64, sealed: &[u8]) -> Result<bool> {
        let pool = self.pool.clone();
        let (id, sealed) = (id.to_string(), sealed.to_vec());
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let n = client
                .execute(schema::QUEUE_UPDATE, &[&id, &due, &sealed])
                .await
                .map_err(db_error)?;
            Ok(n > 0)
        })
    }

    fn queue_get(&self, id: &str) -> Result<Option<Vec<u8>>> {
        let pool = self.pool.clone();
        let id = id.to_string();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let row = client
                .query_opt(schema::QUEUE_GET, &[&id])
                .await
                .map_err(db_error)?;
            Ok(row.map(|r| r.get::<_, Vec<u8>>(0)))
        })
    }

    fn queue_delete(&self, id: &str) -> Result<()> {
        let pool = self.pool.clone();
        let id = id.to_string();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            client
                .execute(schema::QUEUE_DELETE, &[&id])
                .await
                .map_err(db_error)?;
            Ok(())
        })
    }

    fn queue_ids(&self) -> Result<Vec<String>> {
        let pool = self.pool.clone();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let rows = client
                .query(schema::QUEUE_IDS, &[])
                .await
                .map_err(db_error)?;
            Ok(rows.into_iter().map(|r| r.get::<_, String>(0)).collect())
        })
    }

    fn queue_claim(&self, now: i64, limit: i64) -> Result<Vec<String>> {
        let pool = self.pool.clone();
        let (node, secs) = (self.node.clone(), self.lease_secs());
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let rows = client
                .query(schema::QUEUE_CLAIM, &[&node, &secs, &now, &limit])
                .await
                .map_err(db_error)?;
            let mut ids: Vec<String> = rows.into_iter().map(|r| r.get::<_, String>(0)).collect();
            ids.sort();
            Ok(ids)
        })
    }

    fn queue_release(&self, id: &str) {
        let pool = self.pool.clone();
        let (id, node) = (id.to_string(), self.node.clone());
        self.handle.spawn(async move {
            if let Ok(client) = pool.get().await
                && let Err(e) = client.execute(schema::QUEUE_RELEASE, &[&id, &node]).await
            {
                tracing::debug!(error = %e, "queue release failed; the claim runs out instead");
            }
        });
    }

    fn queue_next_due(&self) -> Result<Option<i64>> {
        let pool = self.pool.clone();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let row = client
                .query_one(schema::QUEUE_NEXT_DUE, &[])
                .await
                .map_err(db_error)?;
            Ok(row.get::<_, Option<i64>>(0))
        })
    }

    fn stop_heartbeat(&self) {
        self.heartbeat_stopped.store(true, Ordering::Relaxed);
    }
}
