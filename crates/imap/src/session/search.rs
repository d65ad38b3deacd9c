//! SEARCH and UID SEARCH (RFC 9051 6.4.4, 7.3.4; RFC 3501 7.2.5 for the
//! rev1 answer; RFC 4731 ESEARCH; RFC 5182 SEARCHRES: `RETURN (SAVE)` and
//! `$`; RFC 7162 MODSEQ; RFC 9394 PARTIAL; RFC 5267 CONTEXT=SEARCH's
//! UPDATE, kept by `super::context`). The messages are chosen by a
//! [`Scan`] (`super::scan`); this file answers with them.
//!
//! PARTIAL pages the ascending results from either end (`1:50`,
//! `-1:-50`) and answers `PARTIAL (<range as asked> <set or NIL>)`. With
//! SAVE, a page is treated as RFC 5182 2.4 treats MIN and MAX: unless ALL
//! or COUNT is also asked for, `$` holds what was returned (the page, and
//! the ends asked for), so a client can page through a search and fetch
//! `$` each time; MODSEQ is then the highest of those messages.

use super::progress::Progress;
use super::scan::{Hit, Scan, ScanStep};
use super::selected::uid_set;
use super::{Done, Flow, Job, Reply, Request, Session};
use crate::error::CmdResult;
use crate::wire::command::{SearchKey, SearchReturn, Tag};
use crate::wire::response::{Out, quoted};
use sealpost_store::Uid;

/// A SEARCH in progress.
pub(crate) struct SearchJob {
    uid: bool,
    ret: SearchReturn,
    scan: Scan,
    progress: Progress,
}

impl Session {
    pub(super) fn search(
        &mut self,
        tag: &Tag,
        uid: bool,
        ret: SearchReturn,
        key: SearchKey,
    ) -> Flow {
        if let Err(e) = self.check_update(tag, Some(&ret)) {
            return Flow::Done(Err(e));
        }
        let limit = self.config.message_limit;
        let only = match self
            .selected()
            .and_then(|(_, sel)| sel.search_within_limit(limit, uid, &key))
        {
            Ok(o) => o,
            Err(e) => return Flow::Done(Err(self.search_failed(&ret, e))),
        };
        match self.scan(key, false) {
            Ok(mut scan) => {
                scan.only = only;
                let request = scan.start();
                let progress = Progress::new(self.config.progress_interval);
                let job = SearchJob {
                    uid,
                    ret,
                    scan,
                    progress,
                };
                Flow::Need(Request::Store(request), Job::Search(Box::new(job)))
            }
            Err(e) => Flow::Done(Err(self.search_failed(&ret, e))),
        }
    }

    pub(super) fn search_resume(
        &mut self,
        tag: &Tag,
        mut job: Box<SearchJob>,
        reply: Reply,
        out: &mut Out,
    ) -> Flow {
        // A progress note was written: on with what it held back.
        if let Some(request) = job.progress.unpark() {
            return Flow::Need(Request::Store(request), Job::Search(job));
        }
        match self.scan_resume(&mut job.scan, reply) {
            Ok(ScanStep::Need(request)) => {
                let (done, goal) = (job.scan.done(), job.scan.goal);
                let next = job.progress.step(tag, done, goal, request, out);
                Flow::Need(next, Job::Search(job))
            }
            Ok(ScanStep::Finished) => {
                let SearchJob { uid, ret, scan, .. } = *job;
                let update = ret.update;
                let result: Vec<Uid> = scan.hits.iter().map(|h| h.uid).collect();
                let done = self.answer_search(tag, uid, ret, scan.needs.modseq, scan.hits, out);
                if update && done.is_ok() {
                    // RFC 5267 4.3: kept current from now on.
                    self.add_context(tag, uid, scan.key, None, result, out);
                }
                Flow::Done(done)
            }
            Err(e) => Flow::Done(Err(self.search_failed(&job.ret, e))),
        }
    }

    /// RFC 5182 2.1: a failed SAVE leaves `$` empty.
    fn search_failed(
        &mut self,
        ret: &SearchReturn,
        e: crate::error::CmdError,
    ) -> crate::error::CmdError {
        if ret.save
            && let Ok((_, sel)) = self.selected()
        {
            sel.saved.clear();
        }
        e
    }

    fn answer_search(
        &mut self,
        tag: &Tag,
        uid: bool,
        ret: SearchReturn,
        modseq: bool,
        hits: Vec<Hit>,
        out: &mut Out,
    ) -> CmdResult<Done> {
        let rev2 = self.enabled.rev2;
        // What the response names, when it is not every match: MIN, MAX
        // and a PARTIAL page (RFC 5182 2.4, RFC 9394 3.1), ascending.
        let page = ret.partial.map(|p| p.page(&hits)).unwrap_or(&[]);
        let only_some = (ret.min || ret.max || ret.partial.is_some()) && !(ret.all || ret.count);
        let returned: Vec<&Hit> = {
            let mut r: Vec<&Hit> = Vec::new();
            if let (true, Some(h)) = (ret.min, hits.first()) {
                r.push(h);
            }
            r.extend(page.iter());
            if let (true, Some(h)) = (ret.max, hits.last()) {
                r.push(h);
            }
            r.sort_by_key(|h| h.uid);
            r.dedup_by_key(|h| h.uid);
            r
        };
        if ret.save {
            // RFC 5182 2.4: with MIN and/or MAX but neither ALL nor COUNT,
            // only those messages are saved; otherwise all that matched.
            // A PARTIAL page counts as returned messages like MIN and MAX:
            // `$` is then the page (and the ends asked for), so a client
            // can page through a search and FETCH `$` each time.
            let saved: Vec<Uid> = if only_some {
                returned.iter().map(|h| h.uid).collect()
            } else {
                hits.iter().map(|h| h.uid).collect()
            };
            let (_, sel) = self.selected()?;
            sel.saved = saved;
            if !(ret.min || ret.max || ret.all || ret.count || ret.partial.is_some()) {
                // SAVE alone: no ESEARCH response (RFC 5182 2.4).
                return Done::ok("SEARCH completed, result saved");
            }
        }
        let ids: Vec<u32> = hits
            .iter()
            .map(|h| if uid { h.uid.0 } else { h.seq })
            .collect();
        let mut max_modseq = hits.iter().map(|h| h.modseq).max();
        if ret.extended && only_some {
            // RFC 4731 3.2, RFC 7162 3.1.5: with only MIN, MAX and/or a
            // PARTIAL page, the highest modseq of the messages returned,
            // not of all matches.
            max_modseq = returned.iter().map(|h| h.modseq).max();
        }
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
                line.push_str(&format!(" ALL {}", uid_set(&as_uids)));
            }
            if let Some(range) = ret.partial {
                // RFC 9394 3.1: the range as asked, and the page or NIL.
                let set: Vec<Uid> = page
                    .iter()
                    .map(|h| Uid(if uid { h.uid.0 } else { h.seq }))
                    .collect();
                let set = if set.is_empty() {
                    "NIL".to_string()
                } else {
                    uid_set(&set)
                };
                line.push_str(&format!(" PARTIAL ({range} {set})"));
            }
            if let (true, Some(m)) = (modseq, max_modseq) {
                line.push_str(&format!(" MODSEQ {m}"));
            }
            out.untagged(&line);
        } else {
            let mut line = String::from("SEARCH");
            for id in &ids {
                line.push_str(&format!(" {id}"));
            }
            if let (true, Some(m)) = (modseq, max_modseq) {
                line.push_str(&format!(" (MODSEQ {m})"));
            }
            out.untagged(&line);
        }
        Done::ok("SEARCH completed")
    }
}
