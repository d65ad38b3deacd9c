//! FETCH and UID FETCH (RFC 9051 6.4.5, 7.5.2; RFC 3516 BINARY; RFC 7162
//! CHANGEDSINCE, MODSEQ and VANISHED; RFC 8514 SAVEDATE; RFC 9394 UID
//! FETCH's PARTIAL, a page of the messages the UID set names).
//!
//! A FETCH is a small state machine ([`Fetch`]):
//!
//! ```text
//!   plan ──(UID FETCH .. (CHANGEDSINCE m VANISHED))──▶ ChangesSince ──▶ VANISHED (EARLIER)
//!     │                                                                     │
//!     └──────────────────────────────▶ Snapshot (the index) ◀──────────────┘
//!                                          │
//!              ┌───────────────────────────┤ per message, in order:
//!              │  index items only ──▶ written at once
//!              │  dates, summary or content ──▶ Message request ──▶ written
//!              │  output past SPILL_BYTES ──▶ Yield (the driver writes it out)
//!              └───────────────────────────┤
//!                                          ▼
//!                non-PEEK body items: one StoreFlags (+\Seen) for them all
//! ```
//!
//! UID, FLAGS, MODSEQ and RFC822.SIZE come from the index, so
//! `FETCH 1:* (UID FLAGS)` never touches a message; dates and summaries
//! come from the message's metadata; sections from its content. A
//! non-PEEK body fetch sets `\Seen` (read-write mailboxes only) and
//! reports the new flags. The items are written by `fetch_items`.

use super::fetch_items::{self, Message, Wants, sets_seen};
use super::selected::{Target, uid_set};
use super::{
    Done, Flow, Job, Reply, Request, SPILL_BYTES, Session, StoreReply, StoreRequest, store_reply,
    unexpected,
};
use crate::error::{CmdError, CmdResult};
use crate::message::Summary;
use crate::wire::command::{FetchAtt, FetchModifiers, MessageSet};
use crate::wire::response::{Code, Out};
use sealpost_store::{
    AccountId, Changes, FlagOp, Flags, MailboxId, MessageEntry, MessageMeta, ModSeq, Uid,
};
use std::collections::VecDeque;

/// A FETCH in progress. See the module docs.
pub(crate) struct Fetch {
    account: AccountId,
    mailbox: MailboxId,
    items: Vec<FetchAtt>,
    changed_since: Option<u64>,
    wants: Wants,
    /// Non-PEEK body items in a read-write mailbox.
    set_seen: bool,
    targets: Vec<Target>,
    /// The next target to write.
    next: usize,
    /// The mailbox's index, sorted by UID.
    index: Vec<MessageEntry>,
    /// Messages this FETCH marks `\Seen`.
    seen_now: Vec<Uid>,
    failed_cte: bool,
    stage: Stage,
    /// A message's response, reused.
    buf: Vec<u8>,
    /// Metadata read ahead for the next targets to write, in their order
    /// (FETCH of dates or summaries without content: one store read per
    /// [`META_BATCH`] messages, not one per message).
    ahead: VecDeque<Option<MessageMeta>>,
}

/// Messages whose metadata one store read brings (a FETCH ENVELOPE of a
/// screenful is one read; a longer one stays within bounded memory).
pub(crate) const META_BATCH: usize = 64;

/// What the FETCH waits for.
enum Stage {
    /// UIDs expunged since CHANGEDSINCE within this set (VANISHED).
    Vanished(MessageSet),
    /// The index.
    Index,
    /// The message `targets[next]` (`raw` when its summary is unusable and
    /// is made again from the content).
    Message { fallback: bool },
    /// Metadata of the targets from `next` on (into `ahead`).
    Metas,
    /// The driver to write out what is made so far.
    Yield,
    /// `\Seen` to be stored.
    Seen,
}

