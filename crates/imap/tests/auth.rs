//! C:/S: transcripts of the not-authenticated state: greeting,
//! CAPABILITY, STARTTLS, LOGIN, AUTHENTICATE PLAIN, failures and limits.

#[macro_use]
mod common;
use common::*;

both_stores!(
    plaintext_listener_refuses_login_before_starttls,
    starttls_discards_pipelined_commands_then_allows_login,
    login_and_authenticate_plain_forms,
    authorization_identity_of_another_user_is_refused,
    too_many_failures_close_the_connection,
    session_commands_before_and_after_login,
    limits_discard_whole_commands,
    shutdown_says_bye,
    garbage_never_kills_the_session,
    compress_deflate_both_ways,
    silence_before_login_ends_with_bye,
    after_login_the_timeout_is_at_least_thirty_minutes,
);

async fn plaintext_listener_refuses_login_before_starttls(store: Backend) {
    let w = World::new(store);
    let mut c = w.connect(false).await;
    transcript(
        &mut c,
        r#"
        C: a1 CAPABILITY
        S: * CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ENABLE ID SASL-IR STARTTLS LOGINDISABLED
        S: a1 OK CAPABILITY completed
        C: a2 LOGIN alice@example.org "correct horse"
        S: a2 NO [PRIVACYREQUIRED] ..
        C: a3 AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUub3JnAGNvcnJlY3QgaG9yc2U=
        S: a3 NO [PRIVACYREQUIRED] ..
        C: a4 LIST "" *
        S: a4 BAD [PRIVACYREQUIRED] ..
        "#,
    )
    .await;
    // A synchronizing literal gets no continuation in plaintext: the
    // password is never sent.
    let r = c.cmd("a5 LOGIN alice@example.org {13}").await;
    assert_eq!(r, vec!["a5 BAD [PRIVACYREQUIRED] Use STARTTLS first"]);
    transcript(&mut c, "C: a6 NOOP\nS: a6 OK NOOP completed").await;
}

async fn starttls_discards_pipelined_commands_then_allows_login(store: Backend) {
    let w = World::new(store);
    let mut c = w.connect(false).await;
    // The LOGIN pipelined after STARTTLS in plaintext must be dropped.
    c.send(b"s1 STARTTLS\r\ns2 LOGIN alice@example.org \"correct horse\"\r\n")
        .await;
    assert!(c.line().await.starts_with("s1 OK"));
    transcript(
        &mut c,
        r#"
        C: s3 NOOP
        S: s3 OK NOOP completed
        C: s4 CAPABILITY
        S: * CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ENABLE ID SASL-IR AUTH=PLAIN ..
        S: s4 OK ..
        C: s5 STARTTLS
        S: s5 BAD ..
        C: s6 LOGIN alice@example.org "correct horse"
        S: s6 OK [CAPABILITY ..] Logged in
        "#,
    )
    .await;
}

async fn login_and_authenticate_plain_forms(store: Backend) {
    let w = World::new(store);
    let mut c = w.connect(true).await;
    transcript(
        &mut c,
        r#"
        C: a1 LOGIN alice@example.org wrong
        S: a1 NO [AUTHENTICATIONFAILED] Authentication failed
        C: a2 AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUub3JnAGNvcnJlY3QgaG9yc2U=
        S: a2 OK [CAPABILITY ..] Logged in
        C: a3 LOGIN alice@example.org x
        S: a3 BAD ..
        "#,
    )
    .await;
    // Without an initial response: the server asks with "+ ".
    let mut c = w.connect(true).await;
    c.send(b"b1 AUTHENTICATE PLAIN\r\n").await;
    assert_eq!(c.line().await, "+ ");
    c.send(b"AGFsaWNlQGV4YW1wbGUub3JnAGNvcnJlY3QgaG9yc2U=\r\n")
        .await;
    assert!(c.line().await.starts_with("b1 OK [CAPABILITY"));
    // Cancelled with "*".
    let mut c = w.connect(true).await;
    c.send(b"b1 AUTHENTICATE PLAIN\r\n").await;
    assert_eq!(c.line().await, "+ ");
    c.send(b"*\r\n").await;
    assert!(c.line().await.starts_with("b1 BAD"));
    transcript(&mut c, "C: b2 NOOP\nS: b2 OK ..").await;
}

