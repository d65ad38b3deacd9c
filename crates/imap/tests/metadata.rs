//! Transcripts of METADATA and METADATA-SERVER (RFC 5464), against the
//! real store and the in-memory model: server and mailbox entries, DEPTH,
//! MAXSIZE with LONGENTRIES, removal, literal8 values, the limits
//! (MAXSIZE, TOOMANY: nothing stored) and the refused forms.

#[macro_use]
mod common;
use common::*;

both_stores!(
    server_and_mailbox_entries,
    depth_and_maxsize,
    limits_store_nothing,
    malformed_commands_are_bad,
    entries_follow_rename_and_go_with_delete,
);

async fn logged_in(w: &World) -> Client {
    let mut c = w.login().await;
    let r = c.cmd("c CAPABILITY").await;
    for cap in ["METADATA", "METADATA-SERVER"] {
        assert!(r[0].split(' ').any(|c| c == cap), "{cap}: {r:?}");
    }
    c
}

async fn server_and_mailbox_entries(store: Backend) {
    let w = World::new(store);
    let mut c = logged_in(&w).await;
    transcript(
        &mut c,
        r#"
        C: g0 GETMETADATA "" /private/comment
        S: * METADATA "" (/private/comment NIL)
        S: g0 OK GETMETADATA completed
        C: s1 SETMETADATA "" (/private/comment "My server note" /shared/vendor/x "1")
        S: s1 OK SETMETADATA completed
        C: s2 SETMETADATA INBOX (/private/comment {5+}
        C: inbox)
        S: s2 OK SETMETADATA completed
        C: g1 GETMETADATA "" (/private/comment /shared/vendor/x)
        S: * METADATA "" (/private/comment {14}..My server note /shared/vendor/x {1}..1)
        S: g1 OK GETMETADATA completed
        C: g2 GETMETADATA INBOX /PRIVATE/COMMENT
        S: * METADATA "INBOX" (/private/comment {5}..inbox)
        S: g2 OK GETMETADATA completed
        C: s3 SETMETADATA "" (/private/comment NIL)
        S: s3 OK SETMETADATA completed
        C: g3 GETMETADATA "" /private/comment
        S: * METADATA "" (/private/comment NIL)
        S: g3 OK GETMETADATA completed
        C: g4 GETMETADATA Nowhere /private/comment
        S: g4 NO ..
        "#,
    )
    .await;
}

async fn depth_and_maxsize(store: Backend) {
    let w = World::new(store);
    let mut c = logged_in(&w).await;
    transcript(
        &mut c,
        r#"
        C: s1 SETMETADATA "" (/private/a "1" /private/a/b "22" /private/a/b/c "333" /private/ab "x")
        S: s1 OK SETMETADATA completed
        C: g1 GETMETADATA (DEPTH 1) "" /private/a
        S: * METADATA "" (/private/a {1}..1 /private/a/b {2}..22)
        S: g1 OK GETMETADATA completed
        C: g2 GETMETADATA (DEPTH infinity MAXSIZE 2) "" /private/a
        S: * METADATA "" (/private/a {1}..1 /private/a/b {2}..22)
        S: g2 OK [METADATA LONGENTRIES 3] GETMETADATA completed
        C: g3 GETMETADATA (MAXSIZE 0) "" /private/ab
        S: g3 OK [METADATA LONGENTRIES 1] GETMETADATA completed
        "#,
    )
    .await;
}

async fn limits_store_nothing(store: Backend) {
    let w = World::new(store);
    let mut c = logged_in(&w).await;
    let big = "x".repeat(64 * 1024 + 1);
    let r = c
        .cmd(&format!(
            "s1 SETMETADATA INBOX (/private/a \"1\" /private/big {{{}+}}\r\n{big})",
            big.len()
        ))
        .await;
    assert_eq!(
        r.last().unwrap(),
        "s1 NO [METADATA MAXSIZE 65536] Value too long"
    );
    let r = c.cmd("g1 GETMETADATA INBOX /private/a").await;
    assert_eq!(
        r[0], "* METADATA \"INBOX\" (/private/a NIL)",
        "nothing stored"
    );
    let many = |tag: &str, prefix: &str, n: usize| {
        let mut set = format!("{tag} SETMETADATA INBOX (");
        for i in 0..n {
            set.push_str(&format!("/private/{prefix}{i} \"v\" "));
        }
        set.push_str(&format!("/private/{prefix}-last ~{{1+}}\r\nv)"));
        set
    };
    let r = c.cmd(&many("s2", "e", 59)).await;
    assert_eq!(r.last().unwrap(), "s2 OK SETMETADATA completed");
    // 60 there, 41 more: one over the limit of 100.
    let r = c.cmd(&many("s3", "f", 40)).await;
    assert_eq!(
        r.last().unwrap(),
        "s3 NO [METADATA TOOMANY] Too many entries"
    );
    let r = c
        .cmd("g2 GETMETADATA INBOX (/private/f1 /private/e1)")
        .await;
    assert_eq!(
        r[0], "* METADATA \"INBOX\" (/private/f1 NIL /private/e1 {1}\r\nv)",
        "nothing of s3 stored"
    );
    let r = c.cmd(&many("s4", "f", 39)).await;
    assert_eq!(
        r.last().unwrap(),
        "s4 OK SETMETADATA completed",
        "exactly 100 fit"
    );
}

async fn malformed_commands_are_bad(store: Backend) {
    let w = World::new(store);
    let mut c = logged_in(&w).await;
    transcript(
        &mut c,
        r#"
        C: b1 GETMETADATA "" /public/x
        S: b1 BAD ..
        C: b2 SETMETADATA "" (/private/x/ "1")
        S: b2 BAD ..
        C: b3 SETMETADATA "" (/private//x "1")
        S: b3 BAD ..
        C: b4 GETMETADATA (DEPTH 2) "" /private/x
        S: b4 BAD ..
        C: b5 SETMETADATA "" /private/x "1"
        S: b5 BAD ..
        C: b6 GETMETADATA "" /private/*
        S: b6 BAD ..
        C: b7 SETMETADATA "" (/private/x)
        S: b7 BAD ..
        "#,
    )
    .await;
}

async fn entries_follow_rename_and_go_with_delete(store: Backend) {
    let w = World::new(store);
    let mut c = logged_in(&w).await;
    transcript(
        &mut c,
        r#"
        C: c1 CREATE Projects
        S: c1 OK ..
        C: s1 SETMETADATA Projects (/shared/comment "team")
        S: s1 OK SETMETADATA completed
        C: r1 RENAME Projects Done
        S: r1 OK ..
        C: g1 GETMETADATA Done /shared/comment
        S: * METADATA "Done" (/shared/comment {4}..team)
        S: g1 OK GETMETADATA completed
        C: d1 DELETE Done
        S: d1 OK ..
        C: c2 CREATE Done
        S: c2 OK ..
        C: g2 GETMETADATA Done /shared/comment
        S: * METADATA "Done" (/shared/comment NIL)
        S: g2 OK GETMETADATA completed
        "#,
    )
    .await;
}
