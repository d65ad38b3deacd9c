//! Two servers in one process: A relays to B through a `[[smtp.route]]`;
//! routes to a closed port retry and bounce.

mod common;

use common::{ALICE, Server};
use std::time::Duration;
use tokio::process::Command;

const CAROL: (&str, &str, &[&str]) = ("carol@example.net", "pw", &[]);

async fn submit(a: &Server, to: &str, subject: &str) {
    let out = Command::new("swaks")
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &a.submissions.port().to_string(),
            "--tlsc",
            "--auth",
            "PLAIN",
            "--auth-user",
            "alice@example.org",
            "--auth-password",
            "secret",
            "--from",
            "alice@example.org",
            "--to",
            to,
            "--helo",
            "client.example",
            "--header",
            "From: alice@example.org",
            "--header",
            &format!("Subject: {subject}"),
            "--timeout",
            "20",
        ])
        .output()
        .await
        .expect("swaks must be installed");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn route(domain: &str, port: u16) -> String {
    format!("[[smtp.route]]\ndomain = \"{domain}\"\nhost = \"127.0.0.1:{port}\"\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_to_second_instance_over_starttls() {
    let b = Server::start("example.net", &[CAROL], "", "").await;
    let a = Server::start(
        "example.org",
        &[ALICE],
        "",
        &route("example.net", b.smtp.port()),
    )
    .await;
    a.spawn_queue();
    submit(&a, "carol@example.net", "relayed").await;
    let inbox = b.wait_inbox("carol@example.net", 1, 20).await;
    assert_eq!(inbox.len(), 1, "queue: {:?}", a.queue.list());
    let m = String::from_utf8_lossy(&inbox[0]);
    assert!(m.starts_with("Return-Path: <alice@example.org>\r\n"), "{m}");
    // B's Received says A came over TLS; A's own Received follows.
    assert!(
        m.contains(
            "Received: from mx.example.org ([127.0.0.1])\r\n\tby mx.example.net with ESMTPS"
        ),
        "{m}"
    );
    assert!(m.contains("by mx.example.org with ESMTPSA"), "{m}");
    assert!(m.contains("Subject: relayed"), "{m}");
    // Delivered: the queue is empty again.
    for _ in 0..50 {
        if a.queue.list().unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("queue not emptied: {:?}", a.queue.list());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failure_bounces_at_once() {
    let b = Server::start("example.net", &[CAROL], "", "").await;
    let a = Server::start(
        "example.org",
        &[ALICE],
        "",
        &route("example.net", b.smtp.port()),
    )
    .await;
    a.spawn_queue();
    submit(&a, "nobody@example.net", "to nobody").await;
    let inbox = a.wait_inbox("alice@example.org", 1, 20).await;
    assert_eq!(inbox.len(), 1, "no bounce; queue: {:?}", a.queue.list());
    let m = String::from_utf8_lossy(&inbox[0]);
    assert!(
        m.starts_with("Return-Path: <>\r\n")
            || m.contains("From: Mail Delivery System <MAILER-DAEMON@mx.example.org>"),
        "{m}"
    );
    assert!(m.contains("report-type=delivery-status"), "{m}");
    assert!(
        m.contains("Final-Recipient: rfc822; nobody@example.net"),
        "{m}"
    );
    assert!(m.contains("Status: 5.1.1"), "{m}");
    assert!(m.contains("Subject: to nobody"), "original attached: {m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_retries_then_bounces_when_lifetime_ends() {
    // A port with nothing listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let a = Server::start(
        "example.org",
        &[ALICE],
        "queue_lifetime_secs = 3\nretry_initial_secs = 1\nretry_max_secs = 1\nrelay_timeout_secs = 5",
        &route("example.net", closed),
    )
    .await;
    a.spawn_queue();
    submit(&a, "dave@example.net", "never arrives").await;
    // Retried at least once before the bounce.
    let mut saw_retry = false;
    for _ in 0..40 {
        if let Some(e) = a.queue.list().unwrap().first()
            && e.attempts >= 1
        {
            assert!(
                e.recipients[0]
                    .last_error
                    .as_deref()
                    .unwrap_or("")
                    .contains("connect"),
                "{e:?}"
            );
            saw_retry = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(saw_retry, "no retry recorded");
    let inbox = a.wait_inbox("alice@example.org", 1, 20).await;
    assert_eq!(inbox.len(), 1, "no bounce; queue: {:?}", a.queue.list());
    let m = String::from_utf8_lossy(&inbox[0]);
    assert!(
        m.contains("Final-Recipient: rfc822; dave@example.net"),
        "{m}"
    );
    assert!(m.contains("Status: 4.4.7"), "{m}");
    assert!(a.queue.list().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_survives_restart() {
    // Queue a message with no runner, reopen the store and queue: still there.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let a = Server::start("example.org", &[ALICE], "", &route("example.net", closed)).await;
    submit(&a, "erin@example.net", "persisted").await;
    let before = a.queue.list().unwrap();
    assert_eq!(before.len(), 1);
    let id = before[0].id.clone();
    // Simulate a crash leftover: an unfinished temporary file.
    std::fs::write(
        a.config.server.data_dir.join("queue").join(".junk.tmp"),
        b"x",
    )
    .unwrap();
    a.queue.flush_now().unwrap();
    let again = sealpost_smtp::Queue::open(
        a.config.clone(),
        a.store.clone(),
        sealpost_directory::Directory::load(
            &a.config.server.accounts,
            vec!["example.org".into()],
            sealpost_directory::ThrottleLimits {
                per_ip: 10,
                per_account: 10,
                window: Duration::from_secs(60),
            },
        )
        .unwrap(),
        sealpost_audit::AuditLog::disabled(),
    )
    .unwrap();
    let after = again.list().unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, id);
    assert!(
        !a.config
            .server
            .data_dir
            .join("queue")
            .join(".junk.tmp")
            .exists()
    );
}
