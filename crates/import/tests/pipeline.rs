//! The batched, in-order commit every file import goes through
//! (`sealpost_import::pipeline`), into a real embedded store: messages
//! come out in the source's order whatever worker ends them first; a
//! failure in the middle of a batch keeps every message before it and
//! none after it (no blob left behind), whether the message failed or the
//! reader did.

use sealpost_import::pipeline::{BATCH, Ready, WINDOW_OCTETS, import_in_order};
use sealpost_import::{ImportError, Totals};
use sealpost_store::{AccountId, MailboxId, MailboxName, Placement, Store, StoreOptions};
use std::path::Path;
use std::sync::Arc;

fn open(dir: &Path) -> (Store, AccountId, MailboxId) {
    let store = Store::open(StoreOptions {
        data_dir: dir.join("data"),
        master_key: dir.join("master.key"),
        summarizer: Arc::new(sealpost_store::NoSummary),
    })
    .unwrap();
    let account = store.create_account("p@example.org").unwrap();
    let inbox = store
        .mailbox(account, &MailboxName::inbox())
        .unwrap()
        .unwrap()
        .id;
    (store, account, inbox)
}

fn message(n: usize) -> Vec<u8> {
    // Sizes vary so that workers finish out of order.
    format!(
        "Subject: {n}\r\n\r\n{}\r\n",
        "x".repeat((n * 7919) % 20_000)
    )
    .into_bytes()
}

/// The message `n` written to the store and ended; `fail` refuses one.
fn prepare(
    store: &Store,
    account: AccountId,
    n: usize,
    fail: Option<usize>,
) -> sealpost_import::Result<Ready<'_>> {
    if Some(n) == fail {
        return Err(ImportError::Format(format!("message {n} is broken")));
    }
    let mut w = store.append_stream(account)?;
    w.write(&message(n))?;
    Ok((w.prepare()?, Placement::default()))
}

/// The subjects of the mailbox's messages, in UID order.
fn subjects(store: &Store, account: AccountId, mailbox: MailboxId) -> Vec<usize> {
    let snapshot = store.snapshot(account, mailbox).unwrap();
    snapshot
        .entries
        .iter()
        .map(|e| {
            let raw = store.read(account, mailbox, e.uid).unwrap().unwrap();
            let text = String::from_utf8_lossy(&raw);
            text["Subject: ".len()..text.find('\r').unwrap()]
                .parse()
                .unwrap()
        })
        .collect()
}

/// Blob files in the store (a message that was not committed leaves none).
fn blobs(dir: &Path) -> usize {
    fn count(dir: &Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    if e.path().is_dir() {
                        count(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
    }
    count(&dir.join("data/blobs"))
}

#[test]
fn messages_are_committed_in_the_source_order() {
    let dir = tempfile::tempdir().unwrap();
    let (store, account, inbox) = open(dir.path());
    let totals = Totals::default();
    let count = 3 * BATCH + 5;
    import_in_order(
        &store,
        inbox,
        &totals,
        |sender| {
            for n in 0..count {
                assert!(sender.send(n, 1000, n as u64 + 1));
            }
            Ok(())
        },
        |n| prepare(&store, account, n, None),
        &mut |_, _| Ok(()),
    )
    .unwrap();
    assert_eq!(
        subjects(&store, account, inbox),
        (0..count).collect::<Vec<_>>()
    );
    assert_eq!(Totals::get(&totals.messages), count as u64);
    assert_eq!(blobs(dir.path()), count);
}

/// Large messages: the producer waits on the window of octets, and the
/// batches are committed before they have their count of messages, so
/// the window opens again (it once waited for a batch that could not
/// fill).
#[test]
fn large_messages_fill_the_octet_window_and_still_go_through() {
    let dir = tempfile::tempdir().unwrap();
    let (store, account, inbox) = open(dir.path());
    let totals = Totals::default();
    let count = BATCH + 10;
    import_in_order(
        &store,
        inbox,
        &totals,
        |sender| {
            for n in 0..count {
                assert!(sender.send(n, WINDOW_OCTETS / 8, n as u64 + 1));
            }
            Ok(())
        },
        |n| prepare(&store, account, n, None),
        &mut |_, _| Ok(()),
    )
    .unwrap();
    assert_eq!(
        subjects(&store, account, inbox),
        (0..count).collect::<Vec<_>>()
    );
}

#[test]
fn a_message_failing_in_the_middle_of_a_batch_keeps_those_before_it_only() {
    let dir = tempfile::tempdir().unwrap();
    let (store, account, inbox) = open(dir.path());
    let totals = Totals::default();
    let broken = BATCH + BATCH / 2;
    let e = import_in_order(
        &store,
        inbox,
        &totals,
        |sender| {
            for n in 0..3 * BATCH {
                if !sender.send(n, 1000, n as u64 + 1) {
                    break;
                }
            }
            Ok(())
        },
        |n| prepare(&store, account, n, Some(broken)),
        &mut |_, _| Ok(()),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("message {broken} is broken")),
        "{e}"
    );
    assert_eq!(
        subjects(&store, account, inbox),
        (0..broken).collect::<Vec<_>>()
    );
    assert_eq!(Totals::get(&totals.messages), broken as u64);
    // What was ended after it was removed again.
    assert_eq!(blobs(dir.path()), broken);
}

#[test]
fn a_reader_failing_in_the_middle_of_a_batch_keeps_all_it_read() {
    let dir = tempfile::tempdir().unwrap();
    let (store, account, inbox) = open(dir.path());
    let totals = Totals::default();
    let read = BATCH + 10;
    let e = import_in_order(
        &store,
        inbox,
        &totals,
        |sender| {
            for n in 0..read {
                assert!(sender.send(n, 1000, n as u64 + 1));
            }
            Err(ImportError::Format("the file ends in the middle".into()))
        },
        |n| prepare(&store, account, n, None),
        &mut |_, _| Ok(()),
    )
    .unwrap_err();
    assert!(e.to_string().contains("ends in the middle"), "{e}");
    assert_eq!(
        subjects(&store, account, inbox),
        (0..read).collect::<Vec<_>>()
    );
    assert_eq!(blobs(dir.path()), read);
}
