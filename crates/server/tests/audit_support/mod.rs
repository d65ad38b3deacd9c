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

/// The audit segment files (`<node>.NNNNNNNNNNNN.seg`) in the site's
/// log, by segment number.
pub fn segments(site: &Site) -> Vec<String> {
    use sealpost_audit::names::{FileKind, SegmentName};
    let mut v: Vec<(u64, String)> = std::fs::read_dir(site.path("data/audit"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| match SegmentName::parse(&n) {
            Some((s, FileKind::Segment)) => Some((s.number, n)),
            _ => None,
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, n)| n).collect()
}

/// Starts `sealpost serve` like [`Server::start`], with extra environment
/// variables (the purge test hook).
pub fn start_with_env(site: &Site, env: &[(&str, &str)]) -> Server {
    start_wrapped(site, &[], env)
}

/// Starts `sealpost serve` under a wrapper command (`faketime '-2 years'`),
/// with extra environment variables. A missing wrapper fails the test.
pub fn start_wrapped(site: &Site, wrapper: &[&str], env: &[(&str, &str)]) -> Server {
    use std::io::BufRead;
    use std::sync::{Arc, Mutex};
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = std::process::Command::new(program);
            c.args(args).arg(BIN);
            c
        }
        None => std::process::Command::new(BIN),
    };
    let mut child = command
        .arg("-c")
        .arg(&site.config)
        .arg("serve")
        .env("SEALPOST_LOG", "info")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {wrapper:?} sealpost: {e}"));
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let log2 = log.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            log2.lock().unwrap().push_str(&line);
            log2.lock().unwrap().push('\n');
            let _ = tx.send(line);
        }
    });
    let mut addrs = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            let _ = child.kill();
            panic!("server did not start; log:\n{}", log.lock().unwrap());
        };
        if line.contains(" listening ") {
            let value = |name: &str| {
                let start = line.find(name).map_or(line.len(), |i| i + name.len());
                line[start..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string()
            };
            let kind = value("listener=").trim_matches('"').to_string();
            addrs.insert(kind, value("addr=").parse().unwrap());
        }
        if line.contains("sealpost is running") {
            break;
        }
    }
    Server { child, addrs, log }
}

/// Opens the site's store offline (no server may run).
pub fn open_store(site: &Site) -> sealpost_store::Store {
    sealpost_store::Store::open(sealpost_store::StoreOptions {
        data_dir: site.path("data"),
        master_key: site.path("keys/master.key"),
        summarizer: std::sync::Arc::new(sealpost_store::NoSummary),
    })
    .unwrap()
}

/// Files directly in a folder of the site (none if it does not exist).
pub fn files_in(site: &Site, rel: &str) -> Vec<String> {
    match std::fs::read_dir(site.path(rel)) {
        Ok(entries) => {
            let mut v: Vec<String> = entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        }
        Err(_) => Vec::new(),
    }
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
