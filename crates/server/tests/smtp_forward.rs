//! Forwarding to outside addresses with SRS, through the real binary: an
//! alias with an outside target (`sealpost alias add`) forwards inbound mail
//! to a loopback next hop under an `SRS0=...@example.org` envelope sender
//! while its account keeps a copy; a bounce to that address reaches the
//! original sender's (loopback) server; a forged SRS address gets `550
//! 5.1.1`, a looping message `554 5.4.6`, and an outside address that no
//! alias names is still relaying denied. Next hops: tests/smtp_sink.py.

mod common;
mod smtp_support;

use common::*;
use serde_json::{Value, json};
use smtp_support::*;
use std::time::Duration;

/// A site whose mail for elsewhere.example goes to `out` and for
/// origin.example to `origin`, with fwd@example.org forwarded to
/// dave@elsewhere.example and kept by alice@example.org.
fn forwarding_site(out: &Sink, origin: &Sink) -> Site {
    let site = site(&format!(
        "[smtp]\nretry_initial_secs = 1\nretry_max_secs = 1\nrelay_timeout_secs = 10\n{}{}{}",
        route("elsewhere.example", out.port),
        route("origin.example", origin.port),
        route("fwd1.example", origin.port)
    ));
    let add = |target: &str| {
        let out = site.cli(&["alias", "add", "fwd@example.org", target], "");
        assert!(out.ok(), "{}{}", out.stdout, out.stderr);
        out.stdout
    };
    assert_eq!(
        add("dave@elsewhere.example"),
        "fwd@example.org -> dave@elsewhere.example (forwarded, sender rewritten with SRS)\n"
    );
    assert_eq!(
        add("alice@example.org"),
        "fwd@example.org -> alice@example.org\n"
    );
    let list = site.cli(&["alias", "list"], "");
    assert_eq!(
        list.stdout,
        "fwd@example.org\talice@example.org\nfwd@example.org\tdave@elsewhere.example\n"
    );
    site
}

/// One inbound transaction on the MX listener: MAIL, RCPT, DATA with
/// `message`; every reply.
fn inbound(
    site: &Site,
    server: &Server,
    from: &str,
    to: &str,
    message: &str,
) -> Vec<(u16, String)> {
    converse(
        site,
        server,
        "smtp",
        "starttls",
        Some("client.example.net"),
        json!([
            format!("MAIL FROM:<{from}>"),
            format!("RCPT TO:<{to}>"),
            "DATA",
            {"raw": format!("{message}\r\n.\r\n")},
            "QUIT",
        ]),
    )
}

fn message(subject: &str, extra_headers: &str) -> String {
    format!(
        "{extra_headers}From: carol@origin.example\r\nTo: fwd@example.org\r\n\
         Subject: {subject}\r\n\r\nhello from carol"
    )
}

/// The address in a recorded `MAIL FROM:<...>` line.
fn mail_from(tx: &Value) -> String {
    let line = tx["mail"].as_str().unwrap();
    let start = line.find('<').unwrap() + 1;
    let end = line[start..].find('>').unwrap() + start;
    line[start..end].to_string()
}

