//! `sealpost retention run`, `sealpost export`, `sealpost compliance
//! report|dpia`: the operator's side of the GDPR promises. Each runs inside
//! the server (through the admin socket) when it is up, else on the store
//! directly. The register and the DPIA describe the configuration the
//! server runs with (see `running`), name every setting in which the file
//! differs from it, and say when it was loaded.

use crate::admin::{self, Request};
use crate::services::Services;
use crate::startup::{Failure, load_config};
use sealpost_audit::{AuditLog, Event};
use sealpost_config::Config;
use sealpost_retention::{Retention, export, report};
use sealpost_store::Store;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One retention pass as if at `at`, with the running configuration.
pub fn retention_run(services: &Services, at: i64) -> Result<String, Failure> {
    run_retention(
        &services.running.current(),
        &services.store,
        &services.audit,
        services.queue.clone(),
        at,
    )
}

/// The SMTP crate's outbound queue as the purge sees it.
struct PurgeQueue(sealpost_smtp::Queue);

/// Whether an envelope sender is one of `addresses` (lower case), also
/// with a `+tag` sub-address.
fn sent_by(sender: &str, addresses: &[String]) -> bool {
    let sender = sender.to_ascii_lowercase();
    if addresses.contains(&sender) {
        return true;
    }
    match sender.rsplit_once('@') {
        Some((local, domain)) => match local.split_once('+') {
            Some((base, _)) => addresses.contains(&format!("{base}@{domain}")),
            None => false,
        },
        None => false,
    }
}

