//! SEARCH and UID SEARCH (RFC 9051 6.4.4, 7.3.4; RFC 3501 7.2.5 for the
//! rev1 answer; RFC 4731 ESEARCH; RFC 5032 OLDER/YOUNGER; RFC 7162 MODSEQ;
//! RFC 8514 SAVEDATE).
//!
//! Each message is evaluated against the key tree; what a key needs is
//! loaded lazily and only when the tree asks for it: flags, UIDs, sizes
//! and modseqs from the in-memory index; dates from `Store::meta`; headers
//! and text from the message itself, parsed with mail-parser (decoded,
//! case-insensitive substring match on UTF-8, as RFC 9051 6.4.4 asks).

use super::{Done, Session};
use crate::error::CmdResult;
use crate::wire::command::{Date, SearchKey, SearchReturn, Tag};
use crate::wire::response::{Out, quoted};
use chrono::{DateTime, NaiveDate, Utc};
use mail_parser::{Address, MessageParser};
use sealpost_store::{Flags, MessageEntry, MessageMeta, Uid};
use std::collections::HashMap;

/// What evaluating a key needs beyond the index.
#[derive(Default, Clone, Copy)]
struct Needs {
    meta: bool,
    raw: bool,
    modseq: bool,
}

fn needs(key: &SearchKey, n: &mut Needs) {
    use SearchKey as S;
    match key {
        S::Before(_) | S::On(_) | S::Since(_) | S::Older(_) | S::Younger(_) => n.meta = true,
        S::SaveDateBefore(_) | S::SaveDateOn(_) | S::SaveDateSince(_) => n.meta = true,
        S::Bcc(_)
        | S::Body(_)
        | S::Cc(_)
        | S::From(_)
        | S::Header(..)
        | S::Subject(_)
        | S::Text(_)
        | S::To(_)
        | S::SentBefore(_)
        | S::SentOn(_)
        | S::SentSince(_) => n.raw = true,
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

/// One message as a search sees it.
struct Candidate<'a> {
    seq: u32,
    entry: &'a MessageEntry,
    recent: bool,
    meta: Option<MessageMeta>,
    raw: Option<Vec<u8>>,
    max_seq: u32,
    max_uid: u32,
    now: i64,
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    hay.to_lowercase().contains(&needle.to_lowercase())
}

fn day(unix: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp(unix, 0).map(|d| d.date_naive())
}

fn address_matches(a: Option<&Address>, raw: Option<&str>, needle: &str) -> bool {
    if raw.is_some_and(|r| contains_ci(r, needle)) {
        return true;
    }
    a.is_some_and(|a| {
        a.iter().any(|x| {
            x.name().is_some_and(|n| contains_ci(n, needle))
                || x.address().is_some_and(|n| contains_ci(n, needle))
        })
    })
}

fn text_matches(raw: &[u8], needle: &str, with_headers: bool) -> bool {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return false;
    };
    if with_headers
        && msg
            .headers_raw()
            .any(|(n, v)| contains_ci(n, needle) || contains_ci(v, needle))
    {
        return true;
    }
    if with_headers && msg.subject().is_some_and(|s| contains_ci(s, needle)) {
        return true;
    }
    (0..msg.text_body_count()).any(|i| msg.body_text(i).is_some_and(|t| contains_ci(&t, needle)))
        || (0..msg.html_body_count())
            .any(|i| msg.body_html(i).is_some_and(|t| contains_ci(&t, needle)))
}

fn eval(key: &SearchKey, c: &Candidate) -> bool {
    use SearchKey as S;
    let f = &c.entry.flags;
    let internal = || c.meta.as_ref().map(|m| m.internal_date).unwrap_or(0);
    let saved = || c.meta.as_ref().map(|m| m.save_date).unwrap_or(0);
    let parsed = || {
        c.raw
            .as_deref()
            .and_then(|r| MessageParser::default().parse(r))
    };
    let sent_day = || {
        parsed().and_then(|m| {
            m.date()
                .and_then(|d| NaiveDate::from_ymd_opt(d.year as i32, d.month as u32, d.day as u32))
        })
    };
    let header = |name: &str, needle: &str| -> bool {
        let Some(m) = parsed() else { return false };
        let lname = name.to_ascii_lowercase();
        let by_addr = match lname.as_str() {
            "from" => address_matches(m.from(), None, needle),
            "to" => address_matches(m.to(), None, needle),
            "cc" => address_matches(m.cc(), None, needle),
            "bcc" => address_matches(m.bcc(), None, needle),
            "subject" => m.subject().is_some_and(|s| contains_ci(s, needle)),
            _ => false,
        };
        by_addr
            || m.headers_raw()
                .any(|(n, v)| n.eq_ignore_ascii_case(name) && contains_ci(v.trim(), needle))
    };
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
        S::SentBefore(d) => sent_day().is_some_and(|x| x < *d),
        S::SentOn(d) => sent_day().is_some_and(|x: Date| x == *d),
        S::SentSince(d) => sent_day().is_some_and(|x| x >= *d),
        S::From(s) => header("From", s),
        S::To(s) => header("To", s),
        S::Cc(s) => header("Cc", s),
        S::Bcc(s) => header("Bcc", s),
        S::Subject(s) => header("Subject", s),
        S::Header(name, s) => header(name, s),
        S::Body(s) => c.raw.as_deref().is_some_and(|r| text_matches(r, s, false)),
        S::Text(s) => c.raw.as_deref().is_some_and(|r| text_matches(r, s, true)),
        S::Not(k) => !eval(k, c),
        S::Or(a, b) => eval(a, c) || eval(b, c),
        S::And(ks) => ks.iter().all(|k| eval(k, c)),
    }
}

impl Session {
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
        if n.modseq {
            self.enabled.condstore = true;
        }
        let rev2 = self.enabled.rev2;
        let (account, sel) = self.selected()?;
        let (aid, mid) = (account.id, sel.info.id);
        let recent = sel.recent.clone();
        let known: Vec<Uid> = sel.uids.clone();
        let snap = self.blocking(move |s| s.snapshot(aid, mid)).await?;
        let index: HashMap<Uid, MessageEntry> =
            snap.entries.into_iter().map(|e| (e.uid, e)).collect();
        let now = chrono::Utc::now().timestamp();
        let max_seq = known.len() as u32;
        let max_uid = known.last().map(|u| u.0).unwrap_or(0);
        let mut hits: Vec<(u32, Uid, u64)> = Vec::new();
        for (i, u) in known.iter().enumerate() {
            let Some(entry) = index.get(u) else { continue };
            let u = *u;
            let meta = if n.meta {
                self.blocking(move |s| s.meta(aid, mid, u)).await?
            } else {
                None
            };
            let raw = if n.raw {
                self.blocking(move |s| s.read(aid, mid, u)).await?
            } else {
                None
            };
            let c = Candidate {
                seq: i as u32 + 1,
                entry,
                recent: recent.contains(&u),
                meta,
                raw,
                max_seq,
                max_uid,
                now,
            };
            if eval(&key, &c) {
                hits.push((c.seq, u, entry.modseq.0));
            }
        }
        let ids: Vec<u32> = hits.iter().map(|h| if uid { h.1.0 } else { h.0 }).collect();
        let max_modseq = hits.iter().map(|h| h.2).max();
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
