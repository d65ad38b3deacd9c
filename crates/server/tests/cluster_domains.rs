//! A domain added on one node of a cluster is served by every node within
//! two seconds, though each node reads its own config file: two real
//! nodes over one PostgreSQL database; `sealpost domain add` through node
//! 1; node 2 accepts mail for the new domain's account within 2 s, and
//! stops once node 1 removes the domain again.
//!
//! Needs `SEALPOST_TEST_PG` (`tests/pg.sh start`); fails without it.

mod cluster_support;
mod common;

use cluster_support::*;
use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

const CAROL: &str = "carol@new.example";

/// `None` when `node` takes a message for `to` over SMTP (STARTTLS),
/// else its refusal of the recipient (the address left out).
fn refusal(site: &Site, node: &Server, to: &str) -> Option<String> {
    let args = json!({
        "cafile": site.path("certs/cert.pem"),
        "smtp": node.addr("smtp").port(),
        "to": to,
        "subject": "for the new domain",
    });
    let out = python("smtp_send.py", &[&args.to_string()]);
    if out.ok() && out.stdout.trim() == "250 0" {
        return None;
    }
    // A refusal is the recipient's 5xx, not a broken script.
    let at = out.stderr.find("SMTPRecipientsRefused");
    assert!(at.is_some(), "{}{}", out.stdout, out.stderr);
    Some(out.stderr[at.unwrap()..].replace(to, "RCPT"))
}

fn accepts(site: &Site, node: &Server, to: &str) -> bool {
    refusal(site, node, to).is_none()
}

/// Carol's entry in the shared accounts file (Alice's password hash):
/// refused by every node while no node hosts new.example.
fn add_carol_by_hand(site: &Site) {
    let file = site.path("accounts.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let at = text.find("address = \"alice@example.org\"").unwrap();
    let start = text[..at].rfind("[[account]]").unwrap();
    let end = text[at..]
        .find("[[account]]")
        .map_or(text.len(), |e| at + e);
    let carol = text[start..end].replace("alice@example.org", CAROL);
    std::fs::write(&file, format!("{text}\n{carol}")).unwrap();
}

#[test]
fn a_domain_added_on_node_1_is_served_on_node_2_within_2_seconds() {
    let c = cluster("");
    add_carol_by_hand(&c.site1);
    std::thread::sleep(Duration::from_secs(1));
    assert!(!accepts(&c.site2, &c.node2, CAROL), "not hosted yet");

    let add = c.site1.cli(&["domain", "add", "new.example"], "");
    assert!(add.ok(), "{}{}", add.stdout, add.stderr);
    let added = Instant::now();
    let mut served = false;
    while added.elapsed() < Duration::from_secs(2) {
        if accepts(&c.site2, &c.node2, CAROL) {
            served = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        served,
        "node 2 does not serve new.example 2 s after it was added on node 1\nnode 2 log:\n{}",
        c.node2.log()
    );
    eprintln!(
        "node 2 served the new domain {:?} after domain add",
        added.elapsed()
    );
    // Node 2's own config file was not touched.
    let file2 = std::fs::read_to_string(&c.site2.config).unwrap();
    assert!(!file2.contains("new.example"), "{file2}");

    // Removed on node 1 (Carol's entry first: a domain with accounts stays):
    // node 2 stops serving it too.
    let text = std::fs::read_to_string(c.site1.path("accounts.toml")).unwrap();
    let start = text.rfind("[[account]]").unwrap();
    assert!(text[start..].contains(CAROL));
    std::fs::write(c.site1.path("accounts.toml"), &text[..start]).unwrap();
    let mut removed = c.site1.cli(&["domain", "remove", "new.example"], "");
    let retry = Instant::now();
    while !removed.ok() && retry.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(200));
        removed = c.site1.cli(&["domain", "remove", "new.example"], "");
    }
    assert!(removed.ok(), "{}{}", removed.stdout, removed.stderr);
    // Refused as a domain never hosted is, not as an unknown user of it.
    let foreign = refusal(&c.site2, &c.node2, "x@never.example").unwrap();
    let unknown_user = refusal(&c.site2, &c.node2, "nobody@example.org").unwrap();
    assert_ne!(foreign, unknown_user);
    let gone = Instant::now();
    let mut now_refused = refusal(&c.site2, &c.node2, "x@new.example");
    while gone.elapsed() < Duration::from_secs(3) && now_refused.as_ref() != Some(&foreign) {
        std::thread::sleep(Duration::from_millis(100));
        now_refused = refusal(&c.site2, &c.node2, "x@new.example");
    }
    assert_eq!(now_refused, Some(foreign), "node 2 still hosts new.example");
}
