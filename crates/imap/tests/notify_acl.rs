//! NOTIFY (RFC 5465) and grants changed after NOTIFY SET (RFC 4314): a
//! mailbox another account shares with the user once NOTIFY is on is
//! watched from the moment it becomes readable (`l` and `r`), and one
//! that stops being readable is silent at once; the client is told each
//! change as 5.9 says: `LIST (\NoAccess)` when access is lost, `LIST ()`
//! and the counters to go on from (`STATUS`, when it watches messages)
//! when it is gained. Against the real store and the in-memory model.

#[macro_use]
mod common;
use common::*;

both_stores!(
    a_grant_after_notify_set_is_watched_and_a_revocation_told,
    reading_rights_alone_decide,
    grants_outside_every_filter_say_nothing,
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

fn status(messages: u32) -> String {
    format!(
        "* STATUS \"Shared/{USER2}/Team\" (MESSAGES {messages} UIDNEXT .. UIDVALIDITY .. UNSEEN ..)"
    )
}

async fn a_grant_after_notify_set_is_watched_and_a_revocation_told(store: Backend) {
    let w = World::new(store);
    let mut alice = w.login().await;
    let mut bob = bob(&w).await;
    // Nothing shared with alice when she asks.
    ok(
        &mut alice,
        "n NOTIFY SET (personal (MailboxName)) (subtree Shared (MessageNew MessageExpunge MailboxName))",
    )
    .await;
    ok(&mut bob, "c CREATE Team").await;
    ok(&mut bob, &append("Team")).await;
    marker(&w, &mut alice, "Marker1").await;
    // Granted: the mailbox as LIST, its counters, then its events.
    ok(&mut bob, &format!("g SETACL Team {USER} lr")).await;
    let team = format!("\"Shared/{USER2}/Team\"");
    assert_eq!(alice.line().await, format!("* LIST () \"/\" {team}"));
    let line = alice.line().await;
    assert!(glob(&status(1), &line), "{line}");
    ok(&mut bob, &append("Team")).await;
    let line = alice.line().await;
    assert!(glob(&status(2), &line), "{line}");
    // Revoked: told as \NoAccess, then silent.
    ok(&mut bob, &format!("g DELETEACL Team {USER}")).await;
    assert_eq!(
        alice.line().await,
        format!("* LIST (\\NoAccess) \"/\" {team}")
    );
    ok(&mut bob, &append("Team")).await;
    ok(&mut bob, "r RENAME Team Crew").await;
    marker(&w, &mut alice, "Marker2").await;
    // Granted again, under its new name.
    ok(&mut bob, &format!("g SETACL Crew {USER} lrs")).await;
    let crew = format!("\"Shared/{USER2}/Crew\"");
    assert_eq!(alice.line().await, format!("* LIST () \"/\" {crew}"));
    let line = alice.line().await;
    assert!(
        glob(&format!("* STATUS {crew} (MESSAGES 3 ..)"), &line),
        "{line}"
    );
    ok(&mut bob, "d DELETE Crew").await;
    assert_eq!(
        alice.line().await,
        format!("* LIST (\\NonExistent) \"/\" {crew}")
    );
}

async fn reading_rights_alone_decide(store: Backend) {
    let w = World::new(store);
    let mut alice = w.login().await;
    let mut bob = bob(&w).await;
    ok(&mut bob, "c CREATE Team").await;
    ok(
        &mut alice,
        &format!(
            "n NOTIFY SET (personal (MailboxName)) (mailboxes \"Shared/{USER2}/Team\" (MessageNew MessageExpunge))"
        ),
    )
    .await;
    // `l` alone: nothing to read, nothing told.
    ok(&mut bob, &format!("g SETACL Team {USER} l")).await;
    ok(&mut bob, &append("Team")).await;
    marker(&w, &mut alice, "Marker1").await;
    // `r` added: readable now.
    ok(&mut bob, &format!("g SETACL Team {USER} lr")).await;
    let team = format!("\"Shared/{USER2}/Team\"");
    assert_eq!(alice.line().await, format!("* LIST () \"/\" {team}"));
    let line = alice.line().await;
    assert!(glob(&status(1), &line), "{line}");
    // A change that keeps `l` and `r` is no news.
    ok(&mut bob, &format!("g SETACL Team {USER} lrsw")).await;
    marker(&w, &mut alice, "Marker2").await;
    // `r` taken away: \NoAccess, and no more STATUS.
    ok(&mut bob, &format!("g SETACL Team {USER} l")).await;
    assert_eq!(
        alice.line().await,
        format!("* LIST (\\NoAccess) \"/\" {team}")
    );
    ok(&mut bob, &append("Team")).await;
    marker(&w, &mut alice, "Marker3").await;
}

async fn grants_outside_every_filter_say_nothing(store: Backend) {
    let w = World::new(store);
    let mut alice = w.login().await;
    let mut bob = bob(&w).await;
    ok(&mut bob, "c CREATE Team").await;
    ok(&mut alice, "n NOTIFY SET (personal (MailboxName))").await;
    ok(&mut bob, &format!("g SETACL Team {USER} lr")).await;
    ok(&mut bob, &append("Team")).await;
    ok(&mut bob, &format!("g DELETEACL Team {USER}")).await;
    marker(&w, &mut alice, "Marker").await;
}
