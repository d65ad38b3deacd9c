//! `sealpost audit verify|export|pubkey`: reading the sealed log. These only
//! read files, so they work while the server runs (the open segment is
//! checked as far as it was flushed). A failed verification is itself
//! recorded in the log ([`Event::AuditVerificationFailed`]).

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

pub fn verify(path: &Path, pubkey: Option<PathBuf>) -> Result<(), Failure> {
    let config = load_config(path)?;
    let key = match &pubkey {
        Some(p) => Some(sealpost_audit::read_public_key(p).map_err(Failure::runtime)?),
        None => None,
    };
    let dir = crate::startup::audit_dir(&config);
    let report = match sealpost_audit::verify(&dir, key.as_ref()) {
        Ok(r) => r,
        Err(failure) => {
            let note = match record_failure(&config, &failure) {
                Ok(how) => format!(" (recorded in the audit log{how})"),
                Err(e) => format!(" (could not be recorded in the audit log: {e})"),
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
        "audit log verified: {} sealed segment(s), {} record(s), {} bytes, from {} to {}{}{}",
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
        if report.crash_sealed.is_empty() {
            String::new()
        } else {
            format!("; sealed after a crash: {}", report.crash_sealed.join(", "))
        }
    );
    if pubkey.is_none() {
        println!(
            "note: checked against the key stored beside the log; pass --pubkey FILE to check against a key kept elsewhere"
        );
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
    sealpost_audit::export_csv(&crate::startup::audit_dir(&config), &filter, &mut out)
        .map_err(Failure::runtime)?;
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
