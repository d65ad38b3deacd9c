//! NOTIFY (RFC 5465) and what is not the user's own or not elsewhere:
//! mailboxes another account shares (RFC 4314, `Shared/<owner>/...`) are
//! told under the specifiers that cover them while the user may read
//! them; the selected mailbox follows its own specifier (3.1: none is
//! `SELECTED NONE`, in IDLE too, section 4), keeps its sequence numbers
//! consistent (5.2-5.3) and its FlagChange FETCH carries the UID (5.1).
//! Against the real store and the in-memory model.

#[macro_use]
mod common;
use common::*;

both_stores!(
    shared_mailboxes_are_told_while_readable,
    personal_does_not_cover_shared_mailboxes,
    subscribed_shared_mailbox_is_told,
    without_a_selected_group_idle_is_silent_for_the_selected_mailbox,
    selected_events_keep_sequence_numbers_consistent,
    flag_changes_carry_the_uid,
);

const MSG: &str = "From: Carol <carol@example.net>\r\nTo: alice@example.org\r\nSubject: Lunch plans\r\n\r\nShall we meet at noon?\r\n";

async fn ok(c: &mut Client, line: &str) -> Vec<String> {
    let r = c.cmd(line).await;
    let tag = line.split(' ').next().unwrap();
    assert!(
        r.last().unwrap().starts_with(&format!("{tag} OK")),
        "{line}: {r:?}"
    );
    r
}

fn append(mailbox: &str) -> String {
    format!("ap APPEND {mailbox} {{{}+}}\r\n{MSG}", MSG.len())
}

async fn bob(w: &World) -> Client {
    let mut c = w.connect(true).await;
    ok(&mut c, &format!("L LOGIN {USER2} \"{PASS}\"")).await;
    c
}

/// alice's own CREATE, heard by `alice` as the next line: nothing came
/// before it.
async fn marker(w: &World, alice: &mut Client, name: &str) {
    let mut other = w.login().await;
    ok(&mut other, &format!("c CREATE {name}")).await;
    assert_eq!(alice.line().await, format!("* LIST () \"/\" \"{name}\""));
}

async fn shared_mailboxes_are_told_while_readable(store: Backend) {
    let w = World::new(store);
    let mut alice = w.login().await;
    let mut bob = bob(&w).await;
    ok(&mut bob, "c CREATE Private").await;
    ok(&mut bob, "c CREATE Team").await;
    ok(&mut bob, &format!("g SETACL Team {USER} lr")).await;
    ok(
        &mut alice,
        &format!(
            "n NOTIFY SET (personal (MessageNew MessageExpunge MailboxName)) (subtree Shared (MessageNew MessageExpunge MailboxName)) (mailboxes \"Shared/{USER2}/Private\" (MessageNew MessageExpunge))"
        ),
    )
    .await;
    // Not granted: silent, whatever the filter says.
    ok(&mut bob, &append("Private")).await;
    ok(&mut bob, "c CREATE Secret").await;
    ok(&mut bob, "d DELETE Private").await;
    // Granted `lr`: the owner's new message, as STATUS under alice's name.
    ok(&mut bob, &append("Team")).await;
    assert!(
        glob(
            &format!(
                "* STATUS \"Shared/{USER2}/Team\" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY .. UNSEEN 1)"
            ),
            &alice.line().await
        ),
        "STATUS of the shared mailbox"
    );
    ok(&mut bob, "r RENAME Team Crew").await;
    assert_eq!(
        alice.line().await,
        format!("* LIST () \"/\" \"Shared/{USER2}/Crew\" (\"OLDNAME\" (\"Shared/{USER2}/Team\"))")
    );
    // `l` without `r`: no longer readable (RFC 5465 5.9); the name is
    // told, the messages are not.
    ok(&mut bob, &format!("g SETACL Crew {USER} l")).await;
    assert_eq!(
        alice.line().await,
        format!("* LIST (\\NoAccess) \"/\" \"Shared/{USER2}/Crew\"")
    );
    ok(&mut bob, &append("Crew")).await;
    marker(&w, &mut alice, "Marker1").await;
    // Revoked: nothing more, not even its deletion.
    ok(&mut bob, &format!("g DELETEACL Crew {USER}")).await;
    ok(&mut bob, &append("Crew")).await;
    ok(&mut bob, "r RENAME Crew Gone").await;
    ok(&mut bob, "d DELETE Gone").await;
    marker(&w, &mut alice, "Marker2").await;
}

async fn personal_does_not_cover_shared_mailboxes(store: Backend) {
    let w = World::new(store);
    let mut alice = w.login().await;
    let mut bob = bob(&w).await;
    ok(&mut bob, "c CREATE Team").await;
    ok(&mut bob, &format!("g SETACL Team {USER} lr")).await;
    let r = ok(
        &mut alice,
        "n NOTIFY SET STATUS (personal (MessageNew MessageExpunge MailboxName))",
    )
    .await;
    assert!(r.iter().all(|l| !l.contains("Shared/")), "{r:?}");
    ok(&mut bob, &append("Team")).await;
    marker(&w, &mut alice, "Marker").await;
    // With `subtree Shared/<owner>`, and its STATUS at SET time.
    let r = ok(
        &mut alice,
        &format!("n NOTIFY SET STATUS (subtree \"Shared/{USER2}\" (MessageNew MessageExpunge))"),
    )
    .await;
    assert!(
        glob(
            &format!("* STATUS \"Shared/{USER2}/Team\" (MESSAGES 1 ..)"),
            &r[0]
        ),
        "{r:?}"
    );
    ok(&mut bob, &append("Team")).await;
    assert!(glob(
        &format!("* STATUS \"Shared/{USER2}/Team\" (MESSAGES 2 ..)"),
        &alice.line().await
    ));
}

