//! `sealpost import ADDRESS --from MAILDIR` through the real binary, on a
//! Maildir laid out as Dovecot keeps one (built here by hand after
//! Dovecot's documented formats: `dovecot-uidlist` version 3,
//! `dovecot-keywords`, `subscriptions` version 2, Maildir++ subfolders);
//! then imaplib checks UIDVALIDITY, UIDs, flags, keywords, INTERNALDATE
//! and subscriptions over IMAP; mbsync, moved from a server to another that
//! imported the same Maildir, transfers nothing.

mod audit_support;
mod common;

use audit_support::*;
use common::*;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

fn message(subject: &str) -> String {
    format!(
        "From: bob@example.net\r\nTo: alice@example.org\r\nSubject: {subject}\r\nDate: Thu, 02 Jan 2020 10:00:00 +0000\r\n\r\n{subject} body\r\n"
    )
}

fn put(path: &Path, text: &str, mtime: u64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(UNIX_EPOCH + Duration::from_secs(mtime))
        .unwrap();
}

/// 2020-01-02 10:00:00 UTC and the following days.
const JAN2: u64 = 1_577_959_200;

fn dovecot_maildir(root: &Path) {
    put(
        &root.join("cur/1577959200.M1P1.old:2,S"),
        &message("first"),
        JAN2,
    );
    put(
        &root.join("cur/1577959201.M2P1.old:2,RSa"),
        &message("second"),
        JAN2 + 86_400,
    );
    put(
        &root.join("new/1577959202.M3P1.old"),
        &message("third"),
        JAN2 + 2 * 86_400,
    );
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    std::fs::write(
        root.join("dovecot-uidlist"),
        "3 V1577000000 N9 G1a2b3c\n3 :1577959200.M1P1.old\n7 W300 :1577959201.M2P1.old\n8 :1577959202.M3P1.old\n",
    )
    .unwrap();
    std::fs::write(root.join("dovecot-keywords"), "0 Work\n1 $Label1\n").unwrap();
    put(
        &root.join(".Lists.rust/cur/1577959203.M4P1.old:2,FS"),
        &message("fourth"),
        JAN2,
    );
    std::fs::write(
        root.join(".Lists.rust/dovecot-uidlist"),
        "3 V1577000005 N3\n2 :1577959203.M4P1.old\n",
    )
    .unwrap();
    std::fs::write(root.join("subscriptions"), "V\t2\n\nLists\trust\n").unwrap();
}

const CHECK: &str = r#"
import imaplib, ssl, sys, json
a = json.loads(sys.argv[1])
ctx = ssl.create_default_context(cafile=a["cafile"])
ctx.check_hostname = False
m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
m.login(a["user"], a["password"])
for box in ["INBOX", "Lists/rust"]:
    typ, _ = m.select(box, readonly=True)
    assert typ == "OK", box
    print(box, "UIDVALIDITY", m.response("UIDVALIDITY")[1][0].decode())
    typ, data = m.uid("FETCH", "1:*", "(FLAGS INTERNALDATE)")
    for d in data:
        print(box, d.decode())
typ, data = m._simple_command("LIST", "(SUBSCRIBED)", '""', "*")
typ, data = m._untagged_response(typ, data, "LIST")
print("SUBSCRIBED", [d.decode() for d in data if d])
m.logout()
"#;

#[test]
fn a_dovecot_maildir_keeps_uids_flags_keywords_dates_and_subscriptions() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    let maildir = site.path("Maildir");
    dovecot_maildir(&maildir);
    let out = site.cli(
        &[
            "import",
            "alice@example.org",
            "--from",
            maildir.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout,
        "imported 4 messages (464 octets) into 2 mailboxes of alice@example.org; 4 kept their UID\n"
    );
    let server = site.start();
    let args = script_args(&site, &server, serde_json::json!({}));
    let got = std::process::Command::new("python3")
        .args(["-c", CHECK, &args])
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&got.stdout).into_owned();
    assert!(
        got.status.success(),
        "{}{text}",
        String::from_utf8_lossy(&got.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "INBOX UIDVALIDITY 1577000000", "{text}");
    assert!(
        lines[1].contains("UID 3 ") && lines[1].contains("FLAGS (\\Seen)"),
        "{text}"
    );
    assert!(
        lines[1].contains("INTERNALDATE \"02-Jan-2020 10:00:00 +0000\""),
        "{text}"
    );
    assert!(lines[2].contains("UID 7 "), "{text}");
    assert!(
        lines[2].contains("\\Answered") && lines[2].contains("\\Seen") && lines[2].contains("Work"),
        "{text}"
    );
    assert!(lines[2].contains("03-Jan-2020"), "{text}");
    assert!(
        lines[3].contains("UID 8 ") && !lines[3].contains("\\Seen"),
        "{text}"
    );
    assert_eq!(lines[4], "Lists/rust UIDVALIDITY 1577000005", "{text}");
    assert!(
        lines[5].contains("UID 2 ")
            && lines[5].contains("\\Flagged")
            && lines[5].contains("\\Seen"),
        "{text}"
    );
    assert!(
        lines[6].starts_with("SUBSCRIBED") && lines[6].contains("Lists/rust"),
        "{text}"
    );
    server.stop();
    let rows = audit_rows(&site, &["--kind", "account"]);
    assert!(
        rows.iter().any(|r| r["event"] == "account_changed"
            && r["details"].contains("imported 4 messages into 2 mailboxes")),
        "{rows:?}"
    );
}

