//! Transcripts of a grant changed under a grantee's selected shared
//! mailbox (RFC 4314 5.1.1; `session/regrant.rs`): losing `r` or `l`
//! closes the grantee at once with `* BYE [NOPERM]`, in IDLE or between
//! commands, and nothing more of the mailbox reaches it; other rights
//! lost or gained take effect at the next command and are told at once
//! (FLAGS, PERMANENTFLAGS, READ-ONLY / READ-WRITE). Against the real store
//! and the in-memory model.

#[macro_use]
mod common;
use common::*;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

both_stores!(
    losing_read_closes_a_selected_grantee_at_once,
    losing_read_in_idle_closes_before_any_later_change,
    a_command_racing_the_revocation_gets_nothing_of_the_mailbox,
    lost_rights_apply_to_the_next_command,
    rights_gained_are_told_too,
    other_grants_leave_the_session_alone,
);

const TEAM: &str = "Shared/alice@example.org/Team";
const BODY: &str = "Quarterly plan, draft.";

fn literal(msg: &str) -> String {
    format!("{{{}+}}\r\n{msg}", msg.len())
}

fn message() -> String {
    format!("From: Carol <carol@example.net>\r\nSubject: Plan\r\n\r\n{BODY}\r\n")
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

/// alice with Team (one `\Flagged` message) shared with bob as `rights`.
async fn alice_sharing(w: &World, rights: &str) -> Client {
    let mut alice = w.login().await;
    ok(&mut alice, "c CREATE Team").await;
    let msg = message();
    ok(
        &mut alice,
        &format!("a APPEND Team (\\Flagged) {}", literal(&msg)),
    )
    .await;
    ok(&mut alice, &format!("s SETACL Team {USER2} {rights}")).await;
    alice
}

async fn bob(w: &World) -> Client {
    let mut bob = w.connect(true).await;
    ok(&mut bob, &format!("L LOGIN {USER2} \"{PASS}\"")).await;
    bob
}

/// The next line, which must come unasked within a second.
async fn told(c: &mut Client, after: &str) -> String {
    tokio::time::timeout(Duration::from_secs(1), c.line())
        .await
        .unwrap_or_else(|_| panic!("nothing told within a second of {after}"))
}

/// Nothing arrives for a while.
async fn silent(c: &mut Client, after: &str) {
    let heard = tokio::time::timeout(Duration::from_millis(400), c.line()).await;
    assert!(heard.is_err(), "after {after}: heard {heard:?}");
}

/// The BYE of a revocation, then the end of the connection: nothing else.
async fn closed_for_revocation(c: &mut Client, after: &str) {
    let bye = told(c, after).await;
    assert!(
        glob("* BYE [NOPERM] ..", &bye),
        "after {after}: expected BYE [NOPERM], got {bye:?}"
    );
    let rest = c.line().await;
    assert_eq!(rest, "", "after {after}: more after the BYE");
}

async fn losing_read_closes_a_selected_grantee_at_once(store: Backend) {
    let w = World::new(store);
    let mut alice = alice_sharing(&w, "lr").await;
    for (open, revoke) in [
        ("SELECT", format!("d DELETEACL Team {USER2}")),
        ("EXAMINE", format!("d DELETEACL Team {USER2}")),
        ("SELECT", format!("d SETACL Team {USER2} l")),
        ("SELECT", format!("d SETACL Team {USER2} -r")),
        ("SELECT", format!("d SETACL Team {USER2} r")),
        ("EXAMINE", format!("d SETACL Team {USER2} lswitexk")),
    ] {
        ok(&mut alice, &format!("g SETACL Team {USER2} lrswitexk")).await;
        let mut bob = bob(&w).await;
        ok(&mut bob, &format!("s {open} {TEAM}")).await;
        ok(&mut bob, "f FETCH 1 FLAGS").await;
        ok(&mut alice, &revoke).await;
        closed_for_revocation(&mut bob, &format!("{open}, then {revoke}")).await;
    }
    // Another session of bob's, never in Team, is not touched; Team is
    // gone for it as a missing mailbox is.
    ok(&mut alice, &format!("g SETACL Team {USER2} lr")).await;
    let mut other = bob(&w).await;
    let mut selected = bob(&w).await;
    ok(&mut selected, &format!("s SELECT {TEAM}")).await;
    ok(&mut alice, &format!("d DELETEACL Team {USER2}")).await;
    closed_for_revocation(&mut selected, "DELETEACL").await;
    silent(&mut other, "DELETEACL").await;
    let r = other.cmd(&format!("s SELECT {TEAM}")).await;
    assert!(r.last().unwrap().starts_with("s NO [NONEXISTENT]"), "{r:?}");
}

async fn losing_read_in_idle_closes_before_any_later_change(store: Backend) {
    let w = World::new(store);
    let mut alice = alice_sharing(&w, "lr").await;
    let mut bob = bob(&w).await;
    ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    bob.send(b"i IDLE\r\n").await;
    assert_eq!(bob.line().await, "+ idling");
    let msg = message();
    ok(&mut alice, &format!("a APPEND Team {}", literal(&msg))).await;
    assert_eq!(told(&mut bob, "APPEND").await, "* 2 EXISTS");
    assert_eq!(told(&mut bob, "APPEND").await, "* 2 RECENT");
    // Revoked, then every kind of change: bob hears the BYE, nothing else.
    ok(&mut alice, &format!("d SETACL Team {USER2} l")).await;
    ok(&mut alice, &format!("a APPEND Team {}", literal(&msg))).await;
    ok(&mut alice, "x SELECT Team").await;
    ok(&mut alice, "y STORE 1:* +FLAGS (\\Deleted)").await;
    ok(&mut alice, "z EXPUNGE").await;
    closed_for_revocation(&mut bob, "SETACL l during IDLE").await;
}

async fn a_command_racing_the_revocation_gets_nothing_of_the_mailbox(store: Backend) {
    let w = World::new(store);
    let mut alice = alice_sharing(&w, "lr").await;
    let mut bob = bob(&w).await;
    ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    ok(&mut alice, &format!("d DELETEACL Team {USER2}")).await;
    // Pipelined right behind the revocation (the server may already have
    // closed: a failed write is fine).
    let _ = bob
        .io
        .write_all(b"f FETCH 1 BODY[]\r\ng UID SEARCH ALL\r\nn NOOP\r\n")
        .await;
    let mut heard = Vec::new();
    loop {
        let l = bob.line().await;
        if l.is_empty() {
            break;
        }
        heard.push(l);
    }
    assert!(
        heard.len() == 1 && heard[0].starts_with("* BYE [NOPERM]"),
        "{heard:?}"
    );
}

async fn lost_rights_apply_to_the_next_command(store: Backend) {
    let w = World::new(store);
    let mut alice = alice_sharing(&w, "lrswite").await;
    let mut bob = bob(&w).await;
    let r = ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    assert!(r.last().unwrap().starts_with("s OK [READ-WRITE]"), "{r:?}");
    let flags = "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)";
    // s lost: told at once; FETCH no longer sets \Seen, STORE of it fails.
    ok(&mut alice, &format!("g SETACL Team {USER2} lrwite")).await;
    assert_eq!(told(&mut bob, "losing s").await, flags);
    assert_eq!(
        told(&mut bob, "losing s").await,
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Draft \\*)] Flags permitted"
    );
    let r = ok(&mut bob, "f FETCH 1 BODY[TEXT]").await;
    assert!(r.iter().any(|l| l.contains(BODY)), "{r:?}");
    let r = ok(&mut bob, "f FETCH 1 FLAGS").await;
    // (Recent: nobody claimed it, and a grantee never does.)
    assert_eq!(r[0], "* 1 FETCH (FLAGS (\\Flagged \\Recent))");
    let r = bob.cmd("s STORE 1 +FLAGS (\\Seen)").await;
    assert!(r.last().unwrap().starts_with("s NO [NOPERM]"), "{r:?}");
    // t and e lost: no \Deleted, no EXPUNGE, and CLOSE expunges nothing
    // (RFC 4314 4) though alice marked the message \Deleted.
    ok(&mut alice, &format!("g SETACL Team {USER2} lrwi")).await;
    assert_eq!(told(&mut bob, "losing t e").await, flags);
    assert_eq!(
        told(&mut bob, "losing t e").await,
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Draft \\*)] Flags permitted"
    );
    let r = bob.cmd("t STORE 1 +FLAGS (\\Deleted)").await;
    assert!(r.last().unwrap().starts_with("t NO [NOPERM]"), "{r:?}");
    ok(&mut alice, "x SELECT Team").await;
    ok(&mut alice, "y STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    let r = bob.cmd("e EXPUNGE").await;
    assert!(r.last().unwrap().starts_with("e NO [NOPERM]"), "{r:?}");
    ok(&mut bob, "c CLOSE").await;
    let r = ok(&mut alice, "m STATUS Team (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"Team\" (MESSAGES 1)");
    // w and i lost as well: nothing left to change, read-only.
    ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    ok(&mut alice, &format!("g SETACL Team {USER2} lr")).await;
    assert_eq!(told(&mut bob, "losing w i").await, flags);
    assert_eq!(
        told(&mut bob, "losing w i").await,
        "* OK [PERMANENTFLAGS ()] Flags permitted"
    );
    let ro = told(&mut bob, "losing w i").await;
    assert!(glob("* OK [READ-ONLY] ..", &ro), "{ro:?}");
    let r = bob.cmd("w STORE 1 +FLAGS ($Work)").await;
    assert!(r.last().unwrap().starts_with("w NO"), "{r:?}");
    let msg = message();
    let r = bob.cmd(&format!("a APPEND {TEAM} {}", literal(&msg))).await;
    assert!(r.last().unwrap().starts_with("a NO [NOPERM]"), "{r:?}");
    // Still readable: the session goes on.
    let r = ok(&mut bob, "f FETCH 1 FLAGS").await;
    // (alice claimed \Recent when she selected Team.)
    assert_eq!(r[0], "* 1 FETCH (FLAGS (\\Flagged \\Deleted))");
}

