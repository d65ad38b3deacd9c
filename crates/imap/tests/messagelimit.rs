//! Transcripts of MESSAGELIMIT (RFC 9738) with a limit of 3, against the
//! real store and the in-memory model: UID forms act on the highest UIDs
//! and end `OK [MESSAGELIMIT 3 <lowest UID acted on>]`; sequence-number
//! forms, COPY and a too-large MULTIAPPEND are refused
//! `NO [MESSAGELIMIT 3]` having done nothing.

#[macro_use]
mod common;
use common::*;

both_stores!(
    advertised_with_the_configured_limit,
    uid_fetch_and_uid_store_do_the_highest_uids,
    sequence_number_forms_over_the_limit_do_nothing,
    uid_move_and_expunge_stop_at_the_limit_copy_is_refused,
    uid_search_examines_the_highest_uids,
    an_over_limit_uid_search_loads_only_its_share,
    multiappend_over_the_limit_is_refused,
    commands_outside_the_list_are_not_limited,
    a_saved_result_holds_only_what_was_searched,
);

const MSG: &str = "Subject: limit\r\n\r\nbody\r\n";

/// INBOX selected with five messages (UIDs 1-5) under a limit of 3.
async fn five_messages(w: &World) -> Client {
    let mut c = w.login().await;
    for _ in 0..5 {
        let r = c
            .cmd(&format!("ap APPEND INBOX {{{}+}}\r\n{MSG}", MSG.len()))
            .await;
        assert!(r.last().unwrap().starts_with("ap OK"), "{r:?}");
    }
    let r = c.cmd("s SELECT INBOX").await;
    assert!(r.last().unwrap().starts_with("s OK"), "{r:?}");
    c
}

fn limited(store: Backend) -> World {
    World::with_imap(store, "message_limit = 3")
}

async fn advertised_with_the_configured_limit(store: Backend) {
    let w = limited(store);
    let mut c = w.login().await;
    let r = c.cmd("c CAPABILITY").await;
    assert!(r[0].split(' ').any(|cap| cap == "MESSAGELIMIT=3"), "{r:?}");
    let w = World::new(store);
    let mut c = w.login().await;
    let r = c.cmd("c CAPABILITY").await;
    assert!(
        r[0].split(' ').any(|cap| cap == "MESSAGELIMIT=100000"),
        "{r:?}"
    );
}

async fn uid_fetch_and_uid_store_do_the_highest_uids(store: Backend) {
    let w = limited(store);
    let mut c = five_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: f1 UID FETCH 1:* (FLAGS)
        S: * 3 FETCH (UID 3 FLAGS (\Recent))
        S: * 4 FETCH (UID 4 FLAGS (\Recent))
        S: * 5 FETCH (UID 5 FLAGS (\Recent))
        S: f1 OK [MESSAGELIMIT 3 3] FETCH completed, last 3 messages only (MESSAGELIMIT): UIDs below 3 remain
        C: f2 UID FETCH 1:2 (FLAGS)
        S: * 1 FETCH (UID 1 FLAGS (\Recent))
        S: * 2 FETCH (UID 2 FLAGS (\Recent))
        S: f2 OK FETCH completed
        C: s1 UID STORE 1:4 +FLAGS.SILENT (\Seen)
        S: s1 OK [MESSAGELIMIT 3 2] ..
        C: f3 UID FETCH 1:5 (FLAGS) (PARTIAL 1:2)
        S: * 1 FETCH (UID 1 FLAGS (\Recent))
        S: * 2 FETCH (UID 2 FLAGS (\Seen \Recent))
        S: f3 OK FETCH completed
        "#,
    )
    .await;
}

