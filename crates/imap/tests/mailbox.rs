//! C:/S: transcripts of the mailbox commands: LIST, LSUB, STATUS, CREATE,
//! DELETE, RENAME, SUBSCRIBE, SELECT, EXAMINE, CLOSE, UNSELECT, QUOTA,
//! and the names that must be refused.

#[macro_use]
mod common;
use common::*;

both_stores!(
    list_default_mailboxes,
    create_rename_delete_with_hierarchy,
    hostile_names_are_refused,
    subscriptions_and_lsub,
    status_and_list_status,
    select_examine_close_unselect,
    rev2_select_and_quota,
    accounts_are_isolated,
);

async fn list_default_mailboxes(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    transcript(
        &mut c,
        r#"
        C: a1 LIST "" ""
        S: * LIST (\Noselect) "/" ""
        S: a1 OK LIST completed
        C: a2 LIST "" *
        S: * LIST (\HasNoChildren \Archive) "/" "Archive"
        S: * LIST (\HasNoChildren \Drafts) "/" "Drafts"
        S: * LIST (\HasNoChildren) "/" "INBOX"
        S: * LIST (\HasNoChildren \Junk) "/" "Junk"
        S: * LIST (\HasNoChildren \Sent) "/" "Sent"
        S: * LIST (\HasNoChildren \Trash) "/" "Trash"
        S: a2 OK LIST completed
        C: a3 LIST "" inbox
        S: * LIST (\HasNoChildren) "/" "INBOX"
        S: a3 OK LIST completed
        C: a4 LIST (SPECIAL-USE) "" *
        S: * LIST (\HasNoChildren \Archive) "/" "Archive"
        S: * LIST (\HasNoChildren \Drafts) "/" "Drafts"
        S: * LIST (\HasNoChildren \Junk) "/" "Junk"
        S: * LIST (\HasNoChildren \Sent) "/" "Sent"
        S: * LIST (\HasNoChildren \Trash) "/" "Trash"
        S: a4 OK LIST completed
        "#,
    )
    .await;
}

async fn create_rename_delete_with_hierarchy(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    transcript(
        &mut c,
        r#"
        C: a1 CREATE Work/Projects/2024
        S: a1 OK [MAILBOXID (F..)] CREATE completed
        C: a2 LIST "" Work/%
        S: * LIST (\HasChildren) "/" "Work/Projects"
        S: a2 OK LIST completed
        C: a3 CREATE Work
        S: a3 NO [ALREADYEXISTS] ..
        C: a4 CREATE INBOX
        S: a4 NO [ALREADYEXISTS] ..
        C: a5 RENAME Work Play
        S: a5 OK RENAME completed
        C: a6 LIST "" Play*
        S: * LIST (\HasChildren) "/" "Play"
        S: * LIST (\HasChildren) "/" "Play/Projects"
        S: * LIST (\HasNoChildren) "/" "Play/Projects/2024"
        S: a6 OK LIST completed
        C: a7 RENAME Nope Other
        S: a7 NO [NONEXISTENT] ..
        C: a8 DELETE Play/Projects/2024
        S: a8 OK DELETE completed
        C: a9 DELETE Play/Projects/2024
        S: a9 NO [NONEXISTENT] ..
        C: b1 DELETE INBOX
        S: b1 NO [CANNOT] ..
        C: b2 CREATE "Mine" (USE (\Sent))
        S: b2 OK [MAILBOXID (F..)] CREATE completed
        "#,
    )
    .await;
}

