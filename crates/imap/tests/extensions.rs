//! Transcripts of the extensions added for issue 18: MULTIAPPEND (RFC
//! 3502), REPLACE (RFC 8508), OBJECTID (RFC 8474), each against the real
//! store and the in-memory model.

#[macro_use]
mod common;
use common::*;

both_stores!(
    multiappend_stores_all_with_one_appenduid,
    multiappend_is_all_or_nothing,
    multiappend_over_quota_stores_nothing,
    replace_moves_the_new_version_in_and_the_old_out,
    replace_into_the_selected_mailbox,
    replace_refusals_keep_the_old_message,
    capabilities_advertise_the_extensions,
    mailboxid_survives_rename_and_not_recreation,
    emailid_and_threadid_follow_copies_and_replies,
    object_ids_differ_between_accounts,
);

const MSG1: &str = "From: Carol <carol@example.net>\r\nTo: alice@example.org\r\nSubject: Lunch plans\r\nMessage-ID: <1@example.net>\r\n\r\nShall we meet at noon?\r\n";
const MSG2: &str = "From: Dave <dave@example.com>\r\nTo: alice@example.org\r\nSubject: Re: Lunch plans\r\nIn-Reply-To: <1@example.net>\r\nReferences: <1@example.net>\r\nMessage-ID: <2@example.com>\r\n\r\nNoon is fine.\r\n";
const DRAFT: &str = "From: alice@example.org\r\nSubject: Draft\r\n\r\nfirst version\r\n";
const DRAFT2: &str = "From: alice@example.org\r\nSubject: Draft\r\n\r\nsecond, longer version\r\n";

/// `(flags) {n+}` CRLF message: one APPEND/REPLACE message argument.
fn part(flags: &str, msg: &str) -> String {
    format!("({flags}) {{{}+}}\r\n{msg}", msg.len())
}

async fn status_messages(c: &mut Client, mailbox: &str) -> String {
    let r = c.cmd(&format!("st STATUS {mailbox} (MESSAGES)")).await;
    assert!(r.last().unwrap().starts_with("st OK"), "{r:?}");
    r[0].clone()
}

async fn multiappend_stores_all_with_one_appenduid(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    let line = format!(
        "a APPEND Drafts {} {} \"01-Feb-2024 10:00:00 +0000\" {}",
        part("\\Seen", MSG1),
        part("", MSG2),
        format_args!("{{{}+}}\r\n{DRAFT}", DRAFT.len())
    );
    let r = c.cmd(&line).await;
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        glob("a OK [APPENDUID .. 1:3] APPEND completed", &r[0]),
        "{r:?}"
    );
    let r = c.cmd("s SELECT Drafts").await;
    assert!(r.contains(&"* 3 EXISTS".to_string()), "{r:?}");
    transcript(
        &mut c,
        r#"
        C: f FETCH 1:3 (UID FLAGS INTERNALDATE)
        S: * 1 FETCH (UID 1 FLAGS (\Seen ..) INTERNALDATE ..)
        S: * 2 FETCH (UID 2 FLAGS (\Recent) INTERNALDATE ..)
        S: * 3 FETCH (UID 3 FLAGS (\Recent) INTERNALDATE "01-Feb-2024 10:00:00 +0000")
        S: f OK ..
        "#,
    )
    .await;
}