async fn rights_gained_are_told_too(store: Backend) {
    let w = World::new(store);
    let mut alice = alice_sharing(&w, "lr").await;
    let mut bob = bob(&w).await;
    let r = ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    assert!(r.last().unwrap().starts_with("s OK [READ-ONLY]"), "{r:?}");
    ok(&mut alice, &format!("g SETACL Team {USER2} lrs")).await;
    assert_eq!(
        told(&mut bob, "gaining s").await,
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)"
    );
    assert_eq!(
        told(&mut bob, "gaining s").await,
        "* OK [PERMANENTFLAGS (\\Seen)] Flags permitted"
    );
    let rw = told(&mut bob, "gaining s").await;
    assert!(glob("* OK [READ-WRITE] ..", &rw), "{rw:?}");
    let r = ok(&mut bob, "s STORE 1 +FLAGS (\\Seen)").await;
    assert_eq!(r[0], "* 1 FETCH (FLAGS (\\Seen \\Flagged \\Recent))");
    // EXAMINE stays read-only whatever the grant: nothing to tell.
    ok(&mut bob, &format!("e EXAMINE {TEAM}")).await;
    ok(&mut alice, &format!("g SETACL Team {USER2} lrswite")).await;
    silent(&mut bob, "a grant while EXAMINEd").await;
    let r = bob.cmd("s STORE 1 +FLAGS ($Work)").await;
    assert!(r.last().unwrap().starts_with("s NO"), "{r:?}");
}

