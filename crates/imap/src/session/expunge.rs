//! EXPUNGE and UID EXPUNGE of many messages, in batches, with INPROGRESS
//! notes (RFC 9585) between them.
//!
//! A set larger than [`EXPUNGE_BATCH`] (or, for EXPUNGE, a mailbox that
//! large) is removed [`EXPUNGE_BATCH`] UIDs per store call: EXPUNGE first
//! reads the mailbox's index for the `\Deleted` UIDs, then both forms
//! remove them batch by batch, each call removing only those still
//! `\Deleted` (as UID EXPUNGE does, RFC 4315 2.1), so a message undeleted
//! by another session meanwhile stays. Before each batch the command asks
//! [`Progress`] whether a note is due; `done` is how many UIDs were
//! handled, `goal` how many there are. EXPUNGE promises no atomicity: a
//! failure after some batches leaves those expunged, and they are
//! announced with the error as with any other answer. Smaller sets take
//! the single store call of `messages.rs`.

use super::progress::Progress;
use super::{Flow, Job, Reply, Request, Session, StoreReply, StoreRequest, store_reply};
use crate::wire::command::Tag;
use crate::wire::response::Out;
use sealpost_store::{AccountId, Flags, MailboxId, Uid};

/// UIDs one store call removes.
pub const EXPUNGE_BATCH: usize = 256;

/// A batched EXPUNGE in progress.
pub(crate) struct ExpungeJob {
    account: AccountId,
    mailbox: MailboxId,
    /// UIDs still to remove, ascending; `None` while the index is read.
    rest: Option<Vec<Uid>>,
    /// Size of the batch being removed.
    batch: usize,
    done: u32,
    goal: u32,
    gone: Vec<Uid>,
    progress: Progress,
}

impl Session {
    /// EXPUNGE (`only` is `None`) or UID EXPUNGE of a large set.
    pub(super) fn expunge_batched(
        &mut self,
        tag: &Tag,
        (account, mailbox): (AccountId, MailboxId),
        only: Option<Vec<Uid>>,
        out: &mut Out,
    ) -> Flow {
        let job = Box::new(ExpungeJob {
            account,
            mailbox,
            goal: only.as_ref().map_or(0, |u| u.len() as u32),
            rest: only,
            batch: 0,
            done: 0,
            gone: Vec::new(),
            progress: Progress::new(self.config.progress_interval),
        });
        if job.rest.is_none() {
            let request = StoreRequest::Snapshot { account, mailbox };
            return Flow::Need(Request::Store(request), Job::Expunge(job));
        }
        self.expunge_next(tag, job, out)
    }

    pub(super) fn expunge_resume(
        &mut self,
        tag: &Tag,
        mut job: Box<ExpungeJob>,
        reply: Reply,
        out: &mut Out,
    ) -> Flow {
        // A progress note was written: on with the batch it held back.
        if let Some(request) = job.progress.unpark() {
            return Flow::Need(Request::Store(request), Job::Expunge(job));
        }
        match store_reply(reply) {
            Ok(StoreReply::Snapshot(snap)) => {
                let deleted: Vec<Uid> = snap
                    .entries
                    .iter()
                    .filter(|e| e.flags.has(Flags::DELETED))
                    .map(|e| e.uid)
                    .collect();
                job.goal = deleted.len() as u32;
                job.rest = Some(deleted);
            }
            Ok(StoreReply::Expunged(gone)) => {
                job.done += job.batch as u32;
                job.gone.extend(gone);
            }
            Ok(_) => return self.expunge_end(job, Err(super::unexpected()), out),
            Err(e) => return self.expunge_end(job, Err(e), out),
        }
        self.expunge_next(tag, job, out)
    }

    fn expunge_next(&mut self, tag: &Tag, mut job: Box<ExpungeJob>, out: &mut Out) -> Flow {
        let rest = job.rest.take().unwrap_or_default();
        if rest.is_empty() {
            return self.expunge_end(job, Ok(()), out);
        }
        let n = rest.len().min(EXPUNGE_BATCH);
        let (batch, rest) = (rest[..n].to_vec(), rest[n..].to_vec());
        job.rest = Some(rest);
        job.batch = n;
        let request = StoreRequest::Expunge {
            account: job.account,
            mailbox: job.mailbox,
            only: Some(batch),
        };
        let (done, goal) = (job.done, job.goal);
        let request = job.progress.step(tag, done, goal, request, out);
        Flow::Need(request, Job::Expunge(job))
    }

    /// Announces what was expunged, then answers `result`.
    fn expunge_end(
        &mut self,
        job: Box<ExpungeJob>,
        result: crate::error::CmdResult<()>,
        out: &mut Out,
    ) -> Flow {
        let answer = self.expunged(StoreReply::Expunged(job.gone), out);
        Flow::Done(result.and(answer))
    }
}
