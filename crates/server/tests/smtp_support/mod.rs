//! Helpers shared by the smtp_* end-to-end tests: the real binary (through
//! `common`) driven by Python's smtplib scripts and swaks from the root
//! tests/ folder, and a recording next hop (tests/smtp_sink.py).

#![allow(dead_code)]

use crate::common::{PASSWORD, Server, Site, python};
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

/// A site with alice@example.org and bob@example.net and `extra` config.
pub fn site(extra: &str) -> Site {
    let site = Site::new(extra);
    site.add_account("alice@example.org");
    site.add_account("bob@example.net");
    site
}

/// One conversation through tests/smtp_converse.py; the replies, in order.
pub fn converse(
    site: &Site,
    server: &Server,
    listener: &str,
    tls: &str,
    ehlo: Option<&str>,
    commands: Value,
) -> Vec<(u16, String)> {
    let args = json!({
        "port": server.addr(listener).port(),
        "tls": tls,
        "cafile": site.path("certs/cert.pem"),
        "ehlo": ehlo,
        "commands": commands,
    });
    let out = python("smtp_converse.py", &[&args.to_string()]);
    assert!(
        out.ok(),
        "smtp_converse.py: {}{}\nserver log:\n{}",
        out.stdout,
        out.stderr,
        server.log()
    );
    let v: Vec<(u16, String)> = serde_json::from_str(out.stdout.trim()).unwrap();
    v
}

/// Checks a reply's code and enhanced code (`"530 5.7.0"`).
pub fn expect(reply: &(u16, String), want: &str) {
    let got = format!("{} {}", reply.0, reply.1);
    assert!(got.starts_with(want), "wanted {want}, got {got:?}");
}

/// One submission through tests/smtp_submit.py (smtplib); `args` are added
/// to the port (of `listener`) and the certificate.
pub fn submit(site: &Site, server: &Server, listener: &str, args: Value) -> Value {
    let mut all = json!({
        "port": server.addr(listener).port(),
        "cafile": site.path("certs/cert.pem"),
        "tls": if listener == "submissions" { "implicit" } else { "starttls" },
    });
    for (k, v) in args.as_object().unwrap() {
        all[k] = v.clone();
    }
    let out = python("smtp_submit.py", &[&all.to_string()]);
    assert!(
        out.ok(),
        "smtp_submit.py: {}{}\nserver log:\n{}",
        out.stdout,
        out.stderr,
        server.log()
    );
    serde_json::from_str(out.stdout.trim()).unwrap()
}

/// alice submits `subject` to `to` on `listener`; panics unless accepted.
pub fn submit_as_alice(site: &Site, server: &Server, listener: &str, to: &str, subject: &str) {
    let r = submit(
        site,
        server,
        listener,
        json!({
            "user": "alice@example.org",
            "password": PASSWORD,
            "from": "alice@example.org",
            "to": [to],
            "subject": subject,
        }),
    );
    assert_eq!(r["ok"], true, "{r}\nserver log:\n{}", server.log());
}

/// Messages in `user`'s INBOX whose subject contains `subject` (IMAP, imaplib).
pub fn count(site: &Site, server: &Server, user: &str, subject: &str) -> usize {
    let args = json!({
        "cafile": site.path("certs/cert.pem"),
        "imaps": server.addr("imaps").port(),
        "user": user,
        "password": PASSWORD,
        "subject": subject,
    });
    let out = python("imap_login.py", &[&args.to_string()]);
    assert!(out.ok(), "imap_login.py: {}{}", out.stdout, out.stderr);
    out.stdout
        .trim()
        .strip_prefix("OK ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("imap_login.py said {:?}", out.stdout))
}

/// Runs swaks with `args` (plus a helo and a timeout); (success, output).
pub fn swaks(args: &[&str]) -> (bool, String) {
    let out = Command::new("swaks")
        .args(args)
        .args(["--timeout", "30", "--helo", "client.example.net"])
        .output()
        .expect("swaks must be installed (apt-get install swaks)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A `[[smtp.route]]` table to a loopback port.
pub fn route(domain: &str, port: u16) -> String {
    format!("[[smtp.route]]\ndomain = \"{domain}\"\nhost = \"127.0.0.1:{port}\"\n")
}

#[path = "../../../smtp/tests/common/sink.rs"]
mod sink;
pub use sink::Sink;

impl Sink {
    /// Waits (up to `within`) until `n` transactions were accepted.
    pub fn wait_accepted(&self, n: usize, within: Duration) -> Vec<Value> {
        wait_for(within, || self.accepted().len() >= n);
        self.accepted()
    }
}

/// The Subject: of every message the sink accepted.
pub fn subjects_at(sink: &Sink) -> Vec<String> {
    sink.accepted()
        .iter()
        .filter_map(|t| {
            let data = t["data"].as_str()?;
            let line = data.lines().find(|l| l.starts_with("Subject: "))?;
            Some(line["Subject: ".len()..].to_string())
        })
        .collect()
}

/// Polls `cond` every 50 ms until it holds or `within` passes; returns it.
pub fn wait_for(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
