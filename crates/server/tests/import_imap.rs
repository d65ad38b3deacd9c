//! `sealpost import ADDRESS --imap imaps://USER@HOST:PORT --password-stdin
//! --ca-file CA` against a real Dovecot (Debian's dovecot-imapd, started
//! here on a loopback port with TLS from a private CA; the test fails
//! without it). Dovecot is filled through its own IMAP APPEND; imaplib
//! then dumps both servers (folders, UIDVALIDITY, UIDs, flags, keywords,
//! INTERNALDATE, a hash of each message, subscriptions) and the dumps must
//! be equal: after the first import, after a delta (a new message, changed
//! flags) imported again while `serve` runs (a session with INBOX selected
//! sees it at its next NOOP), after a connection cut mid-import (the same
//! run reconnects), after an import killed with SIGKILL in the middle of
//! a FETCH's batch and run again (nothing doubled), and with messages
//! large enough to be stored while they arrive.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const SOURCE_PASSWORD: &str = "dovecot secret";

/// A Dovecot on a free loopback port, stopped when dropped.
struct Dovecot {
    dir: tempfile::TempDir,
    port: u16,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Dovecot {
    fn start() -> Dovecot {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Dovecot's login processes (dovenull) and the mail user (nobody)
        // must reach their folders.
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::write(d.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        let ssl = |args: &[&str]| run(Command::new("openssl").args(args).current_dir(d));
        ssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=sealpost test CA",
        ]);
        ssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        ssl(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        for sub in ["mail", "home"] {
            std::fs::create_dir(d.join(sub)).unwrap();
            run(Command::new("chown")
                .args(["nobody:nogroup", sub])
                .current_dir(d));
        }
        std::fs::write(
            d.join("passwd"),
            format!("alice:{{PLAIN}}{SOURCE_PASSWORD}\n"),
        )
        .unwrap();
        let port = free_port();
        let p = d.display();
        let conf = format!(
            "base_dir = {p}/run\nstate_dir = {p}/state\nlog_path = {p}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\nssl = required\n\
             ssl_cert = <{p}/cert.pem\nssl_key = <{p}/key.pem\n\
             mail_location = maildir:{p}/mail/%u\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {p}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={p}/home/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    port = 0\n  }}\n  \
             inet_listener imaps {{\n    port = {port}\n    ssl = yes\n  }}\n}}\n\
             namespace inbox {{\n  inbox = yes\n  \
             mailbox \"Sent Messages\" {{\n    special_use = \\Sent\n  }}\n  \
             mailbox Spam {{\n    special_use = \\Junk\n  }}\n  \
             mailbox Archive {{\n    special_use = \\Archive\n  }}\n}}\n"
        );
        std::fs::write(d.join("dovecot.conf"), conf).unwrap();
        let status = Command::new("dovecot")
            .arg("-c")
            .arg(d.join("dovecot.conf"))
            .status()
            .expect("dovecot runs (dovecot-imapd; .ci/run installs it)");
        assert!(status.success(), "dovecot did not start");
        let end = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < end, "dovecot does not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Dovecot { dir, port }
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn client(&self, command: &str, extra: serde_json::Value) -> String {
        let mut a = serde_json::json!({
            "port": self.port,
            "cafile": self.ca(),
            "user": "alice",
            "password": SOURCE_PASSWORD,
        });
        for (k, v) in extra.as_object().unwrap() {
            a[k] = v.clone();
        }
        client(command, &a)
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new("doveadm")
            .arg("-c")
            .arg(self.dir.path().join("dovecot.conf"))
            .arg("stop")
            .status();
    }
}

/// Runs tests/import_imap.py; returns its stdout.
fn client(command: &str, args: &serde_json::Value) -> String {
    let out = python("import_imap.py", &[command, &args.to_string()]);
    assert!(out.ok(), "{command}: {}{}", out.stdout, out.stderr);
    out.stdout
}

fn sealpost_dump(site: &Site, server: &Server, user: &str) -> serde_json::Value {
    let a = serde_json::json!({
        "port": server.addr("imaps").port(),
        "cafile": site.path("certs/cert.pem"),
        "user": user,
        "password": PASSWORD,
    });
    serde_json::from_str(&client("dump", &a)).unwrap()
}

fn import_args(address: &str, port: u16, ca: &Path) -> Vec<String> {
    vec![
        "import".into(),
        address.into(),
        "--imap".into(),
        format!("imaps://alice@127.0.0.1:{port}"),
        "--password-stdin".into(),
        "--ca-file".into(),
        ca.display().to_string(),
    ]
}

fn import(site: &Site, address: &str, port: u16, ca: &Path, jobs: &str) -> CliOutput {
    let mut args = import_args(address, port, ca);
    args.extend(["--jobs".into(), jobs.into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    site.cli(&args, &format!("{SOURCE_PASSWORD}\n"))
}

/// Every source folder is here with the same UIDVALIDITY and messages
/// (UID, flags, INTERNALDATE, content); folders only here (the special-use
/// folders a new account gets) are empty; every subscription is here.
fn assert_same(source: &serde_json::Value, here: &serde_json::Value) {
    let show = format!("\nsource: {source:#}\nhere: {here:#}");
    let (theirs, ours) = (
        source["folders"].as_object().unwrap(),
        here["folders"].as_object().unwrap(),
    );
    for (name, folder) in theirs {
        assert_eq!(Some(folder), ours.get(name), "{name}{show}");
    }
    for (name, folder) in ours {
        assert!(
            theirs.contains_key(name) || folder["messages"] == serde_json::json!([]),
            "{name}{show}"
        );
    }
    for name in source["subscribed"].as_array().unwrap() {
        assert!(
            here["subscribed"].as_array().unwrap().contains(name),
            "{name}{show}"
        );
    }
}

#[test]
fn a_dovecot_account_is_copied_then_only_its_changes() {
    let dovecot = Dovecot::start();
    dovecot.client("fill-first", serde_json::json!({}));
    let site = Site::new("");
    site.add_account("alice@example.org");
    let out = import(&site, "alice@example.org", dovecot.port, &dovecot.ca(), "2");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with("imported 6 messages (")
            && out
                .stdout
                .contains("into 4 mailboxes of alice@example.org; 6 kept their UID"),
        "{}",
        out.stdout
    );
    let server = site.start();
    let source = serde_json::from_str(&dovecot.client("dump", serde_json::json!({}))).unwrap();
    assert_same(&source, &sealpost_dump(&site, &server, "alice@example.org"));

    // A session with INBOX selected, then the delta imported through the
    // running server: the session's NOOP shows the new message.
    let a = serde_json::json!({
        "port": server.addr("imaps").port(),
        "cafile": site.path("certs/cert.pem"),
        "user": "alice@example.org",
        "password": PASSWORD,
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/import_imap.py");
    let mut watch = Command::new("python3")
        .arg(&script)
        .args(["watch", &a.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready 4");
    dovecot.client("fill-delta", serde_json::json!({}));
    let out = import(&site, "alice@example.org", dovecot.port, &dovecot.ca(), "2");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with("imported 1 messages (")
            && out
                .stdout
                .contains("6 were already here, 2 had their flags changed"),
        "{}",
        out.stdout
    );
    writeln!(watch.stdin.as_mut().unwrap()).unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "now 5");
    assert!(watch.wait().unwrap().success());
    let source = serde_json::from_str(&dovecot.client("dump", serde_json::json!({}))).unwrap();
    assert_same(&source, &sealpost_dump(&site, &server, "alice@example.org"));
    // Nothing new: nothing copied, nothing changed.
    let out = import(&site, "alice@example.org", dovecot.port, &dovecot.ca(), "2");
    assert!(out.ok(), "{}", out.stderr);
    assert!(
        out.stdout.starts_with("imported 0 messages"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("7 were already here, 0 had"),
        "{}",
        out.stdout
    );
    server.stop();
}

/// Messages over a MiB are fetched on their own and stored while they
/// arrive (memory flat): they arrive whole, with their flags, dates and
/// UIDs, beside small ones of the same folder.
#[test]
fn large_messages_are_streamed_in_whole() {
    let dovecot = Dovecot::start();
    dovecot.client(
        "fill-bulk",
        serde_json::json!({"count": 3, "size": 3_500_000}),
    );
    dovecot.client("fill-first", serde_json::json!({}));
    let site = Site::new("");
    site.add_account("alice@example.org");
    let out = import(&site, "alice@example.org", dovecot.port, &dovecot.ca(), "2");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with("imported 9 messages (") && out.stdout.contains("9 kept their UID"),
        "{}",
        out.stdout
    );
    let server = site.start();
    let source = serde_json::from_str(&dovecot.client("dump", serde_json::json!({}))).unwrap();
    assert_same(&source, &sealpost_dump(&site, &server, "alice@example.org"));
    server.stop();
}

/// The source's special-use folders (`Sent Messages` is `\\Sent`, `Spam`
/// is `\\Junk` there) get those uses here, taken from the defaults; on a
/// rerun the flags added and removed at the source are added and removed
/// here, and the flags changed here meanwhile stay.
#[test]
fn special_uses_carry_over_and_a_rerun_applies_only_the_source_flag_changes() {
    let dovecot = Dovecot::start();
    dovecot.client("fill-special", serde_json::json!({}));
    let site = Site::new("");
    site.add_account("alice@example.org");
    let out = import(&site, "alice@example.org", dovecot.port, &dovecot.ca(), "2");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    let server = site.start();
    let here = |extra: serde_json::Value| {
        let mut a = serde_json::json!({
            "port": server.addr("imaps").port(),
            "cafile": site.path("certs/cert.pem"),
            "user": "alice@example.org",
            "password": PASSWORD,
        });
        a.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        a
    };
    let listed: serde_json::Value =
        serde_json::from_str(&client("special", &here(serde_json::json!({})))).unwrap();
    let uses = |name: &str| listed[name].as_str().unwrap_or("none").to_string();
    assert_eq!(uses("Sent Messages"), "\\Sent", "{listed}");
    assert_eq!(uses("Spam"), "\\Junk", "{listed}");
    assert_eq!(uses("Archive"), "\\Archive", "{listed}");
    assert_eq!(uses("Sent"), "none", "{listed}");
    assert_eq!(uses("Junk"), "none", "{listed}");
    assert_eq!(uses("Drafts"), "\\Drafts", "{listed}");

    // Changed here: \Flagged and a keyword on 1, \Answered on 2.
    let store_here = |uid: u32, op: &str, flags: &str| {
        client(
            "store",
            &here(serde_json::json!({"box": "INBOX", "uid": uid, "op": op, "flags": flags})),
        )
    };
    store_here(1, "+FLAGS", "(\\Flagged Local)");
    store_here(2, "+FLAGS", "(\\Answered)");
    // Changed at the source: 1 loses Work and gains \Answered, 2 loses
    // \Flagged.
    let at_source = |uid: u32, op: &str, flags: &str| {
        dovecot.client(
            "store",
            serde_json::json!({"box": "INBOX", "uid": uid, "op": op, "flags": flags}),
        )
    };
    at_source(1, "-FLAGS", "(Work)");
    at_source(1, "+FLAGS", "(\\Answered)");
    at_source(2, "-FLAGS", "(\\Flagged)");
    let out = import(&site, "alice@example.org", dovecot.port, &dovecot.ca(), "1");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("2 had their flags changed"),
        "{}",
        out.stdout
    );
    let flags: serde_json::Value =
        serde_json::from_str(&client("flags", &here(serde_json::json!({"box": "INBOX"})))).unwrap();
    assert_eq!(
        flags,
        serde_json::json!({
            "1": ["Local", "\\Answered", "\\Flagged", "\\Seen"],
            "2": ["\\Answered"],
        })
    );
    server.stop();
}

#[test]
fn the_source_must_prove_itself_and_the_command_must_be_whole() {
    let dovecot = Dovecot::start();
    let site = Site::new("");
    site.add_account("alice@example.org");
    // The system roots do not know the private CA.
    let url = format!("imaps://alice@127.0.0.1:{}", dovecot.port);
    let out = site.cli(
        &[
            "import",
            "alice@example.org",
            "--imap",
            &url,
            "--password-stdin",
        ],
        &format!("{SOURCE_PASSWORD}\n"),
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("certificate"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    let ca = dovecot.ca();
    for (args, stdin, want) in [
        (
            import_args("alice@example.org", dovecot.port, &ca),
            "wrong\n",
            "refused",
        ),
        (
            vec![
                "import".into(),
                "alice@example.org".into(),
                "--imap".into(),
                "imap://x@y".into(),
                "--password-stdin".into(),
            ],
            "p\n",
            "TLS only",
        ),
        (
            vec![
                "import".into(),
                "alice@example.org".into(),
                "--imap".into(),
                url.clone(),
            ],
            "",
            "--password-stdin",
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = site.cli(&args, stdin);
        assert_ne!(out.code, 0, "{}", out.stdout);
        assert!(out.stderr.contains(want), "{want}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
}

/// A TCP relay to `upstream` that counts the octets the server sends and
/// cuts the first connection once it has relayed `cut_first_after`.
struct Relay {
    port: u16,
    relayed: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
}

fn relay(upstream: u16, cut_first_after: Option<usize>) -> Relay {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let relayed = Arc::new(AtomicUsize::new(0));
    let counter = relayed.clone();
    let connections = Arc::new(AtomicUsize::new(0));
    let accepted = connections.clone();
    std::thread::spawn(move || {
        for (n, client) in listener.incoming().enumerate() {
            accepted.fetch_add(1, Ordering::Relaxed);
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            let limit = if n == 0 { cut_first_after } else { None };
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut &c2, &mut &s2);
                let _ = s2.shutdown(std::net::Shutdown::Write);
            });
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                let mut sent = 0;
                loop {
                    let n = match (&server).read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if (&client).write_all(&buf[..n]).is_err() {
                        break;
                    }
                    sent += n;
                    counter.fetch_add(n, Ordering::Relaxed);
                    if limit.is_some_and(|l| sent >= l) {
                        break;
                    }
                }
                let _ = client.shutdown(std::net::Shutdown::Both);
                let _ = server.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    Relay {
        port,
        relayed,
        connections,
    }
}

#[test]
fn a_cut_connection_is_retried_and_a_killed_import_resumes_without_doubles() {
    let dovecot = Dovecot::start();
    dovecot.client("fill-first", serde_json::json!({}));
    dovecot.client(
        "fill-bulk",
        serde_json::json!({"count": 80, "size": 30_000}),
    );
    let site = Site::new("");
    site.add_account("alice@example.org");
    site.add_account("bob@example.org");

    // The first connection is cut after 1 MB: the same run reconnects.
    let cut = relay(dovecot.port, Some(1_000_000));
    let out = import(&site, "alice@example.org", cut.port, &dovecot.ca(), "1");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with("imported 86 messages"),
        "{}",
        out.stdout
    );
    assert!(
        cut.connections.load(Ordering::Relaxed) >= 2,
        "the cut was not retried"
    );

    // An import killed mid-way, then run again.
    let plain = relay(dovecot.port, None);
    let mut args = import_args("bob@example.org", plain.port, &dovecot.ca());
    args.extend(["--jobs".into(), "1".into()]);
    // Killed in the middle of a FETCH's batch (the import commits what a
    // FETCH of 50 brought in one transaction, their blobs made durable
    // before): on the embedded store, once there is a blob file for the
    // other folders' 6 messages, Bulk's first 50 (committed before the
    // next FETCH is sent) and 10 of its next 30 (bytes relayed alone do
    // not tell: on a quiet machine the relay runs well ahead of the
    // store); over PostgreSQL, once the relay carried part of the second
    // FETCH's answer (sent only after the first batch was committed).
    let blobs = site.path("data/blobs");
    let stored = || -> usize {
        fn count(dir: &std::path::Path) -> usize {
            std::fs::read_dir(dir).map_or(0, |entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| {
                        let p = e.path();
                        if p.is_dir() { count(&p) } else { 1 }
                    })
                    .sum()
            })
        }
        count(&blobs)
    };
    let before = stored();
    let mut child = Command::new(BIN)
        .arg("-c")
        .arg(&site.config)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{SOURCE_PASSWORD}").unwrap();
    let far_enough = || match std::env::var("SEALPOST_E2E_STORE").as_deref() {
        Ok("postgresql") => plain.relayed.load(Ordering::Relaxed) >= 1_900_000,
        _ => stored() >= before + 6 + 50 + 10,
    };
    let end = Instant::now() + Duration::from_secs(60);
    while !far_enough() {
        assert!(Instant::now() < end, "the import did not get far");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended too soon"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let out = import(&site, "bob@example.org", plain.port, &dovecot.ca(), "1");
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("were already here"), "{}", out.stdout);

    let server = site.start();
    let source = serde_json::from_str(&dovecot.client("dump", serde_json::json!({}))).unwrap();
    assert_same(&source, &sealpost_dump(&site, &server, "alice@example.org"));
    assert_same(&source, &sealpost_dump(&site, &server, "bob@example.org"));
    server.stop();
}
