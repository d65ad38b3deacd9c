//! DSNs from local delivery (RFC 3461 5.3): `delivered` for NOTIFY=SUCCESS,
//! and the bounce of a local recipient that failed while others were stored
//! honours its NOTIFY and carries its ORCPT. The sender is remote, so the
//! DSN goes into the outbound queue with the null sender: read it there.

use super::EHLO_TLS;
use super::env::{Env, env};
use super::transcript::run;
use crate::session::Role;

/// Makes bob's mailbox full (quota of one octet).
fn fill_bob(env: &Env) {
    let store = &env.services.store;
    let id = store.ensure_account("bob@example.org").unwrap();
    store.set_quota(id, Some(1));
}

/// The DSNs queued for `to`, as text.
fn queued_dsns(env: &Env, to: &str) -> Vec<String> {
    let queue = &env.services.queue;
    queue
        .list()
        .unwrap()
        .into_iter()
        .filter(|e| e.recipients.iter().any(|r| r.address == to))
        .map(|e| {
            let (entry, message) = queue.inner.spool.read(&e.id).unwrap();
            assert_eq!(entry.sender, "", "a DSN has the null sender");
            let notify = entry.recipients[0].notify.map(|n| n.to_string());
            assert_eq!(notify.as_deref(), Some("NEVER"), "no DSN about a DSN");
            String::from_utf8(message).unwrap()
        })
        .collect()
}

async fn inbound(env: &Env, rcpts: &[&str]) {
    let mut lines = String::new();
    for r in rcpts {
        lines.push_str(&format!("C: RCPT TO:{r}\n"));
    }
    let oks: String = rcpts
        .iter()
        .map(|_| "S: 250 2.1.5 Recipient OK\n")
        .collect();
    let script = format!(
        "
S: 220 mx.example.org ESMTP sealpost
C: EHLO client.example
{EHLO_TLS}
C: MAIL FROM:<sender@example.net> RET=HDRS ENVID=trip+2B1
{lines}C: DATA
S: 250 2.1.0 Sender OK
{oks}S: 354 Start mail input; end with <CRLF>.<CRLF>
C: Subject: dsn test
C:
C: secret body
C: .
S: 250 2.0.0 OK queued as *
"
    );
    run(env, Role::Inbound, true, &script).await;
}

#[tokio::test]
async fn local_failure_bounce_carries_orcpt_and_success_gets_delivered_dsn() {
    let env = env();
    fill_bob(&env);
    inbound(
        &env,
        &[
            "<alice@example.org> NOTIFY=SUCCESS ORCPT=rfc822;alice@example.org",
            "<bob@example.org> NOTIFY=FAILURE ORCPT=rfc822;bob+2Bold@example.org",
        ],
    )
    .await;
    assert_eq!(env.inbox("alice@example.org").len(), 1);
    let dsns = queued_dsns(&env, "sender@example.net");
    assert_eq!(dsns.len(), 2, "one delivered, one failed");
    let failed = dsns
        .iter()
        .find(|m| m.contains("Action: failed"))
        .expect("a failed DSN");
    assert!(
        failed.contains("Final-Recipient: rfc822; bob@example.org\r\n"),
        "{failed}"
    );
    assert!(
        failed.contains("Original-Recipient: rfc822; bob+old@example.org\r\n"),
        "{failed}"
    );
    assert!(failed.contains("Status: 5.2.2\r\n"), "{failed}");
    assert!(
        failed.contains("Original-Envelope-Id: trip+1\r\n"),
        "{failed}"
    );
    assert!(!failed.contains("alice@example.org\r\nAction"), "{failed}");
    assert!(!failed.contains("secret body"), "RET=HDRS: {failed}");
    let delivered = dsns
        .iter()
        .find(|m| m.contains("Action: delivered"))
        .expect("a delivered DSN");
    assert!(
        delivered.contains(
            "Final-Recipient: rfc822; alice@example.org\r\nAction: delivered\r\nStatus: 2.0.0\r\n"
        ),
        "{delivered}"
    );
    assert!(
        delivered.contains("Subject: Successful Mail Delivery Report"),
        "{delivered}"
    );
    assert!(!delivered.contains("secret body"), "{delivered}");
}

#[tokio::test]
async fn local_failure_with_notify_never_or_success_only_sends_no_bounce() {
    let env = env();
    fill_bob(&env);
    inbound(
        &env,
        &["<alice@example.org>", "<bob@example.org> NOTIFY=NEVER"],
    )
    .await;
    assert_eq!(env.inbox("alice@example.org").len(), 1);
    assert!(queued_dsns(&env, "sender@example.net").is_empty());

    let env = super::env::env();
    fill_bob(&env);
    inbound(
        &env,
        &["<alice@example.org>", "<bob@example.org> NOTIFY=SUCCESS"],
    )
    .await;
    assert!(queued_dsns(&env, "sender@example.net").is_empty());
}

#[tokio::test]
async fn local_failure_without_notify_bounces_as_before() {
    let env = env();
    fill_bob(&env);
    inbound(&env, &["<alice@example.org>", "<bob@example.org>"]).await;
    let dsns = queued_dsns(&env, "sender@example.net");
    assert_eq!(dsns.len(), 1);
    assert!(dsns[0].contains("Action: failed"), "{}", dsns[0]);
    assert!(!dsns[0].contains("Original-Recipient"), "{}", dsns[0]);
}

#[tokio::test]
async fn plain_local_delivery_sends_no_dsn() {
    let env = env();
    inbound(&env, &["<alice@example.org> NOTIFY=FAILURE,DELAY"]).await;
    assert_eq!(env.inbox("alice@example.org").len(), 1);
    assert!(env.services.queue.list().unwrap().is_empty());
}
