//! Pipelined commands (RFC 9051 5.5) and `imap.max_in_flight`: commands
//! read together run in order and their responses go out in one write per
//! `max_in_flight` commands.

#[macro_use]
mod common;
use common::*;

both_stores!(
    responses_of_pipelined_commands_go_out_in_batches_of_max_in_flight,
    max_in_flight_one_or_zero_answers_each_command_on_its_own,
    a_continuation_is_sent_at_once_inside_a_batch,
    pipelined_appends_with_literal_plus_all_land,
);
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Sends `n` NOOPs in one write and returns how many writes (flushes) the
/// server made to answer them, checking every answer and its order.
async fn flushes_for(store: Backend, imap_toml: &str, n: usize) -> usize {
    let w = World::with_imap(store, imap_toml);
    let flushes = Arc::new(AtomicUsize::new(0));
    let mut c = w.connect_counting(true, flushes.clone()).await;
    let r = c.cmd(&format!("L LOGIN {USER} \"{PASS}\"")).await;
    assert!(r[0].starts_with("L OK"), "{r:?}");
    let before = flushes.load(Ordering::SeqCst);
    let batch: String = (0..n).map(|i| format!("n{i} NOOP\r\n")).collect();
    c.send(batch.as_bytes()).await;
    let r = c.until_tagged(&format!("n{}", n - 1)).await;
    let expected: Vec<String> = (0..n).map(|i| format!("n{i} OK NOOP completed")).collect();
    assert_eq!(r, expected);
    // The session goes on after the batch.
    assert_eq!(c.cmd("z NOOP").await, vec!["z OK NOOP completed"]);
    flushes.load(Ordering::SeqCst) - before - 1
}

async fn responses_of_pipelined_commands_go_out_in_batches_of_max_in_flight(store: Backend) {
    assert_eq!(flushes_for(store, "max_in_flight = 4", 12).await, 3);
    assert_eq!(flushes_for(store, "max_in_flight = 5", 12).await, 3);
    assert_eq!(flushes_for(store, "max_in_flight = 64", 12).await, 1);
}

async fn max_in_flight_one_or_zero_answers_each_command_on_its_own(store: Backend) {
    assert_eq!(flushes_for(store, "max_in_flight = 1", 12).await, 12);
    assert_eq!(flushes_for(store, "max_in_flight = 0", 12).await, 12);
}

async fn a_continuation_is_sent_at_once_inside_a_batch(store: Backend) {
    // The `+` for a synchronizing literal must not wait for the batch: the
    // client sends nothing more until it comes.
    let w = World::with_imap(store, "max_in_flight = 64");
    let mut c = w.login().await;
    c.send(b"a1 NOOP\r\na2 CREATE {4}\r\n").await;
    assert_eq!(c.line().await, "a1 OK NOOP completed");
    assert_eq!(c.line().await, "+ Ready for literal data");
    c.send(b"Work\r\n").await;
    let created = c.line().await;
    assert!(
        glob("a2 OK [MAILBOXID (F..)] CREATE completed", &created),
        "{created}"
    );
    // ...and so is IDLE's.
    c.send(b"i1 NOOP\r\ni2 IDLE\r\n").await;
    assert_eq!(c.line().await, "i1 OK NOOP completed");
    assert_eq!(c.line().await, "+ idling");
    c.send(b"DONE\r\n").await;
    assert_eq!(c.line().await, "i2 OK IDLE terminated");
}

async fn pipelined_appends_with_literal_plus_all_land(store: Backend) {
    let w = World::with_imap(store, "max_in_flight = 8");
    let mut c = w.login().await;
    let mut batch = Vec::new();
    for i in 0..50 {
        let body = format!("Subject: p{i}\r\n\r\nbody {i}\r\n");
        batch.extend_from_slice(
            format!("p{i} APPEND INBOX {{{}+}}\r\n{body}\r\n", body.len()).as_bytes(),
        );
    }
    c.send(&batch).await;
    let r = c.until_tagged("p49").await;
    assert_eq!(r.len(), 50, "{r:?}");
    for (i, l) in r.iter().enumerate() {
        assert!(
            l.starts_with(&format!("p{i} OK [APPENDUID ")) && l.contains(&format!(" {}] ", i + 1)),
            "{l}"
        );
    }
    let r = c.cmd("s STATUS INBOX (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"INBOX\" (MESSAGES 50)");
}
