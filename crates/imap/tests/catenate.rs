//! Transcripts of CATENATE (RFC 4469): messages built from TEXT literals
//! and IMAP URLs (RFC 5092) naming messages and sections, absolute and
//! relative, together with MULTIAPPEND and APPENDUID; every way a URL can
//! name nothing readable (`NO [BADURL]`, the same for a shared mailbox
//! without `r` as for a missing one), the limits (`TOOBIG`, parts), and
//! that a failure appends nothing; REPLACE with CATENATE (RFC 8508). Against the real store and the model.

#[macro_use]
mod common;
use common::*;

both_stores!(
    text_and_url_parts_make_one_message,
    relative_urls_use_the_selected_mailbox,
    multiappend_mixes_literals_and_catenate,
    bad_urls_append_nothing,
    unreadable_shared_mailbox_is_a_missing_one,
    readable_shared_mailbox_can_be_catenated,
    size_and_part_limits,
    replace_builds_its_message_with_catenate,
);

const MIXED: &str = "From: Ann <ann@example.org>\r\nSubject: Parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--b\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--b--\r\n";

fn literal(msg: &str) -> String {
    format!("{{{}+}}\r\n{msg}", msg.len())
}

async fn ok(c: &mut Client, line: &str) -> Vec<String> {
    let r = c.cmd(line).await;
    let tag = line.split(' ').next().unwrap();
    assert!(
        r.last().unwrap().starts_with(&format!("{tag} OK")),
        "{line}: {r:?}"
    );
    r
}

/// The UIDVALIDITY of `mailbox`.
async fn validity(c: &mut Client, mailbox: &str) -> u32 {
    let r = ok(c, &format!("v STATUS {mailbox} (UIDVALIDITY)")).await;
    let n = r[0].rsplit(' ').next().unwrap().trim_end_matches(')');
    n.parse().unwrap()
}

/// alice with MIXED as INBOX UID 1 and an empty Out.
async fn alice(w: &World) -> (Client, u32) {
    let mut c = w.login().await;
    let r = c.cmd("c CAPABILITY").await;
    assert!(r[0].split(' ').any(|c| c == "CATENATE"), "{r:?}");
    ok(&mut c, &format!("a APPEND INBOX {}", literal(MIXED))).await;
    ok(&mut c, "c CREATE Out").await;
    let v = validity(&mut c, "INBOX").await;
    (c, v)
}

/// The body of message `uid` of `mailbox`, as FETCH BODY[] gives it.
async fn body(c: &mut Client, mailbox: &str, uid: u32) -> String {
    ok(c, &format!("x EXAMINE {mailbox}")).await;
    let r = ok(c, &format!("f UID FETCH {uid} BODY.PEEK[]")).await;
    ok(c, "u UNSELECT").await;
    let fetch = r.iter().find(|l| l.starts_with("* ")).unwrap();
    let open = fetch.find("}\r\n").unwrap();
    fetch[open + 3..fetch.len() - 1].to_string()
}

async fn text_and_url_parts_make_one_message(store: Backend) {
    let w = World::new(store);
    let (mut c, v) = alice(&w).await;
    let head = "Subject: Forwarded\r\n\r\n";
    let r = ok(
        &mut c,
        &format!(
            "a APPEND Out (\\Seen) CATENATE (TEXT {} URL \"/INBOX;UIDVALIDITY={v}/;UID=1/;SECTION=2\" TEXT {} URL \"/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(SUBJECT)/;PARTIAL=0.8\" URL \"imap://alice%40example.org@mail.example.org/INBOX/;UID=1/;SECTION=1\")",
            literal(head),
            literal("\r\n--\r\n")
        ),
    )
    .await;
    let dv = validity(&mut c, "Out").await;
    assert_eq!(
        r.last().unwrap(),
        &format!("a OK [APPENDUID {dv} 1] APPEND completed")
    );
    assert_eq!(
        body(&mut c, "Out", 1).await,
        format!("{head}second part\r\n--\r\nSubject:first part")
    );
    let r = ok(&mut c, "s STATUS Out (MESSAGES UNSEEN)").await;
    assert_eq!(r[0], "* STATUS \"Out\" (MESSAGES 1 UNSEEN 0)");
    // Catenating a message's parts does not set its \Seen (RFC 4469 3).
    let r = ok(&mut c, "s STATUS INBOX (UNSEEN)").await;
    assert_eq!(r[0], "* STATUS \"INBOX\" (UNSEEN 1)");
    // The whole message, by a URL without section.
    ok(&mut c, "b APPEND Out CATENATE (URL /INBOX/;UID=1)").await;
    assert_eq!(body(&mut c, "Out", 2).await, MIXED);
}

