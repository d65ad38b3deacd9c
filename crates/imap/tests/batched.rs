//! FETCH of dates and summaries and SEARCH on header fields read the
//! metadata of many messages per store request (64 at a time). These
//! transcripts, over the real store and the in-memory model, check that
//! every message still gets its own envelope and verdict across batch
//! boundaries, with messages expunged by another session in between
//! (not yet announced to this one) and with CHANGEDSINCE skipping some.

#[macro_use]
mod common;
use common::*;

both_stores!(batches_keep_each_message_its_own_metadata,);

const COUNT: usize = 150;

fn message(i: usize) -> String {
    format!(
        "From: a{i}@example.org\r\nSubject: number {i} {}\r\n\r\nbody\r\n",
        tag(i)
    )
}

/// Every seventh message carries a word the searches look for.
fn tag(i: usize) -> &'static str {
    if i.is_multiple_of(7) {
        "lucky"
    } else {
        "plain"
    }
}

async fn batches_keep_each_message_its_own_metadata(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    for i in 1..=COUNT {
        let m = message(i);
        let r = c
            .cmd(&format!("ap APPEND INBOX {{{}+}}\r\n{m}", m.len()))
            .await;
        assert!(r.last().unwrap().starts_with("ap OK"), "{r:?}");
    }
    let r = c.cmd("s SELECT INBOX").await;
    assert!(r.last().unwrap().starts_with("s OK"), "{r:?}");

    // Another session expunges UIDs 60-70 and 130; this one is not told
    // until its next command ends.
    let mut other = w.login().await;
    let r = other.cmd("o1 SELECT INBOX").await;
    assert!(r.last().unwrap().starts_with("o1 OK"), "{r:?}");
    let r = other
        .cmd("o2 UID STORE 60:70,130 +FLAGS.SILENT (\\Deleted)")
        .await;
    assert!(r.last().unwrap().starts_with("o2 OK"), "{r:?}");
    let r = other.cmd("o3 EXPUNGE").await;
    assert!(r.last().unwrap().starts_with("o3 OK"), "{r:?}");

    let r = c.cmd("f1 UID FETCH 1:* (ENVELOPE)").await;
    let gone = |u: usize| (60..=70).contains(&u) || u == 130;
    let fetched: Vec<&String> = r.iter().filter(|l| l.contains("FETCH (")).collect();
    assert_eq!(fetched.len(), COUNT - 12, "{r:?}");
    let mut expected = (1..=COUNT).filter(|&u| !gone(u));
    for line in fetched {
        let u = expected.next().unwrap();
        assert!(line.contains(&format!("UID {u} ")), "{line}");
        assert!(
            line.contains(&format!("\"number {u} {}\"", tag(u))),
            "UID {u} got another message's envelope: {line}"
        );
    }
    assert!(r.last().unwrap().starts_with("f1 OK"), "{r:?}");

    // The expunges are announced now: the search runs over what is left.
    let r = c.cmd("s1 UID SEARCH SUBJECT lucky").await;
    let want: Vec<String> = (1..=COUNT)
        .filter(|&u| u.is_multiple_of(7) && !gone(u))
        .map(|u| u.to_string())
        .collect();
    let line = r.iter().find(|l| l.starts_with("* SEARCH")).unwrap();
    assert_eq!(line, &format!("* SEARCH {}", want.join(" ")), "{r:?}");
    let r = c
        .cmd("s2 UID SEARCH NOT FROM a1@example.org SUBJECT plain SINCE 1-Jan-2000")
        .await;
    let line = r.iter().find(|l| l.starts_with("* SEARCH")).unwrap();
    let hits = line.split(' ').skip(2).count();
    let plain = (1..=COUNT)
        .filter(|&u| !u.is_multiple_of(7) && !gone(u) && u != 1)
        .count();
    assert_eq!(hits, plain, "{r:?}");

    // CHANGEDSINCE skips what did not change; the rest keep their own data.
    let r = c
        .cmd("m1 UID STORE 3,99,149 +FLAGS.SILENT (\\Flagged)")
        .await;
    assert!(r.last().unwrap().starts_with("m1 OK"), "{r:?}");
    let r = c.cmd("m2 UID FETCH 1:* (MODSEQ)").await;
    let highest_other = r
        .iter()
        .filter(|l| {
            !["UID 3 ", "UID 99 ", "UID 149 "]
                .iter()
                .any(|u| l.contains(u))
        })
        .filter_map(|l| l.split("MODSEQ (").nth(1))
        .filter_map(|m| m.split(')').next()?.parse::<u64>().ok())
        .max()
        .unwrap();
    let r = c
        .cmd(&format!(
            "f2 UID FETCH 1:* (ENVELOPE) (CHANGEDSINCE {highest_other})"
        ))
        .await;
    let fetched: Vec<&String> = r.iter().filter(|l| l.contains("FETCH (")).collect();
    assert_eq!(fetched.len(), 3, "{r:?}");
    for (line, u) in fetched.iter().zip([3, 99, 149]) {
        assert!(line.contains(&format!("UID {u} ")), "{line}");
        assert!(
            line.contains(&format!("\"number {u} {}\"", tag(u))),
            "{line}"
        );
    }
}