async fn authorization_identity_of_another_user_is_refused(store: Backend) {
    let w = World::new(store);
    let mut c = w.connect(true).await;
    // authzid bob, authcid alice.
    let b64 = "Ym9iQGV4YW1wbGUub3JnAGFsaWNlQGV4YW1wbGUub3JnAGNvcnJlY3QgaG9yc2U=";
    let r = c.cmd(&format!("a1 AUTHENTICATE PLAIN {b64}")).await;
    assert!(r[0].starts_with("a1 NO [AUTHENTICATIONFAILED]"), "{r:?}");
}

async fn too_many_failures_close_the_connection(store: Backend) {
    let w = World::new(store);
    let mut c = w.connect(true).await;
    transcript(
        &mut c,
        r#"
        C: a1 LOGIN alice@example.org x
        S: a1 NO [AUTHENTICATIONFAILED] ..
        C: a2 LOGIN alice@example.org y
        S: a2 NO [AUTHENTICATIONFAILED] ..
        C: a3 LOGIN alice@example.org z
        S: a3 NO [AUTHENTICATIONFAILED] ..
        S: * BYE ..
        "#,
    )
    .await;
    assert!(c.closed().await);
}

async fn session_commands_before_and_after_login(store: Backend) {
    let w = World::new(store);
    let mut c = w.connect(true).await;
    transcript(
        &mut c,
        r#"
        C: a1 ID ("name" "test")
        S: * ID ("name" "sealpost" "version" ..)
        S: a1 OK ..
        C: a2 SELECT INBOX
        S: a2 BAD ..
        C: a3 ENABLE IMAP4rev2
        S: a3 BAD ..
        C: a4 LOGIN alice@example.org "correct horse"
        S: a4 OK ..
        C: a5 ENABLE IMAP4rev2 CONDSTORE X-UNKNOWN
        S: * ENABLED IMAP4rev2 CONDSTORE
        S: a5 OK ENABLE completed
        C: a6 NAMESPACE
        S: * NAMESPACE (("" "/")) (("Shared/" "/")) NIL
        S: a6 OK ..
        C: a7 FROB
        S: a7 BAD unknown command
        C: a8 LOGOUT
        S: * BYE ..
        S: a8 OK LOGOUT completed
        "#,
    )
    .await;
    assert!(c.closed().await);
}

async fn limits_discard_whole_commands(store: Backend) {
    let w = World::with_imap(store, "max_line = 200\nmax_literal = 1000");
    // Before login, going over any limit closes the connection with BYE,
    // answered at once: a long line without its end, a sync literal over
    // the (low) pre-login cap, a non-sync one.
    for bytes in [
        format!("a1 NOOP {}", "x".repeat(300)).into_bytes(),
        b"a2 LOGIN {9000}\r\n".to_vec(),
        b"a3 LOGIN {9000+}\r\nz LOGOUT\r\n".to_vec(),
    ] {
        let mut c = w.connect(true).await;
        c.send(&bytes).await;
        let r = c.line().await;
        assert!(r.starts_with("* BYE ["), "{r:?}");
        assert!(c.closed().await);
    }
    let mut c = w.login().await;
    // Too long a line: BAD [LIMIT] before it ends; the rest is skipped.
    c.send(format!("a1 NOOP {}", "x".repeat(300)).as_bytes())
        .await;
    assert!(c.line().await.starts_with("a1 BAD [LIMIT]"));
    c.send(format!("{}\r\n", "y".repeat(300)).as_bytes()).await;
    transcript(&mut c, "C: a0 NOOP\nS: a0 OK NOOP completed").await;
    // A sync literal over the limit is refused without a continuation.
    let r = c.cmd("a2 APPEND INBOX {1001}").await;
    assert!(r[0].starts_with("a2 NO [TOOBIG]"), "{r:?}");
    // A non-synchronizing literal over the limit is answered at once, then
    // read and thrown away: the LOGOUT inside it must not run.
    c.send(b"a3 APPEND INBOX {1500+}\r\n").await;
    assert!(c.line().await.starts_with("a3 BAD [TOOBIG]"));
    let mut bytes = b"z LOGOUT\r\n".to_vec();
    bytes.extend(std::iter::repeat_n(b'x', 1490));
    bytes.extend_from_slice(b" {4+}\r\nz X!\r\n");
    c.send(&bytes).await;
    transcript(&mut c, "C: a4 NOOP\nS: a4 OK NOOP completed").await;
    // Beyond twice the limit, discarding is not worth it: BYE.
    c.send(b"a5 APPEND INBOX {2001+}\r\n").await;
    assert!(c.line().await.starts_with("* BYE [TOOBIG]"));
    assert!(c.closed().await);
}

