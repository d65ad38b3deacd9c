//! Entering and leaving the selected state: SELECT/EXAMINE (RFC 9051
//! 6.3.2-6.3.3, RFC 7162 3.1.8 CONDSTORE and 3.2.5 QRESYNC), CLOSE
//! (6.4.1), UNSELECT (6.4.2) and IDLE (RFC 2177).
//!
//! SELECT is one request ([`StoreRequest::Select`]): the driver looks the
//! mailbox up, takes its index and starts watching it in one step, so no
//! change falls between the snapshot and the watch; the `\Recent` claim
//! and the QRESYNC changes come with it.

use super::selected::{Selected, flags_str, uid_set};
use super::{
    AfterSync, Done, Flow, Job, Mode, Next, Reply, Request, Session, State, Step, StoreReply,
    StoreRequest, store_reply, trim_crlf, unexpected,
};
use crate::error::CmdError;
use crate::wire::acl::Rights;
use crate::wire::command::{MailboxArg, QresyncParams, SelectOptions, Tag};
use crate::wire::response::{Code, Out, Status};
use sealpost_store::{Changes, Flags, MailboxInfo, ModSeq, Snapshot, Uid};
use std::collections::HashSet;

/// A SELECT or EXAMINE waiting for the store.
pub(crate) struct Opening {
    read_only: bool,
    /// CONDSTORE was asked for (by the parameter or ENABLE).
    condstore: bool,
    qresync: Option<QresyncParams>,
}

/// The keywords set on any message of the mailbox, each once (compared
/// case-insensitively), in the order first met: SELECT's FLAGS.
fn keywords_of(snap: &Snapshot) -> Vec<String> {
    let mut keywords: Vec<String> = Vec::new();
    for e in &snap.entries {
        for k in &e.flags.keywords {
            if !keywords.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                keywords.push(k.clone());
            }
        }
    }
    keywords
}

/// A CLOSE waiting for its silent expunge.
pub(crate) struct Closing;

impl Session {
    pub(super) fn select(
        &mut self,
        arg: MailboxArg,
        options: SelectOptions,
        read_only: bool,
        out: &mut Out,
    ) -> Flow {
        let account = match self.account() {
            Ok(a) => a,
            Err(e) => return Flow::Done(Err(e)),
        };
        // Leaving the old mailbox first (RFC 9051 6.3.2).
        if let State::Selected(a, _) = &self.state {
            self.state = State::Authenticated(a.clone());
            if self.enabled.rev2 || self.enabled.condstore || self.enabled.qresync {
                out.status(
                    None,
                    Status::Ok,
                    Some(Code::Closed),
                    "Previous mailbox closed",
                );
            }
        }
        if options.qresync.is_some() && !self.enabled.qresync {
            return Flow::Done(Err(CmdError::bad(
                Some(Code::ClientBug),
                "QRESYNC parameter without ENABLE QRESYNC",
            )));
        }
        let name = match self.mailbox_name(&arg) {
            Ok(n) => n,
            Err(e) => return Flow::Done(Err(e)),
        };
        let condstore = options.condstore || self.enabled.condstore;
        if options.condstore {
            self.enabled.condstore = true;
        }
        Flow::Need(
            Request::Store(StoreRequest::Select {
                account: account.id,
                name,
                read_only,
                changes_since: options.qresync.as_ref().map(|q| ModSeq(q.modseq)),
            }),
            Job::Select(Opening {
                read_only,
                condstore,
                qresync: options.qresync,
            }),
        )
    }

