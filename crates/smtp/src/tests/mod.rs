//! Engine-level tests: transcripts against a real store and directory in a
//! tempdir. One test function per behaviour.

mod bdat;
mod dsn;
pub(crate) mod env;
mod forward;
mod queue;
mod submission;
mod transcript;

use crate::session::Role;
use env::{env, env_with};
use transcript::run;

const EHLO_TLS: &str = "
S: 250-mx.example.org greets client.example
S: 250-PIPELINING
S: 250-SIZE 20000
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-ENHANCEDSTATUSCODES
S: 250-CHUNKING
S: 250-DSN
S: 250 REQUIRETLS
";

#[tokio::test]
async fn inbound_greeting_ehlo_and_starttls() {
    let env = env();
    run(
        &env,
        Role::Inbound,
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
C: MAIL FROM:<x@example.net>
S: 530 5.7.0 Must issue a STARTTLS command first
C: STARTTLS
C: MAIL FROM:<smuggled@example.net>
S: 220 2.0.0 Ready to start TLS
C: MAIL FROM:<x@example.net>
S: 503 5.5.1 Send EHLO or HELO first
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
",
    )
    .await;
}

#[tokio::test]
async fn inbound_delivery_adds_trace_headers() {
    let env = env();
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<sender@example.net>
C: RCPT TO:<Alice@Example.org>
C: DATA
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: Subject: hello
C:
C: ..leading dot
C: .
S: 250 2.0.0 OK queued as *
C: QUIT
S: 221 2.0.0 Bye
"
    );
    let out = run(&env, Role::Inbound, true, &script).await;
    assert!(out.closed);
    let inbox = env.inbox("alice@example.org");
    assert_eq!(inbox.len(), 1);
    let m = String::from_utf8(inbox[0].clone()).unwrap();
    assert!(
        m.starts_with("Return-Path: <sender@example.net>\r\nAuthentication-Results: mx.example.org;\r\n\tspf=none "),
        "{m}"
    );
    assert!(
        m.contains(
            "\r\nReceived: from client.example ([192.0.2.7])\r\n\tby mx.example.org with ESMTPS id "
        ),
        "{m}"
    );
    assert!(m.contains("\tfor <Alice@example.org>;\r\n"), "{m}");
    assert!(m.ends_with("Subject: hello\r\n\r\n.leading dot\r\n"), "{m}");
}

#[tokio::test]
async fn unknown_user_and_relay_denied() {
    let env = env();
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<sender@example.net>
C: RCPT TO:<nobody@example.org>
C: RCPT TO:<someone@elsewhere.net>
C: RCPT TO:<al@example.org>
C: RCPT TO:<Postmaster>
C: DATA
S: 250 2.1.0 Sender OK
S: 550 5.1.1 No such user here
S: 550 5.7.1 Relaying denied
S: 250 2.1.5 Recipient OK
S: 250 2.1.5 Recipient OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: Subject: to an alias
C: .
S: 250 2.0.0 OK queued as *
"
    );
    run(&env, Role::Inbound, true, &script).await;
    // Two aliases of one account: one copy.
    assert_eq!(env.inbox("alice@example.org").len(), 1);
}

#[tokio::test]
async fn sequence_errors_and_misc_commands() {
    let env = env();
    let script = String::from(
        "
S: 220 mx.example.org ESMTP sealpost
C: MAIL FROM:<a@example.net>
S: 503 5.5.1 Send EHLO or HELO first
C: HELO client.example
S: 250 mx.example.org greets client.example
C: RCPT TO:<alice@example.org>
S: 503 5.5.1 Need MAIL before RCPT
C: DATA
S: 503 5.5.1 Need MAIL and RCPT before DATA
C: NOOP
C: VRFY alice
C: EXPN list
C: HELP
C: RSET
S: 250 2.0.0 OK
S: 252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery
S: 502 5.5.1 EXPN not available
S: 214 2.0.0 See RFC 5321; https://www.rfc-editor.org/rfc/rfc5321
S: 250 2.0.0 Reset OK
C: EHLO again.example
S: 250-mx.example.org greets again.example
S: 250-PIPELINING
S: 250-SIZE 20000
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-ENHANCEDSTATUSCODES
S: 250-CHUNKING
S: 250-DSN
S: 250 REQUIRETLS
C: MAIL FROM:<a@example.net>
C: MAIL FROM:<a@example.net>
S: 250 2.1.0 Sender OK
S: 503 5.5.1 Nested MAIL command
C: DATA
S: 554 5.5.1 No valid recipients
C: STARTTLS
S: 503 5.5.1 TLS already active
C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
S: 502 5.5.1 AUTH not available
C: XYZZY
S: 500 5.5.1 Command unrecognized
",
    );
    let out = run(&env, Role::Inbound, true, &script).await;
    assert!(!out.closed);
    let _ = EHLO_TLS;
}

