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
//! Migrations run only from `sealpost store migrate-schema`, in one
//! transaction under an advisory lock (two operators running it at once
//! wait for each other), never when a node starts: a node that finds no
//! schema or another version refuses to start with one line saying what to
//! run.

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: i32 = 1;

/// Key of the advisory lock taken while migrating (`'sealpost'` in ASCII).
pub(crate) const MIGRATION_LOCK: i64 = 0x7365_616c_706f_7374;

/// The statements that bring a database from version `n - 1` to `n`.
pub(crate) const MIGRATIONS: &[(i32, &str)] = &[(
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
)];

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

// Wrapped account keys.
pub(crate) const GET_KEY: &str = "SELECT wrapped FROM sealpost_account_key WHERE account = $1";
pub(crate) const PUT_KEY: &str = "INSERT INTO sealpost_account_key (account, wrapped)
     VALUES ($1, $2) ON CONFLICT (account) DO UPDATE SET wrapped = EXCLUDED.wrapped";
pub(crate) const DELETE_KEY: &str = "DELETE FROM sealpost_account_key WHERE account = $1";

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
