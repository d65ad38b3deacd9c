//! SEARCH and UID SEARCH (RFC 9051 6.4.4, 7.3.4; RFC 3501 7.2.5 for the
//! rev1 answer; RFC 4731 ESEARCH; RFC 5182 SEARCHRES: `RETURN (SAVE)` and
//! `$`; RFC 5032 OLDER/YOUNGER; RFC 7162 MODSEQ; RFC 8514 SAVEDATE).
//!
//! Each message is evaluated against the key tree; what a key needs is
//! loaded lazily and only when the tree asks for it: flags, UIDs, sizes
//! and modseqs from the in-memory index; dates from `Store::meta`; headers
//! fields from the message's summary (`message::Summary`, made at
//! delivery); text and other header fields from the message itself
//! (`message::search_text`: decoded, case-insensitive, UTF-8, as RFC 9051
//! 6.4.4 asks).

use super::{Done, Session};
use crate::error::CmdResult;
use crate::mailstore::MailStore;
use crate::message::{Summary, TextWhere, search_text};
use crate::wire::command::{Date, SearchKey, SearchReturn, Tag};
use crate::wire::response::{Out, quoted};
use chrono::{DateTime, NaiveDate, Utc};
use sealpost_store::{Flags, MessageEntry, MessageMeta, Uid};
use std::collections::HashMap;

/// What evaluating a key needs beyond the index.
#[derive(Default, Clone, Copy)]
struct Needs {
    meta: bool,
    summary: bool,
    raw: bool,
    modseq: bool,
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
    meta: Option<MessageMeta>,
    summary: Option<Summary>,
    raw: Option<Vec<u8>>,
    max_seq: u32,
    max_uid: u32,
    now: i64,
    /// `$` (RFC 5182), ascending UIDs.
    saved: &'a [Uid],
}

fn day(unix: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp(unix, 0).map(|d| d.date_naive())
}

impl Candidate<'_> {
    fn header(&self, name: &str, needle: &str) -> bool {
        if let Some(hit) = self
            .summary
            .as_ref()
            .and_then(|s| s.search_header(name, needle))
        {
            return hit;
        }
        self.raw
            .as_deref()
            .is_some_and(|r| search_text(r, needle, TextWhere::Header(name.to_string())))
    }

    fn sent_day(&self) -> Option<NaiveDate> {
        // RFC 9051 6.4.4: the Date header's own date, time and zone disregarded.
        self.summary.as_ref().and_then(Summary::sent_day)
    }
}

fn eval(key: &SearchKey, c: &Candidate) -> bool {
    use SearchKey as S;
    let f = &c.entry.flags;
    let internal = || c.meta.as_ref().map(|m| m.internal_date).unwrap_or(0);
    let saved = || c.meta.as_ref().map(|m| m.save_date).unwrap_or(0);
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
        S::Body(s) => c
            .raw
            .as_deref()
            .is_some_and(|r| search_text(r, s, TextWhere::Body)),
        S::Text(s) => c
            .raw
            .as_deref()
            .is_some_and(|r| search_text(r, s, TextWhere::Text)),
        S::Not(k) => !eval(k, c),
        S::Or(a, b) => eval(a, c) || eval(b, c),
        S::And(ks) => ks.iter().all(|k| eval(k, c)),
    }
}

/// A message that matched: sequence number, UID, modseq.
pub(crate) struct Hit {
    pub seq: u32,
    pub uid: Uid,
    pub modseq: u64,
}

