//! Change notices between nodes: PostgreSQL `LISTEN`/`NOTIFY` on the
//! channel `sealpost`.
//!
//! - **Sending.** A store write queues a notice after its commit; a task
//!   sends queued notices together, in their own short transaction with
//!   `synchronous_commit = off`. Not inside the write's transaction:
//!   PostgreSQL serializes the commits of transactions that NOTIFY (a
//!   database-wide lock held through the commit's WAL flush), which would
//!   undo the group commit of mail writes. A notice lost in a crash is
//!   repaired by the receivers' resync.
//! - **Receiving.** One dedicated connection (not from the pool) LISTENs.
//!   Every time it is (re)established, after `LISTEN` took effect, the store
//!   is told to resync ([`Notice::Resync`]): every open mailbox catches up
//!   from the last modseq it saw, every cached account is checked. So a
//!   database restart or a network cut loses nothing: notices are a
//!   shortcut, the change log is the truth. The connection is probed every
//!   few seconds so a silent network cut is noticed.
//!
//! Payloads are ids only (`m:ACCOUNT:MAILBOX:MODSEQ`, `s:ACCOUNT:MAILBOX`,
//! `a:ACCOUNT`), then `:oORIGIN`, a random number each node draws at start:
//! nothing personal crosses the channel. PostgreSQL delivers a node's own
//! notices to its listening connection too; the origin lets it drop them
//! (its index is already current, and its NOTIFY sessions were told by the
//! write itself, so an echo would only make them read the hierarchy again).
//! A node of an older version reads the leading fields and ignores the
//! origin.

use super::{Tls, db_error};
use crate::backend::Notice;
use crate::{AccountId, MailboxId};
use deadpool_postgres::Pool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The channel name.
const CHANNEL: &str = "sealpost";
/// Longest a notice waits for others to go with it.
const COALESCE: Duration = Duration::from_millis(2);
/// How often the listening connection is probed.
const PROBE: Duration = Duration::from_secs(5);

type Deliver = Arc<dyn Fn(Notice) + Send + Sync>;

/// Sends and receives notices (see the module docs).
pub(crate) struct Listener {
    handle: tokio::runtime::Handle,
    config: tokio_postgres::Config,
    tls: Tls,
    queue: mpsc::UnboundedSender<Notice>,
    /// This node's origin tag (see the module docs).
    origin: u64,
}

impl Listener {
    pub(crate) fn new(
        handle: &tokio::runtime::Handle,
        pool: Pool,
        config: tokio_postgres::Config,
        tls: Tls,
    ) -> Listener {
        let (queue, recv) = mpsc::unbounded_channel();
        let origin = rand::random::<u64>();
        handle.spawn(send_loop(pool, recv, origin));
        Listener {
            handle: handle.clone(),
            config,
            tls,
            queue,
            origin,
        }
    }

    /// Queues a notice for other nodes.
    pub(crate) fn notify(&self, notice: Notice) {
        let _ = self.queue.send(notice);
    }

    /// Starts listening (reconnecting after 100 ms, doubling up to
    /// [`MAX_BACKOFF`]); `deliver` gets every notice of other nodes (not
    /// this node's own).
    pub(crate) fn start(&self, deliver: Box<dyn Fn(Notice) + Send + Sync>) {
        let deliver: Deliver = Arc::from(deliver);
        let (config, tls, origin) = (self.config.clone(), self.tls.clone(), self.origin);
        self.handle.spawn(async move {
            let mut backoff = Duration::from_millis(100);
            let mut warned = false;
            loop {
                let ended = match &tls {
                    Tls::None(t) => listen_once(&config, *t, &deliver, origin).await,
                    Tls::Rustls(t) => listen_once(&config, t.clone(), &deliver, origin).await,
                };
                match ended {
                    Ok(()) => backoff = Duration::from_millis(100),
                    Err(e) if !warned => {
                        tracing::warn!(error = %e, "lost the database's change notices; reconnecting (sessions catch up when it is back)");
                        warned = true;
                    }
                    Err(_) => {}
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                if warned && backoff == Duration::from_millis(100) {
                    warned = false;
                }
            }
        });
    }
}

/// The longest wait between two attempts to listen again. A delivery on
/// another node must reach IDLE sessions here within a second of the
/// database's return (the catch-up runs at the reconnect), so attempts
/// stay at most half a second apart: one refused connection each while
/// the database is away.
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// One LISTEN connection, until it fails.
async fn listen_once<T>(
    config: &tokio_postgres::Config,
    tls: T,
    deliver: &Deliver,
    origin: u64,
) -> Result<(), crate::StoreError>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>,
    T::Stream: Send + 'static,
{
    let (client, mut conn) = config.connect(tls).await.map_err(db_error)?;
    let (msgs, mut rx) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        loop {
            let m = std::future::poll_fn(|cx| conn.poll_message(cx)).await;
            match m {
                Some(Ok(m)) => {
                    if msgs.send(m).is_err() {
                        break;
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "notice connection ended");
                    break;
                }
                None => break,
            }
        }
    });
    let result = async {
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .await
            .map_err(db_error)?;
        // Whatever happened while we were not listening is caught up now.
        deliver(Notice::Resync);
        tracing::debug!("listening for the database's change notices");
        let mut probe = tokio::time::interval(PROBE);
        probe.tick().await;
        loop {
            tokio::select! {
                m = rx.recv() => match m {
                    Some(tokio_postgres::AsyncMessage::Notification(n)) => {
                        match parse(n.payload()) {
                            Some((_, Some(from))) if from == origin => {}
                            Some((notice, _)) => deliver(notice),
                            None => {}
                        }
                    }
                    Some(_) => {}
                    None => return Err(crate::StoreError::Unavailable("notice connection closed".into())),
                },
                _ = probe.tick() => {
                    client.batch_execute("SELECT 1").await.map_err(db_error)?;
                }
            }
        }
    }
    .await;
    driver.abort();
    result
}

