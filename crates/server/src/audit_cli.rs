//! `sealpost audit verify|export|pubkey`: reading the sealed log. These only
//! read files, so they work while the server runs (the open segment is
//! checked as far as it was flushed). A failed verification is itself
//! recorded in the log ([`Event::AuditVerificationFailed`]). `verify`
//! prints one line per warning (unattested records: file, record range,
//! count) and always the last attested point; `--strict` fails on
//! warnings, `--witness FILE` checks the log against what the witness saw.
//! In a cluster each node keeps its own log, its segments named by the
//! node's id: `--dir DIR` (repeatable) or plain `DIR` arguments name the
//! folders to verify (each chain on its own, each folder's lines and
//! failure named by its node), or to export merged in time order.

use crate::admin::{self, Request};
use crate::startup::{Failure, load_config};
use sealpost_audit::{Event, VerifyFailure};
use sealpost_config::Config;
use std::path::{Path, PathBuf};

fn time_arg(name: &str, value: Option<String>) -> Result<Option<i64>, Failure> {
    value
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(&t)
                .map(|d| d.timestamp())
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d").map(|d| {
                        d.and_hms_opt(0, 0, 0)
                            .unwrap_or_default()
                            .and_utc()
                            .timestamp()
                    })
                })
                .map_err(|_| {
                    Failure::config(format!(
                        "{name} {t}: not an RFC 3339 time or YYYY-MM-DD date"
                    ))
                })
        })
        .transpose()
}

/// Pairs each folder with its `--pubkey`/`--witness`: given once per folder
/// in the same order, or not at all.
fn paired(
    what: &str,
    values: Vec<PathBuf>,
    folders: usize,
) -> Result<Vec<Option<PathBuf>>, Failure> {
    if values.is_empty() {
        return Ok(vec![None; folders]);
    }
    if values.len() != folders {
        return Err(Failure::config(format!(
            "{what} given {} time(s) for {folders} audit folder(s): give it once per --dir, in the same order, or not at all",
            values.len()
        )));
    }
    Ok(values.into_iter().map(Some).collect())
}

pub fn verify(
    path: &Path,
    pubkeys: Vec<PathBuf>,
    witnesses: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
    strict: bool,
) -> Result<(), Failure> {
    let config = load_config(path)?;
    let own = crate::startup::audit_dir(&config);
    if dirs.is_empty() {
        // Recording a failure opens the writer, which would make a log
        // (and data_dir) where none was.
        crate::startup::require_audit_log(&config, "audit verify")?;
    }
    let several = dirs.len() > 1;
    let folders = if dirs.is_empty() {
        vec![own.clone()]
    } else {
        dirs
    };
    let pubkeys = paired("--pubkey", pubkeys, folders.len())?;
    let witnesses = paired("--witness", witnesses, folders.len())?;
    let mut failed = Vec::new();
    for ((dir, pubkey), witness) in folders.iter().zip(pubkeys).zip(witnesses) {
        let name = folder_name(dir);
        let label = if several {
            format!("{name}: ")
        } else {
            String::new()
        };
        let is_own = *dir == own;
        if let Err(f) = verify_one(&config, dir, is_own, &label, pubkey, witness, strict) {
            if !several {
                return Err(f);
            }
            eprintln!("{label}{}", f.message);
            failed.push(name);
        }
    }
    if !failed.is_empty() {
        return Err(Failure::runtime(format!(
            "audit log verification failed for {} of {} folder(s): {}",
            failed.len(),
            folders.len(),
            failed.join(", ")
        )));
    }
    Ok(())
}

/// How a folder is named in the lines of a several-folder verify: by the
/// node id in its segment names and the folder, or the folder alone for a
/// log from before node ids (or one whose names cannot be listed).
fn folder_name(dir: &Path) -> String {
    match sealpost_audit::names::list(dir)
        .ok()
        .as_deref()
        .and_then(sealpost_audit::names::node_of)
    {
        Some(node) => format!("{node} ({})", dir.display()),
        None => dir.display().to_string(),
    }
}

/// Verifies one audit folder, printing its lines prefixed with `label`. A
/// failure is recorded in the audit log when the folder is this node's own.
fn verify_one(
    config: &Config,
    dir: &Path,
    is_own: bool,
    label: &str,
    pubkey: Option<PathBuf>,
    witness: Option<PathBuf>,
    strict: bool,
) -> Result<(), Failure> {
    let key = match &pubkey {
        Some(p) => Some(sealpost_audit::read_public_key(p).map_err(Failure::runtime)?),
        None => None,
    };
    let entries = match &witness {
        Some(w) => Some(sealpost_audit::read_witness(w).map_err(Failure::runtime)?),
        None => None,
    };
    let options = sealpost_audit::VerifyOptions {
        pubkey: key.as_ref(),
        witness: entries.as_deref(),
    };
    let report = match sealpost_audit::verify_with(dir, &options) {
        Ok(r) => r,
        Err(failure) => {
            let note = if !is_own {
                " (another node's log: not recorded here; run verify on that node to record it in its log)".to_string()
            } else {
                match record_failure(config, &failure) {
                    Ok(how) => format!(" (recorded in the audit log{how})"),
                    Err(e) => format!(" (could not be recorded in the audit log: {e})"),
                }
            };
            return Err(Failure::runtime(format!(
                "audit log verification failed: {failure}{note}"
            )));
        }
    };
    let time = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map(|d| d.to_rfc3339())
            .unwrap_or_else(|| "-".into())
    };
    println!(
        "{label}audit log verified: {} sealed segment(s), {} record(s), {} bytes, from {} to {}{}{}{}",
        report.segments,
        report.records,
        report.bytes,
        time(report.first_time_ms),
        time(report.last_time_ms),
        report
            .open_segment
            .as_ref()
            .map(|s| format!("; open segment {s} checked as far as flushed"))
            .unwrap_or_default(),
        if report.pending > 0 {
            format!(
                "; {} record(s) of the running writer awaiting their checkpoint (within a second)",
                report.pending
            )
        } else {
            String::new()
        },
        report
            .witness_lines
            .map(|n| format!("; agrees with the {n} line(s) of the witness"))
            .unwrap_or_default()
    );
    match &report.last_attested {
        Some(p) => println!(
            "{label}last attested: segment {}, record {}, head {}",
            p.segment, p.record, p.head
        ),
        None => println!(
            "{label}last attested: none (no record is covered by a seal or checkpoint yet)"
        ),
    }
    for w in &report.warnings {
        println!("{label}warning: {w}");
    }
    if pubkey.is_none() {
        println!(
            "{label}note: checked against the key stored beside the log; pass --pubkey FILE to check against a key kept elsewhere"
        );
    }
    if witness.is_none() {
        println!(
            "{label}note: without --witness FILE, removal of the newest records or segments cannot be detected"
        );
    }
    if strict && !report.warnings.is_empty() {
        return Err(Failure::runtime(format!(
            "audit log verification failed (--strict): {} warning(s), the first: {}",
            report.warnings.len(),
            report.warnings[0]
        )));
    }
    Ok(())
}

