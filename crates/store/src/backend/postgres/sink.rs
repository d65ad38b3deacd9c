//! A sealed blob streamed into the database while it arrives
//! ([`Backend::blob_sink`](crate::backend::Backend::blob_sink)), so that a
//! message of any size is stored with a bounded part of it in memory.
//!
//! The first [`SPILL`] octets are kept in memory: most messages are
//! smaller and cost nothing more than a single append. Past that, the
//! sink takes a pooled connection, opens a transaction on it and writes
//! what it holds into a PostgreSQL large object (`lo_from_bytea`, then
//! `lo_put` for every further [`SPILL`] octets), so at most [`SPILL`]
//! octets of the sealed message are held here at any time.
//!
//! The store's transaction then *adopts* that connection
//! ([`super::txn::PgTxn::put_blob_sink`]): its reads, locks and writes run
//! in the very transaction that holds the large object, and one statement
//! ([`schema::PUT_BLOB_FROM_LO`]) copies the object into the blob's row
//! and unlinks it before COMMIT. Nothing is visible to another session
//! before that COMMIT; a sink dropped unused, a transaction dropped
//! without commit or a connection that breaks rolls back, and the large
//! object goes with it (large objects are transactional), so no orphan is
//! left in the database. The database builds the row from the object on
//! its side: the message never crosses the wire whole.
//!
//! Only when the transaction has talked to the database before the blob
//! is handed over (no store path does that today) does it read the object
//! back and insert it as a single put would, whole in memory.

use super::conn::{db_error, pool_error, run_on};
use super::schema;
use crate::Result;
use crate::backend::BlobSink;
use deadpool_postgres::{Object, Pool};
use std::sync::Arc;
use std::time::Duration;

/// Sealed octets held in memory before they go to the database.
pub(crate) const SPILL: usize = 1 << 20;

/// What a finished sink hands its transaction.
pub(super) enum Sunk {
    /// The whole blob, small enough to have stayed in memory.
    Memory(Vec<u8>),
    /// A large object `oid` written in the open transaction of `conn`.
    LargeObject { conn: Arc<Object>, oid: u32 },
}

/// The PostgreSQL [`BlobSink`] (see the module docs).
pub(crate) struct PgSink {
    pub(super) handle: tokio::runtime::Handle,
    pub(super) pool: Pool,
    pub(super) limit: Duration,
    buf: Vec<u8>,
    /// The connection whose open transaction holds the large object.
    conn: Option<Arc<Object>>,
    oid: u32,
    /// Octets in the large object so far.
    written: i64,
}

impl PgSink {
    pub(super) fn new(handle: tokio::runtime::Handle, pool: Pool, limit: Duration) -> PgSink {
        PgSink {
            handle,
            pool,
            limit,
            buf: Vec::new(),
            conn: None,
            oid: 0,
            written: 0,
        }
    }

    /// Sends what is held to the large object (creating it, and opening
    /// the transaction, the first time).
    fn spill(&mut self) -> Result<()> {
        let data = std::mem::take(&mut self.buf);
        let len = data.len() as i64;
        match &self.conn {
            None => {
                let pool = self.pool.clone();
                let (conn, oid) = run_on(&self.handle, self.limit, async move {
                    let c = Arc::new(pool.get().await.map_err(pool_error)?);
                    let create = c
                        .prepare_cached(schema::LO_CREATE)
                        .await
                        .map_err(db_error)?;
                    // BEGIN and the first piece go out together.
                    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&data];
                    let (_, row) =
                        tokio::try_join!(c.batch_execute("BEGIN"), c.query_one(&create, &params))
                            .map_err(db_error)?;
                    let oid: u32 = row.get(0);
                    Ok((c, oid))
                })?;
                super::count_round_trip();
                self.conn = Some(conn);
                self.oid = oid;
            }
            Some(conn) => {
                let (c, oid, at) = (conn.clone(), self.oid, self.written);
                let r = run_on(&self.handle, self.limit, async move {
                    let put = c.prepare_cached(schema::LO_PUT).await.map_err(db_error)?;
                    c.execute(&put, &[&oid, &at, &data])
                        .await
                        .map_err(db_error)?;
                    Ok(data)
                });
                super::count_round_trip();
                // The buffer's room is used again for the next piece.
                self.buf = r?;
                self.buf.clear();
            }
        }
        self.written += len;
        Ok(())
    }

    /// Ends the blob: what it holds goes to the large object first.
    pub(super) fn sunk(mut self) -> Result<Sunk> {
        if self.conn.is_none() {
            return Ok(Sunk::Memory(std::mem::take(&mut self.buf)));
        }
        if !self.buf.is_empty() {
            self.spill()?;
        }
        let conn = self.conn.take().expect("spilled above");
        Ok(Sunk::LargeObject {
            conn,
            oid: self.oid,
        })
    }
}

/// The large object read back whole (the fallback of the module docs);
/// the transaction that held it is rolled back.
pub(super) fn read_back(
    handle: &tokio::runtime::Handle,
    limit: Duration,
    conn: Arc<Object>,
    oid: u32,
) -> Result<Vec<u8>> {
    let c = conn.clone();
    let r = run_on(handle, limit, async move {
        let get = c.prepare_cached(schema::LO_GET).await.map_err(db_error)?;
        let row = c.query_one(&get, &[&oid]).await.map_err(db_error)?;
        Ok(row.get::<_, Vec<u8>>(0))
    });
    super::count_round_trip();
    rollback(handle, limit, conn);
    r
}

