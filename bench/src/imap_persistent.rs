//! The persistent-session IMAP workload: what a busy client does between
//! logins (issue #18's per-command speed). Every session logs in and
//! selects INBOX before the measured window, so no LOGIN (argon2id, the
//! login cache) is timed; several sessions share each user, so a flag
//! change, an APPEND or an EXPUNGE by one is announced to the others
//! (change notifications fan out).
//!
//! `--only mix` (the default) draws each command at random:
//!
//! | share | command (name in the results) |
//! |---|---|
//! | 20% | `FETCH a:b (UID FLAGS)` of up to 10 messages (FETCH_FLAGS) |
//! | 10% | `FETCH a:b (UID ENVELOPE)` of up to 10 messages (FETCH_ENVELOPE) |
//! | 10% | `FETCH n BODY.PEEK[]` (FETCH_BODY) |
//! |  5% | `FETCH n BODY.PEEK[TEXT]<0.2048>`, a preview (FETCH_PARTIAL) |
//! | 20% | `STORE n +FLAGS`/`-FLAGS` of `\Flagged` or a keyword `$LabelK` (STORE) |
//! |  8% | `APPEND` of a 2-8 KiB message (APPEND) |
//! |  5% | `STORE n +FLAGS (\Deleted)` when above `--keep`, then `EXPUNGE` (EXPUNGE) |
//! |  5% | `SELECT INBOX` again (SELECT) |
//! |  5% | `UID SEARCH` of UNSEEN, a keyword, or a SUBJECT (SEARCH) |
//! |  4% | `STATUS folder (MESSAGES UNSEEN UIDNEXT)` (STATUS) |
//! |  3% | `LIST "" "*"` (LIST) |
//! |  2% | `COPY n Archive` (COPY) |
//! |  2% | `MOVE n Archive` when above `--keep`, else an APPEND (MOVE) |
//! |  1% | `NOOP` (NOOP) |
//!
//! Any other `--only` runs that one command in every session (with what it
//! needs to keep going: EXPUNGE marks a message first and APPENDs when at
//! `--keep`, MOVE APPENDs when at `--keep`). `--only idle` pairs the
//! sessions of each user: one IDLEs while the other APPENDs, and IDLE is
//! the time from sending the APPEND to the EXISTS arriving in the idling
//! session (wake-up latency on delivery); then the two swap.
//!
//! Each session tracks its message count as a client must (EXISTS sets
//! it, EXPUNGE lowers it), so sequence numbers stay valid while other
//! sessions of the same user expunge.

