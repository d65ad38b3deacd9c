//! IMAP workloads: filling mailboxes, imaptest-like mixed sessions, many
//! idle sessions (server memory per connection), and SELECT/FETCH on one
//! large mailbox.

use crate::imap::Imap;
use crate::mem;
use crate::stats::{Latencies, median, message, ms, print_latencies, result};
use anyhow::{Context, Result, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Who logs in: `user_fmt` with `{}` replaced by 1..=users, one password.
#[derive(Clone, clap::Args)]
pub struct Users {
    /// Address pattern; `{}` becomes the user number (1-based).
    #[arg(long, default_value = "u{}@bench.test")]
    pub user_fmt: String,
    /// How many users exist.
    #[arg(long, default_value_t = 10)]
    pub users: usize,
    /// Every user's password.
    #[arg(long, default_value = "bench-password")]
    pub password: String,
}

impl Users {
    /// User number `i` (1-based).
    pub fn name(&self, i: usize) -> String {
        self.user_fmt.replace("{}", &i.to_string())
    }

    /// A random user.
    pub fn random(&self, rng: &mut impl Rng) -> String {
        self.name(rng.gen_range(1..=self.users.max(1)))
    }
}

/// Runs `tasks` copies of `f` at once and waits for all; the first error wins.
async fn join_all<F, Fut, T>(tasks: usize, f: F) -> Result<Vec<T>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = (0..tasks).map(|i| tokio::spawn(f(i))).collect();
    let mut out = Vec::with_capacity(tasks);
    for h in handles {
        out.push(h.await.context("task panicked")??);
    }
    Ok(out)
}

/// Appends `count` messages of `size` octets to the INBOX of users
/// `first..=last`, pipelined (LITERAL+, `window` in flight), `clients` users at
/// a time; fails after `secs` seconds.
#[allow(clippy::too_many_arguments)]
pub async fn fill(
    addr: SocketAddr,
    users: &Users,
    first: usize,
    last: usize,
    count: usize,
    size: usize,
    window: usize,
    secs: u64,
) -> Result<()> {
    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(first));
    let users = Arc::new(users.clone());
    let workers = (last + 1 - first).clamp(1, 4);
    let done = tokio::time::timeout(
        Duration::from_secs(secs),
        join_all(workers, |_| {
            let (next, users) = (next.clone(), users.clone());
            async move {
                let mut total = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i > last {
                        return Ok(total);
                    }
                    let user = users.name(i);
                    let mut imap = Imap::login(addr, &user, &users.password).await?;
                    let mut rng = StdRng::from_entropy();
                    total += imap
                        .append_pipelined("INBOX", count, window, |_| {
                            message(&mut rng, "sender@sender.test", &user, size)
                        })
                        .await
                        .with_context(|| format!("filling {user}"))?;
                    imap.logout().await?;
                }
            }
        }),
    )
    .await
    .with_context(|| format!("fill did not finish within {secs} s"))??;
    let total: usize = done.into_iter().sum();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "# filled {total} messages of {size} octets in {secs:.1} s ({:.0}/s)",
        total as f64 / secs
    );
    Ok(())
}

/// Parameters of the mixed workload.
#[derive(Clone, clap::Args)]
pub struct Mixed {
    /// Concurrent clients.
    #[arg(long, default_value_t = 10)]
    pub clients: usize,
    /// Sessions in all (each LOGIN ... LOGOUT), at most.
    #[arg(long, default_value_t = 1000)]
    pub sessions: usize,
    /// Time limit in seconds.
    #[arg(long, default_value_t = 30)]
    pub secs: u64,
    /// Messages a mailbox keeps: above this a session marks one \Deleted.
    #[arg(long, default_value_t = 20)]
    pub keep: u32,
}

