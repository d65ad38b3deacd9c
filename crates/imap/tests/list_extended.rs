//! C:/S: transcripts of LIST-EXTENDED (RFC 5258): selection options
//! SUBSCRIBED, RECURSIVEMATCH (with CHILDINFO) and SPECIAL-USE (RFC 6154),
//! return options CHILDREN, SUBSCRIBED, SPECIAL-USE and STATUS (RFC 5819);
//! and hostile names: NUL in a literal, invalid UTF-8 under UTF8=ACCEPT
//! and IMAP4rev2.

#[macro_use]
mod common;
use common::*;

both_stores!(
    subscribed_selection_lists_subscribed_names_only,
    recursivematch_adds_childinfo_for_parents_of_subscribed_names,
    return_options_children_subscribed_special_use_status,
    nul_inside_a_mailbox_name_is_refused,
    invalid_utf8_names_under_utf8_accept,
    invalid_utf8_names_under_imap4rev2,
);

/// Fruit, Fruit/Apple, Fruit/Banana, Vegetable, Vegetable/Carrot, Tofu;
/// subscribed: Fruit/Banana, Vegetable, Vegetable/Carrot, Tofu, and
/// Meat/Beef, which does not exist.
async fn tree(w: &World) -> Client {
    let mut c = w.login().await;
    for name in ["Fruit/Apple", "Fruit/Banana", "Vegetable/Carrot", "Tofu"] {
        let r = c.cmd(&format!("c CREATE {name}")).await;
        assert!(r[0].starts_with("c OK"), "{name}: {r:?}");
    }
    for name in [
        "Fruit/Banana",
        "Vegetable",
        "Vegetable/Carrot",
        "Tofu",
        "Meat/Beef",
    ] {
        let r = c.cmd(&format!("s SUBSCRIBE {name}")).await;
        assert!(r[0].starts_with("s OK"), "{name}: {r:?}");
    }
    c
}

async fn subscribed_selection_lists_subscribed_names_only(store: Backend) {
    let w = World::new(store);
    let mut c = tree(&w).await;
    transcript(
        &mut c,
        r#"
        C: a1 LIST (SUBSCRIBED) "" ("Fruit*" "Vegetable*" "Tofu" "Meat*")
        S: * LIST (\HasNoChildren \Subscribed) "/" "Fruit/Banana"
        S: * LIST (\NonExistent \HasNoChildren \Subscribed) "/" "Meat/Beef"
        S: * LIST (\HasNoChildren \Subscribed) "/" "Tofu"
        S: * LIST (\HasChildren \Subscribed) "/" "Vegetable"
        S: * LIST (\HasNoChildren \Subscribed) "/" "Vegetable/Carrot"
        S: a1 OK LIST completed
        "#,
    )
    .await;
}

async fn recursivematch_adds_childinfo_for_parents_of_subscribed_names(store: Backend) {
    let w = World::new(store);
    let mut c = tree(&w).await;
    // RFC 5258 3.1: Fruit is not subscribed but has a subscribed child;
    // with "Fruit*" the child is listed itself, so Fruit is not (3.5);
    // Vegetable is subscribed and has one too; Meat does not exist and
    // only its child is subscribed; Tofu has no children.
    transcript(
        &mut c,
        r#"
        C: r1 LIST (SUBSCRIBED RECURSIVEMATCH) "" ("Fruit" "Vegetable" "Tofu" "Meat")
        S: * LIST (\HasChildren) "/" "Fruit" ("CHILDINFO" ("SUBSCRIBED"))
        S: * LIST (\NonExistent \HasNoChildren) "/" "Meat" ("CHILDINFO" ("SUBSCRIBED"))
        S: * LIST (\HasNoChildren \Subscribed) "/" "Tofu"
        S: * LIST (\HasChildren \Subscribed) "/" "Vegetable" ("CHILDINFO" ("SUBSCRIBED"))
        S: r1 OK LIST completed
        C: r2 LIST (SUBSCRIBED RECURSIVEMATCH) "" "Fruit*"
        S: * LIST (\HasNoChildren \Subscribed) "/" "Fruit/Banana"
        S: r2 OK LIST completed
        C: r3 LIST (SUBSCRIBED) "" "Fruit"
        S: r3 OK LIST completed
        C: r4 LIST (RECURSIVEMATCH) "" "*"
        S: r4 BAD ..
        C: r5 LIST (SPECIAL-USE RECURSIVEMATCH) "" "*"
        S: r5 BAD ..
        C: r6 UNSUBSCRIBE Fruit/Banana
        S: r6 OK ..
        C: r7 LIST (SUBSCRIBED RECURSIVEMATCH) "" "Fruit"
        S: r7 OK LIST completed
        "#,
    )
    .await;
}

