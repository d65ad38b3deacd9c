//! Speed of the hot paths, measured, not assumed. Timing assertions would
//! be flaky on shared CI machines, so these are run by hand:
//! `cargo test --release -p sealpost-audit --test speed -- --ignored --nocapture`.

mod common;

use common::*;
use std::time::Instant;

/// CPU seconds this process has used (user + system), from /proc: on a
/// shared machine wall time says more about the neighbours than about us.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

#[test]
#[ignore]
fn record_cost_and_writer_throughput() {
    let site = Site::new();
    let log = site.open();
    let n = 200_000u64;
    let events: Vec<_> = (0..n).map(login).collect();
    let t = Instant::now();
    for e in events {
        log.record(e);
    }
    let send = t.elapsed();
    log.flush();
    let all = t.elapsed();
    println!(
        "record(): {:.0} ns per call; writer: {:.0} records/s",
        send.as_nanos() as f64 / n as f64,
        n as f64 / all.as_secs_f64()
    );
    log.close().unwrap();
}

#[test]
#[ignore]
fn verify_throughput() {
    // SEALPOST_VERIFY_RECORDS=1200000 makes a log of about 400 MB, for profiling.
    let n: u64 = std::env::var("SEALPOST_VERIFY_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let site = Site::new();
    let log = site.open();
    for i in 0..n {
        log.record(login(i));
    }
    log.close().unwrap();
    for _ in 0..3 {
        let (t, cpu) = (Instant::now(), cpu_secs());
        let r = sealpost_audit::verify(&site.dir(), None).unwrap();
        let (secs, cpu) = (t.elapsed().as_secs_f64(), cpu_secs() - cpu);
        println!(
            "verify: {} records, {} bytes in {secs:.3} s wall = {:.0} MB/s; {cpu:.2} s CPU = {:.0} MB/s",
            r.records,
            r.bytes,
            r.bytes as f64 / secs / 1e6,
            r.bytes as f64 / cpu.max(0.01) / 1e6
        );
    }
    let t = Instant::now();
    let rows = sealpost_audit::export_csv(
        &site.dir(),
        &site.pii_keys(),
        &Default::default(),
        &mut std::io::sink(),
    )
    .unwrap();
    println!("export: {rows} rows in {:.3} s", t.elapsed().as_secs_f64());
}

/// For profiling verification alone: verifies the log in
/// `$SEALPOST_VERIFY_DIR/audit` five times, writing it there first (with
/// `$SEALPOST_VERIFY_RECORDS` records) if it is not there yet, e.g.
/// `perf record cargo test --release -p sealpost-audit --test speed -- --ignored verify_existing`.
#[test]
#[ignore]
fn verify_existing() {
    let Some(base) = std::env::var_os("SEALPOST_VERIFY_DIR").map(std::path::PathBuf::from) else {
        println!("SEALPOST_VERIFY_DIR is not set");
        return;
    };
    let dir = base.join("audit");
    if !dir.exists() {
        let n: u64 = std::env::var("SEALPOST_VERIFY_RECORDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_200_000);
        let master = base.join("master.key");
        if !master.exists() {
            std::fs::write(&master, [9u8; 32]).unwrap();
        }
        let log = sealpost_audit::AuditLog::open(
            &dir,
            &base.join("audit.key"),
            &sealpost_config::AuditConfig {
                master_key: master,
                ..Default::default()
            },
        )
        .unwrap();
        for i in 0..n {
            log.record(login(i));
        }
        log.close().unwrap();
    }
    for _ in 0..5 {
        let (t, cpu) = (Instant::now(), cpu_secs());
        let r = sealpost_audit::verify(&dir, None).unwrap();
        let (secs, cpu) = (t.elapsed().as_secs_f64(), cpu_secs() - cpu);
        println!(
            "verify: {} records, {} bytes in {secs:.3} s wall = {:.0} MB/s; {cpu:.2} s CPU = {:.0} MB/s",
            r.records,
            r.bytes,
            r.bytes as f64 / secs / 1e6,
            r.bytes as f64 / cpu.max(0.01) / 1e6
        );
    }
}
