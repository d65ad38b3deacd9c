//! Transcripts of RFC behaviours strict clients and conformance scripts
//! check (issue 18): keywords announced in FLAGS before they show, rev1
//! `\Recent` in EXAMINE and STATUS, CONDSTORE's MIN/MAX MODSEQ and
//! HIGHESTMODSEQ, SORT and THREAD per RFC 5256, empty body parts.

#[macro_use]
mod common;
use common::*;

both_stores!(
    new_keyword_is_announced_in_flags_to_every_session,
    own_fetch_of_unannounced_keyword_sends_flags_first,
    examine_and_status_report_recent_without_claiming,
    new_message_is_recent_in_exactly_one_session,
    fetch_star_in_an_empty_mailbox_is_ok,
    search_min_max_modseq_is_the_returned_messages,
    highestmodseq_where_condstore_asks,
    sort_cc_and_base_subject,
    thread_references_plain_chain,
    thread_references_tricky_cases,
    list_invalid_mutf7_pattern_matches_nothing,
    empty_body_parts_are_zero_length_literals,
);

const MSG: &str =
    "From: Carol <carol@example.net>\r\nTo: alice@example.org\r\nSubject: Lunch\r\n\r\nNoon?\r\n";

async fn append(c: &mut Client, mailbox: &str, flags: &str, msg: &str) -> String {
    let line = format!("ap APPEND {mailbox} ({flags}) {{{}+}}\r\n{msg}", msg.len());
    let r = c.cmd(&line).await;
    r.last().unwrap().clone()
}

/// Two sessions with INBOX selected, holding `n` messages.
async fn two_sessions(w: &World, n: usize) -> (Client, Client) {
    let mut a = w.login().await;
    for _ in 0..n {
        assert!(append(&mut a, "INBOX", "", MSG).await.contains("OK"));
    }
    let r = a.cmd("s SELECT INBOX").await;
    assert!(r.last().unwrap().starts_with("s OK"), "{r:?}");
    let mut b = w.login().await;
    let r = b.cmd("s SELECT INBOX").await;
    assert!(r.last().unwrap().starts_with("s OK"), "{r:?}");
    (a, b)
}

async fn new_keyword_is_announced_in_flags_to_every_session(store: Backend) {
    let w = World::new(store);
    let (mut a, mut b) = two_sessions(&w, 2).await;
    // The session that sets it: FLAGS and PERMANENTFLAGS before its FETCH.
    transcript(
        &mut a,
        r#"
        C: k1 STORE 1 +FLAGS ($Important)
        S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important)
        S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important \*)] Flags permitted
        S: * 1 FETCH (FLAGS (\Recent $Important))
        S: k1 OK STORE completed
        C: k2 STORE 2 +FLAGS (\Seen)
        S: * 2 FETCH (FLAGS (\Seen \Recent))
        S: k2 OK STORE completed
        "#,
    )
    .await;
    // The other session: FLAGS before the FETCH that shows the keyword.
    transcript(
        &mut b,
        r#"
        C: n1 NOOP
        S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important)
        S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important \*)] Flags permitted
        S: * 1 FETCH (FLAGS ($Important))
        S: * 2 FETCH (FLAGS (\Seen))
        S: n1 OK NOOP completed
        "#,
    )
    .await;
    // Known keywords (any case) are not announced again.
    transcript(
        &mut a,
        r#"
        C: k3 STORE 2 +FLAGS.SILENT ($important)
        S: k3 OK STORE completed
        "#,
    )
    .await;
    let r = b.cmd("n2 NOOP").await;
    assert_eq!(
        r,
        vec![
            "* 2 FETCH (FLAGS (\\Seen $important))",
            "n2 OK NOOP completed"
        ]
    );
    // A read-only session hears of it too, with no permanent flags (and
    // without `\Recent`: `a` has INBOX selected and claimed it first).
    let mut c = w.login().await;
    c.cmd("e EXAMINE INBOX").await;
    append(&mut a, "INBOX", "$Junk", MSG).await;
    let r = c.cmd("n3 NOOP").await;
    assert_eq!(
        r,
        vec![
            "* 3 EXISTS",
            "* 0 RECENT",
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important $Junk)",
            "* OK [PERMANENTFLAGS ()] Flags permitted",
            "n3 OK NOOP completed"
        ]
    );
}

