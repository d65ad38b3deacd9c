//! Crashes: kill -9 during heavy logging, and a torn last line.

mod common;

use common::*;
use sealpost_audit::{AuditLog, ExportFilter, verify};
use sealpost_config::AuditConfig;
use std::io::{BufRead, Write};

fn child_config() -> AuditConfig {
    AuditConfig {
        segment_max_bytes: 256 * 1024,
        ..AuditConfig::default()
    }
}

/// Child half of the kill -9 test: logs forever; after each flush prints
/// how many records are on disk.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("SEALPOST_AUDIT_CRASH_CHILD") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let log = AuditLog::open(
        &dir.join("audit"),
        &dir.join("keys/audit.key"),
        &AuditConfig {
            master_key: dir.join("keys/master.key"),
            ..child_config()
        },
    )
    .unwrap();
    let mut out = std::io::stdout();
    for i in 0u64.. {
        log.record(login(i));
        if i % 100 == 99 {
            log.flush();
            writeln!(out, "FLUSHED {}", i + 1).unwrap();
            out.flush().unwrap();
        }
    }
}

#[test]
fn kill_9_during_heavy_logging_loses_nothing_flushed() {
    let site = Site::new();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env("SEALPOST_AUDIT_CRASH_CHILD", site.tmp.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut flushed = 0u64;
    while flushed < 2500 {
        let line = lines.next().expect("child ended early").unwrap();
        if let Some(n) = line.strip_prefix("FLUSHED ") {
            flushed = n.parse().unwrap();
        }
    }
    // SIGKILL: no destructor, no seal, no goodbye; the writer is mid-stream.
    child.kill().unwrap();
    child.wait().unwrap();

    let log = site.open_with(&child_config());
    let tail = log
        .recovered_tail()
        .expect("the unsealed tail is reported")
        .clone();
    log.close().unwrap();
    let report = verify(&site.dir(), Some(&site.pubkey())).unwrap();
    assert!(report.segments >= 3, "{report:?}");
    assert_eq!(report.crash_sealed, vec![tail.segment.clone()]);
    // Every record flushed before the kill is there, in order: rows of the
    // export are logins 0.. without a gap, then the recovery record.
    let csv = site.export(&ExportFilter::default());
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert!(
        rows.len() as u64 > flushed,
        "{} rows, {flushed} flushed",
        rows.len()
    );
    for (i, row) in rows.iter().take(flushed as usize).enumerate() {
        assert!(row.starts_with(&format!("{i},")), "row {i}: {row}");
        assert!(
            row.contains(&format!(",user{i}@example.org,")),
            "row {i}: {row}"
        );
    }
    assert!(rows.last().unwrap().contains("audit_tail_recovered"));
    assert_eq!(report.records, rows.len() as u64);
}

#[test]
fn torn_last_line_is_cut_reported_and_sealed() {
    let site = Site::new();
    let log = site.open();
    for i in 0..10 {
        log.record(login(i));
    }
    log.flush();
    // The files as a crash would leave them: copied while the writer runs,
    // plus half a record and half a side line.
    let crashed = Site::new();
    std::fs::create_dir_all(crashed.dir()).unwrap();
    std::fs::create_dir_all(crashed.key().parent().unwrap()).unwrap();
    std::fs::copy(site.key(), crashed.key()).unwrap();
    for (p, bytes) in snapshot(&site.dir()) {
        std::fs::write(crashed.dir().join(p.file_name().unwrap()), bytes).unwrap();
    }
    std::fs::create_dir_all(crashed.dir().join("pii-keys")).unwrap();
    for (p, bytes) in snapshot(&site.dir().join("pii-keys")) {
        std::fs::write(crashed.path("pii-keys").join(p.file_name().unwrap()), bytes).unwrap();
    }
    log.close().unwrap();
    let torn = b"{\"seq\":10,\"time_ms\":17000000";
    std::fs::OpenOptions::new()
        .append(true)
        .open(crashed.seg(1))
        .unwrap()
        .write_all(torn)
        .unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(crashed.pii(1))
        .unwrap()
        .write_all(b"{\"seq\":10,\"ti")
        .unwrap();

    let log = crashed.open();
    let tail = log.recovered_tail().unwrap().clone();
    assert_eq!(tail.segment, format!("{:012}.seg", 1));
    assert_eq!(tail.records, 10);
    assert_eq!(tail.torn_bytes, torn.len() as u64);
    log.record(login(10));
    log.close().unwrap();
    let r = verify(&crashed.dir(), Some(&crashed.pubkey())).unwrap();
    // 10 kept + the recovery record + login 10.
    assert_eq!(r.records, 12);
    assert_eq!(r.crash_sealed, vec![tail.segment]);
    let csv = crashed.export(&ExportFilter::default());
    assert!(csv.contains(",user9@example.org,"), "{csv}");
    assert!(csv.contains(",user10@example.org,"), "{csv}");
    assert!(
        !csv.contains("[anonymized]"),
        "side file kept its complete lines: {csv}"
    );
    // A clean reopen finds nothing to recover.
    let log = crashed.open();
    assert!(log.recovered_tail().is_none());
    log.close().unwrap();
}

#[test]
fn reopen_continues_the_chain_and_close_is_idempotent() {
    let site = Site::new();
    for round in 0..3 {
        let log = site.open();
        assert!(log.recovered_tail().is_none());
        log.record(login(round));
        log.record_durable(delivered(round, "a@example.org"))
            .unwrap();
        log.close().unwrap();
        log.close().unwrap();
        assert!(log.record_durable(login(99)).is_err());
    }
    // Dropping the last handle seals too, before the drop returns (a CLI
    // process may exit right after).
    let log = site.open();
    let clone = log.clone();
    log.record(login(7));
    drop(log);
    clone.record(login(8));
    drop(clone);
    assert_eq!(verify(&site.dir(), None).unwrap().open_segment, None);
    let log = site.open();
    assert!(log.recovered_tail().is_none());
    log.close().unwrap();
    let r = verify(&site.dir(), None).unwrap();
    assert_eq!(r.records, 8);
    assert_eq!(r.segments, 4);
}

#[test]
fn a_second_writer_is_refused() {
    let site = Site::new();
    let log = site.open();
    let err = AuditLog::open(
        &site.dir(),
        &site.key(),
        &site.config(&AuditConfig::default()),
    )
    .unwrap_err();
    assert!(
        matches!(err, sealpost_audit::AuditError::Locked(_)),
        "{err}"
    );
    log.close().unwrap();
}

#[test]
fn segments_are_sealed_by_size_and_by_age() {
    let site = Site::new();
    let log = site.open_with(&AuditConfig {
        segment_max_bytes: 1500,
        segment_max_age_secs: 1,
        ..AuditConfig::default()
    });
    for i in 0..12 {
        log.record(login(i));
    }
    log.flush();
    let by_size = verify(&site.dir(), None).unwrap();
    assert!(by_size.segments >= 2, "{by_size:?}");
    std::thread::sleep(std::time::Duration::from_millis(1600));
    let by_age = verify(&site.dir(), None).unwrap();
    assert_eq!(by_age.open_segment, None, "{by_age:?}");
    assert_eq!(by_age.records, 12);
    log.close().unwrap();
}
