//! `sealpost store ...`: the store's backend as the config chooses it, the
//! PostgreSQL schema (`migrate-schema`), moving an embedded store into
//! PostgreSQL (`copy --to`), and the nodes of a cluster (`nodes`,
//! `forget-node`: see `sealpost_retention::erasures`).

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
    /// The nodes known to the store (each node's id is in its
    /// data_dir/node-id) and the audit erasures some node still owes.
    Nodes,
    /// Forget a node retired for good, so that purges' audit erasures stop
    /// waiting for it.
    ForgetNode {
        /// Its id (`node-` and 12 hex digits).
        node: String,
    },
}

/// The known nodes, when each last started, and the audit erasures some
/// node has not applied yet.
pub fn nodes(store: &sealpost_store::Store) -> Result<String, Failure> {
    let mut out = String::new();
    for (node, at) in store.known_nodes().map_err(Failure::runtime)? {
        let when = chrono::DateTime::from_timestamp(at, 0)
            .map(|d| d.to_rfc3339())
            .unwrap_or_default();
        out += &format!("{node}  last started {when}\n");
    }
    if out.is_empty() {
        out += "no node has started over this store yet\n";
    }
    for s in store.incomplete_erasures().map_err(Failure::runtime)? {
        out += &sealpost_retention::erasures::describe_pending(&s);
        out += "\n";
    }
    Ok(out.trim_end().to_string())
}

/// Forgets a retired node (its audit log is gone with it, or was erased
/// by hand): erasures no longer wait for it.
pub fn forget_node(store: &sealpost_store::Store, node: &str) -> Result<String, Failure> {
    if !sealpost_store::valid_node_id(node) {
        return Err(Failure::config(format!(
            "{node:?} is not a node id (node- and 12 hex digits: see `sealpost store nodes`)"
        )));
    }
    if store.forget_node(node).map_err(Failure::runtime)? {
        Ok(format!(
            "forgot {node}: audit erasures no longer wait for it (it registers again if it starts)"
        ))
    } else {
        Err(Failure::config(format!(
            "{node} is not a known node (see `sealpost store nodes`)"
        )))
    }
}

/// `nodes` or `forget-node` through the running server, else on the store.
fn node_command(
    config: &sealpost_config::Config,
    req: crate::admin::Request,
) -> Result<(), Failure> {
    let message = match crate::compliance::via_server(config, &req, &mut |_, _| {})? {
        Some(m) => m,
        None => {
            let what = match req {
                crate::admin::Request::ForgetNode { .. } => "store forget-node",
                _ => "store nodes",
            };
            crate::startup::require_store(config, what)?;
            let store = crate::startup::open_store(config)?;
            match req {
                crate::admin::Request::ForgetNode { node } => forget_node(&store, &node)?,
                _ => nodes(&store)?,
            }
        }
    };
    println!("{message}");
    Ok(())
}

/// Runs a `store` subcommand.
pub fn run(path: &Path, command: StoreCommand) -> Result<(), Failure> {
    let config = load_config(path)?;
    match command {
        StoreCommand::Nodes => node_command(&config, crate::admin::Request::StoreNodes),
        StoreCommand::ForgetNode { node } => {
            node_command(&config, crate::admin::Request::ForgetNode { node })
        }
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
            // Before the target is reached: a copy of no store is a
            // mistake (the data disk not mounted), never an empty store.
            crate::startup::require_store(&config, "store copy")?;
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
