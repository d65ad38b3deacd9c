//! Issue 18's hostile IMAP inputs against the real binary over TLS on
//! loopback, driven by raw sockets (tests/imap_hostile.py): literals no
//! limit allows (`{99999999999+}`, `{4294967296+}`, a size no u64 holds, a
//! 2 GB CREATE, a 2 MB LOGIN literal before login), a refused literal that
//! is cheap to discard, a 1 MB line before login and a 100 KB line after,
//! a 100 KB AUTHENTICATE response, 100 KB instead of IDLE's DONE, and LIST
//! with a pattern that is not modified UTF-7 followed by LOGOUT.
//!
//! Each is answered as soon as the server has read enough to refuse it;
//! the session is then in step (the next command gets its own answer) or
//! closed after `BYE`. The latency is printed and asserted against
//! [`AT_ONCE_SECS`]: a second is what the issue asks for; the bound is
//! looser because CI shares two cores with several builds (measured
//! latencies are a few milliseconds).

mod common;

use common::*;
use serde_json::{Value, json};

/// The bound on "answered at once", for a loaded shared machine.
const AT_ONCE_SECS: f64 = 3.0;

/// Runs a mode of tests/imap_hostile.py against a fresh server with
/// alice and `imap` as the `[imap]` section's body; checks each latency.
fn run(mode: &str, imap: &str) -> Value {
    let site = Site::new(&format!("[imap]\n{imap}\n"));
    site.add_account("alice@example.org");
    let server = site.start();
    let args = json!({
        "mode": mode,
        "cafile": site.path("certs/cert.pem"),
        "imaps": server.addr("imaps").port(),
        "user": "alice@example.org",
        "password": PASSWORD,
    });
    let out = python("imap_hostile.py", &[&args.to_string()]);
    assert!(
        out.ok(),
        "{mode}: {}{}\nserver log (tail):\n{}",
        out.stdout,
        out.stderr,
        server
            .log()
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let r: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    for (what, secs) in r.as_object().unwrap() {
        let secs = secs.as_f64().unwrap();
        eprintln!("{mode} {what}: answered after {secs:.3} s");
        assert!(
            secs < AT_ONCE_SECS,
            "{mode} {what}: answered after {secs} s"
        );
    }
    r
}

#[test]
fn literals_beyond_any_limit_get_bye_toobig_at_once() {
    let r = run("huge-literals", "");
    assert_eq!(r.as_object().unwrap().len(), 6);
}

#[test]
fn a_refused_literal_cheap_to_discard_keeps_the_session_in_step() {
    run("literal-discarded", "max_literal = 1000");
}

#[test]
fn long_lines_are_answered_before_they_end() {
    run("long-lines", "");
}

#[test]
fn oversized_sasl_response_and_idle_line_are_answered_at_once() {
    run("sasl-and-idle", "");
}

#[test]
fn list_with_invalid_mutf7_pattern_then_logout_gets_the_tagged_ok() {
    run("list-logout", "");
}
