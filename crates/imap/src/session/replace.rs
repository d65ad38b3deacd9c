//! REPLACE and UID REPLACE (RFC 8508): a message of the selected mailbox
//! is replaced by a new one, appended to a mailbox (the same or another).
//!
//! The store appends first and removes the old message only once the new
//! one is durable (`StoreRequest::Replace`), so a failed append (no such
//! mailbox: `NO [TRYCREATE]`; quota; size) leaves the old message where it
//! was (section 3.3). The answer is the new message's `APPENDUID` in an
//! untagged OK, the old message's EXPUNGE (VANISHED with QRESYNC), then
//! the tagged OK (section 3.1, as MOVE's COPYUID in RFC 6851).
//!
//! A read-only mailbox (EXAMINE) cannot lose a message: `NO`. A sequence
//! number past the last message is BAD; a UID that no longer exists is
//! `NO [NONEXISTENT]`.

use super::multiappend::{append_item, try_create};
use super::{AppendItem, Done, Flow, Job, Reply, Request, Session, StoreReply, StoreRequest};
use super::{store_reply, unexpected};
use crate::error::{CmdError, CmdResult};
use crate::wire::acl::Rights;
use crate::wire::command::{AppendMessage, MailboxArg, MessageSet, SeqBound, SequenceSet};
use crate::wire::response::{Code, Out, Status};
use sealpost_store::MailboxName;

impl Session {
    pub(super) fn replace(
        &mut self,
        uid: bool,
        target: u32,
        dest: MailboxArg,
        message: AppendMessage,
    ) -> Flow {
        let plan = || -> CmdResult<(MailboxName, AppendItem)> {
            Ok((self.mailbox_name(&dest)?, append_item(message)?))
        };
        match plan() {
            Ok((to, item)) => self.replace_with(uid, target, to, item),
            Err(e) => Flow::Done(Err(e)),
        }
    }

    /// REPLACE of message `target` by `item`, appended to `to` (also the
    /// end of a REPLACE built with CATENATE, `catenate.rs`).
    pub(super) fn replace_with(
        &mut self,
        uid: bool,
        target: u32,
        to: MailboxName,
        item: AppendItem,
    ) -> Flow {
        match self.plan_replace(uid, target, to, item) {
            Ok(request) => Flow::Need(Request::Store(request), Job::Replace),
            Err(e) => Flow::Done(Err(e)),
        }
    }

    fn plan_replace(
        &mut self,
        uid: bool,
        target: u32,
        to: MailboxName,
        item: AppendItem,
    ) -> CmdResult<StoreRequest> {
        let user = self.account()?.id;
        let (account, sel) = self.selected()?;
        if sel.read_only {
            return Err(CmdError::no(Some(Code::Cannot), "Mailbox is read-only"));
        }
        sel.require(Rights::DELETE_MESSAGES.union(Rights::EXPUNGE))?;
        let one = MessageSet::Set(SequenceSet(vec![(
            SeqBound::Num(target),
            SeqBound::Num(target),
        )]));
        let Some(old) = sel.resolve(&one, uid)?.first().map(|t| t.uid) else {
            return Err(if uid {
                CmdError::no(Some(Code::Nonexistent), "No such message")
            } else {
                CmdError::bad(None, "Invalid message sequence number")
            });
        };
        Ok(StoreRequest::Replace {
            account,
            user,
            from: sel.info.id,
            uid: old,
            to,
            item,
        })
    }

    pub(super) fn replace_resume(&mut self, reply: Reply, out: &mut Out) -> Flow {
        let result = store_reply(reply)
            .map_err(try_create)
            .and_then(|r| self.replaced(r, out));
        Flow::Done(result)
    }

    fn replaced(&mut self, reply: StoreReply, out: &mut Out) -> CmdResult<Done> {
        let StoreReply::Replaced { appended, removed } = reply else {
            return Err(unexpected());
        };
        out.status(
            None,
            Status::Ok,
            Some(Code::AppendUid {
                uid_validity: appended.uid_validity.0,
                uid: appended.uid.0,
            }),
            "Replacement Message ready",
        );
        let qresync = self.enabled.vanished();
        let (_, sel) = self.selected()?;
        sel.announce_expunged(&removed, qresync, out);
        Done::ok("REPLACE completed")
    }
}
