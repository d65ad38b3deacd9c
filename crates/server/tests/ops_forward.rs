//! Forwarding safeguards through the real binary, next hops on loopback
//! (tests/smtp_sink.py), DNS from static records only:
//!
//! - each forwarded copy carries `Delivered-To:` (RFC 9228) for the
//!   forwarding address, and that copy coming back is refused as a loop
//!   (`554 5.4.6`, audited as `message_refused`, nothing stored);
//! - bounces to SRS addresses are limited per original sender and in
//!   total (forged ones count), the excess answered `451 4.7.1`;
//! - a reload that finds an invalid `[[forward]]` table keeps the previous
//!   forwarding table whole (and says so), `check-config` names the entry,
//!   and the fixed file takes over at the next reload;
//! - mail that failed SPF hard, or DMARC under `p=reject` (with
//!   `enforce_reject = false`), is not forwarded (`550 5.7.1`) while mail
//!   to a plain account still arrives.

mod common;
mod smtp_support;

use common::*;
use serde_json::{Value, json};
use smtp_support::*;
use std::time::Duration;

const DNS: &str = "[smtp.dns]\nstatic_only = true\n\
    [[smtp.dns.txt]]\nname = \"spoofed.example\"\nvalue = \"v=spf1 -all\"\n\
    [[smtp.dns.txt]]\nname = \"strict.example\"\nvalue = \"v=spf1 ?all\"\n\
    [[smtp.dns.txt]]\nname = \"_dmarc.strict.example\"\nvalue = \"v=DMARC1; p=reject\"\n\
    [smtp.dmarc]\nenforce_reject = false\n";

/// fwd@example.org forwarded to dave@elsewhere.example (next hop `out`),
/// origin.example routed to `origin`; `limits` go into `[smtp]`.
fn forwarding_site(out: &Sink, origin: &Sink, limits: &str) -> Site {
    let site = site(&format!(
        "[smtp]\nretry_initial_secs = 1\nretry_max_secs = 1\nrelay_timeout_secs = 10\n{limits}{}{}{DNS}",
        route("elsewhere.example", out.port),
        route("origin.example", origin.port),
    ));
    let add = site.cli(
        &["alias", "add", "fwd@example.org", "dave@elsewhere.example"],
        "",
    );
    assert!(add.ok(), "{}{}", add.stdout, add.stderr);
    site
}

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

fn message(from: &str, subject: &str) -> String {
    format!("From: {from}\r\nTo: fwd@example.org\r\nSubject: {subject}\r\n\r\nhello")
}

fn mail_from(tx: &Value) -> String {
    let line = tx["mail"].as_str().unwrap();
    let start = line.find('<').unwrap() + 1;
    let end = line[start..].find('>').unwrap() + start;
    line[start..end].to_string()
}

/// The delivery records of the audit export, once `want` lines match `needle`.
fn audit_lines(site: &Site, needle: &str, want: usize) -> Vec<String> {
    let mut lines = Vec::new();
    wait_for(Duration::from_secs(20), || {
        let out = site.cli(&["audit", "export", "--csv", "--kind", "delivery"], "");
        assert!(out.ok(), "{}", out.stderr);
        lines = out
            .stdout
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect();
        lines.len() >= want
    });
    lines
}

