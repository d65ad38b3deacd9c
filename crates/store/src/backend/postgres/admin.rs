//! One-off connections outside the pool: the schema version, migrations
//! (`sealpost store migrate-schema`) and creating a database (tests, tools).

use super::conn::{PgOptions, connect_once, db_error, pg_config, run_on, runtime};
use super::schema::{self, SCHEMA_VERSION};
use crate::{Result, StoreError};

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

pub(super) async fn read_version(
    client: &impl tokio_postgres::GenericClient,
) -> Result<Option<i32>> {
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

/// `url` naming database `name` instead (libpq: a later `dbname` wins).
fn with_database(url: &str, name: &str) -> String {
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
