//! fetchmail (Debian package `fetchmail`) fetching 1,000 messages over
//! pop3s: once keeping them, twice, where the second run finds nothing new
//! by UIDL; and once deleting them, after which INBOX is empty.

mod common;

use common::server::TestServer;
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

const COUNT: usize = 1000;
const CAROL: &str = "carol@example.org";
const DAVE: &str = "dave@example.org";
const PASSWORD: &str = "fetch me if you can";

fn require_fetchmail() {
    let found = std::process::Command::new("fetchmail")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "fetchmail is not installed: `apt-get install -y fetchmail` (CI's .ci/run installs it)"
    );
}

fn message(n: usize) -> Vec<u8> {
    format!(
        "From: sender@example.net\r\nTo: someone@example.org\r\nSubject: message {n}\r\n\
         X-Seq: {n}\r\n\r\nBody of message {n}.\r\n.a line that starts with a dot\r\n\
         \u{e4}\u{f6}\u{fc} 8-bit text\r\n"
    )
    .into_bytes()
}

/// Runs fetchmail once; returns its exit status (0: mail fetched, 1: none).
async fn fetchmail(server: &TestServer, work: &Path, user: &str, keep: bool) -> i32 {
    let out = work.join("out.mbox");
    let rc = work.join("fetchmailrc");
    std::fs::write(
        &rc,
        format!(
            "set no bouncemail\n\
             poll 127.0.0.1 with service {port} protocol POP3 uidl\n\
             \x20 user \"{user}\" there with password \"{PASSWORD}\"\n\
             \x20 ssl sslcertfile \"{cert}\" sslcertck sslcommonname \"localhost\"\n\
             \x20 {keep}\n\
             \x20 mda \"/bin/sh -c 'cat >> {out}'\"\n",
            port = server.pop3s.port(),
            cert = server.cert.display(),
            keep = if keep { "keep" } else { "no keep" },
            out = out.display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    let result = tokio::process::Command::new("fetchmail")
        .arg("-f")
        .arg(&rc)
        .arg("-i")
        .arg(work.join("fetchids"))
        .arg("--pidfile")
        .arg(work.join("fetchmail.pid"))
        .arg("--nodetach")
        .arg("--nosyslog")
        .env("HOME", work)
        .env("FETCHMAILHOME", work)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let code = result.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "fetchmail failed ({code})\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    code
}

/// The X-Seq numbers in what fetchmail delivered, checking each message's body.
fn delivered(work: &Path) -> Vec<usize> {
    let text = std::fs::read(work.join("out.mbox")).unwrap_or_default();
    let text = String::from_utf8(text).expect("8-bit text arrives intact");
    let seqs: Vec<usize> = text
        .lines()
        .filter_map(|l| l.trim_end().strip_prefix("X-Seq: "))
        .map(|n| n.parse().unwrap())
        .collect();
    // Dot-stuffing undone, 8-bit intact, once per message.
    assert_eq!(
        text.matches("\n.a line that starts with a dot").count(),
        seqs.len()
    );
    assert_eq!(
        text.matches("\u{e4}\u{f6}\u{fc} 8-bit text").count(),
        seqs.len()
    );
    seqs
}

fn work_dir(server: &TestServer, name: &str) -> std::path::PathBuf {
    let d = server.dir.path().join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetchmail_keeps_then_finds_nothing_new_by_uidl() {
    require_fetchmail();
    let server = TestServer::start(&[(CAROL, PASSWORD)], "").await;
    server.deliver_many(CAROL, (0..COUNT).map(message).collect());
    let work = work_dir(&server, "carol");

    assert_eq!(fetchmail(&server, &work, CAROL, true).await, 0);
    let first = delivered(&work);
    assert_eq!(first.len(), COUNT);
    assert_eq!(
        first.iter().copied().collect::<BTreeSet<_>>(),
        (0..COUNT).collect()
    );
    assert_eq!(
        server.inbox_len(CAROL),
        COUNT,
        "keep leaves everything on the server"
    );

    // Second run: every UIDL is known, nothing is downloaded.
    assert_eq!(fetchmail(&server, &work, CAROL, true).await, 1);
    assert_eq!(delivered(&work).len(), COUNT);

    // One new message: only it is fetched.
    server.deliver_many(CAROL, vec![message(COUNT)]);
    assert_eq!(fetchmail(&server, &work, CAROL, true).await, 0);
    let third = delivered(&work);
    assert_eq!(third.len(), COUNT + 1);
    assert_eq!(third.last(), Some(&COUNT));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetchmail_deletes_what_it_fetched() {
    require_fetchmail();
    let server = TestServer::start(&[(DAVE, PASSWORD)], "").await;
    server.deliver_many(DAVE, (0..COUNT).map(message).collect());
    let work = work_dir(&server, "dave");

    assert_eq!(fetchmail(&server, &work, DAVE, false).await, 0);
    let got = delivered(&work);
    assert_eq!(
        got.iter().copied().collect::<BTreeSet<_>>(),
        (0..COUNT).collect()
    );
    assert_eq!(got.len(), COUNT);
    assert_eq!(
        server.inbox_len(DAVE),
        0,
        "QUIT removed every fetched message"
    );

    assert_eq!(fetchmail(&server, &work, DAVE, false).await, 1);
    assert_eq!(delivered(&work).len(), COUNT);
    server.stop().await;
}
