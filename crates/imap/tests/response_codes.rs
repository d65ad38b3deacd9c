//! One C:/S: transcript per response code the server sends for errors
//! (RFC 9051 7.1, RFC 5530): AUTHENTICATIONFAILED, TRYCREATE, NONEXISTENT,
//! ALREADYEXISTS, OVERQUOTA, CANNOT, LIMIT, PRIVACYREQUIRED, CLIENTBUG,
//! UNAVAILABLE, NOPERM. Each ends with a command that still works: the
//! session goes on after every one of them.

#[macro_use]
mod common;
use common::*;

both_stores!(
    authenticationfailed,
    trycreate,
    nonexistent,
    alreadyexists,
    overquota_on_append_and_copy,
    cannot,
    limit,
    privacyrequired,
    clientbug,
    unavailable_when_login_is_throttled,
    noperm_for_setquota,
);
use sealpost_directory::ThrottleLimits;
use std::time::Duration;

const MSG: &str = "From: carol@example.net\r\nSubject: hello\r\n\r\nHello there.\r\n";

async fn append(c: &mut Client, tag: &str, mailbox: &str, body: &str) -> Vec<String> {
    c.cmd(&format!(
        "{tag} APPEND {mailbox} {{{}+}}\r\n{body}",
        body.len()
    ))
    .await
}

async fn authenticationfailed(store: Backend) {
    let w = World::new(store);
    let mut c = w.connect(true).await;
    transcript(
        &mut c,
        r#"
        C: a1 LOGIN alice@example.org wrong
        S: a1 NO [AUTHENTICATIONFAILED] Authentication failed
        C: a2 LOGIN nobody@example.org "correct horse"
        S: a2 NO [AUTHENTICATIONFAILED] Authentication failed
        C: a3 NOOP
        S: a3 OK NOOP completed
        "#,
    )
    .await;
}

async fn trycreate(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    let r = append(&mut c, "t1", "Nowhere", MSG).await;
    assert_eq!(r, vec!["t1 NO [TRYCREATE] No such mailbox"]);
    assert!(append(&mut c, "t2", "INBOX", MSG).await[0].starts_with("t2 OK"));
    transcript(
        &mut c,
        r#"
        C: t3 SELECT INBOX
        S: * FLAGS ..
        S: * 1 EXISTS
        S: * 1 RECENT
        S: * OK [UNSEEN 1] ..
        S: * OK [PERMANENTFLAGS ..] ..
        S: * OK [UIDVALIDITY ..] ..
        S: * OK [UIDNEXT 2] ..
        S: * OK [MAILBOXID (F..)] ..
        S: t3 OK [READ-WRITE] SELECT completed
        C: t4 COPY 1 Nowhere
        S: t4 NO [TRYCREATE] No such destination mailbox
        C: t5 MOVE 1 Nowhere
        S: t5 NO [TRYCREATE] No such destination mailbox
        C: t6 NOOP
        S: t6 OK NOOP completed
        "#,
    )
    .await;
}

async fn nonexistent(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    transcript(
        &mut c,
        r#"
        C: n1 SELECT Nowhere
        S: n1 NO [NONEXISTENT] No such mailbox
        C: n2 EXAMINE Nowhere
        S: n2 NO [NONEXISTENT] No such mailbox
        C: n3 STATUS Nowhere (MESSAGES)
        S: n3 NO [NONEXISTENT] No such mailbox
        C: n4 DELETE Nowhere
        S: n4 NO [NONEXISTENT] No such mailbox
        C: n5 RENAME Nowhere Somewhere
        S: n5 NO [NONEXISTENT] No such mailbox
        C: n6 GETQUOTAROOT Nowhere
        S: n6 NO [NONEXISTENT] No such mailbox
        C: n7 GETQUOTA "other-root"
        S: n7 NO [NONEXISTENT] No such quota root
        C: n8 NOOP
        S: n8 OK NOOP completed
        "#,
    )
    .await;
}

