//! Transcripts of a selected mailbox deleted or renamed by another
//! session (RFC 2180 3.3, 3.4; `session/gone.rs`): a DELETE closes every
//! other session that has the mailbox selected with `* BYE`, at once, in
//! IDLE or between commands, the owner's other sessions and a grantee's
//! alike; the session that deleted it is not closed; a RENAME leaves the
//! other sessions working on the mailbox under its new name. Against the
//! real store and the in-memory model.

#[macro_use]
mod common;
use common::*;
use std::time::Duration;

both_stores!(
    delete_closes_the_other_sessions_at_once,
    the_deleting_session_itself_is_not_closed,
    rename_leaves_the_other_sessions_working,
    a_grantee_is_closed_by_the_owners_delete,
    a_grantee_goes_on_after_the_owners_rename,
);

const BODY: &str = "Subject: gone\r\n\r\nbody\r\n";

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

/// The BYE of a deleted mailbox, then the end of the connection.
async fn closed_for_deletion(c: &mut Client, after: &str) {
    let bye = told(c, after).await;
    assert_eq!(
        bye, "* BYE The selected mailbox was deleted, closing the connection",
        "after {after}"
    );
    assert_eq!(c.line().await, "", "after {after}: more after the BYE");
}

async fn bob(w: &World) -> Client {
    let mut bob = w.connect(true).await;
    ok(&mut bob, &format!("L LOGIN {USER2} \"{PASS}\"")).await;
    bob
}

/// alice with Work holding one message.
async fn alice_with_work(w: &World) -> Client {
    let mut alice = w.login().await;
    ok(&mut alice, "c CREATE Work").await;
    ok(&mut alice, &format!("a APPEND Work {}", literal(BODY))).await;
    alice
}

async fn delete_closes_the_other_sessions_at_once(store: Backend) {
    let w = World::new(store);
    let mut alice = alice_with_work(&w).await;
    let mut idle = w.login().await;
    ok(&mut idle, "s SELECT Work").await;
    idle.send(b"i IDLE\r\n").await;
    assert_eq!(idle.line().await, "+ idling");
    let mut quiet = w.login().await;
    ok(&mut quiet, "s EXAMINE Work").await;
    ok(&mut quiet, "f FETCH 1 FLAGS").await;
    let mut inbox = w.login().await;
    ok(&mut inbox, "s SELECT INBOX").await;
    let mut unselected = w.login().await;

    ok(&mut alice, "d DELETE Work").await;
    closed_for_deletion(&mut idle, "DELETE during IDLE").await;
    closed_for_deletion(&mut quiet, "DELETE between commands").await;
    silent(&mut inbox, "DELETE of another mailbox").await;
    silent(&mut unselected, "DELETE").await;
    ok(&mut inbox, "n NOOP").await;
    let r = unselected.cmd("s SELECT Work").await;
    assert!(r.last().unwrap().starts_with("s NO [NONEXISTENT]"), "{r:?}");

    // A mailbox of the same name created afterwards is another mailbox:
    // a session of the new one is not closed by the old one's end.
    ok(&mut alice, "c CREATE Work").await;
    ok(&mut unselected, "s SELECT Work").await;
    ok(&mut alice, "r RENAME Work Other").await;
    ok(&mut alice, "d DELETE Other").await;
    closed_for_deletion(&mut unselected, "DELETE after a RENAME").await;
}

async fn the_deleting_session_itself_is_not_closed(store: Backend) {
    let w = World::new(store);
    let mut alice = alice_with_work(&w).await;
    ok(&mut alice, "s SELECT Work").await;
    // As before: the messages are expunged, the tagged OK says why.
    let r = ok(&mut alice, "d DELETE Work").await;
    assert_eq!(r, ["* 1 EXPUNGE", "d OK DELETE completed"]);
    silent(&mut alice, "its own DELETE").await;
    let r = ok(&mut alice, "n NOOP").await;
    assert_eq!(r, ["n OK NOOP completed"]);
    ok(&mut alice, "l LOGOUT").await;
}

