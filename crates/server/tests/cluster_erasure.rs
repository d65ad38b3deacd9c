//! A purge erases the account's audit records on every node of a cluster,
//! not only on the node that ran it (GDPR article 17 across nodes): two
//! real nodes over one PostgreSQL database, each with its own audit log.
//! The account logs in on both; node 1 purges it; node 2's log no longer
//! names it (its export shows the records anonymized, its files' bytes
//! hold no address) and both logs still verify. A node that was down at
//! the time applies the erasure when it is back, and until then the
//! purge's report names it as pending.
//!
//! Needs `SEALPOST_TEST_PG` (`tests/pg.sh start`); fails without it.

mod audit_support;
mod cluster_support;
mod common;

use audit_support::{DAY, Row, audit_rows, events, now, retention_run, wait_for};
use cluster_support::*;
use common::*;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const ALICE: &str = "alice@example.org";

fn login(site: &Site, node: &Server, user: &str) -> String {
    let args = json!({
        "cafile": site.path("certs/cert.pem"),
        "imaps": node.addr("imaps").port(),
        "user": user,
        "password": PASSWORD,
    });
    python("imap_login.py", &[&args.to_string()]).stdout
}

/// Node 2's audit log, exported from its folder with the common master key.
fn rows_of(site: &Site) -> Vec<Row> {
    let dir = site.path("data/audit").display().to_string();
    audit_rows(site, &["--dir", &dir])
}

fn logins_of(rows: &[Row], account: &str) -> usize {
    events(rows, "login")
        .iter()
        .filter(|r| r["account"] == account)
        .count()
}

/// (file, needle) for each of Alice's names found in a file under `dir`
/// (recursively).
fn grep(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            found.extend(grep(&e.path()));
            continue;
        }
        let bytes = std::fs::read(e.path()).unwrap();
        for n in [ALICE, "alice", "ALICE"] {
            if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                found.push((e.path().display().to_string(), n.to_string()));
            }
        }
    }
    found
}

/// Both nodes' logs verify, each from its own folder.
fn verify_both(site1: &Site, site2: &Site) {
    let (d1, d2) = (
        site1.path("data/audit").display().to_string(),
        site2.path("data/audit").display().to_string(),
    );
    let out = site1.cli(&["audit", "verify", "--dir", &d1, "--dir", &d2], "");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
}

/// Alice logs in on both nodes; node 2's log names her (the control).
fn logged_in_on_both(c: &Cluster) {
    assert_eq!(login(&c.site1, c.node1(), ALICE).trim(), "OK");
    assert_eq!(login(&c.site2, &c.node2, ALICE).trim(), "OK");
    assert_eq!(login(&c.site2, &c.node2, "bob@example.net").trim(), "OK");
    assert!(
        wait_for(Duration::from_secs(5), || logins_of(
            &rows_of(&c.site2),
            ALICE
        ) == 1
            && logins_of(&rows_of(&c.site2), "bob@example.net") == 1),
        "node 2's log does not show Alice's login"
    );
}

/// Node 2's log has erased Alice: no row names her, her login is there
/// anonymized, Bob's is untouched, no file holds her address.
fn erased_on_node_2(site2: &Site) {
    let rows = rows_of(site2);
    for row in &rows {
        for cell in row.values() {
            assert!(!cell.contains("alice"), "{row:?}");
        }
    }
    assert_eq!(logins_of(&rows, "[anonymized]"), 1, "{rows:?}");
    assert_eq!(logins_of(&rows, "bob@example.net"), 1, "{rows:?}");
    let found = grep(&site2.path("data/audit"));
    assert!(found.is_empty(), "{found:?}");
}

/// Deletes Alice through node 1 and waits until `node2` has taken the
/// shared accounts file again (each node records the deletion as it sees
/// it; a purge 46 days later, simulated here, comes after that).
fn delete_alice(site1: &Site, node2: Option<&Server>) {
    const RELOADED: &str = "accounts file changed: reloaded";
    let before = node2.map(|n| n.log().matches(RELOADED).count());
    let out = site1.cli(&["account", "delete", ALICE], "");
    assert!(out.ok(), "{}", out.stderr);
    if let (Some(n), Some(before)) = (node2, before) {
        assert!(
            wait_for(Duration::from_secs(5), || n.log().matches(RELOADED).count()
                > before),
            "node 2 did not reload the accounts file\n{}",
            n.log()
        );
    }
}