async fn mixed_session(
    addr: SocketAddr,
    users: &Users,
    keep: u32,
    rng: &mut StdRng,
    lat: &mut Latencies,
) -> Result<()> {
    let user = users.random(rng);
    let t = Instant::now();
    let mut imap = Imap::login(addr, &user, &users.password).await?;
    lat.add("LOGIN", t.elapsed());

    let t = Instant::now();
    // The message count as a client must keep it: every EXISTS sets it,
    // every EXPUNGE lowers it (any command but FETCH/STORE/SEARCH may carry
    // expunges made meanwhile by other sessions of the same user).
    let mut exists = 0u32;
    imap.ok("SELECT INBOX").await?.track_count(&mut exists);
    lat.add("SELECT", t.elapsed());

    if exists > 0 {
        let t = Instant::now();
        imap.ok("FETCH 1:* (UID FLAGS)")
            .await?
            .track_count(&mut exists);
        lat.add("FETCH_FLAGS", t.elapsed());

        let n = rng.gen_range(1..=exists);
        let t = Instant::now();
        let body = imap.ok(&format!("FETCH {n} BODY.PEEK[]")).await?;
        body.track_count(&mut exists);
        if body.octets() >= 100 {
            lat.add("FETCH_BODY", t.elapsed());
        } else {
            // Another session of the same user may have expunged it since
            // SELECT: the server then leaves it out (RFC 9051 7.5.2) and
            // announces the EXPUNGE at a later command, once the expunging
            // session's change is durable: a few NOOPs (up to about 1 s)
            // are allowed for it. Anything else is a server bug.
            let before = exists;
            for _ in 0..20 {
                imap.ok("NOOP").await?.track_count(&mut exists);
                if exists < before {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            if exists >= before {
                bail!(
                    "FETCH BODY.PEEK[] of {n}/{before} returned {} octets and no EXPUNGE came within 1 s",
                    body.octets()
                );
            }
            // The FETCH counts once, under its own name: the NOOPs are the
            // client waiting, not commands of the session's mix.
            lat.add("FETCH_BODY_RACED_EXPUNGE", t.elapsed());
        }
    }

    if exists > 0 {
        let n = rng.gen_range(1..=exists);
        let flags = if exists > keep {
            "\\Seen \\Deleted"
        } else {
            "\\Seen"
        };
        let t = Instant::now();
        imap.ok(&format!("STORE {n} +FLAGS ({flags})")).await?;
        lat.add("STORE", t.elapsed());
    }

    let size = rng.gen_range(2 * 1024..=50 * 1024);
    let m = message(rng, "sender@sender.test", &user, size);
    let t = Instant::now();
    imap.append("INBOX", "", &m).await?;
    lat.add("APPEND", t.elapsed());

    let t = Instant::now();
    imap.ok("EXPUNGE").await?;
    lat.add("EXPUNGE", t.elapsed());

    let t = Instant::now();
    imap.logout().await?;
    lat.add("LOGOUT", t.elapsed());
    Ok(())
}

/// LOGIN, SELECT, FETCH 1:* (UID FLAGS), FETCH a random body, STORE flags,
/// APPEND 2-50 KB, EXPUNGE, LOGOUT; `clients` at once over random users.
///
/// Besides the rates it prints the counts they come from (`commands` and
/// completed `sessions`): a ratio of two rates rounded apart is not exact,
/// the counts are.
pub async fn mixed(addr: SocketAddr, users: &Users, p: &Mixed) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(p.secs);
    let started = Arc::new(AtomicUsize::new(0));
    let users = Arc::new(users.clone());
    let start = Instant::now();
    let (sessions, keep) = (p.sessions, p.keep);
    let all = join_all(p.clients, |_| {
        let (started, users) = (started.clone(), users.clone());
        async move {
            let mut rng = StdRng::from_entropy();
            let mut lat = Latencies::default();
            let mut completed = 0usize;
            while Instant::now() < deadline && started.fetch_add(1, Ordering::Relaxed) < sessions {
                mixed_session(addr, &users, keep, &mut rng, &mut lat).await?;
                completed += 1;
            }
            Ok((lat, completed))
        }
    })
    .await?;
    let secs = start.elapsed().as_secs_f64();
    let mut lat = Latencies::default();
    let mut done = 0;
    for (l, completed) in all {
        lat.merge(l);
        done += completed;
    }
    println!(
        "# imap mixed: {} commands, {done} sessions in {secs:.2} s",
        lat.total()
    );
    result("imap_mixed_commands", lat.total() as f64, "count");
    result("imap_mixed_sessions", done as f64, "count");
    result("imap_mixed_ops_per_s", lat.total() as f64 / secs, "ops/s");
    result(
        "imap_mixed_sessions_per_s",
        done as f64 / secs,
        "sessions/s",
    );
    print_latencies("imap_mixed", &mut lat);
    Ok(())
}

/// How the server's memory is measured.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum MemMode {
    /// Resident set of the one process (sealpost).
    Rss,
    /// Sum of PSS over the process and all its descendants (Dovecot).
    PssTree,
}

