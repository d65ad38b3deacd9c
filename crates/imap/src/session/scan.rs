//! Evaluating a search key over the selected mailbox (RFC 9051 6.4.4;
//! RFC 5032 OLDER/YOUNGER; RFC 7162 MODSEQ; RFC 8514 SAVEDATE; RFC 5182
//! `$`), for SEARCH, SORT and THREAD.
//!
//! A [`Scan`] walks the messages the client knows, in sequence order. What
//! a key needs is loaded only when the key asks for it: flags, UIDs,
//! sizes and modseqs come from the index ([`StoreRequest::Snapshot`]);
//! dates from the message's metadata; header fields from its summary
//! (`message::Summary`, made at delivery); text and other header fields
//! from its content (`message::search_text`: decoded, case-insensitive,
//! UTF-8, as RFC 9051 6.4.4 asks). Dates and summaries come in batches
//! ([`StoreRequest::Metas`], [`super::fetch::META_BATCH`] messages per
//! store read); a message whose content is needed is one
//! [`StoreRequest::Message`] each.

use super::Session;
use super::objectid::ObjectKey;
use super::selected::Selected;
use crate::error::CmdResult;
use crate::message::{Summary, TextWhere, search_text};
use crate::wire::command::{Date, SearchKey};
use chrono::{DateTime, NaiveDate, Utc};
use sealpost_store::{AccountId, Flags, MailboxId, MessageEntry, MessageMeta, Uid};

/// What evaluating a key needs beyond the index.
#[derive(Default, Clone, Copy)]
pub(crate) struct Needs {
    pub meta: bool,
    pub summary: bool,
    pub raw: bool,
    /// The key has MODSEQ (the answer then carries the highest modseq).
    pub modseq: bool,
}

impl Needs {
    pub(crate) fn of(key: &SearchKey) -> Needs {
        let mut n = Needs::default();
        needs(key, &mut n);
        n
    }
}

fn needs(key: &SearchKey, n: &mut Needs) {
    use SearchKey as S;
    match key {
        S::Before(_) | S::On(_) | S::Since(_) | S::Older(_) | S::Younger(_) => n.meta = true,
        S::SaveDateBefore(_) | S::SaveDateOn(_) | S::SaveDateSince(_) => n.meta = true,
        S::Bcc(_)
        | S::Cc(_)
        | S::From(_)
        | S::Subject(_)
        | S::To(_)
        | S::SentBefore(_)
        | S::SentOn(_)
        | S::SentSince(_) => n.summary = true,
        S::Header(name, _) => {
            n.summary = true;
            if !in_summary(name) {
                n.raw = true;
            }
        }
        S::Body(_) | S::Text(_) => n.raw = true,
        S::EmailId(_) => n.meta = true,
        S::ThreadId(_) => {
            n.meta = true;
            n.summary = true;
        }
        S::ModSeq(_) => n.modseq = true,
        S::Not(k) => needs(k, n),
        S::Or(a, b) => {
            needs(a, n);
            needs(b, n);
        }
        S::And(ks) => ks.iter().for_each(|k| needs(k, n)),
        _ => {}
    }
}

/// Header fields `Summary::search_header` answers without the message.
fn in_summary(field: &str) -> bool {
    [
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "bcc",
    ]
    .iter()
    .any(|f| f.eq_ignore_ascii_case(field))
}

/// One message as a search sees it.
struct Candidate<'a> {
    seq: u32,
    entry: &'a MessageEntry,
    recent: bool,
    meta: Option<&'a MessageMeta>,
    summary: Option<&'a Summary>,
    raw: Option<&'a [u8]>,
    max_seq: u32,
    max_uid: u32,
    now: i64,
    /// `$` (RFC 5182), ascending UIDs.
    saved: &'a [Uid],
    /// The account's object id key (EMAILID, THREADID).
    ids: Option<&'a ObjectKey>,
}

fn day(unix: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp(unix, 0).map(|d| d.date_naive())
}

impl Candidate<'_> {
    fn header(&self, name: &str, needle: &str) -> bool {
        if let Some(hit) = self.summary.and_then(|s| s.search_header(name, needle)) {
            return hit;
        }
        self.raw
            .is_some_and(|r| search_text(r, needle, TextWhere::Header(name.to_string())))
    }

    fn sent_day(&self) -> Option<NaiveDate> {
        // RFC 9051 6.4.4: the Date header's own date, time and zone disregarded.
        self.summary.and_then(Summary::sent_day)
    }
}

