//! Submission transcripts (RFC 6409, RFC 4954).

use super::env::env;
use super::transcript::run;
use crate::session::Role;

pub(super) const EHLO_SUB: &str = "
S: 250-mx.example.org greets client.example
S: 250-PIPELINING
S: 250-SIZE 20000
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-ENHANCEDSTATUSCODES
S: 250-CHUNKING
S: 250-DSN
S: 250-REQUIRETLS
S: 250 AUTH PLAIN LOGIN
";

// base64("\0alice@example.org\0secret")
pub(super) const PLAIN_ALICE: &str = "AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==";

#[tokio::test]
async fn auth_needs_tls_and_is_not_offered_before() {
    let env = env();
    run(
        &env,
        Role::Submission,
        false,
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
S: 250-mx.example.org greets client.example
S: 250-PIPELINING
S: 250-SIZE 20000
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-ENHANCEDSTATUSCODES
S: 250-CHUNKING
S: 250-DSN
S: 250 STARTTLS
C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==
S: 538 5.7.11 Encryption required for requested authentication mechanism
",
    )
    .await;
}

#[tokio::test]
async fn auth_plain_then_local_and_remote_recipients() {
    let env = env();
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_SUB}
C: MAIL FROM:<alice@example.org>
S: 530 5.7.0 Authentication required
C: AUTH PLAIN {PLAIN_ALICE}
S: 235 2.7.0 Authentication successful
C: AUTH PLAIN {PLAIN_ALICE}
S: 503 5.5.1 Already authenticated
C: MAIL FROM:<al@example.org>
C: RCPT TO:<bob@example.org>
C: RCPT TO:<carol@example.net> NOTIFY=FAILURE
C: DATA
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 250 2.1.5 Recipient OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: From: Alice <alice@example.org>
C: Subject: hi
C:
C: body
C: .
S: 250 2.0.0 OK queued as *
"
    );
    run(&env, Role::Submission, true, &script).await;
    let bob = env.inbox("bob@example.org");
    assert_eq!(bob.len(), 1);
    let m = String::from_utf8(bob[0].clone()).unwrap();
    assert!(m.starts_with("Return-Path: <al@example.org>\r\nReceived: from client.example\r\n\tby mx.example.org with ESMTPSA id "), "{m}");
    assert!(
        !m.contains("192.0.2.7"),
        "submission Received has no client IP"
    );
    // Date and Message-ID were missing: added (RFC 6409 8).
    assert!(m.contains("\r\nDate: "), "{m}");
    assert!(
        m.contains("@mx.example.org>\r\nFrom: Alice <alice@example.org>\r\n"),
        "{m}"
    );
    let queued = env.services.queue.list().unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].sender, "al@example.org");
    assert_eq!(queued[0].recipients.len(), 1);
    assert_eq!(queued[0].recipients[0].address, "carol@example.net");
    // The queue file is sealed: the body is not on disk in plaintext.
    let dir = env.services.config.server.data_dir.join("queue");
    for f in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(!bytes.windows(4).any(|w| w == b"body"));
        assert!(!bytes.windows(8).any(|w| w == b"carol@ex"));
    }
}

#[tokio::test]
async fn auth_login_and_failures() {
    let env = env();
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_SUB}
C: AUTH LOGIN
S: 334 VXNlcm5hbWU6
C: Ym9iQGV4YW1wbGUub3Jn
S: 334 UGFzc3dvcmQ6
C: d3Jvbmc=
S: 535 5.7.8 Authentication credentials invalid
C: AUTH CRAM-MD5
S: 504 5.5.4 Unrecognized authentication mechanism
C: AUTH PLAIN
S: 334 
C: *
S: 501 5.0.0 Authentication cancelled
C: AUTH PLAIN not-base64!
S: 501 5.5.2 Cannot decode base64 response
C: AUTH LOGIN Ym9iQGV4YW1wbGUub3Jn
S: 334 UGFzc3dvcmQ6
C: aHVudGVyMg==
S: 235 2.7.0 Authentication successful
C: MAIL FROM:<bob@example.org>
S: 250 2.1.0 Sender OK
"
    );
    run(&env, Role::Submission, true, &script).await;
}

/// A 100 KB AUTH response (issue 18): answered once it passes RFC 4954's
/// 12,288 octets, the exchange is cancelled and the NOOP that follows gets
/// its own reply, not taken as more of the response. A long but legal
/// response (5,000 octets) is still decoded.
#[tokio::test]
async fn a_huge_auth_response_cancels_the_exchange_and_stays_in_step() {
    let env = env();
    let huge = "QUFB".repeat(25_000);
    let long_ok = "QUFB".repeat(1_250);
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_SUB}
C: AUTH PLAIN
S: 334 
C: {huge}
C: NOOP
S: 500 5.5.6 Authentication response too long (RFC 4954 4: 12288 octets); exchange cancelled
S: 250 2.0.0 OK
C: AUTH PLAIN
S: 334 
C: {long_ok}
S: 501 5.5.2 Malformed PLAIN response
C: NOOP
S: 250 2.0.0 OK
"
    );
    run(&env, Role::Submission, true, &script).await;
}