async fn multiappend_is_all_or_nothing(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    // A bad flag on the second message: nothing at all is stored.
    let line = format!(
        "a APPEND INBOX {} {}",
        part("", MSG1),
        part("\\Bogus", MSG2)
    );
    let r = c.cmd(&line).await;
    assert!(r[0].starts_with("a BAD"), "{r:?}");
    // An empty second message: NO, nothing stored.
    let line = format!("b APPEND INBOX {} {{0+}}\r\n", part("", MSG1));
    let r = c.cmd(&line).await;
    assert!(r[0].starts_with("b NO"), "{r:?}");
    // A missing mailbox: TRYCREATE, as for APPEND.
    let line = format!("c APPEND Nowhere {} {}", part("", MSG1), part("", MSG2));
    let r = c.cmd(&line).await;
    assert!(r[0].starts_with("c NO [TRYCREATE]"), "{r:?}");
    assert_eq!(
        status_messages(&mut c, "INBOX").await,
        "* STATUS \"INBOX\" (MESSAGES 0)"
    );
    // A syntax error after the first message: BAD, nothing stored.
    let line = format!("d APPEND INBOX {} (\\Seen)", part("", MSG1));
    let r = c.cmd(&line).await;
    assert!(r[0].starts_with("d BAD"), "{r:?}");
    assert_eq!(
        status_messages(&mut c, "INBOX").await,
        "* STATUS \"INBOX\" (MESSAGES 0)"
    );
}

async fn multiappend_over_quota_stores_nothing(store: Backend) {
    let quota = (MSG1.len() + MSG2.len() + 10) as u64;
    let w = World::build(
        store,
        Setup {
            alice_quota: Some(quota),
            ..Setup::default()
        },
    );
    let mut c = w.login().await;
    // Two fit, three do not: none is stored.
    let line = format!(
        "a APPEND INBOX {} {} {}",
        part("", MSG1),
        part("", MSG2),
        part("", DRAFT)
    );
    let r = c.cmd(&line).await;
    assert!(r[0].starts_with("a NO [OVERQUOTA]"), "{r:?}");
    assert_eq!(
        status_messages(&mut c, "INBOX").await,
        "* STATUS \"INBOX\" (MESSAGES 0)"
    );
    let line = format!("b APPEND INBOX {} {}", part("", MSG1), part("", MSG2));
    let r = c.cmd(&line).await;
    assert!(glob("b OK [APPENDUID .. 1:2] ..", &r[0]), "{r:?}");
}

/// A session with DRAFT as message 1 of Drafts, selected.
async fn with_a_draft(w: &World) -> Client {
    let mut c = w.login().await;
    let r = c
        .cmd(&format!("a APPEND Drafts {}", part("\\Draft", DRAFT)))
        .await;
    assert!(r[0].starts_with("a OK [APPENDUID"), "{r:?}");
    let r = c.cmd("s SELECT Drafts").await;
    assert!(r.last().unwrap().starts_with("s OK"), "{r:?}");
    c
}

async fn replace_moves_the_new_version_in_and_the_old_out(store: Backend) {
    let w = World::new(store);
    let mut c = with_a_draft(&w).await;
    let r = c
        .cmd(&format!("r REPLACE 1 Sent {}", part("\\Seen", DRAFT2)))
        .await;
    assert_eq!(r.len(), 3, "{r:?}");
    assert!(
        glob("* OK [APPENDUID .. 1] Replacement Message ready", &r[0]),
        "{r:?}"
    );
    assert_eq!(r[1], "* 1 EXPUNGE");
    assert_eq!(r[2], "r OK REPLACE completed");
    assert_eq!(
        status_messages(&mut c, "Sent").await,
        "* STATUS \"Sent\" (MESSAGES 1)"
    );
    let r = c.cmd("n NOOP").await;
    assert_eq!(r, vec!["n OK NOOP completed"]);
    assert_eq!(
        status_messages(&mut c, "Drafts").await,
        "* STATUS \"Drafts\" (MESSAGES 0)"
    );
}

async fn replace_into_the_selected_mailbox(store: Backend) {
    let w = World::new(store);
    let mut c = with_a_draft(&w).await;
    c.cmd("e ENABLE QRESYNC").await;
    let r = c
        .cmd(&format!(
            "r UID REPLACE 1 Drafts {}",
            part("\\Draft", DRAFT2)
        ))
        .await;
    assert!(
        glob("* OK [APPENDUID .. 2] Replacement Message ready", &r[0]),
        "{r:?}"
    );
    assert_eq!(r[1], "* VANISHED 1");
    assert_eq!(r[2], "* 1 EXISTS");
    assert_eq!(r.last().unwrap(), "r OK REPLACE completed");
    let r = c.cmd("f UID FETCH 1:* (RFC822.SIZE)").await;
    assert_eq!(
        r[0],
        format!("* 1 FETCH (UID 2 RFC822.SIZE {})", DRAFT2.len())
    );
}

