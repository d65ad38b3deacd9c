//! C:/S: transcript files replayed through the one driver
//! (`sealpost_pop3::driver::Driver`, the same code the socket loop runs),
//! over the in-memory maildrops (`transcripts.rs`) and over the real store
//! (`store_transcripts.rs`), with a real directory in both.
//!
//! Format, one item per line:
//! - `C: text`  a line the client sends (CRLF added). Consecutive C: lines are
//!   sent in one write (pipelining).
//! - `S: text`  a line the server must send, in order; the S: block after a
//!   C: block must equal everything the server wrote in answer, exactly.
//! - `{V}` in an S: line stands for INBOX's UIDVALIDITY as 8 hex digits.
//! - `!plain` (before the first C:): the connection starts unencrypted.
//! - `!config key=value`: session policy (`max_auth_failures`,
//!   `max_bad_commands`, `max_line`, `expire_days`, `login_delay_secs`).
//! - `!expunge user uid`: another session removes a message.
//! - `!lock user`: another POP3 session holds the maildrop (to the end).
//! - `!fail user CODE`: the store starts failing for that account.
//! - `!closed`: the server must have closed the connection.
//! - `!disconnect`: the client drops the connection (no QUIT).
//! - `!shutdown`: the server shuts down.
//! - `!reconnect`: a new connection to the same server.
//! - `!memory-only`: skip this transcript over the real store (store
//!   failures cannot be caused there on demand).
//! - `#` comments and blank lines are ignored.

use super::*;
use sealpost_audit::AuditLog;
use sealpost_directory::{Directory, Secret, ThrottleLimits};
use sealpost_pop3::driver::{Control, Driver, Maildrops, Services};
use sealpost_pop3::locks::Locks;
use sealpost_pop3::session::SessionConfig;
use std::sync::Arc;
use std::time::Duration;

/// argon2id hashes with tiny parameters (m=8, t=1) of the passwords below.
const HASHES: [(&str, &str); 5] = [
    (
        ALICE,
        "$argon2id$v=19$m=8,t=1,p=1$CU9edrm0sG/3wpupPzvkFA$4cOio5Hp6JrQsxHN2qsMaiWqRLUwbK7WdzGo2TW0Cao",
    ),
    (
        BOB,
        "$argon2id$v=19$m=8,t=1,p=1$IeuIBHwkTNow846erUKxww$GRzcVH+GNhgk3/pGIYvKvG90lRJGaC8USUy6IWOwL5A",
    ),
    (
        "broken@example.org",
        "$argon2id$v=19$m=8,t=1,p=1$vmfjz/gE21M8Amu0yKkmcw$di12fldHxzSouu4DU++q/Vsp9KRNcgpLgIz32V6ssqM",
    ),
    (
        "flaky@example.org",
        "$argon2id$v=19$m=8,t=1,p=1$vmfjz/gE21M8Amu0yKkmcw$di12fldHxzSouu4DU++q/Vsp9KRNcgpLgIz32V6ssqM",
    ),
    (
        "throttled@example.org",
        "$argon2id$v=19$m=8,t=1,p=1$vmfjz/gE21M8Amu0yKkmcw$di12fldHxzSouu4DU++q/Vsp9KRNcgpLgIz32V6ssqM",
    ),
];

/// Failures per account before the directory throttles it, in transcripts.
const PER_ACCOUNT: u32 = 5;

/// A real directory over an accounts file in `dir`: alice ("correct
/// horse"), bob ("bob-pass"), broken, flaky and throttled ("x"); throttled
/// has failed often enough (from another address) to be throttled.
pub async fn directory(dir: &std::path::Path) -> Directory {
    let path = dir.join("accounts.toml");
    let text: String = HASHES
        .iter()
        .map(|(a, h)| format!("[[account]]\naddress = \"{a}\"\npassword = \"{h}\"\n\n"))
        .collect();
    std::fs::write(&path, text).unwrap();
    let directory = Directory::load(
        &path,
        vec!["example.org".into()],
        ThrottleLimits {
            per_ip: 1000,
            per_account: PER_ACCOUNT,
            window: Duration::from_secs(900),
        },
    )
    .unwrap();
    let elsewhere = "198.51.100.1".parse().unwrap();
    for _ in 0..PER_ACCOUNT {
        directory
            .authenticate("throttled@example.org", &Secret::new("no"), elsewhere)
            .await;
    }
    directory
}

/// The driver's services for a transcript: these maildrops, a real
/// directory, no audit log, a short wait for held maildrops.
pub fn services<M: Maildrops>(
    maildrops: M,
    directory: Directory,
    session: SessionConfig,
) -> Arc<Services<M>> {
    Arc::new(Services {
        session,
        maildrops,
        directory,
        audit: AuditLog::disabled(),
        locks: Arc::new(Locks::default()),
        lock_wait: Duration::from_millis(20),
    })
}

/// What a transcript needs beyond the driver's services.
pub trait Harness {
    type M: Maildrops;
    fn services(&self) -> &Arc<Services<Self::M>>;
    fn expunge(&self, user: &str, uid: u32);
    fn fail(&self, user: &str, code: &str);
    fn uid_validity_hex(&self) -> String;
}

