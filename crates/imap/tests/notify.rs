//! NOTIFY (RFC 5465) with two sessions of one account, against the real
//! store and the in-memory model: session B asks for the selected
//! mailbox's new messages (with FETCH items) and the personal namespace's
//! message and hierarchy events; session A appends, creates, subscribes,
//! renames and deletes, and B is told without sending a command (and
//! during IDLE). Also: `(STATUS)` at SET time, NOTIFY NONE, the refused
//! forms (BAD, `NO [BADEVENT]`, the limits), METADATA changes (RFC 5464's
//! unsolicited METADATA, entry names only). Shared mailboxes and the
//! selected mailbox's rules: `notify_selected.rs`.

#[macro_use]
mod common;
use common::*;

both_stores!(
    other_sessions_changes_arrive_unasked,
    set_status_and_none,
    refused_forms,
    filters_choose_the_mailboxes,
    metadata_changes_name_their_entries,
    flag_changes_are_pushed_with_flagchange,
    a_write_of_many_messages_is_one_status,
);

const MSG: &str = "From: Carol <carol@example.net>\r\nTo: alice@example.org\r\nSubject: Lunch plans\r\n\r\nShall we meet at noon?\r\n";

async fn ok(c: &mut Client, line: &str) -> Vec<String> {
    let r = c.cmd(line).await;
    let tag = line.split(' ').next().unwrap();
    assert!(
        r.last().unwrap().starts_with(&format!("{tag} OK")),
        "{line}: {r:?}"
    );
    r
}

fn append(mailbox: &str) -> String {
    format!("ap APPEND {mailbox} {{{}+}}\r\n{MSG}", MSG.len())
}

const SET_B: &str = "n NOTIFY SET (selected MessageNew (UID BODY.PEEK[HEADER.FIELDS (From Subject)]) MessageExpunge) (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))";

async fn other_sessions_changes_arrive_unasked(store: Backend) {
    let w = World::new(store);
    let mut a = w.login().await;
    let mut b = w.login().await;
    let caps = b.cmd("c CAPABILITY").await;
    assert!(caps[0].split(' ').any(|c| c == "NOTIFY"), "{caps:?}");
    ok(&mut b, "s SELECT INBOX").await;
    ok(&mut b, SET_B).await;

    // Another mailbox: created, filled, subscribed, renamed, deleted.
    ok(&mut a, "c CREATE Work").await;
    assert_eq!(b.line().await, "* LIST () \"/\" \"Work\"");
    ok(&mut a, &append("Work")).await;
    assert!(
        glob(
            "* STATUS \"Work\" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY .. UNSEEN 1)",
            &b.line().await
        ),
        "STATUS after APPEND"
    );
    ok(&mut a, "u SUBSCRIBE Work").await;
    assert_eq!(b.line().await, "* LIST (\\Subscribed) \"/\" \"Work\"");
    ok(&mut a, "r RENAME Work Job").await;
    assert_eq!(
        b.line().await,
        "* LIST () \"/\" \"Job\" (\"OLDNAME\" (\"Work\"))"
    );
    ok(&mut a, "d DELETE Job").await;
    assert_eq!(b.line().await, "* LIST (\\NonExistent) \"/\" \"Job\"");

    // The selected mailbox: EXISTS and the FETCH items, unasked.
    ok(&mut a, &append("INBOX")).await;
    assert_eq!(b.line().await, "* 1 EXISTS");
    assert_eq!(b.line().await, "* 1 RECENT");
    let fetch = b.line().await;
    assert!(
        glob(
            "* 1 FETCH (UID 1 BODY[HEADER.FIELDS (..)] {..}",
            fetch.lines().next().unwrap()
        ),
        "{fetch}"
    );
    assert!(fetch.contains("Subject: Lunch plans"), "{fetch}");
    assert!(!fetch.contains("Shall we meet"), "{fetch}");
    // PEEK: nothing was marked \Seen.
    let r = ok(&mut b, "f FETCH 1 (FLAGS)").await;
    assert_eq!(r[0], "* 1 FETCH (FLAGS (\\Recent))");

    // Flag changes wait for a command: FlagChange was not asked for.
    ok(&mut a, "sa SELECT INBOX").await;
    ok(&mut a, "st STORE 1 +FLAGS (\\Flagged)").await;
    ok(&mut a, "c CREATE Marker").await;
    assert_eq!(b.line().await, "* LIST () \"/\" \"Marker\"");
    let r = ok(&mut b, "z NOOP").await;
    assert_eq!(r[0], "* 1 FETCH (FLAGS (\\Flagged \\Recent))", "{r:?}");

    // During IDLE too.
    b.send(b"i IDLE\r\n").await;
    assert_eq!(b.line().await, "+ idling");
    ok(&mut a, "c CREATE Later").await;
    assert_eq!(b.line().await, "* LIST () \"/\" \"Later\"");
    ok(&mut a, &append("Later")).await;
    assert!(glob("* STATUS \"Later\" (MESSAGES 1 ..)", &b.line().await));
    b.send(b"DONE\r\n").await;
    assert_eq!(b.line().await, "i OK IDLE terminated");
}

