//! The retention worker on the audit log, through the real binary:
//! anonymization after `anonymize_after_months`, deletion of old segments
//! after `audit_log_months`, and failed verifications recorded in the log.

mod audit_support;
mod common;

use audit_support::*;
use common::*;
use serde_json::json;
use std::time::Duration;

/// Cells that hold personal data.
const PERSONAL: [&str; 5] = ["account", "remote", "sender", "recipients", "recipient"];

fn login_ok(site: &Site, server: &Server) {
    let out = run_script(site, server, "imap_login.py", json!({}));
    assert_eq!(out.trim(), "OK", "{out}");
}

fn login_fails(site: &Site, server: &Server) {
    let out = run_script(site, server, "imap_login.py", json!({"password": "wrong"}));
    assert!(out.starts_with("NO"), "{out}");
}

/// One server run with a good and a bad login, stopped (its segment sealed),
/// then a cutoff second, then a second run with a good login, left running.
fn two_runs(site: &Site) -> (i64, Server) {
    site.add_account("alice@example.org");
    let server = site.start();
    login_ok(site, &server);
    login_fails(site, &server);
    assert_eq!(server.stop(), Some(0));
    let cutoff = next_second();
    let server = site.start();
    login_ok(site, &server);
    (cutoff, server)
}

fn time_ms(row: &Row) -> i64 {
    row["time_ms"].parse().unwrap()
}

#[test]
fn retention_run_anonymizes_audit_records_older_than_anonymize_after_months() {
    let site = Site::new(NO_DNS);
    let (cutoff, server) = two_runs(&site);
    // The new run's login is on disk within a second.
    assert!(wait_for(Duration::from_secs(5), || {
        events(&audit_rows(&site, &[]), "login").len() == 3
    }));
    let out = retention_run(&site, cutoff + 6 * MONTH);
    assert!(
        out.contains("anonymized ") && !out.contains("anonymized 0 "),
        "{out}"
    );
    verify_ok(&site);
    let rows = audit_rows(&site, &[]);
    let done = events(&rows, "audit_anonymized");
    assert_eq!(done.len(), 1, "{rows:?}");
    assert!(
        done[0]["details"].contains(&format!("cutoff_unix={cutoff}")),
        "{:?}",
        done[0]
    );
    let (old, new): (Vec<&Row>, Vec<&Row>) = rows.iter().partition(|r| time_ms(r) < cutoff * 1000);
    assert!(
        old.len() >= 5,
        "account_created, started, 2 logins, stopped: {old:?}"
    );
    for row in &old {
        for col in PERSONAL {
            assert!(
                row[col].is_empty() || row[col] == "[anonymized]",
                "{col} of an old record: {row:?}"
            );
        }
        for cell in row.values() {
            assert!(
                !cell.contains("alice") && !cell.contains("127.0.0.1"),
                "personal data left in an old record: {row:?}"
            );
        }
    }
    let old_logins: Vec<&&Row> = old.iter().filter(|r| r["event"] == "login").collect();
    assert_eq!(old_logins.len(), 2);
    for row in old_logins {
        // What is not personal stays.
        assert!(row["tls"].starts_with("TLSv1."), "{row:?}");
        assert!(["success", "failure"].contains(&row["outcome"].as_str()));
    }
    let new_logins: Vec<&&Row> = new.iter().filter(|r| r["event"] == "login").collect();
    assert_eq!(new_logins.len(), 1, "{new:?}");
    assert_eq!(new_logins[0]["account"], "alice@example.org");
    assert!(new_logins[0]["remote"].starts_with("127.0.0.1:"));
    assert_eq!(new_logins[0]["outcome"], "success");
    // Again: nothing more to do, nothing recorded.
    let out = retention_run(&site, cutoff + 6 * MONTH);
    assert!(out.contains("anonymized 0 "), "{out}");
    drop(server);
}

#[test]
fn retention_run_deletes_audit_segments_older_than_audit_log_months() {
    let site = Site::new(NO_DNS);
    let (cutoff, server) = two_runs(&site);
    let before = segments(&site);
    assert!(before.len() >= 3, "CLI, first run, second run: {before:?}");
    let out = retention_run(&site, cutoff + 18 * MONTH);
    assert!(
        out.contains("deleted ") && !out.contains("deleted 0 audit"),
        "{out}"
    );
    let after = segments(&site);
    assert!(
        !after.contains(&before[0]) && !after.contains(&before[1]),
        "{after:?}"
    );
    assert!(after.contains(before.last().unwrap()), "{after:?}");
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
    assert!(rows.iter().all(|r| time_ms(r) >= cutoff * 1000), "{rows:?}");
    assert!(rows[0]["seq"].parse::<u64>().unwrap() > 0);
    let deleted = events(&rows, "audit_segments_deleted");
    assert_eq!(deleted.len(), 1, "{rows:?}");
    assert!(
        deleted[0]["details"].contains("segments="),
        "{:?}",
        deleted[0]
    );
    assert_eq!(
        events(&rows, "login").len(),
        1,
        "only the second run's login"
    );
    drop(server);
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
