//! The outbound queue of the real binary: kill -9 right after the 250 for a
//! remote recipient, then a restart, delivers it exactly once; `sealpost
//! queue list` and `queue flush` against a running server (admin socket)
//! and offline. The next hop is tests/smtp_sink.py on loopback.

mod common;
mod smtp_support;

use common::*;
use smtp_support::*;
use std::time::Duration;

fn queue_list(site: &Site) -> String {
    let out = site.cli(&["queue", "list"], "");
    assert!(out.ok(), "queue list: {}", out.stderr);
    out.stdout
}

/// A site whose mail for remote.example goes to `sink`, retrying after `retry` s.
fn routed_site(sink: &Sink, retry: u64) -> Site {
    site(&format!(
        "[smtp]\nretry_initial_secs = {retry}\nretry_max_secs = {retry}\nrelay_timeout_secs = 10\n{}",
        route("remote.example", sink.port)
    ))
}

#[test]
fn kill_9_right_after_250_for_a_remote_recipient_then_restart_delivers_exactly_once() {
    let sink = Sink::start(&[]);
    // The next hop is busy while the server runs, so no delivery can race the kill.
    sink.hold();
    let site = routed_site(&sink, 1);
    let server = site.start();
    for i in 0..3 {
        submit_as_alice(
            &site,
            &server,
            "submissions",
            "carol@remote.example",
            &format!("crash-remote {i}"),
        );
    }
    server.kill9();
    assert!(sink.accepted().is_empty());
    sink.release();
    let server = site.start();
    let got = sink.wait_accepted(3, Duration::from_secs(30));
    assert_eq!(got.len(), 3, "{got:?}\nlog:\n{}", server.log());
    for i in 0..3 {
        let subject = format!("Subject: crash-remote {i}\r\n");
        let n = got
            .iter()
            .filter(|t| t["data"].as_str().unwrap().contains(&subject))
            .count();
        assert_eq!(n, 1, "crash-remote {i} arrived {n} times");
    }
    assert!(
        wait_for(Duration::from_secs(20), || queue_list(&site)
            == "queue is empty\n"),
        "{}",
        queue_list(&site)
    );
    // Nothing is sent again later.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(sink.accepted().len(), 3);
}

/// Submits one message to the busy sink and waits for its first attempt.
fn deferred(site: &Site, server: &Server, subject: &str) -> String {
    submit_as_alice(site, server, "submission", "carol@remote.example", subject);
    let mut list = String::new();
    assert!(
        wait_for(Duration::from_secs(20), || {
            list = queue_list(site);
            list.contains("attempts=1")
        }),
        "{list}"
    );
    list
}

#[test]
fn queue_list_and_flush_through_the_admin_socket() {
    let sink = Sink::start(&[]);
    sink.hold();
    // An hour between attempts: only a flush gets it out soon.
    let site = routed_site(&sink, 3600);
    let server = site.start();
    let list = deferred(&site, &server, "flush-me");
    assert_eq!(list.lines().count(), 1, "{list}");
    let fields: Vec<&str> = list.trim_end().split('\t').collect();
    assert_eq!(fields.len(), 7, "{list}");
    assert_eq!(fields[0].len(), 22, "id: {list}");
    assert!(fields[1].starts_with("queued=20"), "{list}");
    assert_eq!(fields[2], "attempts=1");
    assert!(fields[3].starts_with("next=20"), "{list}");
    assert!(fields[4].starts_with("size="), "{list}");
    assert_eq!(fields[5], "from=alice@example.org");
    assert_eq!(
        fields[6],
        "to=carol@remote.example (pending: 451 4.3.0 try again later)"
    );
    sink.release();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(sink.accepted().is_empty(), "retried before its time");
    let out = site.cli(&["queue", "flush"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert_eq!(out.stdout, "every queued message is due now\n");
    assert_eq!(sink.wait_accepted(1, Duration::from_secs(20)).len(), 1);
    assert!(
        wait_for(Duration::from_secs(20), || queue_list(&site)
            == "queue is empty\n"),
        "{}",
        queue_list(&site)
    );
}

#[test]
fn queue_list_and_flush_offline_then_delivered_at_start() {
    let sink = Sink::start(&[]);
    sink.hold();
    let site = routed_site(&sink, 3600);
    let server = site.start();
    let online = deferred(&site, &server, "offline-flush");
    assert_eq!(server.stop(), Some(0));
    // Offline, the CLI reads the queue itself: the same line.
    assert_eq!(queue_list(&site), online);
    sink.release();
    let out = site.cli(&["queue", "flush"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "1 queued message(s) due now; the server tries them as soon as it starts\n"
    );
    let server = site.start();
    let got = sink.wait_accepted(1, Duration::from_secs(20));
    assert_eq!(got.len(), 1, "log:\n{}", server.log());
    assert!(
        got[0]["data"]
            .as_str()
            .unwrap()
            .contains("Subject: offline-flush")
    );
}

#[test]
fn queue_cli_on_an_empty_queue() {
    let site = site("");
    // No server has made the embedded store yet: refused, nothing made
    // (ops_offline_store). Over PostgreSQL the store is the database.
    if std::env::var("SEALPOST_E2E_STORE").as_deref() != Ok("postgresql") {
        let out = site.cli(&["queue", "flush"], "");
        assert_eq!(out.code, 1, "{}", out.stdout);
        assert!(
            out.stderr.contains("holds no sealpost store"),
            "{}",
            out.stderr
        );
        assert_eq!(site.start().stop(), Some(0));
    }
    let out = site.cli(&["queue", "flush"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert!(
        out.stdout.starts_with("0 queued message(s) due now"),
        "{}",
        out.stdout
    );
    assert_eq!(queue_list(&site), "queue is empty\n");
    let server = site.start();
    assert_eq!(queue_list(&site), "queue is empty\n");
    let out = site.cli(&["queue", "flush"], "");
    assert_eq!(out.stdout, "every queued message is due now\n");
    drop(server);
}
