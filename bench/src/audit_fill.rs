//! `audit-fill`: writes a large sealed audit log with sealpost's own writer,
//! so `sealpost audit verify` can be timed on hundreds of MB (the log a
//! benchmark run leaves behind is a few MB, too small to time).
//!
//! The events are the common ones of a busy server, in its proportions: a
//! login (with the salted commitments of its personal fields) and a delivery
//! per message. Segments use the default size (64 MiB), so the log has
//! several sealed segments and a chain across them, as in production.

use anyhow::{Context, Result};
use sealpost_audit::{AuditLog, Event, LoginOutcome, Protocol};
use sealpost_config::AuditConfig;
use std::path::Path;

/// Bytes of the segment files under `dir`.
fn segment_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let e = e?;
        if e.path().extension().is_some_and(|x| x == "seg") {
            total += e.metadata()?.len();
        }
    }
    Ok(total)
}

/// Records events under `dir` (signing with `key`, made if absent; personal
/// fields sealed under `master.key` beside it, made if absent) until the
/// segments hold at least `mb` MB, then seals and closes the log.
pub fn fill(dir: &Path, key: &Path, mb: u64) -> Result<()> {
    let target = mb * 1_000_000;
    let config = AuditConfig {
        master_key: key.parent().unwrap_or(Path::new(".")).join("master.key"),
        ..AuditConfig::default()
    };
    let log = AuditLog::open(dir, key, &config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut n: u64 = 0;
    loop {
        for _ in 0..20_000 {
            let user = format!("user{}@bench.test", n % 5000);
            log.record(Event::Login {
                protocol: if n.is_multiple_of(3) {
                    Protocol::Pop3
                } else {
                    Protocol::Imap
                },
                account: user.clone(),
                remote: format!("198.51.100.{}:{}", n % 250, 40000 + n % 20000),
                tls: Some("TLSv1.3".into()),
                outcome: LoginOutcome::Success,
                app_password: None,
                mechanism: None,
            });
            log.record(Event::MessageDelivered {
                id: format!("{n:016x}"),
                account: user,
                size: 2048 + n % 50_000,
            });
            n += 1;
        }
        log.flush();
        if segment_bytes(dir)? >= target {
            break;
        }
    }
    log.close().map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "RESULT audit_fill_records {} records\nRESULT audit_fill_mb {:.1} MB",
        n * 2,
        segment_bytes(dir)? as f64 / 1e6
    );
    Ok(())
}