#[tokio::test]
async fn too_many_errors_closes_with_421() {
    let env = env::env_with("max_errors = 5");
    let out = run(
        &env,
        Role::Inbound,
        true,
        "
S: 220 mx.example.org ESMTP sealpost
C: X1
C: X2
C: X3
C: X4
C: X5
C: NOOP
S: 500 5.5.1 Command unrecognized
S: 500 5.5.1 Command unrecognized
S: 500 5.5.1 Command unrecognized
S: 500 5.5.1 Command unrecognized
S: 421 4.7.0 Too many errors, closing connection
",
    )
    .await;
    assert!(out.closed);
}

#[tokio::test]
async fn parameters_size_utf8_and_bad_addresses() {
    let env = env();
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<a@example.net> SIZE=20001
S: 552 5.3.4 Message size exceeds fixed maximum message size
C: MAIL FROM:<a@example.net> BODY=BINARYMIME
S: 555 5.5.4 BINARYMIME is not supported
C: MAIL FROM:<a@example.net> FOO=BAR
S: 555 5.5.4 Parameter not recognized or bad value: unknown MAIL parameter
C: MAIL FROM:<a\\0b@example.net>
S: 501 5.5.4 Syntax error: control character in command
C: MAIL FROM:<a b@example.net>
S: 553 5.1.3 Bad address syntax: bad local part
C: MAIL FROM:<a@example.net> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=x
S: 250 2.1.0 Sender OK
C: RCPT TO:<jörg@example.org>
S: 553 5.6.7 Non-ASCII address requires SMTPUTF8
C: RCPT TO:<alice@example.org> NOTIFY=FAILURE ORCPT=rfc822;alice@example.org
S: 250 2.1.5 Recipient OK
"
    );
    run(&env, Role::Inbound, true, &script).await;
}

#[tokio::test]
async fn too_many_recipients_452() {
    let env = env();
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<a@example.net>
C: RCPT TO:<alice@example.org>
C: RCPT TO:<bob@example.org>
C: RCPT TO:<al@example.org>
C: RCPT TO:<postmaster@example.org>
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 250 2.1.5 Recipient OK
S: 250 2.1.5 Recipient OK
S: 452 4.5.3 Too many recipients
"
    );
    run(&env, Role::Inbound, true, &script).await;
}

/// SMTP smuggling (CVE-2023-51764 class): `<LF>.<CR><LF>` never ends DATA.
/// Under `bare_lf = "reject"` the message is refused; nothing after the
/// fake end runs as a command either way.
#[tokio::test]
async fn smuggling_is_refused_and_not_executed_when_strict() {
    let env = env_with("bare_lf = \"reject\"\nmax_line_length = 1000\n");
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<a@example.net>
C: RCPT TO:<alice@example.org>
C: DATA
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
C! Subject: x\\r\\n\\r\\nhi\\n.\\r\\nMAIL FROM:<evil@example.org>\\r\\nRCPT TO:<bob@example.org>\\r\\nDATA\\r\\nspoofed\\r\\n.\\r\\n
S: 550 5.6.0 Bare CR or LF in message: lines must end with CRLF
C: NOOP
S: 250 2.0.0 OK
"
    );
    run(&env, Role::Inbound, true, &script).await;
    assert!(env.inbox("alice@example.org").is_empty());
    assert!(env.inbox("bob@example.org").is_empty());
}

/// The default policy (bare LF normalized, as Postfix 3.9 does) takes the
/// same input as ONE message to alice, the smuggled commands inside it as
/// text; bob gets nothing.
#[tokio::test]
async fn smuggling_is_content_when_normalizing() {
    let env = env();
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<a@example.net>
C: RCPT TO:<alice@example.org>
C: DATA
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
C! Subject: x\\r\\n\\r\\nhi\\n.\\r\\nMAIL FROM:<evil@example.org>\\r\\nRCPT TO:<bob@example.org>\\r\\nDATA\\r\\nspoofed\\r\\n.\\r\\n
S: 250 2.0.0 *
C: NOOP
S: 250 2.0.0 OK
"
    );
    run(&env, Role::Inbound, true, &script).await;
    let inbox = env.inbox("alice@example.org");
    assert_eq!(inbox.len(), 1);
    let text = String::from_utf8_lossy(&inbox[0]);
    assert!(
        text.ends_with("\r\n\r\nhi\r\n\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nspoofed\r\n"),
        "{text}"
    );
    assert!(env.inbox("bob@example.org").is_empty());
}

#[tokio::test]
async fn oversized_data_is_discarded_whole() {
    let env = env();
    let body = "x".repeat(990);
    let mut lines = String::new();
    for _ in 0..25 {
        lines.push_str(&format!("C: {body}\n"));
    }
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<a@example.net>
C: RCPT TO:<alice@example.org>
C: DATA
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
{lines}
C: .
S: 552 5.3.4 Message size exceeds fixed maximum message size
C: RSET
S: 250 2.0.0 Reset OK
"
    );
    run(&env, Role::Inbound, true, &script).await;
    assert!(env.inbox("alice@example.org").is_empty());
}

