//! `sealpost alias add|remove|list`, the catch-all `*@domain` and
//! `sealpost account quota` on the real binary: a running server takes each
//! edit at once (an inbound SMTP transaction right after the command sees
//! it; mail is read back over IMAP with imaplib), `account list` shows
//! what each account's mail takes (through the admin socket and offline),
//! and bad input is refused with one line.

mod common;
mod smtp_support;

use common::*;
use serde_json::json;
use smtp_support::*;

/// The MX's reply to `RCPT TO:<rcpt>` and, when taken, the end of data.
fn send(site: &Site, server: &Server, rcpt: &str, subject: &str) -> Vec<(u16, String)> {
    let body = format!("From: c@foreign.example\r\nSubject: {subject}\r\n\r\nhi\r\n");
    converse(
        site,
        server,
        "smtp",
        "starttls",
        Some("client.example.net"),
        json!([
            "MAIL FROM:<c@foreign.example>",
            format!("RCPT TO:<{rcpt}>"),
            {"raw": format!("BDAT {} LAST\r\n{body}", body.len())},
        ]),
    )
}

fn delivered(site: &Site, server: &Server, rcpt: &str, subject: &str) {
    let r = send(site, server, rcpt, subject);
    expect(&r[1], "250");
    expect(&r[2], "250 2.0.0 OK queued as ");
}

fn refused(site: &Site, server: &Server, rcpt: &str) {
    let r = send(site, server, rcpt, "refused");
    expect(&r[1], "550 5.1.1");
}

fn cli_ok(site: &Site, args: &[&str]) -> String {
    let out = site.cli(args, "");
    assert!(out.ok(), "{args:?}: {}{}", out.stdout, out.stderr);
    out.stdout
}

fn cli_refused(site: &Site, args: &[&str], want: &str) {
    let out = site.cli(args, "");
    assert_eq!(out.code, 1, "{args:?}: {}{}", out.stdout, out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains(want), "{args:?}: {}", out.stderr);
}

#[test]
fn aliases_and_the_catch_all_take_effect_on_a_running_server() {
    let site = site("");
    let server = site.start();
    refused(&site, &server, "sales@example.org");
    let out = cli_ok(
        &site,
        &["alias", "add", "Sales@Example.org", "alice@example.org"],
    );
    assert_eq!(out, "sales@example.org -> alice@example.org\n");
    delivered(&site, &server, "sales@example.org", "to-sales");
    assert_eq!(count(&site, &server, "alice@example.org", "to-sales"), 1);
    assert_eq!(
        cli_ok(&site, &["alias", "list"]),
        "sales@example.org\talice@example.org\n"
    );

    // The catch-all: off until added, for its own domain only.
    refused(&site, &server, "anyone@example.org");
    let out = cli_ok(&site, &["alias", "add", "*@example.org", "bob@example.net"]);
    assert_eq!(out, "*@example.org (catch-all) -> bob@example.net\n");
    delivered(&site, &server, "anyone@example.org", "to-anyone");
    assert_eq!(count(&site, &server, "bob@example.net", "to-anyone"), 1);
    refused(&site, &server, "anyone@example.net");
    // An alias still wins over the catch-all.
    delivered(&site, &server, "sales@example.org", "sales-again");
    assert_eq!(count(&site, &server, "alice@example.org", "sales-again"), 1);

    let out = cli_ok(&site, &["alias", "remove", "sales@example.org"]);
    assert_eq!(
        out,
        "removed sales@example.org (was -> alice@example.org)\n"
    );
    delivered(&site, &server, "sales@example.org", "sales-to-catch-all");
    assert_eq!(
        count(&site, &server, "bob@example.net", "sales-to-catch-all"),
        1
    );
    cli_ok(&site, &["alias", "remove", "*@example.org"]);
    refused(&site, &server, "anyone@example.org");
    assert_eq!(cli_ok(&site, &["alias", "list"]), "");

    cli_refused(
        &site,
        &["alias", "add", "x*@example.org", "alice@example.org"],
        "`*` only",
    );
    // An outside target forwards (smtp_forward.rs); not from a catch-all.
    cli_refused(
        &site,
        &["alias", "add", "*@example.org", "carol@remote.example"],
        "catch-all forwarding",
    );
    cli_refused(
        &site,
        &["alias", "remove", "x@example.org", "carol@remote.example"],
        "is not an alias of carol@remote.example",
    );
    cli_refused(
        &site,
        &["alias", "add", "x@example.org", "nobody@example.org"],
        "is not an account",
    );
    cli_refused(
        &site,
        &["alias", "add", "bob@example.net", "alice@example.org"],
        "bob@example.net",
    );
    cli_refused(
        &site,
        &["alias", "remove", "nope@example.org"],
        "is not an alias",
    );

    // Each change is in the audit log (the accounts file's audit).
    let csv = cli_ok(&site, &["audit", "export", "--csv", "--kind", "account"]);
    assert!(
        csv.lines()
            .filter(|l| l.contains("account_changed") && l.contains("alias"))
            .count()
            >= 4,
        "{csv}"
    );
}

fn list_line(site: &Site, address: &str) -> Vec<String> {
    let list = cli_ok(site, &["account", "list"]);
    list.lines()
        .find(|l| l.starts_with(&format!("{address}\t")))
        .unwrap_or_else(|| panic!("{address} not in {list}"))
        .split('\t')
        .map(str::to_string)
        .collect()
}

#[test]
fn account_quota_is_set_in_place_and_list_shows_usage_online_and_offline() {
    let site = site("");
    let server = site.start();
    assert_eq!(
        list_line(&site, "alice@example.org")[1..3],
        ["quota=-", "used=0"]
    );
    delivered(&site, &server, "alice@example.org", "some mail");
    let out = cli_ok(&site, &["account", "quota", "alice@example.org", "1M"]);
    assert_eq!(out, "quota of alice@example.org: 1048576 octets\n");
    let line = list_line(&site, "alice@example.org");
    assert_eq!(line[1], "quota=1048576");
    let used: u64 = line[2].strip_prefix("used=").unwrap().parse().unwrap();
    assert!(used > 50 && used < 10_000, "{line:?}");
    assert_eq!(list_line(&site, "bob@example.net")[2], "used=0");
    cli_refused(
        &site,
        &["account", "quota", "alice@example.org", "lots"],
        "quota",
    );
    cli_refused(
        &site,
        &["account", "quota", "nobody@example.org", "1M"],
        "is not an account",
    );

    // The running server enforces the new quota at once: 1 KiB is less
    // than alice has, so the next message is refused.
    cli_ok(&site, &["account", "quota", "alice@example.org", "1K"]);
    let r = send(&site, &server, "alice@example.org", "over quota");
    let refused_at = r
        .iter()
        .any(|(code, text)| *code == 552 || text.contains("5.2.2"));
    assert!(refused_at, "{r:?}");

    assert_eq!(server.stop(), Some(0));
    let offline = list_line(&site, "alice@example.org");
    assert_eq!(offline[1], "quota=1024");
    assert_eq!(offline[2], format!("used={used}"));
    let out = cli_ok(&site, &["account", "quota", "alice@example.org", "none"]);
    assert_eq!(out, "quota of alice@example.org: none (no limit)\n");
    assert_eq!(list_line(&site, "alice@example.org")[1], "quota=-");
}
