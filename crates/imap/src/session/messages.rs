//! Message-changing commands: STORE (RFC 9051 6.4.6, RFC 7162
//! UNCHANGEDSINCE), EXPUNGE and UID EXPUNGE (6.4.3, RFC 4315), COPY and
//! MOVE with COPYUID (6.4.7-6.4.8, RFC 6851, RFC 4315), APPEND with
//! APPENDUID and APPENDLIMIT (6.3.12, RFC 4315, RFC 7889).
//!
//! Each is one store write ([`StoreRequest`]): the driver runs it on the
//! blocking pool and answers only once the store has it on disk, so a
//! tagged OK always means durable.

use super::selected::{parse_flags, uid_set, write_flags};
use super::{Done, Flow, Job, Reply, Request, Session, StoreReply, StoreRequest, store_reply};
use crate::error::{CmdError, CmdResult};
use crate::wire::acl::Rights;
use crate::wire::command::{MailboxArg, MessageSet, StoreOp, Tag};
use crate::wire::response::{Code, Out, Status};
use sealpost_store::{FlagOp, ModSeq, Uid};
use std::io::Write as _;

/// STORE's arguments.
pub(crate) struct StoreArgs {
    pub uid: bool,
    pub set: MessageSet,
    pub op: StoreOp,
    pub silent: bool,
    pub flags: Vec<String>,
    pub unchanged_since: Option<u64>,
}

/// A message command waiting for its write.
pub(crate) enum MessagesJob {
    Store { uid: bool, silent: bool },
    Expunge,
    CopyMove { is_move: bool },
    Append,
}

fn need(request: StoreRequest, job: MessagesJob) -> Flow {
    Flow::Need(Request::Store(request), Job::Messages(job))
}

impl Session {
    pub(super) fn store_flags(&mut self, args: StoreArgs) -> Flow {
        let flags = match parse_flags(&args.flags) {
            Ok(f) => f,
            Err(e) => return Flow::Done(Err(e)),
        };
        if args.unchanged_since.is_some() {
            self.enabled.condstore = true;
        }
        let limit = self.config.message_limit;
        let (account, sel) = match self.selected() {
            Ok(s) => s,
            Err(e) => return Flow::Done(Err(e)),
        };
        if sel.read_only {
            return Flow::Done(Err(read_only()));
        }
        let flags = match stored_flags(sel, flags, args.op) {
            Ok(f) => f,
            Err(e) => return Flow::Done(Err(e)),
        };
        let targets = match sel
            .resolve(&args.set, args.uid)
            .and_then(|t| sel.within_limit(limit, args.uid, t))
        {
            Ok(t) => t,
            Err(e) => return Flow::Done(Err(e)),
        };
        let op = match args.op {
            StoreOp::Add => FlagOp::Add,
            StoreOp::Remove => FlagOp::Remove,
            StoreOp::Replace => FlagOp::Replace,
        };
        need(
            StoreRequest::StoreFlags {
                account,
                mailbox: sel.info.id,
                uids: targets.iter().map(|t| t.uid).collect(),
                op,
                flags,
                unchanged_since: args.unchanged_since.map(ModSeq),
            },
            MessagesJob::Store {
                uid: args.uid,
                silent: args.silent,
            },
        )
    }

    pub(super) fn expunge(&mut self, tag: &Tag, uids: Option<MessageSet>, out: &mut Out) -> Flow {
        let limit = self.config.message_limit;
        let (account, sel) = match self.selected() {
            Ok(s) => s,
            Err(e) => return Flow::Done(Err(e)),
        };
        if sel.read_only {
            return Flow::Done(Err(read_only()));
        }
        if let Err(e) = sel.require(Rights::EXPUNGE) {
            return Flow::Done(Err(e));
        }
        let only = match &uids {
            Some(set) => match sel
                .resolve(set, true)
                .and_then(|t| sel.within_limit(limit, true, t))
            {
                Ok(t) => Some(t.into_iter().map(|t| t.uid).collect()),
                Err(e) => return Flow::Done(Err(e)),
            },
            None => None,
        };
        let mailbox = sel.info.id;
        if only.as_ref().map_or(sel.uids.len(), Vec::len) > super::expunge::EXPUNGE_BATCH {
            return self.expunge_batched(tag, (account, mailbox), only, out);
        }
        need(
            StoreRequest::Expunge {
                account,
                mailbox,
                only,
            },
            MessagesJob::Expunge,
        )
    }

