//! Resynchronization on a new connection (RFC 7162): a client that knew a
//! mailbox at some HIGHESTMODSEQ disconnects, another session changes
//! flags, expunges and appends, and the client comes back with
//! `SELECT (QRESYNC ...)` or `SELECT (CONDSTORE)` + `FETCH (CHANGEDSINCE)`
//! and learns exactly what changed: VANISHED (EARLIER) is exactly the
//! expunged UIDs, the FETCH lines are exactly the changed messages.

#[macro_use]
mod common;
use common::*;

both_stores!(
    qresync_with_known_uids_reports_exactly_the_changes,
    qresync_without_known_uids_reports_every_expunge_since,
    qresync_with_the_current_modseq_reports_nothing,
    qresync_with_a_stale_uidvalidity_reports_no_changes,
    condstore_select_then_changedsince_and_vanished,
    modseq_of_every_message_after_condstore_select,
);

/// What the client remembers from its last session.
struct Known {
    uid_validity: u32,
    modseq: u64,
}

fn number_after(line: &str, key: &str) -> u64 {
    let rest = &line[line.find(key).unwrap_or_else(|| panic!("{key} in {line}")) + key.len()..];
    rest.trim_start_matches(['(', ' '])
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn append(c: &mut Client, n: u32) {
    let body = format!("Subject: message {n}\r\nMessage-ID: <{n}@example.net>\r\n\r\nbody {n}\r\n");
    let r = c
        .cmd(&format!("a APPEND INBOX {{{}+}}\r\n{body}", body.len()))
        .await;
    assert!(r.last().unwrap().starts_with("a OK [APPENDUID"), "{r:?}");
}

/// Ten messages (UIDs 1-10), UID 1 expunged while the client watched;
/// the client's session ends knowing UIDs 2-10 at the returned modseq.
async fn known_state(w: &World) -> Known {
    let mut c = w.login().await;
    for n in 1..=10 {
        append(&mut c, n).await;
    }
    c.cmd("e ENABLE QRESYNC").await;
    let r = c.cmd("s SELECT INBOX").await;
    let uid_validity = number_after(
        r.iter().find(|l| l.contains("[UIDVALIDITY")).unwrap(),
        "UIDVALIDITY ",
    ) as u32;
    c.cmd("d UID STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    let r = c.cmd("x UID EXPUNGE 1").await;
    assert_eq!(r[0], "* VANISHED 1");
    let r = c.cmd("h STATUS INBOX (HIGHESTMODSEQ)").await;
    let modseq = number_after(&r[0], "HIGHESTMODSEQ ");
    let r = c.cmd("l LOGOUT").await;
    assert!(r.last().unwrap().starts_with("l OK"), "{r:?}");
    Known {
        uid_validity,
        modseq,
    }
}

/// While the client is away: flags of UIDs 2, 5 (twice) and 7 change, 8
/// is flagged and then expunged with 3 and 9, 11 is appended, 12 is
/// appended and expunged. The session that appends has INBOX selected,
/// so it takes `\Recent` for 11 (RFC 3501 2.3.2: one session only).
async fn changes_elsewhere(w: &World) {
    let mut b = w.login().await;
    b.cmd("s SELECT INBOX").await;
    for cmd in [
        "UID STORE 2 +FLAGS.SILENT (\\Seen)",
        "UID STORE 5 +FLAGS.SILENT (\\Answered)",
        "UID STORE 5 +FLAGS.SILENT (\\Flagged)",
        "UID STORE 7 +FLAGS.SILENT ($Work)",
        "UID STORE 8 +FLAGS.SILENT (\\Flagged)",
        "UID STORE 3,8,9 +FLAGS.SILENT (\\Deleted)",
        "UID EXPUNGE 3,8:9",
    ] {
        let r = b.cmd(&format!("c {cmd}")).await;
        assert!(r.last().unwrap().starts_with("c OK"), "{cmd}: {r:?}");
    }
    append(&mut b, 11).await;
    append(&mut b, 12).await;
    b.cmd("c UID STORE 12 +FLAGS.SILENT (\\Deleted)").await;
    b.cmd("c UID EXPUNGE 12").await;
    b.cmd("c LOGOUT").await;
}

/// The FETCH lines without their MODSEQ values, which must all be above `since`.
fn fetches(r: &[String], since: u64) -> Vec<String> {
    r.iter()
        .filter(|l| l.contains(" FETCH ("))
        .map(|l| {
            let m = number_after(l, "MODSEQ (");
            assert!(m > since, "{l}: modseq {m} not above {since}");
            l.replace(&format!("MODSEQ ({m})"), "MODSEQ (..)")
        })
        .collect()
}

fn vanished(r: &[String]) -> Vec<&str> {
    r.iter()
        .filter(|l| l.starts_with("* VANISHED"))
        .map(String::as_str)
        .collect()
}

async fn qresync_with_known_uids_reports_exactly_the_changes(store: Backend) {
    let w = World::new(store);
    let k = known_state(&w).await;
    changes_elsewhere(&w).await;
    let mut c = w.login().await;
    c.cmd("e ENABLE QRESYNC").await;
    let r = c
        .cmd(&format!(
            "q SELECT INBOX (QRESYNC ({} {} 2:10))",
            k.uid_validity, k.modseq
        ))
        .await;
    assert!(r.last().unwrap().starts_with("q OK [READ-WRITE]"), "{r:?}");
    assert!(r.contains(&"* 7 EXISTS".to_string()), "{r:?}");
    // Only UIDs the client knew: 12 came and went while it was away.
    assert_eq!(vanished(&r), vec!["* VANISHED (EARLIER) 3,8:9"], "{r:?}");
    assert_eq!(
        fetches(&r, k.modseq),
        vec![
            "* 1 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (..))",
            "* 3 FETCH (UID 5 FLAGS (\\Answered \\Flagged) MODSEQ (..))",
            "* 5 FETCH (UID 7 FLAGS ($Work) MODSEQ (..))",
            "* 7 FETCH (UID 11 FLAGS () MODSEQ (..))",
        ],
        "{r:?}"
    );
    // What the client now has matches the mailbox.
    let r = c.cmd("f UID FETCH 1:* (FLAGS)").await;
    let uids: Vec<u64> = r[..r.len() - 1]
        .iter()
        .map(|l| number_after(l, "UID "))
        .collect();
    assert_eq!(uids, [2, 4, 5, 6, 7, 10, 11]);
}

async fn qresync_without_known_uids_reports_every_expunge_since(store: Backend) {
    let w = World::new(store);
    let k = known_state(&w).await;
    changes_elsewhere(&w).await;
    let mut c = w.login().await;
    c.cmd("e ENABLE QRESYNC").await;
    let r = c
        .cmd(&format!(
            "q SELECT INBOX (QRESYNC ({} {}))",
            k.uid_validity, k.modseq
        ))
        .await;
    assert_eq!(vanished(&r), vec!["* VANISHED (EARLIER) 3,8:9,12"], "{r:?}");
    assert_eq!(fetches(&r, k.modseq).len(), 4, "{r:?}");
}

async fn qresync_with_the_current_modseq_reports_nothing(store: Backend) {
    let w = World::new(store);
    let k = known_state(&w).await;
    let mut c = w.login().await;
    c.cmd("e ENABLE QRESYNC").await;
    let r = c
        .cmd(&format!(
            "q SELECT INBOX (QRESYNC ({} {} 2:10))",
            k.uid_validity, k.modseq
        ))
        .await;
    assert!(vanished(&r).is_empty(), "{r:?}");
    assert!(fetches(&r, k.modseq).is_empty(), "{r:?}");
    assert!(
        r.contains(&format!("* OK [HIGHESTMODSEQ {}] Highest", k.modseq)),
        "{r:?}"
    );
}

async fn qresync_with_a_stale_uidvalidity_reports_no_changes(store: Backend) {
    // RFC 7162 3.2.5.1: another UIDVALIDITY means the client must start over.
    let w = World::new(store);
    let k = known_state(&w).await;
    changes_elsewhere(&w).await;
    let mut c = w.login().await;
    c.cmd("e ENABLE QRESYNC").await;
    let r = c
        .cmd(&format!(
            "q SELECT INBOX (QRESYNC ({} {} 2:10))",
            k.uid_validity.wrapping_add(1),
            k.modseq
        ))
        .await;
    assert!(r.last().unwrap().starts_with("q OK"), "{r:?}");
    assert!(
        vanished(&r).is_empty() && fetches(&r, 0).is_empty(),
        "{r:?}"
    );
}

async fn condstore_select_then_changedsince_and_vanished(store: Backend) {
    let w = World::new(store);
    let k = known_state(&w).await;
    changes_elsewhere(&w).await;
    // CONDSTORE: the modseq in SELECT, then FETCH CHANGEDSINCE for the
    // flags; UID SEARCH for what is left tells the client what went.
    let mut c = w.login().await;
    let r = c.cmd("s SELECT INBOX (CONDSTORE)").await;
    let highest = number_after(
        r.iter().find(|l| l.contains("[HIGHESTMODSEQ")).unwrap(),
        "HIGHESTMODSEQ ",
    );
    assert!(highest > k.modseq, "{r:?}");
    let r = c
        .cmd(&format!(
            "f FETCH 1:* (UID FLAGS) (CHANGEDSINCE {})",
            k.modseq
        ))
        .await;
    assert_eq!(
        fetches(&r, k.modseq),
        vec![
            "* 1 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (..))",
            "* 3 FETCH (UID 5 FLAGS (\\Answered \\Flagged) MODSEQ (..))",
            "* 5 FETCH (UID 7 FLAGS ($Work) MODSEQ (..))",
            "* 7 FETCH (UID 11 FLAGS () MODSEQ (..))",
        ],
        "{r:?}"
    );
    let r = c.cmd("u UID SEARCH UID 2:10").await;
    assert_eq!(r[0], "* SEARCH 2 4 5 6 7 10");
    // With QRESYNC enabled, UID FETCH (CHANGEDSINCE VANISHED) gives both.
    c.cmd("e ENABLE QRESYNC").await;
    let r = c
        .cmd(&format!(
            "v UID FETCH 2:10 (FLAGS) (CHANGEDSINCE {} VANISHED)",
            k.modseq
        ))
        .await;
    assert_eq!(vanished(&r), vec!["* VANISHED (EARLIER) 3,8:9"], "{r:?}");
    assert_eq!(fetches(&r, k.modseq).len(), 3, "{r:?}");
}

async fn modseq_of_every_message_after_condstore_select(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    for n in 1..=3 {
        append(&mut c, n).await;
    }
    let r = c.cmd("s SELECT INBOX (CONDSTORE)").await;
    assert!(
        r.iter().any(|l| l.starts_with("* OK [HIGHESTMODSEQ ")),
        "{r:?}"
    );
    // CONDSTORE is on: flag updates carry MODSEQ, STORE answers it too.
    let r = c.cmd("t STORE 2 +FLAGS (\\Seen)").await;
    assert!(
        glob("* 2 FETCH (FLAGS (\\Seen \\Recent) MODSEQ (..))", &r[0]),
        "{r:?}"
    );
    let r = c.cmd("f FETCH 1:3 (FLAGS)").await;
    assert!(r[..3].iter().all(|l| !l.contains("MODSEQ")), "{r:?}");
    let r = c.cmd("m FETCH 1:3 (MODSEQ)").await;
    let m: Vec<u64> = r[..3].iter().map(|l| number_after(l, "MODSEQ (")).collect();
    assert!(
        m[1] > m[0] && m[1] > m[2],
        "the STORE raised message 2's modseq: {m:?}"
    );
}
