//! Transcripts of a large EXPUNGE and UID EXPUNGE, removed in batches of
//! 256 with INPROGRESS notes (RFC 9585) between them when they are due:
//! every `\Deleted` message goes, nothing else, each announced once.
//! Against the real store and the in-memory model.

#[macro_use]
mod common;
use common::*;

both_stores!(
    expunge_reports_progress_per_batch,
    uid_expunge_reports_progress_and_keeps_the_rest,
    no_notes_within_the_interval,
);

const MSG: &str = "Subject: bulk\r\n\r\nx\r\n";

/// INBOX with `n` messages, selected.
async fn bulk(w: &World, n: usize) -> Client {
    let mut c = w.login().await;
    let one = format!(" {{{}+}}\r\n{MSG}", MSG.len());
    let r = c.cmd(&format!("a APPEND INBOX{}", one.repeat(n))).await;
    assert!(r.last().unwrap().starts_with("a OK"), "{r:?}");
    let r = c.cmd("s SELECT INBOX").await;
    assert!(r.last().unwrap().starts_with("s OK"), "{r:?}");
    c
}

fn notes(r: &[String]) -> Vec<&str> {
    r.iter()
        .filter(|l| l.contains("[INPROGRESS"))
        .map(String::as_str)
        .collect()
}

async fn expunge_reports_progress_per_batch(store: Backend) {
    let w = World::with_imap(store, "progress_interval_ms = 0");
    let mut c = bulk(&w, 601).await;
    let r = c.cmd("d STORE 2:601 +FLAGS.SILENT (\\Deleted)").await;
    assert!(r.last().unwrap().starts_with("d OK"), "{r:?}");
    let r = c.cmd("e EXPUNGE").await;
    assert_eq!(
        notes(&r),
        [
            "* OK [INPROGRESS (\"e\" 0 600)] Still working",
            "* OK [INPROGRESS (\"e\" 256 600)] Still working",
            "* OK [INPROGRESS (\"e\" 512 600)] Still working",
        ]
    );
    let expunges = r.iter().filter(|l| l.ends_with(" EXPUNGE")).count();
    assert_eq!(expunges, 600, "{:?}", &r[r.len() - 3..]);
    assert_eq!(r.last().unwrap(), "e OK EXPUNGE completed");
    let r = c.cmd("f UID FETCH 1:* FLAGS").await;
    assert_eq!(r[0], "* 1 FETCH (UID 1 FLAGS (\\Recent))", "{r:?}");
    assert_eq!(r.len(), 2, "{r:?}");
}

async fn uid_expunge_reports_progress_and_keeps_the_rest(store: Backend) {
    let w = World::with_imap(store, "progress_interval_ms = 0");
    let mut c = bulk(&w, 400).await;
    // 300 is not \Deleted: UID EXPUNGE leaves it.
    let r = c.cmd("d STORE 1:400 +FLAGS.SILENT (\\Deleted)").await;
    assert!(r.last().unwrap().starts_with("d OK"), "{r:?}");
    let r = c.cmd("u UID STORE 300 -FLAGS.SILENT (\\Deleted)").await;
    assert!(r.last().unwrap().starts_with("u OK"), "{r:?}");
    let r = c.cmd("e UID EXPUNGE 101:400").await;
    assert_eq!(
        notes(&r),
        [
            "* OK [INPROGRESS (\"e\" 0 300)] Still working",
            "* OK [INPROGRESS (\"e\" 256 300)] Still working",
        ]
    );
    let expunges = r.iter().filter(|l| l.ends_with(" EXPUNGE")).count();
    assert_eq!(expunges, 299);
    assert!(r.last().unwrap().starts_with("e OK"), "{r:?}");
    let r = c.cmd("s STATUS INBOX (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"INBOX\" (MESSAGES 101)");
}

async fn no_notes_within_the_interval(store: Backend) {
    let w = World::new(store);
    let mut c = bulk(&w, 300).await;
    let r = c.cmd("d STORE 1:* +FLAGS.SILENT (\\Deleted)").await;
    assert!(r.last().unwrap().starts_with("d OK"), "{r:?}");
    let r = c.cmd("e EXPUNGE").await;
    assert!(notes(&r).is_empty(), "{r:?}");
    assert_eq!(r.len(), 301);
    let r = c.cmd("s STATUS INBOX (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"INBOX\" (MESSAGES 0)");
}
