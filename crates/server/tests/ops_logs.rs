//! The operational log through the real binary: one line per connection,
//! login, message and delivery attempt, in text and in JSON, with the
//! queue id of the audit log, and no address or full client IP unless
//! `[log] personal_data = "full"`.

mod common;
mod smtp_support;

use common::Server;
use serde_json::{Value, json};
use smtp_support::{Sink, route, site, submit, submit_as_alice, wait_for};
use std::time::Duration;

/// A login, a local delivery, a relay to a recording next hop, and a failed
/// login; waits until the relay's attempt is logged.
fn traffic(site: &common::Site, server: &Server) {
    submit_as_alice(site, server, "submissions", "bob@example.net", "local");
    submit_as_alice(
        site,
        server,
        "submissions",
        "carol@remote.example",
        "remote",
    );
    let r = submit(
        site,
        server,
        "submissions",
        json!({"user": "alice@example.org", "password": "wrong", "from": "alice@example.org", "to": ["bob@example.net"]}),
    );
    assert_eq!(r["ok"], false, "{r}");
    assert!(
        server.wait_log("queue_attempt", Duration::from_secs(20)),
        "no queue attempt logged:\n{}",
        server.log()
    );
    // The closing line of the last connection.
    assert!(wait_for(Duration::from_secs(5), || server
        .log()
        .matches("connection_closed")
        .count()
        >= 3));
}

/// The lines of `log` that are events (target `sealpost::event`).
fn events(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("sealpost::event"))
        .collect()
}

/// The value of `key=` in a text line (quotes removed).
fn text_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!(" {key}=");
    let start = line.find(&pat)? + pat.len();
    let rest = &line[start..];
    let v = if let Some(q) = rest.strip_prefix('"') {
        &q[..q.find('"')?]
    } else {
        rest.split_whitespace().next()?
    };
    Some(v)
}

