//! C:/S: transcripts of the selected state: APPEND, FETCH, STORE, SEARCH,
//! EXPUNGE, COPY, MOVE (and their UID forms), and updates from other
//! sessions.

#[macro_use]
mod common;
use common::*;

both_stores!(
    append_errors,
    append_over_limit_is_toobig,
    fetch_flags_size_uid_and_bodies,
    store_flags_and_expunge,
    uid_expunge_only_touches_named_uids,
    search_keys,
    copy_and_move_with_copyuid,
    other_sessions_changes_are_announced,
    idle_wakes_on_new_mail,
    read_only_mailbox_refuses_changes,
    envelope_bodystructure_and_preview_come_from_the_summary,
    condstore_modseqs_and_unchangedsince,
    qresync_select_and_vanished,
    sort_and_thread,
);

const MSG1: &str = "From: Carol <carol@example.net>\r\nTo: alice@example.org\r\nSubject: Lunch plans\r\nDate: Mon, 1 Jan 2024 12:00:00 +0000\r\nMessage-ID: <1@example.net>\r\n\r\nShall we meet at noon?\r\n";
const MSG2: &str = "From: Dave <dave@example.com>\r\nTo: alice@example.org\r\nSubject: Invoice\r\nDate: Tue, 2 Jan 2024 12:00:00 +0000\r\n\r\nPlease find the invoice attached.\r\n";

async fn append(c: &mut Client, mailbox: &str, flags: &str, msg: &str) -> String {
    let line = format!("ap APPEND {mailbox} ({flags}) {{{}+}}\r\n{msg}", msg.len());
    let r = c.cmd(&line).await;
    r.last().unwrap().clone()
}

async fn with_two_messages(w: &World) -> Client {
    let mut c = w.login().await;
    assert!(
        append(&mut c, "INBOX", "", MSG1)
            .await
            .starts_with("ap OK [APPENDUID")
    );
    assert!(
        append(&mut c, "INBOX", "\\Flagged", MSG2)
            .await
            .starts_with("ap OK [APPENDUID")
    );
    let r = c.cmd("s SELECT INBOX").await;
    assert!(r.last().unwrap().starts_with("s OK"), "{r:?}");
    c
}

async fn append_errors(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    assert!(
        append(&mut c, "Nowhere", "", MSG1)
            .await
            .starts_with("ap NO [TRYCREATE]")
    );
    assert!(
        append(&mut c, "INBOX", "\\Bogus", MSG1)
            .await
            .starts_with("ap BAD")
    );
    let r = c
        .cmd("ap2 APPEND INBOX \"01-Feb-2024 10:00:00 +0000\" {5+}\r\nhello")
        .await;
    assert!(r.last().unwrap().starts_with("ap2 OK [APPENDUID"), "{r:?}");
}

async fn append_over_limit_is_toobig(store: Backend) {
    let w = World::with_imap(store, "max_literal = 100");
    let mut c = w.login().await;
    let r = c.cmd("a APPEND INBOX {101}").await;
    assert!(r[0].starts_with("a NO [TOOBIG]"), "{r:?}");
    let caps = c.cmd("b CAPABILITY").await;
    assert!(caps[0].contains("APPENDLIMIT=100"), "{caps:?}");
}

async fn fetch_flags_size_uid_and_bodies(store: Backend) {
    let w = World::new(store);
    let mut c = with_two_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: f1 FETCH 1:* (UID FLAGS RFC822.SIZE)
        S: * 1 FETCH (UID 1 FLAGS (\Recent) RFC822.SIZE 171)
        S: * 2 FETCH (UID 2 FLAGS (\Flagged \Recent) RFC822.SIZE 147)
        S: f1 OK FETCH completed
        C: f2 UID FETCH 2 (FLAGS)
        S: * 2 FETCH (UID 2 FLAGS (\Flagged \Recent))
        S: f2 OK ..
        C: f3 FETCH 3 FLAGS
        S: f3 BAD ..
        C: f4 UID FETCH 3:9 FLAGS
        S: f4 OK ..
        C: f5 FETCH 1 (INTERNALDATE)
        S: * 1 FETCH (INTERNALDATE "..")
        S: f5 OK ..
        "#,
    )
    .await;
    // BODY.PEEK does not set \Seen; BODY[] does.
    let r = c
        .cmd("b1 FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)])")
        .await;
    assert_eq!(
        r[0],
        "* 1 FETCH (BODY[HEADER.FIELDS (\"SUBJECT\")] {24}\r\nSubject: Lunch plans\r\n\r\n)"
    );
    let r = c.cmd("b2 FETCH 1 (FLAGS)").await;
    assert!(!r[0].contains("\\Seen"), "{r:?}");
    let r = c.cmd("b3 FETCH 1 (BODY[TEXT])").await;
    assert_eq!(
        r[0],
        "* 1 FETCH (BODY[TEXT] {24}\r\nShall we meet at noon?\r\n FLAGS (\\Seen \\Recent))"
    );
    let r = c.cmd("b4 FETCH 1 (FLAGS BODY[]<0.4>)").await;
    assert_eq!(
        r[0],
        "* 1 FETCH (FLAGS (\\Seen \\Recent) BODY[]<0> {4}\r\nFrom)"
    );
    let r = c.cmd("b5 UID FETCH 2 (RFC822.HEADER)").await;
    assert!(
        r[0].starts_with("* 2 FETCH (UID 2 RFC822.HEADER {"),
        "{r:?}"
    );
    let r = c.cmd("b6 FETCH 2 (BINARY.PEEK[1] BINARY.SIZE[1])").await;
    assert!(r.last().unwrap().starts_with("b6 OK"), "{r:?}");
}