async fn shutdown_says_bye(store: Backend) {
    let w = World::new(store);
    let mut c = w.login().await;
    c.shutdown.cancel();
    assert!(c.line().await.starts_with("* BYE"));
    assert!(c.closed().await);
}

async fn garbage_never_kills_the_session(store: Backend) {
    let w = World::new(store);
    let mut c = w.connect(true).await;
    for junk in [
        &b"\r\n"[..],
        b"+\r\n",
        b"a\x00b NOOP\r\n",
        b"* OK\r\n",
        b"a SELECT \"\xff\"\r\n",
        b"a {3}\r\n",
    ] {
        c.send(junk).await;
        let l = c.line().await;
        assert!(l.contains("BAD") || l.starts_with("+"), "{junk:?} -> {l}");
        if l.starts_with('+') {
            c.send(b"abc\r\n").await;
            let l = c.line().await;
            assert!(l.contains("BAD"), "{l}");
        }
    }
    transcript(&mut c, "C: z NOOP\nS: z OK ..").await;
}

async fn compress_deflate_both_ways(store: Backend) {
    use sealpost_imap::conn::Deflate;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let w = World::new(store);
    let mut c = w.login().await;
    // A command pipelined right after COMPRESS is already compressed.
    let mut client = Deflate::default();
    let mut bytes = b"z1 COMPRESS DEFLATE\r\n".to_vec();
    bytes.extend(client.deflate(b"z2 NOOP\r\n").unwrap());
    c.io.write_all(&bytes).await.unwrap();
    // Raw reads from here on: the OK is plain, what follows is compressed.
    let mut raw = Vec::new();
    let mut tmp = [0u8; 4096];
    let ok = b"z1 OK DEFLATE active\r\n";
    let mut plain = Vec::new();
    while !plain.ends_with(b"z2 OK NOOP completed\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), c.io.read(&mut tmp))
            .await
            .expect("no answer")
            .unwrap();
        assert!(n > 0, "closed");
        raw.extend_from_slice(&tmp[..n]);
        if raw.len() >= ok.len() {
            assert_eq!(&raw[..ok.len()], ok);
            plain.extend(client.inflate(&raw[ok.len()..]).unwrap());
            raw.truncate(ok.len());
        }
    }
    let wire = client.deflate(b"z3 COMPRESS DEFLATE\r\n").unwrap();
    c.io.write_all(&wire).await.unwrap();
    let mut plain = Vec::new();
    while !plain.ends_with(b"\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), c.io.read(&mut tmp))
            .await
            .expect("no answer")
            .unwrap();
        assert!(n > 0, "closed");
        plain.extend(client.inflate(&tmp[..n]).unwrap());
    }
    assert_eq!(
        plain,
        b"z3 NO [COMPRESSIONACTIVE] Compression is already active\r\n"
    );
}

async fn silence_before_login_ends_with_bye(store: Backend) {
    let w = World::with_imap(store, "login_timeout_secs = 1");
    let mut c = w.connect(true).await;
    let start = std::time::Instant::now();
    assert_eq!(c.line().await, "* BYE Autologout; idle for too long");
    assert!(start.elapsed() >= std::time::Duration::from_millis(900));
    assert!(c.closed().await);
}

async fn after_login_the_timeout_is_at_least_thirty_minutes(store: Backend) {
    // RFC 9051 5.4: the 1 s login timeout does not apply once logged in
    // (the config refuses an idle_timeout_secs under 1800).
    let w = World::with_imap(store, "login_timeout_secs = 1");
    let mut c = w.login().await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    transcript(&mut c, "C: n NOOP\nS: n OK NOOP completed").await;
}
