//! `sealpost queue show|hold|release|delete|bounce` on the real binary,
//! through the admin socket and offline: a message to a next hop that
//! answers 451 (tests/smtp_sink.py on loopback) is shown (personal data
//! as `[log]` says, the body only when asked), held (no attempt reaches
//! the hop while held), released (attempted again at once), bounced (the
//! DSN arrives in the sender's INBOX, read with imaplib) and deleted (no
//! DSN); every action is in the audit export. With `SEALPOST_E2E_STORE=
//! postgresql` the same runs over the shared queue in the database.

mod common;
mod smtp_support;

use common::*;
use serde_json::json;
use smtp_support::*;
use std::time::Duration;

const DSN_SUBJECT: &str = "Undelivered Mail Returned to Sender";

/// A site whose mail for remote.example and other.example goes to `sink`,
/// retried every second.
fn routed_site(sink: &Sink, extra: &str) -> Site {
    site(&format!(
        "[smtp]\nretry_initial_secs = 1\nretry_max_secs = 1\nrelay_timeout_secs = 10\n{}{}{extra}",
        route("remote.example", sink.port),
        route("other.example", sink.port),
    ))
}

fn cli_ok(site: &Site, args: &[&str]) -> String {
    let out = site.cli(args, "");
    assert!(out.ok(), "{args:?}: {}{}", out.stdout, out.stderr);
    out.stdout
}

/// Runs a CLI command that must fail with one line on stderr containing `want`.
fn cli_refused(site: &Site, args: &[&str], want: &str) {
    let out = site.cli(args, "");
    assert_eq!(out.code, 1, "{args:?}: {}{}", out.stdout, out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains(want), "{args:?}: {}", out.stderr);
}

/// The ids in the queue.
fn ids(site: &Site) -> Vec<String> {
    cli_ok(site, &["queue", "list"])
        .lines()
        .filter(|l| l.contains('\t'))
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

/// alice sends `subject` to `to`; returns its queue id once an attempt
/// was deferred.
fn deferred(site: &Site, server: &Server, to: &[&str], subject: &str) -> String {
    let before = ids(site);
    let r = submit(
        site,
        server,
        "submission",
        json!({
            "user": "alice@example.org",
            "password": PASSWORD,
            "from": "alice@example.org",
            "to": to,
            "subject": subject,
        }),
    );
    assert_eq!(r["ok"], true, "{r}");
    let mut id = String::new();
    assert!(
        wait_for(Duration::from_secs(20), || {
            let list = cli_ok(site, &["queue", "list"]);
            let new = list.lines().find(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                f.len() == 7 && !before.iter().any(|b| b == f[0]) && f[2] != "attempts=0"
            });
            if let Some(line) = new {
                id = line.split('\t').next().unwrap().to_string();
            }
            new.is_some()
        }),
        "no deferred attempt\n{}",
        server.log()
    );
    id
}

/// The `key: value` of `show`'s output.
fn field(show: &str, key: &str) -> String {
    show.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key} in {show}"))
        .to_string()
}

fn attempts(site: &Site, id: &str) -> u32 {
    field(&cli_ok(site, &["queue", "show", id]), "attempts")
        .parse()
        .unwrap()
}

