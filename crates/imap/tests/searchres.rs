//! C:/S: transcripts of SEARCHRES (RFC 5182, part of IMAP4rev2 as RFC 9051
//! 6.4.4.1): `SEARCH RETURN (SAVE)` and `$` in FETCH, STORE, COPY, MOVE,
//! SEARCH, EXPUNGE and their UID forms; `$` is reset by SELECT/UNSELECT
//! and loses expunged messages.

#[macro_use]
mod common;
use common::*;

both_stores!(
    searchres_is_advertised,
    save_alone_answers_nothing_and_dollar_names_the_result,
    dollar_in_store_copy_and_move,
    min_max_save_only_the_ends_and_all_or_count_save_everything,
    select_and_unselect_reset_the_saved_result,
    expunged_messages_leave_the_saved_result,
    pipelined_save_then_use,
    imap4rev2_uses_searchres_without_enabling_it,
);

/// alice's INBOX with five messages; messages 2 and 4 are \Flagged.
async fn five(w: &World) -> Client {
    let mut c = w.login().await;
    for i in 1..=5 {
        let flags = if i % 2 == 0 { "(\\Flagged) " } else { "" };
        let body = format!("Subject: m{i}\r\n\r\nbody {i}\r\n");
        let r = c
            .cmd(&format!(
                "a APPEND INBOX {flags}{{{}+}}\r\n{body}",
                body.len()
            ))
            .await;
        assert!(r.last().unwrap().starts_with("a OK"), "{r:?}");
    }
    let r = c.cmd("s SELECT INBOX").await;
    assert!(r.last().unwrap().starts_with("s OK"), "{r:?}");
    c
}

async fn searchres_is_advertised(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    let r = c.cmd("c CAPABILITY").await;
    assert!(r[0].split(' ').any(|cap| cap == "SEARCHRES"), "{r:?}");
}

async fn save_alone_answers_nothing_and_dollar_names_the_result(store: Backend) {
    let w = World::new(store);
    let mut c = five(&w).await;
    transcript(
        &mut c,
        r#"
        C: s1 SEARCH RETURN (SAVE) FLAGGED
        S: s1 OK SEARCH completed, result saved
        C: s2 FETCH $ (UID)
        S: * 2 FETCH (UID 2)
        S: * 4 FETCH (UID 4)
        S: s2 OK FETCH completed
        C: s3 UID FETCH $ (FLAGS)
        S: * 2 FETCH (UID 2 FLAGS (\Flagged \Recent))
        S: * 4 FETCH (UID 4 FLAGS (\Flagged \Recent))
        S: s3 OK FETCH completed
        C: s4 SEARCH $
        S: * SEARCH 2 4
        S: s4 OK SEARCH completed
        C: s5 UID SEARCH UID $ NOT 4
        S: * SEARCH 2
        S: s5 OK SEARCH completed
        C: s6 SEARCH OR $ 5
        S: * SEARCH 2 4 5
        S: s6 OK SEARCH completed
        "#,
    )
    .await;
}

async fn dollar_in_store_copy_and_move(store: Backend) {
    let w = World::new(store);
    let mut c = five(&w).await;
    transcript(
        &mut c,
        r#"
        C: d1 UID SEARCH RETURN (SAVE) UID 3:5
        S: d1 OK ..
        C: d2 STORE $ +FLAGS.SILENT (\Seen)
        S: d2 OK STORE completed
        C: d3 SEARCH SEEN
        S: * SEARCH 3 4 5
        S: d3 OK ..
        C: d4 UID STORE $ FLAGS (\Answered)
        S: * 3 FETCH (UID 3 FLAGS (\Answered \Recent))
        S: * 4 FETCH (UID 4 FLAGS (\Answered \Recent))
        S: * 5 FETCH (UID 5 FLAGS (\Answered \Recent))
        S: d4 OK STORE completed
        C: d5 COPY $ Archive
        S: d5 OK [COPYUID .. 3:5 1:3] COPY completed
        C: d6 UID COPY $ Archive
        S: d6 OK [COPYUID .. 3:5 4:6] COPY completed
        C: d7 MOVE $ Trash
        S: * OK [COPYUID .. 3:5 1:3] Moved
        S: * 5 EXPUNGE
        S: * 4 EXPUNGE
        S: * 3 EXPUNGE
        S: d7 OK MOVE completed
        C: d8 FETCH $ (UID)
        S: d8 OK FETCH completed
        C: d9 STATUS Trash (MESSAGES)
        S: * STATUS "Trash" (MESSAGES 3)
        S: d9 OK ..
        "#,
    )
    .await;
}

async fn min_max_save_only_the_ends_and_all_or_count_save_everything(store: Backend) {
    let w = World::new(store);
    let mut c = five(&w).await;
    transcript(
        &mut c,
        r#"
        C: m1 SEARCH RETURN (SAVE MIN MAX) 2:5
        S: * ESEARCH (TAG "m1") MIN 2 MAX 5
        S: m1 OK ..
        C: m2 FETCH $ (UID)
        S: * 2 FETCH (UID 2)
        S: * 5 FETCH (UID 5)
        S: m2 OK ..
        C: m3 SEARCH RETURN (MAX SAVE) UNFLAGGED
        S: * ESEARCH (TAG "m3") MAX 5
        S: m3 OK ..
        C: m4 UID FETCH $ (UID)
        S: * 5 FETCH (UID 5)
        S: m4 OK ..
        C: m5 SEARCH RETURN (SAVE MIN COUNT) UNFLAGGED
        S: * ESEARCH (TAG "m5") MIN 1 COUNT 3
        S: m5 OK ..
        C: m6 FETCH $ (UID)
        S: * 1 FETCH (UID 1)
        S: * 3 FETCH (UID 3)
        S: * 5 FETCH (UID 5)
        S: m6 OK ..
        C: m7 UID SEARCH RETURN (SAVE ALL) FLAGGED
        S: * ESEARCH (TAG "m7") UID ALL 2,4
        S: m7 OK ..
        C: m8 SEARCH $
        S: * SEARCH 2 4
        S: m8 OK ..
        C: m9 SEARCH RETURN (SAVE) DELETED
        S: m9 OK ..
        C: m10 FETCH $ (UID)
        S: m10 OK FETCH completed
        "#,
    )
    .await;
}