async fn relative_urls_use_the_selected_mailbox(store: Backend) {
    let w = World::new(store);
    let (mut c, _) = alice(&w).await;
    // Nothing selected: a relative URL has no base.
    let r = c
        .cmd("a APPEND Out CATENATE (URL \";UID=1/;SECTION=TEXT\")")
        .await;
    assert!(
        r.last()
            .unwrap()
            .starts_with("a NO [BADURL ;UID=1/;SECTION=TEXT] "),
        "{r:?}"
    );
    ok(&mut c, "s SELECT INBOX").await;
    let r = ok(
        &mut c,
        "b APPEND Out CATENATE (URL \";UID=1/;SECTION=1\" TEXT {2+}\r\n!!)",
    )
    .await;
    assert!(r.last().unwrap().ends_with(" 1] APPEND completed"), "{r:?}");
    // INBOX is still the selected mailbox, and its message still unseen
    // (RFC 4469 3: APPEND changes neither).
    let r = ok(&mut c, "f UID FETCH 1 FLAGS").await;
    assert!(
        r[0].starts_with("* 1 FETCH (") && !r[0].contains("\\Seen"),
        "{r:?}"
    );
    ok(&mut c, "u UNSELECT").await;
    assert_eq!(body(&mut c, "Out", 1).await, "first part!!");
}

async fn multiappend_mixes_literals_and_catenate(store: Backend) {
    let w = World::new(store);
    let (mut c, _) = alice(&w).await;
    let plain = "Subject: plain\r\n\r\nplain\r\n";
    let r = ok(
        &mut c,
        &format!(
            "a APPEND Out {} CATENATE (TEXT {} URL /INBOX/;UID=1/;SECTION=1) (\\Flagged) {}",
            literal(plain),
            literal("Subject: cat\r\n\r\n"),
            literal(plain)
        ),
    )
    .await;
    let dv = validity(&mut c, "Out").await;
    assert_eq!(
        r.last().unwrap(),
        &format!("a OK [APPENDUID {dv} 1:3] APPEND completed")
    );
    assert_eq!(
        body(&mut c, "Out", 2).await,
        "Subject: cat\r\n\r\nfirst part"
    );
    // One bad URL in the third message: none of the three is appended.
    let r = c
        .cmd(&format!(
            "b APPEND Out {} {} CATENATE (URL /INBOX/;UID=9)",
            literal(plain),
            literal(plain)
        ))
        .await;
    assert_eq!(
        r.last().unwrap(),
        "b NO [BADURL /INBOX/;UID=9] CATENATE: the URL names nothing this user can read"
    );
    let r = ok(&mut c, "s STATUS Out (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"Out\" (MESSAGES 3)");
}

