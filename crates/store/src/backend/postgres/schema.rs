//! The PostgreSQL schema, its versions and its migrations.
//!
//! Version 1 holds the store's key space as it is, so the versioned key
//! encoding of `codec.rs` carries over byte for byte:
//!
//! - `sealpost_kv (k bytea PRIMARY KEY, v bytea)`: every metadata row. `bytea`
//!   compares bytewise, so key ranges scan in the same order as in sled.
//! - `sealpost_blob (account, id, data)`: sealed message bodies, in the
//!   database so that any node serves any account. Stored `EXTERNAL`
//!   (out of line, uncompressed: sealed bytes do not compress).
//! - `sealpost_account_key (account, wrapped)`: wrapped account data keys
//!   (a row per account, deleted and vacuumed at purge).
//! - `sealpost_schema (version, applied_at)`: one row per applied version.
//!
//! Version 2 adds what makes claims hold across nodes (`claims.rs`):
//!
//! - `sealpost_lease (name, node, token, expires)`: named leases (a POP3
//!   maildrop, the retention run). A row whose `expires` has passed is free.
//! - `sealpost_queue (id, due, node, expires, data)`: the shared outbound
//!   queue, one sealed entry (envelope, retry state and message, sealed
//!   with the system key exactly like a spool file) per row; `due` is when
//!   it next needs work, `node`/`expires` the lease of the node working it.
//!
//! Migrations run only from `sealpost store migrate-schema`, in one
//! transaction under an advisory lock (two operators running it at once
//! wait for each other), never when a node starts: a node that finds no
//! schema or another version refuses to start with one line saying what to
//! run.

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: i32 = 2;

/// Key of the advisory lock taken while migrating (`'sealpost'` in ASCII).
pub(crate) const MIGRATION_LOCK: i64 = 0x7365_616c_706f_7374;

/// The statements that bring a database from version `n - 1` to `n`.
pub(crate) const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "CREATE TABLE sealpost_schema (
         version integer PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
     );
     CREATE TABLE sealpost_kv (
         k bytea PRIMARY KEY,
         v bytea NOT NULL
     );
     CREATE TABLE sealpost_blob (
         account bigint NOT NULL,
         id bytea NOT NULL,
         data bytea NOT NULL,
         PRIMARY KEY (account, id)
     );
     ALTER TABLE sealpost_blob ALTER COLUMN data SET STORAGE EXTERNAL;
     CREATE TABLE sealpost_account_key (
         account bigint PRIMARY KEY,
         wrapped bytea NOT NULL
     );",
    ),
    (
        2,
        "CREATE TABLE sealpost_lease (
             name bytea PRIMARY KEY,
             node text NOT NULL,
             token bigint NOT NULL,
             expires timestamptz NOT NULL
         );
         CREATE INDEX sealpost_lease_node ON sealpost_lease (node);
         CREATE TABLE sealpost_queue (
             id text PRIMARY KEY,
             due bigint NOT NULL,
             node text,
             expires timestamptz,
             data bytea NOT NULL
         );
         ALTER TABLE sealpost_queue ALTER COLUMN data SET STORAGE EXTERNAL;
         CREATE INDEX sealpost_queue_due ON sealpost_queue (due);
         CREATE INDEX sealpost_queue_node ON sealpost_queue (node);",
    ),
];

/// Reads the applied version: `None` when the database has no sealpost
/// schema at all.
pub(crate) const READ_VERSION: &str = "SELECT max(version) FROM sealpost_schema";

/// Whether the version table exists.
pub(crate) const HAS_SCHEMA: &str = "SELECT to_regclass('sealpost_schema') IS NOT NULL";

// Metadata.
pub(crate) const GET: &str = "SELECT v FROM sealpost_kv WHERE k = $1";
pub(crate) const GET_LOCKED: &str = "SELECT v FROM sealpost_kv WHERE k = $1 FOR UPDATE";
pub(crate) const GET_MANY: &str = "SELECT k, v FROM sealpost_kv WHERE k = ANY($1)";
pub(crate) const SCAN: &str = "SELECT k, v FROM sealpost_kv WHERE k >= $1 AND k < $2 ORDER BY k";
pub(crate) const PUT_MANY: &str = "INSERT INTO sealpost_kv (k, v)
     SELECT * FROM unnest($1::bytea[], $2::bytea[])
     ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v";
/// Fails with a unique violation if a key exists (`Writes::creates`).
pub(crate) const CREATE_MANY: &str =
    "INSERT INTO sealpost_kv (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[])";
pub(crate) const DELETE_MANY: &str = "DELETE FROM sealpost_kv WHERE k = ANY($1)";
pub(crate) const DELETE_RANGE: &str = "DELETE FROM sealpost_kv WHERE k >= $1 AND k < $2";
/// A store-wide counter: big-endian u64 like the embedded store's, bumped
/// and read in one statement (the row lock of ON CONFLICT serializes nodes).
pub(crate) const NEXT_COUNTER: &str = "INSERT INTO sealpost_kv (k, v) VALUES ($1, int8send($2))
     ON CONFLICT (k) DO UPDATE SET v = int8send(GREATEST(
         ('x' || encode(sealpost_kv.v, 'hex'))::bit(64)::bigint + 1, $2))
     RETURNING v";

// Blobs.
/// Blob ids are random 128-bit values: an existing one is this very blob
/// (a copy resumed), so inserting again is a no-op.
pub(crate) const PUT_BLOB: &str =
    "INSERT INTO sealpost_blob (account, id, data) VALUES ($1, $2, $3)
     ON CONFLICT (account, id) DO NOTHING";