async fn select_and_unselect_reset_the_saved_result(store: Backend) {
    let w = World::new(store);
    let mut c = five(&w).await;
    c.cmd("r1 SEARCH RETURN (SAVE) ALL").await;
    let r = c.cmd("r2 FETCH $ (UID)").await;
    assert_eq!(r.len(), 6, "{r:?}");
    // Reselecting the same mailbox starts with an empty `$`.
    c.cmd("r3 SELECT INBOX").await;
    assert_eq!(
        c.cmd("r4 FETCH $ (UID)").await,
        vec!["r4 OK FETCH completed"]
    );
    c.cmd("r5 SEARCH RETURN (SAVE) ALL").await;
    assert_eq!(c.cmd("r6 UNSELECT").await, vec!["r6 OK UNSELECT completed"]);
    c.cmd("r7 EXAMINE INBOX").await;
    assert_eq!(
        c.cmd("r8 UID FETCH $ (UID)").await,
        vec!["r8 OK FETCH completed"]
    );
    // `$` outside the selected state is the state error, not a crash.
    c.cmd("r9 CLOSE").await;
    let r = c.cmd("r10 FETCH $ (UID)").await;
    assert!(r[0].starts_with("r10 BAD"), "{r:?}");
}

async fn expunged_messages_leave_the_saved_result(store: Backend) {
    let w = World::new(store);
    let mut c = five(&w).await;
    let mut other = w.login().await;
    other.cmd("o SELECT INBOX").await;
    transcript(
        &mut c,
        r#"
        C: x1 SEARCH RETURN (SAVE) 2:4
        S: x1 OK ..
        C: x2 STORE 3 +FLAGS.SILENT (\Deleted)
        S: x2 OK ..
        C: x3 EXPUNGE
        S: * 3 EXPUNGE
        S: x3 OK EXPUNGE completed
        C: x4 UID FETCH $ (UID)
        S: * 2 FETCH (UID 2)
        S: * 3 FETCH (UID 4)
        S: x4 OK ..
        "#,
    )
    .await;
    // Another session expunges UID 4: once announced, `$` holds only UID 2.
    other.cmd("o1 UID STORE 4 +FLAGS.SILENT (\\Deleted)").await;
    other.cmd("o2 EXPUNGE").await;
    transcript(
        &mut c,
        r#"
        C: x5 NOOP
        S: * 3 EXPUNGE
        S: x5 OK NOOP completed
        C: x6 FETCH $ (UID)
        S: * 2 FETCH (UID 2)
        S: x6 OK ..
        C: x7 UID EXPUNGE $
        S: x7 OK EXPUNGE completed
        C: x8 STORE $ +FLAGS.SILENT (\Deleted)
        S: x8 OK ..
        C: x9 UID EXPUNGE $
        S: * 2 EXPUNGE
        S: x9 OK EXPUNGE completed
        C: x10 FETCH 1:* (UID)
        S: * 1 FETCH (UID 1)
        S: * 2 FETCH (UID 5)
        S: x10 OK ..
        "#,
    )
    .await;
}

async fn pipelined_save_then_use(store: Backend) {
    // RFC 5182 2.2: a client may send SEARCH (SAVE) and the commands
    // using `$` without waiting.
    let w = World::new(store);
    let mut c = five(&w).await;
    c.send(b"p1 SEARCH RETURN (SAVE) FLAGGED\r\np2 FETCH $ (UID)\r\np3 SEARCH RETURN (SAVE) 1\r\np4 FETCH $ (UID)\r\n")
        .await;
    let r = c.until_tagged("p4").await;
    assert_eq!(
        r,
        vec![
            "p1 OK SEARCH completed, result saved",
            "* 2 FETCH (UID 2)",
            "* 4 FETCH (UID 4)",
            "p2 OK FETCH completed",
            "p3 OK SEARCH completed, result saved",
            "* 1 FETCH (UID 1)",
            "p4 OK FETCH completed",
        ]
    );
}

async fn imap4rev2_uses_searchres_without_enabling_it(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    c.cmd("e ENABLE IMAP4rev2").await;
    for i in 1..=3 {
        let body = format!("Subject: r{i}\r\n\r\nx\r\n");
        c.cmd(&format!("a APPEND INBOX {{{}+}}\r\n{body}", body.len()))
            .await;
    }
    c.cmd("s SELECT INBOX").await;
    transcript(
        &mut c,
        r#"
        C: v1 SEARCH RETURN (SAVE) SUBJECT r2
        S: v1 OK ..
        C: v2 SEARCH $
        S: * ESEARCH (TAG "v2") ALL 2
        S: v2 OK ..
        "#,
    )
    .await;
}
