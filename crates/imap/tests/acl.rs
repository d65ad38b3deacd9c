//! Transcripts of ACL (RFC 4314) and the shared namespace (RFC 2342):
//! alice shares a mailbox with bob, bob sees it under
//! `Shared/alice@example.org/` with exactly the rights granted and nothing
//! else of alice's; against the real store and the in-memory model.

#[macro_use]
mod common;
use common::*;

both_stores!(
    owner_sees_full_rights_and_manages_the_acl,
    grant_makes_the_mailbox_visible_and_revoke_hides_it,
    nothing_else_of_the_owner_is_visible,
    each_write_right_is_checked,
    copy_and_move_across_accounts_follow_the_rights,
    grantee_in_idle_hears_the_owners_changes,
    identifiers_and_rights_are_validated,
);

const TEAM: &str = "Shared/alice@example.org/Team";
const MSG: &str = "From: Carol <carol@example.net>\r\nTo: team@example.org\r\nSubject: Quarterly plan\r\n\r\nDraft attached.\r\n";

/// `{n+}` CRLF message: an APPEND's message argument.
fn literal(msg: &str) -> String {
    format!("{{{}+}}\r\n{msg}", msg.len())
}

async fn bob(w: &World) -> Client {
    let mut c = w.connect(true).await;
    let r = c.cmd(&format!("L LOGIN {USER2} \"{PASS}\"")).await;
    assert!(r.last().unwrap().starts_with("L OK"), "{r:?}");
    c
}