#[test]
fn forwarded_with_srs_and_the_bounce_reaches_the_original_sender() {
    let (out, origin) = (Sink::start(&[]), Sink::start(&[]));
    let site = forwarding_site(&out, &origin);
    let server = site.start();

    let replies = inbound(
        &site,
        &server,
        "carol@origin.example",
        "fwd@example.org",
        &message("forward-me", ""),
    );
    expect(&replies[0], "250");
    expect(&replies[1], "250 2.1.5");
    expect(&replies[3], "250 2.0.0");
    let got = out.wait_accepted(1, Duration::from_secs(30));
    assert_eq!(got.len(), 1, "{got:?}\nlog:\n{}", server.log());
    let tx = &got[0];
    let srs = mail_from(tx);
    assert!(
        srs.starts_with("SRS0=") && srs.ends_with("=origin.example=carol@example.org"),
        "{tx}"
    );
    assert_eq!(tx["rcpts"], json!(["RCPT TO:<dave@elsewhere.example>"]));
    let data = tx["data"].as_str().unwrap();
    assert!(data.contains("Subject: forward-me"), "{data}");
    assert!(
        data.starts_with("Delivered-To: fwd@example.org\r\nReceived: "),
        "{data}"
    );
    // The account behind the alias kept its copy.
    assert_eq!(count(&site, &server, "alice@example.org", "forward-me"), 1);

    // The next hop bounces: the DSN to the SRS address goes to carol.
    let bounce = "From: MAILER-DAEMON@elsewhere.example\r\nTo: carol@origin.example\r\n\
                  Subject: Undelivered forward-me\r\n\r\nno such user";
    let replies = inbound(&site, &server, "", &srs, bounce);
    expect(&replies[1], "250 2.1.5");
    expect(&replies[3], "250 2.0.0");
    let back = origin.wait_accepted(1, Duration::from_secs(30));
    assert_eq!(back.len(), 1, "{back:?}\nlog:\n{}", server.log());
    assert_eq!(mail_from(&back[0]), "");
    assert_eq!(back[0]["rcpts"], json!(["RCPT TO:<carol@origin.example>"]));
    assert!(
        back[0]["data"]
            .as_str()
            .unwrap()
            .contains("Subject: Undelivered forward-me")
    );
    // The case a next hop may have changed does not matter.
    let replies = converse(
        &site,
        &server,
        "smtp",
        "starttls",
        Some("client.example.net"),
        json!([
            "MAIL FROM:<>",
            format!("RCPT TO:<{}>", srs.to_uppercase()),
            "QUIT"
        ]),
    );
    expect(&replies[1], "250 2.1.5");

    // A sender that another forwarder rewrote becomes SRS1, and a bounce
    // to that goes back to the first forwarder's SRS0 address.
    let first = "SRS0=abcdefgh=aa=origin.example=carol@fwd1.example";
    let replies = inbound(
        &site,
        &server,
        first,
        "fwd@example.org",
        &message("twice-forwarded", ""),
    );
    expect(&replies[3], "250 2.0.0");
    let got = out.wait_accepted(2, Duration::from_secs(30));
    assert_eq!(got.len(), 2, "{got:?}");
    let srs1 = mail_from(&got[1]);
    assert!(
        srs1.starts_with("SRS1=")
            && srs1.ends_with("=fwd1.example==abcdefgh=aa=origin.example=carol@example.org"),
        "{srs1}"
    );
    let replies = inbound(&site, &server, "", &srs1, bounce);
    expect(&replies[3], "250 2.0.0");
    let back = origin.wait_accepted(2, Duration::from_secs(30));
    assert_eq!(back.len(), 2, "{back:?}");
    assert_eq!(back[1]["rcpts"], json!([format!("RCPT TO:<{first}>")]));

    // A null sender stays null when forwarded.
    let replies = inbound(
        &site,
        &server,
        "",
        "fwd@example.org",
        &message("null-sender", ""),
    );
    expect(&replies[3], "250 2.0.0");
    let got = out.wait_accepted(3, Duration::from_secs(30));
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(mail_from(&got[2]), "");

    // The forward is audited under both ids, its personal fields sealed.
    // (Records reach the export once written and attested: about a second.)
    let mut csv = String::new();
    let complete = wait_for(Duration::from_secs(30), || {
        let out = site.cli(&["audit", "export", "--csv", "--kind", "delivery"], "");
        assert!(out.ok(), "{}", out.stderr);
        csv = out.stdout;
        csv.lines()
            .filter(|l| l.contains("message_forwarded"))
            .count()
            == 3
    });
    assert!(complete, "{csv}");
    let forwarded: Vec<&str> = csv
        .lines()
        .filter(|l| l.contains("message_forwarded"))
        .collect();
    assert!(
        forwarded[0].contains("dave@elsewhere.example"),
        "{}",
        forwarded[0]
    );
    // Making the forward was audited as a change of its address.
    let out = site.cli(&["audit", "export", "--csv", "--kind", "account"], "");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("account_changed") && l.contains("forward targets +1 -0")),
        "{}",
        out.stdout
    );
    let files = files_under(&site.path("data/audit"));
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "seg"))
    );
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let target = b"dave@elsewhere.example";
        assert!(
            !bytes.windows(target.len()).any(|w| w == target),
            "{} holds a target in plaintext",
            path.display()
        );
    }
}

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

#[test]
fn forged_srs_loops_and_unnamed_outside_addresses_are_refused() {
    let (out, origin) = (Sink::start(&[]), Sink::start(&[]));
    let site = forwarding_site(&out, &origin);
    let server = site.start();
    let replies = converse(
        &site,
        &server,
        "smtp",
        "starttls",
        Some("client.example.net"),
        json!([
            "MAIL FROM:<>",
            // A hash made without our secret.
            "RCPT TO:<SRS0=abcdefgh=aa=origin.example=carol@example.org>",
            "RCPT TO:<SRS0=garbage@example.org>",
            // Forwarding is not relaying: only what an alias names leaves.
            "RCPT TO:<dave@elsewhere.example>",
            "QUIT",
        ]),
    );
    expect(&replies[1], "550 5.1.1");
    expect(&replies[2], "550 5.1.1");
    expect(&replies[3], "550 5.7.1");

    // Past 50 hops the message is refused before anything is stored.
    let hops =
        "Received: from a.example by b.example; Thu, 3 Dec 2026 10:00:00 +0000\r\n".repeat(51);
    let replies = inbound(
        &site,
        &server,
        "carol@origin.example",
        "fwd@example.org",
        &message("looping", &hops),
    );
    expect(&replies[3], "554 5.4.6");
    assert_eq!(count(&site, &server, "alice@example.org", "looping"), 0);
    // 50 hops still go.
    let hops = hops
        .lines()
        .take(50)
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    let replies = inbound(
        &site,
        &server,
        "carol@origin.example",
        "fwd@example.org",
        &message("fifty-hops", &hops),
    );
    expect(&replies[3], "250 2.0.0");
    let got = out.wait_accepted(1, Duration::from_secs(30));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0]["data"].as_str().unwrap().contains("fifty-hops"));
    assert!(origin.accepted().is_empty());

    // `alias remove` without a target takes every target away, at once.
    let out = site.cli(
        &[
            "alias",
            "remove",
            "fwd@example.org",
            "dave@elsewhere.example",
        ],
        "",
    );
    assert_eq!(
        out.stdout,
        "removed fwd@example.org (was -> dave@elsewhere.example)\n"
    );
    let out = site.cli(&["alias", "remove", "fwd@example.org"], "");
    assert_eq!(
        out.stdout, "removed fwd@example.org (was -> alice@example.org)\n",
        "{}",
        out.stderr
    );
    assert_eq!(site.cli(&["alias", "list"], "").stdout, "");
    let replies = converse(
        &site,
        &server,
        "smtp",
        "starttls",
        Some("client.example.net"),
        json!([
            "MAIL FROM:<carol@origin.example>",
            "RCPT TO:<fwd@example.org>",
            "QUIT"
        ]),
    );
    expect(&replies[1], "550 5.1.1");
}
