//! What the audit log records, through the real binary and real clients,
//! read back with `sealpost audit export --csv`: login attempts (IMAP and
//! SMTP submission, success and failure, with protocol, account, remote
//! ip:port and TLS version), and messages accepted, delivered, queued,
//! relayed and bounced. No subject or body ever reaches the audit files.

mod audit_support;
mod common;

use audit_support::*;
use common::*;
use serde_json::json;
use std::time::Duration;

const ALICE: &str = "alice@example.org";
/// Marks subjects and bodies; must never appear in the audit files.
const SUBJECT: &str = "Zq7SubjectMarker";
const BODY: &str = "Zq7BodyMarker";

fn remote_ok(remote: &str) -> bool {
    remote
        .strip_prefix("127.0.0.1:")
        .and_then(|p| p.parse::<u16>().ok())
        .is_some_and(|p| p > 0)
}

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

fn assert_no_content(site: &Site) {
    let files = files_under(&site.path("data/audit"));
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "seg"))
    );
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        for marker in [SUBJECT, BODY] {
            assert!(
                !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
                "{marker} in {}",
                f.display()
            );
        }
    }
}

#[test]
fn audit_login_events_name_protocol_account_remote_and_tls() {
    let site = Site::new(NO_DNS);
    site.add_account(ALICE);
    site.add_account("bob@example.net");
    let server = site.start();
    let ok = run_script(&site, &server, "imap_login.py", json!({}));
    assert_eq!(ok.trim(), "OK");
    let no = run_script(
        &site,
        &server,
        "imap_login.py",
        json!({"password": "wrong"}),
    );
    assert!(no.starts_with("NO"), "{no}");
    let sent = run_script(
        &site,
        &server,
        "audit_submit.py",
        json!({"to": "bob@example.net", "subject": SUBJECT, "body": BODY}),
    );
    assert_eq!(sent.trim(), "250");
    let refused = run_script(
        &site,
        &server,
        "audit_submit.py",
        json!({"to": "bob@example.net", "password": "wrong"}),
    );
    assert!(refused.starts_with("AUTHFAIL 535"), "{refused}");
    // smtplib tries PLAIN, then LOGIN: the bad password fails twice.
    assert!(
        wait_for(Duration::from_secs(5), || {
            audit_rows(&site, &["--kind", "login"]).len() == 5
        }),
        "{:?}",
        audit_rows(&site, &["--kind", "login"])
    );
    let logins = audit_rows(&site, &["--kind", "login"]);
    for (protocol, outcome) in [
        ("imap", "success"),
        ("imap", "failure"),
        ("submission", "success"),
        ("submission", "failure"),
    ] {
        let row = logins
            .iter()
            .find(|r| r["protocol"] == protocol && r["outcome"] == outcome)
            .unwrap_or_else(|| panic!("no {protocol} {outcome} login: {logins:?}"));
        assert_eq!(row["event"], "login");
        assert_eq!(row["kind"], "login");
        assert_eq!(row["account"], ALICE, "{row:?}");
        assert!(remote_ok(&row["remote"]), "{row:?}");
        assert!(
            ["TLSv1.2", "TLSv1.3"].contains(&row["tls"].as_str()),
            "{row:?}"
        );
    }
    // The client's own port, not the server's.
    let imaps = server.addr("imaps").port().to_string();
    assert!(
        logins
            .iter()
            .all(|r| !r["remote"].ends_with(&format!(":{imaps}")))
    );
    // The account filter finds the same five.
    assert_eq!(
        audit_rows(&site, &["--kind", "login", "--account", ALICE]).len(),
        5
    );
    assert_eq!(server.stop(), Some(0));
    assert_no_content(&site);
}