    pub(super) fn copy_move(
        &mut self,
        tag: &Tag,
        (uid, set, dest): (bool, MessageSet, MailboxArg),
        is_move: bool,
        out: &mut Out,
    ) -> Flow {
        let dest = match self.mailbox_name(&dest) {
            Ok(d) => d,
            Err(e) => return Flow::Done(Err(e)),
        };
        let user = match self.account() {
            Ok(a) => a.id,
            Err(e) => return Flow::Done(Err(e)),
        };
        let limit = self.config.message_limit;
        let (account, sel) = match self.selected() {
            Ok(s) => s,
            Err(e) => return Flow::Done(Err(e)),
        };
        if is_move && sel.read_only {
            return Flow::Done(Err(read_only()));
        }
        if let Err(e) = sel.require_if(is_move, Rights::DELETE_MESSAGES.union(Rights::EXPUNGE)) {
            return Flow::Done(Err(e));
        }
        let targets = match sel
            .resolve(&set, uid)
            // COPY is all or nothing (RFC 9051 6.4.7): refused whole.
            .and_then(|t| sel.within_limit(limit, uid && is_move, t))
        {
            Ok(t) => t,
            Err(e) => return Flow::Done(Err(e)),
        };
        if targets.is_empty() {
            return Flow::Done(Done::ok("Nothing to do"));
        }
        let request = StoreRequest::CopyMove {
            account,
            user,
            from: sel.info.id,
            uids: targets.iter().map(|t| t.uid).collect(),
            to: dest,
            is_move,
        };
        if targets.len() > super::expunge::EXPUNGE_BATCH {
            return self.copy_batched(tag, request, out);
        }
        need(request, MessagesJob::CopyMove { is_move })
    }

    pub(super) fn append(
        &mut self,
        dest: MailboxArg,
        flags: Vec<String>,
        date: Option<i64>,
        message: Vec<u8>,
    ) -> Flow {
        let plan = || -> CmdResult<StoreRequest> {
            let account = self.account()?;
            let mailbox = self.mailbox_name(&dest)?;
            let flags = parse_flags(&flags)?;
            if message.is_empty() {
                return Err(CmdError::no(Some(Code::Cannot), "Empty message"));
            }
            Ok(StoreRequest::Append {
                account: account.id,
                mailbox,
                message,
                flags,
                date,
            })
        };
        match plan() {
            Ok(request) => need(request, MessagesJob::Append),
            Err(e) => Flow::Done(Err(e)),
        }
    }

    pub(super) fn messages_resume(
        &mut self,
        job: MessagesJob,
        reply: Reply,
        out: &mut Out,
    ) -> Flow {
        let reply = store_reply(reply);
        Flow::Done(match job {
            MessagesJob::Store { uid, silent } => {
                reply.and_then(|r| self.stored(r, uid, silent, out))
            }
            MessagesJob::Expunge => reply.and_then(|r| self.expunged(r, out)),
            MessagesJob::CopyMove { is_move } => reply
                .map_err(try_create("No such destination mailbox"))
                .and_then(|r| self.copied(r, is_move, out)),
            MessagesJob::Append => reply
                .map_err(try_create("No such mailbox"))
                .and_then(appended),
        })
    }

    fn stored(
        &mut self,
        reply: StoreReply,
        uid: bool,
        silent: bool,
        out: &mut Out,
    ) -> CmdResult<Done> {
        let StoreReply::Flags(outcome) = reply else {
            return Err(super::unexpected());
        };
        let condstore = self.enabled.condstore;
        let rev2 = self.enabled.rev2;
        let uidonly = self.enabled.uidonly;
        let (_, sel) = self.selected()?;
        let mut line = Vec::with_capacity(64);
        for e in &outcome.updated {
            sel.note_keywords(&e.flags);
        }
        sel.flush_keywords(out);
        for e in &outcome.updated {
            sel.own_change(e);
            if silent && !condstore {
                continue;
            }
            let Some(seq) = sel.seq_of(e.uid) else {
                continue;
            };
            let recent = !rev2 && sel.recent.contains(&e.uid);
            line.clear();
            super::uidonly::write_fetch_start(&mut line, seq, e.uid, uidonly);
            let mut sep = "";
            if uid && !uidonly {
                let _ = write!(line, "UID {}", e.uid);
                sep = " ";
            }
            if !silent {
                let _ = write!(line, "{sep}FLAGS (");
                write_flags(&mut line, &e.flags, recent);
                line.push(b')');
                sep = " ";
            }
            if condstore {
                let _ = write!(line, "{sep}MODSEQ ({})", e.modseq);
            }
            line.extend_from_slice(b")\r\n");
            out.raw(&line);
        }
        if !outcome.modified.is_empty() {
            let mut modified = outcome.modified.clone();
            modified.sort_unstable();
            let set = if uid {
                uid_set(&modified)
            } else {
                let seqs: Vec<Uid> = modified
                    .iter()
                    .filter_map(|u| sel.seq_of(*u))
                    .map(Uid)
                    .collect();
                uid_set(&seqs)
            };
            return Done::with(Code::Modified(set), "Conditional STORE failed for some");
        }
        Done::ok("STORE completed")
    }

