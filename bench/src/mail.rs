//! SMTP delivery (RFC 5321 with STARTTLS, RFC 3207, and PIPELINING, RFC
//! 2920) timed until the mail is readable over IMAP, and POP3 (RFC 1939)
//! logins and RETR throughput over implicit TLS (RFC 8314).

use crate::conn::Conn;
use crate::imap::Imap;
use crate::imap_load::Users;
use crate::stats::{message, result};
use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Reads one SMTP reply (all its lines); returns the code and last line.
async fn reply(conn: &mut Conn) -> Result<(u16, String)> {
    for _ in 0..100 {
        let mut line = Vec::new();
        conn.line(&mut line).await?;
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let code = text.get(..3).and_then(|c| c.parse().ok());
        let Some(code) = code else {
            bail!("malformed SMTP reply: {text}");
        };
        if text.as_bytes().get(3) != Some(&b'-') {
            return Ok((code, text));
        }
    }
    bail!("SMTP reply of more than 100 lines")
}

async fn expect(conn: &mut Conn, code: u16, what: &str) -> Result<()> {
    let (c, text) = reply(conn).await?;
    if c != code {
        bail!("{what}: expected {code}, got {text}");
    }
    Ok(())
}

/// One SMTP session: STARTTLS, then `count` messages to `rcpt(i)`.
async fn smtp_session(
    addr: SocketAddr,
    count: usize,
    size: usize,
    rcpt: impl Fn(usize) -> String,
) -> Result<()> {
    let mut c = Conn::connect(addr, false).await?;
    expect(&mut c, 220, "greeting").await?;
    c.send(b"EHLO client.bench.test\r\n").await?;
    expect(&mut c, 250, "EHLO").await?;
    c.send(b"STARTTLS\r\n").await?;
    expect(&mut c, 220, "STARTTLS").await?;
    let mut c = c.start_tls().await?;
    c.send(b"EHLO client.bench.test\r\n").await?;
    expect(&mut c, 250, "EHLO after STARTTLS").await?;
    let mut rng = StdRng::from_entropy();
    for i in 0..count {
        let to = rcpt(i);
        c.send(format!("MAIL FROM:<bench@sender.test>\r\nRCPT TO:<{to}>\r\nDATA\r\n").as_bytes())
            .await?;
        expect(&mut c, 250, "MAIL").await?;
        expect(&mut c, 250, "RCPT").await?;
        expect(&mut c, 354, "DATA").await?;
        let mut m = message(&mut rng, "bench@sender.test", &to, size);
        m.extend_from_slice(b".\r\n");
        c.send(&m).await?;
        expect(&mut c, 250, "end of DATA").await?;
    }
    c.send(b"QUIT\r\n").await?;
    let _ = reply(&mut c).await;
    Ok(())
}