#[tokio::test]
async fn long_lines() {
    let env = env();
    let long_cmd = format!("NOOP {}", "a".repeat(600));
    let long_text = "y".repeat(1200);
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: {long_cmd}
S: 500 5.5.6 Line too long (RFC 5321 4.5.3.1.4: 512 octets)
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<a@example.net>
C: RCPT TO:<alice@example.org>
C: DATA
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: {long_text}
C: .
S: 250 2.0.0 *
C! NOOP\\n
S: 500 5.5.2 Bare LF: command lines must end with CRLF
"
    );
    run(&env, Role::Inbound, true, &script).await;
    // Stored as received.
    let inbox = env.inbox("alice@example.org");
    assert!(inbox[0].ends_with(format!("\r\n{long_text}\r\n").as_bytes()));
}

/// `max_line_length = 1000`: RFC 5321's limit, strictly.
#[tokio::test]
async fn long_lines_refused_when_strict() {
    let env = env_with("max_line_length = 1000\n");
    let long_text = "y".repeat(1200);
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<a@example.net>
C: RCPT TO:<alice@example.org>
C: DATA
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: {long_text}
C: .
S: 500 5.5.6 Line too long (at most 1000 octets with CRLF here)
"
    );
    run(&env, Role::Inbound, true, &script).await;
    assert!(env.inbox("alice@example.org").is_empty());
}

#[tokio::test]
async fn bdat_chunks_deliver() {
    let env = env();
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<a@example.net>
C: RCPT TO:<alice@example.org>
C! BDAT 14\\r\\nSubject: b\\r\\n\\r\\nBDAT 7 LAST\\r\\nhi\\r\\n.\\r\\n
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 250 2.0.0 14 octets received
S: 250 2.0.0 OK queued as *
C: BDAT 0 LAST
S: 503 5.5.1 Need MAIL and RCPT before BDAT
"
    );
    run(&env, Role::Inbound, true, &script).await;
    let inbox = env.inbox("alice@example.org");
    assert_eq!(inbox.len(), 1);
    assert!(
        inbox[0].ends_with(b"Subject: b\r\n\r\nhi\r\n.\r\n"),
        "BDAT data is not unstuffed"
    );
}

#[tokio::test]
async fn bdat_over_size_fails_until_last() {
    let env = env();
    let big = "z".repeat(15_000);
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<a@example.net>
C: RCPT TO:<alice@example.org>
C! BDAT 15000\\r\\n{big}BDAT 15000\\r\\n{big}BDAT 2 LAST\\r\\nok
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 250 2.0.0 15000 octets received
S: 552 5.3.4 Message size exceeds fixed maximum message size
S: 552 5.3.4 Message size exceeds fixed maximum message size
C: DATA
S: 503 5.5.1 Need MAIL and RCPT before DATA
"
    );
    run(&env, Role::Inbound, true, &script).await;
    assert!(env.inbox("alice@example.org").is_empty());
}

#[tokio::test]
async fn null_sender_and_utf8_delivery() {
    let env = env();
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<> SMTPUTF8
C: RCPT TO:<alice@example.org>
C: DATA
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: Subject: ünïcode
C: .
S: 250 2.0.0 OK queued as *
"
    );
    run(&env, Role::Inbound, true, &script).await;
    let m = String::from_utf8(env.inbox("alice@example.org")[0].clone()).unwrap();
    assert!(m.starts_with("Return-Path: <>\r\n"));
    assert!(m.contains("with UTF8ESMTPS id"));
}

#[tokio::test]
async fn helo_name_is_sanitized_in_received() {
    let env = env();
    let script = String::from(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO evil(\"x\";)by.example
S: 250-mx.example.org greets evil(\"x\";)by.example
S: 250-PIPELINING
S: 250-SIZE 20000
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-ENHANCEDSTATUSCODES
S: 250-CHUNKING
S: 250-DSN
S: 250 REQUIRETLS
C: MAIL FROM:<a@example.net>
C: RCPT TO:<alice@example.org>
C: DATA
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: .
S: 250 2.0.0 OK queued as *
",
    );
    run(&env, Role::Inbound, true, &script).await;
    let m = String::from_utf8(env.inbox("alice@example.org")[0].clone()).unwrap();
    assert!(
        m.contains("Received: from evilxby.example ([192.0.2.7])"),
        "{m}"
    );
}

#[test]
fn default_config_parses_with_smtp_section() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/sealpost.toml");
    let config = sealpost_config::Config::load(&path).unwrap();
    assert_eq!(config.smtp.max_recipients, 100);
    assert_eq!(config.smtp.queue_lifetime_secs, 5 * 24 * 3600);
    assert!(config.smtp.dmarc.enforce_reject);
    assert!(config.smtp.route.is_empty());
}