use crate::imap::{Imap, Reply};
use crate::imap_load::Users;
use crate::stats::{Latencies, message, ms, result};
use anyhow::{Context, Result, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The folders every user gets besides INBOX (flat names: Dovecot's
/// Maildir++ separator is `.`).
const FOLDERS: &[&str] = &["Archive", "Projects", "Receipts", "Travel", "Lists"];

/// Which command the sessions run.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Only {
    /// The mix of the module docs.
    Mix,
    Select,
    FetchFlags,
    FetchEnvelope,
    FetchBody,
    FetchPartial,
    Search,
    Store,
    Append,
    List,
    Status,
    Copy,
    Move,
    Expunge,
    /// IDLE wake-up latency on an APPEND by another session of the user.
    Idle,
}

impl Only {
    /// The name in result lines (`fetch_flags`).
    fn name(self) -> String {
        use clap::ValueEnum;
        self.to_possible_value()
            .map(|v| v.get_name().replace('-', "_"))
            .unwrap_or_default()
    }
}

/// Parameters of the persistent-session workload.
#[derive(Clone, clap::Args)]
pub struct Persistent {
    /// Sessions per user (the users come from --users).
    #[arg(long, default_value_t = 2)]
    pub per_user: usize,
    /// Commands each session runs in the measured window, at most.
    #[arg(long, default_value_t = 1000)]
    pub ops: usize,
    /// Time limit of the measured window in seconds.
    #[arg(long, default_value_t = 30)]
    pub secs: u64,
    /// Messages a mailbox keeps: above this a session expunges or moves one.
    #[arg(long, default_value_t = 20)]
    pub keep: u32,
    /// Seed of the command mix (each session adds its number).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seconds to wait between the set-up (printed as `# sessions ready`)
    /// and the measured window, e.g. to zero a profiler's counters.
    #[arg(long, default_value_t = 0)]
    pub settle: u64,
    /// The command to run (default: the mix).
    #[arg(long, value_enum, default_value_t = Only::Mix)]
    pub only: Only,
    /// Before the window (not timed), the first session of each user
    /// empties Archive, clears every flag in INBOX and brings it to this
    /// many messages (expunging the newest or appending), so every run
    /// starts from the same mailboxes whatever the runs before did.
    #[arg(long)]
    pub reset_to: Option<u32>,
}

/// One session's state as its client sees it.
struct Session {
    imap: Imap,
    user: String,
    exists: u32,
    rng: StdRng,
}

impl Session {
    fn pick(&mut self) -> u32 {
        self.rng.gen_range(1..=self.exists.max(1))
    }

    /// A range `a:b` of up to 10 messages.
    fn range(&mut self) -> String {
        let a = self.pick();
        let b = (a + self.rng.gen_range(0..10)).min(self.exists.max(1));
        format!("{a}:{b}")
    }

    fn folder(&mut self) -> &'static str {
        FOLDERS[self.rng.gen_range(0..FOLDERS.len())]
    }

    /// Runs one command of the mix; returns its name for the latencies.
    async fn mix(&mut self, keep: u32, lat: &mut Latencies) -> Result<()> {
        let roll = self.rng.gen_range(0..100);
        let only = match roll {
            _ if self.exists == 0 => Only::Append,
            0..20 => Only::FetchFlags,
            20..30 => Only::FetchEnvelope,
            30..40 => Only::FetchBody,
            40..45 => Only::FetchPartial,
            45..65 => Only::Store,
            65..73 => Only::Append,
            73..78 => Only::Expunge,
            78..83 => Only::Select,
            83..88 => Only::Search,
            88..92 => Only::Status,
            92..95 => Only::List,
            95..97 => Only::Copy,
            97..99 => Only::Move,
            _ => {
                let t = Instant::now();
                self.ok("NOOP").await?;
                lat.add("NOOP", t.elapsed());
                return Ok(());
            }
        };
        self.one(only, keep, lat).await
    }

    /// Runs `only` once (with what it needs to keep going), adding the
    /// latency of each command sent.
    async fn one(&mut self, only: Only, keep: u32, lat: &mut Latencies) -> Result<()> {
        if self.exists == 0 && only != Only::Select {
            return self.append(lat).await;
        }
        let command = match only {
            Only::Mix | Only::Idle => bail!("not a single command"),
            Only::Append => return self.append(lat).await,
            Only::Select => {
                self.exists = 0;
                "SELECT INBOX".to_string()
            }
            Only::FetchFlags => format!("FETCH {} (UID FLAGS)", self.range()),
            Only::FetchEnvelope => format!("FETCH {} (UID ENVELOPE)", self.range()),
            Only::FetchBody => format!("FETCH {} BODY.PEEK[]", self.pick()),
            Only::FetchPartial => format!("FETCH {} BODY.PEEK[TEXT]<0.2048>", self.pick()),
            Only::Search => match self.rng.gen_range(0..3) {
                0 => "UID SEARCH UNSEEN".to_string(),
                1 => format!("UID SEARCH KEYWORD $Label{}", self.rng.gen_range(1..6)),
                _ => format!("UID SEARCH SUBJECT \"{:x}\"", self.rng.gen_range(0..16)),
            },
            Only::Store => {
                let n = self.pick();
                let sign = if self.rng.gen_bool(0.5) { '+' } else { '-' };
                let flag = match self.rng.gen_range(0..6) {
                    0 => "\\Flagged".to_string(),
                    k => format!("$Label{k}"),
                };
                format!("STORE {n} {sign}FLAGS ({flag})")
            }
            Only::List => "LIST \"\" \"*\"".to_string(),
            Only::Status => format!("STATUS {} (MESSAGES UNSEEN UIDNEXT)", self.folder()),
            Only::Copy => format!("COPY {} Archive", self.pick()),
            Only::Move if self.exists > keep => format!("MOVE {} Archive", self.pick()),
            Only::Move => return self.append(lat).await,
            Only::Expunge if self.exists > keep => {
                let n = self.pick();
                self.timed("STORE", &format!("STORE {n} +FLAGS (\\Deleted)"), lat)
                    .await?;
                "EXPUNGE".to_string()
            }
            Only::Expunge => return self.append(lat).await,
        };
        let name = only.name().to_ascii_uppercase();
        self.timed(&name, &command, lat).await
    }

    /// Runs a command and adds its latency. `NO [EXPUNGEISSUED]` (RFC
    /// 9051 7.1: a message named was expunged by another session) is an
    /// answer, not a failure.
    async fn timed(&mut self, name: &str, command: &str, lat: &mut Latencies) -> Result<()> {
        let t = Instant::now();
        let reply = self.imap.command(command).await?;
        reply.track_count(&mut self.exists);
        if !reply.status.starts_with("OK") && !reply.status.starts_with("NO [EXPUNGEISSUED]") {
            let verb = command.split(' ').next().unwrap_or("");
            bail!("{verb}: {}", reply.status);
        }
        lat.add(name, t.elapsed());
        Ok(())
    }

    async fn ok(&mut self, command: &str) -> Result<Reply> {
        let reply = self.imap.ok(command).await?;
        reply.track_count(&mut self.exists);
        Ok(reply)
    }

    async fn append(&mut self, lat: &mut Latencies) -> Result<()> {
        let size = self.rng.gen_range(2 * 1024..=8 * 1024);
        let m = message(&mut self.rng, "sender@sender.test", &self.user, size);
        let t = Instant::now();
        // Other sessions' expunges may come with it: a client that missed
        // them would name messages that are no longer there.
        let reply = self.imap.append("INBOX", "", &m).await?;
        lat.add("APPEND", t.elapsed());
        reply.track_count(&mut self.exists);
        Ok(())
    }
}

