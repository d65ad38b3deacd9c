//! Connection life cycle over the live server: a session dropped without
//! QUIT removes nothing and releases the maildrop; shutdown sends POP3's own
//! goodbye; the idle timeout closes silently; LOGIN-DELAY; plaintext
//! pipelined behind STLS is discarded.

mod common;

use common::client::{client, finish, until_step};
use common::server::{TestServer, python};
use common::*;
use std::time::Duration;

async fn server_with_mail(pop3: &str) -> TestServer {
    let server = TestServer::start(&[(ALICE, ALICE_PASS)], pop3).await;
    for m in MESSAGES {
        server.deliver_many(ALICE, vec![m.to_vec()]);
    }
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_deletes_nothing_and_releases_the_lock() {
    let server = server_with_mail("").await;
    let (child, mut lines) = client(&server, "no-quit").await;
    until_step(&mut lines, "dropped").await;
    finish(child).await;
    // The lock goes when the connection task ends; give it a moment.
    let (child, mut lines) = {
        let mut tries = 0;
        loop {
            let (child, mut lines) = client(&server, "stat").await;
            let mut got = None;
            while let Ok(Some(l)) = lines.next_line().await {
                if let Some(n) = l.strip_prefix("GOT ") {
                    got = Some(n.to_string());
                    break;
                }
            }
            if got.as_deref() == Some("3") || tries == 20 {
                assert_eq!(
                    got.as_deref(),
                    Some("3"),
                    "maildrop still locked or changed"
                );
                break (child, lines);
            }
            drop(child);
            tries += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    until_step(&mut lines, "done").await;
    finish(child).await;
    assert_eq!(server.inbox_len(ALICE), 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_says_goodbye_and_deletes_nothing() {
    let server = server_with_mail("").await;
    let (child, mut lines) = client(&server, "shutdown").await;
    until_step(&mut lines, "logged-in").await;
    server.stop().await;
    until_step(&mut lines, "closed").await;
    finish(child).await;
    assert_eq!(server.inbox_len(ALICE), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeout_closes_silently() {
    let server = TestServer::start_with(&[(ALICE, ALICE_PASS)], "", |c| {
        c.pop3.idle_timeout_secs = 1;
    })
    .await;
    let (child, mut lines) = client(&server, "idle").await;
    until_step(&mut lines, "logged-in").await;
    until_step(&mut lines, "closed").await;
    finish(child).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_right_after_quit_finds_the_maildrop_free() {
    let server = server_with_mail("").await;
    let (child, mut lines) = client(&server, "relogin").await;
    until_step(&mut lines, "done").await;
    finish(child).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_delay_refuses_a_quick_second_login() {
    let server = server_with_mail("login_delay_secs = 600").await;
    let (child, mut lines) = client(&server, "login-delay").await;
    until_step(&mut lines, "done").await;
    finish(child).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_pipelined_behind_stls_is_discarded() {
    let server = server_with_mail("").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/session_client.py");
    let out = tokio::process::Command::new(python())
        .arg(script)
        .arg("stls-pipelined")
        .arg("127.0.0.1")
        .arg(server.pop3.port().to_string())
        .arg(&server.cert)
        .arg(ALICE)
        .arg(ALICE_PASS)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // No login happened: nothing in the audit log.
    assert!(server.audit_logins().is_empty());
    server.stop().await;
}