impl Session {
    pub(super) fn fetch(
        &mut self,
        uid: bool,
        set: MessageSet,
        mut items: Vec<FetchAtt>,
        modifiers: FetchModifiers,
    ) -> Flow {
        // CONDSTORE-enabling (RFC 7162 3.1), once the command is valid.
        let enables_condstore =
            modifiers.changed_since.is_some() || items.contains(&FetchAtt::ModSeq);
        let qresync = self.enabled.qresync;
        let uidonly = self.enabled.uidonly;
        let limit = self.config.message_limit;
        let (account, sel) = match self.selected() {
            Ok(s) => s,
            Err(e) => return Flow::Done(Err(e)),
        };
        let mut targets = match sel.resolve(&set, uid) {
            Ok(t) => t,
            Err(e) => return Flow::Done(Err(e)),
        };
        // PARTIAL (RFC 9394 3.2): a page of the messages the set names.
        if let Some(range) = modifiers.partial {
            targets = range.page(&targets).to_vec();
        }
        let targets = match sel.within_limit(limit, uid, targets) {
            Ok(t) => t,
            Err(e) => return Flow::Done(Err(e)),
        };
        // UID FETCH reports the UID unasked (RFC 9051 6.4.8), except under
        // UIDONLY, whose UIDFETCH response already names it (RFC 9586).
        if uid && !uidonly && !items.contains(&FetchAtt::Uid) {
            items.insert(0, FetchAtt::Uid);
        }
        if modifiers.changed_since.is_some() && !items.contains(&FetchAtt::ModSeq) {
            items.push(FetchAtt::ModSeq);
        }
        let mut job = Fetch {
            account,
            mailbox: sel.info.id,
            changed_since: modifiers.changed_since,
            wants: Wants::of(&items),
            set_seen: sets_seen(&items)
                && !sel.read_only
                && sel.rights().has(crate::wire::acl::Rights::SEEN),
            items,
            targets,
            next: 0,
            index: Vec::new(),
            seen_now: Vec::new(),
            failed_cte: false,
            stage: Stage::Index,
            buf: Vec::with_capacity(256),
            ahead: VecDeque::new(),
        };
        if modifiers.vanished && !qresync {
            return Flow::Done(Err(CmdError::bad(
                Some(Code::ClientBug),
                "VANISHED needs ENABLE QRESYNC",
            )));
        }
        self.enabled.condstore |= enables_condstore;
        if let (true, Some(since)) = (modifiers.vanished, modifiers.changed_since) {
            // RFC 7162 3.2.6: UIDs in the set expunged since CHANGEDSINCE.
            let request = StoreRequest::ChangesSince {
                account,
                mailbox: job.mailbox,
                since: ModSeq(since),
            };
            job.stage = Stage::Vanished(set);
            return need(request, job);
        }
        let request = job.index_request();
        need(request, job)
    }

    pub(super) fn fetch_resume(
        &mut self,
        mut job: Box<Fetch>,
        reply: Reply,
        out: &mut Out,
    ) -> Flow {
        match std::mem::replace(&mut job.stage, Stage::Index) {
            Stage::Vanished(set) => match store_reply(reply) {
                Ok(StoreReply::Changes(changes)) => {
                    self.write_vanished(&set, changes, out);
                    let request = job.index_request();
                    Flow::Need(Request::Store(request), Job::Fetch(job))
                }
                Ok(_) => Flow::Done(Err(unexpected())),
                Err(e) => Flow::Done(Err(e)),
            },
            Stage::Index => match store_reply(reply) {
                Ok(StoreReply::Snapshot(snap)) => {
                    job.index = snap.entries;
                    self.fetch_next(job, out)
                }
                Ok(_) => Flow::Done(Err(unexpected())),
                Err(e) => Flow::Done(Err(e)),
            },
            Stage::Message { fallback } => match store_reply(reply) {
                Ok(StoreReply::Message { meta, raw }) => {
                    self.fetch_loaded(job, fallback, meta, raw, out)
                }
                Ok(_) => Flow::Done(Err(unexpected())),
                Err(e) => Flow::Done(Err(e)),
            },
            Stage::Metas => match store_reply(reply) {
                Ok(StoreReply::Metas(metas)) => {
                    job.ahead = metas.into();
                    self.fetch_next(job, out)
                }
                Ok(_) => Flow::Done(Err(unexpected())),
                Err(e) => Flow::Done(Err(e)),
            },
            Stage::Yield => self.fetch_next(job, out),
            Stage::Seen => Flow::Done(self.fetch_seen(&job, reply)),
        }
    }

    /// `VANISHED (EARLIER)` for the UIDs of the set expunged since
    /// CHANGEDSINCE (RFC 7162 3.2.6).
    fn write_vanished(&mut self, set: &MessageSet, changes: Changes, out: &mut Out) {
        let saved: &[Uid] = match self.selected() {
            Ok((_, sel)) => &sel.saved,
            Err(_) => &[],
        };
        let vanished: Vec<Uid> = changes
            .vanished
            .into_iter()
            .filter(|u| match set {
                MessageSet::Set(set) => set.contains(u.0, u32::MAX),
                MessageSet::Saved => saved.binary_search(u).is_ok(),
            })
            .collect();
        if !vanished.is_empty() {
            out.untagged(&format!("VANISHED (EARLIER) {}", uid_set(&vanished)));
        }
    }