/// One IDLE wake-up: `idler` IDLEs, `writer` APPENDs; the time from the
/// APPEND to the EXISTS in `idler` is IDLE's sample.
async fn idle_wake(idler: &mut Session, writer: &mut Session, lat: &mut Latencies) -> Result<()> {
    idler.imap.idle().await?;
    let t = Instant::now();
    let (appended, woke) = tokio::join!(writer.append(lat), async {
        let r = idler.imap.untagged_until(Reply::is_exists).await;
        (r, t.elapsed())
    });
    appended?;
    let (exists, woke) = woke;
    lat.add("IDLE", woke);
    let reply = Reply {
        untagged: vec![exists?],
        status: String::new(),
    };
    reply.track_count(&mut idler.exists);
    idler.imap.done().await
}

/// Logs in and selects INBOX for `users x per_user` sessions (not timed);
/// the first session of each user creates its folders (an existing one
/// answers NO, which is fine).
async fn open(addr: SocketAddr, users: &Users, p: &Persistent) -> Result<Vec<Session>> {
    let count = users.users.max(1) * p.per_user.max(1);
    let mut sessions = Vec::with_capacity(count);
    for i in 0..count {
        let user = users.name(i % users.users.max(1) + 1);
        let mut imap = Imap::login(addr, &user, &users.password)
            .await
            .with_context(|| format!("login of {user}"))?;
        if i < users.users.max(1) {
            for f in FOLDERS {
                imap.command(&format!("CREATE {f}")).await?;
            }
            if let Some(n) = p.reset_to {
                reset(&mut imap, &user, n).await?;
            }
        }
        let mut exists = 0;
        imap.ok("SELECT INBOX").await?.track_count(&mut exists);
        sessions.push(Session {
            imap,
            user,
            exists,
            rng: StdRng::seed_from_u64(p.seed.wrapping_add(i as u64)),
        });
    }
    Ok(sessions)
}

/// Expunges messages `first:*` of `mailbox` (selecting it); returns how
/// many are left.
async fn expunge_from(imap: &mut Imap, mailbox: &str, first: u32) -> Result<u32> {
    let exists = imap
        .ok(&format!("SELECT {mailbox}"))
        .await?
        .exists()
        .unwrap_or(0);
    if exists >= first {
        imap.ok(&format!("STORE {first}:* +FLAGS.SILENT (\\Deleted)"))
            .await?;
        imap.ok("EXPUNGE").await?;
    }
    Ok(exists.min(first.saturating_sub(1)))
}

