//! A selected mailbox renamed, then deleted, through node 1 of two real
//! `sealpost` nodes over one PostgreSQL database, while a session on
//! node 2 has it selected (RFC 2180 3.4, 3.3; tests/cluster_mailbox_gone.py):
//! the rename leaves that session working (under the new name: a
//! CATENATE URL relative to the selected mailbox reads it), the delete
//! closes it with `* BYE`, unasked.
//!
//! Needs `SEALPOST_TEST_PG` (`tests/pg.sh start`, which `.ci/run` runs);
//! fails without it. Runs without `SEALPOST_E2E_STORE` (its own `[store]`).

mod cluster_support;
mod common;

use cluster_support::*;
use serde_json::json;

#[test]
fn a_mailbox_deleted_on_node_1_closes_its_session_on_node_2() {
    let c = cluster("");
    let out = c.script("cluster_mailbox_gone.py", json!({}));
    assert!(out.contains("ok"), "{out}");
}
