//! The operator's `queue bounce|hold|delete` racing a delivery attempt of
//! the same message on another node, over one shared PostgreSQL queue: two
//! real `sealpost` nodes, a next hop on loopback (tests/smtp_sink.py) that
//! keeps the attempt in flight for as long as the test wants (`--stall`).
//!
//! What must hold (see `sealpost_smtp::queue::control`): the attempt and
//! the operator's action never overlap. An action that finds the attempt
//! in flight waits for it; if the attempt ends in time the action acts on
//! what the attempt left (a delivered message is not bounced: no DSN, the
//! bounce says the message is gone), otherwise it is refused with one
//! clear line and changes nothing. A hold that waited for a deferred
//! attempt lands and stays (the attempt's result does not undo it).
//!
//! The same on one node with the embedded store (the admin socket and the
//! runner in one process). The cluster tests need `SEALPOST_TEST_PG`
//! (`tests/pg.sh start`) and fail without it.

mod cluster_support;
mod common;
mod smtp_support;

use cluster_support::*;
use common::*;
use smtp_support::*;
use std::time::{Duration, Instant};

const DSN_SUBJECT: &str = "Undelivered Mail Returned to Sender";
const BUSY: &str = "a delivery attempt (or another queue command) is in progress";

fn racing_cluster(sink: &Sink) -> Cluster {
    cluster(&format!(
        "[smtp]\nretry_initial_secs = 1\nretry_max_secs = 1\nrelay_timeout_secs = 60\n{}",
        route("remote.example", sink.port)
    ))
}

/// Waits until a delivery attempt hangs at the stalled sink.
fn attempt_in_flight(sink: &Sink, c: &Cluster) {
    let waiting = sink.dir.path().join("stall.waiting");
    assert!(
        wait_for(Duration::from_secs(20), || waiting.exists()),
        "no attempt reached the sink\nnode 1:\n{}\nnode 2:\n{}",
        c.node1().log(),
        c.node2.log()
    );
}

/// The one queued id, as `queue list` on `site` shows it.
fn only_id(site: &Site) -> String {
    let out = site.cli(&["queue", "list"], "");
    assert!(out.ok(), "{}", out.stderr);
    let ids: Vec<String> = out
        .stdout
        .lines()
        .filter(|l| l.contains('\t'))
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 1, "{}", out.stdout);
    ids[0].clone()
}

/// `queue show ID` on `site`, as `key: value` lines.
fn show(site: &Site, id: &str) -> String {
    let out = site.cli(&["queue", "show", id], "");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    out.stdout
}

#[test]
fn a_bounce_never_overlaps_a_delivery_attempt_on_another_node() {
    let sink = Sink::start(&[]);
    sink.stall();
    let c = racing_cluster(&sink);
    assert!(try_submit(
        &c.site1,
        c.node1(),
        "carol@remote.example",
        "race-bounce"
    ));
    attempt_in_flight(&sink, &c);
    let id = only_id(&c.site2);

    // The attempt stays in flight longer than an action waits: refused,
    // on either node, in one line, and nothing changes.
    for (site, action) in [(&c.site2, "bounce"), (&c.site1, "delete")] {
        let started = Instant::now();
        let out = site.cli(&["queue", action, &id], "");
        assert_eq!(out.code, 1, "{action}: {}{}", out.stdout, out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(out.stderr.contains(BUSY), "{action}: {}", out.stderr);
        assert!(out.stderr.contains(&id), "{}", out.stderr);
        assert!(started.elapsed() >= Duration::from_secs(4), "did not wait");
    }
    assert!(show(&c.site1, &id).contains("state: queued"));

    // A bounce asked while the attempt is in flight, which then delivers:
    // the bounce waits, finds the message delivered and says so; no DSN.
    let bounce = std::thread::scope(|s| {
        let bounce = s.spawn(|| c.site2.cli(&["queue", "bounce", &id], ""));
        std::thread::sleep(Duration::from_millis(1500));
        sink.unstall();
        bounce.join().unwrap()
    });
    assert_eq!(bounce.code, 1, "{}{}", bounce.stdout, bounce.stderr);
    assert!(
        bounce.stderr.contains(&format!("no queued message {id}")),
        "{}",
        bounce.stderr
    );
    let delivered = sink.wait_accepted(1, Duration::from_secs(20));
    assert_eq!(subjects_at(&sink), vec!["race-bounce".to_string()]);
    assert_eq!(delivered.len(), 1);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        count(&c.site1, c.node1(), "alice@example.org", DSN_SUBJECT),
        0,
        "a delivered message was bounced too"
    );
    assert_eq!(sink.accepted().len(), 1, "delivered twice");
}

