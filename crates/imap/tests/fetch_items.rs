//! C:/S: transcripts of FETCH items and selected-state commands not
//! covered elsewhere: PREVIEW with other items, SAVEDATE (RFC 8514),
//! RFC822, RFC822.TEXT, RFC822.HEADER, BINARY[] content, BINARY.SIZE and
//! literal8 (RFC 3516), CHECK, UNSELECT versus CLOSE, UID COPY, UID
//! THREAD, STORE FLAGS (replace).

#[macro_use]
mod common;
use common::*;

both_stores!(
    preview_with_other_items,
    savedate_is_when_the_message_was_saved,
    rfc822_items,
    binary_decodes_the_content_transfer_encoding,
    check_unselect_and_close,
    uid_copy_uid_thread_and_store_replace,
);

const PLAIN: &str = "From: Carol <carol@example.net>\r\nSubject: Lunch\r\nMessage-ID: <1@example.net>\r\n\r\nShall we meet at noon?\r\n";
/// Part 2 is base64 of 00 01 02 03 04 "hello".
const MIXED: &str = "From: dave@example.com\r\nSubject: Attachment\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwRoZWxsbw==\r\n--b--\r\n";
const ODD_CTE: &str = "From: erin@example.com\r\nSubject: Odd\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-frob\r\n\r\nabc\r\n";

async fn three(w: &World) -> Client {
    let mut c = w.login().await;
    for msg in [PLAIN, MIXED, ODD_CTE] {
        let r = c
            .cmd(&format!("a APPEND INBOX {{{}+}}\r\n{msg}", msg.len()))
            .await;
        assert!(r[0].starts_with("a OK [APPENDUID"), "{r:?}");
    }
    c.cmd("s SELECT INBOX").await;
    c
}

async fn preview_with_other_items(store: Backend) {
    let w = World::new(store);
    let mut c = three(&w).await;
    transcript(
        &mut c,
        r#"
        C: p1 FETCH 1 (PREVIEW FLAGS)
        S: * 1 FETCH (PREVIEW "Shall we meet at noon?" FLAGS (\Recent))
        S: p1 OK FETCH completed
        C: p2 FETCH 1 (PREVIEW (LAZY) UID)
        S: * 1 FETCH (PREVIEW "Shall we meet at noon?" UID 1)
        S: p2 OK FETCH completed
        C: p3 UID FETCH 1 (FLAGS PREVIEW)
        S: * 1 FETCH (UID 1 FLAGS (\Recent) PREVIEW "Shall we meet at noon?")
        S: p3 OK FETCH completed
        "#,
    )
    .await;
}

async fn savedate_is_when_the_message_was_saved(store: Backend) {
    let w = World::new(store);
    let day = || chrono::Utc::now().format("%d-%b-%Y").to_string();
    let before = day();
    let mut c = three(&w).await;
    let r = c.cmd("d1 FETCH 1 (SAVEDATE INTERNALDATE)").await;
    let after = day();
    // Saved between `before` and `after` (the same day but at midnight).
    let saved = [&before, &after]
        .into_iter()
        .find(|d| {
            glob(
                &format!("* 1 FETCH (SAVEDATE \"{d} .. +0000\" INTERNALDATE \"..\")"),
                &r[0],
            )
        })
        .unwrap_or_else(|| panic!("{r:?}"));
    // A copy is saved anew; SEARCH SAVEDON finds it, SAVEDBEFORE does not.
    c.cmd("d2 COPY 1 Archive").await;
    c.cmd("d3 EXAMINE Archive").await;
    let r = c.cmd("d4 FETCH 1 (SAVEDATE)").await;
    assert!(
        glob("* 1 FETCH (SAVEDATE \"..-..-.. ..:..:.. +0000\")", &r[0]),
        "{r:?}"
    );
    let r = c
        .cmd("d5 SEARCH SAVEDATESUPPORTED SAVEDSINCE 1-Jan-2000")
        .await;
    assert_eq!(r[0], "* SEARCH 1");
    let r = c
        .cmd(&format!(
            "d6 SEARCH OR SAVEDON {saved} SAVEDON {day}",
            day = day()
        ))
        .await;
    assert_eq!(r[0], "* SEARCH 1");
    let r = c.cmd("d7 SEARCH SAVEDBEFORE 1-Jan-2000").await;
    assert_eq!(r[0], "* SEARCH");
}

