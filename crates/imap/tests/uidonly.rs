//! Transcripts of UIDONLY (RFC 9586), against the real store and the
//! in-memory model: sequence numbers refused with `BAD [UIDREQUIRED]`,
//! UIDFETCH responses for the session's own commands and for other
//! sessions' changes, VANISHED instead of EXPUNGE.

#[macro_use]
mod common;
use common::*;

both_stores!(
    uidonly_is_advertised_and_enabled,
    sequence_numbers_are_refused,
    fetch_and_store_answer_with_uidfetch,
    other_sessions_changes_are_uidfetch_and_vanished,
);

const MSG: &str =
    "From: Carol <carol@example.net>\r\nTo: alice@example.org\r\nSubject: Lunch\r\n\r\nNoon?\r\n";

/// A session with UIDONLY on and INBOX selected, holding three messages
/// (UIDs 1-3, the first one expunged so UIDs and numbers differ).
async fn uidonly_session(w: &World) -> Client {
    let mut c = w.login().await;
    for _ in 0..4 {
        let line = format!("ap APPEND INBOX {{{}+}}\r\n{MSG}", MSG.len());
        let r = c.cmd(&line).await;
        assert!(r.last().unwrap().starts_with("ap OK"), "{r:?}");
    }
    let r = c.cmd("e ENABLE UIDONLY").await;
    assert_eq!(r, ["* ENABLED UIDONLY", "e OK ENABLE completed"]);
    let r = c.cmd("s SELECT INBOX").await;
    assert!(r.last().unwrap().starts_with("s OK"), "{r:?}");
    assert!(r.iter().all(|l| !l.contains("[UNSEEN")), "{r:?}");
    let r = c.cmd("d UID STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    assert!(r.last().unwrap().starts_with("d OK"), "{r:?}");
    let r = c.cmd("x EXPUNGE").await;
    assert_eq!(r, ["* VANISHED 1", "x OK EXPUNGE completed"]);
    c
}

async fn uidonly_is_advertised_and_enabled(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    let r = c.cmd("c CAPABILITY").await;
    assert!(r[0].split(' ').any(|cap| cap == "UIDONLY"), "{r:?}");
    // Before it is enabled, sequence numbers work as always.
    c.cmd("s SELECT INBOX").await;
    let r = c.cmd("f FETCH 1:* (FLAGS)").await;
    assert_eq!(r, ["f OK FETCH completed"]);
}

async fn sequence_numbers_are_refused(store: Backend) {
    let w = World::new(store);
    let mut c = uidonly_session(&w).await;
    for cmd in [
        "FETCH 1 (FLAGS)",
        "STORE 1 +FLAGS (\\Seen)",
        "COPY 1 Trash",
        "MOVE 1:* Trash",
        "SEARCH ALL",
        "UID SEARCH 1:2",
        "UID SEARCH OR SEEN NOT 2",
        "SORT (DATE) UTF-8 ALL",
        "UID THREAD REFERENCES UTF-8 1",
    ] {
        let r = c.cmd(&format!("b {cmd}")).await;
        assert_eq!(
            r,
            ["b BAD [UIDREQUIRED] Message sequence numbers are not allowed with UIDONLY"],
            "{cmd}"
        );
    }
    // Nothing was changed or copied by the refused commands.
    transcript(
        &mut c,
        r#"
        C: t STATUS Trash (MESSAGES)
        S: * STATUS "Trash" (MESSAGES 0)
        S: t OK STATUS completed
        C: u UID SEARCH UID 1:* UNSEEN
        S: * SEARCH 2 3 4
        S: u OK SEARCH completed
        "#,
    )
    .await;
}

async fn fetch_and_store_answer_with_uidfetch(store: Backend) {
    let w = World::new(store);
    let mut c = uidonly_session(&w).await;
    transcript(
        &mut c,
        r#"
        C: f1 UID FETCH 2:3 (FLAGS)
        S: * 2 UIDFETCH (FLAGS (\Recent))
        S: * 3 UIDFETCH (FLAGS (\Recent))
        S: f1 OK FETCH completed
        C: f2 UID FETCH 4 (UID RFC822.SIZE)
        S: * 4 UIDFETCH (UID 4 RFC822.SIZE 81)
        S: f2 OK FETCH completed
        C: s1 UID STORE 3 +FLAGS (\Flagged)
        S: * 3 UIDFETCH (FLAGS (\Flagged \Recent))
        S: s1 OK STORE completed
        C: m1 UID MOVE 2 Trash
        S: * OK [COPYUID ..] Moved
        S: * VANISHED 2
        S: m1 OK MOVE completed
        "#,
    )
    .await;
}

async fn other_sessions_changes_are_uidfetch_and_vanished(store: Backend) {
    let w = World::new(store);
    let mut c = uidonly_session(&w).await;
    let mut other = w.login().await;
    other.cmd("s SELECT INBOX").await;
    other.cmd("a UID STORE 3 +FLAGS.SILENT ($Work)").await;
    other.cmd("b UID STORE 4 +FLAGS.SILENT (\\Deleted)").await;
    other.cmd("c UID EXPUNGE 4").await;
    let r = c.cmd("n NOOP").await;
    assert_eq!(
        r,
        [
            "* VANISHED 4",
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted",
            "* 3 UIDFETCH (FLAGS (\\Recent $Work))",
            "n OK NOOP completed"
        ]
    );
}