    /// Writes messages from `job.next` on until one needs loading, the
    /// output is long enough to hand over, or all are written.
    fn fetch_next(&mut self, mut job: Box<Fetch>, out: &mut Out) -> Flow {
        while job.next < job.targets.len() {
            if out.buf.len() >= SPILL_BYTES {
                job.stage = Stage::Yield;
                return Flow::Need(Request::Yield, Job::Fetch(job));
            }
            let t = job.targets[job.next];
            let Some(pos) = job.entry(t.uid) else {
                // Expunged by another session, not yet announced: skip it
                // (RFC 9051 7.5.2 allows omitting it).
                job.next += 1;
                continue;
            };
            if job
                .changed_since
                .is_some_and(|since| job.index[pos].modseq.0 <= since)
            {
                job.next += 1;
                continue;
            }
            if job.wants.meta && !job.wants.body {
                match job.ahead.pop_front() {
                    // Read ahead for this target (the batch skips what
                    // the loop skips, so they stay in step).
                    Some(meta) if meta.as_ref().is_none_or(|m| m.uid == t.uid) => {
                        match self.loaded(&mut job, false, meta, None, out) {
                            Some(request) => return Flow::Need(request, Job::Fetch(job)),
                            None => continue,
                        }
                    }
                    _ => {
                        let request = job.metas_request();
                        job.stage = Stage::Metas;
                        return Flow::Need(Request::Store(request), Job::Fetch(job));
                    }
                }
            }
            if job.wants.meta || job.wants.body {
                let request = job.message_request(t.uid, job.wants.body);
                job.stage = Stage::Message { fallback: false };
                return Flow::Need(Request::Store(request), Job::Fetch(job));
            }
            self.write_message(&mut job, pos, None, None, None, out);
            job.next += 1;
        }
        if job.seen_now.is_empty() {
            return Flow::Done(job.done());
        }
        let request = StoreRequest::StoreFlags {
            account: job.account,
            mailbox: job.mailbox,
            uids: std::mem::take(&mut job.seen_now),
            op: FlagOp::Add,
            flags: Flags::system(Flags::SEEN),
            unchanged_since: None,
        };
        job.stage = Stage::Seen;
        Flow::Need(Request::Store(request), Job::Fetch(job))
    }

    /// A message's metadata and/or content arrived.
    fn fetch_loaded(
        &mut self,
        mut job: Box<Fetch>,
        fallback: bool,
        meta: Option<MessageMeta>,
        raw: Option<Vec<u8>>,
        out: &mut Out,
    ) -> Flow {
        match self.loaded(&mut job, fallback, meta, raw, out) {
            Some(request) => Flow::Need(request, Job::Fetch(job)),
            None => self.fetch_next(job, out),
        }
    }

    /// Writes `targets[next]` from what was loaded for it and moves on, or
    /// says what else it needs first (its content, to make a summary).
    fn loaded(
        &mut self,
        job: &mut Fetch,
        fallback: bool,
        meta: Option<MessageMeta>,
        raw: Option<Vec<u8>>,
        out: &mut Out,
    ) -> Option<Request> {
        let uid = job.targets[job.next].uid;
        let (Some(pos), true, true) = (
            job.entry(uid),
            raw.is_some() || !(job.wants.body || fallback),
            meta.is_some() || !job.wants.meta,
        ) else {
            // Gone meanwhile: omitted, as above.
            job.next += 1;
            return None;
        };
        let mut summary = if job.wants.summary {
            meta.as_ref().and_then(|m| Summary::decode(&m.summary))
        } else {
            None
        };
        if job.wants.summary && summary.is_none() {
            match (&raw, fallback) {
                // No usable summary (made before the format changed, or by
                // a store without the IMAP summarizer): make one from the
                // message.
                (Some(r), _) => summary = Some(Summary::from_message(r)),
                (None, false) => {
                    let request = job.message_request(uid, true);
                    job.stage = Stage::Message { fallback: true };
                    // Keep the metadata: ask again for both.
                    return Some(Request::Store(request));
                }
                (None, true) => {}
            }
        }
        self.write_message(
            job,
            pos,
            meta.as_ref(),
            summary.as_ref(),
            raw.as_deref(),
            out,
        );
        job.next += 1;
        None
    }

