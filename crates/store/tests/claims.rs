//! Claims across nodes: two stores over one PostgreSQL database in one
//! process, as two sealpost nodes would be. A lease (a POP3 maildrop, the
//! retention run) is held by one node at a time and runs out when its node
//! stops renewing it; a shared queue entry is claimed by exactly one node.
//! The embedded store keeps the same exclusivity in process.
//!
//! Needs `SEALPOST_TEST_PG` (`tests/pg.sh start`); fails without it.

use sealpost_store::*;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Node {
    _dir: tempfile::TempDir,
    store: Store,
}

fn node(pg: &PgOptions, key: &std::path::Path) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(
        StoreOptions {
            data_dir: dir.path().join("data"),
            master_key: key.to_path_buf(),
            summarizer: Arc::new(NoSummary),
        },
        &BackendOptions::PostgreSql(pg.clone()),
    )
    .unwrap();
    Node { _dir: dir, store }
}

/// Two nodes over one fresh database with a short lease.
fn two_nodes(lease: Duration) -> (Node, Node, tempfile::TempDir) {
    let pg = PgOptions {
        lease,
        ..testing::fresh_database()
    };
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("master.key");
    (node(&pg, &key), node(&pg, &key), keys)
}

#[test]
fn a_lease_is_held_by_one_node_and_released_on_drop() {
    let (a, b, _keys) = two_nodes(Duration::from_secs(30));
    let held = a.store.try_lease("pop3/1").unwrap().expect("free");
    assert!(b.store.try_lease("pop3/1").unwrap().is_none(), "held by a");
    assert!(a.store.try_lease("pop3/1").unwrap().is_none(), "even on a");
    assert!(
        b.store.try_lease("pop3/2").unwrap().is_some(),
        "names are independent"
    );
    assert!(held.still_held().unwrap());
    drop(held);
    // The release is sent without waiting; it lands in milliseconds.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if b.store.try_lease("pop3/1").unwrap().is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "the released lease stays taken");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_heartbeat_keeps_a_lease_past_its_time() {
    let (a, b, _keys) = two_nodes(Duration::from_secs(1));
    let held = a.store.try_lease("retention").unwrap().expect("free");
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        b.store.try_lease("retention").unwrap().is_none(),
        "renewed by a's heartbeat"
    );
    assert!(held.still_held().unwrap());
}

#[test]
fn a_dead_nodes_lease_runs_out_and_another_node_takes_it() {
    let (a, b, _keys) = two_nodes(Duration::from_secs(1));
    let held = a.store.try_lease("pop3/7").unwrap().expect("free");
    // The node dies: no release is sent and its heartbeat stops.
    a.store.stop_renewing_claims();
    std::mem::forget(held);
    assert!(b.store.try_lease("pop3/7").unwrap().is_none(), "not yet");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(b.store.try_lease("pop3/7").unwrap().is_some(), "ran out");
}

#[test]
fn embedded_leases_are_exclusive_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreOptions {
        data_dir: dir.path().join("data"),
        master_key: dir.path().join("keys/master.key"),
        summarizer: Arc::new(NoSummary),
    })
    .unwrap();
    assert!(store.shared_queue().is_none(), "the spool files stay");
    let held = store.try_lease("pop3/1").unwrap().expect("free");
    assert!(store.try_lease("pop3/1").unwrap().is_none());
    drop(held);
    assert!(store.try_lease("pop3/1").unwrap().is_some());
}

#[test]
fn each_queue_entry_is_claimed_by_exactly_one_node() {
    let (a, b, _keys) = two_nodes(Duration::from_secs(30));
    let (qa, qb) = (
        a.store.shared_queue().unwrap(),
        b.store.shared_queue().unwrap(),
    );
    for i in 0..40 {
        qa.insert(&format!("{i:04}"), 100, b"sealed").unwrap();
    }
    qa.insert("later", 500, b"sealed").unwrap();
    let (ca, cb) = std::thread::scope(|s| {
        let ta = s.spawn(|| {
            let mut got = Vec::new();
            for _ in 0..8 {
                got.extend(qa.claim(200, 3).unwrap());
            }
            got
        });
        let tb = s.spawn(|| {
            let mut got = Vec::new();
            for _ in 0..8 {
                got.extend(qb.claim(200, 3).unwrap());
            }
            got
        });
        (ta.join().unwrap(), tb.join().unwrap())
    });
    let (sa, sb): (HashSet<_>, HashSet<_>) = (ca.iter().collect(), cb.iter().collect());
    assert_eq!(sa.len(), ca.len(), "a claimed nothing twice");
    assert!(sa.is_disjoint(&sb), "no entry went to both nodes");
    assert_eq!(ca.len() + cb.len(), 40, "every due entry, and only those");
    assert!(qb.claim(1000, 100).unwrap() == vec!["later".to_string()]);
    // Entries another node holds are due when its claims would run out.
    assert!(qa.next_due().unwrap().unwrap() > 1000);
}

#[test]
fn a_dead_nodes_queue_entries_go_to_another_node() {
    let (a, b, _keys) = two_nodes(Duration::from_secs(1));
    let qa = a.store.shared_queue().unwrap();
    qa.insert("m1", 10, b"sealed-1").unwrap();
    assert_eq!(qa.claim(20, 10).unwrap(), vec!["m1".to_string()]);
    drop(qa);
    drop(a);
    let qb = b.store.shared_queue().unwrap();
    assert!(qb.claim(20, 10).unwrap().is_empty(), "still a's");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(qb.claim(20, 10).unwrap(), vec!["m1".to_string()]);
    assert_eq!(qb.get("m1").unwrap().unwrap(), b"sealed-1");
    // Released, it is anyone's again; updated and removed like a file.
    qb.release("m1");
    assert!(qb.update("m1", 30, b"sealed-2").unwrap());
    qb.remove("m1").unwrap();
    assert!(!qb.update("m1", 30, b"x").unwrap(), "removed stays removed");
    assert!(qb.ids().unwrap().is_empty());
}
