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
    let logins = server.audit_logins();
    let show = format!("{logins:#?}");
    assert!(logins.iter().all(|l| l["protocol"] == "pop3"), "{show}");
    assert!(
        logins.iter().all(|l| l["tls"].starts_with("TLSv1.")),
        "{show}"
    );
    assert!(
        logins.iter().all(|l| l["remote"].starts_with("127.0.0.1:")),
        "{show}"
    );
    let outcome = |o: &str| logins.iter().filter(|l| l["outcome"] == o).count();
    // Wrong password once; good logins: first session, IN-USE attempt, after QUIT, STLS.
    assert_eq!(outcome("failure"), 1, "{show}");
    assert_eq!(outcome("success"), 4, "{show}");
    assert!(logins.iter().all(|l| l["account"] == ALICE), "{show}");
    server.stop().await;
}
