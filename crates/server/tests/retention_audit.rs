//! The retention worker on the audit log, through the real binary:
//! anonymization after `anonymize_after_months` and deletion of old
//! segments after `audit_log_months` at their real time (records written by
//! a server running two years in the past under faketime, then a real
//! `retention run`), never earlier (`retention run --at` three years on
//! purges accounts but leaves every audit record), and failed
//! verifications recorded in the log.

mod audit_support;
mod common;

use audit_support::*;
use common::*;
use serde_json::json;
use std::time::Duration;

fn time_ms(row: &Row) -> i64 {
    row["time_ms"].parse().unwrap()
}

fn login_ok(site: &Site, server: &Server) {
    let out = run_script(site, server, "imap_login.py", json!({}));
    assert_eq!(out.trim(), "OK", "{out}");
}

fn login_fails(site: &Site, server: &Server) {
    let out = run_script(site, server, "imap_login.py", json!({"password": "wrong"}));
    assert!(out.starts_with("NO"), "{out}");
}

/// libfaketime (Debian's `faketime` package), preloaded into the server so
/// that its clock runs two years back; a missing library fails the test.
fn libfaketime() -> String {
    let out = std::process::Command::new("dpkg")
        .args(["-L", "libfaketime"])
        .output()
        .expect("dpkg");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.ends_with("/libfaketimeMT.so.1"))
        .expect("libfaketime is not installed (apt-get install faketime)")
        .to_string()
}

/// A server run two years ago (faketime) with a good and a bad login,
/// stopped (its segment sealed), then a run now with a good login, left
/// running. Returns the time between them (Unix s).
fn old_run_and_new_run(site: &Site) -> (i64, Server) {
    let lib = libfaketime();
    // The account too was added two years ago (its record opens the log).
    let mut add = std::process::Command::new(BIN)
        .arg("-c")
        .arg(&site.config)
        .args(["account", "add", "alice@example.org", "--password-stdin"])
        .env("LD_PRELOAD", &lib)
        .env("FAKETIME", "-730d")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    add.stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    assert!(add.wait().unwrap().success());
    let server = start_with_env(
        site,
        &[
            ("LD_PRELOAD", lib.as_str()),
            ("FAKETIME", "-730d"),
            // Timers need the real monotonic clock.
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ],
    );
    login_ok(site, &server);
    login_fails(site, &server);
    assert_eq!(server.stop(), Some(0));
    let between = now() - 365 * DAY;
    let rows = audit_rows(site, &["--kind", "login"]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.iter().all(|r| time_ms(r) < between * 1000),
        "faketime did not reach the server: {rows:?}"
    );
    let server = site.start();
    login_ok(site, &server);
    (between, server)
}