    /// Announces messages this session removed, and forgets them.
    fn announce_expunged(&mut self, gone: &[Uid], out: &mut Out) {
        let qresync = self.enabled.vanished();
        if let Ok((_, sel)) = self.selected() {
            sel.announce_expunged(gone, qresync, out);
        }
    }

    pub(super) fn expunged(&mut self, reply: StoreReply, out: &mut Out) -> CmdResult<Done> {
        let StoreReply::Expunged(gone) = reply else {
            return Err(super::unexpected());
        };
        self.announce_expunged(&gone, out);
        if self.enabled.condstore {
            // Filled with the modseq after this expunge when the tagged OK
            // is written (`Session::after_sync`).
            return Done::with(Code::HighestModSeq(0), "EXPUNGE completed");
        }
        Done::ok("EXPUNGE completed")
    }

    pub(super) fn copied(
        &mut self,
        reply: StoreReply,
        is_move: bool,
        out: &mut Out,
    ) -> CmdResult<Done> {
        let StoreReply::Copied(outcome) = reply else {
            return Err(super::unexpected());
        };
        let src: Vec<Uid> = outcome.pairs.iter().map(|p| p.0).collect();
        let dst: Vec<Uid> = outcome.pairs.iter().map(|p| p.1).collect();
        let code = (!src.is_empty()).then(|| Code::CopyUid {
            uid_validity: outcome.uid_validity.0,
            from: uid_set(&src),
            to: uid_set(&dst),
        });
        if is_move {
            // RFC 6851 3.3: COPYUID in an untagged OK, then the expunges.
            if let Some(code) = code {
                out.status(None, Status::Ok, Some(code), "Moved");
            }
            self.announce_expunged(&src, out);
            return Done::ok("MOVE completed");
        }
        match code {
            Some(code) => Done::with(code, "COPY completed"),
            None => Done::ok("COPY completed"),
        }
    }
}

fn appended(reply: StoreReply) -> CmdResult<Done> {
    let StoreReply::Appended(a) = reply else {
        return Err(super::unexpected());
    };
    Done::with(
        Code::AppendUid {
            uid_validity: a.uid_validity.0,
            uid: a.uid.0,
        },
        "APPEND completed",
    )
}

/// A missing destination is `NO [TRYCREATE]` (RFC 9051 6.3.12, 6.4.7).
pub(super) fn try_create(text: &'static str) -> impl Fn(CmdError) -> CmdError {
    move |e| {
        if e.code == Some(Code::Nonexistent) {
            CmdError::no(Some(Code::TryCreate), text)
        } else {
            e
        }
    }
}

/// The flags a STORE on the selected mailbox writes (RFC 4314 4): on a
/// shared one, adding or removing leaves out the flags the grant may not
/// change, and fails (`NO [NOPERM]`) only when none of those named may be
/// changed ("STORE operation SHOULD NOT fail if the user has rights to
/// modify at least one flag specified", since clients handle a tagged NO
/// to STORE badly); replacing all flags touches every kind, so it needs
/// `s`, `t` and `w`.
fn stored_flags(
    sel: &super::Selected,
    flags: sealpost_store::Flags,
    op: StoreOp,
) -> CmdResult<sealpost_store::Flags> {
    let replace = op == StoreOp::Replace;
    let needed = super::acl::flag_rights(&flags, replace);
    if replace || needed.is_empty() || sel.rights().has(needed) {
        sel.require(needed)?;
        return Ok(flags);
    }
    let allowed = super::acl::allowed_flags(&flags, sel.rights());
    if allowed.system == 0 && allowed.keywords.is_empty() {
        sel.require(needed)?;
    }
    Ok(allowed)
}

fn read_only() -> CmdError {
    CmdError::no(Some(Code::Cannot), "Mailbox is read-only")
}