async fn other_grants_leave_the_session_alone(store: Backend) {
    let w = World::new(store);
    let mut alice = alice_sharing(&w, "lr").await;
    ok(&mut alice, "c CREATE Other").await;
    ok(&mut alice, &format!("g SETACL Other {USER2} lr")).await;
    let mut bob = bob(&w).await;
    ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    // Another mailbox's grant, alice's own changes elsewhere, bob's own
    // mail: nothing to tell, and Team is still bob's to read.
    ok(&mut alice, &format!("d DELETEACL Other {USER2}")).await;
    let msg = message();
    ok(&mut alice, &format!("a APPEND INBOX {}", literal(&msg))).await;
    ok(&mut bob, &format!("a APPEND INBOX {}", literal(&msg))).await;
    silent(&mut bob, "changes elsewhere").await;
    let r = ok(&mut bob, "f FETCH 1 BODY.PEEK[TEXT]").await;
    assert!(r.iter().any(|l| l.contains(BODY)), "{r:?}");
    // One's own mailbox selected: a grant changed is nothing to it.
    ok(&mut bob, "s SELECT INBOX").await;
    ok(&mut alice, &format!("g SETACL Team {USER2} l")).await;
    silent(&mut bob, "a grant while INBOX is selected").await;
    ok(&mut bob, "n NOOP").await;
}