/// Records a failed verification as [`Event::AuditVerificationFailed`]:
/// through the running server's writer, or, when no server runs, by opening
/// the writer here. Either way the record is appended after the last seal,
/// continuing the chain, so it verifies once the damage is repaired.
///
/// Opening the writer seals an unsealed last segment the way a restart
/// would, cutting lines that do not link; when the failure is in that
/// segment, a copy of it is kept first (`<segment>.damaged-<unix time>`,
/// which nothing else reads) so the evidence survives.
fn record_failure(config: &Config, failure: &VerifyFailure) -> Result<String, String> {
    let event = Event::AuditVerificationFailed {
        segment: failure.file.clone(),
        record: failure.record,
        reason: format!("{:?}: {}", failure.kind, failure.detail),
    };
    match admin::request(
        &config.admin_socket(),
        &Request::Audit {
            event: event.clone(),
        },
    )? {
        Some(r) if r.ok => return Ok(" by the running server".into()),
        Some(r) => return Err(r.message),
        None => {}
    }
    let dir = crate::startup::audit_dir(config);
    let mut kept = String::new();
    if let Some(seg) = failure.file.as_deref().and_then(|f| f.strip_suffix(".seg")) {
        let seg_path = dir.join(format!("{seg}.seg"));
        if !dir.join(format!("{seg}.seal")).exists() && seg_path.exists() {
            let copy = dir.join(format!(
                "{seg}.seg.damaged-{}",
                chrono::Utc::now().timestamp()
            ));
            std::fs::copy(&seg_path, &copy)
                .map_err(|e| format!("cannot keep a copy of {}: {e}", seg_path.display()))?;
            kept = format!(
                "; the damaged open segment was copied to {}",
                copy.display()
            );
        }
    }
    let log = crate::startup::open_audit(config).map_err(|f| f.message)?;
    log.record_durable(event).map_err(|e| e.to_string())?;
    log.close().map_err(|e| e.to_string())?;
    Ok(kept)
}

pub fn export(
    path: &Path,
    account: Option<String>,
    since: Option<String>,
    until: Option<String>,
    kind: Option<String>,
    dirs: Vec<PathBuf>,
) -> Result<(), Failure> {
    let config = load_config(path)?;
    let kind = kind
        .map(|k| {
            k.parse::<sealpost_audit::Kind>().map_err(|_| {
                Failure::config(format!(
                    "--kind {k}: expected login, delivery, account or admin"
                ))
            })
        })
        .transpose()?;
    let filter = sealpost_audit::ExportFilter {
        account,
        since: time_arg("--since", since)?,
        until: time_arg("--until", until)?,
        kind,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if dirs.is_empty() {
        crate::startup::require_audit_log(&config, "audit export")?;
        let dir = crate::startup::audit_dir(&config);
        let keys = sealpost_audit::PiiKeys::open(&dir, &config.server.master_key)
            .map_err(Failure::runtime)?;
        sealpost_audit::export_csv(&dir, &keys, &filter, &mut out).map_err(Failure::runtime)?;
    } else {
        // A cluster's nodes share the master key that wraps each log's
        // month keys.
        let mut keys = Vec::with_capacity(dirs.len());
        for dir in &dirs {
            keys.push(
                sealpost_audit::PiiKeys::open(dir, &config.server.master_key)
                    .map_err(|e| Failure::runtime(format!("{}: {e}", dir.display())))?,
            );
        }
        let labels: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        let logs: Vec<(&str, &Path, &sealpost_audit::PiiKeys)> = labels
            .iter()
            .zip(&dirs)
            .zip(&keys)
            .map(|((l, d), k)| (l.as_str(), d.as_path(), k))
            .collect();
        sealpost_audit::export_csv_merged(&logs, &filter, &mut out).map_err(Failure::runtime)?;
    }
    std::io::Write::flush(&mut out).map_err(Failure::runtime)?;
    Ok(())
}

pub fn pubkey(path: &Path) -> Result<(), Failure> {
    let config = load_config(path)?;
    let key = sealpost_audit::public_key(&config.server.audit_signing_key).map_err(|e| {
        Failure::runtime(format!(
            "{e} (the key is generated when the server first starts)"
        ))
    })?;
    println!("{}", key.trim_end());
    Ok(())
}