    pub(super) fn select_resume(&mut self, job: Opening, reply: Reply, out: &mut Out) -> Flow {
        let account = match self.account() {
            Ok(a) => a,
            Err(e) => return Flow::Done(Err(e)),
        };
        let (info, snapshot, recent, changes, shared) = match store_reply(reply) {
            Ok(StoreReply::Selected {
                info,
                snapshot,
                recent,
                changes,
                shared,
            }) => (info, snapshot, recent, changes, shared),
            Ok(_) => return Flow::Done(Err(unexpected())),
            Err(e) => return Flow::Done(Err(e)),
        };
        // A grant without a right to change anything opens read-only.
        let examined = job.read_only;
        let read_only = examined || shared.is_some_and(|s| !s.may_change());
        let keywords = keywords_of(&snapshot);
        let job = Opening { read_only, ..job };
        let rights = shared.map_or(Rights::ALL, |s| s.rights);
        self.announce_mailbox(
            &info,
            &snapshot,
            (recent.len(), rights),
            &keywords,
            &job,
            out,
        );
        let mailbox_id = account.ids.mailbox(info.id, info.uid_validity);
        out.status(None, Status::Ok, Some(Code::MailboxId(mailbox_id)), "Ok");
        let uids: Vec<Uid> = snapshot.entries.iter().map(|e| e.uid).collect();
        let sel = Selected {
            read_only,
            examined,
            exists_announced: uids.len(),
            uids,
            recent: recent.into_iter().collect(),
            pending_expunge: HashSet::new(),
            own_changes: HashSet::new(),
            base_modseq: snapshot.highest_modseq,
            highest_modseq: snapshot.highest_modseq,
            condstore: job.condstore,
            saved: Vec::new(),
            keywords,
            keywords_changed: false,
            shared,
            contexts: Vec::new(),
            limit_hit: None,
            info,
        };
        // RFC 7162 3.2.5.1: what vanished, then what changed, when the
        // client's UIDVALIDITY is still right.
        if let (Some(q), Some(changes)) = (&job.qresync, changes)
            && q.uid_validity == sel.info.uid_validity.0
        {
            self.announce_resync(&sel, q, changes, snapshot.uid_next, out);
        }
        self.state = State::Selected(account, Box::new(sel));
        if read_only {
            Flow::Done(Done::with(Code::ReadOnly, "EXAMINE completed"))
        } else {
            Flow::Done(Done::with(Code::ReadWrite, "SELECT completed"))
        }
    }

    /// The untagged data of SELECT (RFC 9051 6.3.2, RFC 3501 6.3.1).
    fn announce_mailbox(
        &self,
        info: &MailboxInfo,
        snap: &Snapshot,
        (recent, rights): (usize, Rights),
        keywords: &[String],
        job: &Opening,
        out: &mut Out,
    ) {
        let first_unseen = snap
            .entries
            .iter()
            .position(|e| !e.flags.has(Flags::SEEN))
            .map(|i| i + 1);
        let ok = Status::Ok;
        let kw: String = keywords.iter().map(|k| format!(" {k}")).collect();
        out.untagged(&format!(
            "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft{kw})"
        ));
        out.untagged(&format!("{} EXISTS", snap.entries.len()));
        if !self.enabled.rev2 {
            out.untagged(&format!("{recent} RECENT"));
            // A sequence number: not under UIDONLY (RFC 9586).
            if let Some(n) = first_unseen.filter(|_| !self.enabled.uidonly) {
                out.status(None, ok, Some(Code::Unseen(n as u32)), "First unseen");
            }
        }
        let permanent = super::acl::permanent_flags(rights, job.read_only, &kw);
        out.status(
            None,
            ok,
            Some(Code::PermanentFlags(permanent)),
            "Flags permitted",
        );
        out.status(
            None,
            ok,
            Some(Code::UidValidity(info.uid_validity.0)),
            "UIDs valid",
        );
        out.status(
            None,
            ok,
            Some(Code::UidNext(snap.uid_next.0)),
            "Predicted next UID",
        );
        if job.condstore {
            out.status(
                None,
                ok,
                Some(Code::HighestModSeq(snap.highest_modseq.0)),
                "Highest",
            );
        }
        if self.enabled.rev2 {
            let attrs = info
                .special_use
                .map(|u| u.attribute().to_string())
                .unwrap_or_default();
            out.untagged(&format!(
                "LIST ({attrs}) \"/\" {}",
                self.wire_name(info.name.as_str())
            ));
        }
    }

