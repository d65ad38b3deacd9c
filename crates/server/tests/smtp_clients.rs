//! The SMTP scenarios of the issue, each driven by a real client against
//! the real binary: Python's smtplib (submission on both listeners with
//! AUTH, relay refusal, foreign MAIL FROM and From: refusal, BDAT over raw
//! TLS sockets since smtplib has no BDAT, AUTH throttling) and swaks
//! (inbound with STARTTLS and pipelining, unknown user, SIZE refusal,
//! smuggling never executed, with literal bytes through `--data @file
//! --no-data-fixup`; swaks 20201014 has no CHUNKING).

mod common;
mod smtp_support;

use common::*;
use serde_json::json;
use smtp_support::*;

fn port(server: &Server, listener: &str) -> String {
    server.addr(listener).port().to_string()
}

#[test]
fn smtplib_submission_with_starttls_and_auth_delivers() {
    let site = site("");
    let server = site.start();
    submit_as_alice(
        &site,
        &server,
        "submission",
        "bob@example.net",
        "smtplib-587",
    );
    assert_eq!(count(&site, &server, "bob@example.net", "smtplib-587"), 1);
}

#[test]
fn smtplib_submissions_with_implicit_tls_and_auth_delivers() {
    let site = site("");
    let server = site.start();
    submit_as_alice(
        &site,
        &server,
        "submissions",
        "bob@example.net",
        "smtplib-465",
    );
    assert_eq!(count(&site, &server, "bob@example.net", "smtplib-465"), 1);
}

#[test]
fn smtplib_relay_refusal() {
    let site = site("");
    let server = site.start();
    let r = submit(
        &site,
        &server,
        "smtp",
        json!({"from": "x@foreign.example", "to": ["victim@elsewhere.example"]}),
    );
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(r["stage"], "rcpt", "{r}");
    assert_eq!(r["code"], 550, "{r}");
    assert!(r["error"].as_str().unwrap().starts_with("5.7.1 "), "{r}");
    // Submission without AUTH does not even take MAIL.
    let r = submit(
        &site,
        &server,
        "submission",
        json!({"from": "x@foreign.example", "to": ["victim@elsewhere.example"]}),
    );
    assert_eq!(
        (r["stage"].clone(), r["code"].clone()),
        (json!("mail"), json!(530)),
        "{r}"
    );
}

#[test]
fn smtplib_foreign_mail_from_and_from_header_are_refused() {
    let site = site("");
    let server = site.start();
    let r = submit(
        &site,
        &server,
        "submission",
        json!({
            "user": "alice@example.org", "password": PASSWORD,
            "from": "bob@example.net", "to": ["bob@example.net"], "subject": "spoof-1",
        }),
    );
    assert_eq!(
        (r["stage"].clone(), r["code"].clone()),
        (json!("mail"), json!(553)),
        "{r}"
    );
    assert!(r["error"].as_str().unwrap().starts_with("5.7.1 "), "{r}");
    let r = submit(
        &site,
        &server,
        "submissions",
        json!({
            "user": "alice@example.org", "password": PASSWORD,
            "from": "alice@example.org", "from_header": "Bob <bob@example.net>",
            "to": ["bob@example.net"], "subject": "spoof-2",
        }),
    );
    assert_eq!(
        (r["stage"].clone(), r["code"].clone()),
        (json!("data"), json!(553)),
        "{r}"
    );
    // A foreign From: ahead of an owned one (mail-parser reads the last).
    let r = converse(
        &site,
        &server,
        "submission",
        "starttls",
        Some("client.example.net"),
        json!([
            {"auth_plain": ["alice@example.org", PASSWORD]},
            "MAIL FROM:<alice@example.org>",
            "RCPT TO:<bob@example.net>",
            "DATA",
            {"raw": "From: Bob <bob@example.net>\r\nFrom: Alice <alice@example.org>\r\nSubject: spoof-3\r\n\r\nx\r\n.\r\n"},
        ]),
    );
    expect(&r[0], "235 2.7.0");
    expect(&r[3], "354");
    expect(&r[4], "550 5.7.1 Message has more than one From: header");
    assert_eq!(count(&site, &server, "bob@example.net", "spoof"), 0);
}

#[test]
fn python_bdat_over_tls_inbound_and_submission() {
    let site = site("");
    let server = site.start();
    let chunk1 = "Subject: bdat-e2e 1\r\n\r\n";
    let chunk2 = "line one\r\n.\r\nstill data, not the end\r\n";
    let r = converse(
        &site,
        &server,
        "smtp",
        "starttls",
        Some("client.example.net"),
        json!([
            "MAIL FROM:<c@foreign.example>",
            "RCPT TO:<alice@example.org>",
            {"raw": format!("BDAT {}\r\n{chunk1}", chunk1.len())},
            {"raw": format!("BDAT {} LAST\r\n{chunk2}", chunk2.len())},
            "NOOP",
        ]),
    );
    expect(
        &r[2],
        &format!("250 2.0.0 {} octets received", chunk1.len()),
    );
    expect(&r[3], "250 2.0.0 OK queued as ");
    expect(&r[4], "250");
    assert_eq!(count(&site, &server, "alice@example.org", "bdat-e2e 1"), 1);
    let body = "From: alice@example.org\r\nSubject: bdat-e2e 2\r\n\r\nhi\r\n";
    let r = converse(
        &site,
        &server,
        "submissions",
        "implicit",
        Some("client.example.net"),
        json!([
            {"auth_plain": ["alice@example.org", PASSWORD]},
            "MAIL FROM:<alice@example.org>",
            "RCPT TO:<bob@example.net>",
            {"raw": format!("BDAT {} LAST\r\n{body}", body.len())},
        ]),
    );
    expect(&r[3], "250 2.0.0 OK queued as ");
    assert_eq!(count(&site, &server, "bob@example.net", "bdat-e2e 2"), 1);
}