/// How the idle sessions are opened and the baseline taken.
#[derive(Clone, clap::Args)]
pub struct IdleOpen {
    /// Sessions logged in at once (one wave after the other).
    #[arg(long, default_value_t = 25)]
    pub wave: usize,
    /// Sessions opened and closed before the baseline (at most --conns),
    /// so one-time growth is not charged per session; 0 charges
    /// everything the sessions make the process grow by (the operator's
    /// view: a freshly started server, its whole growth).
    #[arg(long, default_value_t = 50)]
    pub warmup: usize,
}

/// Opens `conns` sessions that LOGIN, SELECT INBOX and IDLE; reports the
/// growth of the server's memory per connection after `settle` seconds.
#[allow(clippy::too_many_arguments)]
pub async fn idle(
    addr: SocketAddr,
    users: &Users,
    conns: usize,
    pid: u32,
    mode: MemMode,
    settle: u64,
    metric: &str,
    how: &IdleOpen,
) -> Result<()> {
    let measure = || -> Result<u64> {
        match mode {
            MemMode::Rss => mem::rss_kib(pid),
            MemMode::PssTree => mem::pss_tree_kib(pid),
        }
    };
    let users = Arc::new(users.clone());
    // Warm-up: open and close the same kind of sessions first, so one-time
    // growth (allocator arenas after argon2id checks, thread pools, caches)
    // is in the baseline and not counted per connection.
    if how.warmup > 0 {
        let warm = open_idle(addr, &users, conns.min(how.warmup), how.wave).await?;
        leave_idle(warm).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let before = measure()?;
    let t = Instant::now();
    let sessions = open_idle(addr, &users, conns, how.wave).await?;
    println!(
        "# {conns} sessions in IDLE after {:.1} s (waves of {})",
        t.elapsed().as_secs_f64(),
        how.wave
    );
    tokio::time::sleep(Duration::from_secs(settle)).await;
    let after = measure()?;
    let per = (after.saturating_sub(before)) as f64 / conns.max(1) as f64;
    println!("# {metric}: {conns} sessions, {before} KiB before, {after} KiB after");
    result(&format!("{metric}_kib_per_conn"), per, "KiB");
    leave_idle(sessions).await;
    Ok(())
}

/// Opens `conns` sessions in IDLE, in waves of `wave` so logins do not all
/// queue at once.
async fn open_idle(
    addr: SocketAddr,
    users: &Arc<Users>,
    conns: usize,
    wave: usize,
) -> Result<Vec<Imap>> {
    let mut sessions = Vec::with_capacity(conns);
    for wave in (0..conns).collect::<Vec<_>>().chunks(wave.max(1)) {
        let opened = join_all(wave.len(), |k| {
            let users = users.clone();
            let i = wave[k];
            async move {
                let user = users.name(i % users.users.max(1) + 1);
                let mut imap = Imap::login(addr, &user, &users.password).await?;
                imap.ok("SELECT INBOX").await?;
                imap.idle().await?;
                Ok(imap)
            }
        })
        .await?;
        sessions.extend(opened);
    }
    Ok(sessions)
}

/// DONE and LOGOUT on every session, 30 seconds at most in all.
async fn leave_idle(sessions: Vec<Imap>) {
    let leave = async {
        for mut s in sessions {
            if s.done().await.is_ok() {
                let _ = s.logout().await;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(30), leave).await;
}

/// `rounds` times: a new session, SELECT INBOX and FETCH 1:* (UID FLAGS)
/// timed on their own.
pub async fn large(addr: SocketAddr, user: &str, password: &str, rounds: usize) -> Result<()> {
    let (mut select, mut fetch) = (Vec::new(), Vec::new());
    let mut messages = 0;
    for _ in 0..rounds.max(1) {
        let mut imap = Imap::login(addr, user, password).await?;
        let t = Instant::now();
        let r = imap.ok("SELECT INBOX").await?;
        select.push(ms(t.elapsed()));
        messages = r.exists().unwrap_or(0);
        let t = Instant::now();
        let r = imap.ok("FETCH 1:* (UID FLAGS)").await?;
        fetch.push(ms(t.elapsed()));
        if r.fetches() != messages as usize {
            bail!("FETCH 1:* returned {} of {messages} messages", r.fetches());
        }
        imap.logout().await?;
    }
    println!(
        "# imap large mailbox: {messages} messages, {} rounds",
        select.len()
    );
    result("imap_large_messages", messages as f64, "messages");
    result(
        "imap_large_select_ms",
        median(&mut select).unwrap_or(0.0),
        "ms",
    );
    result(
        "imap_large_fetch_flags_ms",
        median(&mut fetch).unwrap_or(0.0),
        "ms",
    );
    Ok(())
}