fn eval(key: &SearchKey, c: &Candidate) -> bool {
    use SearchKey as S;
    let f = &c.entry.flags;
    let internal = || c.meta.map(|m| m.internal_date).unwrap_or(0);
    let saved = || c.meta.map(|m| m.save_date).unwrap_or(0);
    match key {
        S::All => true,
        S::Answered => f.has(Flags::ANSWERED),
        S::Deleted => f.has(Flags::DELETED),
        S::Draft => f.has(Flags::DRAFT),
        S::Flagged => f.has(Flags::FLAGGED),
        S::Seen => f.has(Flags::SEEN),
        S::Unanswered => !f.has(Flags::ANSWERED),
        S::Undeleted => !f.has(Flags::DELETED),
        S::Undraft => !f.has(Flags::DRAFT),
        S::Unflagged => !f.has(Flags::FLAGGED),
        S::Unseen => !f.has(Flags::SEEN),
        S::Keyword(k) => f.has_keyword(k),
        S::Unkeyword(k) => !f.has_keyword(k),
        S::Recent => c.recent,
        S::New => c.recent && !f.has(Flags::SEEN),
        S::Old => !c.recent,
        S::Larger(n) => c.entry.size > *n,
        S::Smaller(n) => c.entry.size < *n,
        S::Uid(set) => set.contains(c.entry.uid.0, c.max_uid),
        S::SequenceSet(set) => set.contains(c.seq, c.max_seq),
        S::ModSeq(m) => c.entry.modseq.0 >= *m,
        S::Before(d) => day(internal()).is_some_and(|x| x < *d),
        S::On(d) => day(internal()).is_some_and(|x| x == *d),
        S::Since(d) => day(internal()).is_some_and(|x| x >= *d),
        S::Older(s) => internal() <= c.now - i64::from(*s),
        S::Younger(s) => internal() >= c.now - i64::from(*s),
        S::SaveDateBefore(d) => day(saved()).is_some_and(|x| x < *d),
        S::SaveDateOn(d) => day(saved()).is_some_and(|x| x == *d),
        S::SaveDateSince(d) => day(saved()).is_some_and(|x| x >= *d),
        S::SaveDateSupported => true,
        S::Saved => c.saved.binary_search(&c.entry.uid).is_ok(),
        S::SentBefore(d) => c.sent_day().is_some_and(|x| x < *d),
        S::SentOn(d) => c.sent_day().is_some_and(|x: Date| x == *d),
        S::SentSince(d) => c.sent_day().is_some_and(|x| x >= *d),
        S::From(s) => c.header("From", s),
        S::To(s) => c.header("To", s),
        S::Cc(s) => c.header("Cc", s),
        S::Bcc(s) => c.header("Bcc", s),
        S::Subject(s) => c.header("Subject", s),
        S::Header(name, s) => c.header(name, s),
        S::Body(s) => c.raw.is_some_and(|r| search_text(r, s, TextWhere::Body)),
        S::Text(s) => c.raw.is_some_and(|r| search_text(r, s, TextWhere::Text)),
        S::Not(k) => !eval(k, c),
        S::Or(a, b) => eval(a, c) || eval(b, c),
        S::And(ks) => ks.iter().all(|k| eval(k, c)),
        S::EmailId(id) => c.ids.zip(c.meta).is_some_and(|(k, m)| k.email(m) == *id),
        S::ThreadId(id) => match (c.ids, c.meta, c.summary) {
            (Some(k), Some(m), Some(s)) => k.thread(m, s) == *id,
            _ => false,
        },
    }
}

/// A message that matched: sequence number, UID, modseq, and (for SORT
/// and THREAD) what they order by.
pub(crate) struct Hit {
    pub seq: u32,
    pub uid: Uid,
    pub modseq: u64,
    pub keys: Option<SortKeys>,
}

/// What sorting and threading know about one message.
pub(crate) struct SortKeys {
    pub summary: Summary,
    pub internal: i64,
    pub size: u32,
}