#[test]
fn audit_message_events_accepted_delivered_queued_relayed_bounced() {
    // B hosts example.com and takes what A relays to it.
    let b = Site::new(&format!("{NO_DNS}[[domain]]\nname = \"example.com\"\n"));
    b.add_account("carol@example.com");
    let b_server = b.start();
    let a = Site::new(&format!(
        "{NO_DNS}[[smtp.route]]\ndomain = \"example.com\"\nhost = \"{}\"\n",
        b_server.addr("smtp")
    ));
    a.add_account(ALICE);
    let server = a.start();
    // Inbound, to a local account.
    run_script(
        &a,
        &server,
        "smtp_send.py",
        json!({"to": ALICE, "subject": SUBJECT, "count": 1}),
    );
    // Submitted, to a remote account (relayed) and a remote nobody (bounced).
    for (to, msgid) in [
        ("carol@example.com", "relay-1"),
        ("nobody@example.com", "bounce-1"),
    ] {
        let out = run_script(
            &a,
            &server,
            "audit_submit.py",
            json!({"to": to, "subject": SUBJECT, "body": BODY, "msgid": msgid}),
        );
        assert_eq!(out.trim(), "250");
    }
    let all = |site: &Site| audit_rows(site, &["--kind", "delivery"]);
    assert!(
        wait_for(Duration::from_secs(30), || {
            let rows = all(&a);
            !events(&rows, "message_relayed").is_empty()
                && !events(&rows, "message_bounced").is_empty()
        }),
        "no relay and bounce records: {:?}\nlog:\n{}",
        all(&a),
        server.log()
    );
    let rows = all(&a);
    assert!(rows.iter().all(|r| r["kind"] == "delivery"));

    let accepted = events(&rows, "message_accepted");
    assert_eq!(accepted.len(), 3, "{accepted:?}");
    let inbound = accepted.iter().find(|r| r["protocol"] == "smtp").unwrap();
    assert_eq!(inbound["sender"], "sender@example.net");
    assert_eq!(inbound["recipients"], ALICE);
    assert!(inbound["account"].is_empty());
    let relay = accepted
        .iter()
        .find(|r| r["message_id"] == "relay-1@client.example.net")
        .unwrap_or_else(|| panic!("{accepted:?}"));
    let bounce = accepted
        .iter()
        .find(|r| r["message_id"] == "bounce-1@client.example.net")
        .unwrap_or_else(|| panic!("{accepted:?}"));
    for r in [inbound, relay, bounce] {
        assert!(!r["id"].is_empty() && remote_ok(&r["remote"]), "{r:?}");
        assert!(r["size"].parse::<u64>().unwrap() > 50, "{r:?}");
    }
    for r in [relay, bounce] {
        assert_eq!(r["protocol"], "submission");
        assert_eq!(r["sender"], ALICE);
        assert_eq!(r["account"], ALICE);
    }

    let delivered = events(&rows, "message_delivered");
    let to_alice = delivered
        .iter()
        .find(|r| r["id"] == inbound["id"])
        .unwrap_or_else(|| panic!("{delivered:?}"));
    assert_eq!(to_alice["account"], ALICE);
    assert!(to_alice["size"].parse::<u64>().unwrap() > 0);

    let queued = events(&rows, "message_queued");
    for (r, to) in [(relay, "carol@example.com"), (bounce, "nobody@example.com")] {
        let q = queued
            .iter()
            .find(|q| q["id"] == r["id"])
            .unwrap_or_else(|| panic!("{queued:?}"));
        assert_eq!(q["recipients"], to);
    }
    let relayed = events(&rows, "message_relayed");
    assert_eq!(relayed.len(), 1, "{relayed:?}");
    assert_eq!(relayed[0]["id"], relay["id"]);
    assert_eq!(relayed[0]["recipient"], "carol@example.com");
    assert!(relayed[0]["details"].contains("host="), "{:?}", relayed[0]);
    let bounced = events(&rows, "message_bounced");
    assert_eq!(bounced.len(), 1, "{bounced:?}");
    assert_eq!(bounced[0]["id"], bounce["id"]);
    assert_eq!(bounced[0]["recipient"], "nobody@example.com");
    assert!(bounced[0]["reason"].contains("5.1.1"), "{:?}", bounced[0]);

    // B's side: accepted over SMTP from A and delivered to carol.
    assert!(wait_for(Duration::from_secs(5), || {
        !events(&all(&b), "message_delivered").is_empty()
    }));
    let b_rows = all(&b);
    let b_accepted = events(&b_rows, "message_accepted");
    assert!(
        b_accepted
            .iter()
            .any(|r| r["protocol"] == "smtp" && r["sender"] == ALICE),
        "{b_rows:?}"
    );
    assert_eq!(
        events(&b_rows, "message_delivered")[0]["account"],
        "carol@example.com"
    );

    assert_eq!(server.stop(), Some(0));
    assert_eq!(b_server.stop(), Some(0));
    assert_no_content(&a);
    assert_no_content(&b);
}