async fn return_options_children_subscribed_special_use_status(store: Backend) {
    let w = World::new(store);
    let mut c = tree(&w).await;
    let body = "Subject: x\r\n\r\nx\r\n";
    c.cmd(&format!("a APPEND Tofu {{{}+}}\r\n{body}", body.len()))
        .await;
    transcript(
        &mut c,
        r#"
        C: o1 LIST "" "Fruit*" RETURN (CHILDREN)
        S: * LIST (\HasChildren) "/" "Fruit"
        S: * LIST (\HasNoChildren) "/" "Fruit/Apple"
        S: * LIST (\HasNoChildren) "/" "Fruit/Banana"
        S: o1 OK LIST completed
        C: o2 LIST "" "Fruit/%" RETURN (SUBSCRIBED)
        S: * LIST (\HasNoChildren) "/" "Fruit/Apple"
        S: * LIST (\HasNoChildren \Subscribed) "/" "Fruit/Banana"
        S: o2 OK LIST completed
        C: o3 LIST "" ("Sent" "Trash" "Tofu") RETURN (SPECIAL-USE)
        S: * LIST (\HasNoChildren \Sent) "/" "Sent"
        S: * LIST (\HasNoChildren) "/" "Tofu"
        S: * LIST (\HasNoChildren \Trash) "/" "Trash"
        S: o3 OK LIST completed
        C: o4 LIST (SPECIAL-USE) "" "*" RETURN (SUBSCRIBED CHILDREN)
        S: * LIST (\HasNoChildren \Subscribed \Archive) "/" "Archive"
        S: * LIST (\HasNoChildren \Subscribed \Drafts) "/" "Drafts"
        S: * LIST (\HasNoChildren \Subscribed \Junk) "/" "Junk"
        S: * LIST (\HasNoChildren \Subscribed \Sent) "/" "Sent"
        S: * LIST (\HasNoChildren \Subscribed \Trash) "/" "Trash"
        S: o4 OK LIST completed
        C: o5 LIST (SUBSCRIBED RECURSIVEMATCH) "" ("Fruit" "Tofu") RETURN (STATUS (MESSAGES))
        S: * LIST (\HasChildren) "/" "Fruit" ("CHILDINFO" ("SUBSCRIBED"))
        S: * LIST (\HasNoChildren \Subscribed) "/" "Tofu"
        S: * STATUS "Tofu" (MESSAGES 1)
        S: o5 OK LIST completed
        C: o6 LIST "" "%" RETURN (FROB)
        S: o6 BAD ..
        C: o7 NOOP
        S: o7 OK NOOP completed
        "#,
    )
    .await;
}

async fn nul_inside_a_mailbox_name_is_refused(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    for (tag, command) in [
        ("n1", &b"n1 CREATE {7+}\r\nab\x00cdef\r\n"[..]),
        ("n2", b"n2 SELECT {3+}\r\na\x00b\r\n"),
        ("n3", b"n3 RENAME INBOX {4+}\r\nx\x00/y\r\n"),
        ("n4", b"n4 APPEND {6+}\r\nINBOX\x00 {3+}\r\nx\r\n\r\n"),
        ("n5", b"n5 STATUS {2+}\r\n\x00\x00 (MESSAGES)\r\n"),
        ("n6", b"n6 CREATE \"ab\x00cd\"\r\n"),
        ("n7", b"n7 SUBSCRIBE {3+}\r\nx\x00y\r\n"),
    ] {
        c.send(command).await;
        let r = c.until_tagged(tag).await;
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].starts_with(&format!("{tag} NO")) || r[0].starts_with(&format!("{tag} BAD")),
            "{r:?}"
        );
    }
    // Nothing was made, and the session goes on (ENABLE UTF8=ACCEPT too).
    transcript(
        &mut c,
        r#"
        C: m1 LIST "" "*b*"
        S: m1 OK LIST completed
        C: m2 ENABLE UTF8=ACCEPT
        S: * ENABLED UTF8=ACCEPT
        S: m2 OK ..
        "#,
    )
    .await;
    c.send(b"m3 CREATE {3+}\r\na\x00b\r\n").await;
    let r = c.until_tagged("m3").await;
    assert!(r[0].starts_with("m3 NO [CANNOT]"), "{r:?}");
}

async fn refuses_invalid_utf8(c: &mut Client) {
    for (tag, command) in [
        // A lone continuation byte, a truncated sequence, an overlong `.`,
        // a surrogate, and bytes that are never UTF-8.
        ("u1", &b"u1 CREATE {4+}\r\nab\x80c\r\n"[..]),
        ("u2", b"u2 CREATE {3+}\r\nx\xe2\x82\r\n"),
        ("u3", b"u3 CREATE {5+}\r\n\xc0\xae\xc0\xae/\r\n"),
        ("u4", b"u4 SELECT {3+}\r\n\xed\xa0\x80\r\n"),
        ("u5", b"u5 STATUS \"\xff\xfe\" (MESSAGES)\r\n"),
        ("u6", b"u6 RENAME INBOX \"a\xc3\"\r\n"),
        ("u7", b"u7 LIST \"\" \"\xf8*\"\r\n"),
    ] {
        c.send(command).await;
        let r = c.until_tagged(tag).await;
        assert_eq!(r, vec![format!("{tag} BAD invalid UTF-8")], "{command:?}");
    }
    // Valid UTF-8 that walks out of the hierarchy is still refused.
    let r = c.cmd("v1 CREATE \"Caf\u{e9}/../x\"").await;
    assert!(r[0].starts_with("v1 NO [CANNOT]"), "{r:?}");
    let r = c.cmd("v2 CREATE \"Caf\u{e9}\"").await;
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        glob("v2 OK [MAILBOXID (F..)] CREATE completed", &r[0]),
        "{r:?}"
    );
    let r = c.cmd("v3 LIST \"\" \"*\"").await;
    assert!(
        r.contains(&"* LIST (\\HasNoChildren) \"/\" \"Caf\u{e9}\"".to_string()),
        "{r:?}"
    );
    assert_eq!(r.len(), 8, "nothing but the defaults and Café: {r:?}");
}

async fn invalid_utf8_names_under_utf8_accept(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    c.cmd("e ENABLE UTF8=ACCEPT").await;
    refuses_invalid_utf8(&mut c).await;
}

async fn invalid_utf8_names_under_imap4rev2(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    c.cmd("e ENABLE IMAP4rev2").await;
    refuses_invalid_utf8(&mut c).await;
}