    /// QRESYNC's VANISHED (EARLIER) and changed flags at SELECT.
    fn announce_resync(
        &self,
        sel: &Selected,
        q: &QresyncParams,
        changes: Changes,
        uid_next: Uid,
        out: &mut Out,
    ) {
        let max = sel.uids.last().map(|u| u.0).unwrap_or(0).max(uid_next.0);
        let vanished: Vec<Uid> = changes
            .vanished
            .into_iter()
            .filter(|u| q.known_uids.as_ref().is_none_or(|k| k.contains(u.0, max)))
            .collect();
        if !vanished.is_empty() {
            out.untagged(&format!("VANISHED (EARLIER) {}", uid_set(&vanished)));
        }
        for e in changes.changed {
            if let Some(seq) = sel.seq_of(e.uid) {
                let recent = !self.enabled.rev2 && sel.recent.contains(&e.uid);
                let flags = flags_str(&e.flags, recent);
                if self.enabled.uidonly {
                    out.untagged(&format!(
                        "{} UIDFETCH (FLAGS ({flags}) MODSEQ ({}))",
                        e.uid, e.modseq
                    ));
                } else {
                    out.untagged(&format!(
                        "{seq} FETCH (UID {} FLAGS ({flags}) MODSEQ ({}))",
                        e.uid, e.modseq
                    ));
                }
            }
        }
    }

    /// CLOSE (expunging `\Deleted` silently unless read-only) or UNSELECT.
    pub(super) fn close(&mut self, expunge: bool) -> Flow {
        let State::Selected(account, sel) = std::mem::replace(&mut self.state, State::Logout)
        else {
            return Flow::Done(Err(CmdError::bad(None, "No mailbox selected")));
        };
        let (aid, mid, read_only) = (sel.account_of(account.id), sel.info.id, sel.read_only);
        // Without `e` on a shared mailbox, CLOSE expunges nothing (RFC 4314 4).
        let may_expunge = sel.rights().has(crate::wire::acl::Rights::EXPUNGE);
        self.state = State::Authenticated(account);
        if expunge && !read_only && may_expunge {
            return Flow::Need(
                Request::Store(StoreRequest::Expunge {
                    account: aid,
                    mailbox: mid,
                    only: None,
                }),
                Job::Close(Closing),
            );
        }
        Flow::Done(Done::ok(if expunge {
            "CLOSE completed"
        } else {
            "UNSELECT completed"
        }))
    }

    pub(super) fn close_resume(&mut self, _job: Closing, reply: Reply) -> Flow {
        Flow::Done(store_reply(reply).and_then(|_| Done::ok("CLOSE completed")))
    }

    /// IDLE (RFC 2177): changes so far, then `+ idling`.
    pub(super) fn idle(&mut self, tag: &Tag, out: &mut Out) -> Flow {
        if matches!(self.state, State::Selected(..)) {
            return Flow::Need(Request::Updates, Job::Sync(AfterSync::IdleStart));
        }
        out.cont("idling");
        self.mode = Mode::Idle { tag: tag.clone() };
        Flow::Answered(Next::Continue)
    }

    /// A line during IDLE: `DONE` ends it.
    pub(super) fn idle_line(&mut self, tag: Tag, line: &[u8], out: &mut Out) -> Step {
        if !trim_crlf(line).eq_ignore_ascii_case(b"DONE") {
            out.status(Some(tag.as_str()), Status::Bad, None, "Expected DONE");
            return Step::Done(Next::Continue);
        }
        let flow = if matches!(self.state, State::Selected(..)) {
            Flow::Need(Request::Updates, Job::Sync(AfterSync::IdleDone))
        } else {
            out.status(Some(tag.as_str()), Status::Ok, None, "IDLE terminated");
            Flow::Answered(Next::Continue)
        };
        self.flow(tag, true, flow, out)
    }
}