/// alice with a mailbox Team holding one message, shared with bob as `rights`.
async fn shared_team(w: &World, rights: &str) -> Client {
    let mut alice = w.login().await;
    ok(&mut alice, "c CREATE Team").await;
    ok(
        &mut alice,
        &format!("a APPEND Team (\\Flagged) {}", literal(MSG)),
    )
    .await;
    ok(&mut alice, &format!("s SETACL Team {USER2} {rights}")).await;
    alice
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

fn last(r: &[String]) -> &str {
    r.last().unwrap()
}

async fn owner_sees_full_rights_and_manages_the_acl(store: Backend) {
    let w = World::new(store);
    let mut alice = shared_team(&w, "lr").await;
    transcript(
        &mut alice,
        r#"
        C: g1 GETACL Team
        S: * ACL "Team" "alice@example.org" lrswipkxteacd "bob@example.org" lr
        S: g1 OK GETACL completed
        C: m1 MYRIGHTS INBOX
        S: * MYRIGHTS "INBOX" lrswipkxteacd
        S: m1 OK MYRIGHTS completed
        C: l1 LISTRIGHTS Team bob@example.org
        S: * LISTRIGHTS "Team" "bob@example.org" "" l r s w i p k x t e a c d
        S: l1 OK LISTRIGHTS completed
        C: l2 LISTRIGHTS Team alice@example.org
        S: * LISTRIGHTS "Team" "alice@example.org" lrswipkxteacd
        S: l2 OK LISTRIGHTS completed
        C: s1 SETACL Team bob@example.org +w
        S: s1 OK SETACL completed
        C: s2 SETACL Team bob@example.org -r
        S: s2 OK SETACL completed
        C: g2 GETACL Team
        S: * ACL "Team" "alice@example.org" lrswipkxteacd "bob@example.org" lw
        S: g2 OK GETACL completed
        C: d1 DELETEACL Team bob@example.org
        S: d1 OK DELETEACL completed
        C: g3 GETACL Team
        S: * ACL "Team" "alice@example.org" lrswipkxteacd
        S: g3 OK GETACL completed
        C: g4 GETACL Nope
        S: g4 NO [NONEXISTENT] ..
        C: n1 NAMESPACE
        S: * NAMESPACE (("" "/")) (("Shared/" "/")) NIL
        S: n1 OK NAMESPACE completed
        "#,
    )
    .await;
    let r = alice.cmd("c CAPABILITY").await;
    assert!(
        r[0].contains(" ACL ") && r[0].contains(" RIGHTS=texk"),
        "{r:?}"
    );
}

async fn grant_makes_the_mailbox_visible_and_revoke_hides_it(store: Backend) {
    let w = World::new(store);
    let mut alice = shared_team(&w, "lr").await;
    let mut bob = bob(&w).await;
    let r = ok(&mut bob, "l LIST \"\" \"Shared/*\"").await;
    assert!(
        r.contains(&format!("* LIST (\\HasNoChildren) \"/\" \"{TEAM}\"")),
        "{r:?}"
    );
    assert_eq!(r.iter().filter(|l| l.contains("Team")).count(), 1, "{r:?}");
    let r = ok(&mut bob, &format!("t STATUS {TEAM} (MESSAGES)")).await;
    assert_eq!(r[0], format!("* STATUS \"{TEAM}\" (MESSAGES 1)"));
    // lr without any right to change: read-only.
    let r = ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    assert!(r.iter().any(|l| l == "* 1 EXISTS"), "{r:?}");
    assert!(last(&r).starts_with("s OK [READ-ONLY]"), "{r:?}");
    let r = ok(&mut bob, "f FETCH 1 (FLAGS BODY[HEADER.FIELDS (SUBJECT)])").await;
    assert!(r[0].contains("\\Flagged"), "{r:?}");
    assert!(r.iter().any(|l| l.contains("Quarterly plan")), "{r:?}");
    let r = ok(&mut bob, &format!("m MYRIGHTS {TEAM}")).await;
    assert_eq!(r[0], format!("* MYRIGHTS \"{TEAM}\" lr"));
    // bob cannot read or change the list without `a`.
    let r = bob.cmd(&format!("g GETACL {TEAM}")).await;
    assert!(last(&r).starts_with("g NO [NOPERM]"), "{r:?}");
    let r = bob
        .cmd(&format!("g SETACL {TEAM} bob@example.org lrswi"))
        .await;
    assert!(last(&r).starts_with("g NO [NOPERM]"), "{r:?}");
    ok(&mut bob, "u UNSELECT").await;
    // Revoked: gone, exactly like a mailbox that never existed.
    ok(&mut alice, "d DELETEACL Team bob@example.org").await;
    let r = ok(&mut bob, "l LIST \"\" \"*\"").await;
    assert!(!r.iter().any(|l| l.contains("Shared")), "{r:?}");
    let gone = bob.cmd(&format!("s SELECT {TEAM}")).await;
    let never = bob.cmd("s SELECT Shared/alice@example.org/Never").await;
    assert_eq!(last(&gone), last(&never));
    assert!(last(&gone).starts_with("s NO [NONEXISTENT]"), "{gone:?}");
    let never = "Shared/alice@example.org/Never";
    for cmd in [
        "x STATUS {} (MESSAGES)".to_string(),
        "x EXAMINE {}".to_string(),
        "x MYRIGHTS {}".to_string(),
        "x GETACL {}".to_string(),
        "x DELETE {}".to_string(),
        format!("x APPEND {{}} {}", literal(MSG)),
    ] {
        let gone = bob.cmd(&cmd.replacen("{}", TEAM, 1)).await;
        let missing = bob.cmd(&cmd.replacen("{}", never, 1)).await;
        assert_eq!(gone, missing, "{cmd}");
        assert!(last(&gone).starts_with("x NO ["), "{cmd}: {gone:?}");
    }
}

async fn nothing_else_of_the_owner_is_visible(store: Backend) {
    let w = World::new(store);
    let _alice = shared_team(&w, "lrswipkxtea").await;
    let mut bob = bob(&w).await;
    let r = ok(&mut bob, "l LIST \"\" \"*\"").await;
    let shared: Vec<&String> = r.iter().filter(|l| l.contains("alice")).collect();
    // Only Team, and the namespace levels above it (not selectable).
    assert_eq!(shared.len(), 2, "{r:?}");
    assert!(shared[0].contains("\\Noselect") || shared[0].contains("\\NonExistent"));
    assert!(shared[1].ends_with(&format!("\"{TEAM}\"")), "{r:?}");
    for name in [
        "Shared/alice@example.org/INBOX",
        "Shared/alice@example.org/Sent",
        "Shared/alice@example.org",
        "Shared",
        "Shared/bob@example.org/INBOX",
        "Shared/nobody@example.org/INBOX",
    ] {
        let r = bob.cmd(&format!("x SELECT \"{name}\"")).await;
        assert!(last(&r).starts_with("x NO [NONEXISTENT]"), "{name}: {r:?}");
    }
    // bob's own INBOX is still his own, and a name under Shared/ never is.
    let r = bob.cmd("c CREATE Shared/mine").await;
    assert!(last(&r).starts_with("c NO [NOPERM]"), "{r:?}");
    let r = bob
        .cmd("r RENAME Shared/alice@example.org/Team Stolen")
        .await;
    assert!(last(&r).starts_with("r NO [CANNOT]"), "{r:?}");
}

async fn each_write_right_is_checked(store: Backend) {
    let w = World::new(store);
    let mut alice = shared_team(&w, "lr").await;
    let mut bob = bob(&w).await;
    let grant = |rights: &str| format!("g SETACL Team {USER2} {rights}");
    // i: APPEND into.
    let r = bob.cmd(&format!("a APPEND {TEAM} {}", literal(MSG))).await;
    assert!(last(&r).starts_with("a NO [NOPERM]"), "{r:?}");
    ok(&mut alice, &grant("lri")).await;
    ok(
        &mut bob,
        &format!("a APPEND {TEAM} (\\Seen) {}", literal(MSG)),
    )
    .await;
    // s, w, t: STORE per kind of flag; without s, \Seen was dropped.
    ok(&mut alice, &grant("lrsi")).await;
    let r = ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    assert!(last(&r).starts_with("s OK [READ-WRITE]"), "{r:?}");
    let r = ok(&mut bob, "f FETCH 2 FLAGS").await;
    assert!(!r[0].contains("\\Seen"), "{r:?}");
    ok(&mut bob, "s1 STORE 1 +FLAGS (\\Seen)").await;
    for (flag, right) in [("$Work", "w"), ("\\Answered", "w"), ("\\Deleted", "t")] {
        let r = bob.cmd(&format!("s2 STORE 1 +FLAGS ({flag})")).await;
        assert!(last(&r).starts_with("s2 NO [NOPERM]"), "{flag}: {r:?}");
        ok(&mut alice, &grant(&format!("lrsi{right}"))).await;
        ok(&mut bob, "u UNSELECT").await;
        ok(&mut bob, &format!("s SELECT {TEAM}")).await;
        ok(&mut bob, &format!("s3 STORE 1 +FLAGS ({flag})")).await;
        ok(&mut alice, &grant("lrsi")).await;
        // Rights are taken at SELECT.
        ok(&mut bob, "u UNSELECT").await;
        ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    }
    // e: EXPUNGE.
    ok(&mut alice, &grant("lrsit")).await;
    ok(&mut bob, "u UNSELECT").await;
    ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    let r = bob.cmd("e EXPUNGE").await;
    assert!(last(&r).starts_with("e NO [NOPERM]"), "{r:?}");
    ok(&mut alice, &grant("lrsite")).await;
    ok(&mut bob, "u UNSELECT").await;
    ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    let r = ok(&mut bob, "e EXPUNGE").await;
    assert_eq!(r[0], "* 1 EXPUNGE");
    // The owner sees bob's changes: one message left.
    let r = ok(&mut alice, "t STATUS Team (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"Team\" (MESSAGES 1)");
    // k and x: a child of Team, then its deletion.
    let child = format!("{TEAM}/Q3");
    let r = bob.cmd(&format!("c CREATE {child}")).await;
    assert!(last(&r).starts_with("c NO [NOPERM]"), "{r:?}");
    ok(&mut alice, &grant("lrsitek")).await;
    ok(&mut bob, &format!("c CREATE {child}")).await;
    ok(&mut alice, "t STATUS Team/Q3 (MESSAGES)").await;
    ok(&mut alice, &format!("g SETACL Team/Q3 {USER2} l")).await;
    let r = bob.cmd(&format!("d DELETE {child}")).await;
    assert!(last(&r).starts_with("d NO [NOPERM]"), "{r:?}");
    ok(&mut alice, &format!("g SETACL Team/Q3 {USER2} lx")).await;
    ok(&mut bob, &format!("d DELETE {child}")).await;
    let r = alice.cmd("t STATUS Team/Q3 (MESSAGES)").await;
    assert!(last(&r).starts_with("t NO [NONEXISTENT]"), "{r:?}");
}

async fn copy_and_move_across_accounts_follow_the_rights(store: Backend) {
    let w = World::new(store);
    let mut alice = shared_team(&w, "lr").await;
    let mut bob = bob(&w).await;
    ok(
        &mut bob,
        &format!("a APPEND INBOX (\\Seen) {}", literal(MSG)),
    )
    .await;
    // From the shared mailbox into bob's own: a copy under bob's key.
    ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    let r = ok(&mut bob, "c COPY 1 INBOX").await;
    assert!(last(&r).starts_with("c OK [COPYUID "), "{r:?}");
    let r = bob.cmd("m MOVE 1 INBOX").await;
    assert!(last(&r).starts_with("m NO"), "{r:?}");
    ok(&mut bob, "u UNSELECT").await;
    let r = ok(&mut bob, "t STATUS INBOX (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"INBOX\" (MESSAGES 2)");
    // From bob's own into the shared one: needs i.
    ok(&mut bob, "s SELECT INBOX").await;
    let r = bob.cmd(&format!("c COPY 1 {TEAM}")).await;
    assert!(last(&r).starts_with("c NO [NOPERM]"), "{r:?}");
    ok(&mut alice, &format!("g SETACL Team {USER2} lri")).await;
    ok(&mut bob, &format!("m MOVE 1 {TEAM}")).await;
    let r = ok(&mut bob, "t STATUS INBOX (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"INBOX\" (MESSAGES 1)");
    ok(&mut alice, "s SELECT Team").await;
    // \Seen was not kept: bob has no s on Team.
    let r = ok(
        &mut alice,
        "f FETCH 2 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
    )
    .await;
    assert!(!r[0].contains("\\Seen"), "{r:?}");
    assert!(r.iter().any(|l| l.contains("Quarterly plan")), "{r:?}");
    // More than one batch (64) across accounts: every message, in order.
    let more: String = (0..68).map(|_| format!(" () {}", literal(MSG))).collect();
    ok(&mut alice, &format!("a APPEND Team{more}")).await;
    ok(&mut bob, "u UNSELECT").await;
    ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    let r = ok(&mut bob, "c UID COPY 1:* INBOX").await;
    assert!(last(&r).starts_with("c OK [COPYUID "), "{r:?}");
    assert!(last(&r).contains(" 1:70 "), "{r:?}");
    let r = ok(&mut bob, "t STATUS INBOX (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"INBOX\" (MESSAGES 71)");
}

async fn grantee_in_idle_hears_the_owners_changes(store: Backend) {
    let w = World::new(store);
    let mut alice = shared_team(&w, "lr").await;
    let mut bob = bob(&w).await;
    ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    bob.send(b"i IDLE\r\n").await;
    assert_eq!(bob.line().await, "+ idling");
    ok(&mut alice, &format!("a APPEND Team {}", literal(MSG))).await;
    assert_eq!(bob.line().await, "* 2 EXISTS");
    bob.send(b"DONE\r\n").await;
    let r = bob.until_tagged("i").await;
    assert!(last(&r).starts_with("i OK"), "{r:?}");
}

async fn identifiers_and_rights_are_validated(store: Backend) {
    let w = World::new(store);
    let mut alice = shared_team(&w, "lr").await;
    for (line, answer) in [
        ("x SETACL Team anyone lr", "x NO"),
        ("x SETACL Team authenticated lr", "x NO"),
        ("x SETACL Team -bob@example.org lr", "x NO"),
        ("x SETACL Team nobody@example.org lr", "x NO"),
        ("x SETACL Team alice@example.org lr", "x NO"),
        ("x DELETEACL Team alice@example.org", "x NO"),
        ("x SETACL Team bob@example.org lrz", "x BAD"),
        ("x SETACL Team bob@example.org", "x BAD"),
        ("x MYRIGHTS", "x BAD"),
    ] {
        let r = alice.cmd(line).await;
        assert!(last(&r).starts_with(answer), "{line}: {r:?}");
    }
    // Nothing changed.
    let r = ok(&mut alice, "g GETACL Team").await;
    assert_eq!(
        r[0],
        "* ACL \"Team\" \"alice@example.org\" lrswipkxteacd \"bob@example.org\" lr"
    );
    // The obsolete c and d stand for k and x t e (RFC 4314 2.1.1).
    ok(&mut alice, "s SETACL Team bob@example.org lrcd").await;
    let r = ok(&mut alice, "g GETACL Team").await;
    assert!(r[0].ends_with("\"bob@example.org\" lrkxtecd"), "{r:?}");
    // Before login, nothing.
    let mut anon = w.connect(true).await;
    let r = anon.cmd("x GETACL INBOX").await;
    assert!(last(&r).starts_with("x BAD"), "{r:?}");
}