async fn sequence_number_forms_over_the_limit_do_nothing(store: Backend) {
    let w = limited(store);
    let mut c = five_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: f1 FETCH 1:4 (UID)
        S: f1 NO [MESSAGELIMIT 3] More than 3 messages (MESSAGELIMIT): use UID commands or smaller sets
        C: s1 STORE 1:* +FLAGS (\Deleted)
        S: s1 NO [MESSAGELIMIT 3] ..
        C: c1 COPY 1:5 Trash
        S: c1 NO [MESSAGELIMIT 3] ..
        C: m1 MOVE 2:5 Trash
        S: m1 NO [MESSAGELIMIT 3] ..
        C: q1 SEARCH ALL
        S: q1 NO [MESSAGELIMIT 3] ..
        C: q2 SEARCH 2:4 UNDELETED
        S: * SEARCH 2 3 4
        S: q2 OK SEARCH completed
        C: f2 FETCH 3:5 (UID)
        S: * 3 FETCH (UID 3)
        S: * 4 FETCH (UID 4)
        S: * 5 FETCH (UID 5)
        S: f2 OK FETCH completed
        C: x1 UID SEARCH DELETED
        S: * SEARCH
        S: x1 OK [MESSAGELIMIT 3 3] ..
        "#,
    )
    .await;
}

async fn uid_move_and_expunge_stop_at_the_limit_copy_is_refused(store: Backend) {
    let w = limited(store);
    let mut c = five_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: c1 UID COPY 1:* Trash
        S: c1 NO [MESSAGELIMIT 3] ..
        C: d1 UID STORE 1:5 +FLAGS.SILENT (\Deleted)
        S: d1 OK [MESSAGELIMIT 3 3] ..
        C: d2 UID STORE 1:2 +FLAGS.SILENT (\Deleted)
        S: d2 OK STORE completed
        C: e1 UID EXPUNGE 1:5
        S: * 5 EXPUNGE
        S: * 4 EXPUNGE
        S: * 3 EXPUNGE
        S: e1 OK [MESSAGELIMIT 3 3] ..
        C: m1 UID MOVE 1:2 Trash
        S: * OK [COPYUID .. 1:2 1:2] ..
        S: * 2 EXPUNGE
        S: * 1 EXPUNGE
        S: m1 OK ..
        "#,
    )
    .await;
    let mut c = five_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: m2 UID MOVE 1:* Trash
        S: * OK [COPYUID .. 8:10 3:5] Moved
        S: * 5 EXPUNGE
        S: * 4 EXPUNGE
        S: * 3 EXPUNGE
        S: m2 OK [MESSAGELIMIT 3 8] ..
        "#,
    )
    .await;
}

async fn uid_search_examines_the_highest_uids(store: Backend) {
    let w = limited(store);
    let mut c = five_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: q1 UID SEARCH ALL
        S: * SEARCH 3 4 5
        S: q1 OK [MESSAGELIMIT 3 3] SEARCH completed, last 3 messages only (MESSAGELIMIT): UIDs below 3 remain
        C: q2 UID SEARCH UID 1:2 ALL
        S: * SEARCH 1 2
        S: q2 OK SEARCH completed
        C: q3 UID SEARCH RETURN (COUNT MIN) UID 1:4
        S: * ESEARCH (TAG "q3") UID MIN 2 COUNT 3
        S: q3 OK [MESSAGELIMIT 3 2] ..
        "#,
    )
    .await;
}

async fn multiappend_over_the_limit_is_refused(store: Backend) {
    let w = limited(store);
    let mut c = w.login().await;
    let one = format!("{{{}+}}\r\n{MSG}", MSG.len());
    let r = c
        .cmd(&format!("a1 APPEND INBOX {one} {one} {one} {one}"))
        .await;
    assert!(
        r.last().unwrap().starts_with("a1 NO [MESSAGELIMIT 3]"),
        "{r:?}"
    );
    let r = c.cmd("s1 STATUS INBOX (MESSAGES)").await;
    assert!(r[0].ends_with("(MESSAGES 0)"), "{r:?}");
    let r = c.cmd(&format!("a2 APPEND INBOX {one} {one} {one}")).await;
    assert!(r.last().unwrap().starts_with("a2 OK [APPENDUID"), "{r:?}");
}