#[test]
fn submission_auth_throttling_gives_454_through_the_socket() {
    let site = site("[limits]\nauth_failures_per_account = 2\nauth_failures_per_ip = 50\n");
    let server = site.start();
    let r = converse(
        &site,
        &server,
        "submission",
        "starttls",
        Some("client.example.net"),
        json!([
            {"auth_plain": ["alice@example.org", "wrong one"]},
            {"auth_plain": ["alice@example.org", "wrong two"]},
            {"auth_plain": ["alice@example.org", PASSWORD]},
            "NOOP",
        ]),
    );
    expect(&r[0], "535 5.7.8");
    expect(&r[1], "535 5.7.8");
    // Even the right password now waits; the session goes on.
    expect(&r[2], "454 4.7.0 Too many failed logins");
    expect(&r[3], "250");
    // On the other listener and a new connection too.
    let r = converse(
        &site,
        &server,
        "submissions",
        "implicit",
        Some("client.example.net"),
        json!([{"auth_plain": ["alice@example.org", PASSWORD]}]),
    );
    expect(&r[0], "454 4.7.0");
}

#[test]
fn swaks_inbound_with_starttls_and_pipelining_and_unknown_user() {
    let site = site("");
    let server = site.start();
    let p = port(&server, "smtp");
    let (ok, out) = swaks(&[
        "--server",
        "127.0.0.1",
        "--port",
        &p,
        "--tls",
        "--pipeline",
        "--from",
        "x@foreign.example",
        "--to",
        "alice@example.org",
        "--header",
        "Subject: swaks-inbound",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("PIPELINING"), "{out}");
    assert_eq!(
        count(&site, &server, "alice@example.org", "swaks-inbound"),
        1
    );
    let (ok, out) = swaks(&[
        "--server",
        "127.0.0.1",
        "--port",
        &p,
        "--tls",
        "--from",
        "x@foreign.example",
        "--to",
        "nobody@example.org",
    ]);
    assert!(!ok, "{out}");
    assert!(out.contains("550 5.1.1"), "{out}");
}

#[test]
fn swaks_size_refusal() {
    let site = site("[smtp]\nmax_message_size = 20000\n");
    let server = site.start();
    let body = site.path("big.txt");
    // 400 lines of 72 octets: 28,800 octets, over the 20,000 limit.
    let line = format!("{}\r\n", "y".repeat(70));
    std::fs::write(&body, line.repeat(400)).unwrap();
    let (ok, out) = swaks(&[
        "--server",
        "127.0.0.1",
        "--port",
        &port(&server, "smtp"),
        "--tls",
        "--from",
        "x@foreign.example",
        "--to",
        "alice@example.org",
        "--header",
        "Subject: swaks-too-big",
        "--body",
        &format!("@{}", body.display()),
    ]);
    assert!(!ok, "{out}");
    assert!(out.contains("250-SIZE 20000"), "{out}");
    assert!(out.contains("552 5.3.4"), "{out}");
    assert_eq!(
        count(&site, &server, "alice@example.org", "swaks-too-big"),
        0
    );
}

/// `<LF>.<CR><LF>` after "hi": a server that took it as the end would run
/// the smuggled MAIL/RCPT/DATA as commands. sealpost never does; by default
/// (bare LF normalized, as Postfix 3.9) the whole input is one message to
/// alice, the smuggled part its text; with `bare_lf = "reject"` it is
/// refused. Either way bob gets nothing.
fn swaks_smuggle(extra: &str) -> (bool, String, Site, Server) {
    let site = site(extra);
    let server = site.start();
    let data = site.path("smuggle.eml");
    std::fs::write(
        &data,
        b"From: x@foreign.example\r\nSubject: swaks-smuggle carrier\r\n\r\nhi\n.\r\n\
          MAIL FROM:<admin@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n\
          Subject: swaks-smuggle smuggled\r\n\r\nowned\r\n.\r\n",
    )
    .unwrap();
    let (ok, out) = swaks(&[
        "--server",
        "127.0.0.1",
        "--port",
        &port(&server, "smtp"),
        "--tls",
        "--from",
        "x@foreign.example",
        "--to",
        "alice@example.org",
        "--data",
        &format!("@{}", data.display()),
        "--no-data-fixup",
    ]);
    (ok, out, site, server)
}

#[test]
fn swaks_smuggling_is_one_message_with_literal_bytes() {
    let (ok, out, site, server) = swaks_smuggle("");
    assert!(ok, "{out}");
    assert_eq!(
        count(&site, &server, "alice@example.org", "swaks-smuggle carrier"),
        1
    );
    assert_eq!(
        count(
            &site,
            &server,
            "alice@example.org",
            "swaks-smuggle smuggled"
        ),
        0,
        "the smuggled Subject: is body text, not a message"
    );
    assert_eq!(count(&site, &server, "bob@example.net", "swaks-smuggle"), 0);
}

#[test]
fn swaks_smuggling_refusal_with_literal_bytes_when_strict() {
    let (ok, out, site, server) = swaks_smuggle("[smtp]\nbare_lf = \"reject\"\n");
    assert!(!ok, "{out}");
    assert!(out.contains("550 5.6.0"), "{out}");
    assert_eq!(
        count(&site, &server, "alice@example.org", "swaks-smuggle"),
        0
    );
    assert_eq!(count(&site, &server, "bob@example.net", "swaks-smuggle"), 0);
}