#[test]
fn a_hold_that_waited_for_a_deferred_attempt_lands_and_stays() {
    let sink = Sink::start(&["--data", "451"]);
    sink.stall();
    let c = racing_cluster(&sink);
    assert!(try_submit(
        &c.site1,
        c.node1(),
        "carol@remote.example",
        "race-hold"
    ));
    attempt_in_flight(&sink, &c);
    let id = only_id(&c.site1);

    let hold = std::thread::scope(|s| {
        let hold = s.spawn(|| c.site2.cli(&["queue", "hold", &id], ""));
        std::thread::sleep(Duration::from_millis(1500));
        sink.unstall();
        hold.join().unwrap()
    });
    assert!(hold.ok(), "{}{}", hold.stdout, hold.stderr);
    assert!(
        hold.stdout.starts_with(&format!("{id} held")),
        "{}",
        hold.stdout
    );
    // The attempt's result (deferred, one attempt) is there, and so is the hold.
    let shown = show(&c.site1, &id);
    assert!(shown.contains("state: held"), "{shown}");
    assert!(shown.contains("attempts: 1"), "{shown}");
    assert!(shown.contains("last reply: 451 4.3.0"), "{shown}");
    // No node attempts it while held, though retries are due every second.
    let tried = sink.transactions().len();
    assert_eq!(tried, 1);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(sink.transactions().len(), tried, "attempted while held");
    assert!(show(&c.site2, &id).contains("state: held"));

    // Released on the other node: attempted again.
    let out = c.site1.cli(&["queue", "release", &id], "");
    assert!(out.ok(), "{}", out.stderr);
    assert!(
        wait_for(Duration::from_secs(15), || sink.transactions().len()
            > tried),
        "no attempt after release"
    );
}

#[test]
fn on_one_embedded_node_a_bounce_waits_for_the_attempt_in_flight_too() {
    let sink = Sink::start(&[]);
    sink.stall();
    let site = smtp_support::site(&format!(
        "[smtp]\nretry_initial_secs = 1\nretry_max_secs = 1\nrelay_timeout_secs = 60\n{}",
        route("remote.example", sink.port)
    ));
    let server = site.start();
    assert!(try_submit(
        &site,
        &server,
        "carol@remote.example",
        "one-node"
    ));
    let waiting = sink.dir.path().join("stall.waiting");
    assert!(
        wait_for(Duration::from_secs(20), || waiting.exists()),
        "{}",
        server.log()
    );
    let id = only_id(&site);
    let out = site.cli(&["queue", "bounce", &id], "");
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains(BUSY), "{}", out.stderr);
    let bounce = std::thread::scope(|s| {
        let bounce = s.spawn(|| site.cli(&["queue", "bounce", &id], ""));
        std::thread::sleep(Duration::from_millis(1500));
        sink.unstall();
        bounce.join().unwrap()
    });
    assert!(
        bounce.stderr.contains(&format!("no queued message {id}")),
        "{}{}",
        bounce.stdout,
        bounce.stderr
    );
    assert_eq!(sink.wait_accepted(1, Duration::from_secs(20)).len(), 1);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        count(&site, &server, "alice@example.org", DSN_SUBJECT),
        0,
        "a delivered message was bounced too"
    );
}
