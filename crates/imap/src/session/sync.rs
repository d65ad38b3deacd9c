//! How every command in the selected state ends (RFC 9051 7.5.1): the
//! mailbox's change events are asked for ([`Request::Updates`]) and
//! announced before the tagged response, or, when events were lost, a
//! fresh snapshot is compared instead; then the tagged status, or IDLE's
//! continuation, follows.

use super::{
    Done, Job, Mode, Next, Reply, Request, Session, State, Step, StoreReply, StoreRequest,
};
use crate::error::CmdResult;
use crate::wire::command::Tag;
use crate::wire::response::{Code, Out, Status};

/// What follows the announcement of mailbox changes.
pub(crate) enum AfterSync {
    /// The command's tagged status, then the connection does `Next`.
    Tagged(CmdResult<Done>, Next),
    /// IDLE begins: `+ idling`.
    IdleStart,
    /// IDLE ended with DONE: its tagged OK.
    IdleDone,
    /// Changes announced unasked (IDLE or NOTIFY): then `notify`'s part.
    Notified(super::notify::Announced),
}

impl Session {
    /// Ends a command: the selected mailbox's changes first (they must
    /// come before the tagged response, RFC 9051 7.5.1), then its status.
    pub(super) fn finish(
        &mut self,
        tag: Tag,
        allow_expunge: bool,
        result: CmdResult<Done>,
        next: Next,
        out: &mut Out,
    ) -> Step {
        let after = AfterSync::Tagged(result, next);
        if matches!(self.state, State::Selected(..)) {
            return self.wait(tag, allow_expunge, Job::Sync(after), Request::Updates);
        }
        self.after_sync(tag, after, out)
    }

    pub(super) fn after_sync(&mut self, tag: Tag, after: AfterSync, out: &mut Out) -> Step {
        match after {
            AfterSync::Tagged(mut result, next) => {
                // A command answering `[HIGHESTMODSEQ]` (EXPUNGE under
                // CONDSTORE) reports the value after its own changes were
                // announced (RFC 7162 3.2.10).
                if let (
                    Ok(Done {
                        code: Some(Code::HighestModSeq(m)),
                        ..
                    }),
                    State::Selected(_, sel),
                ) = (&mut result, &self.state)
                {
                    *m = sel.highest_modseq.0;
                }
                let result = self.limit_status(result, out);
                match result {
                    Ok(done) => out.status(Some(tag.as_str()), Status::Ok, done.code, &done.text),
                    Err(e) => out.status(Some(tag.as_str()), e.status, e.code, &e.text),
                }
                Step::Done(next)
            }
            AfterSync::IdleStart => {
                out.cont("idling");
                self.mode = Mode::Idle { tag };
                Step::Done(Next::Continue)
            }
            AfterSync::IdleDone => {
                out.status(Some(tag.as_str()), Status::Ok, None, "IDLE terminated");
                Step::Done(Next::Continue)
            }
            AfterSync::Notified(a) => self.announced(tag, a),
        }
    }

    /// The selected mailbox's events arrived ([`Request::Updates`]).
    pub(super) fn synced(
        &mut self,
        tag: Tag,
        allow_expunge: bool,
        after: AfterSync,
        reply: Reply,
        out: &mut Out,
    ) -> Step {
        let mut enabled = self.enabled;
        enabled.flag_uid = self.notify_selected_flags();
        if let (
            Reply::Updates {
                events,
                lagged,
                recent,
            },
            State::Selected(account, sel),
        ) = (reply, &mut self.state)
        {
            if lagged {
                // Events were lost: the index says where the mailbox is.
                let request = Request::Store(StoreRequest::Snapshot {
                    account: sel.account_of(account.id),
                    mailbox: sel.info.id,
                });
                return self.wait(tag, allow_expunge, Job::Resync(after), request);
            }
            let touched = super::context::touched(&events);
            let updates = sel.absorb(events, &recent);
            sel.announce(updates, enabled, out, allow_expunge);
            sel.condstore_enabled(enabled, out);
            if touched.as_ref().is_none_or(|t| !t.is_empty()) && !sel.contexts.is_empty() {
                return self.refresh_contexts(tag, allow_expunge, after, touched, out);
            }
        }
        self.after_sync(tag, after, out)
    }

    /// The snapshot after lost events arrived.
    pub(super) fn resynced(
        &mut self,
        tag: Tag,
        allow_expunge: bool,
        after: AfterSync,
        reply: Reply,
        out: &mut Out,
    ) -> Step {
        let mut enabled = self.enabled;
        enabled.flag_uid = self.notify_selected_flags();
        if let State::Selected(_, sel) = &mut self.state {
            let updates = match reply {
                Reply::Store(Ok(StoreReply::Snapshot(snap))) => sel.absorb_snapshot(snap),
                // The mailbox is gone or unreadable: announce what we know.
                _ => Default::default(),
            };
            sel.announce(updates, enabled, out, allow_expunge);
            if !sel.contexts.is_empty() {
                return self.refresh_contexts(tag, allow_expunge, after, None, out);
            }
        }
        self.after_sync(tag, after, out)
    }
}
