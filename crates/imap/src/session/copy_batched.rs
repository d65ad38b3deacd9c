//! COPY and MOVE of many messages, in batches, with INPROGRESS notes
//! (RFC 9585) between them, as EXPUNGE does (`expunge.rs`).
//!
//! A set larger than [`EXPUNGE_BATCH`] goes to the store
//! [`EXPUNGE_BATCH`] UIDs per call; before each batch the command asks
//! [`Progress`] whether a note is due (`done`: messages copied or moved,
//! `goal`: the set's size). Each batch is one store write, whole or not
//! at all. What a failure leaves:
//!
//! - COPY: the destination as it was (RFC 9051 6.4.7): the copies of the
//!   batches already done are removed again ([`StoreRequest::Uncopy`])
//!   before the NO. Only UIDNEXT shows the attempt, as after any
//!   failed COPY.
//! - MOVE: each message moved or untouched, never in both mailboxes
//!   (RFC 6851 3.3): the batches already moved stay moved and are
//!   announced (COPYUID, expunges) before the NO.
//!
//! Smaller sets take the single store call of `messages.rs`.

use super::expunge::EXPUNGE_BATCH;
use super::progress::Progress;
use super::{Flow, Job, Reply, Request, Session, StoreReply, StoreRequest, store_reply};
use crate::error::{CmdError, CmdResult};
use crate::wire::command::Tag;
use crate::wire::response::Out;
use sealpost_store::{AccountId, CopyOutcome, MailboxId, MailboxName, Uid, UidValidity};

/// A batched COPY or MOVE in progress.
pub(crate) struct CopyJob {
    account: AccountId,
    user: AccountId,
    from: MailboxId,
    to: MailboxName,
    is_move: bool,
    /// UIDs still to copy, ascending.
    rest: Vec<Uid>,
    done: u32,
    goal: u32,
    /// Source and destination UIDs of what was copied or moved so far.
    pairs: Vec<(Uid, Uid)>,
    uid_validity: Option<UidValidity>,
    /// A COPY failed: the undo is under way, then this error.
    failed: Option<CmdError>,
    progress: Progress,
}

impl Session {
    /// COPY or MOVE (`is_move`) of a large set, batch by batch.
    pub(super) fn copy_batched(&mut self, tag: &Tag, request: StoreRequest, out: &mut Out) -> Flow {
        let StoreRequest::CopyMove {
            account,
            user,
            from,
            uids,
            to,
            is_move,
        } = request
        else {
            return Flow::Done(Err(super::unexpected()));
        };
        let job = Box::new(CopyJob {
            account,
            user,
            from,
            to,
            is_move,
            goal: uids.len() as u32,
            rest: uids,
            done: 0,
            pairs: Vec::new(),
            uid_validity: None,
            failed: None,
            progress: Progress::new(self.config.progress_interval),
        });
        self.copy_next(tag, job, out)
    }

    pub(super) fn copy_resume(
        &mut self,
        tag: &Tag,
        mut job: Box<CopyJob>,
        reply: Reply,
        out: &mut Out,
    ) -> Flow {
        // A progress note was written: on with the batch it held back.
        if let Some(request) = job.progress.unpark() {
            return Flow::Need(Request::Store(request), Job::Copy(job));
        }
        if let Some(e) = job.failed.take() {
            // The undo of a failed COPY is done (or failed too: the error
            // of the COPY is what the client needs either way).
            return Flow::Done(Err(e));
        }
        match store_reply(reply) {
            Ok(StoreReply::Copied(outcome)) => {
                job.done += outcome.pairs.len() as u32;
                job.uid_validity = Some(outcome.uid_validity);
                job.pairs.extend(outcome.pairs);
                self.copy_next(tag, job, out)
            }
            Ok(_) => self.copy_failed(job, super::unexpected(), out),
            Err(e) => self.copy_failed(job, e, out),
        }
    }

    fn copy_next(&mut self, tag: &Tag, mut job: Box<CopyJob>, out: &mut Out) -> Flow {
        if job.rest.is_empty() {
            let answer = self.copy_answer(&job, out);
            return Flow::Done(answer);
        }
        let n = job.rest.len().min(EXPUNGE_BATCH);
        let batch: Vec<Uid> = job.rest.drain(..n).collect();
        let request = StoreRequest::CopyMove {
            account: job.account,
            user: job.user,
            from: job.from,
            uids: batch,
            to: job.to.clone(),
            is_move: job.is_move,
        };
        let (done, goal) = (job.done, job.goal);
        let request = job.progress.step(tag, done, goal, request, out);
        Flow::Need(request, Job::Copy(job))
    }

    /// A batch failed: MOVE announces what moved; COPY takes its copies
    /// back first.
    fn copy_failed(&mut self, mut job: Box<CopyJob>, e: CmdError, out: &mut Out) -> Flow {
        let e = super::messages::try_create("No such destination mailbox")(e);
        if job.is_move {
            let _ = self.copy_answer(&job, out);
            return Flow::Done(Err(e));
        }
        if job.pairs.is_empty() {
            return Flow::Done(Err(e));
        }
        let uids = job.pairs.iter().map(|p| p.1).collect();
        let request = StoreRequest::Uncopy {
            user: job.user,
            to: job.to.clone(),
            uids,
        };
        job.failed = Some(e);
        Flow::Need(Request::Store(request), Job::Copy(job))
    }

    /// The answer for what was copied or moved (MOVE's COPYUID and
    /// expunges written to `out`).
    fn copy_answer(&mut self, job: &CopyJob, out: &mut Out) -> CmdResult<super::Done> {
        let outcome = CopyOutcome {
            uid_validity: job.uid_validity.unwrap_or(UidValidity(0)),
            pairs: job.pairs.clone(),
        };
        self.copied(StoreReply::Copied(outcome), job.is_move, out)
    }
}