async fn store_flags_and_expunge(store: Backend) {
    let w = World::new(store);
    let mut c = with_two_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: s1 STORE 1 +FLAGS (\Deleted $Work)
        S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work)
        S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work \*)] Flags permitted
        S: * 1 FETCH (FLAGS (\Deleted \Recent $Work))
        S: s1 OK STORE completed
        C: s2 STORE 2 +FLAGS.SILENT (\Seen)
        S: s2 OK STORE completed
        C: s3 UID STORE 2 -FLAGS (\Flagged)
        S: * 2 FETCH (UID 2 FLAGS (\Seen \Recent))
        S: s3 OK ..
        C: s4 STORE 1 FLAGS (\Bogus)
        S: s4 BAD ..
        C: s5 SEARCH DELETED
        S: * SEARCH 1
        S: s5 OK ..
        C: s6 EXPUNGE
        S: * 1 EXPUNGE
        S: s6 OK EXPUNGE completed
        C: s7 FETCH 1:* (UID)
        S: * 1 FETCH (UID 2)
        S: s7 OK ..
        "#,
    )
    .await;
}

async fn uid_expunge_only_touches_named_uids(store: Backend) {
    let w = World::new(store);
    let mut c = with_two_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: s1 STORE 1:2 +FLAGS.SILENT (\Deleted)
        S: s1 OK ..
        C: s2 UID EXPUNGE 2
        S: * 2 EXPUNGE
        S: s2 OK ..
        C: s3 UID SEARCH ALL
        S: * SEARCH 1
        S: s3 OK ..
        "#,
    )
    .await;
}

async fn search_keys(store: Backend) {
    let w = World::new(store);
    let mut c = with_two_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: q1 SEARCH FROM carol
        S: * SEARCH 1
        S: q1 OK ..
        C: q2 SEARCH SUBJECT invoice
        S: * SEARCH 2
        S: q2 OK ..
        C: q3 SEARCH BODY NOON
        S: * SEARCH 1
        S: q3 OK ..
        C: q4 SEARCH OR FLAGGED TEXT lunch
        S: * SEARCH 1 2
        S: q4 OK ..
        C: q5 SEARCH NOT FLAGGED
        S: * SEARCH 1
        S: q5 OK ..
        C: q6 SEARCH SENTBEFORE 2-Jan-2024
        S: * SEARCH 1
        S: q6 OK ..
        C: q7 SEARCH HEADER Message-ID <1@example.net>
        S: * SEARCH 1
        S: q7 OK ..
        C: q8 SEARCH CHARSET UTF-8 LARGER 150 SMALLER 1000
        S: * SEARCH 1
        S: q8 OK ..
        C: q9 UID SEARCH 2:*
        S: * SEARCH 2
        S: q9 OK ..
        C: r1 SEARCH RETURN (MIN MAX COUNT) ALL
        S: * ESEARCH (TAG "r1") MIN 1 MAX 2 COUNT 2
        S: r1 OK ..
        C: r2 SEARCH CHARSET KOI8-R ALL
        S: r2 NO [BADCHARSET ..] ..
        C: r3 SEARCH YOUNGER 3600 SINCE 1-Jan-2000
        S: * SEARCH 1 2
        S: r3 OK ..
        C: r4 SEARCH NEW
        S: * SEARCH 1 2
        S: r4 OK ..
        "#,
    )
    .await;
}

async fn copy_and_move_with_copyuid(store: Backend) {
    let w = World::new(store);
    let mut c = with_two_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: m1 COPY 1:2 Archive
        S: m1 OK [COPYUID .. 1:2 1:2] COPY completed
        C: m2 COPY 1 Nowhere
        S: m2 NO [TRYCREATE] ..
        C: m3 UID MOVE 1 Trash
        S: * OK [COPYUID .. 1 1] ..
        S: * 1 EXPUNGE
        S: m3 OK MOVE completed
        C: m4 STATUS Archive (MESSAGES)
        S: * STATUS "Archive" (MESSAGES 2)
        S: m4 OK ..
        C: m5 STATUS Trash (MESSAGES)
        S: * STATUS "Trash" (MESSAGES 1)
        S: m5 OK ..
        "#,
    )
    .await;
}

