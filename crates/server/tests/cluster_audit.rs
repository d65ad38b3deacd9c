//! Each node of a cluster keeps its own sealed audit log, its segments
//! named by the node's id; `audit verify DIR1 DIR2` checks each chain on
//! its own and names the node whose log fails, `audit export DIR1 DIR2`
//! interleaves the nodes' records in time order with the node as last
//! column. Two real nodes over one PostgreSQL database.
//!
//! Needs `SEALPOST_TEST_PG` (`tests/pg.sh start`); fails without it.

mod audit_support;
mod cluster_support;
mod common;

use audit_support::{audit_rows, events, segments, wait_for};
use cluster_support::*;
use common::*;
use serde_json::json;
use std::time::Duration;

fn login(site: &Site, node: &Server, user: &str) {
    let args = json!({
        "cafile": site.path("certs/cert.pem"),
        "imaps": node.addr("imaps").port(),
        "user": user,
        "password": PASSWORD,
    });
    let out = python("imap_login.py", &[&args.to_string()]);
    assert_eq!(out.stdout.trim(), "OK", "{}", out.stderr);
}

fn node_id(site: &Site) -> String {
    std::fs::read_to_string(site.path("data/node-id"))
        .unwrap()
        .trim()
        .to_string()
}

fn audit_dir(site: &Site) -> String {
    site.path("data/audit").display().to_string()
}

/// The logins of the merged export as (account, node), in row order,
/// once both nodes' logs show `n` of them.
fn merged_logins(site: &Site, d1: &str, d2: &str, n: usize) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let shown = wait_for(Duration::from_secs(5), || {
        rows = audit_rows(site, &[d1, d2]);
        events(&rows, "login").len() == n
    });
    assert!(shown, "{rows:?}");
    let times: Vec<i64> = rows.iter().map(|r| r["time_ms"].parse().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "rows out of time order: {times:?}"
    );
    events(&rows, "login")
        .iter()
        .map(|r| (r["account"].clone(), r["node"].clone()))
        .collect()
}

#[test]
fn two_nodes_logs_verify_apart_and_export_merged_in_time_order() {
    let c = cluster("");
    let (id1, id2) = (node_id(&c.site1), node_id(&c.site2));
    assert_ne!(id1, id2);
    let (d1, d2) = (audit_dir(&c.site1), audit_dir(&c.site2));
    // Alternating logins: the merged export must interleave the logs.
    let (alice, bob) = ("alice@example.org", "bob@example.net");
    login(&c.site1, c.node1(), alice);
    login(&c.site2, &c.node2, bob);
    login(&c.site1, c.node1(), bob);
    login(&c.site2, &c.node2, alice);
    let want: Vec<(String, String)> = [(alice, &id1), (bob, &id2), (bob, &id1), (alice, &id2)]
        .iter()
        .map(|(a, n)| (a.to_string(), n.to_string()))
        .collect();
    assert_eq!(merged_logins(&c.site1, &d1, &d2, 4), want);

    // Every segment file of a node carries its own id.
    for (site, id) in [(&c.site1, &id1), (&c.site2, &id2)] {
        let segs = segments(site);
        assert!(!segs.is_empty());
        for s in &segs {
            assert!(s.starts_with(&format!("{id}.")), "{s} in {id}'s log");
        }
    }

    // Both verify, each chain on its own, each named by its node.
    let out = c.site1.cli(&["audit", "verify", &d1, &d2], "");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    for id in [&id1, &id2] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(&format!("{id} (")) && l.contains("audit log verified")),
            "{}",
            out.stdout
        );
    }

    // Node 2 stops (its last segment sealed); one of its records altered.
    let Cluster {
        site1,
        node1,
        site2,
        node2,
    } = c;
    assert_eq!(node2.stop(), Some(0));
    let name = segments(&site2)
        .into_iter()
        .find(|s| {
            let text = std::fs::read_to_string(site2.path(&format!("data/audit/{s}"))).unwrap();
            text.contains("\"event\":\"login\"")
        })
        .expect("a segment of node 2 holding a login");
    let path = site2.path(&format!("data/audit/{name}"));
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("\"event\":\"login\"", "\"event\":\"logiN\"", 1),
    )
    .unwrap();
    let out = site1.cli(&["audit", "verify", &d1, &d2], "");
    assert_ne!(out.code, 0, "{}", out.stdout);
    let last = out.stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains("failed for 1 of 2 folder(s)") && last.contains(&id2) && !last.contains(&id1),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .lines()
            .any(|l| l.starts_with(&format!("{id2} (")) && l.contains(&name)),
        "the failure names node 2's segment: {}",
        out.stderr
    );
    // Node 1's log alone still verifies.
    let out = site1.cli(&["audit", "verify", &d1], "");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    drop(node1);
}
