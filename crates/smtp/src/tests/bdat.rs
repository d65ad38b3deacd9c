//! BDAT outside a transaction (audit finding): the chunk streams past the
//! framer without being held, and the reply names what was missing. Also
//! "nothing before TLS" for every transaction command.

use super::env::env;
use super::transcript::run;
use crate::engine::{Control, Engine};
use crate::session::Role;

/// Feeds `BDAT size LAST` and `size` octets in 16 KiB reads (what the socket
/// loop does) and checks after every read that the engine holds no chunk
/// octet; returns what the server wrote.
async fn stream_unwanted_chunk(role: Role, tls: bool, setup: &str, size: usize) -> String {
    let env = env();
    let mut engine = Engine::new(
        env.services.clone(),
        role,
        "192.0.2.7:40000".parse().unwrap(),
        tls.then(|| "TLSv1.3 with cipher TEST".to_string()),
    );
    let mut out = Vec::new();
    let mut input = setup.as_bytes().to_vec();
    input.extend_from_slice(format!("BDAT {size} LAST\r\n").as_bytes());
    assert_eq!(
        engine.process(&mut input, &mut out).await,
        Control::Continue
    );
    out.clear();
    let piece = vec![b'x'; 16 * 1024];
    let mut sent = 0;
    while sent < size {
        let n = piece.len().min(size - sent);
        input.extend_from_slice(&piece[..n]);
        sent += n;
        assert_eq!(
            engine.process(&mut input, &mut out).await,
            Control::Continue
        );
        assert_eq!(engine.buffered(), 0, "chunk octets held after {sent}");
        assert!(input.is_empty(), "input piles up after {sent}");
    }
    input.extend_from_slice(b"NOOP\r\n");
    engine.process(&mut input, &mut out).await;
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn bdat_before_starttls_is_dropped_unheld_and_530() {
    let out = stream_unwanted_chunk(Role::Inbound, false, "EHLO c.example\r\n", 19_000).await;
    assert!(
        out.ends_with("530 5.7.0 Must issue a STARTTLS command first\r\n250 2.0.0 OK\r\n"),
        "{out}"
    );
}

#[tokio::test]
async fn bdat_before_ehlo_on_plaintext_is_530() {
    let out = stream_unwanted_chunk(Role::Inbound, false, "", 5000).await;
    assert_eq!(
        out,
        "530 5.7.0 Must issue a STARTTLS command first\r\n250 2.0.0 OK\r\n"
    );
}

#[tokio::test]
async fn bdat_without_mail_under_tls_is_dropped_unheld_and_503() {
    let out = stream_unwanted_chunk(Role::Inbound, true, "EHLO c.example\r\n", 19_000).await;
    assert!(
        out.ends_with("503 5.5.1 Need MAIL and RCPT before BDAT\r\n250 2.0.0 OK\r\n"),
        "{out}"
    );
}

#[tokio::test]
async fn bdat_before_auth_on_submission_is_dropped_unheld_and_530() {
    let out = stream_unwanted_chunk(Role::Submission, true, "EHLO c.example\r\n", 19_000).await;
    assert!(
        out.ends_with("530 5.7.0 Authentication required\r\n250 2.0.0 OK\r\n"),
        "{out}"
    );
}

#[tokio::test]
async fn bdat_without_recipient_is_dropped_unheld_and_554() {
    let out = stream_unwanted_chunk(
        Role::Inbound,
        true,
        "EHLO c.example\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<nobody@example.org>\r\n",
        19_000,
    )
    .await;
    assert!(
        out.ends_with("554 5.5.1 No valid recipients\r\n250 2.0.0 OK\r\n"),
        "{out}"
    );
}

/// A chunk over the limit cannot be taken and cannot be found the end of
/// cheaply: `552 5.3.4` as soon as the BDAT line is read, and the
/// connection closes (issue 18: `BDAT 99999999999`).
#[tokio::test]
async fn bdat_over_the_limit_is_refused_at_once_and_closes() {
    for size in ["20001", "99999999999", "99999999999999999999999999"] {
        let env = env();
        let mut engine = Engine::new(
            env.services.clone(),
            Role::Inbound,
            "192.0.2.7:40000".parse().unwrap(),
            Some("TLSv1.3 with cipher TEST".to_string()),
        );
        let mut out = Vec::new();
        let mut input = format!(
            "EHLO c.example\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<alice@example.org>\r\nBDAT {size} LAST\r\nQUIT\r\n"
        )
        .into_bytes();
        assert_eq!(engine.process(&mut input, &mut out).await, Control::Close);
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.ends_with("552 5.3.4 Message size exceeds fixed maximum message size; closing\r\n"),
            "{size}: {out}"
        );
        assert_eq!(engine.buffered(), 0);
        assert!(env.inbox("alice@example.org").is_empty());
    }
}

#[tokio::test]
async fn bdat_in_a_transaction_is_kept() {
    // The control case: the same stream with a transaction is buffered and delivered.
    let env = env();
    let mut engine = Engine::new(
        env.services.clone(),
        Role::Inbound,
        "192.0.2.7:40000".parse().unwrap(),
        Some("TLS".into()),
    );
    let mut out = Vec::new();
    let mut input = b"EHLO c.example\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<alice@example.org>\r\nBDAT 31 LAST\r\nSubject: kept\r\n\r\n0123456789".to_vec();
    engine.process(&mut input, &mut out).await;
    assert_eq!(engine.buffered(), 27);
    input.extend_from_slice(b"abcd");
    engine.process(&mut input, &mut out).await;
    assert_eq!(engine.buffered(), 0);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("250 2.0.0 OK queued as "), "{text}");
    let inbox = env.inbox("alice@example.org");
    assert_eq!(inbox.len(), 1);
    assert!(inbox[0].ends_with(b"Subject: kept\r\n\r\n0123456789abcd"));
}

#[tokio::test]
async fn nothing_proceeds_before_tls_even_before_ehlo() {
    let env = env();
    run(
        &env,
        Role::Inbound,
        false,
        "
S: 220 mx.example.org ESMTP sealpost
C: MAIL FROM:<x@example.net>
S: 530 5.7.0 Must issue a STARTTLS command first
C: RCPT TO:<alice@example.org>
S: 530 5.7.0 Must issue a STARTTLS command first
C: DATA
S: 530 5.7.0 Must issue a STARTTLS command first
C! BDAT 4 LAST\\r\\nQUIT
S: 530 5.7.0 Must issue a STARTTLS command first
C: HELO client.example
S: 250 mx.example.org greets client.example
C: MAIL FROM:<x@example.net>
S: 530 5.7.0 Must issue a STARTTLS command first
C: STARTTLS
S: 220 2.0.0 Ready to start TLS
C: MAIL FROM:<x@example.net>
S: 503 5.5.1 Send EHLO or HELO first
C: RCPT TO:<alice@example.org>
S: 503 5.5.1 Need MAIL before RCPT
",
    )
    .await;
    assert!(env.inbox("alice@example.org").is_empty());
}

#[tokio::test]
async fn submission_needs_auth_before_any_transaction_command() {
    let env = env();
    run(
        &env,
        Role::Submission,
        true,
        "
S: 220 mx.example.org ESMTP sealpost
C: RCPT TO:<bob@example.org>
S: 530 5.7.0 Authentication required
C: DATA
S: 530 5.7.0 Authentication required
",
    )
    .await;
}
