//! `sealpost store ...`: the store's backend as the config chooses it, the
//! PostgreSQL schema (`migrate-schema`), and moving an embedded store into
//! PostgreSQL (`copy --to`).

use crate::startup::{Failure, load_config, pg_options};
use sealpost_config::StoreBackend;
use sealpost_store::{CopyProgress, SCHEMA_VERSION};
use std::path::{Path, PathBuf};

/// `sealpost store ...`.
#[derive(clap::Subcommand)]
pub enum StoreCommand {
    /// Create or upgrade the PostgreSQL schema (never done at start).
    MigrateSchema {
        /// The database (libpq URL); default: `[store] url`.
        #[arg(long)]
        url: Option<String>,
    },
    /// Copy this node's embedded store into a PostgreSQL database whose
    /// schema is migrated (stop `serve` first). Resumable: run it again after
    /// an interruption. Every mailbox is verified (count and SHA-256).
    Copy {
        /// The target database (libpq URL).
        #[arg(long)]
        to: String,
        /// CA file for TLS to the target; default: `[store] ca_file`.
        #[arg(long)]
        ca_file: Option<PathBuf>,
    },
}

/// Runs a `store` subcommand.
pub fn run(path: &Path, command: StoreCommand) -> Result<(), Failure> {
    let config = load_config(path)?;
    match command {
        StoreCommand::MigrateSchema { url } => {
            let url = url.or_else(|| config.store.url.clone()).ok_or_else(|| {
                Failure::config(format!(
                    "{}: no database: give --url or set [store] url",
                    config.path.display()
                ))
            })?;
            let opts = pg_options(&config, url, None);
            let (before, after) =
                sealpost_store::migrate_schema(&opts).map_err(Failure::runtime)?;
            if before == after {
                println!("store schema: already at version {after}");
            } else {
                println!("store schema: migrated from version {before} to {after}");
            }
            Ok(())
        }
        StoreCommand::Copy { to, ca_file } => {
            if config.store.backend == StoreBackend::Postgresql {
                return Err(Failure::config(format!(
                    "{}: [store] backend is already postgresql; copy runs on a node whose store is embedded",
                    config.path.display()
                )));
            }
            let target = pg_options(&config, to, ca_file);
            match sealpost_store::schema_version(&target).map_err(Failure::runtime)? {
                Some(SCHEMA_VERSION) => {}
                Some(v) => {
                    return Err(Failure::runtime(format!(
                        "the target database's schema is version {v}, this sealpost needs {SCHEMA_VERSION}: run `sealpost store migrate-schema --url ...`"
                    )));
                }
                None => {
                    return Err(Failure::runtime(
                        "the target database has no sealpost schema: run `sealpost store migrate-schema --url ...` first",
                    ));
                }
            }
            let store = crate::startup::open_store(&config)?;
            let started = std::time::Instant::now();
            let report = store
                .copy_to_postgresql(&target, &mut |p| match p {
                    CopyProgress::Account {
                        done,
                        total,
                        id,
                        mailboxes,
                        messages,
                        bytes,
                    } => eprintln!(
                        "store copy: account {done}/{total} (id {}): {mailboxes} mailbox(es), {messages} message(s), {} verified",
                        id.0,
                        human(bytes)
                    ),
                })
                .map_err(Failure::runtime)?;
            println!(
                "store copy: {} account(s), {} mailbox(es), {} message(s), {} copied and verified (count and SHA-256 per mailbox) in {:.1} s; set [store] backend = \"postgresql\" to serve from it",
                report.accounts,
                report.mailboxes,
                report.messages,
                human(report.bytes),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}
