//! `sealpost audit verify|export|pubkey`: reading the sealed log. These only
//! read files, so they work while the server runs (the open segment is
//! checked as far as it was flushed).

use crate::{Failure, load_config};
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
    let dir = crate::serve::audit_dir(&config);
    let report = sealpost_audit::verify(&dir, key.as_ref()).map_err(Failure::runtime)?;
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
    sealpost_audit::export_csv(&crate::serve::audit_dir(&config), &filter, &mut out)
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
