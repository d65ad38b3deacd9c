//! A domain's DKIM keys reach every node of a cluster: `sealpost domain
//! add` on node 1 makes keys in node 1's config folder only, and mail
//! submitted on node 2 for the new domain is signed with them (verified by
//! mail-auth against records openssl derives from node 1's key files);
//! a rotation activated on node 1 is what node 2 signs with within 2 s.
//! Two real nodes over one PostgreSQL database.
//!
//! Needs `SEALPOST_TEST_PG` (`tests/pg.sh start`); fails without it.

mod cluster_support;
mod common;
mod domains_support;

use cluster_support::*;
use common::*;
use domains_support::*;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CAROL: &str = "carol@new.example";

/// The `dkim SELECTOR (ALGORITHM): PATH` lines of `domain add`, the
/// `pending: ...` ones of `dkim rotate`.
fn selectors(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| {
            let rest = l
                .strip_prefix("dkim ")
                .or_else(|| l.strip_prefix("pending: "))?;
            let (sel, path) = rest.split_once(": ")?;
            Some((sel.split(' ').next()?.to_string(), path.to_string()))
        })
        .collect()
}

/// Carol submits `subject` to Alice through node 2; whether node 2 took it.
fn submit_on_2(c: &Cluster, subject: &str) -> bool {
    let r = send(
        &c.site2,
        &c.node2,
        "submissions",
        json!({"user": CAROL, "password": PASSWORD, "from": CAROL,
               "to": ["alice@example.org"], "subject": subject}),
    );
    r["ok"] == true
}

/// The selectors that signed the message, each with whether mail-auth
/// verified it against node 1's key files `keys`.
fn signatures(c: &Cluster, subject: &str, keys: &[(String, String)]) -> Vec<(String, bool)> {
    let raw = fetch_raw(&c.site2, &c.node2, "alice@example.org", subject);
    let records: Vec<(String, String)> = keys
        .iter()
        .map(|(sel, path)| {
            (
                format!("{sel}._domainkey.new.example"),
                openssl_record(&c.site1.path(path)),
            )
        })
        .collect();
    let mut got = dkim_verify(&raw, &Records::new(&records));
    got.sort();
    got
}

/// Submits through node 2 until what it signs with is `want` (selector,
/// verified); returns when the first message so signed was submitted,
/// which must be within `within`.
fn signed_on_2_with(
    c: &Cluster,
    keys: &[(String, String)],
    want: &[(String, bool)],
    within: Duration,
) -> Duration {
    static SENT: AtomicUsize = AtomicUsize::new(0);
    let start = Instant::now();
    loop {
        // Every message its own subject: fetched by it.
        let n = SENT.fetch_add(1, Ordering::Relaxed);
        let subject = format!("from node 2, {n}");
        let sent_at = start.elapsed();
        let got = if submit_on_2(c, &subject) {
            signatures(c, &subject, keys)
        } else {
            Vec::new()
        };
        if got == want {
            assert!(sent_at < within, "took {sent_at:?}");
            return sent_at;
        }
        assert!(
            start.elapsed() < within,
            "node 2 signs with {got:?}, not {want:?}\nnode 2 log:\n{}",
            c.node2.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn keys_made_on_node_1_sign_on_node_2_and_follow_a_rotation() {
    let c = cluster("");
    let add = c.site1.cli(&["domain", "add", "new.example"], "");
    assert!(add.ok(), "{}{}", add.stdout, add.stderr);
    let keys = selectors(&add.stdout);
    assert_eq!(keys.len(), 2, "{}", add.stdout);
    c.site1.add_account(CAROL);
    // Node 2 has no key file and its config names none.
    let file2 = std::fs::read_to_string(&c.site2.config).unwrap();
    assert!(!file2.contains("new.example"), "{file2}");
    let want: Vec<(String, bool)> = {
        let mut w: Vec<_> = keys.iter().map(|(s, _)| (s.clone(), true)).collect();
        w.sort();
        w
    };
    let took = signed_on_2_with(&c, &keys, &want, Duration::from_secs(3));
    eprintln!("node 2 signed with node 1's keys {took:?} after domain add");

    // Rotation on node 1: pending keys do not sign anywhere; once
    // activated, node 2 signs with them within 2 s.
    let rotate = c.site1.cli(&["dkim", "rotate", "new.example"], "");
    assert!(rotate.ok(), "{}{}", rotate.stdout, rotate.stderr);
    let new = selectors(&rotate.stdout);
    assert_eq!(new.len(), 2, "{}", rotate.stdout);
    std::thread::sleep(Duration::from_secs(1));
    assert!(submit_on_2(&c, "while pending"));
    assert_eq!(signatures(&c, "while pending", &keys), want);
    let activate = c
        .site1
        .cli(&["dkim", "activate", "new.example", "--force"], "");
    assert!(activate.ok(), "{}{}", activate.stdout, activate.stderr);
    let want_new: Vec<(String, bool)> = {
        let mut w: Vec<_> = new.iter().map(|(s, _)| (s.clone(), true)).collect();
        w.sort();
        w
    };
    let all: Vec<(String, String)> = keys.iter().chain(&new).cloned().collect();
    let took = signed_on_2_with(&c, &all, &want_new, Duration::from_secs(2));
    eprintln!("node 2 signed with the rotated keys {took:?} after dkim activate");

    // Retired on node 1 (the old pair, forced past its grace period):
    // node 2 goes on signing with the new pair only.
    for (sel, _) in &keys {
        let out = c
            .site1
            .cli(&["dkim", "retire", "new.example", sel, "--force"], "");
        assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    }
    std::thread::sleep(Duration::from_secs(1));
    assert!(submit_on_2(&c, "after retire"));
    assert_eq!(signatures(&c, "after retire", &new), want_new);
}
