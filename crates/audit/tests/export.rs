//! CSV export: RFC 4180 round trip through Python's csv module with hostile
//! field contents, and filters.

mod common;

use common::*;
use sealpost_audit::{Event, ExportFilter, Kind, LoginOutcome, Protocol};

/// Parses CSV with Python's csv module; returns rows as lists of strings.
fn python_rows(csv: &str) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.csv");
    std::fs::write(&path, csv).unwrap();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import csv, json, sys\n\
             with open(sys.argv[1], newline='', encoding='utf-8') as f:\n\
             \x20   print(json.dumps(list(csv.reader(f, strict=True))))",
        )
        .arg(&path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn col(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

/// What a spreadsheet-safe cell holds for a text.
fn defused(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

const HOSTILE: [&str; 9] = [
    "plain@example.org",
    "comma,inside@example.org",
    "\"quoted\"@example.org",
    "line\r\nbreak@example.org",
    "lf\nonly",
    "ünïcødé@exämple.org ✉",
    "=HYPERLINK(\"http://evil\")",
    "+1+1@example.org",
    "-2,\"x\"\r\n@@",
];

#[test]
fn csv_round_trips_hostile_fields_through_python() {
    let site = Site::new();
    let log = site.open();
    for (i, h) in HOSTILE.iter().enumerate() {
        log.record(Event::Login {
            protocol: Protocol::Pop3,
            account: h.to_string(),
            remote: format!("[2001:db8::{i}]:995"),
            tls: Some("TLSv1.2".into()),
            outcome: LoginOutcome::Throttled,
            app_password: None,
            mechanism: None,
        });
        log.record(Event::MessageBounced {
            id: format!("q{i}"),
            recipient: h.to_string(),
            reason: format!("550 5.1.1 <{h}>: no such user"),
        });
        log.record(Event::AccountChanged {
            account: "a@example.org".into(),
            change: h.to_string(),
        });
    }
    log.close().unwrap();
    let csv = site.export(&ExportFilter::default());
    let rows = python_rows(&csv);
    let header = &rows[0];
    assert_eq!(header.len(), sealpost_audit::COLUMNS.len());
    assert_eq!(rows.len(), 1 + 3 * HOSTILE.len());
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{row:?}");
    }
    let (account, recipient, reason, details, event, remote) = (
        col(header, "account"),
        col(header, "recipient"),
        col(header, "reason"),
        col(header, "details"),
        col(header, "event"),
        col(header, "remote"),
    );
    for (i, h) in HOSTILE.iter().enumerate() {
        let login = &rows[1 + 3 * i];
        assert_eq!(login[event], "login");
        assert_eq!(login[account], defused(h));
        assert_eq!(login[remote], format!("[2001:db8::{i}]:995"));
        let bounce = &rows[2 + 3 * i];
        assert_eq!(bounce[recipient], defused(h));
        assert_eq!(bounce[reason], format!("550 5.1.1 <{h}>: no such user"));
        let changed = &rows[3 + 3 * i];
        assert_eq!(changed[details], format!("change={h}"));
    }
    // The CSV itself: CRLF row ends, and no formula reaches a cell start.
    assert!(csv.ends_with("\r\n"));
    for row in &rows[1..] {
        for cell in row {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell:?}");
        }
    }
}

/// Logs a fixed set of events in two batches a second apart; returns the
/// cutoff between them.
fn two_batches(site: &Site) -> i64 {
    let log = site.open_with(&small_segments());
    log.record(login(1)); // user1
    log.record(Event::Login {
        protocol: Protocol::Submission,
        account: "A@Example.org".into(),
        remote: "198.51.100.7:5555".into(),
        tls: None,
        outcome: LoginOutcome::Success,
        app_password: None,
        mechanism: None,
    });
    log.record(delivered(1, "a@example.org"));
    log.record(Event::AccountCreated {
        account: "b@example.org".into(),
    });
    log.record(Event::ServerStarted {
        version: "0.1.0".into(),
    });
    log.flush();
    let cutoff = next_second_after(now_ms());
    log.record(Event::MessageAccepted {
        protocol: Protocol::Smtp,
        id: "q9".into(),
        message_id: Some("<x@y>".into()),
        sender: "c@example.net".into(),
        recipients: vec!["a@example.org".into(), "b@example.org".into()],
        size: 123,
        remote: "203.0.113.1:25".into(),
        account: None,
    });
    log.record(login(2)); // user2
    log.record(Event::AccountDeleted {
        account: "b@example.org".into(),
    });
    log.record(Event::ConfigReloaded {
        ok: false,
        error: Some("accounts.toml:3: bad".into()),
    });
    log.close().unwrap();
    cutoff
}

/// The (event, seq) pairs an export returns.
fn events(site: &Site, filter: &ExportFilter) -> Vec<String> {
    let rows = python_rows(&site.export(filter));
    let e = col(&rows[0], "event");
    rows[1..].iter().map(|r| r[e].clone()).collect()
}

#[test]
fn filters_return_exactly_the_matching_events() {
    let site = Site::new();
    let cutoff = two_batches(&site);
    let all = events(&site, &ExportFilter::default());
    assert_eq!(
        all,
        [
            "login",
            "login",
            "message_delivered",
            "account_created",
            "server_started",
            "message_accepted",
            "login",
            "account_deleted",
            "config_reloaded"
        ]
    );
    let f = |account: Option<&str>, since, until, kind| ExportFilter {
        account: account.map(str::to_string),
        since,
        until,
        kind,
    };
    assert_eq!(
        events(&site, &f(Some("a@example.org"), None, None, None)),
        ["login", "message_delivered", "message_accepted"]
    );
    assert_eq!(
        events(&site, &f(Some("b@example.org"), None, None, None)),
        ["account_created", "message_accepted", "account_deleted"]
    );
    assert_eq!(
        events(&site, &f(None, None, None, Some(Kind::Login))),
        ["login", "login", "login"]
    );
    assert_eq!(
        events(&site, &f(None, None, None, Some(Kind::Delivery))),
        ["message_delivered", "message_accepted"]
    );
    assert_eq!(
        events(&site, &f(None, None, None, Some(Kind::Account))),
        ["account_created", "account_deleted"]
    );
    assert_eq!(
        events(&site, &f(None, None, None, Some(Kind::Admin))),
        ["server_started", "config_reloaded"]
    );
    assert_eq!(
        events(&site, &f(None, Some(cutoff), None, None)),
        [
            "message_accepted",
            "login",
            "account_deleted",
            "config_reloaded"
        ]
    );
    assert_eq!(
        events(&site, &f(None, None, Some(cutoff), None)),
        [
            "login",
            "login",
            "message_delivered",
            "account_created",
            "server_started"
        ]
    );
    assert_eq!(
        events(
            &site,
            &f(
                Some("b@example.org"),
                Some(cutoff),
                None,
                Some(Kind::Account)
            )
        ),
        ["account_deleted"]
    );
    assert!(events(&site, &f(Some("nobody@example.org"), None, None, None)).is_empty());
    assert!(events(&site, &f(None, Some(cutoff), Some(cutoff), None)).is_empty());
}

#[test]
fn export_counts_rows_and_shows_list_fields() {
    let site = Site::new();
    two_batches(&site);
    let mut out = Vec::new();
    let n = sealpost_audit::export_csv(
        &site.dir(),
        &site.pii_keys(),
        &ExportFilter::default(),
        &mut out,
    )
    .unwrap();
    assert_eq!(n, 9);
    let rows = python_rows(std::str::from_utf8(&out).unwrap());
    let accepted = rows
        .iter()
        .find(|r| r.contains(&"message_accepted".to_string()))
        .unwrap();
    assert_eq!(
        accepted[col(&rows[0], "recipients")],
        "a@example.org;b@example.org"
    );
    assert_eq!(accepted[col(&rows[0], "message_id")], "<x@y>");
    assert_eq!(accepted[col(&rows[0], "size")], "123");
    assert_eq!(accepted[col(&rows[0], "kind")], "delivery");
    // Nothing personal is in the sealed segments themselves.
    for n in 1..=3 {
        if let Ok(seg) = std::fs::read_to_string(site.seg(n)) {
            assert!(!seg.contains("example.org"), "{seg}");
            assert!(!seg.contains("198.51.100.7"), "{seg}");
        }
    }
}
