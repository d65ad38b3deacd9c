//! Transcripts of ESORT and CONTEXT=SEARCH/CONTEXT=SORT (RFC 5267), against
//! the real store and the in-memory model: SORT RETURN answers in sort
//! order, UPDATE contexts told of other sessions' and their own changes
//! (ADDTO after EXISTS, REMOVEFROM before EXPUNGE), during IDLE too,
//! CANCELUPDATE, tag reuse, the NOUPDATE limit and the refused forms.

#[macro_use]
mod common;
use common::*;

both_stores!(
    esort_answers_in_sort_order,
    search_update_follows_flag_changes_and_expunges,
    sort_update_names_positions,
    updates_reach_an_idling_session,
    cancelupdate_tag_reuse_and_the_limit,
    malformed_return_options_are_bad,
);

/// A message whose size grows with `n` (subject `m<n>`).
fn msg(n: usize) -> String {
    format!("Subject: m{n}\r\n\r\n{}\r\n", "x".repeat(n * 10))
}

async fn append(c: &mut Client, flags: &str, body: &str) {
    let line = format!("ap APPEND INBOX ({flags}) {{{}+}}\r\n{body}", body.len());
    let r = c.cmd(&line).await;
    assert!(r.last().unwrap().starts_with("ap OK [APPENDUID"), "{r:?}");
}

/// INBOX selected with messages of sizes in the order 3, 1, 4, 2 (UIDs 1-4),
/// UID 2 and 4 flagged.
async fn four_messages(w: &World) -> Client {
    let mut c = w.login().await;
    append(&mut c, "", &msg(3)).await;
    append(&mut c, "\\Flagged", &msg(1)).await;
    append(&mut c, "", &msg(4)).await;
    append(&mut c, "\\Flagged", &msg(2)).await;
    let r = c.cmd("s SELECT INBOX").await;
    assert!(r.last().unwrap().starts_with("s OK"), "{r:?}");
    let r = c.cmd("c CAPABILITY").await;
    for cap in ["ESORT", "CONTEXT=SEARCH", "CONTEXT=SORT"] {
        assert!(r[0].split(' ').any(|c| c == cap), "{cap}: {r:?}");
    }
    c
}

async fn esort_answers_in_sort_order(store: Backend) {
    let w = World::new(store);
    let mut c = four_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: e1 UID SORT RETURN (MIN MAX COUNT ALL) (REVERSE SIZE) UTF-8 ALL
        S: * ESEARCH (TAG "e1") UID MIN 3 MAX 2 COUNT 4 ALL 3,1,4,2
        S: e1 OK SORT completed
        C: e2 SORT RETURN () (SIZE) UTF-8 ALL
        S: * ESEARCH (TAG "e2") ALL 2,4,1,3
        S: e2 OK SORT completed
        C: e3 UID SORT RETURN (PARTIAL 2:3) (SIZE) UTF-8 ALL
        S: * ESEARCH (TAG "e3") UID PARTIAL (2:3 4,1)
        S: e3 OK SORT completed
        C: e4 UID SORT RETURN (COUNT) (SIZE) UTF-8 SUBJECT nothing-matches
        S: * ESEARCH (TAG "e4") UID COUNT 0
        S: e4 OK SORT completed
        C: e5 UID SORT RETURN (ALL) (ARRIVAL) UTF-8 ALL
        S: * ESEARCH (TAG "e5") UID ALL 1:4
        S: e5 OK SORT completed
        C: e6 UID SORT (SIZE) UTF-8 ALL
        S: * SORT 2 4 1 3
        S: e6 OK SORT completed
        "#,
    )
    .await;
}