/// A scan in progress: see the module docs.
pub(crate) struct Scan {
    pub account: AccountId,
    pub mailbox: MailboxId,
    pub key: SearchKey,
    pub needs: Needs,
    /// Keep each hit's sort keys (SORT, THREAD): every message's metadata
    /// and summary is read.
    keyed: bool,
    /// The index, sorted by UID.
    index: Vec<MessageEntry>,
    /// The next position in the session's UID map.
    pos: usize,
    now: i64,
    pub hits: Vec<Hit>,
    /// Messages to examine (for INPROGRESS, `super::progress`).
    pub goal: u32,
    /// Examine only these messages, ascending (MESSAGELIMIT's share, the
    /// messages an update context must look at again); the others are
    /// neither hits nor loaded.
    pub only: Option<Vec<Uid>>,
    /// Waiting for the message at `pos` (`raw` for a missing summary).
    pending: Option<bool>,
    /// Waiting for a batch of metadata.
    pending_batch: bool,
    /// Metadata read ahead for the messages from `pos` on that are
    /// examined, in order.
    ahead: std::collections::VecDeque<Option<MessageMeta>>,
    /// The account's object id key (SEARCH EMAILID, THREADID).
    ids: Option<ObjectKey>,
}

/// What a scan does next.
pub(crate) enum ScanStep {
    /// Ask the store this.
    Need(super::StoreRequest),
    /// Every message is evaluated; the hits are in `Scan::hits`.
    Finished,
}

impl Scan {
    pub(crate) fn new(account: AccountId, mailbox: MailboxId, key: SearchKey, keyed: bool) -> Scan {
        let mut needs = Needs::of(&key);
        if keyed {
            needs.meta = true;
            needs.summary = true;
        }
        Scan {
            account,
            mailbox,
            key,
            needs,
            keyed,
            index: Vec::new(),
            pos: 0,
            goal: 0,
            only: None,
            now: Utc::now().timestamp(),
            hits: Vec::new(),
            pending: None,
            pending_batch: false,
            ahead: Default::default(),
            ids: None,
        }
    }

    /// The first request: the index.
    pub(crate) fn start(&self) -> super::StoreRequest {
        super::StoreRequest::Snapshot {
            account: self.account,
            mailbox: self.mailbox,
        }
    }

    /// Takes in a reply and goes on.
    pub(crate) fn resume(
        &mut self,
        sel: &Selected,
        reply: super::StoreReply,
    ) -> CmdResult<ScanStep> {
        use super::StoreReply as R;
        if std::mem::take(&mut self.pending_batch) {
            let R::Metas(metas) = reply else {
                return Err(super::unexpected());
            };
            self.ahead = metas.into();
            return self.advance(sel);
        }
        match (reply, self.pending.take()) {
            (R::Snapshot(snap), None) => {
                self.index = snap.entries;
                self.advance(sel)
            }
            (R::Message { meta, raw }, Some(fallback)) => {
                self.evaluate_loaded(sel, meta, raw, fallback)
            }
            _ => Err(super::unexpected()),
        }
    }

    /// Messages examined so far.
    pub(crate) fn done(&self) -> u32 {
        self.pos as u32
    }

    fn entry(&self, uid: Uid) -> Option<usize> {
        self.index.binary_search_by_key(&uid, |e| e.uid).ok()
    }

    /// Whether the message at sequence position `pos` is examined.
    fn examined(&self, sel: &Selected, pos: usize) -> Option<usize> {
        let uid = sel.uids[pos];
        if self
            .only
            .as_ref()
            .is_some_and(|o| o.binary_search(&uid).is_err())
        {
            return None;
        }
        self.entry(uid)
    }

    /// Evaluates messages from `pos` on until one needs loading.
    fn advance(&mut self, sel: &Selected) -> CmdResult<ScanStep> {
        let n = self.needs;
        while self.pos < sel.uids.len() {
            let uid = sel.uids[self.pos];
            let Some(i) = self.examined(sel, self.pos) else {
                self.pos += 1;
                continue;
            };
            if (n.meta || n.summary) && !n.raw {
                match self.ahead.pop_front() {
                    // Read ahead for this message (the batch skips what
                    // this loop skips, so they stay in step).
                    Some(meta) if meta.as_ref().is_none_or(|m| m.uid == uid) => {
                        if let Some(step) = self.consider(sel, i, meta, None, false) {
                            return Ok(step);
                        }
                        continue;
                    }
                    _ => {
                        self.pending_batch = true;
                        return Ok(ScanStep::Need(self.metas_request(sel)));
                    }
                }
            }
            if n.meta || n.summary || n.raw {
                self.pending = Some(false);
                return Ok(ScanStep::Need(self.message_request(uid, n.raw)));
            }
            self.evaluate(sel, i, None, None, None);
            self.pos += 1;
        }
        Ok(ScanStep::Finished)
    }

