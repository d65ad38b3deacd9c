//! Erasure that leaves nothing (DESIGN.md promises 4 and 8), through the
//! real binary: an account that received mail (to its address and to an
//! alias), sent mail (still queued for a next hop) and logged in is
//! deleted and purged by `retention run --at` past the grace period; after
//! a restart, a byte search of every file under data_dir (sled's files,
//! blobs, queue, audit segments and side files, keys, markers, saved
//! entries, everything) finds no address, alias, local part,
//! correspondent, subject or body text of it. Its audit records stay,
//! sealed, with their personal fields erased, unless the operator keeps
//! them under a legal hold.

mod audit_support;
mod common;

use audit_support::*;
use common::*;
use serde_json::json;

const ALICE: &str = "alice.person@example.org";
const ALIAS: &str = "al.ias.marker@example.org";
const SENDER: &str = "carl.correspondent@example.net";
const RECIPIENT: &str = "dora.destination@example.com";
const SUBJECT_IN: &str = "Zebra-Subject-7731";
const SUBJECT_OUT: &str = "Quokka-Subject-9043";
const BODY_IN: &str = "Walrus-Body-5519";
const BODY_OUT: &str = "Narwhal-Body-2687";

/// Everything of Alice that must not survive, as byte strings (and their
/// lower-case forms).
fn needles() -> Vec<String> {
    let mut v: Vec<String> = [
        ALICE,
        "alice.person",
        ALIAS,
        "al.ias.marker",
        SENDER,
        "carl.correspondent",
        RECIPIENT,
        "dora.destination",
        SUBJECT_IN,
        SUBJECT_OUT,
        BODY_IN,
        BODY_OUT,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(v.clone().iter().map(|s| s.to_ascii_lowercase()));
    v.sort();
    v.dedup();
    v
}

/// Every regular file under `dir`, recursively.
fn all_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let t = e.file_type().unwrap();
        if t.is_dir() {
            all_files(&e.path(), out);
        } else if t.is_file() {
            out.push(e.path());
        }
    }
}

/// (file, needle) for every needle found in any file under data_dir.
fn grep_data_dir(site: &Site) -> Vec<(String, String)> {
    let mut files = Vec::new();
    all_files(&site.path("data"), &mut files);
    assert!(files.len() > 20, "data_dir looks empty: {files:?}");
    let needles = needles();
    let mut found = Vec::new();
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        for n in &needles {
            if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                found.push((f.display().to_string(), n.clone()));
            }
        }
    }
    found
}

/// A site where mail to example.com waits for a closed next hop, Alice
/// with an alias, and Bob who stays.
fn site(extra: &str) -> Site {
    let site = Site::new(&format!(
        "{NO_DNS}[[smtp.route]]\ndomain = \"example.com\"\nhost = \"127.0.0.1:{}\"\n{extra}",
        closed_port()
    ));
    site.add_account(ALICE);
    site.add_account("bob@example.org");
    let file = site.path("accounts.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text.replacen(
        &format!("address = \"{ALICE}\"\n"),
        &format!("address = \"{ALICE}\"\naliases = [\"{ALIAS}\"]\n"),
        1,
    );
    assert!(text.contains(ALIAS), "{text}");
    std::fs::write(&file, text).unwrap();
    site
}

/// Alice receives (address and alias), sends, logs in; then she is deleted
/// and purged past the grace period, and the server restarted.
fn live_then_purge(site: &Site) {
    let server = site.start();
    for to in [ALICE, ALIAS] {
        let out = run_script(
            site,
            &server,
            "smtp_send.py",
            json!({"to": to, "from": SENDER, "subject": SUBJECT_IN, "body": BODY_IN}),
        );
        assert_eq!(out.trim(), "250 0");
    }
    let out = run_script(
        site,
        &server,
        "audit_submit.py",
        json!({"user": ALICE, "to": RECIPIENT, "subject": SUBJECT_OUT, "body": BODY_OUT}),
    );
    assert_eq!(out.trim(), "250");
    let out = run_script(
        site,
        &server,
        "imap_login.py",
        json!({"user": ALICE, "subject": SUBJECT_IN}),
    );
    assert_eq!(out.trim(), "OK 2");
    assert!(site.cli(&["queue", "list"], "").stdout.contains(RECIPIENT));
    let out = site.cli(&["account", "delete", ALICE], "");
    assert!(out.ok(), "{}", out.stderr);
    // Bob's life goes on meanwhile.
    run_script(
        site,
        &server,
        "imap_login.py",
        json!({"user": "bob@example.org"}),
    );
    let out = retention_run(site, now() + 46 * DAY);
    assert!(out.contains("purged 1 account(s)"), "{out}");
    assert_eq!(server.stop(), Some(0));
    let server = site.start();
    run_script(
        site,
        &server,
        "imap_login.py",
        json!({"user": "bob@example.org"}),
    );
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn retention_purge_leaves_nothing_of_the_account_in_any_file_of_data_dir() {
    let site = site("");
    live_then_purge(&site);
    let found = grep_data_dir(&site);
    assert!(found.is_empty(), "left after the purge: {found:#?}");
    verify_ok(&site);
    // Her records are there, sealed, and no longer name anyone.
    let rows = audit_rows(&site, &[]);
    let purged = events(&rows, "account_purged");
    assert_eq!(purged.len(), 1);
    assert_eq!(purged[0]["account"], "[anonymized]");
    let logins = events(&rows, "login");
    assert!(logins.iter().any(|r| r["account"] == "bob@example.org"));
    assert!(
        logins
            .iter()
            .filter(|r| r["account"] == "[anonymized]")
            .count()
            >= 2,
        "Alice's IMAP and submission logins: {logins:?}"
    );
    for row in &rows {
        for cell in row.values() {
            for n in needles() {
                assert!(!cell.contains(&n), "{n} in {row:?}");
            }
        }
    }
}

#[test]
fn retention_purge_under_legal_hold_keeps_the_audit_records_personal_fields() {
    let site = site("[retention]\nkeep_audit_personal_data_after_purge = true\n");
    live_then_purge(&site);
    // Kept sealed: nothing readable on disk without the master key...
    let found = grep_data_dir(&site);
    assert!(found.is_empty(), "left after the purge: {found:#?}");
    // ...but the audit export still names her.
    let rows = audit_rows(&site, &[]);
    let purged = events(&rows, "account_purged");
    assert_eq!(purged[0]["account"], ALICE);
    assert!(
        events(&rows, "login")
            .iter()
            .any(|r| r["account"] == ALICE && r["remote"].starts_with("127.0.0.1:"))
    );
    let report = site.cli(&["compliance", "report"], "");
    assert!(
        report.stdout.contains("kept until anonymized (legal hold"),
        "{}",
        report.stdout
    );
}