async fn search_update_follows_flag_changes_and_expunges(store: Backend) {
    let w = World::new(store);
    let mut a = four_messages(&w).await;
    let mut b = w.login().await;
    let r = b.cmd("bs SELECT INBOX").await;
    assert!(r.last().unwrap().starts_with("bs OK"), "{r:?}");
    transcript(
        &mut a,
        r#"
        C: u1 UID SEARCH RETURN (UPDATE COUNT) FLAGGED
        S: * ESEARCH (TAG "u1") UID COUNT 2
        S: u1 OK SEARCH completed
        C: u2 SEARCH RETURN (CONTEXT UPDATE) UNFLAGGED
        S: * ESEARCH (TAG "u2")
        S: u2 OK SEARCH completed
        "#,
    )
    .await;
    // Another session flags 1: both contexts change.
    let r = b.cmd("b1 UID STORE 1 +FLAGS.SILENT (\\Flagged)").await;
    assert!(r.last().unwrap().starts_with("b1 OK"), "{r:?}");
    transcript(
        &mut a,
        r#"
        C: n1 NOOP
        S: * 1 FETCH (FLAGS (\Flagged..))
        S: * ESEARCH (TAG "u1") UID ADDTO (0 1)
        S: * ESEARCH (TAG "u2") REMOVEFROM (0 1)
        S: n1 OK NOOP completed
        C: s1 UID STORE 2 -FLAGS (\Flagged)
        S: * 2 FETCH (..)
        S: * ESEARCH (TAG "u1") UID REMOVEFROM (0 2)
        S: * ESEARCH (TAG "u2") ADDTO (0 2)
        S: s1 OK STORE completed
        "#,
    )
    .await;
    // Another session expunges 4 (flagged): REMOVEFROM comes before the
    // EXPUNGE, while its sequence number is still valid.
    let r = b.cmd("b2 UID STORE 4 +FLAGS.SILENT (\\Deleted)").await;
    assert!(r.last().unwrap().starts_with("b2 OK"), "{r:?}");
    let r = b.cmd("b3 EXPUNGE").await;
    assert!(r.last().unwrap().starts_with("b3 OK"), "{r:?}");
    // A new unflagged message arrives.
    append(&mut b, "", &msg(5)).await;
    transcript(
        &mut a,
        r#"
        C: n2 NOOP
        S: * ESEARCH (TAG "u1") UID REMOVEFROM (0 4)
        S: * 4 EXPUNGE
        S: * 4 EXISTS
        S: * .. RECENT
        S: * ESEARCH (TAG "u2") ADDTO (0 4)
        S: n2 OK NOOP completed
        "#,
    )
    .await;
}

async fn sort_update_names_positions(store: Backend) {
    let w = World::new(store);
    let mut a = four_messages(&w).await;
    let mut b = w.login().await;
    transcript(
        &mut a,
        r#"
        C: o1 UID SORT RETURN (UPDATE ALL) (REVERSE SIZE) UTF-8 ALL
        S: * ESEARCH (TAG "o1") UID ALL 3,1,4,2
        S: o1 OK SORT completed
        "#,
    )
    .await;
    // Sizes 5 and 0: the first takes position 1, the second the end; then
    // UID 1 (position 2) is expunged.
    append(&mut b, "", &msg(5)).await;
    append(&mut b, "", &msg(0)).await;
    transcript(
        &mut a,
        r#"
        C: n1 NOOP
        S: * 6 EXISTS
        S: * .. RECENT
        S: * ESEARCH (TAG "o1") UID ADDTO (1 5 6 6)
        S: n1 OK NOOP completed
        C: d1 UID STORE 1 +FLAGS.SILENT (\Deleted)
        S: d1 OK STORE completed
        C: d2 EXPUNGE
        S: * ESEARCH (TAG "o1") UID REMOVEFROM (3 1)
        S: * 1 EXPUNGE
        S: d2 OK EXPUNGE completed
        "#,
    )
    .await;
}