pub(crate) const COPY_BLOB: &str = "INSERT INTO sealpost_blob (account, id, data)
     SELECT account, $3, data FROM sealpost_blob WHERE account = $1 AND id = $2";
pub(crate) const GET_BLOB: &str = "SELECT data FROM sealpost_blob WHERE account = $1 AND id = $2";
pub(crate) const DELETE_BLOBS: &str =
    "DELETE FROM sealpost_blob WHERE account = $1 AND id = ANY($2)";
pub(crate) const PURGE_BLOBS: &str = "DELETE FROM sealpost_blob WHERE account = $1";

// A blob streamed in pieces (`sink.rs`): a large object inside the
// transaction that then stores it (no schema change: large objects are
// the database's own, and transactional).
/// Creates the object with its first piece; returns its oid.
pub(crate) const LO_CREATE: &str = "SELECT lo_from_bytea(0, $1)";
/// Writes a piece at an offset.
pub(crate) const LO_PUT: &str = "SELECT lo_put($1, $2, $3)";
/// The whole object (the fallback only).
pub(crate) const LO_GET: &str = "SELECT lo_get($1)";
/// Copies the object into the blob's row, then unlinks it, in one
/// statement: the aggregate reads every row the insert returns before
/// `lo_unlink` runs, so the object is read before it goes.
pub(crate) const PUT_BLOB_FROM_LO: &str = "WITH put AS (
         INSERT INTO sealpost_blob (account, id, data) SELECT $1, $2, lo_get($3)
         ON CONFLICT (account, id) DO NOTHING RETURNING 1)
     SELECT lo_unlink($3) FROM (SELECT count(*) FROM put) AS done";

// Wrapped account keys.
pub(crate) const GET_KEY: &str = "SELECT wrapped FROM sealpost_account_key WHERE account = $1";
pub(crate) const PUT_KEY: &str = "INSERT INTO sealpost_account_key (account, wrapped)
     VALUES ($1, $2) ON CONFLICT (account) DO UPDATE SET wrapped = EXCLUDED.wrapped";
pub(crate) const DELETE_KEY: &str = "DELETE FROM sealpost_account_key WHERE account = $1";

// Leases (`claims.rs`). `$n` seconds are float8 for make_interval.
/// Takes a free or run-out lease; returns a row only when taken.
pub(crate) const TAKE_LEASE: &str = "INSERT INTO sealpost_lease (name, node, token, expires)
     VALUES ($1, $2, $3, now() + make_interval(secs => $4))
     ON CONFLICT (name) DO UPDATE
         SET node = EXCLUDED.node, token = EXCLUDED.token, expires = EXCLUDED.expires
         WHERE sealpost_lease.expires < now()
     RETURNING token";
pub(crate) const RELEASE_LEASE: &str = "DELETE FROM sealpost_lease WHERE name = $1 AND token = $2";
pub(crate) const LEASE_HELD: &str =
    "SELECT 1 FROM sealpost_lease WHERE name = $1 AND token = $2 AND expires > now()";
/// The heartbeat: every lease and queue claim of one node, renewed.
pub(crate) const RENEW_LEASES: &str =
    "UPDATE sealpost_lease SET expires = now() + make_interval(secs => $2) WHERE node = $1";
pub(crate) const RENEW_QUEUE: &str =
    "UPDATE sealpost_queue SET expires = now() + make_interval(secs => $2) WHERE node = $1";

// The shared queue (`claims.rs`).
pub(crate) const QUEUE_INSERT: &str =
    "INSERT INTO sealpost_queue (id, due, data) VALUES ($1, $2, $3)";
pub(crate) const QUEUE_UPDATE: &str = "UPDATE sealpost_queue SET due = $2, data = $3 WHERE id = $1";
pub(crate) const QUEUE_GET: &str = "SELECT data FROM sealpost_queue WHERE id = $1";
pub(crate) const QUEUE_DELETE: &str = "DELETE FROM sealpost_queue WHERE id = $1";
pub(crate) const QUEUE_IDS: &str = "SELECT id FROM sealpost_queue ORDER BY id";
/// Exactly one node gets each entry: rows another claimer has locked are
/// skipped, not waited for, and a row stays claimed (by its lease) after
/// this statement's transaction ends, until released or run out.
pub(crate) const QUEUE_CLAIM: &str = "UPDATE sealpost_queue q
     SET node = $1, expires = now() + make_interval(secs => $2)
     FROM (SELECT id FROM sealpost_queue
           WHERE due <= $3 AND (expires IS NULL OR expires < now())
           ORDER BY due LIMIT $4
           FOR UPDATE SKIP LOCKED) c
     WHERE q.id = c.id
     RETURNING q.id";
pub(crate) const QUEUE_RELEASE: &str =
    "UPDATE sealpost_queue SET node = NULL, expires = NULL WHERE id = $1 AND node = $2";
/// Entries held by a live node count from when their lease runs out.
pub(crate) const QUEUE_NEXT_DUE: &str = "SELECT min(CASE
         WHEN expires IS NULL OR expires < now() THEN due
         ELSE greatest(due, ceil(extract(epoch FROM expires))::bigint) END)
     FROM sealpost_queue";

/// Every statement a pooled connection prepares when it is made, so that
/// no store call pays a round trip to prepare one.
pub(crate) const PREPARED: &[&str] = &[
    GET,
    GET_LOCKED,
    GET_MANY,
    SCAN,
    PUT_MANY,
    CREATE_MANY,
    DELETE_MANY,
    DELETE_RANGE,
    NEXT_COUNTER,
    PUT_BLOB,
    COPY_BLOB,
    GET_BLOB,
    DELETE_BLOBS,
];
