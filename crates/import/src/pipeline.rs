//! The fast path every file source shares (a Maildir's files, an mbox's
//! messages): [`WORKERS`] threads end the next messages at once (their
//! blobs sealed and made durable, `sealpost_store::AppendStream::prepare`),
//! so the fsyncs overlap and the directory's are shared, and the calling
//! thread commits their rows in the source's order, [`BATCH`] to a
//! transaction (`Store::commit_prepared`: one flush for all; fewer when
//! they reach [`BATCH_OCTETS`]), so the UIDs come out as in a one-by-one
//! import.
//!
//! What runs ahead of the last commit is bounded: the producer (which
//! reads the source in order) waits while it is [`WINDOW`] messages or
//! [`WINDOW_OCTETS`] ahead, and hands each message over through a channel
//! of [`WORKERS`] places. A message waiting for its commit holds its
//! summary only (and, on PostgreSQL, its sealed octets when under a MiB),
//! so memory stays flat.
//!
//! Each message is handed over with a mark (where the source stands after
//! it: an mbox's offset, a Maildir's file count); after each commit the
//! caller's checkpoint hears the last mark of the batch and what was
//! appended, on the committing thread and before the next commit, so a
//! resumable import ([`crate::resume`]) can record it durably.
//!
//! Every commit is all or none. When a message cannot be read or ended,
//! every message before it is committed and none after it; when the
//! reader fails, every message it handed over is committed; when the
//! store refuses a commit, the batches before it stay. Either way what was
//! prepared and not committed leaves no blob behind, and a crash leaves
//! whole batches (and, like any append that did not commit, perhaps blob
//! files that no row names).

use crate::{Result, Totals};
use sealpost_store::{Appended, MailboxId, Placement, Prepared, Store, Uid};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Messages ended (sealed, made durable) at once.
pub const WORKERS: usize = 4;
/// Messages committed in one transaction.
pub const BATCH: usize = 64;
/// How many messages the producer may run ahead of the last commit (more
/// than [`BATCH`] plus [`WORKERS`], so the next batch can always fill).
pub const WINDOW: usize = 256;
/// Octets past which a batch is committed before it has [`BATCH`]
/// messages (at most [`WINDOW_OCTETS`], so that a producer waiting on the
/// window always lets a batch fill).
pub const BATCH_OCTETS: u64 = 16 << 20;
/// How many octets of messages the producer may run ahead of the last
/// commit (a backend may hold a prepared message's sealed octets until
/// its commit: PostgreSQL does for messages under a MiB).
pub const WINDOW_OCTETS: u64 = 32 << 20;

// A producer waiting on the window has handed over a whole batch.
const _: () = assert!(BATCH_OCTETS <= WINDOW_OCTETS && BATCH < WINDOW);

/// A prepared message and where it goes.
pub type Ready<'s> = (Prepared<'s>, Placement);

/// What the producer and the committer share.
struct Shared {
    /// Messages and their octets committed so far; the producer waits on
    /// it.
    committed: Mutex<(usize, u64)>,
    more_committed: Condvar,
    /// The committer stopped (an error): everyone ends.
    stop: AtomicBool,
}

/// Hands the producer's messages on in order; see the module docs.
pub struct Sender<'p, T> {
    work: SyncSender<(usize, T, u64, u64)>,
    shared: &'p Shared,
    sent: usize,
    sent_octets: u64,
}

impl<T> Sender<'_, T> {
    /// Hands over the next message, of `octets` (as far as the producer
    /// knows), with its `mark` (handed to the checkpoint once it is
    /// committed), waiting while the producer is [`WINDOW`] messages or
    /// [`WINDOW_OCTETS`] ahead of the last commit. `false`: the import
    /// stopped (its error is the committer's), so the producer should
    /// return.
    pub fn send(&mut self, item: T, octets: u64, mark: u64) -> bool {
        let Ok(mut done) = self.shared.committed.lock() else {
            return false;
        };
        let ahead = |(messages, octets): (usize, u64), sent: usize, sent_octets: u64| {
            sent >= messages + WINDOW || (sent > messages && sent_octets >= octets + WINDOW_OCTETS)
        };
        while ahead(*done, self.sent, self.sent_octets) {
            if self.shared.stop.load(Ordering::Relaxed) {
                return false;
            }
            done = match self
                .shared
                .more_committed
                .wait_timeout(done, Duration::from_millis(100))
            {
                Ok((d, _)) => d,
                Err(_) => return false,
            };
        }
        drop(done);
        if self.shared.stop.load(Ordering::Relaxed)
            || self.work.send((self.sent, item, octets, mark)).is_err()
        {
            return false;
        }
        self.sent += 1;
        self.sent_octets += octets;
        true
    }
}