async fn rfc822_items(store: Backend) {
    let w = World::new(store);
    let mut c = three(&w).await;
    let header = &PLAIN[..PLAIN.find("\r\n\r\n").unwrap() + 4];
    let text = &PLAIN[header.len()..];
    let r = c.cmd("r1 FETCH 1 (RFC822.HEADER)").await;
    assert_eq!(
        r[0],
        format!("* 1 FETCH (RFC822.HEADER {{{}}}\r\n{header})", header.len())
    );
    // RFC822.HEADER is a peek; RFC822.TEXT and RFC822 set \Seen.
    let r = c.cmd("r2 FETCH 1 (FLAGS)").await;
    assert_eq!(r[0], "* 1 FETCH (FLAGS (\\Recent))");
    let r = c.cmd("r3 FETCH 1 (RFC822.TEXT)").await;
    assert_eq!(
        r[0],
        format!(
            "* 1 FETCH (RFC822.TEXT {{{}}}\r\n{text} FLAGS (\\Seen \\Recent))",
            text.len()
        )
    );
    let r = c.cmd("r4 FETCH 2 (RFC822 FLAGS)").await;
    assert_eq!(
        r[0],
        format!(
            "* 2 FETCH (RFC822 {{{}}}\r\n{MIXED} FLAGS (\\Seen \\Recent))",
            MIXED.len()
        )
    );
    let r = c.cmd("r5 FETCH 1:2 (RFC822.SIZE)").await;
    assert_eq!(r[0], format!("* 1 FETCH (RFC822.SIZE {})", PLAIN.len()));
    assert_eq!(r[1], format!("* 2 FETCH (RFC822.SIZE {})", MIXED.len()));
}

async fn binary_decodes_the_content_transfer_encoding(store: Backend) {
    let w = World::new(store);
    let mut c = three(&w).await;
    // Decoded bytes with NULs come as a literal8 (RFC 3516 4.3).
    let r = c.cmd("b1 FETCH 2 (BINARY.PEEK[2] BINARY.SIZE[2])").await;
    assert_eq!(
        r[0],
        "* 2 FETCH (BINARY[2] ~{10}\r\n\u{0}\u{1}\u{2}\u{3}\u{4}hello BINARY.SIZE[2] 10)"
    );
    let r = c.cmd("b2 FETCH 2 (BINARY.PEEK[2]<5.5>)").await;
    assert_eq!(r[0], "* 2 FETCH (BINARY[2]<5> {5}\r\nhello)");
    let r = c.cmd("b3 FETCH 2 (BINARY.PEEK[1])").await;
    // The CRLF before the boundary belongs to the boundary (RFC 2046 5.1.1).
    assert_eq!(r[0], "* 2 FETCH (BINARY[1] {12}\r\nsee attached)");
    let r = c.cmd("b4 FETCH 1 (BINARY.PEEK[])").await;
    assert_eq!(
        r[0],
        format!("* 1 FETCH (BINARY[] {{{}}}\r\n{PLAIN})", PLAIN.len())
    );
    let r = c.cmd("b5 FETCH 2 (BINARY.PEEK[9])").await;
    assert_eq!(r[0], "* 2 FETCH (BINARY[9] NIL)");
    // The peek set no \Seen; BINARY without PEEK does.
    let r = c.cmd("b6 FETCH 2 (FLAGS)").await;
    assert_eq!(r[0], "* 2 FETCH (FLAGS (\\Recent))");
    let r = c.cmd("b7 FETCH 2 (BINARY[1])").await;
    assert!(r[0].ends_with(" FLAGS (\\Seen \\Recent))"), "{r:?}");
    // An encoding nobody knows: NO [UNKNOWN-CTE], the session goes on.
    let r = c.cmd("b8 FETCH 3 (BINARY.PEEK[1])").await;
    assert_eq!(r[0], "* 3 FETCH (BINARY[1] NIL)");
    assert!(r[1].starts_with("b8 NO [UNKNOWN-CTE]"), "{r:?}");
    let r = c.cmd("b9 FETCH 3 (BODY.PEEK[1])").await;
    assert_eq!(r[0], "* 3 FETCH (BODY[1] {5}\r\nabc\r\n)");
}

