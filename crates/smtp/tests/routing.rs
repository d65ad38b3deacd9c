//! Next hops found through `[smtp.dns]` static MX and A records (no route
//! table), reached on `smtp.relay_port`, here the port of a recording sink
//! on loopback.

mod common;

use common::{ALICE, Server, Sink, submit_with, wait_queue_empty};
use std::time::Duration;

async fn server(sink: &Sink, records: &str) -> Server {
    let a = Server::start(
        "example.org",
        &[ALICE],
        &format!(
            "relay_port = {}\nretry_initial_secs = 1\nretry_max_secs = 1",
            sink.port
        ),
        records,
    )
    .await;
    a.spawn_queue();
    a
}

fn mx(name: &str, host: &str, preference: u16) -> String {
    format!("[[smtp.dns.mx]]\nname = \"{name}\"\nhost = \"{host}\"\npreference = {preference}\n")
}

fn a(name: &str, addr: &str) -> String {
    format!("[[smtp.dns.a]]\nname = \"{name}\"\naddr = \"{addr}\"\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_is_routed_by_its_static_mx_and_a_records() {
    let sink = Sink::start(&[]);
    let s = server(
        &sink,
        &(mx("example.net", "mx.example.net", 10) + &a("mx.example.net", "127.0.0.1")),
    )
    .await;
    submit_with(&s, "carol@example.net", "by mx", &[], &[]).await;
    let tx = sink.wait_accepted(1, 20).await;
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0]["rcpts"][0], "RCPT TO:<carol@example.net>");
    assert!(tx[0]["data"].as_str().unwrap().contains("Subject: by mx"));
    wait_queue_empty(&s.queue, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresolvable_preferred_mx_falls_back_to_the_next() {
    let sink = Sink::start(&[]);
    let records = mx("example.net", "gone.example.net", 5)
        + &mx("example.net", "backup.example.net", 50)
        + &a("backup.example.net", "127.0.0.1");
    let s = server(&sink, &records).await;
    submit_with(&s, "carol@example.net", "backup", &[], &[]).await;
    assert_eq!(sink.wait_accepted(1, 20).await.len(), 1);
    wait_queue_empty(&s.queue, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_mx_the_domains_own_a_record_is_the_implicit_mx() {
    let sink = Sink::start(&[]);
    let s = server(&sink, &a("example.net", "127.0.0.1")).await;
    submit_with(&s, "carol@example.net", "implicit", &[], &[]).await;
    assert_eq!(sink.wait_accepted(1, 20).await.len(), 1);
    wait_queue_empty(&s.queue, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_with_no_records_stays_queued_with_the_reason() {
    let sink = Sink::start(&[]);
    let s = server(&sink, "").await;
    submit_with(&s, "carol@example.net", "nowhere", &[], &[]).await;
    for _ in 0..100 {
        let list = s.queue.list().unwrap();
        if list[0].attempts >= 2 {
            let why = list[0].recipients[0].last_error.clone().unwrap();
            assert!(
                why.contains("cannot resolve a mail exchanger for example.net"),
                "{why}"
            );
            assert!(sink.transactions().is_empty());
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not retried: {:?}", s.queue.list());
}