    /// Metadata of the next messages `advance` examines.
    fn metas_request(&self, sel: &Selected) -> super::StoreRequest {
        let uids = (self.pos..sel.uids.len())
            .filter(|&p| self.examined(sel, p).is_some())
            .map(|p| sel.uids[p])
            .take(super::fetch::META_BATCH)
            .collect();
        super::StoreRequest::Metas {
            account: self.account,
            mailbox: self.mailbox,
            uids,
        }
    }

    fn message_request(&self, uid: Uid, raw: bool) -> super::StoreRequest {
        super::StoreRequest::Message {
            account: self.account,
            mailbox: self.mailbox,
            uid,
            meta: self.needs.meta || self.needs.summary,
            raw,
        }
    }

    fn evaluate_loaded(
        &mut self,
        sel: &Selected,
        meta: Option<MessageMeta>,
        raw: Option<Vec<u8>>,
        fallback: bool,
    ) -> CmdResult<ScanStep> {
        let uid = sel.uids[self.pos];
        let Some(i) = self.entry(uid) else {
            self.pos += 1;
            return self.advance(sel);
        };
        match self.consider(sel, i, meta, raw, fallback) {
            Some(step) => Ok(step),
            None => self.advance(sel),
        }
    }

    /// Evaluates the message at `pos` (index entry `i`) from what was
    /// loaded and moves on, or says what else it needs (its content, when
    /// its summary is unusable).
    fn consider(
        &mut self,
        sel: &Selected,
        i: usize,
        meta: Option<MessageMeta>,
        raw: Option<Vec<u8>>,
        fallback: bool,
    ) -> Option<ScanStep> {
        let uid = sel.uids[self.pos];
        let mut summary = if self.needs.summary {
            meta.as_ref().and_then(|m| Summary::decode(&m.summary))
        } else {
            None
        };
        if self.needs.summary && summary.is_none() {
            match &raw {
                Some(r) => summary = Some(Summary::from_message(r)),
                None if !fallback && meta.is_some() => {
                    // No usable summary: make it from the message.
                    self.pending = Some(true);
                    return Some(ScanStep::Need(self.message_request(uid, true)));
                }
                None => {}
            }
        }
        if self.keyed && meta.is_none() {
            // Gone meanwhile: nothing to sort it by.
            self.pos += 1;
            return None;
        }
        self.evaluate(sel, i, meta.as_ref(), summary, raw.as_deref());
        self.pos += 1;
        None
    }

    fn evaluate(
        &mut self,
        sel: &Selected,
        i: usize,
        meta: Option<&MessageMeta>,
        summary: Option<Summary>,
        raw: Option<&[u8]>,
    ) {
        let entry = &self.index[i];
        let matched = {
            let c = Candidate {
                seq: self.pos as u32 + 1,
                entry,
                recent: sel.recent.contains(&entry.uid),
                meta,
                summary: summary.as_ref(),
                raw,
                max_seq: sel.uids.len() as u32,
                max_uid: sel.uids.last().map(|u| u.0).unwrap_or(0),
                now: self.now,
                saved: &sel.saved,
                ids: self.ids.as_ref(),
            };
            eval(&self.key, &c)
        };
        if !matched {
            return;
        }
        let keys = match (self.keyed, meta) {
            (true, Some(m)) => Some(SortKeys {
                summary: summary.unwrap_or_else(|| Summary::from_message(b"")),
                internal: m.internal_date,
                size: m.size,
            }),
            _ => None,
        };
        self.hits.push(Hit {
            seq: self.pos as u32 + 1,
            uid: entry.uid,
            modseq: entry.modseq.0,
            keys,
        });
    }
}

impl Session {
    /// Starts a scan of the selected mailbox (SEARCH, SORT, THREAD).
    pub(crate) fn scan(&mut self, key: SearchKey, keyed: bool) -> CmdResult<Scan> {
        let needs = Needs::of(&key);
        if needs.modseq {
            self.enabled.condstore = true;
        }
        let ids = self.account()?.ids;
        let (account, sel) = self.selected()?;
        let mut scan = Scan::new(account, sel.info.id, key, keyed);
        scan.ids = Some(ids);
        scan.goal = sel.uids.len() as u32;
        Ok(scan)
    }

    /// Feeds a reply to a scan.
    pub(crate) fn scan_resume(
        &mut self,
        scan: &mut Scan,
        reply: super::Reply,
    ) -> CmdResult<ScanStep> {
        let reply = super::store_reply(reply)?;
        let (_, sel) = self.selected()?;
        scan.resume(sel, reply)
    }
}