async fn hostile_names_are_refused(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    let deep = vec!["a"; 10_000].join("/");
    for name in [
        "\"..\"".to_string(),
        "\"a/../b\"".to_string(),
        "\"/etc\"".to_string(),
        "\"a//b\"".to_string(),
        "{3+}\r\na\u{1}b".to_string(),
        "&Jjo!-".to_string(),
        "\"&AGE-\"".to_string(),
        format!("{{{}+}}\r\n{deep}", deep.len()),
    ] {
        let r = c.cmd(&format!("x CREATE {name}")).await;
        let last = r.last().unwrap();
        assert!(
            last.starts_with("x NO") || last.starts_with("x BAD"),
            "{name:?}: {r:?}"
        );
    }
    // Raw UTF-8 is not modified UTF-7: refused in rev1 mode...
    let r = c.cmd("y CREATE {6+}\r\nCaf\u{e9}!").await;
    assert!(r.last().unwrap().starts_with("y NO"), "{r:?}");
    // ...but modified UTF-7 works, and UTF8=ACCEPT takes UTF-8.
    transcript(
        &mut c,
        r#"
        C: z1 CREATE Entw&APw-rfe
        S: z1 OK ..
        C: z2 LIST "" Entw*
        S: * LIST (\HasNoChildren) "/" "Entw&APw-rfe"
        S: z2 OK ..
        C: z3 ENABLE UTF8=ACCEPT
        S: * ENABLED UTF8=ACCEPT
        S: z3 OK ..
        C: z4 LIST "" Entw*
        S: * LIST (\HasNoChildren) "/" "Entwürfe"
        S: z4 OK ..
        C: z5 LIST "" "*N-té"
        S: z5 OK ..
        C: z6 LIST "" "Entwü*"
        S: * LIST (\HasNoChildren) "/" "Entwürfe"
        S: z6 OK ..
        "#,
    )
    .await;
}

async fn subscriptions_and_lsub(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    transcript(
        &mut c,
        r#"
        C: a1 SUBSCRIBE INBOX
        S: a1 OK ..
        C: a2 SUBSCRIBE Ghost
        S: a2 OK ..
        C: a3 LSUB "" Gh*
        S: * LSUB (\Noselect) "/" "Ghost"
        S: a3 OK ..
        C: a31 LSUB "" INBOX
        S: * LSUB () "/" "INBOX"
        S: a31 OK ..
        C: a4 LIST (SUBSCRIBED) "" (Gh* IN*)
        S: * LIST (\NonExistent \HasNoChildren \Subscribed) "/" "Ghost"
        S: * LIST (\HasNoChildren \Subscribed) "/" "INBOX"
        S: a4 OK ..
        C: a5 UNSUBSCRIBE Ghost
        S: a5 OK ..
        C: a6 LSUB "" G*
        S: a6 OK ..
        C: a7 CREATE Work/Reports
        S: a7 OK ..
        C: a8 SUBSCRIBE Work/Reports
        S: a8 OK ..
        C: a9 LSUB "" W%
        S: * LSUB (\Noselect) "/" "Work"
        S: a9 OK ..
        C: b1 LSUB "" W*
        S: * LSUB () "/" "Work/Reports"
        S: b1 OK ..
        C: b2 LSUB Work/ %
        S: * LSUB () "/" "Work/Reports"
        S: b2 OK ..
        "#,
    )
    .await;
}

async fn status_and_list_status(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    c.send(b"a0 APPEND INBOX (\\Seen) {20+}\r\nSubject: y\r\n\r\nbody\r\n\r\n")
        .await;
    let r = c.until_tagged("a0").await;
    assert!(r[0].starts_with("a0 OK [APPENDUID"), "{r:?}");
    c.send(b"b0 APPEND INBOX {20+}\r\nSubject: x\r\n\r\nbody\r\n\r\n")
        .await;
    let r = c.until_tagged("b0").await;
    assert!(r[0].starts_with("b0 OK [APPENDUID"), "{r:?}");
    transcript(
        &mut c,
        r#"
        C: b1 STATUS INBOX (MESSAGES UNSEEN UIDNEXT SIZE DELETED)
        S: * STATUS "INBOX" (MESSAGES 2 UNSEEN 1 UIDNEXT 3 SIZE .. DELETED 0)
        S: b1 OK ..
        C: b2 STATUS Nowhere (MESSAGES)
        S: b2 NO [NONEXISTENT] ..
        C: b3 LIST "" INBOX RETURN (STATUS (MESSAGES UIDVALIDITY))
        S: * LIST (\HasNoChildren) "/" "INBOX"
        S: * STATUS "INBOX" (MESSAGES 2 UIDVALIDITY ..)
        S: b3 OK ..
        "#,
    )
    .await;
}

