//! NOTIFY across two real `sealpost` nodes over one PostgreSQL database:
//! a mailbox created, subscribed, renamed, unsubscribed and deleted through
//! node 1 is told to a NOTIFY session on node 2 (tests/cluster_notify.py).
//!
//! Needs `SEALPOST_TEST_PG` (`tests/pg.sh start`, which `.ci/run` runs);
//! fails without it. Runs without `SEALPOST_E2E_STORE` (its own `[store]`).

mod cluster_support;
mod common;

use cluster_support::*;
use serde_json::json;

#[test]
fn hierarchy_changes_on_node_1_reach_a_notify_session_on_node_2() {
    let c = cluster("");
    let out = c.script("cluster_notify.py", json!({}));
    assert!(out.contains("ok"), "{out}");
}