#[tokio::test]
async fn too_many_auth_failures_close() {
    let env = env();
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_SUB}
C: AUTH PLAIN AGJvYkBleGFtcGxlLm9yZwB4
S: 535 5.7.8 Authentication credentials invalid
C: AUTH PLAIN AGJvYkBleGFtcGxlLm9yZwB4
S: 535 5.7.8 Authentication credentials invalid
C: AUTH PLAIN AGJvYkBleGFtcGxlLm9yZwB4
S: 421 4.7.0 Too many failed authentications
"
    );
    assert!(run(&env, Role::Submission, true, &script).await.closed);
}

#[tokio::test]
async fn foreign_sender_and_from_header_refused() {
    let env = env();
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_SUB}
C: AUTH PLAIN {PLAIN_ALICE}
S: 235 2.7.0 Authentication successful
C: MAIL FROM:<bob@example.org>
S: 553 5.7.1 Sender address not owned by the authenticated account
C: MAIL FROM:<>
S: 553 5.7.1 Sender address not owned by the authenticated account
C: MAIL FROM:<alice@example.org>
C: RCPT TO:<bob@example.org>
C: DATA
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: From: Bob <bob@example.org>
C:
C: spoof
C: .
S: 553 5.7.1 From: header address not owned by the authenticated account
C: MAIL FROM:<alice@example.org>
C: RCPT TO:<bob@example.org>
C: DATA
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: Subject: no from
C:
C: x
C: .
S: 553 5.7.1 Message has no From: header
"
    );
    run(&env, Role::Submission, true, &script).await;
    assert!(env.inbox("bob@example.org").is_empty());
}

#[tokio::test]
async fn inbound_never_relays_even_with_auth_param() {
    let env = env();
    run(
        &env,
        Role::Inbound,
        true,
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
S: 250-mx.example.org greets client.example
S: 250-PIPELINING
S: 250-SIZE 20000
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-ENHANCEDSTATUSCODES
S: 250-CHUNKING
S: 250-DSN
S: 250 REQUIRETLS
C: MAIL FROM:<alice@example.org> AUTH=alice@example.org
C: RCPT TO:<carol@example.net>
S: 250 2.1.0 Sender OK
S: 550 5.7.1 Relaying denied
",
    )
    .await;
}

/// Submits one message as alice and returns the reply to its end.
async fn submit_as_alice(headers: &str, expect: &str) {
    let env = env();
    let mut lines = String::new();
    for l in headers.split('\n') {
        lines.push_str(&format!("C! {l}\\r\\n\n"));
    }
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_SUB}
C: AUTH PLAIN {PLAIN_ALICE}
S: 235 2.7.0 Authentication successful
C: MAIL FROM:<alice@example.org>
C: RCPT TO:<bob@example.org>
C: DATA
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
{lines}C:
C: body
C: .
S: {expect}
"
    );
    run(&env, Role::Submission, true, &script).await;
    let delivered = env.inbox("bob@example.org").len();
    assert_eq!(
        delivered,
        usize::from(expect.starts_with("250")),
        "{headers}"
    );
}

const TWO_FROM: &str = "550 5.7.1 Message has more than one From: header (RFC 5322 3.6)";
const NOT_OWNED: &str = "553 5.7.1 From: header address not owned by the authenticated account";

#[tokio::test]
async fn a_foreign_from_before_an_owned_one_is_refused() {
    // mail-parser's from() reads the last field only: this used to pass and be signed.
    submit_as_alice(
        "From: Bob <bob@example.org>\nFrom: Alice <alice@example.org>\nSubject: x",
        TWO_FROM,
    )
    .await;
}

#[tokio::test]
async fn two_owned_from_fields_are_refused_too() {
    submit_as_alice("From: alice@example.org\nFrom: al@example.org", TWO_FROM).await;
}

#[tokio::test]
async fn a_second_from_in_any_case_or_obsolete_spacing_is_counted() {
    submit_as_alice("from: alice@example.org\nFROM : bob@example.org", TWO_FROM).await;
    submit_as_alice(
        "From: alice@example.org\nfRoM\t: alice@example.org",
        TWO_FROM,
    )
    .await;
}

#[tokio::test]
async fn every_address_of_the_one_from_field_is_checked() {
    submit_as_alice("From: alice@example.org, bob@example.org", NOT_OWNED).await;
    submit_as_alice("From: bob@example.org, alice@example.org", NOT_OWNED).await;
    // On a folded continuation line.
    submit_as_alice(
        "From: Alice <alice@example.org>,\n\tBob <bob@example.org>",
        NOT_OWNED,
    )
    .await;
    // Inside a group.
    submit_as_alice("From: team: alice@example.org, bob@example.org;", NOT_OWNED).await;
}

#[tokio::test]
async fn several_owned_addresses_in_one_from_field_pass() {
    submit_as_alice(
        "From: Alice <alice@example.org>, al@example.org\nSender: alice@example.org",
        "250 2.0.0 OK queued as *",
    )
    .await;
    submit_as_alice(
        "From: team: alice@example.org, al@example.org;",
        "250 2.0.0 OK queued as *",
    )
    .await;
}

#[tokio::test]
async fn a_from_hidden_in_the_body_or_a_continuation_does_not_count() {
    // A continuation line that reads like a field is part of the previous one.
    submit_as_alice(
        "From: alice@example.org\nSubject: hi\n From: bob@example.org",
        "250 2.0.0 OK queued as *",
    )
    .await;
}
