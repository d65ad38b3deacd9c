//! Transcripts of what a grant on a shared mailbox (RFC 4314) shows the
//! grantee beyond the commands it allows: PERMANENTFLAGS narrowed to the
//! flags the rights let it change, `\Recent` left to the owner, no quota
//! root of the owner's, and a STORE that keeps the flags the grant lets it
//! change rather than failing (a grant changed while selected:
//! `acl_revoke.rs`).
//! Against the real store and the in-memory model.

#[macro_use]
mod common;
use common::*;

both_stores!(
    permanentflags_follow_the_grant,
    grantee_never_claims_recent,
    getquotaroot_shows_no_owner_root,
    store_keeps_the_flags_the_grant_allows,
);

const TEAM: &str = "Shared/alice@example.org/Team";
const MSG: &str = "From: Carol <carol@example.net>\r\nSubject: Plan\r\n\r\nDraft.\r\n";

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

/// alice with Team (one message, `$Work` among its keywords) shared with
/// bob as `rights`, and bob logged in.
async fn team(w: &World, rights: &str) -> (Client, Client) {
    let mut alice = w.login().await;
    ok(&mut alice, "c CREATE Team").await;
    ok(
        &mut alice,
        &format!("a APPEND Team (\\Flagged $Work) {}", literal(MSG)),
    )
    .await;
    ok(&mut alice, &format!("s SETACL Team {USER2} {rights}")).await;
    let mut bob = w.connect(true).await;
    ok(&mut bob, &format!("L LOGIN {USER2} \"{PASS}\"")).await;
    (alice, bob)
}

fn permanent(r: &[String]) -> &str {
    r.iter()
        .find(|l| l.contains("[PERMANENTFLAGS"))
        .map(String::as_str)
        .unwrap_or("")
}

async fn permanentflags_follow_the_grant(store: Backend) {
    let w = World::new(store);
    let (mut alice, mut bob) = team(&w, "lrs").await;
    for (rights, flags, status) in [
        ("lrs", "(\\Seen)", "READ-WRITE"),
        ("lrt", "(\\Deleted)", "READ-WRITE"),
        ("lrte", "(\\Deleted)", "READ-WRITE"),
        (
            "lrw",
            "(\\Answered \\Flagged \\Draft $Work \\*)",
            "READ-WRITE",
        ),
        ("lri", "()", "READ-WRITE"),
        ("lr", "()", "READ-ONLY"),
        (
            "lrswt",
            "(\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)",
            "READ-WRITE",
        ),
    ] {
        ok(&mut alice, &format!("s SETACL Team {USER2} {rights}")).await;
        let r = ok(&mut bob, &format!("s SELECT {TEAM}")).await;
        assert_eq!(
            permanent(&r),
            format!("* OK [PERMANENTFLAGS {flags}] Flags permitted"),
            "{rights}"
        );
        assert!(r.last().unwrap().contains(status), "{rights}: {r:?}");
    }
    // A new keyword announced later narrows the same way.
    ok(&mut alice, &format!("s SETACL Team {USER2} lrs")).await;
    ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    ok(&mut alice, "x SELECT Team").await;
    ok(&mut alice, "y STORE 1 +FLAGS ($New)").await;
    let r = ok(&mut bob, "n NOOP").await;
    assert!(
        r.iter()
            .any(|l| l.starts_with("* FLAGS (") && l.contains("$New")),
        "{r:?}"
    );
    assert_eq!(
        permanent(&r),
        "* OK [PERMANENTFLAGS (\\Seen)] Flags permitted"
    );
    // The owner's own view is unchanged.
    let r = ok(&mut alice, "z SELECT Team").await;
    assert_eq!(
        permanent(&r),
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work $New \\*)] Flags permitted"
    );
}

async fn grantee_never_claims_recent(store: Backend) {
    let w = World::new(store);
    let (mut alice, mut bob) = team(&w, "lrswite").await;
    // bob's read-write SELECT shows the unclaimed message recent...
    let r = ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    assert!(r.contains(&"* 1 RECENT".to_string()), "{r:?}");
    // ... and a message arriving while bob has it selected too,
    bob.send(b"i IDLE\r\n").await;
    assert_eq!(bob.line().await, "+ idling");
    ok(&mut alice, &format!("a APPEND Team {}", literal(MSG))).await;
    assert_eq!(bob.line().await, "* 2 EXISTS");
    assert_eq!(bob.line().await, "* 2 RECENT");
    bob.send(b"DONE\r\n").await;
    bob.until_tagged("i").await;
    // ... but both are still new to the owner.
    let r = ok(&mut alice, "s SELECT Team").await;
    assert!(r.contains(&"* 2 RECENT".to_string()), "{r:?}");
    // Once the owner claimed them, the grantee sees none.
    ok(&mut bob, "u UNSELECT").await;
    let r = ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    assert!(r.contains(&"* 0 RECENT".to_string()), "{r:?}");
}

async fn getquotaroot_shows_no_owner_root(store: Backend) {
    let w = World::new(store);
    let (mut alice, mut bob) = team(&w, "lr").await;
    transcript(
        &mut bob,
        &format!(
            r#"
        C: q1 GETQUOTAROOT {TEAM}
        S: * QUOTAROOT "{TEAM}"
        S: q1 OK GETQUOTAROOT completed
        C: q2 GETQUOTAROOT INBOX
        S: * QUOTAROOT "INBOX" ""
        S: * QUOTA "" ..
        S: q2 OK GETQUOTAROOT completed
        C: q3 GETQUOTAROOT Shared/alice@example.org/Private
        S: q3 NO [NONEXISTENT] ..
        "#
        ),
    )
    .await;
    // Without r (only l), as for STATUS: no permission.
    ok(&mut alice, &format!("s SETACL Team {USER2} l")).await;
    let r = bob.cmd(&format!("q4 GETQUOTAROOT {TEAM}")).await;
    assert!(r.last().unwrap().starts_with("q4 NO"), "{r:?}");
    assert!(!r.iter().any(|l| l.starts_with("* QUOTA")), "{r:?}");
}

/// RFC 4314 4: "STORE operation SHOULD NOT fail if the user has rights to
/// modify at least one flag specified in the STORE".
async fn store_keeps_the_flags_the_grant_allows(store: Backend) {
    let w = World::new(store);
    let (_alice, mut bob) = team(&w, "lrs").await;
    ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    let r = ok(&mut bob, "a STORE 1 +FLAGS (\\Seen $Other \\Deleted)").await;
    assert_eq!(r[0], "* 1 FETCH (FLAGS (\\Seen \\Flagged \\Recent $Work))");
    let r = ok(&mut bob, "b STORE 1 -FLAGS (\\Seen \\Flagged)").await;
    assert_eq!(r[0], "* 1 FETCH (FLAGS (\\Flagged \\Recent $Work))");
    // Nothing it may change: refused; and FLAGS replaces every kind.
    for line in [
        "c STORE 1 +FLAGS ($Other \\Deleted)",
        "c STORE 1 FLAGS (\\Seen)",
    ] {
        let r = bob.cmd(line).await;
        assert!(
            r.last().unwrap().starts_with("c NO [NOPERM]"),
            "{line}: {r:?}"
        );
    }
}
