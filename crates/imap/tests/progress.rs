//! Transcripts of INPROGRESS (RFC 9585), against the real store and the
//! in-memory model: with notes due at once, a SEARCH and a SORT that load
//! messages report each load before going on (one per message for
//! content, one per batch of up to 64 for the SORT's summaries); with the default interval
//! a short command sends none.

#[macro_use]
mod common;
use common::*;

both_stores!(
    search_and_sort_report_progress,
    short_commands_send_no_progress,
);

const MSG: &str = "Subject: progress\r\n\r\nneedle\r\n";

async fn three_messages(w: &World) -> Client {
    let mut c = w.login().await;
    for _ in 0..3 {
        let r = c
            .cmd(&format!("ap APPEND INBOX {{{}+}}\r\n{MSG}", MSG.len()))
            .await;
        assert!(r.last().unwrap().starts_with("ap OK"), "{r:?}");
    }
    let r = c.cmd("s SELECT INBOX").await;
    assert!(r.last().unwrap().starts_with("s OK"), "{r:?}");
    let r = c.cmd("c CAPABILITY").await;
    assert!(r[0].split(' ').any(|cap| cap == "INPROGRESS"), "{r:?}");
    c
}

async fn search_and_sort_report_progress(store: Backend) {
    let w = World::with_imap(store, "progress_interval_ms = 0");
    let mut c = three_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: p1 UID SEARCH BODY needle
        S: * OK [INPROGRESS ("p1" 0 3)] Still working
        S: * OK [INPROGRESS ("p1" 1 3)] Still working
        S: * OK [INPROGRESS ("p1" 2 3)] Still working
        S: * SEARCH 1 2 3
        S: p1 OK SEARCH completed
        C: p2 UID SORT (SIZE) UTF-8 ALL
        S: * OK [INPROGRESS ("p2" 0 3)] Still working
        S: * SORT 1 2 3
        S: p2 OK SORT completed
        C: p3 UID SEARCH SEEN
        S: * SEARCH
        S: p3 OK SEARCH completed
        "#,
    )
    .await;
}

async fn short_commands_send_no_progress(store: Backend) {
    let w = World::new(store);
    let mut c = three_messages(&w).await;
    transcript(
        &mut c,
        r#"
        C: p1 UID SEARCH BODY needle
        S: * SEARCH 1 2 3
        S: p1 OK SEARCH completed
        "#,
    )
    .await;
}