#[test]
fn show_hold_release_bounce_and_delete_through_the_admin_socket() {
    let sink = Sink::start(&[]);
    sink.hold();
    let site = routed_site(&sink, "");
    let server = site.start();
    let id = deferred(&site, &server, &["carol@remote.example"], "hold-me");

    // Minimal personal data (the default): no address, no reply text, no body.
    let show = cli_ok(&site, &["queue", "show", &id]);
    assert_eq!(field(&show, "id"), id);
    assert_eq!(field(&show, "state"), "queued");
    assert!(field(&show, "from").starts_with('#'), "{show}");
    assert!(field(&show, "queued").starts_with("20"), "{show}");
    assert!(field(&show, "next attempt").starts_with("20"), "{show}");
    assert_eq!(
        field(&show, "to"),
        "-@remote.example pending; last reply: 451 4.3.0"
    );
    for secret in ["alice", "carol", "try again", "Subject", "hold-me"] {
        assert!(!show.contains(secret), "{secret} in {show}");
    }
    let with_body = cli_ok(&site, &["queue", "show", &id, "--body"]);
    let (head, body) = with_body.split_once("\n\n").unwrap();
    assert_eq!(head, show.trim_end());
    assert!(body.contains("Subject: hold-me\r\n"), "{body}");

    // Held: nothing reaches the hop, though an attempt is due every second.
    let out = cli_ok(&site, &["queue", "hold", &id]);
    assert!(out.starts_with(&format!("{id} held")), "{out}");
    std::thread::sleep(Duration::from_millis(1500)); // an attempt in flight ends
    let (tried, n) = (sink.transactions().len(), attempts(&site, &id));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(sink.transactions().len(), tried, "attempted while held");
    let show = cli_ok(&site, &["queue", "show", &id]);
    assert_eq!(field(&show, "state"), "held");
    assert_eq!(field(&show, "attempts"), n.to_string());
    assert_eq!(field(&show, "next attempt"), "none while held");
    assert!(cli_ok(&site, &["queue", "list"]).contains(&id));
    let again = cli_ok(&site, &["queue", "hold", &id]);
    assert_eq!(again, format!("{id} was held already\n"));

    // Released: attempted again at once.
    cli_ok(&site, &["queue", "release", &id]);
    assert!(
        wait_for(Duration::from_secs(10), || attempts(&site, &id) > n),
        "no attempt after release"
    );
    cli_refused(&site, &["queue", "release", &id], "is not held");

    // Bounced: the DSN a real bounce sends, in alice's INBOX.
    let out = cli_ok(&site, &["queue", "bounce", &id]);
    assert_eq!(
        out,
        format!("{id} bounced: 1 recipient(s) failed; a DSN goes to the sender\n")
    );
    assert!(
        wait_for(Duration::from_secs(10), || count(
            &site,
            &server,
            "alice@example.org",
            DSN_SUBJECT
        ) == 1),
        "no DSN in alice's INBOX\n{}",
        server.log()
    );
    assert!(!cli_ok(&site, &["queue", "list"]).contains(&id));
    cli_refused(&site, &["queue", "show", &id], "no queued message");

    // Deleted: gone without a DSN.
    let gone = deferred(&site, &server, &["carol@remote.example"], "delete-me");
    let out = cli_ok(&site, &["queue", "delete", &gone]);
    assert!(
        out.contains("deleted (1 recipient(s) not delivered; no DSN sent)"),
        "{out}"
    );
    assert!(!cli_ok(&site, &["queue", "list"]).contains(&gone));

    // --all-for: one message goes whole, one keeps its other recipient.
    let only = deferred(&site, &server, &["dave@other.example"], "only-other");
    let both = deferred(
        &site,
        &server,
        &["erin@other.example", "carol@remote.example"],
        "both",
    );
    let out = cli_ok(&site, &["queue", "delete", "--all-for", "Other.Example"]);
    assert!(out.starts_with("1 message(s) deleted, 1 kept"), "{out}");
    assert!(out.contains(&format!("deleted {only}")), "{out}");
    assert!(out.contains(&format!("trimmed {both}")), "{out}");
    let show = cli_ok(&site, &["queue", "show", &both]);
    let tos: Vec<&str> = show.lines().filter(|l| l.starts_with("to: ")).collect();
    assert_eq!(tos.len(), 2, "{show}");
    assert!(tos.contains(&"to: -@other.example failed: deleted by the operator"));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(count(&site, &server, "alice@example.org", DSN_SUBJECT), 1);

    // Every action is audited, with the queue id.
    let csv = cli_ok(&site, &["audit", "export", "--csv", "--kind", "delivery"]);
    for (qid, action) in [
        (&id, "shown"),
        (&id, "shown_with_body"),
        (&id, "held"),
        (&id, "released"),
        (&id, "bounced"),
        (&gone, "deleted"),
        (&only, "deleted"),
        (&both, "recipients_deleted"),
    ] {
        assert!(
            csv.lines().any(|l| l.contains("queue_admin")
                && l.contains(qid.as_str())
                && l.contains(action)),
            "no queue_admin {action} for {qid} in\n{csv}"
        );
    }
    assert!(
        csv.lines()
            .any(|l| l.contains("message_bounced") && l.contains(id.as_str())),
        "{csv}"
    );
}