async fn own_fetch_of_unannounced_keyword_sends_flags_first(store: Backend) {
    let w = World::new(store);
    let (mut a, mut b) = two_sessions(&w, 1).await;
    b.cmd("k STORE 1 +FLAGS.SILENT (Work)").await;
    // a fetches before it asked for updates: FETCH FLAGS is the first to
    // show the keyword, so FLAGS comes before it.
    a.send(b"f1 FETCH 1 (FLAGS)\r\n").await;
    let mut got = Vec::new();
    loop {
        let l = a.line().await;
        let done = l.starts_with("f1 ");
        got.push(l);
        if done {
            break;
        }
    }
    let flags = got
        .iter()
        .position(|l| l.starts_with("* FLAGS ("))
        .expect("FLAGS");
    let fetch = got
        .iter()
        .position(|l| l.contains("FETCH (FLAGS (\\Recent Work))"));
    assert!(got[flags].ends_with(" Work)"), "{got:?}");
    assert!(fetch.is_some_and(|f| f > flags), "{got:?}");
}

async fn examine_and_status_report_recent_without_claiming(store: Backend) {
    let w = World::new(store);
    let mut a = w.login().await;
    for _ in 0..2 {
        append(&mut a, "INBOX", "", MSG).await;
    }
    // STATUS and EXAMINE count them, and leave them \Recent.
    transcript(
        &mut a,
        r#"
        C: s1 STATUS INBOX (MESSAGES RECENT)
        S: * STATUS "INBOX" (MESSAGES 2 RECENT 2)
        S: s1 OK STATUS completed
        C: e1 EXAMINE INBOX
        S: * FLAGS (..)
        S: * 2 EXISTS
        S: * 2 RECENT
        S: ..
        "#,
    )
    .await;
    let r = a.until_tagged("e1").await;
    assert!(r.last().unwrap().starts_with("e1 OK [READ-ONLY]"), "{r:?}");
    let r = a.cmd("f1 FETCH 1:* (FLAGS)").await;
    assert!(r[0].contains("\\Recent"), "{r:?}");
    let r = a.cmd("e2 EXAMINE INBOX").await;
    assert!(r.contains(&"* 2 RECENT".to_string()), "{r:?}");
    // SELECT claims them; from then on nobody else sees them recent.
    let r = a.cmd("s2 SELECT INBOX").await;
    assert!(r.contains(&"* 2 RECENT".to_string()), "{r:?}");
    let mut b = w.login().await;
    transcript(
        &mut b,
        r#"
        C: s3 STATUS INBOX (RECENT)
        S: * STATUS "INBOX" (RECENT 0)
        S: s3 OK STATUS completed
        "#,
    )
    .await;
    let r = b.cmd("e3 EXAMINE INBOX").await;
    assert!(r.contains(&"* 0 RECENT".to_string()), "{r:?}");
}

async fn new_message_is_recent_in_exactly_one_session(store: Backend) {
    let w = World::new(store);
    let (mut a, mut b) = two_sessions(&w, 0).await;
    let mut e = w.login().await;
    e.cmd("e EXAMINE INBOX").await;
    // Delivered by a fourth session that has nothing selected.
    let mut d = w.login().await;
    append(&mut d, "INBOX", "", MSG).await;
    // The read-only session sees it recent while nobody has claimed it.
    let r = e.cmd("n0 NOOP").await;
    assert_eq!(r, ["* 1 EXISTS", "* 1 RECENT", "n0 OK NOOP completed"]);
    // The first read-write session told of it claims it...
    let r = b.cmd("n1 NOOP").await;
    assert_eq!(r, ["* 1 EXISTS", "* 1 RECENT", "n1 OK NOOP completed"]);
    let r = b.cmd("f1 FETCH 1 (FLAGS)").await;
    assert_eq!(r[0], "* 1 FETCH (FLAGS (\\Recent))");
    // ...and the other one sees it without.
    let r = a.cmd("n2 NOOP").await;
    assert_eq!(r, ["* 1 EXISTS", "* 0 RECENT", "n2 OK NOOP completed"]);
    let r = a.cmd("f2 FETCH 1 (FLAGS)").await;
    assert_eq!(r[0], "* 1 FETCH (FLAGS ())");
    let r = a.cmd("s2 SEARCH RECENT").await;
    assert_eq!(r[0], "* SEARCH");
    // Nor does a later SELECT or STATUS count it again.
    let r = d.cmd("st STATUS INBOX (RECENT)").await;
    assert_eq!(r[0], "* STATUS \"INBOX\" (RECENT 0)");
    let r = d.cmd("s SELECT INBOX").await;
    assert!(r.contains(&"* 0 RECENT".to_string()), "{r:?}");
    // In IDLE the same: the idling session is told first and claims it.
    a.send(b"i IDLE\r\n").await;
    assert_eq!(a.line().await, "+ idling");
    // `d` has INBOX selected too and is told at its APPEND's end, so the
    // one who claims it is whichever is told first: exactly one of them.
    let r = d
        .cmd(&format!("ap APPEND INBOX {{{}+}}\r\n{MSG}", MSG.len()))
        .await;
    assert!(r.contains(&"* 2 EXISTS".to_string()), "{r:?}");
    let d_recent = r.contains(&"* 1 RECENT".to_string());
    assert_eq!(a.line().await, "* 2 EXISTS");
    let idle_recent = a.line().await;
    a.send(b"DONE\r\n").await;
    assert_eq!(a.line().await, "i OK IDLE terminated");
    let a_recent = idle_recent == "* 1 RECENT";
    assert!(
        a_recent != d_recent,
        "exactly one session: idle {idle_recent:?}, appender {r:?}"
    );
}