#[test]
fn forwarded_copies_say_delivered_to_and_coming_back_is_a_loop() {
    let (out, origin) = (Sink::start(&[]), Sink::start(&[]));
    let site = forwarding_site(&out, &origin, "");
    let server = site.start();
    let replies = inbound(
        &site,
        &server,
        "carol@origin.example",
        "fwd@example.org",
        &message("carol@origin.example", "loop-me"),
    );
    expect(&replies[3], "250 2.0.0");
    let got = out.wait_accepted(1, Duration::from_secs(30));
    assert_eq!(got.len(), 1, "{}", server.log());
    let data = got[0]["data"].as_str().unwrap().to_string();
    assert!(
        data.starts_with("Delivered-To: fwd@example.org\r\nReceived: "),
        "{data}"
    );
    assert_eq!(data.matches("Delivered-To:").count(), 1);

    // The target forwards it back here (as a forward at dave's would):
    // refused at the end of DATA, nothing stored, nothing sent on.
    let back = data.trim_end_matches("\r\n").to_string();
    let replies = inbound(
        &site,
        &server,
        &mail_from(&got[0]),
        "fwd@example.org",
        &back,
    );
    expect(&replies[3], "554 5.4.6");
    assert!(replies[3].1.contains("already delivered"), "{replies:?}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(out.accepted().len(), 1, "the loop went out again");
    assert!(origin.transactions().is_empty(), "a bounce was sent");
    let refused = audit_lines(&site, "message_refused", 1);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains("554 5.4.6"), "{}", refused[0]);
    assert!(server.log().contains("message_refused"), "{}", server.log());
}

#[test]
fn bounces_to_srs_addresses_are_limited_per_sender_and_in_total() {
    let (out, origin) = (Sink::start(&[]), Sink::start(&[]));
    let site = forwarding_site(
        &out,
        &origin,
        "srs_bounces_per_sender = 2\nsrs_bounces_total = 4\nsrs_bounce_window_secs = 3600\n",
    );
    let server = site.start();
    // Two forwarded messages give two valid SRS addresses.
    for (n, sender) in ["carol@origin.example", "erin@origin.example"]
        .iter()
        .enumerate()
    {
        let replies = inbound(
            &site,
            &server,
            sender,
            "fwd@example.org",
            &message(sender, "srs"),
        );
        expect(&replies[3], "250 2.0.0");
        out.wait_accepted(n + 1, Duration::from_secs(30));
    }
    let got = out.accepted();
    assert_eq!(got.len(), 2, "{}", server.log());
    let (carol, erin) = (mail_from(&got[0]), mail_from(&got[1]));
    assert!(
        carol.starts_with("SRS0=") && erin.starts_with("SRS0="),
        "{carol} {erin}"
    );
    let forged = "SRS0=abcdefgh=aa=origin.example=zed@example.org";
    let replies = converse(
        &site,
        &server,
        "smtp",
        "starttls",
        Some("bounces.example.net"),
        json!([
            "MAIL FROM:<>",
            format!("RCPT TO:<{carol}>"),
            format!("RCPT TO:<{}>", carol.to_uppercase()),
            format!("RCPT TO:<{carol}>"),
            format!("RCPT TO:<{erin}>"),
            format!("RCPT TO:<{forged}>"),
            format!("RCPT TO:<{forged}>"),
            format!("RCPT TO:<{erin}>"),
            "QUIT",
        ]),
    );
    expect(&replies[1], "250 2.1.5");
    expect(&replies[2], "250 2.1.5");
    // carol's third: over the per-sender limit.
    expect(&replies[3], "451 4.7.1");
    expect(&replies[4], "250 2.1.5");
    // A forged one is refused as before, and counted.
    expect(&replies[5], "550 5.1.1");
    // Now four counted: everything waits, forged or valid.
    expect(&replies[6], "451 4.7.1");
    expect(&replies[7], "451 4.7.1");
    assert!(
        server.wait_log("srs_bounce_limited", Duration::from_secs(5)),
        "{}",
        server.log()
    );
    assert_eq!(server.log().matches("srs_bounce_limited").count(), 2);
}