/// INBOX message counts of every user, over logged-in sessions.
async fn counts(sessions: &mut [Imap]) -> Result<u64> {
    let mut sum = 0;
    for s in sessions {
        let r = s.ok("STATUS INBOX (MESSAGES)").await?;
        let n = r
            .untagged
            .iter()
            .find_map(|u| {
                let t = String::from_utf8_lossy(u).to_ascii_uppercase();
                let rest = &t[t.find("MESSAGES ")? + 9..];
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .context("STATUS without MESSAGES")?;
        sum += n;
    }
    Ok(sum)
}

/// `sessions` SMTP sessions deliver `messages` in all, round-robin over the
/// users; timed until every message is counted in the users' INBOXes over
/// IMAP (or `secs` pass, which fails the run).
#[allow(clippy::too_many_arguments)]
pub async fn smtp(
    smtp: SocketAddr,
    imap: SocketAddr,
    users: &Users,
    sessions: usize,
    messages: usize,
    size: usize,
    secs: u64,
) -> Result<()> {
    let mut watchers = Vec::with_capacity(users.users);
    for i in 1..=users.users {
        watchers.push(Imap::login(imap, &users.name(i), &users.password).await?);
    }
    let base = counts(&mut watchers).await?;
    let start = Instant::now();
    let sessions = sessions.clamp(1, messages.max(1));
    let next = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for s in 0..sessions {
        let per = messages / sessions + usize::from(s < messages % sessions);
        let users = users.clone();
        let next = next.clone();
        handles.push(tokio::spawn(async move {
            smtp_session(smtp, per, size, |_| {
                let i = next.fetch_add(1, Ordering::Relaxed);
                users.name(i % users.users.max(1) + 1)
            })
            .await
        }));
    }
    for h in handles {
        h.await.context("SMTP task panicked")??;
    }
    let accepted = start.elapsed();
    let deadline = start + Duration::from_secs(secs);
    let want = base + messages as u64;
    loop {
        let have = counts(&mut watchers).await?;
        if have >= want {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "after {secs} s only {} of {messages} messages are readable",
                have - base
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let readable = start.elapsed();
    println!(
        "# smtp: {messages} messages of {size} octets, {sessions} sessions; accepted in {:.2} s, readable in {:.2} s",
        accepted.as_secs_f64(),
        readable.as_secs_f64()
    );
    result(
        "smtp_accepted_msgs_per_s",
        messages as f64 / accepted.as_secs_f64(),
        "msgs/s",
    );
    result(
        "smtp_delivered_msgs_per_s",
        messages as f64 / readable.as_secs_f64(),
        "msgs/s",
    );
    for w in watchers {
        w.logout().await?;
    }
    Ok(())
}

async fn pop_ok(c: &mut Conn, what: &str) -> Result<String> {
    let mut line = Vec::new();
    c.line(&mut line).await?;
    let text = String::from_utf8_lossy(&line).trim_end().to_string();
    if !text.starts_with("+OK") {
        bail!("{what}: {text}");
    }
    Ok(text)
}

async fn pop_login(addr: SocketAddr, user: &str, pass: &str) -> Result<Conn> {
    let mut c = Conn::connect(addr, true).await?;
    pop_ok(&mut c, "greeting").await?;
    c.send(format!("USER {user}\r\n").as_bytes()).await?;
    pop_ok(&mut c, "USER").await?;
    c.send(format!("PASS {pass}\r\n").as_bytes()).await?;
    pop_ok(&mut c, "PASS").await?;
    Ok(c)
}

async fn pop_quit(mut c: Conn) -> Result<()> {
    c.send(b"QUIT\r\n").await?;
    pop_ok(&mut c, "QUIT").await?;
    Ok(())
}

/// Reads a multi-line POP3 response up to the `.` line; returns its octets.
async fn pop_multiline(c: &mut Conn) -> Result<usize> {
    let mut total = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        c.line(&mut line).await?;
        if line == b".\r\n" {
            return Ok(total);
        }
        total += line.len();
    }
}

/// POP3 parameters.
#[derive(Clone, clap::Args)]
pub struct PopLoad {
    /// Concurrent clients (at most one per user: POP3 locks the maildrop).
    #[arg(long, default_value_t = 10)]
    pub clients: usize,
    /// Logins in all for the login rate (connect, TLS, USER, PASS, STAT, QUIT).
    #[arg(long, default_value_t = 500)]
    pub logins: usize,
    /// Sessions in all that RETR every message of their mailbox.
    #[arg(long, default_value_t = 20)]
    pub retr_sessions: usize,
    /// Time limit per phase in seconds.
    #[arg(long, default_value_t = 30)]
    pub secs: u64,
}

/// Login rate, then RETR throughput (every message of a random user's
/// mailbox per session, `clients` at once).
pub async fn pop3(addr: SocketAddr, users: &Users, p: &PopLoad) -> Result<()> {
    let users = Arc::new(users.clone());
    // A maildrop is locked by one session at a time (RFC 1939 section 8):
    // each client keeps to its own user.
    let clients = p.clients.clamp(1, users.users.max(1));
    let deadline = Instant::now() + Duration::from_secs(p.secs);
    let started = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut handles = Vec::new();
    for k in 0..clients {
        let (users, started, limit) = (users.clone(), started.clone(), p.logins);
        handles.push(tokio::spawn(async move {
            let mut n = 0usize;
            while Instant::now() < deadline && started.fetch_add(1, Ordering::Relaxed) < limit {
                let user = users.name(k + 1);
                let mut c = pop_login(addr, &user, &users.password).await?;
                c.send(b"STAT\r\n").await?;
                pop_ok(&mut c, "STAT").await?;
                pop_quit(c).await?;
                n += 1;
            }
            anyhow::Ok(n)
        }));
    }
    let mut logins = 0;
    for h in handles {
        logins += h.await.context("POP3 task panicked")??;
    }
    let secs = start.elapsed().as_secs_f64();
    result("pop3_logins_per_s", logins as f64 / secs, "logins/s");

    let deadline = Instant::now() + Duration::from_secs(p.secs);
    let started = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut handles = Vec::new();
    for k in 0..clients {
        let (users, started, limit) = (users.clone(), started.clone(), p.retr_sessions);
        handles.push(tokio::spawn(async move {
            let (mut octets, mut msgs) = (0usize, 0usize);
            while Instant::now() < deadline && started.fetch_add(1, Ordering::Relaxed) < limit {
                let user = users.name(k + 1);
                let mut c = pop_login(addr, &user, &users.password).await?;
                c.send(b"STAT\r\n").await?;
                let stat = pop_ok(&mut c, "STAT").await?;
                let count: usize = stat
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .context("STAT without a count")?;
                for i in 1..=count {
                    c.send(format!("RETR {i}\r\n").as_bytes()).await?;
                    pop_ok(&mut c, "RETR").await?;
                    octets += pop_multiline(&mut c).await?;
                    msgs += 1;
                }
                pop_quit(c).await?;
            }
            anyhow::Ok((octets, msgs))
        }));
    }
    let (mut octets, mut msgs) = (0, 0);
    for h in handles {
        let (o, m) = h.await.context("POP3 task panicked")??;
        octets += o;
        msgs += m;
    }
    let secs = start.elapsed().as_secs_f64();
    if msgs == 0 {
        bail!("POP3 mailboxes are empty: fill them first");
    }
    println!("# pop3: {logins} logins; RETR {msgs} messages, {octets} octets in {secs:.2} s");
    result("pop3_retr_mb_per_s", octets as f64 / secs / 1e6, "MB/s");
    result("pop3_retr_msgs_per_s", msgs as f64 / secs, "msgs/s");
    Ok(())
}