fn node_id(site: &Site) -> String {
    std::fs::read_to_string(site.path("data/node-id"))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn a_purge_on_node_1_erases_the_account_from_node_2s_audit_log() {
    let c = cluster("");
    logged_in_on_both(&c);
    delete_alice(&c.site1, Some(&c.node2));
    let report = retention_run(&c.site1, now() + 46 * DAY);
    assert!(report.contains("purged 1 account(s)"), "{report}");
    // Node 2's worker looks every 2 s.
    assert!(
        wait_for(Duration::from_secs(10), || logins_of(
            &rows_of(&c.site2),
            ALICE
        ) == 0),
        "node 2 did not erase Alice\nnode 2 log:\n{}",
        c.node2.log()
    );
    erased_on_node_2(&c.site2);
    verify_both(&c.site1, &c.site2);
    // Every known node applied it: the next report has nothing pending.
    let again = retention_run(&c.site1, now());
    assert!(!again.contains("not yet on"), "{again}");
}

#[test]
fn a_node_down_at_the_purge_erases_when_it_is_back_and_is_reported_until_then() {
    let c = cluster("");
    logged_in_on_both(&c);
    let id2 = node_id(&c.site2);
    let id1 = node_id(&c.site1);
    assert_ne!(id1, id2);
    // Node 2 goes down; node 1 purges meanwhile.
    let Cluster {
        site1,
        node1,
        site2,
        node2,
    } = c;
    assert_eq!(node2.stop(), Some(0));
    let _node1 = node1;
    delete_alice(&site1, None);
    let report = retention_run(&site1, now() + 46 * DAY);
    assert!(report.contains("purged 1 account(s)"), "{report}");
    assert!(
        report.contains("applied on 1 of 2 known node(s); not yet on ")
            && report.contains(&id2)
            && !report.contains(&format!("not yet on {id1}")),
        "{report}"
    );
    // Still pending while node 2 is down.
    let pending = retention_run(&site1, now());
    assert!(pending.contains(&format!("not yet on {id2}")), "{pending}");
    // Back: it applies the erasure at start, without being told.
    let node2 = site2.start();
    assert!(
        wait_for(Duration::from_secs(10), || logins_of(
            &rows_of(&site2),
            ALICE
        ) == 0),
        "node 2 did not erase Alice after its restart\nnode 2 log:\n{}",
        node2.log()
    );
    erased_on_node_2(&site2);
    verify_both(&site1, &site2);
    let done = retention_run(&site1, now());
    assert!(!done.contains("not yet on"), "{done}");

    // `store nodes` lists both, nothing owed; a retired node is forgotten.
    let nodes = site1.cli(&["store", "nodes"], "");
    assert!(nodes.ok(), "{}", nodes.stderr);
    assert!(
        nodes.stdout.contains(&id1) && nodes.stdout.contains(&id2),
        "{}",
        nodes.stdout
    );
    assert!(!nodes.stdout.contains("not yet on"), "{}", nodes.stdout);
    let bad = site1.cli(&["store", "forget-node", "../etc"], "");
    assert!(!bad.ok());
    assert_eq!(bad.stderr.lines().count(), 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("not a node id"), "{}", bad.stderr);
    assert_eq!(node2.stop(), Some(0));
    let forgot = site1.cli(&["store", "forget-node", &id2], "");
    assert!(forgot.ok(), "{}", forgot.stderr);
    assert!(
        forgot.stdout.starts_with(&format!("forgot {id2}")),
        "{}",
        forgot.stdout
    );
    let nodes = site1.cli(&["store", "nodes"], "").stdout;
    assert!(nodes.contains(&id1) && !nodes.contains(&id2), "{nodes}");
}
