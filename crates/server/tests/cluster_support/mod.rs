//! Two real `sealpost` nodes over one fresh PostgreSQL database, as a
//! host runs them (the cluster end-to-end tests): one master key, one
//! certificate, one accounts file; each node its own data_dir, audit log
//! and listeners.
//!
//! Needs `SEALPOST_TEST_PG` (`tests/pg.sh start`); fails without it.

#![allow(dead_code)]

use crate::common::*;
use serde_json::json;

/// How long a dead node's claims last here (`[store] lease_secs`).
pub const LEASE_SECS: u64 = 3;

pub struct Cluster {
    pub site1: Site,
    pub node1: Option<Server>,
    pub site2: Site,
    pub node2: Server,
}

fn copy(from: &Site, to: &Site, rel: &str) {
    let dest = to.path(rel);
    let dir = dest.parent().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::copy(from.path(rel), &dest).unwrap();
}

/// Two nodes over a fresh database with `extra` config on both.
pub fn cluster(extra: &str) -> Cluster {
    assert!(
        std::env::var("SEALPOST_E2E_STORE").is_err(),
        "these tests bring their own [store]: run them without SEALPOST_E2E_STORE"
    );
    let pg = sealpost_store::testing::fresh_database();
    cluster_on(&pg.url, extra)
}

/// Two nodes over the (migrated) database at `url` with `extra` config on both.
pub fn cluster_on(url: &str, extra: &str) -> Cluster {
    let config = format!(
        "{extra}\n[store]\nbackend = \"postgresql\"\nurl = \"{url}\"\npool_size = 6\nlease_secs = {LEASE_SECS}\n"
    );
    let site1 = Site::new(&config);
    site1.add_account("alice@example.org");
    site1.add_account("bob@example.net");
    let node1 = site1.start();
    // The second node: the same master key (data keys are wrapped by it),
    // certificate and accounts file (one file every node reads, as on a
    // shared mount); its own data_dir and audit key.
    let site2 = Site::new(&config);
    for rel in ["keys/master.key", "certs/cert.pem", "certs/key.pem"] {
        copy(&site1, &site2, rel);
    }
    if site1.path("keys/restore.key").exists() {
        copy(&site1, &site2, "keys/restore.key");
    }
    let text = std::fs::read_to_string(&site2.config).unwrap();
    let shared = format!(
        "data_dir = \"data\"\naccounts = \"{}\"",
        site1.path("accounts.toml").display()
    );
    std::fs::write(
        &site2.config,
        text.replacen("data_dir = \"data\"", &shared, 1),
    )
    .unwrap();
    let node2 = site2.start();
    Cluster {
        site1,
        node1: Some(node1),
        site2,
        node2,
    }
}

impl Cluster {
    pub fn node1(&self) -> &Server {
        self.node1.as_ref().unwrap()
    }

    pub fn script(&self, script: &str, args: serde_json::Value) -> String {
        let (n1, n2) = (self.node1(), &self.node2);
        let mut v = json!({
            "cafile": self.site1.path("certs/cert.pem"),
            "user": "alice@example.org",
            "password": PASSWORD,
            "imaps_1": n1.addr("imaps").port(),
            "imaps_2": n2.addr("imaps").port(),
            "pop3s_1": n1.addr("pop3s").port(),
            "pop3s_2": n2.addr("pop3s").port(),
        });
        for (k, val) in args.as_object().unwrap() {
            v[k] = val.clone();
        }
        let out = python(script, &[&v.to_string()]);
        assert!(
            out.ok(),
            "{script}: {}{}\nnode 1 log:\n{}\nnode 2 log:\n{}",
            out.stdout,
            out.stderr,
            n1.log(),
            n2.log()
        );
        out.stdout
    }
}

/// Submits `subject` through `node` to `to`; whether it was acknowledged.
pub fn try_submit(site: &Site, node: &Server, to: &str, subject: &str) -> bool {
    let r = submit_json(site, node, to, subject);
    r.is_some_and(|r| r["ok"] == true)
}

/// The JSON answer of tests/smtp_submit.py for one submission through `node`
/// (`None` when the script failed).
pub fn submit_json(
    site: &Site,
    node: &Server,
    to: &str,
    subject: &str,
) -> Option<serde_json::Value> {
    let args = json!({
        "port": node.addr("submissions").port(),
        "cafile": site.path("certs/cert.pem"),
        "tls": "implicit",
        "user": "alice@example.org",
        "password": PASSWORD,
        "from": "alice@example.org",
        "to": [to],
        "subject": subject,
    });
    let out = python("smtp_submit.py", &[&args.to_string()]);
    if !out.ok() {
        return None;
    }
    serde_json::from_str(out.stdout.trim()).ok()
}