async fn an_over_limit_uid_search_loads_only_its_share(store: Backend) {
    // INPROGRESS notes before each load show which messages were loaded.
    let w = World::with_imap(store, "message_limit = 3\nprogress_interval_ms = 0");
    let mut c = five_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: q1 UID SEARCH BODY body
        S: * OK [INPROGRESS ("q1" 2 5)] Still working
        S: * OK [INPROGRESS ("q1" 3 5)] Still working
        S: * OK [INPROGRESS ("q1" 4 5)] Still working
        S: * SEARCH 3 4 5
        S: q1 OK [MESSAGELIMIT 3 3] ..
        C: q2 UID SEARCH UID 1:2 BODY body
        S: * OK [INPROGRESS ("q2" 0 5)] Still working
        S: * OK [INPROGRESS ("q2" 1 5)] Still working
        S: * SEARCH 1 2
        S: q2 OK SEARCH completed
        "#,
    )
    .await;
}

/// RFC 9738's abstract names the commands limited: "FETCH, SEARCH, STORE,
/// COPY, or MOVE command (or their UID variants), or ... a single APPEND
/// or UID EXPUNGE command". EXPUNGE and CLOSE (which expunge every
/// `\Deleted` message), SORT, THREAD and STATUS are not among them and
/// act on all five messages under a limit of 3.
async fn commands_outside_the_list_are_not_limited(store: Backend) {
    let w = limited(store);
    let mut c = five_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: s1 UID SORT (ARRIVAL) US-ASCII ALL
        S: * SORT 1 2 3 4 5
        S: s1 OK SORT completed
        C: t1 UID THREAD ORDEREDSUBJECT US-ASCII ALL
        S: * THREAD ..
        S: t1 OK THREAD completed
        C: a1 STATUS INBOX (MESSAGES UNSEEN)
        S: * STATUS "INBOX" (MESSAGES 5 UNSEEN 5)
        S: a1 OK STATUS completed
        C: d1 UID STORE 1:2 +FLAGS.SILENT (\Deleted)
        S: d1 OK STORE completed
        C: d2 UID STORE 3:5 +FLAGS.SILENT (\Deleted)
        S: d2 OK STORE completed
        C: e1 EXPUNGE
        S: * 5 EXPUNGE
        S: * 4 EXPUNGE
        S: * 3 EXPUNGE
        S: * 2 EXPUNGE
        S: * 1 EXPUNGE
        S: e1 OK EXPUNGE completed
        "#,
    )
    .await;
    let mut c = five_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: d1 UID STORE 6:7 +FLAGS.SILENT (\Deleted)
        S: d1 OK STORE completed
        C: d2 UID STORE 8:10 +FLAGS.SILENT (\Deleted)
        S: d2 OK STORE completed
        C: c1 CLOSE
        S: c1 OK CLOSE completed
        C: a1 STATUS INBOX (MESSAGES)
        S: * STATUS "INBOX" (MESSAGES 0)
        S: a1 OK STATUS completed
        "#,
    )
    .await;
}

/// SEARCHRES (RFC 5182) under the limit: `$` holds what the limited
/// search found, the highest UIDs only (the draft authors' IETF 117
/// slides: "The value stored in $ is truncated").
async fn a_saved_result_holds_only_what_was_searched(store: Backend) {
    let w = limited(store);
    let mut c = five_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: q1 UID SEARCH RETURN (SAVE) ALL
        S: q1 OK [MESSAGELIMIT 3 3] ..
        C: f1 UID FETCH $ (FLAGS)
        S: * 3 FETCH (UID 3 FLAGS (\Recent))
        S: * 4 FETCH (UID 4 FLAGS (\Recent))
        S: * 5 FETCH (UID 5 FLAGS (\Recent))
        S: f1 OK FETCH completed
        "#,
    )
    .await;
}