async fn set_status_and_none(store: Backend) {
    let w = World::new(store);
    let mut a = w.login().await;
    let mut b = w.login().await;
    ok(&mut a, "c CREATE Work").await;
    ok(&mut a, &append("Work")).await;
    ok(&mut b, "s SELECT INBOX").await;
    let r = ok(
        &mut b,
        "n NOTIFY SET (STATUS) (selected (MessageNew MessageExpunge)) (subtree Work (MessageNew MessageExpunge))",
    )
    .await;
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(
        glob(
            "* STATUS \"Work\" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY .. UNSEEN 1)",
            &r[0]
        ),
        "{r:?}"
    );
    ok(&mut b, "n NOTIFY NONE").await;
    ok(&mut a, &append("Work")).await;
    ok(&mut a, "c CREATE Other").await;
    let r = ok(&mut b, "z NOOP").await;
    assert_eq!(r, vec!["z OK NOOP completed"]);
}

async fn refused_forms(store: Backend) {
    let w = World::new(store);
    let mut c = w.connect(true).await;
    transcript(
        &mut c,
        r#"
        C: a NOTIFY NONE
        S: a BAD ..
        "#,
    )
    .await;
    let mut c = w.login().await;
    let many_groups = (0..17)
        .map(|i| format!("(mailboxes m{i} (MailboxName))"))
        .collect::<Vec<_>>()
        .join(" ");
    let many_names = (0..101)
        .map(|i| format!("m{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    transcript(
        &mut c,
        &format!(
            r#"
        C: b1 NOTIFY SET (personal (MessageNew))
        S: b1 BAD ..
        C: b2 NOTIFY SET (personal (MessageExpunge FlagChange))
        S: b2 BAD ..
        C: b3 NOTIFY SET (inboxes (MessageNew (UID) MessageExpunge))
        S: b3 BAD ..
        C: b4 NOTIFY SET (elsewhere (MailboxName))
        S: b4 BAD ..
        C: b5 NOTIFY SET (personal ())
        S: b5 BAD ..
        C: b6 NOTIFY SET {many_groups}
        S: b6 BAD ..
        C: b7 NOTIFY SET (mailboxes ({many_names}) (MailboxName))
        S: b7 BAD ..
        C: b8 NOTIFY
        S: b8 BAD ..
        C: n1 NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))
        S: n1 NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange)] ..
        C: n2 NOTIFY SET (personal (Frobnicate))
        S: n2 NO [BADEVENT ..] ..
        C: o1 NOTIFY SET (personal NONE) (selected-delayed (MessageNew MessageExpunge FlagChange))
        S: o1 OK NOTIFY completed
        "#
        ),
    )
    .await;
}

async fn filters_choose_the_mailboxes(store: Backend) {
    let w = World::new(store);
    let mut a = w.login().await;
    let mut b = w.login().await;
    ok(&mut a, "c CREATE Lists").await;
    ok(&mut a, "c CREATE Lists/rust").await;
    ok(&mut a, "c CREATE Lists/rust/deep").await;
    ok(&mut a, "c CREATE Other").await;
    ok(
        &mut b,
        "n NOTIFY SET (subtree-one Lists (MessageNew MessageExpunge)) (mailboxes Other NONE) (inboxes (MessageNew MessageExpunge)) (subscribed (MailboxName))",
    )
    .await;
    for m in ["Other", "Lists/rust/deep", "Lists/rust", "INBOX"] {
        ok(&mut a, &append(m)).await;
    }
    // Only the child of Lists and INBOX; Other and the grandchild not.
    assert!(glob(
        "* STATUS \"Lists/rust\" (MESSAGES 1 ..)",
        &b.line().await
    ));
    assert!(glob("* STATUS \"INBOX\" (MESSAGES 1 ..)", &b.line().await));
    // A subscribed name's hierarchy events, after it was subscribed.
    ok(&mut a, "u SUBSCRIBE Sub").await;
    ok(&mut a, "c CREATE Sub").await;
    assert_eq!(b.line().await, "* LIST () \"/\" \"Sub\"");
    ok(
        &mut b,
        "n NOTIFY SET (subscribed (SubscriptionChange)) (mailboxes Other (MailboxName))",
    )
    .await;
    ok(&mut a, "u UNSUBSCRIBE Sub").await;
    assert_eq!(b.line().await, "* LIST () \"/\" \"Sub\"");
    ok(&mut a, "u SUBSCRIBE Sub").await;
    assert_eq!(b.line().await, "* LIST (\\Subscribed) \"/\" \"Sub\"");
    ok(&mut a, "u SUBSCRIBE Unrelated").await;
    assert_eq!(b.line().await, "* LIST (\\Subscribed) \"/\" \"Unrelated\"");
    ok(&mut a, "d DELETE Other").await;
    assert_eq!(b.line().await, "* LIST (\\NonExistent) \"/\" \"Other\"");
}