#[test]
fn import_refuses_what_it_cannot_do_in_one_line_and_runs_beside_serve() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    let maildir = site.path("Maildir");
    dovecot_maildir(&maildir);
    for (address, from, want) in [
        (
            "nobody@example.org",
            maildir.clone(),
            "no account nobody@example.org",
        ),
        (
            "alice@example.org",
            site.path("nothing"),
            "no such file or folder",
        ),
    ] {
        let out = site.cli(&["import", address, "--from", from.to_str().unwrap()], "");
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(out.stderr.contains(want), "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
    // With the server running, the import goes through it.
    let server = site.start();
    let out = site.cli(
        &[
            "import",
            "alice@example.org",
            "--from",
            maildir.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.ok(), "{}", out.stderr);
    assert!(
        out.stdout.starts_with("imported 4 messages"),
        "{}",
        out.stdout
    );
    server.stop();
}

#[test]
fn mbox_files_keep_flags_keywords_and_dates() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    let folder = site.path("mail");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("INBOX"),
        "From bob@example.net Thu Jan  2 10:00:00 2020\nFrom: bob@example.net\nSubject: one\nStatus: RO\nX-Status: A\nX-Keywords: Work\n\nline\n>From the past\n\nFrom carol@example.net Fri Jan  3 10:00:00 2020\nFrom: carol@example.net\nSubject: two\n\nsecond\n",
    )
    .unwrap();
    std::fs::write(
        folder.join("Archive.mbox"),
        "From x Sat Jan  4 10:00:00 2020\nSubject: three\nStatus: R\nX-Status: F\n\nthird\n",
    )
    .unwrap();
    let out = site.cli(
        &[
            "import",
            "alice@example.org",
            "--from",
            folder.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with("imported 3 messages (") && out.stdout.contains("into 2 mailboxes"),
        "{}",
        out.stdout
    );
    let server = site.start();
    let script = r#"
import imaplib, ssl, sys, json
a = json.loads(sys.argv[1])
ctx = ssl.create_default_context(cafile=a["cafile"])
ctx.check_hostname = False
m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
m.login(a["user"], a["password"])
for box in ["INBOX", "Archive"]:
    m.select(box, readonly=True)
    typ, data = m.fetch("1:*", "(FLAGS INTERNALDATE BODY.PEEK[TEXT])")
    for d in data:
        if isinstance(d, tuple):
            print(box, d[0].decode(), repr(d[1].decode()))
m.logout()
"#;
    let args = script_args(&site, &server, serde_json::json!({}));
    let got = std::process::Command::new("python3")
        .args(["-c", script, &args])
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&got.stdout).into_owned();
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].contains("\\Seen") && lines[0].contains("\\Answered") && lines[0].contains("Work"),
        "{text}"
    );
    assert!(lines[0].contains("02-Jan-2020 10:00:00 +0000"), "{text}");
    // mboxrd: one `>` comes off; the separating blank line is not the message's.
    assert!(
        lines[0].ends_with("'line\\r\\nFrom the past\\r\\n'"),
        "{text}"
    );
    assert!(
        lines[1].contains("FLAGS ()") && lines[1].contains("03-Jan-2020"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("Archive")
            && lines[2].contains("\\Flagged")
            && lines[2].contains("04-Jan-2020"),
        "{text}"
    );
    server.stop();
}

/// mbsync's config for `alice` on `server`, keeping its Maildir and state
/// in `near`.
fn mbsyncrc(site: &Site, server: &Server, near: &Path) -> std::path::PathBuf {
    let text = format!(
        "IMAPAccount sealpost\nHost 127.0.0.1\nPort {port}\nUser alice@example.org\nPass \"{PASSWORD}\"\n\
         SSLType IMAPS\nCertificateFile {cert}\nAuthMechs PLAIN\n\n\
         IMAPStore far\nAccount sealpost\n\n\
         MaildirStore near\nPath {mail}/\nInbox {mail}/INBOX\nSubFolders Verbatim\n\n\
         Channel test\nFar :far:\nNear :near:\nPatterns *\nCreate Both\nSync All\nExpunge Both\nSyncState *\n",
        port = server.addr("imaps").port(),
        cert = site.path("certs/cert.pem").display(),
        mail = near.display(),
    );
    std::fs::create_dir_all(near).unwrap();
    let rc = site.path("mbsyncrc");
    std::fs::write(&rc, text).unwrap();
    rc
}

