//! INPROGRESS (RFC 9585): `* OK [INPROGRESS ("tag" done goal)] ...`
//! while a long SEARCH, SORT, THREAD, EXPUNGE, COPY or MOVE works through
//! the mailbox, so a client
//! can show progress and knows the server is working rather than gone.
//!
//! A command that loads messages (content one by one for text keys; dates
//! and summaries in batches for header or date keys, any SORT or THREAD)
//! asks itself before each load whether a note is
//! due: the first once `[imap] progress_interval_ms` has passed since
//! the command began, then one per interval. `done` is how many messages
//! were examined, `goal` how many there are to examine. The note is
//! written at once: the command asks the driver to write what it has
//! ([`Request::Yield`]) and goes on when that is done. A command that ends
//! within the interval sends none. A large EXPUNGE or UID EXPUNGE runs in
//! batches and reports before each (`expunge.rs`); so do a large COPY and
//! MOVE (`copy_batched.rs`; a COPY that fails part way takes its copies
//! back, RFC 9051 6.4.7).

use super::{Request, StoreRequest};
use crate::wire::command::Tag;
use crate::wire::response::{Code, Out, Status};
use std::time::{Duration, Instant};

/// A command's progress reporting.
pub(crate) struct Progress {
    interval: Duration,
    /// When the next note is due.
    next: Instant,
    /// The store request to make once the note is written.
    parked: Option<StoreRequest>,
}

impl Progress {
    pub(crate) fn new(interval: Duration) -> Progress {
        Progress {
            interval,
            next: Instant::now() + interval,
            parked: None,
        }
    }

    /// The request to make next: `request` itself, or, when a note is
    /// due, the note written to `out` and a [`Request::Yield`] (then
    /// [`Progress::unpark`] gives `request` back).
    pub(crate) fn step(
        &mut self,
        tag: &Tag,
        done: u32,
        goal: u32,
        request: StoreRequest,
        out: &mut Out,
    ) -> Request {
        let now = Instant::now();
        if now < self.next {
            return Request::Store(request);
        }
        self.next = now + self.interval;
        let code = Code::InProgress {
            tag: tag.as_str().to_string(),
            done,
            goal,
        };
        out.status(None, Status::Ok, Some(code), "Still working");
        self.parked = Some(request);
        Request::Yield
    }

    /// After a note was written: the request it held back.
    pub(crate) fn unpark(&mut self) -> Option<StoreRequest> {
        self.parked.take()
    }
}
