//! End-to-end tests across protocols through the real binary, driven by
//! real clients (Python's imaplib/smtplib, curl) from the root tests/ folder.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The JSON argument every client script takes.
fn script_args(site: &Site, server: &Server, extra: serde_json::Value) -> String {
    let mut v = serde_json::json!({
        "cafile": site.path("certs/cert.pem"),
        "imap": server.addr("imap").port(),
        "imaps": server.addr("imaps").port(),
        "pop3s": server.addr("pop3s").port(),
        "smtp": server.addr("smtp").port(),
        "user": "alice@example.org",
        "password": PASSWORD,
    });
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    v.to_string()
}

fn run_script(site: &Site, server: &Server, script: &str, extra: serde_json::Value) -> String {
    let out = python(script, &[&script_args(site, server, extra)]);
    assert!(
        out.ok(),
        "{script}: {}{}\nserver log:\n{}",
        out.stdout,
        out.stderr,
        server.log()
    );
    out.stdout
}

fn started() -> (Site, Server) {
    let site = Site::new("");
    site.add_account("alice@example.org");
    site.add_account("bob@example.net");
    let server = site.start();
    (site, server)
}

/// Reads one line (CRLF) from a plaintext stream.
fn line(r: &mut BufReader<TcpStream>) -> String {
    let mut s = String::new();
    r.read_line(&mut s).unwrap();
    s
}