/// Rolls back the transaction open on `conn` and gives it back to the
/// pool; a connection that cannot roll back is closed instead.
pub(super) fn rollback(handle: &tokio::runtime::Handle, limit: Duration, conn: Arc<Object>) {
    let c = conn.clone();
    let r = run_on(handle, limit, async move {
        c.batch_execute("ROLLBACK").await.map_err(db_error)
    });
    if r.is_err()
        && let Ok(obj) = Arc::try_unwrap(conn)
    {
        let _ = Object::take(obj);
    }
}

impl BlobSink for PgSink {
    fn write(&mut self, sealed: &[u8]) -> Result<()> {
        let mut sealed = sealed;
        while !sealed.is_empty() {
            let take = (SPILL - self.buf.len()).min(sealed.len());
            if self.buf.capacity() == 0 {
                self.buf.reserve_exact(SPILL);
            }
            self.buf.extend_from_slice(&sealed[..take]);
            sealed = &sealed[take..];
            if self.buf.len() == SPILL && !sealed.is_empty() {
                self.spill()?;
            }
        }
        Ok(())
    }

    /// Outside a PostgreSQL transaction (which adopts the sink instead):
    /// the bytes, read back if they went to the database.
    fn finish(self: Box<Self>) -> Result<Option<Vec<u8>>> {
        let (handle, limit) = (self.handle.clone(), self.limit);
        match (*self).sunk()? {
            Sunk::Memory(bytes) => Ok(Some(bytes)),
            Sunk::LargeObject { conn, oid } => read_back(&handle, limit, conn, oid).map(Some),
        }
    }

    fn into_any(self: Box<Self>) -> Option<Box<dyn std::any::Any + Send>> {
        Some(self)
    }

    fn may_finish_early(&self) -> bool {
        false
    }
}

impl Drop for PgSink {
    fn drop(&mut self) {
        // Abandoned after spilling: the large object goes with the
        // transaction.
        if let Some(conn) = self.conn.take() {
            rollback(&self.handle, self.limit, conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Postgres;
    use super::*;
    use crate::backend::{Backend, Read, Writes};
    use crate::blob::BlobId;
    use crate::{AccountId, Result};

    /// Large objects in the database, as another session sees them.
    fn large_objects(pg: &Postgres) -> i64 {
        let pool = pg.pool.clone();
        run_on(&pg.handle, pg.limit, async move {
            let c = pool.get().await.map_err(pool_error)?;
            let n: i64 = c
                .query_one("SELECT count(*) FROM pg_largeobject_metadata", &[])
                .await
                .map_err(db_error)?
                .get(0);
            Ok(n)
        })
        .unwrap()
    }

    fn sink_with(pg: &Postgres, account: AccountId, id: BlobId, data: &[u8]) -> Box<dyn BlobSink> {
        let mut sink = pg.blob_sink(account, id).unwrap();
        // Uneven pieces, as the sealer hands them over.
        for piece in data.chunks(65_552) {
            sink.write(piece).unwrap();
        }
        sink
    }

    #[test]
    fn a_streamed_blob_goes_through_a_large_object_that_nothing_leaves_behind() -> Result<()> {
        let pg = Postgres::connect(&crate::testing::fresh_database())?;
        let a = AccountId(7);
        let data: Vec<u8> = (0..3 * SPILL + 123).map(|i| (i % 251) as u8).collect();

        // Committed: the row holds the bytes, the large object is gone.
        let id = BlobId::random();
        let sink = sink_with(&pg, a, id, &data);
        assert_eq!(large_objects(&pg), 0, "nothing visible before commit");
        let mut tx = pg.begin()?;
        tx.put_blob_sink(a, id, sink)?;
        tx.commit(Writes::default())?;
        assert_eq!(pg.read_blob(a, id)?.as_deref(), Some(&data[..]));
        assert_eq!(large_objects(&pg), 0, "unlinked in the commit");

        // A sink dropped unused, and a transaction dropped after taking
        // one over: nothing stored, no large object left.
        drop(sink_with(&pg, a, BlobId::random(), &data));
        let mut tx = pg.begin()?;
        tx.put_blob_sink(
            a,
            BlobId::random(),
            sink_with(&pg, a, BlobId::random(), &data),
        )?;
        drop(tx);
        assert_eq!(pg.count_blobs(a)?, 1);
        assert_eq!(large_objects(&pg), 0);

        // A transaction that talked to the database first reads the
        // object back (the fallback), still correct.
        let id = BlobId::random();
        let sink = sink_with(&pg, a, id, &data);
        let mut tx = pg.begin()?;
        tx.read(vec![Read::Get {
            key: b"\x00nothing".to_vec(),
            lock: false,
        }])?;
        tx.put_blob_sink(a, id, sink)?;
        tx.commit(Writes::default())?;
        assert_eq!(pg.read_blob(a, id)?.as_deref(), Some(&data[..]));
        assert_eq!(large_objects(&pg), 0);

        // A small blob stays in memory: no round trip before the commit.
        let id = BlobId::random();
        let before = pg.round_trips();
        let sink = sink_with(&pg, a, id, &data[..SPILL]);
        assert_eq!(pg.round_trips(), before);
        let mut tx = pg.begin()?;
        tx.put_blob_sink(a, id, sink)?;
        tx.commit(Writes::default())?;
        assert_eq!(pg.read_blob(a, id)?.as_deref(), Some(&data[..SPILL]));
        assert_eq!(pg.count_blobs(a)?, 3);
        Ok(())
    }
}