/// Imports into `mailbox` what `produce` hands over (reading the source in
/// order, on a thread of its own), each turned into a prepared message by
/// `prepare` on one of [`WORKERS`] threads, committed in order [`BATCH`]
/// at a time; counts into `totals`; after each commit, `checkpoint`
/// hears the mark of the batch's last message and what it appended (its
/// error stops the import). Returns once every message is
/// committed durably, or the first error: the producer's (after every
/// message it handed over is committed), a message's, or the store's.
pub fn import_in_order<'s, T, P, F>(
    store: &'s Store,
    mailbox: MailboxId,
    totals: &Totals,
    produce: P,
    prepare: F,
    checkpoint: &mut dyn FnMut(u64, &[Appended]) -> Result<()>,
) -> Result<()>
where
    T: Send,
    P: FnOnce(&mut Sender<'_, T>) -> Result<()> + Send,
    F: Fn(T) -> Result<Ready<'s>> + Sync,
{
    let shared = Shared {
        committed: Mutex::new((0, 0)),
        more_committed: Condvar::new(),
        stop: AtomicBool::new(false),
    };
    let (work, queue) = std::sync::mpsc::sync_channel::<(usize, T, u64, u64)>(WORKERS);
    // Owned by the workers: when the last one ends, a producer blocked on
    // a full queue hears it.
    let queue = Arc::new(Mutex::new(queue));
    let (done, results) = std::sync::mpsc::sync_channel(WORKERS * 2);
    std::thread::scope(|scope| {
        let shared = &shared;
        let producer = scope.spawn(move || {
            let mut sender = Sender {
                work,
                shared,
                sent: 0,
                sent_octets: 0,
            };
            let result = produce(&mut sender);
            (result, sender.sent)
        });
        for _ in 0..WORKERS {
            let (queue, done, prepare) = (queue.clone(), done.clone(), &prepare);
            scope.spawn(move || {
                loop {
                    if shared.stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let next = match queue.lock() {
                        Ok(q) => q.recv(),
                        Err(_) => return,
                    };
                    let Ok((i, item, octets, mark)) = next else {
                        return;
                    };
                    if done.send((i, octets, mark, prepare(item))).is_err() {
                        return;
                    }
                }
            });
        }
        drop((queue, done));
        let progress = |n, octets| {
            if let Ok(mut c) = shared.committed.lock() {
                *c = (n, octets);
            }
            shared.more_committed.notify_all();
        };
        let committed = commit_in_order(store, mailbox, results, totals, progress, checkpoint);
        if committed.is_err() {
            shared.stop.store(true, Ordering::Relaxed);
            shared.more_committed.notify_all();
        }
        let (produced, sent) = producer.join().unwrap_or_else(|_| {
            (
                Err(crate::ImportError::Format("the reader panicked".into())),
                0,
            )
        });
        let committed = committed?;
        produced?;
        if committed != sent {
            return Err(crate::ImportError::Format(format!(
                "{committed} of {sent} messages stored"
            )));
        }
        Ok(())
    })
}

/// Receives prepared messages (numbered, in any order, with the octets
/// the producer counted for them) until every worker ended, commits them
/// in their order in batches; `progress` hears how many are committed, and
/// their octets (as the producer counted them, so that its window and
/// these batches agree), and `checkpoint` the batch's last mark and what
/// it appended. Returns that number; on a message's error,
/// commits those before it first. Dropping `results` on the way out ends
/// the workers.
fn commit_in_order<'s>(
    store: &'s Store,
    mailbox: MailboxId,
    results: Receiver<(usize, u64, u64, Result<Ready<'s>>)>,
    totals: &Totals,
    progress: impl Fn(usize, u64),
    checkpoint: &mut dyn FnMut(u64, &[Appended]) -> Result<()>,
) -> Result<usize> {
    let mut waiting = BTreeMap::new();
    let mut batch = Vec::with_capacity(BATCH);
    let mut next = 0;
    // Messages and counted octets committed; the counted octets of the
    // batch.
    let mut committed = (0, 0);
    let mut batch_octets = 0;
    // The mark of the last message in the batch.
    let mut mark = 0;
    let mut flush = |batch: &mut Vec<Ready<'s>>,
                     batch_octets: &mut u64,
                     committed: &mut (usize, u64),
                     mark: u64|
     -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let asked: Vec<(u64, Option<Uid>)> = batch
            .iter()
            .map(|(p, place)| (p.size(), place.keep_uid))
            .collect();
        let appended = store.commit_prepared(mailbox, std::mem::take(batch))?;
        for ((size, asked), a) in asked.into_iter().zip(&appended) {
            totals.stored(size as usize, asked == Some(a.uid));
        }
        committed.0 += appended.len();
        committed.1 += std::mem::take(batch_octets);
        checkpoint(mark, &appended)?;
        progress(committed.0, committed.1);
        Ok(())
    };
    for (i, octets, m, prepared) in results {
        waiting.insert(i, (octets, m, prepared));
        while let Some((octets, m, prepared)) = waiting.remove(&next) {
            next += 1;
            match prepared {
                Ok(p) => batch.push(p),
                Err(e) => {
                    flush(&mut batch, &mut batch_octets, &mut committed, mark)?;
                    return Err(e);
                }
            }
            mark = m;
            batch_octets += octets;
            if batch.len() == BATCH || batch_octets >= BATCH_OCTETS {
                flush(&mut batch, &mut batch_octets, &mut committed, mark)?;
            }
        }
    }
    flush(&mut batch, &mut batch_octets, &mut committed, mark)?;
    Ok(committed.0)
}
