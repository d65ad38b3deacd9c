//! `sealpost import ADDRESS --from PATH` killed half way (SIGKILL, as a
//! power cut would stop it) and run again: every message is there exactly
//! once, nothing lost, and a third run imports nothing and says so. An
//! mbox imported by the CLI itself (the CLI killed), a Maildir imported
//! through the running server's admin socket (the server killed); imaplib
//! then reads every message back.

mod audit_support;
mod common;

use audit_support::*;
use common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Messages in each source: enough that a kill after the first commits
/// lands half way.
const COUNT: usize = 3000;

fn message(i: usize) -> String {
    let filler = "lorem ipsum dolor sit amet ".repeat(30);
    format!(
        "From: bob@example.net\nTo: alice@example.org\nSubject: message {i}\nMessage-ID: <m{i}@resume.test>\n\npayload {i}\n{filler}\n"
    )
}

/// The inode of the one file in `dir` (the import's state), if there is
/// one.
fn state_inode(dir: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let e = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .find(|e| !e.file_name().to_string_lossy().ends_with(".tmp"))?;
    e.metadata().ok().map(|m| m.ino())
}

/// Waits until the state in `dir` was written anew `times` times after it
/// was first seen (each a batch committed), then returns; panics if
/// `running` ends first.
fn wait_for_commits(dir: &Path, times: usize, running: &mut dyn FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(120);
    let mut last = None;
    let mut seen = 0;
    while seen < times {
        assert!(Instant::now() < end, "no commit seen");
        assert!(running(), "the import ended before it was killed");
        let now = state_inode(dir);
        if now.is_some() && now != last {
            if last.is_some() {
                seen += 1;
            }
            last = now;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn import(site: &Site, from: &Path) -> String {
    let out = site.cli(
        &[
            "import",
            "alice@example.org",
            "--from",
            from.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);
    out.stdout
}

/// The number in `line` just before `words`.
fn count_before(line: &str, words: &str) -> usize {
    let at = line
        .find(words)
        .unwrap_or_else(|| panic!("{words:?} in {line:?}"));
    line[..at]
        .split_whitespace()
        .last()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a number before {words:?} in {line:?}"))
}

/// An import of `source` into alice's account, started and left running
/// once it has committed three batches (its state saved three times).
fn import_under_way(site: &Site, source: &Path) -> std::process::Child {
    let mut child = Command::new(BIN)
        .arg("-c")
        .arg(&site.config)
        .args(["import", "alice@example.org", "--from"])
        .arg(source)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_commits(&site.path("data/import"), 3, &mut || {
        child.try_wait().unwrap().is_none()
    });
    child
}

/// The second run finished what the killed one began; the third found
/// everything there.
fn check_runs(second: &str, third: &str) {
    let imported = count_before(second, "messages (");
    let already = count_before(second, "were already here");
    assert!(
        imported > 0 && already > 0,
        "the kill did not land half way: {second}"
    );
    assert_eq!(imported + already, COUNT, "{second}");
    assert!(
        third.starts_with("imported 0 messages (0 octets)"),
        "{third}"
    );
    assert_eq!(count_before(third, "were already here"), COUNT, "{third}");
    // A file import keeps no flags in its state: its summary says
    // nothing of them.
    assert!(!third.contains("flags"), "{third}");
}

/// Reads INBOX over IMAP: every Message-ID once, each with its own
/// payload; prints the UIDs.
const READ_BACK: &str = r#"
import imaplib, ssl, sys, json, re
a = json.loads(sys.argv[1])
ctx = ssl.create_default_context(cafile=a["cafile"])
ctx.check_hostname = False
m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
m.login(a["user"], a["password"])
m.select("INBOX", readonly=True)
typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
assert typ == "OK", typ
seen = {}
uids = []
for d in data:
    if not isinstance(d, tuple):
        continue
    uids.append(int(re.search(rb"UID (\d+)", d[0]).group(1)))
    body = d[1]
    i = int(re.search(rb"Message-ID: <m(\d+)@resume.test>", body).group(1))
    assert b"\r\n\r\npayload %d\r\n" % i in body, i
    seen[i] = seen.get(i, 0) + 1
n = a["count"]
twice = [i for i, c in seen.items() if c != 1]
missing = [i for i in range(n) if i not in seen]
assert not twice and not missing, (twice[:10], missing[:10])
assert len(uids) == n, len(uids)
print(" ".join(map(str, sorted(uids))))
m.logout()
"#;

fn read_back(site: &Site) -> Vec<u32> {
    let server = site.start();
    let args = script_args(site, &server, serde_json::json!({ "count": COUNT }));
    let got = Command::new("python3")
        .args(["-c", READ_BACK, &args])
        .output()
        .expect("python3 runs");
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    server.stop();
    String::from_utf8_lossy(&got.stdout)
        .split_whitespace()
        .map(|u| u.parse().unwrap())
        .collect()
}

#[test]
fn an_mbox_import_killed_half_way_finishes_with_every_message_once() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    let mbox = site.path("inbox.mbox");
    let text: String = (0..COUNT)
        .map(|i| {
            format!(
                "From bob@example.net Thu Jan  2 10:00:00 2020\n{}\n",
                message(i)
            )
        })
        .collect();
    std::fs::write(&mbox, text).unwrap();

    let mut child = import_under_way(&site, &mbox);
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "killed by a signal");

    let second = import(&site, &mbox);
    let third = import(&site, &mbox);
    check_runs(&second, &third);
    let uids = read_back(&site);
    assert_eq!(uids.len(), COUNT);
}

#[test]
fn a_maildir_import_through_a_server_killed_half_way_finishes_with_every_message_once() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    let maildir = site.path("Maildir");
    std::fs::create_dir_all(maildir.join("new")).unwrap();
    std::fs::create_dir_all(maildir.join("cur")).unwrap();
    let mut uidlist = String::from("3 V1577000000 N9\n");
    for i in 0..COUNT {
        let name = format!("1577959200.M{i}P1.host");
        std::fs::write(maildir.join("cur").join(format!("{name}:2,S")), message(i)).unwrap();
        uidlist.push_str(&format!("{} :{name}\n", i + 1));
    }
    std::fs::write(maildir.join("dovecot-uidlist"), uidlist).unwrap();

    let server = site.start();
    let mut child = import_under_way(&site, &maildir);
    server.kill9();
    let _ = child.wait();

    let second = import(&site, &maildir);
    let third = import(&site, &maildir);
    check_runs(&second, &third);
    // Every message kept the UID the uidlist gave it, across the kill.
    let uids = read_back(&site);
    assert_eq!(uids, (1..=COUNT as u32).collect::<Vec<_>>());
}
