//! Purge of deleted accounts through the real binary: every trace of the
//! account (blobs, sled keys, outbound queue files, the saved accounts
//! entry) is gone after `retention run --at now+46d`, checked on disk with
//! the server stopped; a purge killed midway is finished by the next run,
//! recorded once, and shows nothing half-done to clients meanwhile.

mod audit_support;
mod common;

use audit_support::*;
use common::*;
use serde_json::json;
use std::time::Duration;

const ALICE: &str = "alice@example.org";

/// A site whose mail to example.com goes to a closed loopback port, so a
/// message submitted there stays queued.
fn site() -> Site {
    Site::new(&format!(
        "{NO_DNS}[[smtp.route]]\ndomain = \"example.com\"\nhost = \"127.0.0.1:{}\"\n",
        closed_port()
    ))
}

/// Alice gets `n` messages and has one message of hers waiting in the
/// outbound queue; then she is deleted.
fn fill_and_delete(site: &Site, server: &Server, n: u32) {
    run_script(
        site,
        server,
        "smtp_send.py",
        json!({"to": ALICE, "subject": "purge-me", "count": n}),
    );
    let out = run_script(
        site,
        server,
        "audit_submit.py",
        json!({"to": "carol@example.com", "subject": "queued"}),
    );
    assert_eq!(out.trim(), "250");
    let queued = site.cli(&["queue", "list"], "");
    assert!(
        queued.stdout.contains("carol@example.com"),
        "{}",
        queued.stdout
    );
    let out = site.cli(&["account", "delete", ALICE], "");
    assert!(out.ok(), "{}", out.stderr);
}