async fn other_sessions_changes_are_announced(store: Backend) {
    let w = World::new(store);
    let mut a = with_two_messages(&w).await;
    let mut b = w.login().await;
    b.cmd("x SELECT INBOX").await;
    // b deletes message 1 and appends one; a learns at its next NOOP (the
    // new one is \Recent for b, the first session told of it).
    b.cmd("x1 STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    b.cmd("x2 EXPUNGE").await;
    append(&mut b, "INBOX", "", MSG1).await;
    let r = a.cmd("n1 NOOP").await;
    assert_eq!(
        r,
        vec![
            "* 1 EXPUNGE",
            "* 2 EXISTS",
            "* 1 RECENT",
            "n1 OK NOOP completed"
        ]
    );
    // Flag changes become FETCH responses; during FETCH, expunges wait.
    b.cmd("x3 STORE 1 +FLAGS.SILENT (\\Answered)").await;
    b.cmd("x4 STORE 2 +FLAGS.SILENT (\\Deleted)").await;
    b.cmd("x5 EXPUNGE").await;
    let r = a.cmd("n2 FETCH 1 (UID)").await;
    assert_eq!(r[0], "* 1 FETCH (UID 2)");
    assert!(r.iter().all(|l| !l.contains("EXPUNGE")), "{r:?}");
    let r = a.cmd("n3 NOOP").await;
    assert!(r.contains(&"* 2 EXPUNGE".to_string()), "{r:?}");
}

async fn idle_wakes_on_new_mail(store: Backend) {
    let w = World::new(store);
    let mut a = with_two_messages(&w).await;
    a.send(b"i1 IDLE\r\n").await;
    assert_eq!(a.line().await, "+ idling");
    let mut b = w.login().await;
    append(&mut b, "INBOX", "", MSG2).await;
    assert_eq!(a.line().await, "* 3 EXISTS");
    // All three are \Recent for this session (RFC 3501 6.3.1).
    assert_eq!(a.line().await, "* 3 RECENT");
    a.send(b"DONE\r\n").await;
    assert_eq!(a.line().await, "i1 OK IDLE terminated");
}

async fn read_only_mailbox_refuses_changes(store: Backend) {
    let w = World::new(store);
    let mut c = with_two_messages(&w).await;
    c.cmd("e EXAMINE INBOX").await;
    transcript(
        &mut c,
        r#"
        C: r1 STORE 1 +FLAGS (\Seen)
        S: r1 NO [CANNOT] ..
        C: r2 EXPUNGE
        S: r2 NO [CANNOT] ..
        C: r3 FETCH 1 BODY[TEXT]
        S: * 1 FETCH (BODY[TEXT] {24}..
        S: r3 OK ..
        "#,
    )
    .await;
}

async fn envelope_bodystructure_and_preview_come_from_the_summary(store: Backend) {
    let w = World::new(store);
    let mut c = with_two_messages(&w).await;
    // imap-proto checks the ENVELOPE and BODYSTRUCTURE syntax here.
    let r = c.cmd("e1 FETCH 1 (ENVELOPE BODYSTRUCTURE)").await;
    assert!(r.last().unwrap().starts_with("e1 OK"), "{r:?}");
    let l = &r[0];
    assert!(
        l.contains("ENVELOPE (\"Mon, 1 Jan 2024 12:00:00 +0000\" \"Lunch plans\" ((\"Carol\" NIL \"carol\" \"example.net\"))"),
        "{l}"
    );
    assert!(
        l.to_ascii_uppercase()
            .contains("BODYSTRUCTURE (\"TEXT\" \"PLAIN\""),
        "{l}"
    );
    let r = c.cmd("e3 FETCH 1 (BODY)").await;
    assert!(
        r[0].to_ascii_uppercase()
            .starts_with("* 1 FETCH (BODY (\"TEXT\" \"PLAIN\""),
        "{r:?}"
    );
    assert!(!r[0].contains("BODYSTRUCTURE"), "{r:?}");
    let r = c.cmd("e2 UID FETCH 2 (PREVIEW)").await;
    assert_eq!(
        r[0],
        "* 2 FETCH (UID 2 PREVIEW \"Please find the invoice attached.\")"
    );
}

async fn condstore_modseqs_and_unchangedsince(store: Backend) {
    let w = World::new(store);
    let mut c = with_two_messages(&w).await;
    let r = c.cmd("c1 FETCH 1:2 (MODSEQ)").await;
    let modseq = |l: &str| -> u64 {
        l.split("MODSEQ (")
            .nth(1)
            .and_then(|x| x.split(')').next())
            .unwrap()
            .parse()
            .unwrap()
    };
    // The highest modseq before the next change.
    let m1 = modseq(&r[0]).max(modseq(&r[1]));
    let r = c.cmd("c2 STORE 1 +FLAGS (\\Seen)").await;
    assert!(r[0].contains("MODSEQ ("), "{r:?}");
    // Message 1 changed after m1: a conditional STORE must leave it alone.
    let r = c
        .cmd(&format!(
            "c3 STORE 1:2 (UNCHANGEDSINCE {m1}) +FLAGS (\\Answered)"
        ))
        .await;
    assert!(r.last().unwrap().starts_with("c3 OK [MODIFIED 1]"), "{r:?}");
    let r = c
        .cmd(&format!("c4 FETCH 1:* (FLAGS) (CHANGEDSINCE {m1})"))
        .await;
    assert!(r.iter().any(|l| l.starts_with("* 1 FETCH")), "{r:?}");
    let r = c.cmd("c5 SEARCH MODSEQ 1").await;
    assert!(r[0].starts_with("* SEARCH 1 2 (MODSEQ "), "{r:?}");
}

async fn qresync_select_and_vanished(store: Backend) {
    let w = World::new(store);
    let mut c = with_two_messages(&w).await;
    let st = c.cmd("q0 STATUS INBOX (UIDVALIDITY HIGHESTMODSEQ)").await;
    let words: Vec<&str> = st[0].trim_end_matches(')').split(' ').collect();
    let validity = words[words.iter().position(|w| *w == "(UIDVALIDITY").unwrap() + 1];
    let modseq = words[words.iter().position(|w| *w == "HIGHESTMODSEQ").unwrap() + 1];
    // Another session changes flags of 2 and expunges 1.
    let mut b = w.login().await;
    b.cmd("x SELECT INBOX").await;
    b.cmd("x1 STORE 2 +FLAGS.SILENT (\\Seen)").await;
    b.cmd("x2 STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    b.cmd("x3 EXPUNGE").await;
    let r = c
        .cmd(&format!("q1 SELECT INBOX (QRESYNC ({validity} {modseq}))"))
        .await;
    assert!(
        r.last().unwrap().starts_with("q1 BAD"),
        "QRESYNC before ENABLE: {r:?}"
    );
    c.cmd("q2 ENABLE QRESYNC").await;
    let r = c
        .cmd(&format!(
            "q3 SELECT INBOX (QRESYNC ({validity} {modseq} 1:2))"
        ))
        .await;
    assert!(r.contains(&"* VANISHED (EARLIER) 1".to_string()), "{r:?}");
    assert!(
        r.iter()
            .any(|l| l.starts_with("* 1 FETCH (UID 2 FLAGS (\\Seen") && l.contains("MODSEQ (")),
        "{r:?}"
    );
    // Expunges are now announced as VANISHED.
    c.cmd("q4 STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    let r = c.cmd("q5 EXPUNGE").await;
    assert_eq!(r[0], "* VANISHED 2");
    let r = c
        .cmd(&format!(
            "q6 UID FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq} VANISHED)"
        ))
        .await;
    assert_eq!(r[0], "* VANISHED (EARLIER) 1:2");
}

async fn sort_and_thread(store: Backend) {
    let w = World::new(store);
    let mut c = with_two_messages(&w).await;
    let reply = "From: Dave <dave@example.com>\r\nSubject: Re: Lunch plans\r\nDate: Wed, 3 Jan 2024 12:00:00 +0000\r\nIn-Reply-To: <1@example.net>\r\nReferences: <1@example.net>\r\n\r\nYes.\r\n";
    append(&mut c, "INBOX", "", reply).await;
    c.cmd("n NOOP").await;
    transcript(
        &mut c,
        r#"
        C: t1 SORT (SUBJECT) UTF-8 ALL
        S: * SORT 2 1 3
        S: t1 OK SORT completed
        C: t2 SORT (REVERSE DATE) UTF-8 ALL
        S: * SORT 3 2 1
        S: t2 OK ..
        C: t3 UID SORT (FROM) US-ASCII NOT SUBJECT invoice
        S: * SORT 1 3
        S: t3 OK ..
        C: t4 SORT (SIZE) UTF-8 ALL
        S: * SORT 2 3 1
        S: t4 OK ..
        C: t5 THREAD REFERENCES UTF-8 ALL
        S: * THREAD (1 3)(2)
        S: t5 OK THREAD completed
        C: t6 THREAD ORDEREDSUBJECT UTF-8 ALL
        S: * THREAD (1 3)(2)
        S: t6 OK ..
        C: t7 SORT (DISPLAYFROM) UTF-8 ALL
        S: * SORT 1 2 3
        S: t7 OK ..
        "#,
    )
    .await;
}
