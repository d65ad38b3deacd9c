//! C:/S: transcript files replayed against the session through the sync driver.
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
//! - `!lock user`: another POP3 session holds the maildrop.
//! - `!fail user CODE`: the store starts failing for that account.
//! - `!login-delay`: the backend refuses a second login of an account.
//! - `!closed`: the server must have closed the connection.
//! - `!disconnect`: the client drops the connection (no QUIT).
//! - `!shutdown`: the server shuts down.
//! - `!reconnect`: a new connection to the same backend.
//! - `!memory-only`: skip this transcript over the real store.
//! - `#` comments and blank lines are ignored.

use sealpost_pop3::driver::{Backend, Driver};
use sealpost_pop3::session::SessionConfig;

/// What the transcript needs beyond [`Backend`].
pub trait TranscriptBackend: Backend {
    fn expunge(&mut self, user: &str, uid: u32);
    fn lock(&mut self, user: &str);
    fn set_login_delay(&mut self);
    fn fail(&mut self, user: &str, code: &str);
    fn uid_validity_hex(&self) -> String;
}

/// Whether the transcript is for the in-memory backend only.
pub fn memory_only(text: &str) -> bool {
    text.lines().any(|l| l.trim() == "!memory-only")
}

fn apply_config(c: &mut SessionConfig, kv: &str) {
    let (k, v) = kv.split_once('=').expect("!config key=value");
    match k {
        "max_auth_failures" => c.max_auth_failures = v.parse().unwrap(),
        "max_bad_commands" => c.max_bad_commands = v.parse().unwrap(),
        "max_line" => c.max_line = v.parse().unwrap(),
        "expire_days" => c.expire_days = Some(v.parse().unwrap()),
        "login_delay_secs" => c.login_delay_secs = v.parse().unwrap(),
        _ => panic!("unknown !config key {k}"),
    }
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `text` (from file `name`) over `backend`; panics with a diff on mismatch.
pub fn run<B: TranscriptBackend>(name: &str, text: &str, backend: &mut B) {
    let mut config = SessionConfig::default();
    let mut tls = true;
    for line in text.lines() {
        if let Some(kv) = line.strip_prefix("!config ") {
            apply_config(&mut config, kv.trim());
        }
        if line.trim() == "!plain" {
            tls = false;
        }
    }
    let v = backend.uid_validity_hex();
    let mut driver = Driver::new(&mut *backend, config.clone(), tls);
    let mut pending_c: Vec<u8> = Vec::new();
    let mut expected: Vec<String> = Vec::new();
    let mut got = driver.take_output();

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
            driver.feed(&pending_c);
            pending_c.clear();
            got.extend(driver.take_output());
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
                let uid = words.next().unwrap().parse().unwrap();
                driver.backend_mut().expunge(user, uid);
            }
            "!lock" => driver.backend_mut().lock(words.next().unwrap()),
            "!login-delay" => driver.backend_mut().set_login_delay(),
            "!fail" => {
                let user = words.next().unwrap();
                driver.backend_mut().fail(user, words.next().unwrap());
            }
            "!closed" => assert!(driver.is_closed(), "{name}:{lineno}: server did not close"),
            "!disconnect" => driver.disconnect(),
            "!shutdown" => {
                driver.shutdown();
                got.extend(driver.take_output());
            }
            "!reconnect" => {
                drop(driver);
                driver = Driver::new(&mut *backend, config.clone(), tls);
                got.extend(driver.take_output());
            }
            other => panic!("{name}:{lineno}: unknown directive {other}"),
        }
    }
    if !pending_c.is_empty() {
        driver.feed(&pending_c);
        got.extend(driver.take_output());
    }
    check(name, text.lines().count() + 1, &got, &expected);
}
