//! DSN (RFC 3461) end to end, with real sockets and the running queue:
//! submissions by Python's smtplib with DSN parameters; next hops are a
//! second sealpost instance (which speaks DSN) or tests/smtp_sink.py
//! (with or without DSN). The sender, alice, is hosted on A, so every DSN
//! lands in her INBOX.

mod common;

use common::{ALICE, Server, Sink, route, submit_with, wait_queue_empty};
use std::time::Duration;

const CAROL: (&str, &str, &[&str]) = ("carol@example.net", "pw", &[]);

/// Alice's DSNs, as text.
fn dsns(a: &Server) -> Vec<String> {
    a.inbox("alice@example.org")
        .into_iter()
        .map(|m| String::from_utf8_lossy(&m).into_owned())
        .collect()
}

async fn wait_dsns(a: &Server, n: usize) -> Vec<String> {
    a.wait_inbox("alice@example.org", n, 20).await;
    dsns(a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_is_reported_by_the_dsn_speaking_next_hop_not_by_us() {
    // A (example.org) routes example.net to B; B routes example.org back to A.
    let b_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b_port = b_listener.local_addr().unwrap().port();
    let a = Server::start("example.org", &[ALICE], "", &route("example.net", b_port)).await;
    let b = Server::start_on(
        "example.net",
        &[CAROL],
        "",
        &route("example.org", a.smtp.port()),
        Some(b_listener),
    )
    .await;
    a.spawn_queue();
    b.spawn_queue();
    submit_with(
        &a,
        "carol@example.net",
        "dsn across",
        &["RET=HDRS", "ENVID=trip-42"],
        &["NOTIFY=SUCCESS", "ORCPT=rfc822;carol@example.net"],
    )
    .await;
    assert_eq!(b.wait_inbox("carol@example.net", 1, 20).await.len(), 1);
    let got = wait_dsns(&a, 1).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    let m = &got[0];
    // From B, about delivery into carol's mailbox, with what A passed on.
    assert!(m.contains("Reporting-MTA: dns; mx.example.net\r\n"), "{m}");
    assert!(m.contains("Action: delivered\r\nStatus: 2.0.0\r\n"), "{m}");
    assert!(
        m.contains("Original-Recipient: rfc822; carol@example.net\r\n"),
        "{m}"
    );
    assert!(m.contains("Original-Envelope-Id: trip-42\r\n"), "{m}");
    assert!(
        m.contains("Subject: dsn across") && !m.contains("the body"),
        "{m}"
    );
    // And no "relayed" DSN from A: B took the NOTIFY.
    wait_queue_empty(&a.queue, 20).await;
    wait_queue_empty(&b.queue, 20).await;
    assert_eq!(dsns(&a).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dsn_parameters_go_to_a_hop_that_advertises_dsn() {
    let sink = Sink::start(&["--dsn"]);
    let a = Server::start(
        "example.org",
        &[ALICE],
        "",
        &route("example.net", sink.port),
    )
    .await;
    a.spawn_queue();
    submit_with(
        &a,
        "carol@example.net",
        "params",
        &["RET=FULL", "ENVID=abc+2Bdef"],
        &["NOTIFY=SUCCESS,DELAY", "ORCPT=rfc822;Carol+40x@example.net"],
    )
    .await;
    let tx = sink.wait_accepted(1, 20).await;
    assert_eq!(tx.len(), 1);
    let mail = tx[0]["mail"].as_str().unwrap();
    assert!(mail.starts_with("MAIL FROM:<alice@example.org>"), "{mail}");
    assert!(
        mail.contains(" RET=FULL") && mail.contains(" ENVID=abc+2Bdef"),
        "{mail}"
    );
    let rcpt = tx[0]["rcpts"][0].as_str().unwrap();
    assert_eq!(
        rcpt,
        "RCPT TO:<carol@example.net> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;Carol+40x@example.net"
    );
    wait_queue_empty(&a.queue, 20).await;
    assert!(dsns(&a).is_empty(), "the next hop reports success, not us");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relayed_dsn_when_the_next_hop_does_not_speak_dsn() {
    let sink = Sink::start(&[]);
    let a = Server::start(
        "example.org",
        &[ALICE],
        "",
        &route("example.net", sink.port),
    )
    .await;
    a.spawn_queue();
    submit_with(
        &a,
        "carol@example.net",
        "relayed",
        &["ENVID=e1"],
        &["NOTIFY=SUCCESS", "ORCPT=rfc822;carol@example.net"],
    )
    .await;
    let tx = sink.wait_accepted(1, 20).await;
    assert_eq!(tx.len(), 1);
    // Nothing the hop did not advertise.
    assert_eq!(tx[0]["rcpts"][0], "RCPT TO:<carol@example.net>");
    assert!(!tx[0]["mail"].as_str().unwrap().contains("ENVID"));
    let got = wait_dsns(&a, 1).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert!(m.contains("Reporting-MTA: dns; mx.example.org\r\n"), "{m}");
    assert!(
        m.contains("Action: relayed\r\nStatus: 2.0.0\r\nRemote-MTA: dns; 127.0.0.1\r\n"),
        "{m}"
    );
    assert!(m.contains("Original-Envelope-Id: e1\r\n"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_dsn_once_while_the_hop_is_busy_then_nothing_on_delivery() {
    let sink = Sink::start(&[]);
    sink.hold();
    let a = Server::start(
        "example.org",
        &[ALICE],
        "retry_initial_secs = 1\nretry_max_secs = 1\ndelay_warning_secs = 2",
        &route("example.net", sink.port),
    )
    .await;
    a.spawn_queue();
    submit_with(
        &a,
        "carol@example.net",
        "slow",
        &[],
        &["NOTIFY=DELAY,FAILURE"],
    )
    .await;
    let got = wait_dsns(&a, 1).await;
    assert_eq!(got.len(), 1);
    assert!(
        got[0].contains("Action: delayed\r\nStatus: 4.3.0\r\n"),
        "{}",
        got[0]
    );
    assert!(got[0].contains("451 4.3.0 try again later"), "{}", got[0]);
    // Keep it busy for a few more attempts: still one.
    for _ in 0..100 {
        if a.queue.list().unwrap()[0].attempts >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(a.queue.list().unwrap()[0].attempts >= 4);
    assert_eq!(dsns(&a).len(), 1);
    sink.release();
    assert_eq!(sink.wait_accepted(1, 20).await.len(), 1);
    wait_queue_empty(&a.queue, 20).await;
    assert_eq!(dsns(&a).len(), 1, "no SUCCESS asked: no DSN on delivery");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_never_gets_neither_delay_nor_failure_dsn() {
    let sink = Sink::start(&["--rcpt", "550"]);
    sink.hold();
    let a = Server::start(
        "example.org",
        &[ALICE],
        "retry_initial_secs = 1\nretry_max_secs = 1\ndelay_warning_secs = 1",
        &route("example.net", sink.port),
    )
    .await;
    a.spawn_queue();
    submit_with(&a, "carol@example.net", "never", &[], &["NOTIFY=NEVER"]).await;
    for _ in 0..100 {
        if a.queue.list().unwrap()[0].attempts >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sink.release();
    // Now the hop refuses the recipient for good: failed, no bounce.
    wait_queue_empty(&a.queue, 20).await;
    assert!(
        sink.transactions().iter().any(|t| t["reply"] == 550),
        "{:?}",
        sink.transactions()
    );
    assert!(dsns(&a).is_empty(), "NOTIFY=NEVER: {:#?}", dsns(&a));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_a_4xx_reply_from_the_next_hop_delivers_once() {
    // The first DATA gets 451, the second 250.
    let sink = Sink::start(&["--data", "451,250"]);
    let a = Server::start(
        "example.org",
        &[ALICE],
        "retry_initial_secs = 1\nretry_max_secs = 1",
        &route("example.net", sink.port),
    )
    .await;
    a.spawn_queue();
    submit_with(&a, "carol@example.net", "retried", &[], &[]).await;
    let tx = sink.wait_accepted(1, 20).await;
    assert_eq!(tx.len(), 1);
    wait_queue_empty(&a.queue, 20).await;
    let all = sink.transactions();
    let replies: Vec<_> = all.iter().map(|t| t["reply"].clone()).collect();
    assert_eq!(replies, vec![451, 250], "{all:?}");
    assert!(
        all[1]["data"]
            .as_str()
            .unwrap()
            .contains("Subject: retried")
    );
    assert!(dsns(&a).is_empty(), "a retried success is no failure");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_bounce_for_a_null_sender_dsn_that_fails() {
    // Inbound mail from a remote sender asks for NOTIFY=SUCCESS; the
    // delivered DSN goes out with the null sender to a hop that refuses it:
    // nobody may be told about that.
    let sink = Sink::start(&["--rcpt", "550"]);
    let a = Server::start(
        "example.org",
        &[ALICE],
        "",
        &route("example.net", sink.port),
    )
    .await;
    a.spawn_queue();
    let r = common::submit_py(serde_json::json!({
        "port": a.smtp.port(),
        "tls": "starttls",
        "from": "dave@example.net",
        "to": ["alice@example.org"],
        "subject": "inbound with notify",
        "rcpt_options": ["NOTIFY=SUCCESS"],
    }))
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(a.inbox("alice@example.org").len(), 1);
    for _ in 0..200 {
        if !sink.transactions().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_queue_empty(&a.queue, 20).await;
    let tx = sink.transactions();
    assert_eq!(tx.len(), 1, "{tx:?}");
    assert!(
        tx[0]["mail"].as_str().unwrap().starts_with("MAIL FROM:<> "),
        "{tx:?}"
    );
    assert!(
        tx[0]["rcpts"][0]
            .as_str()
            .unwrap()
            .starts_with("RCPT TO:<dave@example.net>")
    );
    assert_eq!(tx[0]["reply"], 550);
    // Nothing more was queued, and no one here got a bounce.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(a.queue.list().unwrap().is_empty());
    assert_eq!(a.inbox("alice@example.org").len(), 1);
    assert_eq!(sink.transactions().len(), 1);
}