async fn fetch_star_in_an_empty_mailbox_is_ok(store: Backend) {
    let w = World::new(store);
    let mut a = w.login().await;
    // As Dovecot: a range with `*` names nothing in an empty mailbox; an
    // explicit number past the end is still an error (RFC 9051 6.4.5).
    let r = a.cmd("s SELECT INBOX").await;
    assert!(r.contains(&"* 0 EXISTS".to_string()), "{r:?}");
    transcript(
        &mut a,
        r#"
        C: f1 FETCH 1:* (FLAGS)
        S: f1 OK FETCH completed
        C: f2 FETCH * (FLAGS)
        S: f2 OK FETCH completed
        C: f3 STORE 1:* +FLAGS (\Seen)
        S: f3 OK STORE completed
        C: f4 SEARCH 1:*
        S: * SEARCH
        S: f4 OK SEARCH completed
        C: f5 COPY 1:* Trash
        S: f5 OK ..
        C: f6 FETCH 1 (FLAGS)
        S: f6 BAD Invalid message sequence number
        C: f7 FETCH 1:2 (FLAGS)
        S: f7 BAD Invalid message sequence number
        C: f8 UID FETCH 1:* (FLAGS)
        S: f8 OK FETCH completed
        "#,
    )
    .await;
}

/// The number after `key (` or `key ` in a response line.
fn number_after(line: &str, key: &str) -> u64 {
    let rest = line
        .split(key)
        .nth(1)
        .unwrap_or_else(|| panic!("{key} in {line}"));
    let digits: String = rest
        .trim_start_matches(['(', ' '])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap_or_else(|_| panic!("{key} in {line}"))
}

async fn search_min_max_modseq_is_the_returned_messages(store: Backend) {
    let w = World::new(store);
    let (mut a, _b) = two_sessions(&w, 3).await;
    // Message 2 gets the highest modseq.
    a.cmd("c1 STORE 2 +FLAGS.SILENT (\\Flagged)").await;
    let r = a.cmd("c2 FETCH 1:3 (MODSEQ)").await;
    let m: Vec<u64> = r[..3].iter().map(|l| number_after(l, "MODSEQ ")).collect();
    assert!(m[1] > m[0] && m[1] > m[2], "{r:?}");
    let esearch = |r: &[String]| {
        r.iter()
            .find(|l| l.starts_with("* ESEARCH"))
            .cloned()
            .unwrap()
    };
    let r = a.cmd("s1 SEARCH RETURN (MIN) MODSEQ 1").await;
    assert_eq!(
        esearch(&r),
        format!("* ESEARCH (TAG \"s1\") MIN 1 MODSEQ {}", m[0])
    );
    let r = a.cmd("s2 SEARCH RETURN (MAX) MODSEQ 1").await;
    assert_eq!(
        esearch(&r),
        format!("* ESEARCH (TAG \"s2\") MAX 3 MODSEQ {}", m[2])
    );
    let r = a.cmd("s3 UID SEARCH RETURN (MIN MAX) MODSEQ 1").await;
    assert_eq!(
        esearch(&r),
        format!(
            "* ESEARCH (TAG \"s3\") UID MIN 1 MAX 3 MODSEQ {}",
            m[0].max(m[2])
        )
    );
    // With ALL or COUNT: the highest of all matches.
    let r = a.cmd("s4 SEARCH RETURN (MIN COUNT) MODSEQ 1").await;
    assert_eq!(
        esearch(&r),
        format!("* ESEARCH (TAG \"s4\") MIN 1 COUNT 3 MODSEQ {}", m[1])
    );
}