/// The payload of a notice.
fn payload(n: &Notice) -> Option<String> {
    Some(match n {
        Notice::Mailbox(a, m, modseq) => format!("m:{}:{}:{modseq}", a.0, m.0),
        Notice::Structure(a, m) => format!("s:{}:{}", a.0, m.0),
        Notice::Account(a) => format!("a:{}", a.0),
        Notice::Resync => return None,
    })
}

/// A payload's notice and, when it carries one, its sender's origin tag.
fn parse(p: &str) -> Option<(Notice, Option<u64>)> {
    let (body, origin) = match p.rsplit_once(":o") {
        Some((body, tag)) => (body, Some(tag.parse::<u64>().ok()?)),
        None => (p, None),
    };
    let mut it = body.split(':');
    let kind = it.next()?;
    let mut num = || it.next()?.parse::<u64>().ok();
    let notice = match kind {
        "m" => Notice::Mailbox(AccountId(num()?), MailboxId(num()?), num()?),
        "s" => Notice::Structure(AccountId(num()?), MailboxId(num()?)),
        "a" => Notice::Account(AccountId(num()?)),
        _ => return None,
    };
    Some((notice, origin))
}

/// Sends queued notices, coalesced (see the module docs).
async fn send_loop(pool: Pool, mut recv: mpsc::UnboundedReceiver<Notice>, origin: u64) {
    let mut warned = false;
    while let Some(first) = recv.recv().await {
        tokio::time::sleep(COALESCE).await;
        let mut batch = vec![first];
        while batch.len() < 500
            && let Ok(n) = recv.try_recv()
        {
            batch.push(n);
        }
        // Only the highest modseq of a mailbox matters; structure and
        // account notices once each.
        let mut latest: std::collections::HashMap<(u64, u64), u64> = Default::default();
        let mut others = std::collections::BTreeSet::new();
        for n in &batch {
            match n {
                Notice::Mailbox(a, m, modseq) => {
                    let e = latest.entry((a.0, m.0)).or_insert(0);
                    *e = (*e).max(*modseq);
                }
                Notice::Resync => {}
                other => {
                    if let Some(p) = payload(other) {
                        others.insert(p);
                    }
                }
            }
        }
        let mut sql = String::from("BEGIN; SET LOCAL synchronous_commit TO off;");
        let payloads = latest
            .into_iter()
            .filter_map(|((a, m), modseq)| {
                payload(&Notice::Mailbox(AccountId(a), MailboxId(m), modseq))
            })
            .chain(others);
        for p in payloads {
            // Payloads are digits and colons only: safe to inline.
            sql.push_str(&format!(" SELECT pg_notify('{CHANNEL}', '{p}:o{origin}');"));
        }
        sql.push_str(" COMMIT;");
        let sent = async {
            let client = pool.get().await.map_err(|e| e.to_string())?;
            client.batch_execute(&sql).await.map_err(|e| e.to_string())
        }
        .await;
        match sent {
            Ok(()) => warned = false,
            Err(e) if !warned => {
                tracing::warn!(error = %e, "could not send change notices to other nodes (they resync when the database is back)");
                warned = true;
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        for n in [
            Notice::Mailbox(AccountId(3), MailboxId(9), 1234),
            Notice::Structure(AccountId(3), MailboxId(9)),
            Notice::Account(AccountId(77)),
        ] {
            let p = payload(&n).unwrap();
            assert_eq!(parse(&p), Some((n, None)));
            assert_eq!(parse(&format!("{p}:o42")), Some((n, Some(42))));
        }
        assert_eq!(parse("m:1:x:3"), None);
        assert_eq!(parse("s:1:2:ox"), None);
        assert_eq!(parse("zz"), None);
    }
}
