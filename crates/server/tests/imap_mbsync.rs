//! mbsync (isync 1.4) against the real binary over imaps on loopback: a
//! full two-way sync of a 1,000-message account with flags into a local
//! Maildir, then an incremental sync after changes on both sides. The
//! server and Maildir sides are filled, changed and compared by
//! tests/imap_mbsync.py; this file drives the binary and mbsync.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const COUNT: u32 = 1000;

struct Sync {
    site: Site,
    server: Server,
}

impl Sync {
    fn start() -> Sync {
        let site = Site::new("");
        site.add_account("alice@example.org");
        let server = site.start();
        let sync = Sync { site, server };
        sync.write_mbsyncrc();
        sync
    }

    fn maildir(&self) -> std::path::PathBuf {
        self.site.path("mail")
    }

    /// The channel syncs every mailbox both ways, creates folders on both
    /// sides, propagates expunges, and keeps its state inside the Maildir.
    fn write_mbsyncrc(&self) {
        let text = format!(
            "IMAPAccount sealpost\nHost 127.0.0.1\nPort {port}\nUser alice@example.org\nPass \"{PASSWORD}\"\n\
             SSLType IMAPS\nCertificateFile {cert}\nAuthMechs PLAIN\nPipelineDepth 50\n\n\
             IMAPStore far\nAccount sealpost\n\n\
             MaildirStore near\nPath {mail}/\nInbox {mail}/INBOX\n\n\
             Channel test\nFar :far:\nNear :near:\nPatterns *\nCreate Both\nSync All\nExpunge Both\nSyncState *\n",
            port = self.server.addr("imaps").port(),
            cert = self.site.path("certs/cert.pem").display(),
            mail = self.maildir().display(),
        );
        std::fs::create_dir_all(self.maildir()).unwrap();
        std::fs::write(self.site.path("mbsyncrc"), text).unwrap();
    }

    /// Runs mbsync once; it must succeed within two minutes.
    fn mbsync(&self) -> String {
        let mut child = Command::new("mbsync")
            .arg("-c")
            .arg(self.site.path("mbsyncrc"))
            .arg("test")
            .env("HOME", self.site.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mbsync is installed (isync, .ci/run installs it)");
        let end = Instant::now() + Duration::from_secs(120);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > end {
                let _ = child.kill();
                panic!("mbsync hung; server log:\n{}", self.server.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "mbsync failed: {text}\nserver log:\n{}",
            self.server.log()
        );
        text
    }

    /// Runs one step of tests/imap_mbsync.py; returns its output.
    fn step(&self, step: &str, extra: serde_json::Value) -> String {
        let mut args = serde_json::json!({
            "cafile": self.site.path("certs/cert.pem"),
            "imaps": self.server.addr("imaps").port(),
            "user": "alice@example.org",
            "password": PASSWORD,
            "maildir": self.maildir().join("INBOX"),
            "count": COUNT,
        });
        for (k, v) in extra.as_object().unwrap() {
            args[k] = v.clone();
        }
        let out = python("imap_mbsync.py", &[step, &args.to_string()]);
        assert!(
            out.ok(),
            "imap_mbsync.py {step}: {}{}\nserver log:\n{}",
            out.stdout,
            out.stderr,
            self.server.log()
        );
        out.stdout
    }

    fn fill_and_sync(&self) {
        let out = self.step("fill", serde_json::json!({}));
        assert!(out.contains(&format!("\"filled\": {COUNT}")), "{out}");
        self.mbsync();
    }
}

fn server_changes() -> serde_json::Value {
    serde_json::json!({
        "flag": [2, 4, 8, 16, 32, 64, 128, 256, 512],
        "unseen": [3, 6, 9, 12, 15],
        "answer": [13, 17, 19, 23],
        "expunge": (100..120).collect::<Vec<u32>>(),
        "append": (1001..=1010).collect::<Vec<u32>>(),
    })
}

fn local_changes() -> serde_json::Value {
    serde_json::json!({
        "seen": (200..230).collect::<Vec<u32>>(),
        "flag": [300, 301, 302],
        "new": 2000,
        "folder": "Projects",
        "folder_message": 3000,
    })
}

fn folders(mail: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(mail)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

#[test]
fn mbsync_full_sync_of_a_1000_message_account_with_flags() {
    let s = Sync::start();
    s.fill_and_sync();
    // Every message, flag and body arrived; the default mailboxes too.
    let out = s.step("compare", serde_json::json!({}));
    assert!(out.contains(&format!("\"matched\": {COUNT}")), "{out}");
    assert_eq!(
        folders(&s.maildir()),
        ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"]
    );
    // A second run finds nothing to do and leaves both sides as they are.
    s.mbsync();
    let out = s.step("compare", serde_json::json!({}));
    assert!(out.contains(&format!("\"matched\": {COUNT}")), "{out}");
}

#[test]
fn mbsync_incremental_sync_after_changes_on_both_sides() {
    let s = Sync::start();
    s.fill_and_sync();
    s.step(
        "server-changes",
        serde_json::json!({"changes": server_changes()}),
    );
    s.step(
        "local-changes",
        serde_json::json!({"changes": local_changes()}),
    );
    s.mbsync();
    // 1000 - 20 expunged + 10 appended on the server + 1 new locally.
    let expect = serde_json::json!({
        "server_changes": server_changes(),
        "local_changes": local_changes(),
    });
    let out = s.step("compare", expect.clone());
    assert!(out.contains("\"matched\": 991"), "{out}");
    assert!(folders(&s.maildir()).contains(&"Projects".to_string()));
    // Nothing left over: another run changes nothing.
    s.mbsync();
    let out = s.step("compare", expect);
    assert!(out.contains("\"matched\": 991"), "{out}");
}