fn hex(address: &str) -> String {
    address.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The store's id of an account (server stopped).
fn account_id(site: &Site, address: &str) -> sealpost_store::AccountId {
    open_store(site)
        .accounts()
        .unwrap()
        .into_iter()
        .find(|a| a.address == address)
        .expect("the account is in the store")
        .id
}

/// Nothing of account `id` with `address` is left on disk (server stopped).
fn assert_no_trace(site: &Site, id: sealpost_store::AccountId, address: &str) {
    let store = open_store(site);
    let id_bytes = id.0.to_be_bytes();
    for (k, v) in store.raw_entries().unwrap() {
        assert!(
            !(k.len() >= 9 && k[1..9] == id_bytes),
            "a sled key of the purged account remains: {k:?}"
        );
        for bytes in [&k, &v] {
            assert!(
                !bytes
                    .windows(address.len())
                    .any(|w| w == address.as_bytes()),
                "the address remains in sled: {k:?}"
            );
        }
    }
    assert!(
        !store.data_key_exists(id).unwrap(),
        "a wrapped copy of the data key remains"
    );
    drop(store);
    assert!(
        !files_in(site, "data/account-keys")
            .iter()
            .any(|f| f.starts_with(&format!("{:016x}.key", id.0))),
        "the key file remains: {:?}",
        files_in(site, "data/account-keys")
    );
    assert!(
        !site.path(&format!("data/blobs/{:016x}", id.0)).exists(),
        "blob folder remains"
    );
    assert!(
        !files_in(site, "data/queue")
            .iter()
            .any(|f| f.ends_with(".queue")),
        "queue files remain: {:?}",
        files_in(site, "data/queue")
    );
    assert!(
        !site
            .path(&format!("data/deleted/{}.toml", hex(address)))
            .exists()
            && files_in(site, "data/deleted").is_empty(),
        "the saved accounts entry remains: {:?}",
        files_in(site, "data/deleted")
    );
    assert!(
        files_in(site, "data/purging").is_empty(),
        "a purge marker remains"
    );
}

fn purged_rows(site: &Site) -> Vec<Row> {
    audit_rows(site, &["--kind", "account"])
        .into_iter()
        .filter(|r| r["event"] == "account_purged")
        .collect()
}

#[test]
fn retention_purge_leaves_no_blob_key_queue_file_or_saved_entry_and_recreated_account_is_empty() {
    let site = site();
    site.add_account(ALICE);
    site.add_account("bob@example.net");
    let server = site.start();
    fill_and_delete(&site, &server, 3);
    assert_eq!(server.stop(), Some(0));
    // Before: there is something to purge.
    let id = account_id(&site, ALICE);
    assert!(!files_in(&site, &format!("data/blobs/{:016x}", id.0)).is_empty());
    assert_eq!(
        files_in(&site, "data/queue")
            .iter()
            .filter(|f| f.ends_with(".queue"))
            .count(),
        1
    );
    // The saved entry: sealed, named by a keyed MAC (not by the address).
    let saved = files_in(&site, "data/deleted");
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert!(saved[0].ends_with(".entry") && !saved[0].contains(&hex(ALICE)));

    let server = site.start();
    let out = retention_run(&site, now() + 46 * DAY);
    assert!(
        out.contains("purged 1 account(s) (3 messages") && out.contains("1 queued"),
        "{out}"
    );
    assert_eq!(server.stop(), Some(0));
    assert_no_trace(&site, id, ALICE);
    let purged = purged_rows(&site);
    assert_eq!(purged.len(), 1);
    // Recorded, then erased with the rest of her records (no legal hold).
    assert_eq!(purged[0]["account"], "[anonymized]");
    for part in ["messages=3", "queued=1", "mailboxes=6"] {
        assert!(purged[0]["details"].contains(part), "{:?}", purged[0]);
    }
    // The same address again starts empty; bob is untouched.
    site.add_account(ALICE);
    let server = site.start();
    let out = run_script(
        &site,
        &server,
        "imap_login.py",
        json!({"subject": "purge-me"}),
    );
    assert_eq!(out.trim(), "OK 0");
    let queued = site.cli(&["queue", "list"], "");
    assert!(
        !queued.stdout.contains("carol@example.com"),
        "{}",
        queued.stdout
    );
    assert_eq!(server.stop(), Some(0));
    verify_ok(&site);
}

/// Kills the server while a purge is paused after `step`; checks what
/// clients see meanwhile, then lets a restarted server finish it.
fn killed_purge_is_finished(step: &str) {
    let site = site();
    site.add_account(ALICE);
    site.add_account("bob@example.net");
    let server = site.start();
    fill_and_delete(&site, &server, 2);
    assert_eq!(server.stop(), Some(0));
    let id = account_id(&site, ALICE);

    let server = start_with_env(&site, &[("SEALPOST_TEST_PAUSE_PURGE", step)]);
    let flag = site.path("data/purge-paused");
    let mut run = std::process::Command::new(BIN)
        .arg("-c")
        .arg(&site.config)
        .args(["retention", "run", "--at", &rfc3339(now() + 46 * DAY)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(30), || flag.exists()),
        "the purge did not pause; log:\n{}",
        server.log()
    );
    assert_eq!(std::fs::read_to_string(&flag).unwrap(), step);
    // Midway, the account is as gone as it was at deletion.
    let login = run_script(&site, &server, "imap_login.py", json!({}));
    assert!(login.starts_with("NO"), "{login}");
    let rcpt = run_script(&site, &server, "smtp_rcpt.py", json!({"to": ALICE}));
    assert!(rcpt.starts_with("550") && rcpt.contains("5.1.1"), "{rcpt}");
    let restore = site.cli(&["account", "restore", ALICE], "");
    assert_ne!(restore.code, 0, "a half-purged account cannot come back");
    let bob = run_script(
        &site,
        &server,
        "imap_login.py",
        json!({"user": "bob@example.net"}),
    );
    assert_eq!(bob.trim(), "OK");

    server.kill9();
    let _ = run.kill();
    let _ = run.wait();
    std::fs::remove_file(&flag).unwrap();
    assert!(
        !files_in(&site, "data/purging").is_empty(),
        "the marker survives the kill"
    );
    // The restarted server's first pass finishes it, at today's date.
    let server = site.start();
    assert!(
        wait_for(Duration::from_secs(20), || purged_rows(&site).len() == 1),
        "no purge record; log:\n{}",
        server.log()
    );
    let out = retention_run(&site, now() + 46 * DAY);
    assert!(out.contains("purged 0 account(s)"), "{out}");
    assert_eq!(server.stop(), Some(0));
    let purged = purged_rows(&site);
    assert_eq!(purged.len(), 1, "recorded once: {purged:?}");
    for part in ["messages=2", "queued=1"] {
        assert!(
            purged[0]["details"].contains(part),
            "counts from before the kill: {:?}",
            purged[0]
        );
    }
    assert_no_trace(&site, id, ALICE);
    verify_ok(&site);
}

#[test]
fn retention_purge_killed_between_rows_and_blobs_is_finished_by_the_next_run() {
    killed_purge_is_finished("rows-removed");
}

#[test]
fn retention_purge_killed_after_the_store_purge_still_writes_its_record() {
    killed_purge_is_finished("store-purged");
}
