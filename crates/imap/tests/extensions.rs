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
        (format!("r2 REPLACE 1 Sent (\\Bogus) {{1+}}\r\nx"), "r2 BAD"),
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
    for ext in ["MULTIAPPEND", "REPLACE"] {
        assert!(caps.contains(&ext), "{ext} missing: {r:?}");
    }
}