async fn select_examine_close_unselect(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    c.send(b"p APPEND INBOX (\\Deleted) {20+}\r\nSubject: x\r\n\r\nbody\r\n\r\n")
        .await;
    c.until_tagged("p").await;
    transcript(
        &mut c,
        r#"
        C: a1 SELECT INBOX
        S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
        S: * 1 EXISTS
        S: * 1 RECENT
        S: * OK [UNSEEN 1] ..
        S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] ..
        S: * OK [UIDVALIDITY ..] ..
        S: * OK [UIDNEXT 2] ..
        S: * OK [MAILBOXID (F..)] ..
        S: a1 OK [READ-WRITE] SELECT completed
        C: a2 EXAMINE INBOX
        S: * FLAGS ..
        S: * 1 EXISTS
        S: * 0 RECENT
        S: * OK [UNSEEN 1] ..
        S: * OK [PERMANENTFLAGS ()] ..
        S: * OK [UIDVALIDITY ..] ..
        S: * OK [UIDNEXT 2] ..
        S: * OK [MAILBOXID (F..)] ..
        S: a2 OK [READ-ONLY] EXAMINE completed
        C: a3 CLOSE
        S: a3 OK CLOSE completed
        C: a4 STATUS INBOX (MESSAGES)
        S: * STATUS "INBOX" (MESSAGES 1)
        S: a4 OK ..
        C: a5 SELECT INBOX
        S: * FLAGS ..
        S: * 1 EXISTS
        S: * 0 RECENT
        S: * OK [UNSEEN 1] ..
        S: * OK [PERMANENTFLAGS ..] ..
        S: * OK [UIDVALIDITY ..] ..
        S: * OK [UIDNEXT 2] ..
        S: * OK [MAILBOXID (F..)] ..
        S: a5 OK [READ-WRITE] ..
        C: a6 CLOSE
        S: a6 OK CLOSE completed
        C: a7 STATUS INBOX (MESSAGES)
        S: * STATUS "INBOX" (MESSAGES 0)
        S: a7 OK ..
        C: a8 UNSELECT
        S: a8 BAD ..
        C: a9 SELECT Nowhere
        S: a9 NO [NONEXISTENT] ..
        "#,
    )
    .await;
}

async fn rev2_select_and_quota(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    transcript(
        &mut c,
        r#"
        C: a1 ENABLE IMAP4rev2
        S: * ENABLED IMAP4rev2
        S: a1 OK ..
        C: a2 SELECT Sent
        S: * FLAGS ..
        S: * 0 EXISTS
        S: * OK [PERMANENTFLAGS ..] ..
        S: * OK [UIDVALIDITY ..] ..
        S: * OK [UIDNEXT 1] ..
        S: * LIST (\Sent) "/" "Sent"
        S: * OK [MAILBOXID (F..)] ..
        S: a2 OK [READ-WRITE] ..
        C: a3 SELECT INBOX
        S: * OK [CLOSED] ..
        S: * FLAGS ..
        S: * 0 EXISTS
        S: * OK [PERMANENTFLAGS ..] ..
        S: * OK [UIDVALIDITY ..] ..
        S: * OK [UIDNEXT 1] ..
        S: * LIST () "/" "INBOX"
        S: * OK [MAILBOXID (F..)] ..
        S: a3 OK [READ-WRITE] ..
        C: a4 GETQUOTAROOT INBOX
        S: * QUOTAROOT "INBOX" ""
        S: * QUOTA "" ()
        S: a4 OK ..
        "#,
    )
    .await;
}

async fn accounts_are_isolated(store: Backend) {
    let w = World::new(store);
    let mut alice = w.login().await;
    alice.cmd("a CREATE Secret").await;
    let mut bob = w.connect(true).await;
    let r = bob.cmd(&format!("b LOGIN {USER2} \"{PASS}\"")).await;
    assert!(r.last().unwrap().starts_with("b OK"));
    transcript(
        &mut bob,
        r#"
        C: b1 SELECT Secret
        S: b1 NO [NONEXISTENT] ..
        C: b2 LIST "" Secret
        S: b2 OK ..
        C: b3 STATUS Secret (MESSAGES)
        S: b3 NO [NONEXISTENT] ..
        "#,
    )
    .await;
}
