//! MULTIAPPEND (RFC 3502): one APPEND carrying several messages, stored
//! all or none (section 3: "If the server is unable to append all of the
//! messages, it MUST NOT append any of them"). The store appends them in
//! one change (`StoreRequest::AppendAll`), with consecutive UIDs, so the
//! tagged OK carries one `APPENDUID uidvalidity uid-set` (RFC 4315 3).
//!
//! Every message is checked before anything is written: flags, an empty
//! message, and the name of the mailbox. A mailbox that does not exist is
//! `NO [TRYCREATE]` as for APPEND; quota and size failures keep their
//! codes (`[OVERQUOTA]`, `[TOOBIG]`), and nothing is stored.

use super::selected::{parse_flags, uid_set};
use super::{AppendItem, Done, Flow, Job, Reply, Request, Session, StoreReply, StoreRequest};
use super::{store_reply, unexpected};
use crate::error::{CmdError, CmdResult};
use crate::wire::command::{AppendMessage, MailboxArg};
use crate::wire::response::Code;
use sealpost_store::Uid;

impl Session {
    pub(super) fn multi_append(&mut self, dest: MailboxArg, messages: Vec<AppendMessage>) -> Flow {
        // RFC 9738: all or nothing, so over MESSAGELIMIT nothing.
        if messages.len() > self.config.message_limit as usize {
            return Flow::Done(Err(super::limit::over_limit(self.config.message_limit)));
        }
        let plan = || -> CmdResult<StoreRequest> {
            let account = self.account()?;
            let mailbox = self.mailbox_name(&dest)?;
            let messages = messages
                .into_iter()
                .map(append_item)
                .collect::<CmdResult<Vec<_>>>()?;
            Ok(StoreRequest::AppendAll {
                account: account.id,
                mailbox,
                messages,
            })
        };
        match plan() {
            Ok(request) => Flow::Need(Request::Store(request), Job::MultiAppend),
            Err(e) => Flow::Done(Err(e)),
        }
    }

    pub(super) fn multi_append_resume(&mut self, reply: Reply) -> Flow {
        Flow::Done(
            store_reply(reply)
                .map_err(try_create)
                .and_then(appended_all),
        )
    }
}

/// One message's flags checked and parsed; an empty message refused.
pub(super) fn append_item(m: AppendMessage) -> CmdResult<AppendItem> {
    let flags = parse_flags(&m.flags)?;
    if m.message.is_empty() {
        return Err(CmdError::no(Some(Code::Cannot), "Empty message"));
    }
    Ok(AppendItem {
        message: m.message,
        flags,
        date: m.date,
    })
}

/// A missing destination is `NO [TRYCREATE]` (RFC 9051 6.3.12).
pub(super) fn try_create(e: CmdError) -> CmdError {
    if e.code == Some(Code::Nonexistent) {
        CmdError::no(Some(Code::TryCreate), "No such mailbox")
    } else {
        e
    }
}

fn appended_all(reply: StoreReply) -> CmdResult<Done> {
    let StoreReply::AppendedAll(all) = reply else {
        return Err(unexpected());
    };
    let Some(first) = all.first() else {
        return Err(unexpected());
    };
    let uids: Vec<Uid> = all.iter().map(|a| a.uid).collect();
    Done::with(
        Code::AppendUids {
            uid_validity: first.uid_validity.0,
            uids: uid_set(&uids),
        },
        "APPEND completed",
    )
}
