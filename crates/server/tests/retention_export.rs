//! `sealpost export` end to end: an account with every kind of flag,
//! nested and spaced mailbox names, exported as Maildir and as mbox, read
//! with Python's mailbox module and compared with what IMAP serves; the
//! mbox's flags and keywords go back in through IMAP APPEND unchanged.

mod audit_support;
mod common;

use audit_support::*;
use common::*;
use serde_json::json;

fn filled() -> (Site, Server) {
    let site = Site::new(NO_DNS);
    site.add_account("alice@example.org");
    site.add_account("bob@example.org");
    let server = site.start();
    run_script(
        &site,
        &server,
        "smtp_send.py",
        json!({"to": "alice@example.org", "subject": "export", "count": 3}),
    );
    let out = run_script(&site, &server, "retention_export_fill.py", json!({}));
    assert_eq!(out.trim(), "ok");
    (site, server)
}

fn export(site: &Site, format: &str) -> std::path::PathBuf {
    let archive = site.path(&format!("alice-{format}.tar"));
    let out = site.cli(
        &[
            "export",
            "alice@example.org",
            "--format",
            format,
            "--out",
            archive.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.ok(), "{}", out.stderr);
    assert!(
        out.stdout.contains("exported 6 message(s)"),
        "{}",
        out.stdout
    );
    archive
}

#[test]
fn retention_export_maildir_opens_with_python_mailbox_and_matches_imap() {
    let (site, server) = filled();
    let archive = export(&site, "maildir");
    let out = run_script(
        &site,
        &server,
        "retention_export_check.py",
        json!({"archive": archive, "format": "maildir"}),
    );
    assert_eq!(out.trim(), "ok 6");
    let rows = audit_rows(&site, &["--kind", "account"]);
    assert!(
        rows.iter()
            .any(|r| r["event"] == "data_exported" && r["details"].contains("format=maildir")),
        "{rows:?}"
    );
}

#[test]
fn retention_export_mbox_flags_and_keywords_round_trip_through_imap_append() {
    let (site, server) = filled();
    let archive = export(&site, "mbox");
    let out = run_script(
        &site,
        &server,
        "retention_export_check.py",
        json!({"archive": archive, "format": "mbox", "target": "bob@example.org"}),
    );
    assert_eq!(out.trim(), "ok 6");
}
