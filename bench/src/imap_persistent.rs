//! The persistent-session IMAP workload: what a busy client does between
//! logins (issue #18's per-command speed). Every session logs in and
//! selects INBOX before the measured window, so no LOGIN (argon2id, the
//! login cache) is timed; several sessions share each user, so a flag
//! change, an APPEND or an EXPUNGE by one is announced to the others
//! (change notifications fan out).
//!
//! The mix per session, drawn at random each command:
//!
//! | share | command |
//! |---|---|
//! | 25% | `FETCH a:b (UID FLAGS)` of up to 10 messages |
//! | 15% | `FETCH n BODY.PEEK[]` |
//! | 10% | `FETCH n (ENVELOPE BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])` |
//! | 25% | `STORE n +FLAGS`/`-FLAGS` of `\Flagged` or a keyword `$LabelK` |
//! | 10% | `APPEND` of a 2-8 KiB message |
//! |  5% | `STORE n +FLAGS (\Deleted)` then `EXPUNGE` (when above `--keep`) |
//! |  5% | `SELECT INBOX` again |
//! |  5% | `NOOP` |
//!
//! Each session tracks its message count as a client must (EXISTS sets
//! it, EXPUNGE lowers it), so sequence numbers stay valid while other
//! sessions of the same user expunge.

use crate::imap::Imap;
use crate::imap_load::Users;
use crate::stats::{Latencies, message, print_latencies, result};
use anyhow::{Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

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
    /// Messages a mailbox keeps: above this a session expunges one.
    #[arg(long, default_value_t = 20)]
    pub keep: u32,
    /// Seed of the command mix (each session adds its number).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seconds to wait between the set-up (printed as `# sessions ready`)
    /// and the measured window, e.g. to zero a profiler's counters.
    #[arg(long, default_value_t = 0)]
    pub settle: u64,
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

    /// Runs one command of the mix; returns its name for the latencies.
    async fn step(&mut self, keep: u32) -> Result<&'static str> {
        let roll = self.rng.gen_range(0..100);
        if self.exists == 0 && roll < 85 {
            return self.append().await;
        }
        let name = match roll {
            0..25 => {
                let a = self.pick();
                let b = (a + self.rng.gen_range(0..10)).min(self.exists);
                self.ok(&format!("FETCH {a}:{b} (UID FLAGS)")).await?;
                "FETCH_FLAGS"
            }
            25..40 => {
                let n = self.pick();
                self.ok(&format!("FETCH {n} BODY.PEEK[]")).await?;
                "FETCH_BODY"
            }
            40..50 => {
                let n = self.pick();
                self.ok(&format!(
                    "FETCH {n} (ENVELOPE BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])"
                ))
                .await?;
                "FETCH_HEADERS"
            }
            50..75 => {
                let n = self.pick();
                let sign = if self.rng.gen_bool(0.5) { '+' } else { '-' };
                let flag = match self.rng.gen_range(0..6) {
                    0 => "\\Flagged".to_string(),
                    k => format!("$Label{k}"),
                };
                self.ok(&format!("STORE {n} {sign}FLAGS ({flag})")).await?;
                "STORE"
            }
            75..85 => return self.append().await,
            85..90 => {
                if self.exists > keep {
                    let n = self.pick();
                    self.ok(&format!("STORE {n} +FLAGS (\\Deleted)")).await?;
                }
                self.ok("EXPUNGE").await?;
                "EXPUNGE"
            }
            90..95 => {
                self.exists = 0;
                self.ok("SELECT INBOX").await?;
                "SELECT"
            }
            _ => {
                self.ok("NOOP").await?;
                "NOOP"
            }
        };
        Ok(name)
    }

    async fn ok(&mut self, command: &str) -> Result<()> {
        let reply = self.imap.ok(command).await?;
        reply.track_count(&mut self.exists);
        Ok(())
    }

    async fn append(&mut self) -> Result<&'static str> {
        let size = self.rng.gen_range(2 * 1024..=8 * 1024);
        let m = message(&mut self.rng, "sender@sender.test", &self.user, size);
        // Other sessions' expunges may come with it: a client that missed
        // them would name messages that are no longer there.
        let reply = self.imap.append("INBOX", "", &m).await?;
        reply.track_count(&mut self.exists);
        Ok("APPEND")
    }
}

/// Opens `users x per_user` sessions (LOGIN, SELECT INBOX, not timed),
/// then lets each run up to `ops` commands of the mix within `secs`.
pub async fn persistent(addr: SocketAddr, users: &Users, p: &Persistent) -> Result<()> {
    let count = users.users.max(1) * p.per_user.max(1);
    let mut sessions = Vec::with_capacity(count);
    for i in 0..count {
        let user = users.name(i % users.users.max(1) + 1);
        let mut imap = Imap::login(addr, &user, &users.password)
            .await
            .with_context(|| format!("login of {user}"))?;
        let mut exists = 0;
        imap.ok("SELECT INBOX").await?.track_count(&mut exists);
        sessions.push(Session {
            imap,
            user,
            exists,
            rng: StdRng::seed_from_u64(p.seed.wrapping_add(i as u64)),
        });
    }
    println!("# sessions ready");
    std::io::Write::flush(&mut std::io::stdout())?;
    tokio::time::sleep(Duration::from_secs(p.settle)).await;
    let deadline = Instant::now() + Duration::from_secs(p.secs);
    let start = Instant::now();
    let (ops, keep) = (p.ops, p.keep);
    let handles: Vec<_> = sessions
        .into_iter()
        .map(|mut s| {
            tokio::spawn(async move {
                let mut lat = Latencies::default();
                for _ in 0..ops {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let t = Instant::now();
                    let name = s.step(keep).await?;
                    lat.add(name, t.elapsed());
                }
                Ok::<_, anyhow::Error>((lat, s))
            })
        })
        .collect();
    let mut lat = Latencies::default();
    let mut done = Vec::with_capacity(count);
    for h in handles {
        let (l, s) = h.await.context("session task panicked")??;
        lat.merge(l);
        done.push(s);
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "# imap persistent: {} sessions, {} commands in {secs:.2} s",
        count,
        lat.total()
    );
    result(
        "imap_persistent_ops_per_s",
        lat.total() as f64 / secs,
        "ops/s",
    );
    print_latencies("imap_persistent", &mut lat);
    for s in done {
        s.imap.logout().await?;
    }
    Ok(())
}