impl<S: MailStore> Session<S> {
    /// The selected mailbox's messages that match `key`, ascending.
    pub(crate) async fn matching(&mut self, key: &SearchKey) -> CmdResult<Vec<Hit>> {
        let mut n = Needs::default();
        needs(key, &mut n);
        if n.modseq {
            self.enabled.condstore = true;
        }
        let (account, sel) = self.selected()?;
        let (aid, mid) = (account.id, sel.info.id);
        let recent = sel.recent.clone();
        let known: Vec<Uid> = sel.uids.clone();
        let saved: Vec<Uid> = sel.saved.clone();
        let snap = self.blocking(move |s| s.snapshot(aid, mid)).await?;
        let index: HashMap<Uid, MessageEntry> =
            snap.entries.into_iter().map(|e| (e.uid, e)).collect();
        let now = chrono::Utc::now().timestamp();
        let max_seq = known.len() as u32;
        let max_uid = known.last().map(|u| u.0).unwrap_or(0);
        let mut hits = Vec::new();
        for (i, u) in known.iter().enumerate() {
            let Some(entry) = index.get(u) else { continue };
            let u = *u;
            let meta = if n.meta || n.summary {
                self.ctx.store.meta(aid, mid, u)?
            } else {
                None
            };
            let mut summary = if n.summary {
                meta.as_ref().and_then(|m| Summary::decode(&m.summary))
            } else {
                None
            };
            let raw = if n.raw || (n.summary && summary.is_none()) {
                self.blocking(move |s| s.read(aid, mid, u)).await?
            } else {
                None
            };
            if n.summary && summary.is_none() {
                summary = raw.as_deref().map(Summary::from_message);
            }
            let c = Candidate {
                seq: i as u32 + 1,
                entry,
                recent: recent.contains(&u),
                meta,
                summary,
                raw,
                max_seq,
                max_uid,
                now,
                saved: &saved,
            };
            if eval(key, &c) {
                hits.push(Hit {
                    seq: c.seq,
                    uid: u,
                    modseq: entry.modseq.0,
                });
            }
        }
        Ok(hits)
    }

    pub(super) async fn search(
        &mut self,
        tag: &Tag,
        uid: bool,
        ret: SearchReturn,
        key: SearchKey,
        out: &mut Out,
    ) -> CmdResult<Done> {
        let mut n = Needs::default();
        needs(&key, &mut n);
        let rev2 = self.enabled.rev2;
        let hits = match self.matching(&key).await {
            Ok(h) => h,
            Err(e) => {
                // RFC 5182 2.1: a failed SAVE leaves `$` empty.
                if ret.save
                    && let Ok((_, sel)) = self.selected()
                {
                    sel.saved.clear();
                }
                return Err(e);
            }
        };
        if ret.save {
            // RFC 5182 2.4: with MIN and/or MAX but neither ALL nor COUNT,
            // only those messages are saved; otherwise all that matched.
            let only_ends = (ret.min || ret.max) && !(ret.all || ret.count);
            let mut saved: Vec<Uid> = if only_ends {
                let mut ends = Vec::new();
                if let (true, Some(h)) = (ret.min, hits.first()) {
                    ends.push(h.uid);
                }
                if let (true, Some(h)) = (ret.max, hits.last()) {
                    ends.push(h.uid);
                }
                ends
            } else {
                hits.iter().map(|h| h.uid).collect()
            };
            saved.dedup();
            let (_, sel) = self.selected()?;
            sel.saved = saved;
            if !(ret.min || ret.max || ret.all || ret.count) {
                // SAVE alone: no ESEARCH response (RFC 5182 2.4).
                return Done::ok("SEARCH completed, result saved");
            }
        }
        let ids: Vec<u32> = hits
            .iter()
            .map(|h| if uid { h.uid.0 } else { h.seq })
            .collect();
        let max_modseq = hits.iter().map(|h| h.modseq).max();
        if ret.extended || rev2 {
            let ret = if ret.extended {
                ret
            } else {
                SearchReturn {
                    extended: true,
                    all: true,
                    ..SearchReturn::default()
                }
            };
            let mut line = format!("ESEARCH (TAG {})", quoted(tag.as_str()));
            if uid {
                line.push_str(" UID");
            }
            if let (true, Some(m)) = (ret.min, ids.first()) {
                line.push_str(&format!(" MIN {m}"));
            }
            if let (true, Some(m)) = (ret.max, ids.last()) {
                line.push_str(&format!(" MAX {m}"));
            }
            if ret.count {
                line.push_str(&format!(" COUNT {}", ids.len()));
            }
            if ret.all && !ids.is_empty() {
                let as_uids: Vec<Uid> = ids.iter().map(|&x| Uid(x)).collect();
                line.push_str(&format!(" ALL {}", super::messages::uid_set(&as_uids)));
            }
            if let (true, Some(m)) = (n.modseq, max_modseq) {
                line.push_str(&format!(" MODSEQ {m}"));
            }
            out.untagged(&line);
        } else {
            let mut line = String::from("SEARCH");
            for id in &ids {
                line.push_str(&format!(" {id}"));
            }
            if let (true, Some(m)) = (n.modseq, max_modseq) {
                line.push_str(&format!(" (MODSEQ {m})"));
            }
            out.untagged(&line);
        }
        Done::ok("SEARCH completed")
    }
}
