//! Transcripts of LIST-METADATA (RFC 9590): `LIST ... RETURN (METADATA
//! (...))` follows each listed mailbox with its entries (NIL when unset),
//! after its STATUS with LIST-STATUS; MAXSIZE leaves long values out with
//! `[METADATA LONGENTRIES n]`; DEPTH adds what lies below an entry, in
//! each form RFC 9590 allows; nothing for a mailbox that does not exist
//! or did not meet the selection, nor for a shared one; bad forms are BAD.
//! Against the real store and the in-memory model.

#[macro_use]
mod common;
use common::*;

both_stores!(
    entries_follow_each_list_line,
    maxsize_and_status_together,
    depth_returns_what_lies_below,
    only_selected_mailboxes_get_entries,
    malformed_return_options_are_bad,
);

async fn logged_in(w: &World) -> Client {
    let mut c = w.login().await;
    let r = c.cmd("c CAPABILITY").await;
    assert!(r[0].split(' ').any(|c| c == "LIST-METADATA"), "{r:?}");
    transcript(
        &mut c,
        r#"
        C: c1 CREATE Work
        S: c1 OK ..
        C: s1 SETMETADATA Work (/private/comment "mine" /shared/comment "team notes")
        S: s1 OK SETMETADATA completed
        C: s2 SETMETADATA INBOX (/shared/comment "in")
        S: s2 OK SETMETADATA completed
        "#,
    )
    .await;
    c
}

async fn entries_follow_each_list_line(store: Backend) {
    let w = World::new(store);
    let mut c = logged_in(&w).await;
    transcript(
        &mut c,
        r#"
        C: l1 LIST "" "INBOX" RETURN (METADATA (/private/comment /shared/comment))
        S: * LIST (\HasNoChildren) "/" "INBOX"
        S: * METADATA "INBOX" (/private/comment NIL /shared/comment {2}..in)
        S: l1 OK LIST completed
        C: l2 LIST "" "Work" RETURN (METADATA (/shared/comment /private/comment))
        S: * LIST (\HasNoChildren) "/" "Work"
        S: * METADATA "Work" (/shared/comment {10}..team notes /private/comment {4}..mine)
        S: l2 OK LIST completed
        C: l3 LIST "" (INBOX Work) RETURN (CHILDREN METADATA (/private/vendor/x))
        S: * LIST (\HasNoChildren) "/" "INBOX"
        S: * METADATA "INBOX" (/private/vendor/x NIL)
        S: * LIST (\HasNoChildren) "/" "Work"
        S: * METADATA "Work" (/private/vendor/x NIL)
        S: l3 OK LIST completed
        "#,
    )
    .await;
}

async fn maxsize_and_status_together(store: Backend) {
    let w = World::new(store);
    let mut c = logged_in(&w).await;
    transcript(
        &mut c,
        r#"
        C: l1 LIST "" "Work" RETURN (STATUS (MESSAGES) METADATA (/shared/comment /private/comment) (MAXSIZE 5))
        S: * LIST (\HasNoChildren) "/" "Work"
        S: * STATUS "Work" (MESSAGES 0)
        S: * METADATA "Work" (/private/comment {4}..mine)
        S: l1 OK [METADATA LONGENTRIES 10] LIST completed
        C: l2 LIST "" "Work" RETURN (METADATA (MAXSIZE 3 /private/comment))
        S: * LIST (\HasNoChildren) "/" "Work"
        S: l2 OK [METADATA LONGENTRIES 4] LIST completed
        "#,
    )
    .await;
}

