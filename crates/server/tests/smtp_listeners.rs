//! The SMTP listeners of the real binary: no open relay on any of them
//! (smtp with STARTTLS, submission with STARTTLS, submissions with implicit
//! TLS), nothing before TLS, and BDAT chunks without a transaction streamed
//! through without the server holding them.

mod common;
mod smtp_support;

use common::*;
use serde_json::json;
use smtp_support::*;
use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

/// Unauthenticated attempts to relay (foreign sender, foreign recipient; a
/// hosted sender to a foreign recipient) and the replies they must get.
fn relay_attempt(site: &Site, server: &Server, listener: &str, tls: &str) -> Vec<(u16, String)> {
    converse(
        site,
        server,
        listener,
        tls,
        Some("client.example.net"),
        json!([
            "MAIL FROM:<someone@foreign.example>",
            "RCPT TO:<victim@elsewhere.example>",
            "DATA",
            "RSET",
            "MAIL FROM:<alice@example.org>",
            "RCPT TO:<victim@elsewhere.example>",
            "DATA",
        ]),
    )
}

fn assert_nothing_queued(site: &Site) {
    let out = site.cli(&["queue", "list"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert_eq!(out.stdout, "queue is empty\n");
}

#[test]
fn no_open_relay_on_the_smtp_listener_under_starttls() {
    let site = site("");
    let server = site.start();
    let r = relay_attempt(&site, &server, "smtp", "starttls");
    expect(&r[0], "250 2.1.0");
    expect(&r[1], "550 5.7.1");
    expect(&r[2], "554 5.5.1");
    expect(&r[3], "250");
    // Claiming a hosted sender changes nothing on the MX.
    expect(&r[4], "250 2.1.0");
    expect(&r[5], "550 5.7.1");
    expect(&r[6], "554 5.5.1");
    assert_nothing_queued(&site);
}

#[test]
fn no_open_relay_on_the_smtp_listener_in_plaintext() {
    let site = site("");
    let server = site.start();
    let r = relay_attempt(&site, &server, "smtp", "plain");
    for (i, reply) in r.iter().enumerate() {
        if i == 3 {
            expect(reply, "250"); // RSET
        } else {
            expect(reply, "530 5.7.0");
        }
    }
    assert_nothing_queued(&site);
}

#[test]
fn no_open_relay_on_the_submission_listener_without_auth() {
    let site = site("");
    let server = site.start();
    let r = relay_attempt(&site, &server, "submission", "starttls");
    for (i, reply) in r.iter().enumerate() {
        if i == 3 {
            expect(reply, "250");
        } else {
            assert!(
                reply.0 == 530 && reply.1.contains("5.7.0 Authentication required"),
                "{i}: {reply:?}"
            );
        }
    }
    // Before STARTTLS it is TLS first.
    let r = relay_attempt(&site, &server, "submission", "plain");
    expect(&r[0], "530 5.7.0 Must issue a STARTTLS command first");
    expect(&r[1], "530 5.7.0 Must issue a STARTTLS command first");
    assert_nothing_queued(&site);
}

#[test]
fn no_open_relay_on_the_submissions_listener_without_auth() {
    let site = site("");
    let server = site.start();
    let r = relay_attempt(&site, &server, "submissions", "implicit");
    for (i, reply) in r.iter().enumerate() {
        if i == 3 {
            expect(reply, "250");
        } else {
            assert!(
                reply.0 == 530 && reply.1.contains("5.7.0 Authentication required"),
                "{i}: {reply:?}"
            );
        }
    }
    assert_nothing_queued(&site);
}

#[test]
fn mail_before_ehlo_is_530_in_plaintext_and_503_after_tls() {
    let site = site("");
    let server = site.start();
    let r = converse(
        &site,
        &server,
        "smtp",
        "plain",
        None,
        json!([
            "MAIL FROM:<a@foreign.example>",
            "RCPT TO:<alice@example.org>"
        ]),
    );
    expect(&r[0], "530 5.7.0 Must issue a STARTTLS command first");
    expect(&r[1], "530 5.7.0 Must issue a STARTTLS command first");
    // After STARTTLS (smtplib says EHLO before it by itself, not after).
    let r = converse(
        &site,
        &server,
        "smtp",
        "starttls",
        None,
        json!(["MAIL FROM:<a@foreign.example>"]),
    );
    expect(&r[0], "503 5.5.1 Send EHLO or HELO first");
    let r = converse(
        &site,
        &server,
        "submissions",
        "implicit",
        None,
        json!(["MAIL FROM:<alice@example.org>"]),
    );
    expect(&r[0], "503 5.5.1 Send EHLO or HELO first");
}

/// Peak resident memory of a process, in KiB (VmHWM).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The audit finding: BDAT of the full message size with no TLS, no AUTH and
/// no transaction. The server must count the chunk down, not keep it.
#[test]
fn an_unwanted_40_mib_bdat_chunk_is_not_held_by_the_server() {
    let size: usize = 40 * 1024 * 1024;
    let site = site("[smtp]\nmax_message_size = 52428800\n");
    let server = site.start();
    let pid = server.child.id();
    let tcp = std::net::TcpStream::connect(server.addr("smtp")).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut r = BufReader::new(tcp.try_clone().unwrap());
    let mut w = tcp;
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("220 "), "{line}");
    let before = peak_rss_kib(pid);
    w.write_all(format!("EHLO client.example.net\r\nBDAT {size} LAST\r\n").as_bytes())
        .unwrap();
    let piece = vec![b'x'; 256 * 1024];
    let mut sent = 0;
    while sent < size {
        w.write_all(&piece).unwrap();
        sent += piece.len();
    }
    w.write_all(b"NOOP\r\n").unwrap();
    let mut replies = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "server closed; got {replies:?}");
        replies.push(line.clone());
        if line.starts_with("250 2.0.0 OK") {
            break;
        }
    }
    // EHLO's reply, then the chunk's, then NOOP's.
    let bdat = &replies[replies.len() - 2];
    assert_eq!(bdat, "530 5.7.0 Must issue a STARTTLS command first\r\n");
    let grown = peak_rss_kib(pid).saturating_sub(before);
    assert!(
        grown < 16 * 1024,
        "peak RSS grew by {grown} KiB while a {size}-octet unwanted chunk streamed through"
    );
}
