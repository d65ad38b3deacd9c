//! Forwarding in transcripts: a `[[forward]]` address queues its outside
//! copies under an SRS0 sender (one entry per rewritten sender, apart from
//! the submitter's own remote recipients) while its account keeps a copy;
//! SRS bounces reverse at RCPT; loops are refused at the end of DATA.

use super::env::{Env, env};
use super::transcript::run;
use super::{EHLO_TLS, Role};

/// The standard environment plus `fwd@example.org` -> out@elsewhere.example,
/// kept by alice through the alias `al@example.org` forwarding too.
fn forwarding_env() -> Env {
    let env = env();
    let path = &env.services.config.server.accounts;
    let mut text = std::fs::read_to_string(path).unwrap();
    text.push_str(
        "[[forward]]\naddress = \"fwd@example.org\"\nto = [\"out@elsewhere.example\"]\n\n\
         [[forward]]\naddress = \"al@example.org\"\nto = [\"al@elsewhere.example\"]\n",
    );
    std::fs::write(path, text).unwrap();
    env.services
        .directory
        .reload(vec!["example.org".into()])
        .unwrap();
    env
}

#[tokio::test]
async fn forwarded_copies_leave_under_an_srs_sender_and_the_account_keeps_one() {
    let env = forwarding_env();
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<carol@origin.example>
C: RCPT TO:<fwd@example.org>
C: RCPT TO:<al@example.org>
C: RCPT TO:<out@elsewhere.example>
C: DATA
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 250 2.1.5 Recipient OK
S: 550 5.7.1 Relaying denied
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: Subject: forwarded
C: .
S: 250 2.0.0 OK queued as *
"
    );
    run(&env, Role::Inbound, true, &script).await;
    assert_eq!(env.inbox("alice@example.org").len(), 1);
    let queued = env.services.queue.list().unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    let entry = &queued[0];
    assert!(
        entry.sender.starts_with("SRS0=")
            && entry.sender.ends_with("=origin.example=carol@example.org"),
        "{entry:?}"
    );
    let to: Vec<&str> = entry
        .recipients
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(to, ["out@elsewhere.example", "al@elsewhere.example"]);
    // The next hop learns which address was mailed (RFC 3461 ORCPT).
    let orcpt: Vec<Option<&str>> = entry
        .recipients
        .iter()
        .map(|r| r.orcpt.as_deref())
        .collect();
    assert_eq!(
        orcpt,
        [
            Some("rfc822;fwd@example.org"),
            Some("rfc822;al@example.org")
        ]
    );
}

#[tokio::test]
async fn srs_bounces_reverse_and_forgeries_do_not() {
    let env = forwarding_env();
    let srs = env
        .services
        .queue
        .inner
        .srs
        .forward("carol@origin.example", "example.org", crate::queue::now())
        .unwrap();
    let local_srs = env
        .services
        .queue
        .inner
        .srs
        .forward("alice@example.org", "example.org", crate::queue::now())
        .unwrap();
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<>
C: RCPT TO:<SRS0=aaaaaaaa=aa=origin.example=carol@example.org>
C: RCPT TO:<SRS1=aaaaaaaa=fwd1.example==x=y=z=w@example.org>
C: RCPT TO:<{srs}>
C: RCPT TO:<{local_srs}>
C: DATA
S: 250 2.1.0 Sender OK
S: 550 5.1.1 Invalid SRS address
S: 550 5.1.1 Invalid SRS address
S: 250 2.1.5 Recipient OK
S: 250 2.1.5 Recipient OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: Subject: bounce
C: .
S: 250 2.0.0 OK queued as *
"
    );
    run(&env, Role::Inbound, true, &script).await;
    // The hosted original sender gets it here, the other one is relayed to.
    assert_eq!(env.inbox("alice@example.org").len(), 1);
    let queued = env.services.queue.list().unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].sender, "");
    assert_eq!(queued[0].recipients[0].address, "carol@origin.example");
}

#[tokio::test]
async fn a_forwarded_message_past_the_hop_limit_is_refused_whole() {
    let env = forwarding_env();
    let hops = "C: Received: from a by b; Thu, 3 Dec 2026 10:00:00 +0000\n".repeat(51);
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<carol@origin.example>
C: RCPT TO:<fwd@example.org>
C: RCPT TO:<bob@example.org>
C: DATA
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 250 2.1.5 Recipient OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
{hops}C: Subject: looping
C: .
S: 554 5.4.6 Mail loop: too many hops
"
    );
    run(&env, Role::Inbound, true, &script).await;
    assert!(env.services.queue.list().unwrap().is_empty());
}

#[tokio::test]
async fn a_submitters_own_address_is_not_rewritten() {
    let env = forwarding_env();
    let plain = super::submission::PLAIN_ALICE;
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{}
C: AUTH PLAIN {plain}
S: 235 2.7.0 Authentication successful
C: MAIL FROM:<alice@example.org>
C: RCPT TO:<fwd@example.org>
C: RCPT TO:<carol@example.net>
C: DATA
S: 250 2.1.0 Sender OK
S: 250 2.1.5 Recipient OK
S: 250 2.1.5 Recipient OK
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: From: alice@example.org
C: Subject: to a forward
C:
C: body
C: .
S: 250 2.0.0 OK queued as *
",
        super::submission::EHLO_SUB
    );
    run(&env, Role::Submission, true, &script).await;
    let queued = env.services.queue.list().unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].sender, "alice@example.org");
    let to: Vec<&str> = queued[0]
        .recipients
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(to, ["out@elsewhere.example", "carol@example.net"]);
}

#[tokio::test]
async fn a_sender_too_long_to_rewrite_is_refused_at_rcpt() {
    let env = forwarding_env();
    let long = "x".repeat(50);
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<{long}@origin.example>
C: RCPT TO:<fwd@example.org>
C: RCPT TO:<alice@example.org>
S: 250 2.1.0 Sender OK
S: 550 5.1.3 Sender too long to rewrite for forwarding
S: 250 2.1.5 Recipient OK
"
    );
    run(&env, Role::Inbound, true, &script).await;
}

#[test]
fn orcpt_is_xtext() {
    assert_eq!(
        crate::delivery::orcpt("a+b=c@example.org"),
        "rfc822;a+2Bb+3Dc@example.org"
    );
    assert_eq!(crate::delivery::orcpt("ü@x"), "rfc822;+C3+BC@x");
}