async fn bad_urls_append_nothing(store: Backend) {
    let w = World::new(store);
    let (mut c, v) = alice(&w).await;
    let wrong = v.wrapping_add(1).max(1);
    for url in [
        format!("/INBOX;UIDVALIDITY={wrong}/;UID=1"),
        "/INBOX/;UID=2".to_string(),
        "/Nowhere/;UID=1".to_string(),
        "/INBOX/;UID=1/;SECTION=7".to_string(),
        "/INBOX/;UID=1/;SECTION=BOGUS".to_string(),
        "/INBOX/;UID=1/;URLAUTH=anonymous".to_string(),
        "imap://bob%40example.org@host/INBOX/;UID=1".to_string(),
        "http://host/INBOX/;UID=1".to_string(),
        "/INBOX/;UID=1]x".to_string(),
    ] {
        let r = c
            .cmd(&format!(
                "a APPEND Out CATENATE (TEXT {} URL \"{url}\")",
                literal("x")
            ))
            .await;
        let shown = url.replace(']', "");
        assert_eq!(
            r.last().unwrap(),
            &format!("a NO [BADURL {shown}] CATENATE: the URL names nothing this user can read"),
            "{url}"
        );
    }
    let r = ok(&mut c, "s STATUS Out (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"Out\" (MESSAGES 0)");
    // A missing destination is still TRYCREATE once the parts are built.
    let r = c.cmd("b APPEND Nope CATENATE (URL /INBOX/;UID=1)").await;
    assert!(r.last().unwrap().starts_with("b NO [TRYCREATE]"), "{r:?}");
    // Malformed CATENATE is BAD.
    for bad in [
        "c APPEND Out CATENATE ()",
        "c APPEND Out CATENATE (URL)",
        "c APPEND Out CATENATE (TEXT \"quoted\")",
        "c APPEND Out CATENATE (FILE x)",
        "c APPEND Out CATENATE URL x",
    ] {
        let r = c.cmd(bad).await;
        assert!(r.last().unwrap().starts_with("c BAD"), "{bad}: {r:?}");
    }
    // An empty message is refused.
    let r = c.cmd("d APPEND Out CATENATE (TEXT {0+}\r\n)").await;
    assert!(r.last().unwrap().starts_with("d NO"), "{r:?}");
}

/// alice's Team (holding MIXED) shared with bob as `rights`; bob logged in.
async fn team(w: &World, rights: &str) -> (Client, Client) {
    let (mut alice, _) = alice(w).await;
    ok(&mut alice, "c CREATE Team").await;
    ok(&mut alice, &format!("a APPEND Team {}", literal(MIXED))).await;
    ok(&mut alice, "c CREATE Private").await;
    ok(&mut alice, &format!("a APPEND Private {}", literal(MIXED))).await;
    ok(&mut alice, &format!("s SETACL Team {USER2} {rights}")).await;
    let mut bob = w.connect(true).await;
    ok(&mut bob, &format!("L LOGIN {USER2} \"{PASS}\"")).await;
    (alice, bob)
}

async fn unreadable_shared_mailbox_is_a_missing_one(store: Backend) {
    let w = World::new(store);
    // `l` and `i` but no `r`: bob sees Team but may not read it.
    let (_alice, mut bob) = team(&w, "li").await;
    let answer = |url: &str| {
        format!("a NO [BADURL {url}] CATENATE: the URL names nothing this user can read")
    };
    for url in [
        "/Shared/alice%40example.org/Team/;UID=1",
        "/Shared/alice%40example.org/Private/;UID=1",
        "/Shared/alice%40example.org/Nowhere/;UID=1",
        "imap://alice%40example.org@host/Team/;UID=1",
    ] {
        let r = bob
            .cmd(&format!("a APPEND INBOX CATENATE (URL \"{url}\")"))
            .await;
        assert_eq!(r.last().unwrap(), &answer(url), "{url}");
    }
    let r = ok(&mut bob, "s STATUS INBOX (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"INBOX\" (MESSAGES 0)");
}

