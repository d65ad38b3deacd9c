//! End to end: the real accept loop (`sealpost_net::serve_listener`) with
//! a self-signed certificate, driven by Python's imaplib over implicit TLS
//! and over STARTTLS (tests/imaplib_client.py). python3 is required: a
//! missing interpreter fails the test rather than skipping it.

mod common;
use common::*;
use sealpost_audit::AuditLog;
use sealpost_imap::ImapServer;
use sealpost_net::{CancellationToken, ConnLimiter, ListenerKind, TaskTracker, serve_listener};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imaplib_over_tls_and_starttls() {
    let python = std::process::Command::new("python3")
        .arg("--version")
        .output();
    assert!(
        python.is_ok_and(|o| o.status.success()),
        "python3 is needed to run imaplib against the server (apt-get install python3)"
    );
    let w = World::new(Backend::Real);
    let server = Arc::new(ImapServer::new(
        w.real().config.clone(),
        w.real().store.clone(),
        w.real().directory.clone(),
        AuditLog::disabled(),
    ));
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let mut ports = Vec::new();
    for kind in [ListenerKind::Imaps, ListenerKind::Imap] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ports.push(listener.local_addr().unwrap().port());
        tokio::spawn(serve_listener(
            listener,
            kind,
            w.tls.clone(),
            ConnLimiter::new(100, 100),
            Duration::from_secs(10),
            server.clone(),
            shutdown.clone(),
            tracker.clone(),
        ));
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/imaplib_client.py");
    let args = vec![
        script.to_string(),
        ports[0].to_string(),
        ports[1].to_string(),
        USER.to_string(),
        PASS.to_string(),
    ];
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("python3").args(&args).output(),
    )
    .await
    .expect("imaplib client timed out")
    .unwrap();
    shutdown.cancel();
    tracker.close();
    let _ = tokio::time::timeout(Duration::from_secs(10), tracker.wait()).await;
    assert!(
        output.status.success(),
        "imaplib client failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "ok");
}