/// Runs mbsync once (at most a minute); returns whether it succeeded and its output.
fn mbsync(rc: &Path, home: &Path) -> (bool, String) {
    let mut child = std::process::Command::new("mbsync")
        .arg("-c")
        .arg(rc)
        .arg("test")
        .env("HOME", home)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mbsync is installed (isync, .ci/run installs it)");
    let end = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < end, "mbsync hung");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Every file under a folder, relative, sorted (mbsync's Maildir and state).
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// A server that imported the same Dovecot Maildir, with its UIDVALIDITY
/// and UIDs, after `first` was synced by mbsync.
fn imported_site(maildir_with_uidlist: bool) -> (Site, Server) {
    let site = Site::new("");
    site.add_account("alice@example.org");
    let maildir = site.path("Maildir");
    dovecot_maildir(&maildir);
    if !maildir_with_uidlist {
        std::fs::remove_file(maildir.join("dovecot-uidlist")).unwrap();
        std::fs::remove_file(maildir.join(".Lists.rust/dovecot-uidlist")).unwrap();
    }
    let out = site.cli(
        &[
            "import",
            "alice@example.org",
            "--from",
            maildir.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.ok(), "{}", out.stderr);
    let server = site.start();
    (site, server)
}

/// A client that synced with mbsync against one server moves to another
/// that imported the same Dovecot Maildir: the next sync transfers nothing
/// (same UIDVALIDITY, same UIDs). Without the uidlist the new server's
/// UIDVALIDITY differs and mbsync notices, so the check can fail.
#[test]
fn mbsync_transfers_nothing_after_the_move() {
    let client = tempfile::tempdir().unwrap();
    let near = client.path().join("mail");
    let (old_site, old_server) = imported_site(true);
    let rc = mbsyncrc(&old_site, &old_server, &near);
    let (ok, text) = mbsync(&rc, client.path());
    assert!(ok, "{text}");
    let before = files(&near);
    assert_eq!(
        before
            .iter()
            .filter(|f| f.contains("/cur/") || f.contains("/new/"))
            .count(),
        4,
        "{before:?}"
    );
    old_server.stop();

    let (new_site, new_server) = imported_site(true);
    let rc = mbsyncrc(&new_site, &new_server, &near);
    let (ok, text) = mbsync(&rc, client.path());
    assert!(ok, "{text}");
    let messages = |v: &[String]| -> Vec<String> {
        v.iter()
            .filter(|f| f.contains("/cur/") || f.contains("/new/"))
            .cloned()
            .collect()
    };
    assert_eq!(messages(&files(&near)), messages(&before), "{text}");
    new_server.stop();

    // The control: a server whose import did not keep the UIDs.
    let (other_site, other_server) = imported_site(false);
    let rc = mbsyncrc(&other_site, &other_server, &near);
    let (ok, text) = mbsync(&rc, client.path());
    assert!(
        !ok && text.contains("Unable to recover from UIDVALIDITY change"),
        "mbsync did not notice new UIDs: {text}"
    );
    other_server.stop();
}

#[test]
fn a_source_the_running_server_cannot_see_is_refused_with_what_to_do() {
    // The server in a mount namespace of its own with a /tmp of its own,
    // as deploy/'s unit gives it (PrivateTmp=): a tmpfs over `hidden/`
    // here. This command sees the Maildir there; the server does not.
    // Needs root (mount), as CI runs.
    let site = Site::new("");
    site.add_account("alice@example.org");
    let hidden = site.path("hidden");
    dovecot_maildir(&hidden.join("Maildir"));
    let server = Server::start_with_mounts(&site.config, &hidden, "mount -t tmpfs tmpfs \"$0\"");
    let maildir = hidden.join("Maildir");
    let import = || {
        site.cli(
            &[
                "import",
                "alice@example.org",
                "--from",
                maildir.to_str().unwrap(),
            ],
            "",
        )
    };
    let out = import();
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("no such file or folder")
            && out.stderr.contains("reads the source as its own user")
            && out.stderr.contains("import offline"),
        "{}",
        out.stderr
    );
    // Offline, the command reads it itself.
    assert_eq!(server.stop(), Some(0));
    let out = import();
    assert!(
        out.stdout.starts_with("imported 4 messages"),
        "{}{}",
        out.stdout,
        out.stderr
    );
}