async fn alreadyexists(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    transcript(
        &mut c,
        r#"
        C: e1 CREATE INBOX
        S: e1 NO [ALREADYEXISTS] INBOX always exists
        C: e2 CREATE Projects
        S: e2 OK [MAILBOXID (F..)] CREATE completed
        C: e3 CREATE Projects
        S: e3 NO [ALREADYEXISTS] Mailbox already exists
        C: e4 RENAME Projects Sent
        S: e4 NO [ALREADYEXISTS] Mailbox already exists
        C: e5 RENAME Projects INBOX
        S: e5 NO [ALREADYEXISTS] INBOX always exists
        C: e6 NOOP
        S: e6 OK NOOP completed
        "#,
    )
    .await;
}

async fn overquota_on_append_and_copy(store: Backend) {
    let w = World::build(
        store,
        Setup {
            alice_quota: Some(1024),
            ..Setup::default()
        },
    );
    let mut c = w.login().await;
    let big = format!(
        "Subject: big\r\n\r\n{}\r\n",
        "x".repeat(600 - "Subject: big\r\n\r\n\r\n".len())
    );
    assert_eq!(big.len(), 600);
    assert!(append(&mut c, "q1", "INBOX", &big).await[0].starts_with("q1 OK [APPENDUID"));
    let r = append(&mut c, "q2", "INBOX", &big).await;
    assert_eq!(r, vec!["q2 NO [OVERQUOTA] Quota exceeded"]);
    // The refused message left no trace; a smaller one still fits.
    transcript(
        &mut c,
        r#"
        C: q3 GETQUOTA ""
        S: * QUOTA "" (STORAGE 1 1)
        S: q3 OK GETQUOTA completed
        C: q4 STATUS INBOX (MESSAGES SIZE)
        S: * STATUS "INBOX" (MESSAGES 1 SIZE 600)
        S: q4 OK ..
        "#,
    )
    .await;
    assert!(append(&mut c, "q5", "INBOX", MSG).await[0].starts_with("q5 OK"));
    c.cmd("q6 SELECT INBOX").await;
    transcript(
        &mut c,
        r#"
        C: q7 COPY 1 Sent
        S: q7 NO [OVERQUOTA] Quota exceeded
        C: q8 STATUS Sent (MESSAGES)
        S: * STATUS "Sent" (MESSAGES 0)
        S: q8 OK ..
        C: q9 NOOP
        S: q9 OK NOOP completed
        "#,
    )
    .await;
}

async fn cannot(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    assert!(append(&mut c, "c0", "INBOX", MSG).await[0].starts_with("c0 OK"));
    c.cmd("c1 EXAMINE INBOX").await;
    transcript(
        &mut c,
        r#"
        C: c2 STORE 1 +FLAGS (\Seen)
        S: c2 NO [CANNOT] Mailbox is read-only
        C: c3 EXPUNGE
        S: c3 NO [CANNOT] Mailbox is read-only
        C: c4 MOVE 1 Sent
        S: c4 NO [CANNOT] Mailbox is read-only
        C: c5 DELETE INBOX
        S: c5 NO [CANNOT] INBOX cannot be deleted
        C: c6 CREATE Odd (USE (\Important))
        S: c6 NO [CANNOT] Unsupported special-use attribute
        C: c7 CREATE "a/../b"
        S: c7 NO [CANNOT] ..
        C: c8 AUTHENTICATE CRAM-MD5
        S: c8 BAD ..
        C: c9 NOOP
        S: c9 OK NOOP completed
        "#,
    )
    .await;
    let mut d = w.connect(true).await;
    transcript(
        &mut d,
        r#"
        C: d1 AUTHENTICATE CRAM-MD5
        S: d1 NO [CANNOT] Unsupported authentication mechanism
        C: d2 NOOP
        S: d2 OK NOOP completed
        "#,
    )
    .await;
}

async fn limit(store: Backend) {
    let w = World::with_imap(store, "max_line = 200");
    let mut c = w.login().await;
    let long = format!("l1 LIST \"\" \"{}\"", "x".repeat(300));
    let r = c.cmd(&long).await;
    assert_eq!(r, vec!["l1 BAD [LIMIT] Command line too long"]);
    // A pattern longer than LIST takes (1024 octets) in a literal, which
    // the line limit does not count.
    let pattern = "y".repeat(1100);
    let r = c
        .cmd(&format!("l2 LIST \"\" {{{}+}}\r\n{pattern}", pattern.len()))
        .await;
    assert_eq!(r, vec!["l2 BAD [LIMIT] Pattern too long"]);
    transcript(&mut c, "C: l3 NOOP\nS: l3 OK NOOP completed").await;
}

