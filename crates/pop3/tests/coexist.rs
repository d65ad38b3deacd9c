//! IMAP and POP3 on the same INBOX at once, over the live POP3 server. The
//! IMAP side acts through the store exactly as an IMAP session does
//! (`\Deleted` + UID EXPUNGE, a delivery, a watcher of INBOX events), which
//! lets this test look at store state between steps; the same behaviour with
//! real imaplib and poplib clients against the binary is
//! `crates/server/tests/protocols.rs` (`tests/pop3_imap_coexist.py`).
//! Behaviour checked: see the module documentation of
//! `sealpost_pop3::session::maildrop`.

mod common;

use common::client::{client, finish, until_step};
use common::server::TestServer;
use common::*;
use sealpost_store::{FlagOp, Flags, MailboxEvent, Uid};
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_expunge_and_delivery_during_a_pop3_session() {
    let server = TestServer::start(&[(ALICE, ALICE_PASS)], "").await;
    for m in MESSAGES {
        server.deliver_many(ALICE, vec![m.to_vec()]);
    }
    let (account, inbox) = server.inbox(ALICE);
    // The "IMAP session" watches INBOX like a selected IMAP session does.
    let mut imap_events = server.store.watch(account, inbox).unwrap();

    let (mut child, mut lines) = client(&server, "coexist").await;
    until_step(&mut lines, "logged-in").await;

    // IMAP: STORE 2 +FLAGS (\Deleted), UID EXPUNGE 2; and new mail arrives.
    let store = server.store.clone();
    tokio::task::spawn_blocking(move || {
        store
            .store_flags(
                account,
                inbox,
                &[Uid(2)],
                FlagOp::Add,
                &Flags::system(Flags::DELETED),
                None,
            )
            .unwrap();
        assert_eq!(
            store.expunge(account, inbox, Some(&[Uid(2)])).unwrap(),
            vec![Uid(2)]
        );
        store
            .deliver(account, b"Subject: four\r\n\r\nnew\r\n")
            .unwrap();
    })
    .await
    .unwrap();

    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"GO\n").await.unwrap();
    stdin.flush().await.unwrap();
    until_step(&mut lines, "quit").await;
    finish(child).await;

    // POP3's QUIT removed message 1 (UID 1); IMAP sees it as an expunge.
    let snapshot = server.store.snapshot(account, inbox).unwrap();
    let uids: Vec<u32> = snapshot.entries.iter().map(|e| e.uid.0).collect();
    assert_eq!(uids, vec![3, 4]);
    let mut expunged = Vec::new();
    while let Ok(ev) = imap_events.try_recv() {
        if let MailboxEvent::Expunged { uids, .. } = ev {
            expunged.extend(uids);
        }
    }
    assert_eq!(expunged, vec![Uid(2), Uid(1)]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pop3_lock_does_not_block_imap_changes() {
    // While POP3 holds the maildrop, IMAP-side flag changes and deliveries go
    // on, and POP3 sets no flags of its own.
    let server = TestServer::start(&[(ALICE, ALICE_PASS)], "").await;
    for m in MESSAGES {
        server.deliver_many(ALICE, vec![m.to_vec()]);
    }
    let (account, inbox) = server.inbox(ALICE);
    let (mut child, mut lines) = client(&server, "coexist").await;
    until_step(&mut lines, "logged-in").await;
    let store = server.store.clone();
    tokio::task::spawn_blocking(move || {
        store
            .store_flags(
                account,
                inbox,
                &[Uid(3)],
                FlagOp::Add,
                &Flags::system(Flags::FLAGGED),
                None,
            )
            .unwrap();
        store
            .store_flags(
                account,
                inbox,
                &[Uid(2)],
                FlagOp::Add,
                &Flags::system(Flags::DELETED),
                None,
            )
            .unwrap();
        store.expunge(account, inbox, None).unwrap();
        store
            .deliver(account, b"Subject: four\r\n\r\nnew\r\n")
            .unwrap();
    })
    .await
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"GO\n").await.unwrap();
    until_step(&mut lines, "quit").await;
    finish(child).await;
    let snapshot = server.store.snapshot(account, inbox).unwrap();
    let three = snapshot.entries.iter().find(|e| e.uid == Uid(3)).unwrap();
    assert!(three.flags.has(Flags::FLAGGED));
    assert!(
        !three.flags.has(Flags::SEEN),
        "POP3 RETR does not set \\Seen"
    );
    server.stop().await;
}
