//! Transcripts of PARTIAL (RFC 9394), against the real store and the
//! in-memory model: paged SEARCH results from either end, SAVE of a page,
//! UID FETCH of a page, and the refused forms.

#[macro_use]
mod common;
use common::*;

both_stores!(
    search_pages_from_the_first_and_the_last,
    save_keeps_the_page,
    uid_fetch_of_a_page,
    malformed_partial_is_bad,
);

const MSG: &str = "From: Carol <carol@example.net>\r\nSubject: Page\r\n\r\nOne of six.\r\n";

/// INBOX selected with six messages, UIDs 1-6.
async fn six_messages(w: &World) -> Client {
    let mut c = w.login().await;
    for _ in 0..6 {
        let r = c
            .cmd(&format!("ap APPEND INBOX {{{}+}}\r\n{MSG}", MSG.len()))
            .await;
        assert!(r.last().unwrap().starts_with("ap OK"), "{r:?}");
    }
    let r = c.cmd("s SELECT INBOX").await;
    assert!(r.last().unwrap().starts_with("s OK"), "{r:?}");
    let r = c.cmd("c CAPABILITY").await;
    assert!(r[0].split(' ').any(|cap| cap == "PARTIAL"), "{r:?}");
    c
}

async fn search_pages_from_the_first_and_the_last(store: Backend) {
    let w = World::new(store);
    let mut c = six_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: p1 UID SEARCH RETURN (PARTIAL 1:2) ALL
        S: * ESEARCH (TAG "p1") UID PARTIAL (1:2 1:2)
        S: p1 OK SEARCH completed
        C: p2 SEARCH RETURN (PARTIAL -1:-2) ALL
        S: * ESEARCH (TAG "p2") PARTIAL (-1:-2 5:6)
        S: p2 OK SEARCH completed
        C: p3 UID SEARCH RETURN (COUNT PARTIAL 5:10) ALL
        S: * ESEARCH (TAG "p3") UID COUNT 6 PARTIAL (5:10 5:6)
        S: p3 OK SEARCH completed
        C: p4 UID SEARCH RETURN (PARTIAL 9:7) ALL
        S: * ESEARCH (TAG "p4") UID PARTIAL (9:7 NIL)
        S: p4 OK SEARCH completed
        C: p5 UID SEARCH RETURN (MIN PARTIAL -3:-2) UID 2:6
        S: * ESEARCH (TAG "p5") UID MIN 2 PARTIAL (-3:-2 4:5)
        S: p5 OK SEARCH completed
        "#,
    )
    .await;
}

async fn save_keeps_the_page(store: Backend) {
    let w = World::new(store);
    let mut c = six_messages(&w).await;
    // The page is what `$` holds afterwards, so each page can be fetched.
    transcript(
        &mut c,
        r#"
        C: s1 UID SEARCH RETURN (SAVE PARTIAL 3:4) ALL
        S: * ESEARCH (TAG "s1") UID PARTIAL (3:4 3:4)
        S: s1 OK SEARCH completed
        C: f1 UID FETCH $ (UID)
        S: * 3 FETCH (UID 3)
        S: * 4 FETCH (UID 4)
        S: f1 OK FETCH completed
        "#,
    )
    .await;
}

async fn uid_fetch_of_a_page(store: Backend) {
    let w = World::new(store);
    let mut c = six_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: f1 UID FETCH 1:* (FLAGS) (PARTIAL -1:-2)
        S: * 5 FETCH (UID 5 FLAGS (\Recent))
        S: * 6 FETCH (UID 6 FLAGS (\Recent))
        S: f1 OK FETCH completed
        C: f2 UID FETCH 2:5 (UID) (PARTIAL 2:3)
        S: * 3 FETCH (UID 3)
        S: * 4 FETCH (UID 4)
        S: f2 OK FETCH completed
        C: f3 UID FETCH 1:* (UID) (PARTIAL 7:8)
        S: f3 OK FETCH completed
        "#,
    )
    .await;
}

async fn malformed_partial_is_bad(store: Backend) {
    let w = World::new(store);
    let mut c = six_messages(&w).await;
    for cmd in [
        "SEARCH RETURN (PARTIAL 1:5 ALL) ALL",
        "SEARCH RETURN (ALL PARTIAL 1:5) ALL",
        "SEARCH RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL",
        "SEARCH RETURN (PARTIAL) ALL",
        "SEARCH RETURN (PARTIAL 0:5) ALL",
        "SEARCH RETURN (PARTIAL 1:*) ALL",
        "SEARCH RETURN (PARTIAL -1:5) ALL",
        "SEARCH RETURN (PARTIAL 5) ALL",
        "SEARCH RETURN (PARTIAL \"1:5\") ALL",
        "SEARCH RETURN (PARTIAL 1:4294967296) ALL",
        "UID FETCH 1:* FLAGS (PARTIAL 1:5 PARTIAL 1:2)",
        "UID FETCH 1:* FLAGS (PARTIAL)",
        "FETCH 1:* FLAGS (PARTIAL 1:2)",
    ] {
        let r = c.cmd(&format!("b {cmd}")).await;
        assert_eq!(r.len(), 1, "{cmd}: {r:?}");
        assert!(r[0].starts_with("b BAD "), "{cmd}: {r:?}");
    }
    let r = c.cmd("n NOOP").await;
    assert_eq!(r, ["n OK NOOP completed"]);
}