async fn privacyrequired(store: Backend) {
    let w = World::new(store);
    let mut c = w.connect(false).await;
    transcript(
        &mut c,
        r#"
        C: p1 LOGIN alice@example.org "correct horse"
        S: p1 NO [PRIVACYREQUIRED] Use STARTTLS before logging in
        C: p2 AUTHENTICATE PLAIN
        S: p2 NO [PRIVACYREQUIRED] Use STARTTLS before logging in
        C: p3 SELECT INBOX
        S: p3 BAD [PRIVACYREQUIRED] Use STARTTLS first
        C: p4 NOOP
        S: p4 OK NOOP completed
        "#,
    )
    .await;
}

async fn clientbug(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    transcript(
        &mut c,
        r#"
        C: b1 SELECT INBOX (QRESYNC (1 1))
        S: b1 BAD [CLIENTBUG] QRESYNC parameter without ENABLE QRESYNC
        C: b2 SELECT INBOX
        S: * FLAGS ..
        S: * 0 EXISTS
        S: * 0 RECENT
        S: * OK [PERMANENTFLAGS ..] ..
        S: * OK [UIDVALIDITY ..] ..
        S: * OK [UIDNEXT 1] ..
        S: * OK [MAILBOXID (F..)] ..
        S: b2 OK [READ-WRITE] SELECT completed
        C: b3 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)
        S: b3 BAD [CLIENTBUG] VANISHED needs ENABLE QRESYNC
        C: b4 NOOP
        S: b4 OK NOOP completed
        "#,
    )
    .await;
}

async fn unavailable_when_login_is_throttled(store: Backend) {
    let w = World::build(
        store,
        Setup {
            throttle: Some(ThrottleLimits {
                per_ip: 1,
                per_account: 0,
                window: Duration::from_secs(900),
            }),
            ..Setup::default()
        },
    );
    let mut c = w.connect(true).await;
    // One failure fills this address's window: even the right password is
    // refused for a while, with UNAVAILABLE rather than a wrong-password
    // answer, and the session goes on (until max_auth_failures).
    transcript(
        &mut c,
        r#"
        C: u1 LOGIN alice@example.org wrong
        S: u1 NO [AUTHENTICATIONFAILED] Authentication failed
        C: u2 LOGIN alice@example.org "correct horse"
        S: u2 NO [UNAVAILABLE] Too many failed logins, try again in .. seconds
        C: u3 CAPABILITY
        S: * CAPABILITY ..
        S: u3 OK CAPABILITY completed
        "#,
    )
    .await;
    let mut d = w.connect(true).await;
    transcript(
        &mut d,
        r#"
        C: v1 AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUub3JnAGNvcnJlY3QgaG9yc2U=
        S: v1 NO [UNAVAILABLE] Too many failed logins, try again in .. seconds
        C: v2 NOOP
        S: v2 OK NOOP completed
        "#,
    )
    .await;
}

async fn noperm_for_setquota(store: Backend) {
    let w = World::build(
        store,
        Setup {
            alice_quota: Some(10 * 1024 * 1024),
            ..Setup::default()
        },
    );
    let mut c = w.login().await;
    transcript(
        &mut c,
        r#"
        C: s1 SETQUOTA "" (STORAGE 1)
        S: s1 NO [NOPERM] Quotas are set by the operator
        C: s2 SETQUOTA "" (MESSAGE 10)
        S: s2 NO [CANNOT] Unsupported quota resource MESSAGE
        C: s3 SETQUOTA "elsewhere" (STORAGE 1)
        S: s3 NO [NONEXISTENT] No such quota root
        C: s4 SETQUOTA ""
        S: s4 BAD ..
        C: s5 GETQUOTA ""
        S: * QUOTA "" (STORAGE 0 10240)
        S: s5 OK GETQUOTA completed
        "#,
    )
    .await;
}