async fn updates_reach_an_idling_session(store: Backend) {
    let w = World::new(store);
    let mut a = four_messages(&w).await;
    let mut b = w.login().await;
    transcript(
        &mut a,
        r#"
        C: s1 SORT RETURN (UPDATE) (SIZE) UTF-8 UNFLAGGED
        S: * ESEARCH (TAG "s1")
        S: s1 OK SORT completed
        C: i1 IDLE
        S: + idling
        "#,
    )
    .await;
    append(&mut b, "", &msg(2)).await;
    assert_eq!(a.line().await, "* 5 EXISTS");
    assert!(a.line().await.ends_with(" RECENT"));
    // Sorted by size the unflagged ones were 1 (30 octets body) and 3
    // (40); the new one (20) comes first.
    assert_eq!(a.line().await, "* ESEARCH (TAG \"s1\") ADDTO (1 5)");
    a.send(b"DONE\r\n").await;
    assert_eq!(a.line().await, "i1 OK IDLE terminated");
}

async fn cancelupdate_tag_reuse_and_the_limit(store: Backend) {
    let w = World::new(store);
    let mut a = four_messages(&w).await;
    let mut b = w.login().await;
    transcript(
        &mut a,
        r#"
        C: u1 UID SEARCH RETURN (UPDATE) SEEN
        S: * ESEARCH (TAG "u1") UID
        S: u1 OK SEARCH completed
        C: u1 UID SEARCH RETURN (UPDATE) DELETED
        S: u1 BAD Tag reuse: it already has an update context
        C: c1 CANCELUPDATE "u1"
        S: c1 OK CANCELUPDATE completed
        C: c2 CANCELUPDATE "never-used" "u1"
        S: c2 OK CANCELUPDATE completed
        "#,
    )
    .await;
    let r = b.cmd("b1 SELECT INBOX").await;
    assert!(r.last().unwrap().starts_with("b1 OK"), "{r:?}");
    let r = b.cmd("b2 STORE 1:* +FLAGS.SILENT (\\Seen)").await;
    assert!(r.last().unwrap().starts_with("b2 OK"), "{r:?}");
    // The cancelled context says nothing of the change.
    let r = a.cmd("n1 NOOP").await;
    assert!(!r.iter().any(|l| l.contains("ESEARCH")), "{r:?}");
    for n in 1..=8 {
        let r = a.cmd(&format!("k{n} SEARCH RETURN (UPDATE) ALL")).await;
        assert_eq!(r.len(), 2, "{r:?}");
    }
    transcript(
        &mut a,
        r#"
        C: k9 SEARCH RETURN (UPDATE COUNT) ALL
        S: * ESEARCH (TAG "k9") COUNT 4
        S: * NO [NOUPDATE "k9"] Too many update contexts
        S: k9 OK SEARCH completed
        C: c3 CANCELUPDATE "k1"
        S: c3 OK CANCELUPDATE completed
        C: k10 SEARCH RETURN (UPDATE) ALL
        S: * ESEARCH (TAG "k10")
        S: k10 OK SEARCH completed
        "#,
    )
    .await;
    // Contexts end with the selection.
    let r = a.cmd("x UNSELECT").await;
    assert!(r.last().unwrap().starts_with("x OK"), "{r:?}");
    transcript(
        &mut a,
        r#"
        C: c4 CANCELUPDATE "k2"
        S: c4 BAD Command not valid in this state
        "#,
    )
    .await;
}

async fn malformed_return_options_are_bad(store: Backend) {
    let w = World::new(store);
    let mut c = four_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: b1 SORT RETURN (SAVE) (SIZE) UTF-8 ALL
        S: b1 BAD ..
        C: b2 SORT RETURN (UPDATE UPDATE) (SIZE) UTF-8 ALL
        S: b2 BAD ..
        C: b3 SEARCH RETURN (BOGUS) ALL
        S: b3 BAD ..
        C: b4 CANCELUPDATE
        S: b4 BAD ..
        C: b5 CANCELUPDATE u1
        S: b5 BAD ..
        C: b6 SORT RETURN (ALL PARTIAL 1:2) (SIZE) UTF-8 ALL
        S: b6 BAD ..
        C: b7 SORT RETURN (MIN) (SIZE) US-ASCII ALL
        S: * ESEARCH (TAG "b7") MIN 2
        S: b7 OK SORT completed
        "#,
    )
    .await;
}
