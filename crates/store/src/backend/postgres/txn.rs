//! Transactions on one pooled connection: reads and writes pipelined so
//! that a store call costs one round trip.

use super::conn::{db_error, pool_error, run_on};
use super::sink::{PgSink, Sunk, read_back};
use super::{Fetched, Postgres, Read, Txn, schema};
use crate::backend::{BlobSink, Writes};
use crate::blob::BlobId;
use crate::{AccountId, Result};
use deadpool_postgres::Object;
use std::sync::Arc;

/// Runs reads on a connection: locking reads first, one by one, in order;
/// then the unlocked gets in one statement and the scans, pipelined. All in
/// one round trip (pipelined with whatever the caller sends before).
pub(super) async fn run_reads(
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
pub(super) enum Pending {
    PutBlob(i64, Vec<u8>, Vec<u8>),
    /// A blob from the large object (oid) of an adopted sink (`sink.rs`).
    PutBlobFromLo(i64, Vec<u8>, u32),
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
    let from_lo = client
        .prepare_cached(schema::PUT_BLOB_FROM_LO)
        .await
        .map_err(db_error)?;
    let (put, copy, del, from_lo) = (&put, &copy, &del, &from_lo);
    try_join_all(pending.iter().map(|p| async move {
        match p {
            Pending::PutBlob(a, id, data) => client.execute(put, &[a, id, data]).await,
            Pending::PutBlobFromLo(a, id, oid) => client.execute(from_lo, &[a, id, oid]).await,
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
pub(super) struct PgTxn<'a> {
    pub(super) pg: &'a Postgres,
    pub(super) client: Option<Arc<Object>>,
    pub(super) begun: bool,
    pub(super) pending: Vec<Pending>,
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

    /// Our own sink, once it went to the database, is taken over: this
    /// transaction continues the one that holds its large object, on the
    /// same connection (`sink.rs`).
    fn put_blob_sink(
        &mut self,
        account: AccountId,
        id: BlobId,
        sink: Box<dyn BlobSink>,
    ) -> Result<()> {
        let sink = match sink.into_any().map(|any| any.downcast::<PgSink>()) {
            Some(Ok(pg)) => *pg,
            _ => return Err(crate::StoreError::Io("blob sink of another backend".into())),
        };
        match sink.sunk()? {
            Sunk::Memory(sealed) => self.put_blob(account, id, &sealed),
            Sunk::LargeObject { conn, oid } if self.client.is_none() && !self.begun => {
                self.client = Some(conn);
                self.begun = true;
                self.pending
                    .push(Pending::PutBlobFromLo(account.0 as i64, id.0.to_vec(), oid));
                Ok(())
            }
            Sunk::LargeObject { conn, oid } => {
                let sealed = read_back(&self.pg.handle, self.pg.limit, conn, oid)?;
                self.put_blob(account, id, &sealed)
            }
        }
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
