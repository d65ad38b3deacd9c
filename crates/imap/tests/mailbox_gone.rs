//! Transcripts of a selected mailbox deleted or renamed by another
//! session (RFC 2180 3.3, 3.4; `session/gone.rs`): a DELETE closes every
//! other session that has the mailbox selected with `* BYE`, at once, in
//! IDLE or between commands, the owner's other sessions and a grantee's
//! alike; the session that deleted it is not closed; a RENAME leaves the
//! other sessions working on the mailbox under its new name, which the
//! session takes (a CATENATE URL relative to the selected mailbox reads
//! it there), the mailbox's own rename, its parent's, the owner's while
//! a grantee has it selected, and the session's own alike; RENAME of
//! INBOX leaves its sessions on INBOX. Against the real store and the
//! in-memory model.

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
    the_renamed_mailbox_is_known_by_its_new_name,
    a_renamed_parent_renames_the_selected_child,
    the_sessions_own_rename_and_delete_use_the_new_name,
    a_grantee_knows_the_renamed_mailbox_by_its_new_name,
    an_inbox_session_stays_on_inbox_when_inbox_is_renamed,
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

/// What a session with alice's Work (one message, UID 1, recent to it)
/// selected sees once the mailbox is called `name`: a CATENATE URL
/// relative to the selected mailbox reads it, and so does one naming
/// `name`, not one naming `old`; STATUS answers for `name`, not for
/// `old`; FETCH, STORE and EXPUNGE go on. alice's Out takes the
/// CATENATEd messages.
async fn works_as(c: &mut Client, old: &str, name: &str) {
    let url = name.replace('@', "%40");
    let old_url = old.replace('@', "%40");
    transcript(
        c,
        &format!(
            r#"
        C: a APPEND Out CATENATE (URL ";UID=1/;SECTION=TEXT")
        S: a OK [APPENDUID ..
        C: b APPEND Out CATENATE (URL "/{url}/;UID=1")
        S: b OK [APPENDUID ..
        C: c APPEND Out CATENATE (URL "/{old_url}/;UID=1")
        S: c NO [BADURL /{old_url}/;UID=1] ..
        C: s STATUS "{name}" (MESSAGES UIDNEXT)
        S: * STATUS "{name}" (MESSAGES 1 UIDNEXT 2)
        S: s OK STATUS completed
        C: x STATUS "{old}" (MESSAGES)
        S: x NO [NONEXISTENT] ..
        C: f FETCH 1 (UID FLAGS)
        S: * 1 FETCH (UID 1 FLAGS (\Recent))
        S: f OK FETCH completed
        "#
        ),
    )
    .await;
}

/// After [`works_as`]: the message can be removed under the new name.
async fn expunges(c: &mut Client) {
    transcript(
        c,
        r#"
        C: t STORE 1 +FLAGS (\Deleted)
        S: * 1 FETCH (FLAGS (\Deleted \Recent))
        S: t OK STORE completed
        C: e EXPUNGE
        S: * 1 EXPUNGE
        S: e OK EXPUNGE completed
        "#,
    )
    .await;
}

/// Out holds `n` messages (what [`works_as`] CATENATEd).
async fn out_holds(c: &mut Client, n: u32) {
    let r = ok(c, "o STATUS Out (MESSAGES)").await;
    assert_eq!(r[0], format!("* STATUS \"Out\" (MESSAGES {n})"));
}

async fn the_renamed_mailbox_is_known_by_its_new_name(store: Backend) {
    let w = World::new(store);
    let mut alice = alice_with_work(&w).await;
    ok(&mut alice, "c CREATE Out").await;
    let mut other = w.login().await;
    ok(&mut other, "s SELECT Work").await;
    ok(&mut alice, "r RENAME Work Job").await;
    works_as(&mut other, "Work", "Job").await;
    expunges(&mut other).await;
    out_holds(&mut other, 2).await;
    // Renamed again, in IDLE this time.
    other.send(b"i IDLE\r\n").await;
    assert_eq!(other.line().await, "+ idling");
    ok(&mut alice, "r RENAME Job Task").await;
    silent(&mut other, "RENAME in IDLE").await;
    ok(&mut alice, &format!("a APPEND Task {}", literal(BODY))).await;
    assert_eq!(told(&mut other, "APPEND after RENAME").await, "* 1 EXISTS");
    assert_eq!(told(&mut other, "APPEND after RENAME").await, "* 1 RECENT");
    other.send(b"DONE\r\n").await;
    assert_eq!(other.line().await, "i OK IDLE terminated");
    let r = ok(&mut other, r#"a APPEND Out CATENATE (URL ";UID=2")"#).await;
    assert!(r[0].starts_with("a OK [APPENDUID "), "{r:?}");
    out_holds(&mut other, 3).await;
}

async fn a_renamed_parent_renames_the_selected_child(store: Backend) {
    let w = World::new(store);
    let mut alice = w.login().await;
    ok(&mut alice, "c CREATE Projects/Work").await;
    ok(&mut alice, "c CREATE Out").await;
    ok(
        &mut alice,
        &format!("a APPEND Projects/Work {}", literal(BODY)),
    )
    .await;
    let mut other = w.login().await;
    ok(&mut other, "s SELECT Projects/Work").await;
    ok(&mut alice, "r RENAME Projects Past").await;
    silent(&mut other, "RENAME of the parent").await;
    works_as(&mut other, "Projects/Work", "Past/Work").await;
    expunges(&mut other).await;
    out_holds(&mut other, 2).await;
}

async fn the_sessions_own_rename_and_delete_use_the_new_name(store: Backend) {
    let w = World::new(store);
    let mut alice = alice_with_work(&w).await;
    ok(&mut alice, "c CREATE Out").await;
    ok(&mut alice, "s SELECT Work").await;
    ok(&mut alice, "r RENAME Work Job").await;
    works_as(&mut alice, "Work", "Job").await;
    // Its parent, by the session itself, then the mailbox under the
    // name it has now.
    ok(&mut alice, "c CREATE Desk").await;
    ok(&mut alice, "r RENAME Job Desk/Job").await;
    ok(&mut alice, "r RENAME Desk Table").await;
    works_as(&mut alice, "Desk/Job", "Table/Job").await;
    out_holds(&mut alice, 4).await;
    let r = ok(&mut alice, "d DELETE Table/Job").await;
    assert_eq!(r, ["* 1 EXPUNGE", "d OK DELETE completed"]);
    silent(&mut alice, "its own DELETE").await;
    ok(&mut alice, "n NOOP").await;
}

async fn a_grantee_knows_the_renamed_mailbox_by_its_new_name(store: Backend) {
    let w = World::new(store);
    let mut alice = w.login().await;
    ok(&mut alice, "c CREATE Projects/Team").await;
    ok(
        &mut alice,
        &format!("a APPEND Projects/Team {}", literal(BODY)),
    )
    .await;
    ok(&mut alice, &format!("s SETACL Projects/Team {USER2} lrs")).await;
    let mut bob = bob(&w).await;
    ok(&mut bob, "c CREATE Out").await;
    ok(&mut bob, &format!("s SELECT {ALICES}Projects/Team")).await;
    // The mailbox itself, then its parent.
    ok(&mut alice, "r RENAME Projects/Team Projects/Crew").await;
    grantee_works_as(&mut bob, "Projects/Team", "Projects/Crew").await;
    ok(&mut alice, "r RENAME Projects Past").await;
    grantee_works_as(&mut bob, "Projects/Crew", "Past/Crew").await;
    out_holds(&mut bob, 4).await;
    transcript(
        &mut bob,
        r#"
        C: t STORE 1 +FLAGS (\Seen)
        S: * 1 FETCH (FLAGS (\Seen \Recent))
        S: t OK STORE completed
        "#,
    )
    .await;
}

/// How bob names alice's mailboxes.
const ALICES: &str = "Shared/alice@example.org/";

/// [`works_as`] for bob, through his grant (`lrs`), under alice's names
/// as he sees them: alice never selected the mailbox, so its message is
/// nobody's `\Recent` yet, which bob sees without claiming it.
async fn grantee_works_as(bob: &mut Client, old: &str, name: &str) {
    works_as(bob, &format!("{ALICES}{old}"), &format!("{ALICES}{name}")).await;
}

async fn an_inbox_session_stays_on_inbox_when_inbox_is_renamed(store: Backend) {
    let w = World::new(store);
    let mut alice = w.login().await;
    ok(&mut alice, &format!("a APPEND INBOX {}", literal(BODY))).await;
    ok(&mut alice, "c CREATE Out").await;
    let mut inbox = w.login().await;
    ok(&mut inbox, "s SELECT INBOX").await;
    ok(&mut alice, "r RENAME INBOX Old").await;
    ok(&mut alice, &format!("a APPEND INBOX {}", literal(BODY))).await;
    // RFC 9051 6.3.6: the messages moved to Old; INBOX, still INBOX, is
    // where the session stays, its relative URLs with it.
    transcript(
        &mut inbox,
        r#"
        C: n NOOP
        S: * 1 EXPUNGE
        S: * 1 EXISTS
        S: * 1 RECENT
        S: n OK NOOP completed
        C: f FETCH 1 (UID)
        S: * 1 FETCH (UID 2)
        S: f OK FETCH completed
        C: a APPEND Out CATENATE (URL ";UID=2")
        S: a OK [APPENDUID ..
        C: b APPEND Out CATENATE (URL ";UID=1")
        S: b NO [BADURL ;UID=1] ..
        C: s STATUS Old (MESSAGES)
        S: * STATUS "Old" (MESSAGES 1)
        S: s OK STATUS completed
        "#,
    )
    .await;
    out_holds(&mut inbox, 1).await;
}