async fn depth_returns_what_lies_below(store: Backend) {
    let w = World::new(store);
    let mut c = logged_in(&w).await;
    transcript(
        &mut c,
        r#"
        C: s1 SETMETADATA Work (/private/vendor/x/a "1" /private/vendor/x/b/c "2")
        S: s1 OK SETMETADATA completed
        C: l1 LIST "" "Work" RETURN (METADATA (DEPTH 1 (/private/vendor/x)))
        S: * LIST (\HasNoChildren) "/" "Work"
        S: * METADATA "Work" (/private/vendor/x/a {1}..1)
        S: l1 OK LIST completed
        C: l2 LIST "" "Work" RETURN (METADATA ((DEPTH infinity MAXSIZE 9) (/private/vendor/x /shared/comment)))
        S: * LIST (\HasNoChildren) "/" "Work"
        S: * METADATA "Work" (/private/vendor/x/a {1}..1 /private/vendor/x/b/c {1}..2)
        S: l2 OK [METADATA LONGENTRIES 10] LIST completed
        C: l3 LIST "" "Work" RETURN (METADATA (/private/vendor/x) (DEPTH infinity))
        S: * LIST (\HasNoChildren) "/" "Work"
        S: * METADATA "Work" (/private/vendor/x/a {1}..1 /private/vendor/x/b/c {1}..2)
        S: l3 OK LIST completed
        C: l4 LIST "" "Work" RETURN (METADATA (/private/vendor/x /private/comment DEPTH 0))
        S: * LIST (\HasNoChildren) "/" "Work"
        S: * METADATA "Work" (/private/vendor/x NIL /private/comment {4}..mine)
        S: l4 OK LIST completed
        "#,
    )
    .await;
}

async fn only_selected_mailboxes_get_entries(store: Backend) {
    let w = World::new(store);
    let mut c = logged_in(&w).await;
    transcript(
        &mut c,
        r#"
        C: c1 CREATE Work/Sub
        S: c1 OK ..
        C: s1 SUBSCRIBE Work/Sub
        S: s1 OK ..
        C: s2 SUBSCRIBE Gone
        S: s2 OK ..
        C: l1 LIST (SUBSCRIBED) "" "*o*" RETURN (METADATA (/shared/comment))
        S: * LIST (\NonExistent \HasNoChildren \Subscribed) "/" "Gone"
        S: * LIST (\HasNoChildren \Subscribed) "/" "Work/Sub"
        S: * METADATA "Work/Sub" (/shared/comment NIL)
        S: l1 OK LIST completed
        "#,
    )
    .await;
    // A mailbox shared by bob: listed, but its entries are bob's.
    let mut bob = w.connect(true).await;
    let r = bob.cmd(&format!("L LOGIN {USER2} \"{PASS}\"")).await;
    assert!(r.last().unwrap().starts_with("L OK"), "{r:?}");
    for line in [
        "c CREATE Team",
        "s SETMETADATA Team (/shared/comment \"bob's\")",
        "a SETACL Team alice@example.org lr",
    ] {
        let r = bob.cmd(line).await;
        assert!(r.last().unwrap().contains(" OK "), "{line}: {r:?}");
    }
    transcript(
        &mut c,
        r#"
        C: l2 LIST "" "Shared/%/%" RETURN (METADATA (/shared/comment))
        S: * LIST (\HasNoChildren) "/" "Shared/bob@example.org/Team"
        S: l2 OK LIST completed
        "#,
    )
    .await;
}

async fn malformed_return_options_are_bad(store: Backend) {
    let w = World::new(store);
    let mut c = logged_in(&w).await;
    for bad in [
        "b LIST \"\" * RETURN (METADATA)",
        "b LIST \"\" * RETURN (METADATA ())",
        "b LIST \"\" * RETURN (METADATA (/nope))",
        "b LIST \"\" * RETURN (METADATA (/private/a*))",
        "b LIST \"\" * RETURN (METADATA (DEPTH 1))",
        "b LIST \"\" * RETURN (METADATA (DEPTH 2 /private/a))",
        "b LIST \"\" * RETURN (METADATA (DEPTH 1 /private/a) (DEPTH 0))",
        "b LIST \"\" * RETURN (METADATA (MAXSIZE 1 MAXSIZE 2 /private/a))",
        "b LIST \"\" * RETURN (METADATA (/private/a) METADATA (/private/b))",
    ] {
        let r = c.cmd(bad).await;
        assert!(r.last().unwrap().starts_with("b BAD"), "{bad}: {r:?}");
    }
}
