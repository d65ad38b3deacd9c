//! Changes of the accounts file are audited however they are made: by the
//! CLI or by hand in an editor, with the server running or not; each change
//! once; the watcher's reloads are recorded as config reloads, and the
//! addresses their errors quote stay out of the sealed records.

mod audit_support;
mod common;

use audit_support::*;
use common::*;
use std::time::Duration;

fn accounts(site: &Site) -> String {
    std::fs::read_to_string(site.path("accounts.toml")).unwrap()
}

/// Rewrites the accounts file by hand (in place, as an editor may).
fn edit(site: &Site, f: impl FnOnce(String) -> String) {
    let text = f(accounts(site));
    std::fs::write(site.path("accounts.toml"), text).unwrap();
}

/// The `password = ...` line of `address`'s table.
fn password_line(site: &Site, address: &str) -> String {
    let text = accounts(site);
    let start = text.find(&format!("address = \"{address}\"")).unwrap();
    text[start..]
        .lines()
        .find(|l| l.trim_start().starts_with("password"))
        .unwrap()
        .to_string()
}

fn account_events(site: &Site) -> Vec<Row> {
    audit_rows(site, &["--kind", "account"])
}

fn count(rows: &[Row], event: &str, account: &str) -> usize {
    rows.iter()
        .filter(|r| r["event"] == event && r["account"] == account)
        .count()
}

/// Waits until the account events satisfy `cond`.
fn wait_events(site: &Site, what: &str, cond: impl Fn(&[Row]) -> bool) -> Vec<Row> {
    let mut rows = Vec::new();
    let ok = wait_for(Duration::from_secs(10), || {
        rows = account_events(site);
        cond(&rows)
    });
    assert!(ok, "{what}: {rows:#?}");
    rows
}

#[test]
fn audit_records_hand_edits_of_the_accounts_file_like_cli_changes() {
    let site = Site::new(NO_DNS);
    site.add_account("alice@example.org");
    let server = site.start();
    // CLI, with the server running: each change once (the CLI's reload and
    // the file watcher both see it).
    site.add_account("carol@example.org");
    let out = site.cli(
        &["account", "passwd", "carol@example.org", "--password-stdin"],
        "another password\n",
    );
    assert!(out.ok(), "{}", out.stderr);
    wait_events(&site, "carol created and changed", |r| {
        count(r, "account_changed", "carol@example.org") == 1
    });

    // By hand: a new account.
    let hash = password_line(&site, "alice@example.org");
    edit(&site, |t| {
        format!("{t}\n[[account]]\naddress = \"bob@example.org\"\n{hash}\n")
    });
    wait_events(&site, "bob created", |r| {
        count(r, "account_created", "bob@example.org") == 1
    });
    // By hand: alice's password, then her quota and aliases.
    let carol_hash = password_line(&site, "carol@example.org");
    edit(&site, |t| t.replacen(&hash, &carol_hash, 1));
    let rows = wait_events(&site, "alice's password", |r| {
        count(r, "account_changed", "alice@example.org") == 1
    });
    assert!(
        rows.iter().any(
            |r| r["account"] == "alice@example.org" && r["details"].contains("change=password")
        )
    );
    edit(&site, |t| {
        t.replacen(
            &carol_hash,
            &format!("{carol_hash}\nquota = \"10M\"\naliases = [\"al@example.org\"]"),
            1,
        )
    });
    let rows = wait_events(&site, "alice's quota and aliases", |r| {
        count(r, "account_changed", "alice@example.org") == 2
    });
    let change = rows
        .iter()
        .rfind(|r| r["event"] == "account_changed" && r["account"] == "alice@example.org")
        .unwrap();
    assert!(
        change["details"].contains("quota none -> 10485760")
            && change["details"].contains("aliases +1 -0")
            && !change["details"].contains("al@example.org"),
        "{change:?}"
    );
    // By hand: bob removed again.
    edit(&site, |t| {
        let start = t
            .find("\n[[account]]\naddress = \"bob@example.org\"")
            .unwrap();
        let end = start + 1 + t[start + 1..].find(&hash).unwrap() + hash.len();
        format!("{}{}", &t[..start], &t[end..])
    });
    let rows = wait_events(&site, "bob deleted", |r| {
        count(r, "account_deleted", "bob@example.org") == 1
    });
    for (event, account) in [
        ("account_created", "alice@example.org"),
        ("account_created", "carol@example.org"),
        ("account_created", "bob@example.org"),
        ("account_changed", "carol@example.org"),
    ] {
        assert_eq!(
            count(&rows, event, account),
            1,
            "{event} {account}: {rows:#?}"
        );
    }
    // Every hand edit the watcher took is a config reload.
    let reloads = audit_rows(&site, &["--kind", "admin"])
        .into_iter()
        .filter(|r| r["event"] == "config_reloaded")
        .count();
    assert!(reloads >= 4, "{reloads} reloads");
    assert_eq!(server.stop(), Some(0));
    verify_ok(&site);
}

