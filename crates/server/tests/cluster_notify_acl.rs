//! NOTIFY across two real `sealpost` nodes over one PostgreSQL database,
//! for grants: a mailbox shared, written to and revoked through node 1
//! after a NOTIFY SET on node 2 is told there as RFC 5465 5.9 says, and
//! a revocation on node 1 closes a session on node 2 that has the
//! mailbox selected (RFC 4314 5.1.1) (tests/cluster_notify_acl.py).
//!
//! Needs `SEALPOST_TEST_PG` (`tests/pg.sh start`, which `.ci/run` runs);
//! fails without it. Runs without `SEALPOST_E2E_STORE` (its own `[store]`).

mod cluster_support;
mod common;

use cluster_support::*;
use serde_json::json;

#[test]
fn grants_changed_on_node_1_reach_a_notify_session_on_node_2() {
    let c = cluster("");
    let out = c.script("cluster_notify_acl.py", json!({}));
    assert!(out.contains("ok"), "{out}");
}