async fn highestmodseq_where_condstore_asks(store: Backend) {
    let w = World::new(store);
    let (mut a, _b) = two_sessions(&w, 2).await;
    // ENABLE CONDSTORE with a mailbox selected: its HIGHESTMODSEQ, once.
    let r = a.cmd("e1 ENABLE CONDSTORE").await;
    assert_eq!(r[0], "* ENABLED CONDSTORE");
    assert!(r[1].starts_with("* OK [HIGHESTMODSEQ "), "{r:?}");
    let h0 = number_after(&r[1], "HIGHESTMODSEQ ");
    let r = a.cmd("n1 NOOP").await;
    assert_eq!(r, vec!["n1 OK NOOP completed"]);
    // SELECT and EXAMINE with CONDSTORE.
    for (t, cmd) in [
        ("x1", "EXAMINE INBOX (CONDSTORE)"),
        ("x2", "SELECT INBOX (CONDSTORE)"),
    ] {
        let r = a.cmd(&format!("{t} {cmd}")).await;
        let ok = r
            .iter()
            .find(|l| l.starts_with("* OK [HIGHESTMODSEQ "))
            .expect("HIGHESTMODSEQ");
        assert_eq!(number_after(ok, "HIGHESTMODSEQ "), h0, "{r:?}");
    }
    // EXPUNGE's tagged OK: the modseq after the expunge.
    a.cmd("d STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    let r = a.cmd("x3 EXPUNGE").await;
    assert_eq!(r[0], "* 1 EXPUNGE");
    let tagged = r.last().unwrap();
    assert!(tagged.starts_with("x3 OK [HIGHESTMODSEQ "), "{r:?}");
    let h1 = number_after(tagged, "HIGHESTMODSEQ ");
    let st = a.cmd("st STATUS INBOX (HIGHESTMODSEQ)").await;
    assert_eq!(st[0], format!("* STATUS \"INBOX\" (HIGHESTMODSEQ {h1})"));
    assert!(h1 > h0);
}

/// A message with the given headers (CRLF-joined) and a date on day `day`.
fn msg(day: u32, headers: &[&str]) -> String {
    let mut m = format!("From: x@example.net\r\nDate: {day} Jan 2024 12:00:00 +0000\r\n");
    for h in headers {
        m.push_str(h);
        m.push_str("\r\n");
    }
    m.push_str("\r\nbody\r\n");
    m
}

/// INBOX selected with these messages, in this order.
async fn mailbox_of(w: &World, msgs: &[String]) -> Client {
    let mut c = w.login().await;
    for m in msgs {
        assert!(append(&mut c, "INBOX", "", m).await.contains("OK"));
    }
    let r = c.cmd("s SELECT INBOX").await;
    assert!(r.last().unwrap().starts_with("s OK"), "{r:?}");
    c
}

async fn answer(c: &mut Client, cmd: &str) -> String {
    let r = c.cmd(&format!("t {cmd}")).await;
    assert!(r.last().unwrap().starts_with("t OK"), "{r:?}");
    r[0].clone()
}

async fn sort_cc_and_base_subject(store: Backend) {
    let w = World::new(store);
    let mut c = mailbox_of(
        &w,
        &[
            msg(
                1,
                &[
                    "Cc: Zed <zed@a.example>, amy@z.example",
                    "Subject: [list] Re: Fwd: beta (fwd)",
                ],
            ),
            msg(
                2,
                &[
                    "Cc: \"Aaron\" <mike@b.example>",
                    "Subject: =?UTF-8?Q?Re=3A_alpha?=",
                ],
            ),
            msg(3, &["Cc: bob@c.example", "Subject: RE:  Re:\t[x] Gamma"]),
            msg(4, &["Subject: [fwd: Alpha]"]),
            msg(5, &["Subject: re: [blob]fw: ALPHA (fwd) (fwd)"]),
        ],
    )
    .await;
    // CC: the first address's local part; no Cc sorts first (empty).
    assert_eq!(
        answer(&mut c, "SORT (CC) UTF-8 ALL").await,
        "* SORT 4 5 3 2 1"
    );
    // SUBJECT: alpha (2, 4, 5), beta (1), gamma (3), ties by sequence.
    assert_eq!(
        answer(&mut c, "SORT (SUBJECT) UTF-8 ALL").await,
        "* SORT 2 4 5 1 3"
    );
    assert_eq!(
        answer(&mut c, "SORT (REVERSE SUBJECT) UTF-8 ALL").await,
        "* SORT 3 1 2 4 5"
    );
}

async fn thread_references_plain_chain(store: Backend) {
    let w = World::new(store);
    let mut c = mailbox_of(
        &w,
        &[
            msg(1, &["Subject: plan", "Message-ID: <a@x>"]),
            msg(
                2,
                &[
                    "Subject: Re: plan",
                    "Message-ID: <b@x>",
                    "In-Reply-To: <a@x>",
                    "References: <a@x>",
                ],
            ),
            msg(
                3,
                &[
                    "Subject: Re: plan",
                    "Message-ID: <c@x>",
                    "In-Reply-To: <b@x>",
                    "References: <a@x> <b@x>",
                ],
            ),
        ],
    )
    .await;
    assert_eq!(
        answer(&mut c, "THREAD REFERENCES UTF-8 ALL").await,
        "* THREAD (1 2 3)"
    );
}

async fn thread_references_tricky_cases(store: Backend) {
    let w = World::new(store);
    let mut c = mailbox_of(
        &w,
        &[
            // 1, 2: siblings under a parent we never got (a dummy root).
            msg(
                1,
                &["Subject: q", "Message-ID: <s1@x>", "References: <lost@x>"],
            ),
            msg(
                2,
                &["Subject: q", "Message-ID: <s2@x>", "References: <lost@x>"],
            ),
            // 3 replies to 5, which arrives later but is older.
            msg(
                6,
                &[
                    "Subject: Re: later",
                    "Message-ID: <r@x>",
                    "References: <p@x>",
                ],
            ),
            // 4: two replies (6, 7) to one message.
            msg(4, &["Subject: fork", "Message-ID: <f@x>"]),
            msg(3, &["Subject: later", "Message-ID: <p@x>"]),
            msg(
                7,
                &[
                    "Subject: Re: fork",
                    "Message-ID: <f1@x>",
                    "References: <f@x>",
                ],
            ),
            msg(
                8,
                &[
                    "Subject: Re: fork",
                    "Message-ID: <f2@x>",
                    "References: <f@x>",
                ],
            ),
            // 8: no references, but a reply by subject to 9's thread.
            msg(9, &["Subject: Re: solo"]),
            msg(5, &["Subject: solo"]),
        ],
    )
    .await;
    assert_eq!(
        answer(&mut c, "THREAD REFERENCES UTF-8 ALL").await,
        "* THREAD ((1)(2))(5 3)(4 (6)(7))(9 8)"
    );
}

async fn list_invalid_mutf7_pattern_matches_nothing(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    c.cmd("c CREATE Work").await;
    // "&Jjo" is not closed by "-": not modified UTF-7 (RFC 3501 5.1.3).
    transcript(
        &mut c,
        r#"
        C: l1 LIST "" "&Jjo"
        S: l1 OK LIST completed
        C: l2 LIST "" ("&Jjo" "W*")
        S: * LIST (\HasNoChildren) "/" "Work"
        S: l2 OK LIST completed
        C: l3 LIST "&AGE" "*"
        S: l3 OK LIST completed
        C: l5 LIST "" "café"
        S: l5 OK LIST completed
        C: l6 LIST "" "&-&"
        S: l6 OK LIST completed
        C: l4 LOGOUT
        S: * BYE Logging out
        S: l4 OK LOGOUT completed
        "#,
    )
    .await;
    assert!(c.closed().await);
}

async fn empty_body_parts_are_zero_length_literals(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    let mime = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\r\n--b--\r\n";
    // A BINARY APPEND (RFC 3516 4.4) of a message whose part is empty.
    let r = c
        .cmd(&format!("a APPEND INBOX ~{{{}+}}\r\n{mime}", mime.len()))
        .await;
    assert!(r.last().unwrap().starts_with("a OK"), "{r:?}");
    let plain = "Subject: nothing\r\n\r\n";
    append(&mut c, "INBOX", "", plain).await;
    c.cmd("s SELECT INBOX").await;
    for (cmd, item) in [
        ("f1 FETCH 1 (BINARY.PEEK[1])", "BINARY[1] {0}"),
        ("f2 FETCH 1 (BODY.PEEK[1])", "BODY[1] {0}"),
        ("f3 FETCH 2 (BODY.PEEK[TEXT])", "BODY[TEXT] {0}"),
        (
            "f4 FETCH 2 (BINARY.SIZE[1] BINARY.PEEK[1])",
            "BINARY[1] {0}",
        ),
    ] {
        let tag = cmd.split(' ').next().unwrap();
        c.send(format!("{cmd}\r\n").as_bytes()).await;
        let raw = c.response().await;
        let text = String::from_utf8_lossy(&raw).to_string();
        assert!(text.contains(&format!("{item}\r\n)")), "{cmd}: {text:?}");
        let r = c.until_tagged(tag).await;
        assert!(r.last().unwrap().starts_with(&format!("{tag} OK")), "{r:?}");
    }
}