#[test]
fn audit_reload_errors_quoting_addresses_are_not_plaintext_in_sealed_records() {
    let site = Site::new(NO_DNS);
    site.add_account("alice@example.org");
    let server = site.start();
    let hash = password_line(&site, "alice@example.org");
    // Refused at reload, naming the address: it is listed twice.
    edit(&site, |t| {
        let eve = format!("\n[[account]]\naddress = \"evezq@example.org\"\n{hash}\n");
        format!("{t}{eve}{eve}")
    });
    let mut failed = Vec::new();
    assert!(wait_for(Duration::from_secs(10), || {
        failed = audit_rows(&site, &["--kind", "admin"])
            .into_iter()
            .filter(|r| r["event"] == "config_reloaded" && r["details"].contains("ok=false"))
            .collect();
        !failed.is_empty()
    }));
    // The export shows the error (from the side file) ...
    assert!(
        failed[0]["details"].contains("evezq@example.org"),
        "{:?}",
        failed[0]
    );
    assert_eq!(server.stop(), Some(0));
    // ... the sealed segments hold only its commitment.
    for name in segments(&site) {
        let seg = std::fs::read_to_string(site.path(&format!("data/audit/{name}"))).unwrap();
        assert!(!seg.contains("evezq@example.org"), "{name}: {seg}");
    }
    verify_ok(&site);
}

#[test]
fn audit_records_edits_made_while_no_server_ran_at_the_next_start() {
    let site = Site::new(NO_DNS);
    site.add_account("alice@example.org");
    let server = site.start();
    assert_eq!(server.stop(), Some(0));
    let hash = password_line(&site, "alice@example.org");
    edit(&site, |t| {
        format!(
            "{}\n[[account]]\naddress = \"dave@example.org\"\n{hash}\nquota = 5000\n",
            t.replacen(&hash, &format!("{hash}\nquota = 7000"), 1)
        )
    });
    let server = site.start();
    let rows = account_events(&site);
    assert_eq!(
        count(&rows, "account_created", "dave@example.org"),
        1,
        "{rows:#?}"
    );
    let change: Vec<&Row> = rows
        .iter()
        .filter(|r| r["event"] == "account_changed" && r["account"] == "alice@example.org")
        .collect();
    assert_eq!(change.len(), 1, "{rows:#?}");
    assert!(
        change[0]["details"].contains("quota none -> 7000"),
        "{:?}",
        change[0]
    );
    // Restarting changes nothing.
    assert_eq!(server.stop(), Some(0));
    let server = site.start();
    assert_eq!(account_events(&site).len(), rows.len());
    drop(server);
}

#[test]
fn audit_a_restored_account_is_restored_not_created() {
    let site = Site::new(NO_DNS);
    site.add_account("alice@example.org");
    let server = site.start();
    for cmd in ["delete", "restore"] {
        let out = site.cli(&["account", cmd, "alice@example.org"], "");
        assert!(out.ok(), "{cmd}: {}", out.stderr);
    }
    std::thread::sleep(Duration::from_millis(1500)); // the watcher has seen every version
    let rows = account_events(&site);
    for event in ["account_created", "account_deleted", "account_restored"] {
        assert_eq!(
            count(&rows, event, "alice@example.org"),
            1,
            "{event}: {rows:#?}"
        );
    }
    assert_eq!(server.stop(), Some(0));
    // Offline, the same.
    for cmd in ["delete", "restore"] {
        let out = site.cli(&["account", cmd, "alice@example.org"], "");
        assert!(out.ok(), "{cmd}: {}", out.stderr);
    }
    let server = site.start();
    let rows = account_events(&site);
    assert_eq!(
        count(&rows, "account_created", "alice@example.org"),
        1,
        "{rows:#?}"
    );
    assert_eq!(
        count(&rows, "account_restored", "alice@example.org"),
        2,
        "{rows:#?}"
    );
    drop(server);
}