fn text_event<'a>(lines: &[&'a str], event: &str, pairs: &[(&str, &str)]) -> &'a str {
    lines
        .iter()
        .find(|l| {
            text_field(l, "event") == Some(event)
                && pairs.iter().all(|(k, v)| text_field(l, k) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no {event} line with {pairs:?} in:\n{}", lines.join("\n")))
}

/// No address of the test accounts in any line, and no full client IP in
/// any line but the listeners' and the next hop's (our loopback sink: a
/// server, not a client).
fn assert_no_personal_data(log: &str) {
    for line in log.lines() {
        for needle in ["alice@", "bob@", "carol@"] {
            assert!(!line.contains(needle), "{needle} in {line}");
        }
        let server_address = ["listening", "message_relayed", "queue_attempt"]
            .iter()
            .any(|w| line.contains(w));
        if !server_address {
            assert!(!line.contains("127.0.0.1"), "client IP in {line}");
        }
    }
}

#[test]
fn text_log_has_one_line_per_event_without_personal_data() {
    let sink = Sink::start(&[]);
    let site = site(&route("remote.example", sink.port));
    let server = site.start();
    traffic(&site, &server);
    let log = server.log();
    let lines = events(&log);
    let accepted = text_event(
        &lines,
        "connection_accepted",
        &[
            ("protocol", "submissions"),
            ("tls", "TLSv1.3"),
            ("remote", "127.0.0.0/24"),
        ],
    );
    assert!(accepted.contains("conn{id="), "{accepted}");
    let closed = text_event(&lines, "connection_closed", &[("protocol", "submissions")]);
    assert!(text_field(closed, "duration_ms").is_some(), "{closed}");
    let ok = text_event(
        &lines,
        "login",
        &[("protocol", "submission"), ("result", "success")],
    );
    assert!(text_field(ok, "account").unwrap().starts_with('#'), "{ok}");
    assert_eq!(text_field(ok, "tls"), Some("TLSv1.3"), "{ok}");
    let failed = text_event(&lines, "login", &[("result", "failure")]);
    assert!(text_field(failed, "reason").is_some(), "{failed}");
    // The queue id of the local message follows it from acceptance to its
    // mailbox, as in the audit log.
    let local = lines
        .iter()
        .find(|l| {
            text_field(l, "event") == Some("message_accepted")
                && text_field(l, "to").is_some_and(|t| t.starts_with('#'))
        })
        .expect("message_accepted for the local recipient");
    let id = text_field(local, "id").unwrap();
    assert_eq!(text_field(local, "recipients"), Some("1"), "{local}");
    assert!(text_field(local, "size").unwrap().parse::<u64>().unwrap() > 0);
    text_event(&lines, "message_delivered", &[("id", id)]);
    // The audit writer is asynchronous (records reach the file within about
    // a second, the attestation window): ask again until then.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let audit = site.cli(&["audit", "export", "--csv"], "");
        assert!(audit.ok(), "{}", audit.stderr);
        if audit.stdout.contains(id) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "queue id {id} not in the audit log"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let attempt = text_event(&lines, "queue_attempt", &[("result", "delivered")]);
    assert_eq!(
        text_field(attempt, "next_hop"),
        Some("127.0.0.1"),
        "{attempt}"
    );
    assert_eq!(text_field(attempt, "reply"), Some("250"), "{attempt}");
    assert_eq!(text_field(attempt, "next_retry"), Some("-"), "{attempt}");
    assert!(text_field(attempt, "delay_secs").is_some(), "{attempt}");
    assert_no_personal_data(&log);
}

#[test]
fn json_log_has_the_same_events() {
    let sink = Sink::start(&[]);
    let site = site(&format!(
        "{}[log]\nformat = \"json\"\n",
        route("remote.example", sink.port)
    ));
    let server = site.start();
    traffic(&site, &server);
    let log = server.log();
    let events: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|v| v["target"] == "sealpost::event")
        .collect();
    let find = |event: &str, key: &str, value: &str| {
        events
            .iter()
            .find(|v| v["fields"]["event"] == event && v["fields"][key] == value)
            .unwrap_or_else(|| panic!("no {event} with {key}={value} in {events:#?}"))
            .clone()
    };
    let ok = find("login", "result", "success");
    assert_eq!(ok["level"], "INFO");
    assert!(ok["fields"]["account"].as_str().unwrap().starts_with('#'));
    assert_eq!(ok["fields"]["remote"], "127.0.0.0/24");
    find("login", "result", "failure");
    let accepted = find("message_accepted", "protocol", "submission");
    assert_eq!(accepted["fields"]["recipients"], 1);
    find("queue_attempt", "result", "delivered");
    find("connection_closed", "protocol", "submissions");
    assert_no_personal_data(&log);
}

#[test]
fn full_personal_data_logs_addresses_and_ips() {
    let site = site("[log]\npersonal_data = \"full\"\n");
    let server = site.start();
    submit_as_alice(&site, &server, "submissions", "bob@example.net", "full");
    assert!(server.wait_log("message_delivered", Duration::from_secs(10)));
    let log = server.log();
    let lines = events(&log);
    let ok = text_event(&lines, "login", &[("result", "success")]);
    assert_eq!(text_field(ok, "account"), Some("alice@example.org"), "{ok}");
    assert!(
        text_field(ok, "remote").unwrap().starts_with("127.0.0.1:"),
        "{ok}"
    );
    text_event(
        &lines,
        "message_delivered",
        &[("account", "bob@example.net")],
    );
    let report = site.cli(&["compliance", "report"], "");
    assert!(report.ok(), "{}", report.stderr);
    assert!(
        report.stdout.contains("`[log] personal_data = \"full\"`")
            && report.stdout.contains("with addresses and full IPs"),
        "{}",
        report.stdout
    );
}

#[test]
fn compliance_report_states_the_minimal_log() {
    let site = common::Site::new("");
    // The report reads the store, which a first start makes (offline, none is).
    assert_eq!(site.start().stop(), Some(0));
    let report = site.cli(&["compliance", "report"], "");
    assert!(report.ok(), "{}", report.stderr);
    assert!(
        report
            .stdout
            .contains("`[log] personal_data = \"minimal\"`")
            && report.stdout.contains("never an address or a full IP"),
        "{}",
        report.stdout
    );
}