#[test]
fn retention_run_anonymizes_and_deletes_audit_records_at_their_real_time() {
    let site = Site::new(NO_DNS);
    let (between, server) = old_run_and_new_run(&site);
    // The restarted server's first retention pass ran at the real time:
    // the two-year-old records are past both anonymize_after_months (6)
    // and audit_log_months (18).
    assert!(
        server.wait_log("retention pass", Duration::from_secs(20)),
        "{}",
        server.log()
    );
    let pass = server
        .log()
        .lines()
        .find(|l| l.contains("retention pass"))
        .unwrap()
        .to_string();
    assert!(
        !pass.contains("anonymized 0 ")
            && !pass.contains("deleted 0 audit")
            && !pass.contains("real time"),
        "{pass}"
    );
    // Another pass has nothing left to do.
    let out = site.cli(&["retention", "run"], "");
    assert!(
        out.stdout.contains("deleted 0 audit"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        !segments(&site)
            .iter()
            .any(|s| s.ends_with(".000000000001.seg"))
    );
    // Verifies against the key kept elsewhere, from the signed checkpoint on.
    let key = site.cli(&["audit", "pubkey"], "");
    let key_file = site.path("audit.pub");
    std::fs::write(&key_file, &key.stdout).unwrap();
    let out = site.cli(
        &["audit", "verify", "--pubkey", key_file.to_str().unwrap()],
        "",
    );
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    let rows = audit_rows(&site, &[]);
    assert!(
        rows.iter().all(|r| time_ms(r) >= between * 1000),
        "{rows:?}"
    );
    assert!(rows[0]["seq"].parse::<u64>().unwrap() > 0);
    let deleted = events(&rows, "audit_segments_deleted");
    assert_eq!(deleted.len(), 1, "{rows:?}");
    assert!(wait_for(Duration::from_secs(5), || {
        events(&audit_rows(&site, &["--kind", "login"]), "login").len() == 1
    }));
    let rows = audit_rows(&site, &[]);
    let logins = events(&rows, "login");
    assert_eq!(logins.len(), 1, "only the new run's login: {rows:?}");
    assert_eq!(logins[0]["account"], "alice@example.org");
    // The month keys of two years ago are gone: nothing of those records'
    // personal fields is readable anywhere, backups included.
    let keys = files_in(&site, "data/audit/pii-keys");
    let old_month = chrono::DateTime::from_timestamp(between - 365 * DAY, 0)
        .unwrap()
        .format("%Y-%m")
        .to_string();
    assert!(
        !keys.iter().any(|k| k.starts_with(&old_month)),
        "{old_month}: {keys:?}"
    );
    drop(server);
}

#[test]
fn retention_run_at_a_future_date_purges_accounts_but_leaves_every_audit_record() {
    let site = Site::new(NO_DNS);
    site.add_account("alice@example.org");
    site.add_account("carol@example.org");
    let server = site.start();
    login_ok(&site, &server);
    login_fails(&site, &server);
    let out = site.cli(&["account", "delete", "carol@example.org"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert_eq!(server.stop(), Some(0));
    let before_rows = audit_rows(&site, &[]);
    let before_segments = segments(&site);
    let server = site.start();
    let out = retention_run(&site, now() + 3 * 365 * DAY);
    assert!(out.contains("purged 1 account(s)"), "{out}");
    assert!(
        out.contains("anonymized 0 audit") && out.contains("deleted 0 audit"),
        "{out}"
    );
    assert!(
        out.contains("audit retention ran at the real time"),
        "{out}"
    );
    assert_eq!(server.stop(), Some(0));
    // Every segment is still there, and every record: the chain still
    // starts at 0, nothing was anonymized but the purged account's own.
    let after_segments = segments(&site);
    for s in &before_segments {
        assert!(
            after_segments.contains(s),
            "{s} deleted: {after_segments:?}"
        );
    }
    verify_ok(&site);
    let rows = audit_rows(&site, &[]);
    assert_eq!(rows[0]["seq"], "0");
    assert!(rows.len() > before_rows.len());
    let logins = events(&rows, "login");
    assert_eq!(logins.len(), 2);
    for row in logins {
        assert_eq!(row["account"], "alice@example.org", "{row:?}");
        assert!(row["remote"].starts_with("127.0.0.1:"), "{row:?}");
    }
    assert!(events(&rows, "audit_anonymized").is_empty());
    assert!(events(&rows, "audit_segments_deleted").is_empty());
}

/// Alters one letter of the first record of a sealed segment; returns the
/// file and its original bytes.
fn tamper_sealed_segment(site: &Site) -> (std::path::PathBuf, Vec<u8>) {
    let name = segments(site)
        .into_iter()
        .find(|s| {
            site.path(&format!("data/audit/{}", s.replace(".seg", ".seal")))
                .exists()
        })
        .expect("a sealed segment");
    let path = site.path(&format!("data/audit/{name}"));
    let original = std::fs::read(&path).unwrap();
    let text = String::from_utf8(original.clone()).unwrap();
    let i = text.find("\"event\":\"").unwrap() + 9;
    let mut bytes = original.clone();
    bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
    std::fs::write(&path, &bytes).unwrap();
    (path, original)
}

fn check_failure_recorded(site: &Site, segment: &str) {
    verify_ok(site);
    let rows = audit_rows(site, &[]);
    let failed = events(&rows, "audit_verification_failed");
    assert_eq!(failed.len(), 1, "{rows:?}");
    assert!(
        failed[0]["details"].contains(&format!("segment={segment}")),
        "{:?}",
        failed[0]
    );
    assert!(!failed[0]["reason"].is_empty());
}

#[test]
fn audit_verify_failure_is_recorded_offline_without_breaking_the_chain() {
    let site = Site::new(NO_DNS);
    site.add_account("alice@example.org");
    let server = site.start();
    login_ok(&site, &server);
    assert_eq!(server.stop(), Some(0));
    let (path, original) = tamper_sealed_segment(&site);
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let out = site.cli(&["audit", "verify"], "");
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains(&name) && out.stderr.contains("recorded in the audit log"),
        "{}",
        out.stderr
    );
    // Repaired, the log verifies again, the record of the failure included.
    std::fs::write(&path, original).unwrap();
    check_failure_recorded(&site, &name);
}

#[test]
fn audit_verify_failure_is_recorded_by_the_running_server() {
    let site = Site::new(NO_DNS);
    site.add_account("alice@example.org");
    let server = site.start();
    let (path, original) = tamper_sealed_segment(&site);
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let out = site.cli(&["audit", "verify"], "");
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains("recorded in the audit log by the running server"),
        "{}",
        out.stderr
    );
    std::fs::write(&path, original).unwrap();
    check_failure_recorded(&site, &name);
    login_ok(&site, &server);
    assert_eq!(server.stop(), Some(0));
    verify_ok(&site);
}