#[test]
fn bad_ids_and_domains_are_refused_with_one_line() {
    let site = site("");
    // The store exists (offline, no store at all is refused before the id
    // is looked at: ops_offline_store).
    assert_eq!(site.start().stop(), Some(0));
    for online in [false, true] {
        let server = online.then(|| site.start());
        cli_refused(
            &site,
            &["queue", "show", "0005e2a1b2c3d4e5f6a7b8"],
            "no queued message",
        );
        cli_refused(
            &site,
            &["queue", "hold", "../../keys/master"],
            "not a queue id",
        );
        cli_refused(&site, &["queue", "bounce", "a.queue"], "not a queue id");
        cli_refused(
            &site,
            &["queue", "delete", "--all-for", "a b"],
            "not a domain name",
        );
        let out = site.cli(&["queue", "delete"], "");
        assert_eq!(out.code, 2, "{}", out.stderr);
        drop(server);
    }
}

#[test]
fn offline_hold_survives_a_start_and_offline_bounce_reaches_the_sender() {
    let sink = Sink::start(&[]);
    sink.hold();
    // Operators who log personal data in full see addresses and replies.
    let site = routed_site(&sink, "[log]\npersonal_data = \"full\"\n");
    let server = site.start();
    let held = deferred(&site, &server, &["carol@remote.example"], "offline-held");
    let bounced = deferred(&site, &server, &["carol@remote.example"], "offline-bounced");
    assert_eq!(server.stop(), Some(0));

    let show = cli_ok(&site, &["queue", "show", &held]);
    assert_eq!(field(&show, "from"), "alice@example.org");
    assert_eq!(
        field(&show, "to"),
        "carol@remote.example pending; last reply: 451 4.3.0 try again later"
    );
    cli_ok(&site, &["queue", "hold", &held]);
    let out = cli_ok(&site, &["queue", "bounce", &bounced]);
    assert!(out.contains("a DSN goes to the sender"), "{out}");
    // Due at once, the hop accepting: only the hold keeps it back.
    cli_ok(&site, &["queue", "flush"]);
    sink.release();
    let server = site.start();
    assert_eq!(count(&site, &server, "alice@example.org", DSN_SUBJECT), 1);
    std::thread::sleep(Duration::from_secs(3));
    assert!(sink.accepted().is_empty(), "a held message was sent");
    assert_eq!(
        field(&cli_ok(&site, &["queue", "show", &held]), "state"),
        "held"
    );

    cli_ok(&site, &["queue", "release", &held]);
    let got = sink.wait_accepted(1, Duration::from_secs(20));
    assert_eq!(got.len(), 1, "{}", server.log());
    assert!(
        got[0]["data"]
            .as_str()
            .unwrap()
            .contains("Subject: offline-held")
    );
    let csv = cli_ok(&site, &["audit", "export", "--csv", "--kind", "delivery"]);
    for (qid, action) in [(&held, "held"), (&bounced, "bounced"), (&held, "released")] {
        assert!(
            csv.lines().any(|l| l.contains("queue_admin")
                && l.contains(qid.as_str())
                && l.contains(action)),
            "no queue_admin {action} for {qid}"
        );
    }
}
