//! sealpost-bench: the load generator of the benchmark (see bench/README.md).
//!
//! Each subcommand is one bounded workload against one server on loopback;
//! it prints `RESULT metric value unit` lines that `bench/run` stores per
//! round and server, and `report` turns into the table of medians and
//! ratios. Every loop has a count and a time limit.

mod audit_fill;
mod conn;
mod imap;
mod imap_load;
mod imap_persistent;
mod mail;
mod mem;
mod report;
mod stats;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Load generator for sealpost and its peers (IMAP, POP3, SMTP over TLS)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// APPEND generated messages to users' INBOXes (pipelined with LITERAL+).
    Fill {
        /// IMAP implicit-TLS address.
        #[arg(long)]
        imap: SocketAddr,
        #[command(flatten)]
        users: imap_load::Users,
        /// First user number to fill.
        #[arg(long, default_value_t = 1)]
        first: usize,
        /// Last user number to fill (default: --users).
        #[arg(long)]
        last: Option<usize>,
        /// Messages per user.
        #[arg(long)]
        count: usize,
        /// Octets per message.
        #[arg(long, default_value_t = 4096)]
        size: usize,
        /// APPENDs in flight per connection.
        #[arg(long, default_value_t = 64)]
        window: usize,
        /// Time limit in seconds.
        #[arg(long, default_value_t = 1200)]
        secs: u64,
    },
    /// imaptest-like mixed sessions: ops/s and p50/p99 per command.
    ImapMixed {
        /// IMAP implicit-TLS address.
        #[arg(long)]
        imap: SocketAddr,
        #[command(flatten)]
        users: imap_load::Users,
        #[command(flatten)]
        mixed: imap_load::Mixed,
    },
    /// Persistent sessions (no login timed), several per user: ops/s and
    /// p50/p99 per command.
    ImapPersistent {
        /// IMAP implicit-TLS address.
        #[arg(long)]
        imap: SocketAddr,
        #[command(flatten)]
        users: imap_load::Users,
        #[command(flatten)]
        load: imap_persistent::Persistent,
    },
    /// Many sessions in IDLE: server memory per connection.
    ImapIdle {
        /// IMAP implicit-TLS address.
        #[arg(long)]
        imap: SocketAddr,
        #[command(flatten)]
        users: imap_load::Users,
        /// Sessions to open.
        #[arg(long, default_value_t = 100)]
        conns: usize,
        /// The server's (master) process.
        #[arg(long)]
        pid: u32,
        /// How to measure its memory.
        #[arg(long, value_enum)]
        mem: imap_load::MemMode,
        /// Seconds to wait after the last IDLE before measuring.
        #[arg(long, default_value_t = 3)]
        settle: u64,
        /// Metric name prefix.
        #[arg(long, default_value = "imap_idle")]
        metric: String,
        #[command(flatten)]
        how: imap_load::IdleOpen,
    },
    /// SELECT and FETCH 1:* (UID FLAGS) of one (large) mailbox.
    ImapLarge {
        /// IMAP implicit-TLS address.
        #[arg(long)]
        imap: SocketAddr,
        /// The user whose INBOX is large.
        #[arg(long)]
        user: String,
        /// Password.
        #[arg(long, default_value = "bench-password")]
        password: String,
        /// Timed rounds (median reported).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// SMTP deliveries timed until all are readable over IMAP.
    Smtp {
        /// SMTP (STARTTLS) address.
        #[arg(long)]
        smtp: SocketAddr,
        /// IMAP implicit-TLS address used to see the deliveries.
        #[arg(long)]
        imap: SocketAddr,
        #[command(flatten)]
        users: imap_load::Users,
        /// Concurrent SMTP sessions.
        #[arg(long, default_value_t = 10)]
        sessions: usize,
        /// Messages in all.
        #[arg(long, default_value_t = 1000)]
        messages: usize,
        /// Octets per message.
        #[arg(long, default_value_t = 10240)]
        size: usize,
        /// Time limit in seconds.
        #[arg(long, default_value_t = 120)]
        secs: u64,
    },
    /// POP3 logins/s and RETR MB/s.
    Pop3 {
        /// POP3 implicit-TLS address.
        #[arg(long)]
        pop3: SocketAddr,
        #[command(flatten)]
        users: imap_load::Users,
        #[command(flatten)]
        pop3_args: mail::PopLoad,
    },
    /// Write a large sealed audit log with sealpost's writer (to time `audit verify`).
    AuditFill {
        /// The log folder (a config's `data_dir/audit`).
        #[arg(long)]
        dir: PathBuf,
        /// The signing key (made 0600 if absent).
        #[arg(long)]
        key: PathBuf,
        /// MB of segments to write.
        #[arg(long, default_value_t = 256)]
        mb: u64,
    },
    /// Print the Markdown table of medians and ratios of a results folder.
    Report {
        /// `DIR/<round>/<sealpost|peer>/<workload>.out`.
        #[arg(long)]
        dir: PathBuf,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Fill {
            imap,
            users,
            first,
            last,
            count,
            size,
            window,
            secs,
        } => {
            let last = last.unwrap_or(users.users);
            imap_load::fill(imap, &users, first, last, count, size, window, secs).await
        }
        Command::ImapMixed { imap, users, mixed } => imap_load::mixed(imap, &users, &mixed).await,
        Command::ImapPersistent { imap, users, load } => {
            imap_persistent::persistent(imap, &users, &load).await
        }
        Command::ImapIdle {
            imap,
            users,
            conns,
            pid,
            mem,
            settle,
            metric,
            how,
        } => imap_load::idle(imap, &users, conns, pid, mem, settle, &metric, &how).await,
        Command::ImapLarge {
            imap,
            user,
            password,
            rounds,
        } => imap_load::large(imap, &user, &password, rounds).await,
        Command::Smtp {
            smtp,
            imap,
            users,
            sessions,
            messages,
            size,
            secs,
        } => mail::smtp(smtp, imap, &users, sessions, messages, size, secs).await,
        Command::Pop3 {
            pop3,
            users,
            pop3_args,
        } => mail::pop3(pop3, &users, &pop3_args).await,
        Command::AuditFill { dir, key, mb } => audit_fill::fill(&dir, &key, mb),
        Command::Report { dir } => {
            print!("{}", report::table(&dir)?);
            Ok(())
        }
    }
}