async fn readable_shared_mailbox_can_be_catenated(store: Backend) {
    let w = World::new(store);
    let (mut alice, mut bob) = team(&w, "lr").await;
    ok(
        &mut bob,
        "a APPEND INBOX CATENATE (URL \"/Shared/alice%40example.org/Team/;UID=1/;SECTION=2\")",
    )
    .await;
    assert_eq!(body(&mut bob, "INBOX", 1).await, "second part");
    // Relative to a selected shared mailbox, too.
    ok(&mut bob, "s EXAMINE Shared/alice@example.org/Team").await;
    ok(&mut bob, "b APPEND INBOX CATENATE (URL ;UID=1/;SECTION=1)").await;
    ok(&mut bob, "u UNSELECT").await;
    assert_eq!(body(&mut bob, "INBOX", 2).await, "first part");
    // Once revoked, the same URL is a missing one.
    ok(&mut alice, &format!("d DELETEACL Team {USER2}")).await;
    let url = "/Shared/alice%40example.org/Team/;UID=1/;SECTION=2";
    let r = bob
        .cmd(&format!("c APPEND INBOX CATENATE (URL \"{url}\")"))
        .await;
    assert!(
        r.last()
            .unwrap()
            .starts_with(&format!("c NO [BADURL {url}]")),
        "{r:?}"
    );
}

async fn size_and_part_limits(store: Backend) {
    let w = World::with_imap(store, "max_literal = 300");
    let (mut c, _) = alice(&w).await;
    // MIXED is 188 octets: once fits, twice does not.
    assert!(MIXED.len() * 2 > 300 && MIXED.len() < 300);
    ok(&mut c, "a APPEND Out CATENATE (URL /INBOX/;UID=1)").await;
    let r = c
        .cmd("b APPEND Out CATENATE (URL /INBOX/;UID=1 URL /INBOX/;UID=1)")
        .await;
    assert!(r.last().unwrap().starts_with("b NO [TOOBIG]"), "{r:?}");
    // Across the messages of one APPEND, too.
    let r = c
        .cmd("c APPEND Out CATENATE (URL /INBOX/;UID=1) CATENATE (URL /INBOX/;UID=1)")
        .await;
    assert!(r.last().unwrap().starts_with("c NO [TOOBIG]"), "{r:?}");
    let r = ok(&mut c, "s STATUS Out (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"Out\" (MESSAGES 1)");
    // More parts than one APPEND may carry.
    let parts = vec!["URL /INBOX/;UID=1"; 257].join(" ");
    let r = c.cmd(&format!("d APPEND Out CATENATE ({parts})")).await;
    assert!(r.last().unwrap().starts_with("d BAD"), "{r:?}");
}

async fn replace_builds_its_message_with_catenate(store: Backend) {
    let w = World::new(store);
    let (mut c, v) = alice(&w).await;
    // Not selected: REPLACE is not valid.
    let r = c
        .cmd("a UID REPLACE 1 INBOX CATENATE (URL /INBOX/;UID=1)")
        .await;
    assert!(r.last().unwrap().starts_with("a BAD"), "{r:?}");
    ok(&mut c, "s SELECT INBOX").await;
    // A bad URL: the old message stays.
    let r = c.cmd("b UID REPLACE 1 INBOX CATENATE (URL ;UID=5)").await;
    assert!(
        r.last().unwrap().starts_with("b NO [BADURL ;UID=5]"),
        "{r:?}"
    );
    // The new message quotes the one it replaces.
    let head = "Subject: edited\r\n\r\n";
    let r = ok(
        &mut c,
        &format!(
            "r UID REPLACE 1 INBOX CATENATE (TEXT {} URL \";UID=1/;SECTION=1\")",
            literal(head)
        ),
    )
    .await;
    assert_eq!(
        r,
        [
            format!("* OK [APPENDUID {v} 2] Replacement Message ready"),
            "* 1 EXPUNGE".to_string(),
            "* 1 EXISTS".to_string(),
            "* 1 RECENT".to_string(),
            "r OK REPLACE completed".to_string(),
        ]
    );
    ok(&mut c, "u UNSELECT").await;
    assert_eq!(body(&mut c, "INBOX", 2).await, format!("{head}first part"));
    // Under UIDONLY a sequence number is refused before any URL is read.
    ok(&mut c, "e ENABLE UIDONLY").await;
    ok(&mut c, "s SELECT INBOX").await;
    let r = c.cmd("x REPLACE 1 INBOX CATENATE (URL ;UID=2)").await;
    assert!(
        r.last().unwrap().starts_with("x BAD [UIDREQUIRED]"),
        "{r:?}"
    );
}