#[test]
fn starttls_completes_on_every_starttls_listener() {
    let (site, server) = started();
    for listener in ["imap", "pop3", "smtp", "submission"] {
        let tcp = TcpStream::connect(server.addr(listener)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut r = BufReader::new(tcp.try_clone().unwrap());
        let mut w = tcp.try_clone().unwrap();
        let greeting = line(&mut r);
        match listener {
            "imap" => {
                assert!(greeting.starts_with("* OK"), "{greeting}");
                w.write_all(b"a STARTTLS\r\n").unwrap();
                assert!(line(&mut r).starts_with("a OK"));
            }
            "pop3" => {
                assert!(greeting.starts_with("+OK"), "{greeting}");
                w.write_all(b"STLS\r\n").unwrap();
                assert!(line(&mut r).starts_with("+OK"));
            }
            _ => {
                assert!(greeting.starts_with("220"), "{greeting}");
                w.write_all(b"EHLO client.example.net\r\n").unwrap();
                let mut caps = String::new();
                loop {
                    let l = line(&mut r);
                    caps.push_str(&l);
                    if l.starts_with("250 ") {
                        break;
                    }
                }
                assert!(caps.contains("STARTTLS"), "{caps}");
                w.write_all(b"STARTTLS\r\n").unwrap();
                assert!(line(&mut r).starts_with("220"));
            }
        }
        assert!(r.buffer().is_empty());
        let config = client_tls(&site.path("certs/cert.pem"));
        let name = rustls::pki_types::ServerName::try_from("mail.example.org").unwrap();
        let mut conn = rustls::ClientConnection::new(config, name).unwrap();
        let mut sock = tcp;
        while conn.is_handshaking() {
            conn.complete_io(&mut sock).unwrap();
        }
        assert!(conn.protocol_version().is_some(), "{listener}");
    }
}

#[test]
fn imap_through_the_binary_with_imaplib() {
    let (site, server) = started();
    run_script(&site, &server, "imap_basic.py", serde_json::json!({}));
}

#[test]
fn smtp_delivery_reaches_an_idling_imap_session_within_1s() {
    let (site, server) = started();
    let out = run_script(&site, &server, "idle_delivery.py", serde_json::json!({}));
    assert!(out.contains("EXISTS after"), "{out}");
}

#[test]
fn curl_lists_fetches_and_searches_over_imaps() {
    let (site, server) = started();
    run_script(
        &site,
        &server,
        "smtp_send.py",
        serde_json::json!({"to": "alice@example.org", "subject": "curl-marker", "count": 2}),
    );
    let port = server.addr("imaps").port();
    let base = format!("imaps://mail.example.org:{port}");
    let resolve = format!("mail.example.org:{port}:127.0.0.1");
    let curl = |url: &str, request: Option<&str>| {
        let mut c = std::process::Command::new("curl");
        c.args([
            "--silent",
            "--show-error",
            "--max-time",
            "20",
            "--resolve",
            &resolve,
            "--cacert",
        ])
        .arg(site.path("certs/cert.pem"))
        .args(["--user", &format!("alice@example.org:{PASSWORD}")]);
        if let Some(r) = request {
            c.args(["--request", r]);
        }
        let out = c
            .arg(url)
            .output()
            .expect("curl is installed (.ci/run installs it)");
        assert!(
            out.status.success(),
            "curl {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let list = curl(&format!("{base}/"), None);
    assert!(list.contains("INBOX") && list.contains("Sent"), "{list}");
    let search = curl(&format!("{base}/INBOX"), Some("SEARCH SUBJECT curl-marker"));
    assert!(search.contains("SEARCH 1 2"), "{search}");
    let body = curl(&format!("{base}/INBOX;UID=2"), None);
    assert!(
        body.contains("Subject: curl-marker 1") && body.contains("body 1"),
        "{body}"
    );
}

#[test]
fn kill_9_right_after_250_keeps_the_message_exactly_once() {
    let (site, server) = started();
    let mut child = std::process::Command::new("python3")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/smtp_send.py"))
        .arg(script_args(
            &site,
            &server,
            serde_json::json!({"to": "alice@example.org", "subject": "crash-marker", "count": 1000}),
        ))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = 0;
    while acked < 5 {
        let l = lines.next().expect("sender ended early").unwrap();
        if l.starts_with("250 ") {
            acked += 1;
        }
    }
    server.kill9();
    let _ = child.kill();
    let _ = child.wait();
    let acked_total = acked
        + lines
            .map_while(Result::ok)
            .filter(|l| l.starts_with("250 "))
            .count();
    let server = site.start();
    let out = run_script(
        &site,
        &server,
        "imap_login.py",
        serde_json::json!({"subject": "crash-marker"}),
    );
    let n: usize = out.trim().strip_prefix("OK ").unwrap().parse().unwrap();
    assert!(n >= acked_total, "{n} stored, {acked_total} acknowledged");
    assert!(
        n <= acked_total + 1,
        "at most the one in flight more: {n} vs {acked_total}"
    );
    // Exactly once: no subject twice.
    let subjects = run_script(
        &site,
        &server,
        "imap_login.py",
        serde_json::json!({"subject": "crash-marker 0"}),
    );
    assert_eq!(subjects.trim(), "OK 1");
}

#[test]
fn deleted_account_is_locked_out_restorable_then_purged() {
    let (site, server) = started();
    run_script(
        &site,
        &server,
        "smtp_send.py",
        serde_json::json!({"to": "alice@example.org", "subject": "keepme", "count": 3}),
    );
    let out = site.cli(&["account", "delete", "alice@example.org"], "");
    assert!(out.ok(), "{}", out.stderr);
    // At once: login fails and inbound mail is refused as unknown user.
    let login = run_script(&site, &server, "imap_login.py", serde_json::json!({}));
    assert!(login.starts_with("NO"), "{login}");
    let rcpt = run_script(
        &site,
        &server,
        "smtp_rcpt.py",
        serde_json::json!({"to": "alice@example.org"}),
    );
    assert!(rcpt.starts_with("550") && rcpt.contains("5.1.1"), "{rcpt}");
    // Restore within grace brings everything back.
    let out = site.cli(&["account", "restore", "alice@example.org"], "");
    assert!(out.ok(), "{}", out.stderr);
    std::thread::sleep(Duration::from_millis(300));
    let login = run_script(
        &site,
        &server,
        "imap_login.py",
        serde_json::json!({"subject": "keepme"}),
    );
    assert_eq!(login.trim(), "OK 3");
    // Delete again and jump 46 days ahead: purged.
    assert!(
        site.cli(&["account", "delete", "alice@example.org"], "")
            .ok()
    );
    let at = (chrono_like_now() + 46 * 86_400).to_string();
    let at = rfc3339(at.parse().unwrap());
    let out = site.cli(&["retention", "run", "--at", &at], "");
    assert!(
        out.ok() && out.stdout.contains("purged 1 account"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        site.cli(&["account", "restore", "alice@example.org"], "")
            .code
            != 0
    );
    // A re-created account with the same address starts empty.
    site.add_account("alice@example.org");
    std::thread::sleep(Duration::from_millis(300));
    let login = run_script(
        &site,
        &server,
        "imap_login.py",
        serde_json::json!({"subject": "keepme"}),
    );
    assert_eq!(login.trim(), "OK 0");
    drop(server);
}

fn chrono_like_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Unix seconds to RFC 3339 (UTC), without a date crate in the test.
fn rfc3339(t: i64) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{t}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn export_round_trips_through_python_mailbox() {
    let (site, server) = started();
    run_script(
        &site,
        &server,
        "smtp_send.py",
        serde_json::json!({"to": "alice@example.org", "subject": "export", "count": 3}),
    );
    // Flags and a keyword on one message, one message with a From_ line in its body.
    let py = r#"
import imaplib, sys, json
from e2e_lib import args, tls_context
a = args()
m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=tls_context(a["cafile"]))
m.login(a["user"], a["password"])
m.select("INBOX")
m.store("1", "+FLAGS", r"(\Seen \Flagged $Forwarded)")
m.append("Archive", r"(\Seen)", None, b"Subject: from line\r\n\r\nFrom here on\r\n>From there\r\n")
m.logout()
"#;
    let script = site.path("flags.py");
    std::fs::write(&script, py).unwrap();
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(script_args(&site, &server, serde_json::json!({})))
        .env(
            "PYTHONPATH",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests"),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archive = site.path("alice.tar");
    let out = site.cli(
        &[
            "export",
            "alice@example.org",
            "--out",
            archive.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.ok(), "{}", out.stderr);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&archive).unwrap().permissions(),
    ) & 0o777;
    assert_eq!(mode, 0o600);
    let checked = run_script(
        &site,
        &server,
        "mbox_check.py",
        serde_json::json!({"archive": archive}),
    );
    assert!(checked.trim() == "ok 4", "{checked}");
    let csv = site.cli(&["audit", "export", "--csv", "--kind", "account"], "");
    assert!(csv.stdout.contains("data_exported"), "{}", csv.stdout);
}

#[test]
fn compliance_report_reflects_config_and_store() {
    let (site, server) = started();
    let out = site.cli(&["compliance", "report"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert!(
        out.stdout.contains("# Register of processing"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Accounts in the accounts file: 2"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("XChaCha20-Poly1305"));
    let key = site.cli(&["audit", "pubkey"], "");
    assert!(
        out.stdout.contains(key.stdout.trim()),
        "report names the seal public key"
    );
    drop(server);
}

#[allow(dead_code)]
fn unused(_: &mut dyn Read) {}

/// Every file under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn delivered_marker_appears_in_no_file_under_data_dir() {
    let (site, server) = started();
    let marker = "Qx9ZebraMarker41";
    // Subject and body both carry the marker; one local, one through APPEND.
    run_script(
        &site,
        &server,
        "smtp_send.py",
        serde_json::json!({"to": "alice@example.org", "subject": marker, "count": 2}),
    );
    let py = format!(
        "import imaplib\nfrom e2e_lib import args, tls_context\na = args()\nm = imaplib.IMAP4_SSL('127.0.0.1', a['imaps'], ssl_context=tls_context(a['cafile']))\nm.login(a['user'], a['password'])\nm.create('\"Folder {marker}\"')\nm.append('INBOX', None, None, b'Subject: {marker}\\r\\n\\r\\n{marker} body\\r\\n')\nm.select('INBOX')\ntyp, d = m.search(None, 'BODY', '{marker}')\nassert len(d[0].split()) >= 1, d\nm.logout()\n"
    );
    let script = site.path("marker.py");
    std::fs::write(&script, py).unwrap();
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(script_args(&site, &server, serde_json::json!({})))
        .env(
            "PYTHONPATH",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests"),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Stop, so every buffer (sled, audit log) is on disk, then scan.
    assert_eq!(server.stop(), Some(0));
    let files = files_under(&site.path("data"));
    assert!(files.len() > 5, "{files:?}");
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "plaintext marker in {}",
            f.display()
        );
    }
}

#[test]
fn sighup_keeps_open_sessions() {
    let (site, server) = started();
    let cafile = site.path("certs/cert.pem");
    let mut tls = {
        let config = client_tls(&cafile);
        let name = rustls::pki_types::ServerName::try_from("mail.example.org").unwrap();
        let conn = rustls::ClientConnection::new(config, name).unwrap();
        let tcp = TcpStream::connect(server.addr("imaps")).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        rustls::StreamOwned::new(conn, tcp)
    };
    let mut buf = [0u8; 4096];
    let n = tls.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"* OK"));
    tls.write_all(format!("a LOGIN alice@example.org \"{PASSWORD}\"\r\n").as_bytes())
        .unwrap();
    let n = tls.read(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).contains("a OK"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    server.signal("HUP");
    assert!(server.wait_log("reloaded certificates and accounts", Duration::from_secs(5)));
    tls.write_all(b"b NOOP\r\n").unwrap();
    let n = tls.read(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).contains("b OK"),
        "session survived SIGHUP"
    );
}

#[test]
fn imap_and_pop3_on_one_inbox_at_once_with_imaplib_and_poplib() {
    let (site, server) = started();
    run_script(
        &site,
        &server,
        "pop3_imap_coexist.py",
        serde_json::json!({}),
    );
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn a_large_fetch_is_written_while_it_is_made() {
    let (site, server) = started();
    let out = run_script(
        &site,
        &server,
        "imap_fetch_streams.py",
        serde_json::json!({"count": 80, "size": 400_000, "pid": server.child.id()}),
    );
    assert!(out.starts_with("ok"), "{out}");
    assert_eq!(server.stop(), Some(0));
}