/// Whether the transcript is for the in-memory maildrops only.
pub fn memory_only(text: &str) -> bool {
    text.lines().any(|l| l.trim() == "!memory-only")
}

/// The session policy a transcript asks for, and whether it starts in TLS.
pub fn policy(text: &str) -> (SessionConfig, bool) {
    let mut c = SessionConfig::default();
    let mut tls = true;
    for line in text.lines() {
        if let Some(kv) = line.strip_prefix("!config ") {
            let (k, v) = kv.trim().split_once('=').expect("!config key=value");
            match k {
                "max_auth_failures" => c.max_auth_failures = v.parse().unwrap(),
                "max_bad_commands" => c.max_bad_commands = v.parse().unwrap(),
                "max_line" => c.max_line = v.parse().unwrap(),
                "expire_days" => c.expire_days = Some(v.parse().unwrap()),
                "login_delay_secs" => c.login_delay_secs = v.parse().unwrap(),
                _ => panic!("unknown !config key {k}"),
            }
        }
        if line.trim() == "!plain" {
            tls = false;
        }
    }
    (c, tls)
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn peer() -> std::net::SocketAddr {
    "192.0.2.1:41100".parse().unwrap()
}

/// A new connection through the driver, its greeting in `got`.
async fn connect<M: Maildrops>(
    services: &Arc<Services<M>>,
    tls: bool,
    got: &mut Vec<u8>,
) -> Driver<M> {
    let mut d = Driver::new(services.clone(), peer(), tls.then(|| "TLSv1.3".into()));
    d.flush(got).await.unwrap();
    d
}

/// Feeds client octets; an STLS answer is followed by a (pretend) handshake.
pub async fn feed<M: Maildrops>(driver: &mut Driver<M>, input: &[u8], got: &mut Vec<u8>) {
    if let Control::StartTls = driver.feed(input, got).await.unwrap() {
        driver.tls_started(Some("TLSv1.3".into()));
    }
}

/// Runs `text` (from file `name`); panics with a diff on mismatch.
pub async fn run<H: Harness>(name: &str, text: &str, h: &H) {
    let (_, tls) = policy(text);
    let services = h.services();
    let v = h.uid_validity_hex();
    let mut pending_c: Vec<u8> = Vec::new();
    let mut expected: Vec<String> = Vec::new();
    let mut got = Vec::new();
    let mut driver = connect(services, tls, &mut got).await;
    let mut locks_held = Vec::new();

    // Compares what the server wrote since the last check with the S: lines.
    fn check(name: &str, at: usize, got: &[u8], expected: &[String]) {
        let want: String = expected.iter().map(|l| format!("{l}\r\n")).collect();
        if show(got) != want {
            panic!(
                "{name}: block ending before line {at}:\n--- expected\n{}--- got\n{}",
                want.replace("\r\n", "\n"),
                show(got).replace("\r\n", "⏎\n")
            );
        }
    }

    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        if let Some(c) = raw.strip_prefix("C: ").or(raw.strip_prefix("C:")) {
            if pending_c.is_empty() {
                check(name, lineno, &got, &expected);
                expected.clear();
                got.clear();
            }
            pending_c.extend_from_slice(c.as_bytes());
            pending_c.extend_from_slice(b"\r\n");
            continue;
        }
        if !pending_c.is_empty() {
            feed(&mut driver, &pending_c, &mut got).await;
            pending_c.clear();
        }
        if let Some(s) = raw.strip_prefix("S: ").or(raw.strip_prefix("S:")) {
            expected.push(s.replace("{V}", &v));
            continue;
        }
        let directive = raw.trim();
        if directive.is_empty() || directive.starts_with('#') {
            continue;
        }
        let mut words = directive.split_whitespace();
        let word = words.next().unwrap();
        // Directives about the connection first settle what was expected so far.
        if matches!(word, "!closed" | "!disconnect" | "!shutdown" | "!reconnect") {
            check(name, lineno, &got, &expected);
            expected.clear();
            got.clear();
        }
        match word {
            "!plain" | "!config" | "!memory-only" => {}
            "!expunge" => {
                let user = words.next().unwrap();
                h.expunge(user, words.next().unwrap().parse().unwrap());
            }
            "!lock" => {
                let id = services.maildrops.account(words.next().unwrap()).unwrap();
                locks_held.push(services.locks.try_lock(id).expect("free"));
            }
            "!fail" => {
                let user = words.next().unwrap();
                h.fail(user, words.next().unwrap());
            }
            "!closed" => assert!(driver.is_closed(), "{name}:{lineno}: server did not close"),
            "!disconnect" => driver.disconnect(),
            "!shutdown" => driver.shutdown(&mut got).await.unwrap(),
            "!reconnect" => {
                drop(driver);
                driver = connect(services, tls, &mut got).await;
            }
            other => panic!("{name}:{lineno}: unknown directive {other}"),
        }
    }
    if !pending_c.is_empty() {
        feed(&mut driver, &pending_c, &mut got).await;
    }
    check(name, text.lines().count() + 1, &got, &expected);
}
