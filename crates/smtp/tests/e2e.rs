//! End-to-end: real clients (swaks, Python smtplib) against a real server
//! on loopback with TLS. Needs `swaks` (Debian package) and `python3`.

mod common;

use common::{ALICE, BOB, Server};
use std::net::SocketAddr;
use tokio::process::Command;

async fn swaks(args: &[&str]) -> (bool, String) {
    let out = Command::new("swaks")
        .args(args)
        .args(["--timeout", "20", "--helo", "client.example"])
        .output()
        .await
        .expect("swaks must be installed (apt-get install swaks)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn port(a: SocketAddr) -> String {
    a.port().to_string()
}

async fn python(case: &str, addr: SocketAddr) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/smtp_client.py");
    let out = Command::new("python3")
        .args([script, case, "127.0.0.1", &port(addr)])
        .output()
        .await
        .expect("python3 must be installed");
    assert!(
        out.status.success(),
        "{case}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn server() -> Server {
    Server::start("example.org", &[ALICE, BOB], "", "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaks_inbound_with_starttls() {
    let s = server().await;
    let p = port(s.smtp);
    let (ok, out) = swaks(&[
        "--server",
        "127.0.0.1",
        "--port",
        &p,
        "--tls",
        "--from",
        "x@example.net",
        "--to",
        "alice@example.org",
        "--header",
        "Subject: swaks inbound",
        "--body",
        "hello",
    ])
    .await;
    assert!(ok, "{out}");
    let inbox = s.inbox("alice@example.org");
    assert_eq!(inbox.len(), 1);
    let m = String::from_utf8_lossy(&inbox[0]);
    assert!(m.contains("Subject: swaks inbound"), "{m}");
    assert!(m.contains("with ESMTPS id"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaks_inbound_without_tls_is_refused() {
    let s = server().await;
    let (ok, out) = swaks(&[
        "--server",
        "127.0.0.1",
        "--port",
        &port(s.smtp),
        "--from",
        "x@example.net",
        "--to",
        "alice@example.org",
    ])
    .await;
    assert!(!ok);
    assert!(out.contains("530 5.7.0"), "{out}");
    assert!(s.inbox("alice@example.org").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaks_unknown_user_and_relay_refused() {
    let s = server().await;
    let p = port(s.smtp);
    let (ok, out) = swaks(&[
        "--server",
        "127.0.0.1",
        "--port",
        &p,
        "--tls",
        "--from",
        "x@example.net",
        "--to",
        "nobody@example.org",
    ])
    .await;
    assert!(!ok);
    assert!(out.contains("550 5.1.1"), "{out}");
    let (ok, out) = swaks(&[
        "--server",
        "127.0.0.1",
        "--port",
        &p,
        "--tls",
        "--from",
        "x@example.net",
        "--to",
        "someone@example.net",
    ])
    .await;
    assert!(!ok);
    assert!(out.contains("550 5.7.1"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaks_submission_starttls_auth_plain_and_login() {
    let s = server().await;
    let p = port(s.submission);
    for mech in ["PLAIN", "LOGIN"] {
        let (ok, out) = swaks(&[
            "--server",
            "127.0.0.1",
            "--port",
            &p,
            "--tls",
            "--auth",
            mech,
            "--auth-user",
            "alice@example.org",
            "--auth-password",
            "secret",
            "--from",
            "alice@example.org",
            "--to",
            "bob@example.org",
            "--header",
            "From: alice@example.org",
        ])
        .await;
        assert!(ok, "{mech}: {out}");
    }
    assert_eq!(s.inbox("bob@example.org").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaks_submissions_implicit_tls_and_pipelining() {
    let s = server().await;
    let (ok, out) = swaks(&[
        "--server",
        "127.0.0.1",
        "--port",
        &port(s.submissions),
        "--tlsc",
        "--pipeline",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice@example.org",
        "--auth-password",
        "secret",
        "--from",
        "al@example.org",
        "--to",
        "bob@example.org",
        "--header",
        "From: al@example.org",
    ])
    .await;
    assert!(ok, "{out}");
    assert_eq!(s.inbox("bob@example.org").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaks_submission_foreign_sender_and_wrong_password() {
    let s = server().await;
    let p = port(s.submission);
    let (ok, out) = swaks(&[
        "--server",
        "127.0.0.1",
        "--port",
        &p,
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice@example.org",
        "--auth-password",
        "secret",
        "--from",
        "bob@example.org",
        "--to",
        "bob@example.org",
    ])
    .await;
    assert!(!ok);
    assert!(out.contains("553 5.7.1"), "{out}");
    let (ok, out) = swaks(&[
        "--server",
        "127.0.0.1",
        "--port",
        &p,
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice@example.org",
        "--auth-password",
        "wrong",
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
    ])
    .await;
    assert!(!ok);
    assert!(out.contains("535 5.7.8"), "{out}");
    // No AUTH on the inbound listener, even under TLS.
    let (ok, out) = swaks(&[
        "--server",
        "127.0.0.1",
        "--port",
        &port(s.smtp),
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice@example.org",
        "--auth-password",
        "secret",
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
    ])
    .await;
    assert!(!ok, "{out}");
    assert!(s.inbox("bob@example.org").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtplib_size_refusal() {
    let s = server().await;
    python("size", s.smtp).await;
    assert!(s.inbox("alice@example.org").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtplib_pipelining() {
    let s = server().await;
    python("pipelining", s.smtp).await;
    assert_eq!(s.inbox("alice@example.org").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_bdat() {
    let s = server().await;
    python("bdat", s.smtp).await;
    let inbox = s.inbox("alice@example.org");
    assert_eq!(inbox.len(), 1);
    assert!(inbox[0].ends_with(b"Subject: chunked\r\n\r\nline one\r\n.\r\nstill data\r\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_smuggling_not_executed() {
    let s = server().await;
    python("smuggle", s.smtp).await;
    let inbox = s.inbox("alice@example.org");
    assert_eq!(inbox.len(), 1, "one message, the smuggled part inside it");
    let text = String::from_utf8_lossy(&inbox[0]);
    assert!(
        text.ends_with("hi\r\n\r\nMAIL FROM:<admin@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n"),
        "{text}"
    );
    assert!(s.inbox("bob@example.org").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtplib_submissions_login() {
    let s = server().await;
    python("submissions", s.submissions).await;
    assert_eq!(s.inbox("bob@example.org").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_drops_pipelined_plaintext() {
    let s = server().await;
    python("starttls_injection", s.smtp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_says_421_4_3_2() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let s = server().await;
    let tcp = tokio::net::TcpStream::connect(s.smtp).await.unwrap();
    let mut r = BufReader::new(tcp);
    let mut line = String::new();
    r.read_line(&mut line).await.unwrap();
    assert!(line.starts_with("220 "), "{line}");
    r.get_mut().write_all(b"NOOP\r\n").await.unwrap();
    line.clear();
    r.read_line(&mut line).await.unwrap();
    assert_eq!(line, "250 2.0.0 OK\r\n");
    s.shutdown.cancel();
    line.clear();
    tokio::time::timeout(std::time::Duration::from_secs(5), r.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(line, "421 4.3.2 Server shutting down\r\n");
}
