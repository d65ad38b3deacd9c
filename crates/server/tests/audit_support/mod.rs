//! Helpers of the audit and retention end-to-end tests: reading `sealpost
//! audit export --csv` as rows, running the client scripts of `tests/`,
//! and times for `retention run --at`.

#![allow(dead_code)]

use crate::common::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A month as the retention settings count it (sealpost_retention::MONTH).
pub const MONTH: i64 = 2_629_746;
/// A day.
pub const DAY: i64 = 86_400;

/// A config fragment that keeps every DNS question on static records: no
/// test query leaves the machine.
pub const NO_DNS: &str = "[smtp.dns]\nstatic_only = true\n";

/// Parses RFC 4180 CSV (quoted fields with doubled quotes, CRLF rows).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

/// One exported audit record, by column name.
pub type Row = HashMap<String, String>;

/// `sealpost audit export --csv` with `args`, as rows keyed by the header.
pub fn audit_rows(site: &Site, args: &[&str]) -> Vec<Row> {
    let mut all = vec!["audit", "export", "--csv"];
    all.extend_from_slice(args);
    let out = site.cli(&all, "");
    assert!(out.ok(), "audit export: {}", out.stderr);
    let mut rows = parse_csv(&out.stdout).into_iter();
    let header = rows.next().expect("a header row");
    rows.map(|r| {
        assert_eq!(r.len(), header.len(), "same columns in every row: {r:?}");
        header.iter().cloned().zip(r).collect()
    })
    .collect()
}

/// Rows of one event type.
pub fn events<'a>(rows: &'a [Row], event: &str) -> Vec<&'a Row> {
    rows.iter().filter(|r| r["event"] == event).collect()
}

/// `sealpost audit verify` succeeds; returns its report line.
pub fn verify_ok(site: &Site) -> String {
    let out = site.cli(&["audit", "verify"], "");
    assert!(out.ok(), "verify: {}{}", out.stdout, out.stderr);
    out.stdout
}

/// Unix seconds now.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Waits until the clock is in a later second; returns that second (a
/// cutoff between what was recorded before and what comes after).
pub fn next_second() -> i64 {
    let cutoff = now() + 1;
    while now() < cutoff {
        std::thread::sleep(Duration::from_millis(20));
    }
    cutoff
}

/// Unix seconds as RFC 3339, for `--at`.
pub fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339()
}

/// `sealpost retention run --at T`; returns its report line.
pub fn retention_run(site: &Site, at: i64) -> String {
    let out = site.cli(&["retention", "run", "--at", &rfc3339(at)], "");
    assert!(out.ok(), "retention run: {}{}", out.stdout, out.stderr);
    out.stdout
}

/// The JSON argument of the client scripts in `tests/`.
pub fn script_args(site: &Site, server: &Server, extra: serde_json::Value) -> String {
    let mut v = serde_json::json!({
        "cafile": site.path("certs/cert.pem"),
        "imap": server.addr("imap").port(),
        "imaps": server.addr("imaps").port(),
        "pop3s": server.addr("pop3s").port(),
        "smtp": server.addr("smtp").port(),
        "submission": server.addr("submission").port(),
        "submissions": server.addr("submissions").port(),
        "user": "alice@example.org",
        "password": PASSWORD,
    });
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    v.to_string()
}

/// Runs a client script; returns its standard output (it must succeed).
pub fn run_script(site: &Site, server: &Server, script: &str, extra: serde_json::Value) -> String {
    let out = python(script, &[&script_args(site, server, extra)]);
    assert!(
        out.ok(),
        "{script}: {}{}\nserver log:\n{}",
        out.stdout,
        out.stderr,
        server.log()
    );
    out.stdout
}

/// Waits for `cond`, polling; false if it did not hold within `within`.
pub fn wait_for(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The audit segment files (`NNNNNNNNNNNN.seg`) in the site's log, sorted.
pub fn segments(site: &Site) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(site.path("data/audit"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 16 && n.ends_with(".seg"))
        .collect();
    v.sort();
    v
}
