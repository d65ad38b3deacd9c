//! Driving `tests/session_client.py` (a scripted poplib client) step by step.

use super::server::{TestServer, python};
use super::{ALICE, ALICE_PASS};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

pub type Lines = tokio::io::Lines<BufReader<tokio::process::ChildStdout>>;

/// Starts `session_client.py` in `mode`; returns the child and its stdout lines.
pub async fn client(server: &TestServer, mode: &str) -> (tokio::process::Child, Lines) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/session_client.py");
    let mut child = tokio::process::Command::new(python())
        .arg(script)
        .arg(mode)
        .arg("127.0.0.1")
        .arg(server.pop3s.port().to_string())
        .arg(&server.cert)
        .arg(ALICE)
        .arg(ALICE_PASS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

/// Reads stdout lines until `STEP name`.
pub async fn until_step(lines: &mut Lines, name: &str) {
    let want = format!("STEP {name}");
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {want}"))
            .unwrap();
        match line {
            Some(l) if l == want => return,
            Some(_) => continue,
            None => panic!("client ended before {want}"),
        }
    }
}

pub async fn finish(child: tokio::process::Child) {
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