    /// Writes `targets[next]`, whose index entry is `index[pos]`.
    fn write_message(
        &mut self,
        job: &mut Fetch,
        pos: usize,
        meta: Option<&MessageMeta>,
        summary: Option<&Summary>,
        raw: Option<&[u8]>,
        out: &mut Out,
    ) {
        let t = job.targets[job.next];
        let rev2 = self.enabled.rev2;
        let utf8 = self.utf8_names();
        let entry = &job.index[pos];
        let mut recent = false;
        if let Ok((_, sel)) = self.selected() {
            recent = !rev2 && sel.recent.contains(&t.uid);
            // A keyword the client was not told of: FLAGS first (the
            // response may show flags even without FLAGS, for \Seen).
            sel.note_keywords(&entry.flags);
            sel.flush_keywords(out);
        }
        let mut seen_flags;
        let mut flags = &entry.flags;
        let mut newly_seen = false;
        if job.set_seen && !flags.has(Flags::SEEN) {
            seen_flags = flags.clone();
            seen_flags.system |= Flags::SEEN;
            flags = &seen_flags;
            newly_seen = true;
        }
        let account = self.account().ok();
        let m = Message {
            seq: t.seq,
            uid: t.uid,
            entry,
            flags,
            recent,
            meta,
            summary,
            raw,
            ids: account.as_ref().map(|a| &a.ids),
            uidonly: self.enabled.uidonly,
        };
        job.buf.clear();
        let written = fetch_items::write_items(&mut job.buf, &job.items, &m, utf8);
        job.failed_cte |= written.failed_cte;
        if newly_seen && !written.flags {
            job.buf.extend_from_slice(b" FLAGS (");
            super::selected::write_flags(&mut job.buf, flags, recent);
            job.buf.push(b')');
        }
        job.buf.extend_from_slice(b")\r\n");
        out.raw(&job.buf);
        if newly_seen {
            job.seen_now.push(t.uid);
        }
    }

    /// `\Seen` is stored: remember the change as this session's own.
    fn fetch_seen(&mut self, job: &Fetch, reply: Reply) -> CmdResult<Done> {
        let StoreReply::Flags(outcome) = store_reply(reply)? else {
            return Err(unexpected());
        };
        let (_, sel) = self.selected()?;
        for e in &outcome.updated {
            sel.own_change(e);
        }
        job.done()
    }
}

impl Fetch {
    fn entry(&self, uid: Uid) -> Option<usize> {
        self.index.binary_search_by_key(&uid, |e| e.uid).ok()
    }

    /// The index entries of the messages to write (only theirs: a FETCH
    /// of a few messages in a large mailbox copies a few entries).
    fn index_request(&self) -> StoreRequest {
        StoreRequest::Entries {
            account: self.account,
            mailbox: self.mailbox,
            uids: self.targets.iter().map(|t| t.uid).collect(),
        }
    }

    /// Metadata of the next [`META_BATCH`] targets `fetch_next` will
    /// write, skipping what it skips.
    fn metas_request(&self) -> StoreRequest {
        let uids = self.targets[self.next..]
            .iter()
            .filter(|t| {
                self.entry(t.uid).is_some_and(|pos| {
                    self.changed_since
                        .is_none_or(|since| self.index[pos].modseq.0 > since)
                })
            })
            .map(|t| t.uid)
            .take(META_BATCH)
            .collect();
        StoreRequest::Metas {
            account: self.account,
            mailbox: self.mailbox,
            uids,
        }
    }

    fn message_request(&self, uid: Uid, raw: bool) -> StoreRequest {
        StoreRequest::Message {
            account: self.account,
            mailbox: self.mailbox,
            uid,
            meta: self.wants.meta,
            raw,
        }
    }

    fn done(&self) -> CmdResult<Done> {
        if self.failed_cte {
            return Err(CmdError::no(
                Some(Code::UnknownCte),
                "A part has an unknown Content-Transfer-Encoding",
            ));
        }
        Done::ok("FETCH completed")
    }
}

fn need(request: StoreRequest, job: Fetch) -> Flow {
    Flow::Need(Request::Store(request), Job::Fetch(Box::new(job)))
}
