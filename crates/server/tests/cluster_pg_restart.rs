//! Two real nodes over one PostgreSQL server that is restarted under load
//! (`pg_ctl` stop and start, through tests/pg.sh pause|resume): both nodes
//! reconnect by themselves; an IMAP session in IDLE on node 2 from before
//! the restart hears a delivery through node 1 within a second of its 250
//! after it (node 2 catches up from the last MODSEQ it saw); no message
//! acknowledged during the whole run is lost; and the shared outbound
//! queue still works: an entry queued before the restart and one queued
//! after it are each delivered exactly once.
//!
//! Runs a private PostgreSQL instance (it is taken away: `pg_support`);
//! needs `SEALPOST_TEST_PG` as the sign that the PostgreSQL tests run.

mod cluster_support;
mod common;
mod pg_support;
mod smtp_support;

use cluster_support::*;
use pg_support::*;
use serde_json::json;
use smtp_support::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[test]
fn a_postgresql_restart_under_load_loses_nothing_and_idle_on_node_2_catches_up() {
    let pg = Instance::start();
    let opts = sealpost_store::PgOptions {
        url: pg.url.clone(),
        ..sealpost_store::testing::admin()
    };
    sealpost_store::migrate_schema(&opts).unwrap();
    let sink = Sink::start(&[]);
    sink.stall();
    let c = cluster_on(
        &pg.url,
        &format!(
            "[smtp]\nretry_initial_secs = 1\nretry_max_secs = 2\n{}",
            route("remote.example", sink.port)
        ),
    );
    // Queued before the restart, held there (the next hop stalls).
    assert!(try_submit(
        &c.site1,
        c.node1(),
        "carol@remote.example",
        "queued before"
    ));

    // Local deliveries through node 1 all along; every one acknowledged
    // must be there afterwards.
    let acked = Mutex::new(Vec::new());
    let refused = Mutex::new(0);
    let stop = AtomicBool::new(false);
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let subject = format!("load {i} end");
                if try_submit(&c.site1, c.node1(), "bob@example.net", &subject) {
                    acked.lock().unwrap().push(subject);
                } else {
                    *refused.lock().unwrap() += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                i += 1;
            }
        });
        wait_for(Duration::from_secs(20), || acked.lock().unwrap().len() >= 2);
        // IDLE on node 2, restart of the database inside it, delivery
        // through node 1 after it (tests/cluster_pg_restart.py).
        let out = c.script(
            "cluster_pg_restart.py",
            json!({
                "imaps": c.node2.addr("imaps").port(),
                "smtp": c.node1().addr("smtp").port(),
                "pg_sh": PG_SH,
                "pg_dir": pg.path(),
            }),
        );
        // Some load after the restart too.
        let n = acked.lock().unwrap().len();
        wait_for(Duration::from_secs(20), || {
            acked.lock().unwrap().len() >= n + 2
        });
        stop.store(true, Ordering::Relaxed);
        out
    });
    assert!(out.contains("ok"), "{out}");
    eprintln!("{}", out.lines().next().unwrap_or(""));
    let acked = acked.into_inner().unwrap();
    eprintln!(
        "{} acknowledged, {} refused while the database restarted",
        acked.len(),
        refused.into_inner().unwrap()
    );
    assert!(acked.len() >= 4, "{acked:?}");
    for s in &acked {
        let n = count(&c.site2, &c.node2, "bob@example.net", s);
        assert_eq!(n, 1, "{s}: {n} copies after the restart");
    }

    // The shared queue: one entry from before the restart, one after.
    assert!(try_submit(
        &c.site2,
        &c.node2,
        "carol@remote.example",
        "queued after"
    ));
    sink.unstall();
    let want = ["queued before", "queued after"];
    let all = wait_for(Duration::from_secs(30), || {
        let got = subjects_at(&sink);
        want.iter().all(|w| got.iter().any(|g| g == w))
    });
    let got = subjects_at(&sink);
    assert!(
        all,
        "delivered {got:?}\nnode 1 log:\n{}\nnode 2 log:\n{}",
        c.node1().log(),
        c.node2.log()
    );
    for w in want {
        assert_eq!(got.iter().filter(|g| *g == w).count(), 1, "{w}: {got:?}");
    }
}
