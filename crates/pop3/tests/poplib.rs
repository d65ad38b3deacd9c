//! Python's poplib (a real, widely used client) against the live server
//! over TLS: every command it has, on pop3s and on pop3 with STLS.

mod common;

use base64::Engine as _;
use common::server::{TestServer, python};
use common::*;
use std::process::Stdio;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poplib_every_command() {
    let server = TestServer::start(&[(ALICE, ALICE_PASS), (BOB, BOB_PASS)], "").await;
    server.deliver_many(ALICE, vec![MESSAGES[0].to_vec()]);
    server.deliver_many(ALICE, vec![MESSAGES[1].to_vec()]);
    server.deliver_many(ALICE, vec![MESSAGES[2].to_vec()]);
    let b64 = base64::engine::general_purpose::STANDARD;
    let messages: Vec<String> = MESSAGES.iter().map(|m| b64.encode(m)).collect();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/poplib_client.py");
    let out = tokio::process::Command::new(python())
        .arg(script)
        .arg("127.0.0.1")
        .arg(server.pop3s.port().to_string())
        .arg(server.pop3.port().to_string())
        .arg(&server.cert)
        .env("POP3_MESSAGES", messages.join(","))
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("ALL OK"),
        "poplib script failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert_eq!(server.inbox_len(ALICE), 2);
    eprintln!("{stdout}");

    // Every attempt that reached the directory is in the audit log.
    let audit = server.audit_text();
    let logins: Vec<&str> = audit.lines().filter(|l| l.contains("\"login\"")).collect();
    assert!(logins.iter().all(|l| l.contains("\"pop3\"")), "{audit}");
    assert!(logins.iter().any(|l| l.contains("\"failure\"")), "{audit}");
    assert!(
        logins.iter().filter(|l| l.contains("\"success\"")).count() >= 4,
        "{audit}"
    );
    assert!(logins.iter().all(|l| l.contains("TLSv1.")), "{audit}");
    assert!(!audit.contains("correct horse") && !audit.contains("wrong"));
    server.stop().await;
}