async fn replace_refusals_keep_the_old_message(store: Backend) {
    let w = World::new(store);
    let mut c = with_a_draft(&w).await;
    let msg = part("", DRAFT2);
    for (cmd, answer) in [
        (format!("r1 REPLACE 1 Nowhere {msg}"), "r1 NO [TRYCREATE]"),
        (
            "r2 REPLACE 1 Sent (\\Bogus) {1+}\r\nx".to_string(),
            "r2 BAD",
        ),
        (format!("r3 REPLACE 2 Sent {msg}"), "r3 BAD"),
        (
            format!("r4 UID REPLACE 7 Sent {msg}"),
            "r4 NO [NONEXISTENT]",
        ),
    ] {
        let r = c.cmd(&cmd).await;
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].starts_with(answer), "{cmd:?}: {r:?}");
    }
    c.cmd("x EXAMINE Drafts").await;
    let r = c.cmd(&format!("r5 REPLACE 1 Sent {msg}")).await;
    assert!(r[0].starts_with("r5 NO"), "{r:?}");
    c.cmd("y UNSELECT").await;
    let r = c.cmd(&format!("r6 REPLACE 1 Sent {msg}")).await;
    assert!(r[0].starts_with("r6 BAD"), "{r:?}");
    assert_eq!(
        status_messages(&mut c, "Drafts").await,
        "* STATUS \"Drafts\" (MESSAGES 1)"
    );
    assert_eq!(
        status_messages(&mut c, "Sent").await,
        "* STATUS \"Sent\" (MESSAGES 0)"
    );
}

async fn capabilities_advertise_the_extensions(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    let r = c.cmd("c CAPABILITY").await;
    let caps: Vec<&str> = r[0].split(' ').collect();
    for ext in ["MULTIAPPEND", "REPLACE", "OBJECTID"] {
        assert!(caps.contains(&ext), "{ext} missing: {r:?}");
    }
}

/// The parenthesized object id in `text`, after `item (`.
fn object_id(text: &str, item: &str) -> String {
    let start = text
        .find(&format!("{item} ("))
        .unwrap_or_else(|| panic!("no {item} in {text:?}"))
        + item.len()
        + 2;
    let end = start + text[start..].find(')').unwrap();
    let id = text[start..end].to_string();
    assert!(
        !id.is_empty()
            && id.len() <= 255
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "{id:?}"
    );
    id
}

async fn mailboxid_survives_rename_and_not_recreation(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    let r = c.cmd("c1 CREATE Projects").await;
    let created = object_id(&r[0], "MAILBOXID");
    assert!(r[0].starts_with("c1 OK [MAILBOXID ("), "{r:?}");
    let r = c.cmd("s1 STATUS Projects (MESSAGES MAILBOXID)").await;
    assert_eq!(
        r[0],
        format!("* STATUS \"Projects\" (MESSAGES 0 MAILBOXID ({created}))")
    );
    let r = c.cmd("r1 RENAME Projects Work").await;
    assert!(r[0].starts_with("r1 OK"), "{r:?}");
    let r = c.cmd("x1 SELECT Work").await;
    assert!(
        r.contains(&format!("* OK [MAILBOXID ({created})] Ok")),
        "{r:?}"
    );
    c.cmd("u1 UNSELECT").await;
    let r = c.cmd("l1 LIST \"\" Work RETURN (STATUS (MAILBOXID))").await;
    assert!(
        r.contains(&format!("* STATUS \"Work\" (MAILBOXID ({created}))")),
        "{r:?}"
    );
    c.cmd("d1 DELETE Work").await;
    let r = c.cmd("c2 CREATE Work").await;
    assert_ne!(object_id(&r[0], "MAILBOXID"), created);
    // Each mailbox has its own.
    let r = c.cmd("s2 STATUS INBOX (MAILBOXID)").await;
    assert_ne!(object_id(&r[0], "MAILBOXID"), created);
}

