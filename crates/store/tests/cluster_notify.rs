//! The account's change stream (`Store::watch_account`, IMAP NOTIFY) on a
//! cluster: two stores over one PostgreSQL database in one process, as two
//! nodes. A write on one node reaches the other node's stream for a mailbox
//! that node holds open, and a rename or delete made elsewhere is told as
//! such.
//!
//! Needs `SEALPOST_TEST_PG` (`tests/pg.sh start`); fails without it.

use sealpost_store::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

const PATIENCE: Duration = Duration::from_secs(15);

fn open(pg: &PgOptions, key: &std::path::Path, dir: &std::path::Path) -> Store {
    Store::open_with(
        StoreOptions {
            data_dir: dir.join("data"),
            master_key: key.to_path_buf(),
            summarizer: Arc::new(NoSummary),
        },
        &BackendOptions::PostgreSql(pg.clone()),
    )
    .unwrap()
}

/// Waits for the account event `want` (others are skipped).
fn wait_for(rx: &mut broadcast::Receiver<AccountEvent>, name: &str, want: AccountChange) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match rx.try_recv() {
            Ok(e) if e.name.as_str() == name && e.change == want => return,
            Ok(_) => {}
            Err(broadcast::error::TryRecvError::Empty) => {
                assert!(Instant::now() < deadline, "no {want:?} of {name}");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("watching for {want:?}: {e}"),
        }
    }
}

#[test]
fn another_nodes_writes_reach_the_account_stream() {
    let pg = testing::fresh_database();
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("master.key");
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open(&pg, &key, da.path());
    let b = open(&pg, &key, db.path());
    let id = a.create_account("u@example.org").unwrap();
    let n = |x: &str| MailboxName::new(x).unwrap();
    let work = a.create_mailbox(id, &n("Work"), None).unwrap();
    // Node B holds Work open (as after a STATUS or NOTIFY SET (STATUS)).
    b.status(id, work.id).unwrap();
    let mut rx = b.watch_account(id).unwrap();
    let raw = b"Subject: x\r\n\r\nhi\r\n";
    a.append(id, work.id, raw, &Flags::default(), None).unwrap();
    wait_for(&mut rx, "Work", AccountChange::MessageNew);
    a.rename_mailbox(id, &n("Work"), &n("Job")).unwrap();
    let from = n("Work");
    wait_for(&mut rx, "Job", AccountChange::Renamed { from });
    b.status(id, work.id).unwrap();
    a.delete_mailbox(id, &n("Job")).unwrap();
    wait_for(&mut rx, "Job", AccountChange::Deleted);
}

#[test]
fn another_nodes_creations_and_subscriptions_are_told_as_elsewhere() {
    let pg = testing::fresh_database();
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("master.key");
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open(&pg, &key, da.path());
    let b = open(&pg, &key, db.path());
    let id = a.create_account("u@example.org").unwrap();
    let n = |x: &str| MailboxName::new(x).unwrap();
    // Node B watches the account (its context is open there).
    let mut rx = b.watch_account(id).unwrap();
    // The notices carry ids only: node B is told to look again.
    let work = a.create_mailbox(id, &n("Work"), None).unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        match rx.try_recv() {
            Ok(e) if e.change == AccountChange::Elsewhere => {
                assert_eq!(e.mailbox, Some(work.id));
                break;
            }
            Ok(_) => {}
            Err(broadcast::error::TryRecvError::Empty) => {
                assert!(Instant::now() < deadline, "no Elsewhere after a creation");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("watching: {e}"),
        }
    }
    a.set_subscribed(id, &n("Work"), true).unwrap();
    wait_for(&mut rx, "INBOX", AccountChange::Elsewhere);
    // Node B reads what changed.
    assert!(b.mailboxes(id).unwrap().iter().any(|m| m.id == work.id));
    assert_eq!(
        b.subscriptions(id)
            .unwrap()
            .iter()
            .filter(|s| s.as_str() == "Work")
            .count(),
        1
    );
}