impl sealpost_retention::OutboundQueue for PurgeQueue {
    fn queued_by(&self, addresses: &[String]) -> Result<Vec<String>, String> {
        Ok(self
            .0
            .list()
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|e| sent_by(&e.sender, addresses))
            .map(|e| e.id)
            .collect())
    }

    fn remove(&self, ids: &[String]) -> Result<(), String> {
        for id in ids {
            self.0.remove(id).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

pub fn run_retention(
    config: &Arc<Config>,
    store: &Store,
    audit: &AuditLog,
    queue: Option<sealpost_smtp::Queue>,
    at: i64,
) -> Result<String, Failure> {
    let mut worker = Retention::new(config.clone(), store.clone(), audit.clone());
    if let Some(q) = queue {
        worker = worker.with_queue(Arc::new(PurgeQueue(q)));
    }
    let r = worker.run_once(at).map_err(Failure::runtime)?;
    let elsewhere = if r.store_steps_elsewhere {
        "; another node holds the store's retention run (purges and Trash/Junk expunge ran there)"
    } else {
        ""
    };
    let mut erasure = String::new();
    if r.erased_for_other_nodes > 0 {
        erasure += &format!(
            "; erased {} audit record(s) for purges run on other nodes",
            r.erased_for_other_nodes
        );
    }
    if r.erasures_requested > 0 && r.erasures_incomplete.is_empty() {
        erasure += "; audit erasure applied on every known node";
    }
    for s in &r.erasures_incomplete {
        erasure += "; ";
        erasure += &sealpost_retention::erasures::describe_pending(s);
    }
    Ok(format!(
        "purged {} account(s) ({} messages, {} bytes, {} queued; personal fields of {} audit record(s) erased); expunged {} message(s) from Trash/Junk; anonymized {} audit record(s); deleted {} audit segment(s){}",
        r.purged.len(),
        r.purged_messages,
        r.purged_bytes,
        r.purged_queued,
        r.erased_audit_records,
        r.expunged_messages,
        r.anonymized_records,
        r.deleted_segments,
        r.audit_at_real_time
            .map(|t| format!(
                "; audit retention ran at the real time ({}), not at --at: audit records are never anonymized or deleted early",
                chrono::DateTime::from_timestamp(t, 0).map(|d| d.to_rfc3339()).unwrap_or_default()
            ))
            .unwrap_or_default(),
    ) + elsewhere
        + &erasure)
}

/// Writes the export archive of `address` to `out`.
pub fn export(
    services: &Services,
    address: &str,
    out: &Path,
    maildir: bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<String, Failure> {
    run_export(
        &services.config,
        &services.store,
        &services.audit,
        address,
        out,
        maildir,
        progress,
    )
}

fn run_export(
    config: &Config,
    store: &Store,
    audit: &AuditLog,
    address: &str,
    out: &Path,
    maildir: bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<String, Failure> {
    let address = address.trim().to_ascii_lowercase();
    if store
        .account_id(&address)
        .map_err(Failure::runtime)?
        .is_none()
    {
        return Err(Failure::runtime(format!(
            "no account {address} with mail in the store"
        )));
    }
    let access_log = access_log_csv(config, audit, &address);
    let format = if maildir {
        export::Format::Maildir
    } else {
        export::Format::Mbox
    };
    // Streamed to a temporary name beside the target, 0600 (it holds
    // decrypted mail), fsynced and renamed when complete: never a half
    // archive under the operator's name.
    let report = sealpost_durable::write_with(out, |file| {
        export::export_account(
            store,
            &address,
            format,
            &access_log,
            std::io::BufWriter::new(file),
            progress,
        )
        .map_err(Failure::runtime)
    })?;
    audit
        .record_durable(Event::DataExported {
            account: address.clone(),
            format: if maildir {
                "maildir".into()
            } else {
                "mbox".into()
            },
        })
        .map_err(Failure::runtime)?;
    Ok(format!(
        "exported {} message(s) in {} mailbox(es) of {address} to {}",
        report.messages,
        report.mailboxes,
        out.display()
    ))
}

/// The account's own logins as CSV, from the audit log.
fn access_log_csv(config: &Config, audit: &AuditLog, address: &str) -> Vec<u8> {
    audit.flush();
    match crate::startup::audit_access_log(config, address) {
        Ok(csv) => csv,
        Err(e) => {
            tracing::warn!(error = %e, "access log not included in the export");
            Vec::new()
        }
    }
}

/// What sealpost-net's acceptor allows (`with_protocol_versions` in
/// `crates/net/src/tls.rs`; the foundation tests check that TLS 1.1 is
/// refused). Not configurable.
const TLS_VERSIONS: [&str; 2] = ["TLS 1.2", "TLS 1.3"];

/// The settings in which `file` differs from the running configuration,
/// one line each.
fn differences(running: &Config, file: Option<&Path>) -> Vec<String> {
    let path = file.unwrap_or(&running.path);
    match sealpost_config::Config::load(path) {
        Ok(file) => crate::running::differences(running, &file)
            .into_iter()
            .map(|d| {
                format!(
                    "`{}`: runs with {}, the file says {} ({})",
                    d.key,
                    short(&d.running),
                    short(&d.file),
                    if d.reloadable {
                        "applied at the next reload: SIGHUP"
                    } else {
                        "applied at a restart"
                    }
                )
            })
            .collect(),
        Err(e) => vec![format!("the file does not load: {e}")],
    }
}

/// A value for one line of a list.
fn short(v: &str) -> String {
    let one = v.replace('\n', " ");
    if one.chars().count() > 120 {
        format!("`{}…`", one.chars().take(120).collect::<String>())
    } else {
        format!("`{one}`")
    }
}

/// The register of processing, from the running configuration, compared
/// with the config file at `file` (the CLI's; else the server's own).
pub fn report(services: &Services, file: Option<&Path>) -> Result<String, Failure> {
    let running = services.running.current();
    let diff = differences(&running, file);
    make_report(
        &running,
        &services.store,
        services.directory.accounts().len(),
        report::ConfigSource::Running {
            loaded_at: services.running.loaded_at(),
            differences: &diff,
        },
    )
}

fn make_report(
    config: &Config,
    store: &Store,
    configured: usize,
    source: report::ConfigSource<'_>,
) -> Result<String, Failure> {
    let key = crate::startup::audit_public_key(config);
    report::compliance_report(
        config,
        store,
        &report::ReportInputs {
            audit_public_key: key.as_deref(),
            configured_accounts: configured,
            tls_versions: &TLS_VERSIONS,
            source,
        },
        chrono::Utc::now().timestamp(),
    )
    .map_err(Failure::runtime)
}

/// The DPIA, from the running configuration.
pub fn dpia(services: &Services, file: Option<&Path>) -> Result<String, Failure> {
    let running = services.running.current();
    let diff = differences(&running, file);
    Ok(make_dpia(
        &running,
        services.directory.accounts().len(),
        report::ConfigSource::Running {
            loaded_at: services.running.loaded_at(),
            differences: &diff,
        },
    ))
}

fn make_dpia(config: &Config, accounts: usize, source: report::ConfigSource<'_>) -> String {
    let warnings = crate::permissions::warnings(config);
    sealpost_retention::dpia::dpia(
        config,
        &sealpost_retention::dpia::DpiaInputs {
            source,
            accounts,
            permission_warnings: &warnings,
            master_key_beside_data: crate::permissions::same_device(
                &config.server.master_key,
                &config.server.data_dir,
            ),
            tls_versions: &TLS_VERSIONS,
        },
        chrono::Utc::now().timestamp(),
    )
}

/// Opens store and audit log when no server runs.
fn offline(config: &Config, what: &str) -> Result<(Store, AuditLog), Failure> {
    crate::startup::require_store(config, what)?;
    let store = crate::startup::open_store(config)?;
    let audit = crate::startup::open_audit(config)?;
    Ok((store, audit))
}

/// Sends `req` to the running server; `None` when none runs.
pub fn via_server(
    config: &Config,
    req: &Request,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Option<String>, Failure> {
    match admin::request_progress(&config.admin_socket(), req, progress)
        .map_err(Failure::runtime)?
    {
        Some(r) if r.ok => Ok(Some(r.message)),
        Some(r) => Err(Failure::runtime(r.message)),
        None => Ok(None),
    }
}

pub fn cli_retention_run(path: &Path, at: Option<String>) -> Result<(), Failure> {
    let config = Arc::new(load_config(path)?);
    let at = match at {
        Some(t) => chrono::DateTime::parse_from_rfc3339(&t)
            .map_err(|e| Failure::config(format!("--at {t}: not an RFC 3339 time ({e})")))?
            .timestamp(),
        None => chrono::Utc::now().timestamp(),
    };
    let message = match via_server(&config, &Request::RetentionRun { at }, &mut |_, _| {})? {
        Some(m) => m,
        None => {
            let (store, audit) = offline(&config, "retention run")?;
            let directory = crate::startup::load_directory(&config)?;
            let queue = sealpost_smtp::Queue::open(
                config.clone(),
                store.clone(),
                directory,
                AuditLog::disabled(),
            )
            .map_err(|e| Failure::runtime(format!("outbound queue: {e}")))?;
            let m = run_retention(&config, &store, &audit, Some(queue), at)?;
            audit.flush();
            m
        }
    };
    println!("{message}");
    Ok(())
}

pub fn cli_export(
    path: &Path,
    address: String,
    out: PathBuf,
    maildir: bool,
) -> Result<(), Failure> {
    let config = load_config(path)?;
    let out = std::path::absolute(&out).map_err(Failure::runtime)?;
    let tty = std::io::stderr().is_terminal();
    let mut progress = move |done: u64, total: u64| {
        if tty {
            let width = 30u64;
            let filled = (done * width).checked_div(total).unwrap_or(width);
            eprint!(
                "\r[{}{}] {done}/{total} messages",
                "#".repeat(filled as usize),
                " ".repeat((width - filled) as usize)
            );
            if done == total {
                eprintln!();
            }
        }
    };
    let req = Request::Export {
        address: address.clone(),
        out: out.clone(),
        maildir,
    };
    let message = match via_server(&config, &req, &mut progress)? {
        Some(m) => {
            crate::startup::seen_here("export", &out, &out)?;
            m
        }
        None => {
            let (store, audit) = offline(&config, "export")?;
            let m = run_export(
                &config,
                &store,
                &audit,
                &address,
                &out,
                maildir,
                &mut progress,
            )?;
            audit.flush();
            m
        }
    };
    println!("{message}");
    Ok(())
}

pub fn cli_report(path: &Path) -> Result<(), Failure> {
    let config = load_config(path)?;
    let req = Request::ComplianceReport {
        file: Some(config.path.clone()),
    };
    let md = match via_server(&config, &req, &mut |_, _| {})? {
        Some(m) => m,
        None => {
            crate::startup::require_store(&config, "compliance report")?;
            let directory = crate::startup::load_directory(&config)?;
            let store = crate::startup::open_store(&config)?;
            make_report(
                &config,
                &store,
                directory.accounts().len(),
                report::ConfigSource::File,
            )?
        }
    };
    print!("{md}");
    Ok(())
}

pub fn cli_dpia(path: &Path) -> Result<(), Failure> {
    let config = load_config(path)?;
    let req = Request::Dpia {
        file: Some(config.path.clone()),
    };
    let md = match via_server(&config, &req, &mut |_, _| {})? {
        Some(m) => m,
        None => {
            let directory = crate::startup::load_directory(&config)?;
            make_dpia(
                &config,
                directory.accounts().len(),
                report::ConfigSource::File,
            )
        }
    };
    print!("{md}");
    Ok(())
}