/// Empties Archive, clears INBOX's flags and brings it to `n` messages.
async fn reset(imap: &mut Imap, user: &str, n: u32) -> Result<()> {
    expunge_from(imap, "Archive", 1).await?;
    let exists = expunge_from(imap, "INBOX", n + 1).await?;
    let mut rng = StdRng::seed_from_u64(u64::from(n));
    for _ in exists..n {
        let m = message(&mut rng, "sender@sender.test", user, 4096);
        imap.append("INBOX", "", &m).await?;
    }
    if n > 0 {
        imap.ok("STORE 1:* FLAGS.SILENT ()").await?;
    }
    Ok(())
}

/// Opens the sessions, then lets each run up to `ops` commands within
/// `secs` (for `--only idle`, each user's sessions in pairs).
pub async fn persistent(addr: SocketAddr, users: &Users, p: &Persistent) -> Result<()> {
    if p.only == Only::Idle && p.per_user < 2 {
        bail!("--only idle needs --per-user 2 or more");
    }
    let sessions = open(addr, users, p).await?;
    let count = sessions.len();
    println!("# sessions ready");
    std::io::Write::flush(&mut std::io::stdout())?;
    tokio::time::sleep(Duration::from_secs(p.settle)).await;
    let deadline = Instant::now() + Duration::from_secs(p.secs);
    let start = Instant::now();
    let (ops, keep, only) = (p.ops, p.keep, p.only);
    // Tasks of one session each, or of two sessions of one user for IDLE.
    let mut groups: Vec<Vec<Session>> = Vec::new();
    if only == Only::Idle {
        let per_user = users.users.max(1);
        let mut by_user: Vec<Vec<Session>> = (0..per_user).map(|_| Vec::new()).collect();
        for (i, s) in sessions.into_iter().enumerate() {
            by_user[i % per_user].push(s);
        }
        for mut mine in by_user {
            while mine.len() >= 2 {
                groups.push(mine.drain(..2).collect());
            }
            groups.extend(mine.into_iter().map(|s| vec![s]));
        }
    } else {
        groups = sessions.into_iter().map(|s| vec![s]).collect();
    }
    let handles: Vec<_> = groups
        .into_iter()
        .map(|mut g| {
            tokio::spawn(async move {
                let mut lat = Latencies::default();
                for k in 0..ops {
                    if Instant::now() >= deadline {
                        break;
                    }
                    match (only, g.as_mut_slice()) {
                        (Only::Idle, [a, b]) if k % 2 == 0 => idle_wake(a, b, &mut lat).await?,
                        (Only::Idle, [a, b]) => idle_wake(b, a, &mut lat).await?,
                        (Only::Idle, _) => break,
                        (Only::Mix, [s]) => s.mix(keep, &mut lat).await?,
                        (_, [s]) => s.one(only, keep, &mut lat).await?,
                        _ => unreachable!("one session per task"),
                    }
                }
                Ok::<_, anyhow::Error>((lat, g))
            })
        })
        .collect();
    let mut lat = Latencies::default();
    let mut done = Vec::with_capacity(count);
    for h in handles {
        let (l, g) = h.await.context("session task panicked")??;
        lat.merge(l);
        done.extend(g);
    }
    let secs = start.elapsed().as_secs_f64();
    report(&only.name(), count, secs, &mut lat);
    for s in done {
        s.imap.logout().await?;
    }
    Ok(())
}

/// Prints the counts, ops/s and p50/p99 per command. In a single-command
/// run the command's own rows are `imap_persistent_<only>_p50`; the
/// commands that keep it going get their name added.
fn report(only: &str, sessions: usize, secs: f64, lat: &mut Latencies) {
    let prefix = format!("imap_persistent_{only}");
    println!(
        "# imap persistent {only}: {sessions} sessions, {} commands in {secs:.2} s",
        lat.total()
    );
    result(&format!("{prefix}_commands"), lat.total() as f64, "count");
    result(
        &format!("{prefix}_ops_per_s"),
        lat.total() as f64 / secs,
        "ops/s",
    );
    for (cmd, n, p50, p99) in lat.percentiles() {
        let cmd = cmd.to_ascii_lowercase();
        let name = if cmd == only {
            prefix.clone()
        } else {
            format!("{prefix}_{cmd}")
        };
        println!("# {name}: n={n}");
        result(&format!("{name}_p50"), ms(p50), "ms");
        result(&format!("{name}_p99"), ms(p99), "ms");
    }
}