#[test]
fn an_invalid_forward_on_reload_keeps_the_previous_table_and_check_config_names_it() {
    let (out, origin) = (Sink::start(&[]), Sink::start(&[]));
    let site = forwarding_site(&out, &origin, "");
    let server = site.start();
    let accounts = site.path("accounts.toml");
    let good = std::fs::read_to_string(&accounts).unwrap();
    assert!(good.contains("dave@elsewhere.example"), "{good}");
    // The target changed, and a second table is invalid (a hosted target).
    let bad = format!(
        "{}\n[[forward]]\naddress = \"sales@example.org\"\nto = [\"alice@example.org\"]\n",
        good.replace("dave@elsewhere.example", "erin@elsewhere.example")
    );
    std::fs::write(&accounts, &bad).unwrap();
    server.signal("HUP");
    assert!(
        server.wait_log("previous forwarding table stays", Duration::from_secs(10)),
        "{}",
        server.log()
    );
    let check = site.cli(&["check-config"], "");
    assert_eq!(check.code, 2, "{}{}", check.stdout, check.stderr);
    assert!(
        check.stderr.contains("forward[1].to[0]"),
        "{}",
        check.stderr
    );
    assert!(check.stderr.contains("hosted domain"), "{}", check.stderr);

    // Still forwarded to dave, the previous version, not to erin.
    let send = |subject: &str| {
        let replies = inbound(
            &site,
            &server,
            "carol@origin.example",
            "fwd@example.org",
            &message("carol@origin.example", subject),
        );
        expect(&replies[3], "250 2.0.0");
    };
    send("while-refused");
    let got = out.wait_accepted(1, Duration::from_secs(30));
    assert_eq!(got.len(), 1, "{}", server.log());
    assert_eq!(got[0]["rcpts"], json!(["RCPT TO:<dave@elsewhere.example>"]));

    // Fixed: the new version takes over.
    let fixed = good.replace("dave@elsewhere.example", "erin@elsewhere.example");
    std::fs::write(&accounts, fixed).unwrap();
    let reloads = || {
        server
            .log()
            .matches("reloaded certificates and accounts")
            .count()
    };
    let before = reloads();
    server.signal("HUP");
    assert!(
        wait_for(Duration::from_secs(10), || reloads() > before),
        "{}",
        server.log()
    );
    assert!(site.cli(&["check-config"], "").ok());
    send("after-fix");
    let got = out.wait_accepted(2, Duration::from_secs(30));
    assert_eq!(got.len(), 2, "{}", server.log());
    assert_eq!(got[1]["rcpts"], json!(["RCPT TO:<erin@elsewhere.example>"]));
}

#[test]
fn mail_failing_spf_or_dmarc_reject_is_not_forwarded() {
    let (out, origin) = (Sink::start(&[]), Sink::start(&[]));
    let site = forwarding_site(&out, &origin, "");
    let server = site.start();
    // SPF -all for spoofed.example: refused for the forward ...
    let replies = inbound(
        &site,
        &server,
        "mallory@spoofed.example",
        "fwd@example.org",
        &message("mallory@spoofed.example", "spoofed"),
    );
    expect(&replies[3], "550 5.7.1");
    assert!(
        replies[3].1.contains("Not forwarded: SPF failed"),
        "{replies:?}"
    );
    // ... while a plain account still gets it (the result is in its header).
    let replies = inbound(
        &site,
        &server,
        "mallory@spoofed.example",
        "alice@example.org",
        &message("mallory@spoofed.example", "spoofed-local"),
    );
    expect(&replies[3], "250 2.0.0");
    assert_eq!(
        count(&site, &server, "alice@example.org", "spoofed-local"),
        1
    );

    // DMARC fails under p=reject; enforce_reject = false lets it in, but
    // not out again.
    let replies = inbound(
        &site,
        &server,
        "mallory@strict.example",
        "fwd@example.org",
        &message("ceo@strict.example", "dmarc"),
    );
    expect(&replies[3], "550 5.7.1");
    assert!(
        replies[3]
            .1
            .contains("Not forwarded: DMARC failed under p=reject"),
        "{replies:?}"
    );
    // Mail from a domain without records is forwarded as before.
    let replies = inbound(
        &site,
        &server,
        "carol@origin.example",
        "fwd@example.org",
        &message("carol@origin.example", "fine"),
    );
    expect(&replies[3], "250 2.0.0");
    let got = out.wait_accepted(1, Duration::from_secs(30));
    assert_eq!(got.len(), 1, "{}", server.log());
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(out.accepted().len(), 1, "a refused message went out");
    let refused = audit_lines(&site, "message_refused", 2);
    assert_eq!(refused.len(), 2, "{refused:?}");
}
