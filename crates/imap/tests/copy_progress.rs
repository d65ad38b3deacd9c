//! Transcripts of a large COPY and MOVE, done in batches of 256 with
//! INPROGRESS notes (RFC 9585) between them when they are due, as
//! EXPUNGE is: one COPYUID for the whole set, every message once; a COPY
//! that fails part way leaves the destination as it was (RFC 9051
//! 6.4.7). Against the real store and the in-memory model.

#[macro_use]
mod common;
use common::*;

both_stores!(
    copy_reports_progress_per_batch,
    move_reports_progress_and_expunges_every_message,
    a_failed_copy_leaves_the_destination_as_it_was,
    no_notes_within_the_interval,
);

const MSG: &str = "Subject: bulk\r\n\r\nx\r\n";

/// INBOX with `n` messages, selected, and an empty Dest.
async fn bulk(w: &World, n: usize) -> Client {
    let mut c = w.login().await;
    let one = format!(" {{{}+}}\r\n{MSG}", MSG.len());
    let r = c.cmd(&format!("a APPEND INBOX{}", one.repeat(n))).await;
    assert!(r.last().unwrap().starts_with("a OK"), "{r:?}");
    let r = c.cmd("c CREATE Dest").await;
    assert!(r.last().unwrap().starts_with("c OK"), "{r:?}");
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

async fn messages(c: &mut Client, mailbox: &str) -> String {
    let r = c.cmd(&format!("t STATUS {mailbox} (MESSAGES)")).await;
    r[0].clone()
}

async fn copy_reports_progress_per_batch(store: Backend) {
    let w = World::with_imap(store, "progress_interval_ms = 0");
    let mut c = bulk(&w, 600).await;
    let r = c.cmd("c COPY 1:600 Dest").await;
    assert_eq!(
        notes(&r),
        [
            "* OK [INPROGRESS (\"c\" 0 600)] Still working",
            "* OK [INPROGRESS (\"c\" 256 600)] Still working",
            "* OK [INPROGRESS (\"c\" 512 600)] Still working",
        ]
    );
    assert!(
        glob(
            "c OK [COPYUID .. 1:600 1:600] COPY completed",
            r.last().unwrap()
        ),
        "{r:?}"
    );
    assert_eq!(
        messages(&mut c, "Dest").await,
        "* STATUS \"Dest\" (MESSAGES 600)"
    );
    assert_eq!(
        messages(&mut c, "INBOX").await,
        "* STATUS \"INBOX\" (MESSAGES 600)"
    );
}

async fn move_reports_progress_and_expunges_every_message(store: Backend) {
    let w = World::with_imap(store, "progress_interval_ms = 0");
    let mut c = bulk(&w, 300).await;
    let r = c.cmd("m UID MOVE 1:* Dest").await;
    assert_eq!(
        notes(&r),
        [
            "* OK [INPROGRESS (\"m\" 0 300)] Still working",
            "* OK [INPROGRESS (\"m\" 256 300)] Still working",
        ]
    );
    let copyuid: Vec<&String> = r.iter().filter(|l| l.contains("[COPYUID")).collect();
    assert_eq!(copyuid.len(), 1, "{r:?}");
    assert!(
        glob("* OK [COPYUID .. 1:300 1:300] Moved", copyuid[0]),
        "{r:?}"
    );
    let expunges = r.iter().filter(|l| l.ends_with(" EXPUNGE")).count();
    assert_eq!(expunges, 300);
    assert_eq!(r.last().unwrap(), "m OK MOVE completed");
    assert_eq!(
        messages(&mut c, "Dest").await,
        "* STATUS \"Dest\" (MESSAGES 300)"
    );
    assert_eq!(
        messages(&mut c, "INBOX").await,
        "* STATUS \"INBOX\" (MESSAGES 0)"
    );
}

async fn a_failed_copy_leaves_the_destination_as_it_was(store: Backend) {
    // Room for the 400 messages and about 300 more: the second batch of
    // the COPY goes over the quota.
    let size = MSG.len() as u64;
    let w = World::build(
        store,
        Setup {
            imap_toml: "progress_interval_ms = 0",
            alice_quota: Some(700 * size),
            ..Setup::default()
        },
    );
    let mut c = bulk(&w, 400).await;
    let r = c.cmd("c COPY 1:400 Dest").await;
    assert_eq!(notes(&r).len(), 2, "{r:?}");
    assert!(r.last().unwrap().starts_with("c NO [OVERQUOTA]"), "{r:?}");
    assert_eq!(
        messages(&mut c, "Dest").await,
        "* STATUS \"Dest\" (MESSAGES 0)"
    );
    // The room the first batch took is free again.
    let r = c.cmd("c COPY 1:250 Dest").await;
    assert!(r.last().unwrap().starts_with("c OK"), "{r:?}");
}

async fn no_notes_within_the_interval(store: Backend) {
    let w = World::new(store);
    let mut c = bulk(&w, 300).await;
    let r = c.cmd("c COPY 1:* Dest").await;
    assert!(notes(&r).is_empty(), "{r:?}");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        messages(&mut c, "Dest").await,
        "* STATUS \"Dest\" (MESSAGES 300)"
    );
}