async fn subscribed_shared_mailbox_is_told(store: Backend) {
    let w = World::new(store);
    let mut alice = w.login().await;
    let mut bob = bob(&w).await;
    ok(&mut bob, "c CREATE Team").await;
    ok(&mut bob, "c CREATE Other").await;
    ok(&mut bob, &format!("g SETACL Team {USER} lr")).await;
    ok(&mut bob, &format!("g SETACL Other {USER} lr")).await;
    ok(&mut alice, &format!("s SUBSCRIBE \"Shared/{USER2}/Team\"")).await;
    ok(
        &mut alice,
        "n NOTIFY SET (subscribed (MessageNew MessageExpunge)) (inboxes (MessageNew MessageExpunge MailboxName))",
    )
    .await;
    ok(&mut bob, &append("Other")).await;
    ok(&mut bob, &append("Team")).await;
    assert!(glob(
        &format!("* STATUS \"Shared/{USER2}/Team\" (MESSAGES 1 ..)"),
        &alice.line().await
    ));
}

async fn without_a_selected_group_idle_is_silent_for_the_selected_mailbox(store: Backend) {
    let w = World::new(store);
    let mut a = w.login().await;
    let mut b = w.login().await;
    ok(&mut b, "s SELECT INBOX").await;
    ok(
        &mut b,
        "n NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))",
    )
    .await;
    b.send(b"i IDLE\r\n").await;
    assert_eq!(b.line().await, "+ idling");
    // INBOX is selected: no STATUS for it, and (SELECTED NONE) no EXISTS
    // during IDLE either; the other mailbox's events still come.
    ok(&mut a, &append("INBOX")).await;
    ok(&mut a, "c CREATE Marker").await;
    assert_eq!(b.line().await, "* LIST () \"/\" \"Marker\"");
    // The base protocol's responses come with the end of the command.
    b.send(b"DONE\r\n").await;
    let r = b.until_tagged("i").await;
    assert_eq!(r[0], "* 1 EXISTS", "{r:?}");
    assert_eq!(r.last().unwrap(), "i OK IDLE terminated");
    // Between commands the same: nothing unasked, all at the next command.
    ok(&mut a, &append("INBOX")).await;
    marker(&w, &mut b, "Marker2").await;
    let r = ok(&mut b, "z NOOP").await;
    assert_eq!(r[0], "* 2 EXISTS", "{r:?}");
}

async fn selected_events_keep_sequence_numbers_consistent(store: Backend) {
    let w = World::new(store);
    let mut a = w.login().await;
    let mut b = w.login().await;
    for _ in 0..3 {
        ok(&mut a, &append("INBOX")).await;
    }
    // IMAP4rev2: no \Recent in the FETCH lines.
    ok(&mut b, "e ENABLE IMAP4rev2").await;
    ok(&mut b, "s SELECT INBOX").await;
    ok(
        &mut b,
        "n NOTIFY SET (selected (MessageNew (UID) MessageExpunge FlagChange))",
    )
    .await;
    ok(&mut a, "sa SELECT INBOX").await;
    // Message 2 expunged: told at once, as EXPUNGE of its number now.
    ok(&mut a, "d UID STORE 2 +FLAGS.SILENT (\\Deleted)").await;
    assert_eq!(b.line().await, "* 2 FETCH (UID 2 FLAGS (\\Deleted))");
    ok(&mut a, "x EXPUNGE").await;
    assert_eq!(b.line().await, "* 2 EXPUNGE");
    // A new message is number 3 (two left), with its FETCH under that number.
    ok(&mut a, &append("INBOX")).await;
    assert_eq!(b.line().await, "* 3 EXISTS");
    assert_eq!(b.line().await, "* 3 FETCH (UID 4)");
    // A flag change on the last one names it by the same number.
    ok(&mut a, "f UID STORE 4 +FLAGS.SILENT (\\Flagged)").await;
    assert_eq!(b.line().await, "* 3 FETCH (UID 4 FLAGS (\\Flagged))");
    // The session's numbers agree with what it was told.
    let r = ok(&mut b, "g FETCH 1:* (UID)").await;
    assert_eq!(
        r[..3],
        [
            "* 1 FETCH (UID 1)",
            "* 2 FETCH (UID 3)",
            "* 3 FETCH (UID 4)"
        ]
    );
}

async fn flag_changes_carry_the_uid(store: Backend) {
    let w = World::new(store);
    let mut a = w.login().await;
    let mut b = w.login().await;
    ok(&mut a, &append("INBOX")).await;
    ok(&mut b, "e ENABLE IMAP4rev2").await;
    ok(&mut b, "s EXAMINE INBOX").await;
    ok(&mut a, "sa SELECT INBOX").await;
    // Without NOTIFY: the base protocol's FETCH, without UID.
    ok(&mut a, "st STORE 1 +FLAGS.SILENT (\\Answered)").await;
    let r = ok(&mut b, "z NOOP").await;
    assert_eq!(r[0], "* 1 FETCH (FLAGS (\\Answered))", "{r:?}");
    ok(
        &mut b,
        "n NOTIFY SET (selected-delayed (MessageNew MessageExpunge FlagChange))",
    )
    .await;
    ok(&mut a, "st STORE 1 +FLAGS.SILENT (\\Flagged)").await;
    assert_eq!(
        b.line().await,
        "* 1 FETCH (UID 1 FLAGS (\\Answered \\Flagged))"
    );
}