/// FETCH of EMAILID and THREADID of every message of the selected mailbox.
async fn ids(c: &mut Client) -> Vec<(String, String)> {
    let r = c.cmd("f FETCH 1:* (EMAILID THREADID)").await;
    assert!(r.last().unwrap().starts_with("f OK"), "{r:?}");
    r[..r.len() - 1]
        .iter()
        .map(|l| (object_id(l, "EMAILID"), object_id(l, "THREADID")))
        .collect()
}

async fn emailid_and_threadid_follow_copies_and_replies(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    let line = format!("a APPEND INBOX {} {}", part("", MSG1), part("", MSG2));
    assert!(c.cmd(&line).await[0].starts_with("a OK"));
    let line = format!("b APPEND INBOX {}", part("", DRAFT));
    assert!(c.cmd(&line).await[0].starts_with("b OK"));
    c.cmd("s SELECT INBOX").await;
    let inbox = ids(&mut c).await;
    assert_eq!(inbox.len(), 3);
    // Three messages, three EMAILIDs; the reply shares its parent's thread.
    assert_ne!(inbox[0].0, inbox[1].0);
    assert_ne!(inbox[1].0, inbox[2].0);
    assert_eq!(inbox[0].1, inbox[1].1);
    assert_ne!(inbox[0].1, inbox[2].1);
    // Ids are stable: asked again, the same.
    assert_eq!(ids(&mut c).await, inbox);
    // SEARCH by them.
    let r = c.cmd(&format!("q1 SEARCH EMAILID {}", inbox[1].0)).await;
    assert_eq!(r[0], "* SEARCH 2");
    let r = c
        .cmd(&format!("q2 UID SEARCH THREADID {}", inbox[0].1))
        .await;
    assert_eq!(r[0], "* SEARCH 1 2");
    let r = c.cmd("q3 SEARCH EMAILID Mnothing").await;
    assert_eq!(r[0], "* SEARCH");
    let r = c.cmd("q4 SEARCH EMAILID bad!id").await;
    assert!(r[0].starts_with("q4 BAD"), "{r:?}");
    // COPY and MOVE keep EMAILID and THREADID (RFC 8474 5.1).
    c.cmd("m1 COPY 1 Archive").await;
    c.cmd("m2 MOVE 2 Archive").await;
    c.cmd("s2 SELECT Archive").await;
    assert_eq!(ids(&mut c).await, vec![inbox[0].clone(), inbox[1].clone()]);
}

async fn object_ids_differ_between_accounts(store: Backend) {
    let w = World::new(store);
    let mut alice = w.login().await;
    let mut bob = w.connect(true).await;
    let r = bob.cmd(&format!("L LOGIN {USER2} \"{PASS}\"")).await;
    assert!(r.last().unwrap().starts_with("L OK"), "{r:?}");
    let mut seen = Vec::new();
    for c in [&mut alice, &mut bob] {
        let line = format!("a APPEND INBOX {}", part("", MSG1));
        assert!(c.cmd(&line).await[0].starts_with("a OK"));
        c.cmd("s SELECT INBOX").await;
        let mine = ids(c).await;
        let r = c.cmd("t STATUS INBOX (MAILBOXID)").await;
        seen.push((mine, object_id(&r[0], "MAILBOXID")));
    }
    // The same message, the same kind of mailbox: nothing in common.
    assert_ne!(seen[0].0[0].0, seen[1].0[0].0);
    assert_ne!(seen[0].0[0].1, seen[1].0[0].1);
    assert_ne!(seen[0].1, seen[1].1);
}