async fn rename_leaves_the_other_sessions_working(store: Backend) {
    let w = World::new(store);
    let mut alice = alice_with_work(&w).await;
    let mut other = w.login().await;
    ok(&mut other, "s SELECT Work").await;
    other.send(b"i IDLE\r\n").await;
    assert_eq!(other.line().await, "+ idling");

    ok(&mut alice, "r RENAME Work Job").await;
    silent(&mut other, "RENAME").await;
    ok(&mut alice, &format!("a APPEND Job {}", literal(BODY))).await;
    assert_eq!(told(&mut other, "APPEND after RENAME").await, "* 2 EXISTS");
    assert_eq!(told(&mut other, "APPEND after RENAME").await, "* 2 RECENT");
    other.send(b"DONE\r\n").await;
    assert_eq!(other.line().await, "i OK IDLE terminated");
    transcript(
        &mut other,
        r#"
        C: f UID FETCH 1:* (UID FLAGS)
        S: * 1 FETCH (UID 1 FLAGS (\Recent))
        S: * 2 FETCH (UID 2 FLAGS (\Recent))
        S: f OK FETCH completed
        C: t STORE 1 +FLAGS.SILENT (\Seen)
        S: t OK STORE completed
        C: x SELECT Work
        S: x NO [NONEXISTENT] ..
        "#,
    )
    .await;
    // And a DELETE under the new name closes it.
    let mut again = w.login().await;
    ok(&mut again, "s SELECT Job").await;
    ok(&mut alice, "d DELETE Job").await;
    closed_for_deletion(&mut again, "DELETE after RENAME").await;
}

const TEAM: &str = "Shared/alice@example.org/Team";

async fn alice_sharing_team(w: &World) -> Client {
    let mut alice = w.login().await;
    ok(&mut alice, "c CREATE Team").await;
    ok(&mut alice, &format!("a APPEND Team {}", literal(BODY))).await;
    ok(&mut alice, &format!("s SETACL Team {USER2} lrs")).await;
    alice
}

async fn a_grantee_is_closed_by_the_owners_delete(store: Backend) {
    let w = World::new(store);
    let mut alice = alice_sharing_team(&w).await;
    let mut idle = bob(&w).await;
    ok(&mut idle, &format!("s SELECT {TEAM}")).await;
    idle.send(b"i IDLE\r\n").await;
    assert_eq!(idle.line().await, "+ idling");
    let mut quiet = bob(&w).await;
    ok(&mut quiet, &format!("s SELECT {TEAM}")).await;
    // The owner's own session in the mailbox too.
    let mut owner = w.login().await;
    ok(&mut owner, "s SELECT Team").await;

    ok(&mut alice, "d DELETE Team").await;
    closed_for_deletion(&mut idle, "the owner's DELETE, grantee in IDLE").await;
    closed_for_deletion(&mut quiet, "the owner's DELETE, grantee between commands").await;
    closed_for_deletion(&mut owner, "DELETE, owner's other session").await;
}

async fn a_grantee_goes_on_after_the_owners_rename(store: Backend) {
    let w = World::new(store);
    let mut alice = alice_sharing_team(&w).await;
    let mut bob = bob(&w).await;
    ok(&mut bob, &format!("s SELECT {TEAM}")).await;
    ok(&mut alice, "r RENAME Team Crew").await;
    silent(&mut bob, "the owner's RENAME").await;
    ok(&mut alice, &format!("a APPEND Crew {}", literal(BODY))).await;
    transcript(
        &mut bob,
        r#"
        C: n NOOP
        S: * 2 EXISTS
        S: * 2 RECENT
        S: n OK NOOP completed
        C: t UID STORE 1 +FLAGS (\Seen)
        S: * 1 FETCH (UID 1 FLAGS (\Seen \Recent))
        S: t OK STORE completed
        "#,
    )
    .await;
}