async fn check_unselect_and_close(store: Backend) {
    let w = World::new(store);
    let mut c = three(&w).await;
    transcript(
        &mut c,
        r#"
        C: k1 CHECK
        S: k1 OK CHECK completed
        C: k2 STORE 1 +FLAGS.SILENT (\Deleted)
        S: k2 OK STORE completed
        C: k3 UNSELECT
        S: k3 OK UNSELECT completed
        C: k4 CHECK
        S: k4 BAD Command not valid in this state
        C: k5 STATUS INBOX (MESSAGES DELETED)
        S: * STATUS "INBOX" (MESSAGES 3 DELETED 1)
        S: k5 OK ..
        C: k6 EXAMINE INBOX
        S: * FLAGS ..
        S: * 3 EXISTS
        S: * 0 RECENT
        S: * OK [UNSEEN 1] ..
        S: * OK [PERMANENTFLAGS ()] ..
        S: * OK [UIDVALIDITY ..] ..
        S: * OK [UIDNEXT 4] ..
        S: * OK [MAILBOXID (F..)] ..
        S: k6 OK [READ-ONLY] EXAMINE completed
        C: k7 CLOSE
        S: k7 OK CLOSE completed
        C: k8 STATUS INBOX (MESSAGES)
        S: * STATUS "INBOX" (MESSAGES 3)
        S: k8 OK ..
        C: k9 SELECT INBOX
        S: * FLAGS ..
        S: * 3 EXISTS
        S: * 0 RECENT
        S: * OK [UNSEEN 1] ..
        S: * OK [PERMANENTFLAGS ..] ..
        S: * OK [UIDVALIDITY ..] ..
        S: * OK [UIDNEXT 4] ..
        S: * OK [MAILBOXID (F..)] ..
        S: k9 OK [READ-WRITE] SELECT completed
        C: k10 CLOSE
        S: k10 OK CLOSE completed
        C: k11 STATUS INBOX (MESSAGES DELETED)
        S: * STATUS "INBOX" (MESSAGES 2 DELETED 0)
        S: k11 OK ..
        "#,
    )
    .await;
}

async fn uid_copy_uid_thread_and_store_replace(store: Backend) {
    let w = World::new(store);
    let mut c = three(&w).await;
    transcript(
        &mut c,
        r#"
        C: u1 UID COPY 2:3 Archive
        S: u1 OK [COPYUID .. 2:3 1:2] COPY completed
        C: u2 UID COPY 7 Archive
        S: u2 OK Nothing to do
        C: u3 UID THREAD ORDEREDSUBJECT UTF-8 NOT SUBJECT odd
        S: * THREAD (1)(2)
        S: u3 OK THREAD completed
        C: u4 STORE 1 FLAGS (\Flagged $Work)
        S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work)
        S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work \*)] Flags permitted
        S: * 1 FETCH (FLAGS (\Flagged \Recent $Work))
        S: u4 OK STORE completed
        C: u5 STORE 1 FLAGS (\Seen)
        S: * 1 FETCH (FLAGS (\Seen \Recent))
        S: u5 OK STORE completed
        C: u6 UID STORE 1 FLAGS ()
        S: * 1 FETCH (UID 1 FLAGS (\Recent))
        S: u6 OK STORE completed
        C: u7 STATUS Archive (MESSAGES)
        S: * STATUS "Archive" (MESSAGES 2)
        S: u7 OK ..
        "#,
    )
    .await;
}
