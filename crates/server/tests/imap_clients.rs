//! Real IMAP clients against the real binary: every imaplib command
//! method, IDLE timing over real sockets, QRESYNC, the extensions
//! (MULTIAPPEND, REPLACE, OBJECTID, UIDONLY, PARTIAL, ESORT and CONTEXT,
//! MESSAGELIMIT, INPROGRESS, METADATA, CATENATE, NOTIFY) and `\Recent` in one session.

mod common;

use common::*;

/// A server with alice@example.org (1 MiB quota) and bob@example.net.
fn started() -> (Site, Server) {
    let site = Site::new("");
    site.add_account("alice@example.org");
    site.add_account("bob@example.net");
    let accounts = site.path("accounts.toml");
    let text = std::fs::read_to_string(&accounts).unwrap();
    let text = text.replace(
        "address = \"alice@example.org\"\n",
        "address = \"alice@example.org\"\nquota = \"1M\"\n",
    );
    assert!(text.contains("quota = \"1M\""), "{text}");
    std::fs::write(&accounts, text).unwrap();
    let server = site.start();
    (site, server)
}

fn run(site: &Site, server: &Server, script: &str) -> String {
    let args = serde_json::json!({
        "cafile": site.path("certs/cert.pem"),
        "imap": server.addr("imap").port(),
        "imaps": server.addr("imaps").port(),
        "smtp": server.addr("smtp").port(),
        "user": "alice@example.org",
        "password": PASSWORD,
    });
    let out = python(script, &[&args.to_string()]);
    assert!(
        out.ok(),
        "{script}: {}{}\nserver log:\n{}",
        out.stdout,
        out.stderr,
        server.log()
    );
    out.stdout
}

#[test]
fn every_imaplib_command_method() {
    let (site, server) = started();
    let out = run(&site, &server, "imap_imaplib_commands.py");
    assert!(out.ends_with("ok\n"), "{out}");
}

#[test]
fn append_by_another_session_reaches_an_idling_session_within_1s() {
    let (site, server) = started();
    let out = run(&site, &server, "imap_idle_append.py");
    assert!(out.contains("worst ") && out.ends_with("ok\n"), "{out}");
}

#[test]
fn qresync_on_a_new_connection_reports_exactly_the_changes() {
    let (site, server) = started();
    let out = run(&site, &server, "imap_qresync.py");
    assert!(out.ends_with("ok\n"), "{out}");
}

#[test]
fn multiappend_replace_and_objectid_over_the_wire() {
    let (site, server) = started();
    let out = run(&site, &server, "imap_extensions.py");
    assert!(out.ends_with("ok\n"), "{out}");
}

#[test]
fn recent_in_one_session_fetch_star_of_empty_mailbox_and_lsub() {
    let (site, server) = started();
    let out = run(&site, &server, "imap_recent_empty_lsub.py");
    assert!(out.ends_with("ok\n"), "{out}");
}

#[test]
fn uidonly_over_the_wire() {
    let (site, server) = started();
    let out = run(&site, &server, "imap_uidonly.py");
    assert!(out.ends_with("ok\n"), "{out}");
}

#[test]
fn partial_pages_over_the_wire() {
    let (site, server) = started();
    let out = run(&site, &server, "imap_partial.py");
    assert!(out.ends_with("ok\n"), "{out}");
}

#[test]
fn esort_and_updating_contexts_over_the_wire() {
    let (site, server) = started();
    let out = run(&site, &server, "imap_context.py");
    assert!(out.ends_with("ok\n"), "{out}");
}

#[test]
fn messagelimit_pages_uid_commands_down_and_refuses_copy_and_sequence_numbers() {
    let site = Site::new("[imap]\nmessage_limit = 3\n");
    site.add_account("alice@example.org");
    let server = site.start();
    let out = run(&site, &server, "imap_messagelimit.py");
    assert!(out.ends_with("ok\n"), "{out}");
}

#[test]
fn inprogress_notes_reach_imaplib_during_a_search() {
    let site = Site::new("[imap]\nprogress_interval_ms = 0\n");
    site.add_account("alice@example.org");
    let server = site.start();
    let out = run(&site, &server, "imap_inprogress.py");
    assert!(out.ends_with("ok\n"), "{out}");
}

#[test]
fn metadata_entries_over_the_wire() {
    let (site, server) = started();
    let out = run(&site, &server, "imap_metadata.py");
    assert!(out.ends_with("ok\n"), "{out}");
}

#[test]
fn catenate_builds_messages_from_urls() {
    let (site, server) = started();
    let out = run(&site, &server, "imap_catenate.py");
    assert!(out.ends_with("ok\n"), "{out}");
}

#[test]
fn notify_tells_a_second_session_without_polling() {
    let (site, server) = started();
    let out = run(&site, &server, "imap_notify.py");
    assert!(out.ends_with("ok\n"), "{out}");
}
