//! SORT and THREAD, with their UID forms (RFC 5256; RFC 5957
//! DISPLAYFROM/DISPLAYTO).
//!
//! The messages are chosen by a keyed [`Scan`] (`super::scan`), which
//! keeps each hit's delivery-time summary (`message::Summary`), internal
//! date and size, so no message body is read unless a summary is missing.
//! Ties are broken by sequence number (RFC 5256 section 3). With
//! `RETURN (...)` (ESORT, RFC 5267) the answer is an ESEARCH (`super::esort`)
//! and UPDATE keeps it current (`super::context`).

use super::scan::{Hit, Scan, ScanStep, SortKeys};
use super::{Done, Flow, Job, Reply, Request, Session};
use crate::message::{self, Summary};
use crate::wire::command::{SearchKey, SearchReturn, SortCriterion, SortKey, Tag, ThreadAlgorithm};
use crate::wire::response::Out;
use std::cmp::Ordering;

/// What the scan's hits become.
enum Answer {
    /// SORT; with RETURN options, an ESEARCH answer.
    Sort(Vec<SortCriterion>, Option<SearchReturn>),
    Thread(ThreadAlgorithm),
}

/// A SORT or THREAD in progress.
pub(crate) struct SortJob {
    uid: bool,
    answer: Answer,
    scan: Scan,
    progress: super::progress::Progress,
}

/// A string as the i;unicode-casemap collation compares it (RFC 5256
/// section 3 via RFC 5255, RFC 5051): case-mapped to titlecase, which for
/// the letters mail headers use is upper case; a missing value is empty.
fn text_key(s: Option<String>) -> String {
    s.unwrap_or_default().to_uppercase()
}

fn compare(a: &SortKeys, b: &SortKeys, key: SortKey) -> Ordering {
    let (x, y) = (&a.summary, &b.summary);
    match key {
        SortKey::Arrival => a.internal.cmp(&b.internal),
        SortKey::Size => a.size.cmp(&b.size),
        // RFC 5256: the sent date, or the internal date when there is none.
        SortKey::Date => x
            .sent_date()
            .unwrap_or(a.internal)
            .cmp(&y.sent_date().unwrap_or(b.internal)),
        SortKey::Subject => text_key(Some(x.base_subject())).cmp(&text_key(Some(y.base_subject()))),
        SortKey::From => text_key(x.from_addr()).cmp(&text_key(y.from_addr())),
        SortKey::To => text_key(x.to_addr()).cmp(&text_key(y.to_addr())),
        SortKey::Cc => text_key(x.cc_addr()).cmp(&text_key(y.cc_addr())),
        SortKey::DisplayFrom => text_key(x.display_from()).cmp(&text_key(y.display_from())),
        SortKey::DisplayTo => text_key(x.display_to()).cmp(&text_key(y.display_to())),
    }
}

/// The hits that have sort keys (a message gone meanwhile has none).
pub(super) fn keyed(hits: Vec<Hit>) -> Vec<(Hit, SortKeys)> {
    hits.into_iter()
        .filter_map(|mut h| {
            let k = h.keys.take()?;
            Some((h, k))
        })
        .collect()
}

impl Session {
    pub(super) fn sort(
        &mut self,
        tag: &Tag,
        uid: bool,
        ret: Option<SearchReturn>,
        criteria: Vec<SortCriterion>,
        key: SearchKey,
    ) -> Flow {
        if let Err(e) = self.check_update(tag, ret.as_ref()) {
            return Flow::Done(Err(e));
        }
        self.start_sort(uid, Answer::Sort(criteria, ret), key)
    }

    pub(super) fn thread(&mut self, uid: bool, algorithm: ThreadAlgorithm, key: SearchKey) -> Flow {
        self.start_sort(uid, Answer::Thread(algorithm), key)
    }

    fn start_sort(&mut self, uid: bool, answer: Answer, key: SearchKey) -> Flow {
        match self.scan(key, true) {
            Ok(scan) => {
                let request = scan.start();
                let progress = super::progress::Progress::new(self.config.progress_interval);
                let job = SortJob {
                    uid,
                    answer,
                    scan,
                    progress,
                };
                Flow::Need(Request::Store(request), Job::Sort(Box::new(job)))
            }
            Err(e) => Flow::Done(Err(e)),
        }
    }

    pub(super) fn sort_resume(
        &mut self,
        tag: &Tag,
        mut job: Box<SortJob>,
        reply: Reply,
        out: &mut Out,
    ) -> Flow {
        // A progress note was written: on with what it held back.
        if let Some(request) = job.progress.unpark() {
            return Flow::Need(Request::Store(request), Job::Sort(job));
        }
        match self.scan_resume(&mut job.scan, reply) {
            Ok(ScanStep::Need(request)) => {
                let (done, goal) = (job.scan.done(), job.scan.goal);
                let next = job.progress.step(tag, done, goal, request, out);
                Flow::Need(next, Job::Sort(job))
            }
            Ok(ScanStep::Finished) => {
                let SortJob {
                    uid, answer, scan, ..
                } = *job;
                let msgs = keyed(scan.hits);
                Flow::Done(match answer {
                    Answer::Sort(criteria, None) => answer_sort(uid, &criteria, msgs, out),
                    Answer::Sort(criteria, Some(ret)) => {
                        let sorted = order(&criteria, msgs);
                        let modseq = scan.needs.modseq;
                        let done = super::esort::answer(tag, uid, &ret, modseq, &sorted, out);
                        if ret.update {
                            let result = sorted.iter().map(|h| h.uid).collect();
                            let sort = Some(criteria);
                            self.add_context(tag, uid, scan.key, sort, result, out);
                        }
                        done
                    }
                    Answer::Thread(algorithm) => answer_thread(uid, algorithm, &msgs, out),
                })
            }
            Err(e) => Flow::Done(Err(e)),
        }
    }
}

/// The hits in the order the criteria give (RFC 5256 section 3).
pub(super) fn order(criteria: &[SortCriterion], mut msgs: Vec<(Hit, SortKeys)>) -> Vec<Hit> {
    msgs.sort_by(|(ha, a), (hb, b)| {
        for c in criteria {
            let o = compare(a, b, c.key);
            let o = if c.reverse { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        ha.seq.cmp(&hb.seq)
    });
    msgs.into_iter().map(|(h, _)| h).collect()
}

fn answer_sort(
    uid: bool,
    criteria: &[SortCriterion],
    msgs: Vec<(Hit, SortKeys)>,
    out: &mut Out,
) -> crate::error::CmdResult<Done> {
    let mut line = String::from("SORT");
    for h in &order(criteria, msgs) {
        let id = if uid { h.uid.0 } else { h.seq };
        line.push_str(&format!(" {id}"));
    }
    out.untagged(&line);
    Done::ok("SORT completed")
}

fn answer_thread(
    uid: bool,
    algorithm: ThreadAlgorithm,
    msgs: &[(Hit, SortKeys)],
    out: &mut Out,
) -> crate::error::CmdResult<Done> {
    let input: Vec<(u32, &Summary, i64)> = msgs
        .iter()
        .map(|(h, k)| {
            let id = if uid { h.uid.0 } else { h.seq };
            (id, &k.summary, k.internal)
        })
        .collect();
    let threads = match algorithm {
        ThreadAlgorithm::OrderedSubject => message::thread_ordered_subject_dated(&input),
        ThreadAlgorithm::References => message::thread_references_dated(&input),
    };
    let text = message::format_threads(&threads);
    if text.is_empty() {
        out.untagged("THREAD");
    } else {
        out.untagged(&format!("THREAD {text}"));
    }
    Done::ok("THREAD completed")
}