async fn metadata_changes_name_their_entries(store: Backend) {
    let w = World::new(store);
    let mut a = w.login().await;
    let mut b = w.login().await;
    ok(&mut a, "c CREATE Work").await;
    ok(
        &mut b,
        "n NOTIFY SET (mailboxes Work (MailboxMetadataChange)) (inboxes (ServerMetadataChange))",
    )
    .await;
    ok(
        &mut a,
        "m1 SETMETADATA INBOX (/private/comment \"not watched\")",
    )
    .await;
    ok(
        &mut a,
        "m2 SETMETADATA Work (/private/comment \"x\" /shared/y NIL)",
    )
    .await;
    assert_eq!(
        b.line().await,
        "* METADATA \"Work\" /private/comment /shared/y"
    );
    ok(
        &mut a,
        "m3 SETMETADATA \"\" (/shared/admin \"mailto:a@example.org\")",
    )
    .await;
    assert_eq!(b.line().await, "* METADATA \"\" /shared/admin");
}

async fn flag_changes_are_pushed_with_flagchange(store: Backend) {
    let w = World::new(store);
    let mut a = w.login().await;
    let mut b = w.login().await;
    ok(&mut a, &append("INBOX")).await;
    ok(&mut a, &append("INBOX")).await;
    ok(&mut b, "s SELECT INBOX").await;
    ok(
        &mut b,
        "n NOTIFY SET (selected-delayed (MessageNew MessageExpunge FlagChange))",
    )
    .await;
    ok(&mut a, "sa SELECT INBOX").await;
    ok(&mut a, "st STORE 2 +FLAGS (\\Flagged)").await;
    assert_eq!(
        b.line().await,
        "* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent))"
    );
    // selected-delayed: the expunge waits for a command that may tell it.
    ok(&mut a, "sd STORE 1 +FLAGS (\\Deleted)").await;
    assert_eq!(
        b.line().await,
        "* 1 FETCH (UID 1 FLAGS (\\Deleted \\Recent))"
    );
    ok(&mut a, "x EXPUNGE").await;
    ok(&mut a, "c CREATE Marker").await;
    let r = ok(&mut b, "f FETCH 1 (UID)").await;
    assert!(r.iter().all(|l| !l.contains("EXPUNGE")), "{r:?}");
    let r = ok(&mut b, "z NOOP").await;
    assert_eq!(r[0], "* 1 EXPUNGE", "{r:?}");
}

async fn a_write_of_many_messages_is_one_status(store: Backend) {
    let w = World::new(store);
    let mut a = w.login().await;
    let mut b = w.login().await;
    ok(&mut a, "c CREATE Work").await;
    for _ in 0..3 {
        ok(&mut a, &append("INBOX")).await;
    }
    ok(
        &mut b,
        "n NOTIFY SET (personal (MessageNew MessageExpunge FlagChange MailboxName))",
    )
    .await;
    ok(&mut a, "s SELECT INBOX").await;
    ok(&mut a, "cp COPY 1:3 Work").await;
    ok(&mut a, "st STORE 1:3 +FLAGS.SILENT (\\Seen)").await;
    ok(&mut a, "c CREATE Marker").await;
    assert!(glob(
        "* STATUS \"Work\" (MESSAGES 3 UIDNEXT 4 ..)",
        &b.line().await
    ));
    assert!(glob(
        "* STATUS \"INBOX\" (MESSAGES 3 .. UNSEEN 0)",
        &b.line().await
    ));
    assert_eq!(b.line().await, "* LIST () \"/\" \"Marker\"");
}
