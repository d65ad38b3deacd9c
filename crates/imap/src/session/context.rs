//! CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 section 4): a SEARCH or SORT
//! with the UPDATE return option keeps its result current while the
//! mailbox stays selected, with unsolicited
//! `* ESEARCH (TAG "t") [UID] REMOVEFROM (...) ADDTO (...)` responses;
//! CANCELUPDATE stops them. (CONTEXT is a hint the parser accepts and
//! ignores; PARTIAL is RFC 9394's, in `super::search` and `super::esort`.)
//!
//! How a context is kept: it remembers its key, its sort criteria (none for
//! SEARCH) and its result as UIDs in the client's order. Whenever a
//! command or an IDLE wake-up brings events for the selected mailbox
//! (`super::sync`), each context's key is evaluated again (a [`Scan`], the
//! same as the command's) and the new result compared with the old: what
//! left is sent as REMOVEFROM, what came as ADDTO. Only messages the
//! events touched (appended, flags changed, expunged) can join or leave,
//! so a SEARCH context examines just those, and a SORT context those and
//! its current members (their sort keys give the new ones their place);
//! after lost events the whole mailbox is examined. A message's sort keys
//! never change (dates, addresses, subject, size), so a SORT result only
//! gains and loses members and keeps its order; positions are therefore
//! exact:
//!
//! - SEARCH contexts use position 0 and mailbox order (RFC 5267 4.3.3).
//! - SORT contexts name each removal by its position before it is removed,
//!   last first (so earlier positions stay valid), and each run of
//!   additions by the position its first member takes.
//! - Numbers are UIDs for UID SEARCH/SORT, else sequence numbers
//!   (RFC 5267 4.3.2). Removals because of an expunge are sent before the
//!   EXPUNGE (or VANISHED) itself (4.3.4), additions after the EXISTS
//!   (4.3.3), so every sequence number is valid when it is read.
//!
//! Limits: [`MAX_CONTEXTS`] updating contexts per session; one more gets
//! `* NO [NOUPDATE "tag"]` and its other return options still answered
//! (4.3.1). UPDATE under a tag that already has a context is `BAD` (4.3).
//! CANCELUPDATE of a tag without a context is not an error: the updates
//! the client wants stopped are stopped.

use super::scan::{Scan, ScanStep};
use super::{AfterSync, Done, Job, Reply, Request, Session, State, Step};
use crate::error::{CmdError, CmdResult};
use crate::wire::command::{SearchKey, SearchReturn, SortCriterion, Tag};
use crate::wire::response::{Code, Out, Status, quoted};
use sealpost_store::{MailboxEvent, Uid};
use std::collections::HashSet;

/// Updating contexts one session may hold (RFC 5267 4.3.1 asks for at
/// least one; each costs a scan whenever the mailbox changes).
pub const MAX_CONTEXTS: usize = 8;

/// One updating context: a SEARCH or SORT with UPDATE.
pub(crate) struct Context {
    /// The searching command's tag, the correlator of its updates.
    tag: String,
    /// UID SEARCH/SORT: updates name UIDs.
    uid: bool,
    key: SearchKey,
    /// The sort criteria; `None` for SEARCH (position 0, mailbox order).
    sort: Option<Vec<SortCriterion>>,
    /// The result as the client has it, in its order.
    result: Vec<Uid>,
}

/// Re-evaluating the contexts after mailbox events, one at a time.
pub(crate) struct Refresh {
    after: AfterSync,
    /// The context being evaluated.
    at: usize,
    scan: Scan,
    /// The messages the events touched, ascending; `None`: any may have
    /// changed (events were lost).
    touched: Option<Vec<Uid>>,
}

/// The messages a batch of events touched, ascending; `None` when the
/// mailbox went away (everything changed).
pub(crate) fn touched(events: &[MailboxEvent]) -> Option<Vec<Uid>> {
    let mut uids = Vec::new();
    for ev in events {
        match ev {
            MailboxEvent::Appended(e) | MailboxEvent::FlagsChanged(e) => uids.push(e.uid),
            MailboxEvent::Expunged { uids: gone, .. } => uids.extend(gone.iter().copied()),
            MailboxEvent::Gone => return None,
        }
    }
    uids.sort_unstable();
    uids.dedup();
    Some(uids)
}

impl Session {
    /// RFC 5267 4.3: UPDATE under a tag that already has a context is BAD.
    pub(super) fn check_update(&mut self, tag: &Tag, ret: Option<&SearchReturn>) -> CmdResult<()> {
        if ret.is_some_and(|r| r.update)
            && let Ok((_, sel)) = self.selected()
            && sel.contexts.iter().any(|c| c.tag == tag.as_str())
        {
            return Err(CmdError::bad(
                None,
                "Tag reuse: it already has an update context",
            ));
        }
        Ok(())
    }

    /// Keeps a result current from now on, or says `NOUPDATE` when the
    /// session has [`MAX_CONTEXTS`] already.
    pub(super) fn add_context(
        &mut self,
        tag: &Tag,
        uid: bool,
        key: SearchKey,
        sort: Option<Vec<SortCriterion>>,
        result: Vec<Uid>,
        out: &mut Out,
    ) {
        let Ok((_, sel)) = self.selected() else {
            return;
        };
        if sel.contexts.len() >= MAX_CONTEXTS {
            let code = Code::NoUpdate(tag.as_str().to_string());
            out.status(None, Status::No, Some(code), "Too many update contexts");
            return;
        }
        sel.contexts.push(Context {
            tag: tag.as_str().to_string(),
            uid,
            key,
            sort,
            result,
        });
    }

    /// CANCELUPDATE (RFC 5267 4.3.5).
    pub(super) fn cancel_update(&mut self, tags: &[String]) -> CmdResult<Done> {
        let (_, sel) = self.selected()?;
        sel.contexts.retain(|c| !tags.contains(&c.tag));
        Done::ok("CANCELUPDATE completed")
    }

    /// After mailbox events were announced: evaluates every context again
    /// and sends what changed, then goes on with `after`.
    pub(super) fn refresh_contexts(
        &mut self,
        tag: Tag,
        allow_expunge: bool,
        after: AfterSync,
        touched: Option<Vec<Uid>>,
        out: &mut Out,
    ) -> Step {
        let job = RefreshNext {
            after,
            at: 0,
            touched,
        };
        self.refresh_from(tag, allow_expunge, job, out)
    }

    fn refresh_from(
        &mut self,
        tag: Tag,
        allow_expunge: bool,
        next: RefreshNext,
        out: &mut Out,
    ) -> Step {
        let RefreshNext { after, at, touched } = next;
        let planned = match &self.state {
            State::Selected(_, sel) => sel.contexts.get(at).map(|c| {
                (
                    c.key.clone(),
                    c.sort.is_some(),
                    c.examine(touched.as_deref()),
                )
            }),
            _ => None,
        };
        let Some((key, keyed, only)) = planned else {
            return self.after_sync(tag, after, out);
        };
        match self.scan(key, keyed) {
            Ok(mut scan) => {
                scan.only = only;
                let request = Request::Store(scan.start());
                let refresh = Refresh {
                    after,
                    at,
                    scan,
                    touched,
                };
                self.wait(tag, allow_expunge, Job::Context(Box::new(refresh)), request)
            }
            Err(_) => {
                let next = RefreshNext {
                    after,
                    at: at + 1,
                    touched,
                };
                self.refresh_from(tag, allow_expunge, next, out)
            }
        }
    }

    /// A reply for the scan of a [`Refresh`].
    pub(super) fn context_resume(
        &mut self,
        tag: Tag,
        allow_expunge: bool,
        mut job: Box<Refresh>,
        reply: Reply,
        out: &mut Out,
    ) -> Step {
        match self.scan_resume(&mut job.scan, reply) {
            Ok(ScanStep::Need(request)) => self.wait(
                tag,
                allow_expunge,
                Job::Context(job),
                Request::Store(request),
            ),
            Ok(ScanStep::Finished) => {
                let Refresh {
                    after,
                    at,
                    scan,
                    touched,
                } = *job;
                if let State::Selected(_, sel) = &mut self.state
                    && let Some(ctx) = sel.contexts.get(at)
                {
                    let now: Vec<Uid> = match &ctx.sort {
                        Some(criteria) => {
                            super::sort::order(criteria, super::sort::keyed(scan.hits))
                                .iter()
                                .map(|h| h.uid)
                                .collect()
                        }
                        None => ctx.merged(touched.as_deref(), scan.hits.iter().map(|h| h.uid)),
                    };
                    let mut contexts = std::mem::take(&mut sel.contexts);
                    if let Some(line) = contexts[at].update(now, |u| sel.seq_of(u)) {
                        out.untagged(&line);
                    }
                    sel.contexts = contexts;
                }
                let next = RefreshNext {
                    after,
                    at: at + 1,
                    touched,
                };
                self.refresh_from(tag, allow_expunge, next, out)
            }
            // The mailbox went away meanwhile: nothing more to tell.
            Err(_) => {
                let Refresh {
                    after, at, touched, ..
                } = *job;
                let next = RefreshNext {
                    after,
                    at: at + 1,
                    touched,
                };
                self.refresh_from(tag, allow_expunge, next, out)
            }
        }
    }
}

impl super::Selected {
    /// Before expunges are announced (whoever made them): removes the
    /// messages from every context and says so (RFC 5267 4.3.4:
    /// REMOVEFROM comes before the EXPUNGE that would renumber them).
    pub(crate) fn remove_expunged_from_contexts(&mut self, gone: &[Uid], out: &mut Out) {
        if self.contexts.is_empty() {
            return;
        }
        let gone: HashSet<Uid> = gone.iter().copied().collect();
        let mut contexts = std::mem::take(&mut self.contexts);
        for ctx in &mut contexts {
            let now: Vec<Uid> = ctx
                .result
                .iter()
                .copied()
                .filter(|u| !gone.contains(u))
                .collect();
            if let Some(line) = ctx.update(now, |u| self.seq_of(u)) {
                out.untagged(&line);
            }
        }
        self.contexts = contexts;
    }
}

/// Where a refresh goes on: the context at `at`.
struct RefreshNext {
    after: AfterSync,
    at: usize,
    touched: Option<Vec<Uid>>,
}

impl Context {
    /// The messages to examine again: those touched (a SEARCH), those and
    /// the current members (a SORT, whose members place the new ones);
    /// `None`, all, when what was touched is unknown.
    fn examine(&self, touched: Option<&[Uid]>) -> Option<Vec<Uid>> {
        let touched = touched?;
        let mut only = touched.to_vec();
        if self.sort.is_some() {
            only.extend(self.result.iter().copied());
            only.sort_unstable();
            only.dedup();
        }
        Some(only)
    }

    /// A SEARCH context's new result: the old one without the touched
    /// messages, with those of them that match now, ascending.
    fn merged(&self, touched: Option<&[Uid]>, hits: impl Iterator<Item = Uid>) -> Vec<Uid> {
        let mut now: Vec<Uid> = match touched {
            Some(t) => self
                .result
                .iter()
                .copied()
                .filter(|u| t.binary_search(u).is_err())
                .collect(),
            None => Vec::new(),
        };
        now.extend(hits);
        now.sort_unstable();
        now.dedup();
        now
    }

    /// Takes `now` as the result and returns the ESEARCH line that tells
    /// the client, if anything changed. `seq` numbers a UID for the
    /// client (before any expunge of it is announced).
    fn update(&mut self, now: Vec<Uid>, seq: impl Fn(Uid) -> Option<u32>) -> Option<String> {
        let id = |u: Uid| if self.uid { Some(u.0) } else { seq(u) };
        let old: HashSet<Uid> = self.result.iter().copied().collect();
        let new: HashSet<Uid> = now.iter().copied().collect();
        let mut removals: Vec<(usize, Vec<u32>)> = Vec::new();
        let mut additions: Vec<(usize, Vec<u32>)> = Vec::new();
        if self.sort.is_some() {
            // Last first, each by its position before its removal.
            for (i, u) in self.result.iter().enumerate().rev() {
                if !new.contains(u) {
                    removals.extend(id(*u).map(|n| (i + 1, vec![n])));
                }
            }
            // Runs of additions by the position their first member takes.
            let mut prev: Option<usize> = None;
            for (i, u) in now.iter().enumerate() {
                if old.contains(u) {
                    continue;
                }
                let Some(n) = id(*u) else { continue };
                match (prev, additions.last_mut()) {
                    (Some(p), Some((_, run))) if p + 1 == i => run.push(n),
                    _ => additions.push((i + 1, vec![n])),
                }
                prev = Some(i);
            }
        } else {
            let gone: Vec<u32> = self
                .result
                .iter()
                .filter(|u| !new.contains(u))
                .filter_map(|u| id(*u))
                .collect();
            let came: Vec<u32> = now
                .iter()
                .filter(|u| !old.contains(u))
                .filter_map(|u| id(*u))
                .collect();
            if !gone.is_empty() {
                removals.push((0, gone));
            }
            if !came.is_empty() {
                additions.push((0, came));
            }
        }
        self.result = now;
        if removals.is_empty() && additions.is_empty() {
            return None;
        }
        let mut line = format!("ESEARCH (TAG {})", quoted(&self.tag));
        if self.uid {
            line.push_str(" UID");
        }
        for (name, pairs) in [("REMOVEFROM", removals), ("ADDTO", additions)] {
            if pairs.is_empty() {
                continue;
            }
            let pairs: Vec<String> = pairs
                .into_iter()
                .map(|(pos, ids)| format!("{pos} {}", super::esort::ordered_set(ids.into_iter())))
                .collect();
            line.push_str(&format!(" {name} ({})", pairs.join(" ")));
        }
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(sort: bool, result: &[u32]) -> Context {
        Context {
            tag: "t".into(),
            uid: true,
            key: SearchKey::All,
            sort: sort.then(Vec::new),
            result: result.iter().map(|&u| Uid(u)).collect(),
        }
    }

    fn uids(v: &[u32]) -> Vec<Uid> {
        v.iter().map(|&u| Uid(u)).collect()
    }

    #[test]
    fn search_contexts_use_position_zero_and_mailbox_order() {
        let mut c = ctx(false, &[1, 2, 3]);
        let line = c.update(uids(&[1, 3, 4, 5]), |_| None).unwrap();
        assert_eq!(
            line,
            "ESEARCH (TAG \"t\") UID REMOVEFROM (0 2) ADDTO (0 4:5)"
        );
        assert!(c.update(uids(&[1, 3, 4, 5]), |_| None).is_none());
    }

    #[test]
    fn sort_contexts_name_positions_that_stay_valid() {
        // Sorted 9 7 5 3; 7 and 3 leave, 8 comes between 9 and 5, 1 last.
        let mut c = ctx(true, &[9, 7, 5, 3]);
        let line = c.update(uids(&[9, 8, 5, 1]), |_| None).unwrap();
        assert_eq!(
            line,
            "ESEARCH (TAG \"t\") UID REMOVEFROM (4 3 2 7) ADDTO (2 8 4 1)"
        );
        // Applying them as the client does gives the new result.
        let mut r = vec![9, 7, 5, 3];
        r.remove(3);
        r.remove(1);
        r.insert(1, 8);
        r.insert(3, 1);
        assert_eq!(r, vec![9, 8, 5, 1]);
    }

    #[test]
    fn a_run_of_additions_is_one_pair_in_sort_order() {
        let mut c = ctx(true, &[2]);
        let line = c.update(uids(&[6, 5, 2, 3, 4]), |_| None).unwrap();
        assert_eq!(line, "ESEARCH (TAG \"t\") UID ADDTO (1 6,5 4 3:4)");
    }

    #[test]
    fn sequence_number_contexts_number_by_the_session_map() {
        let mut c = ctx(false, &[10, 20]);
        c.uid = false;
        let line = c.update(uids(&[20, 30]), |u| Some(u.0 / 10)).unwrap();
        assert_eq!(line, "ESEARCH (TAG \"t\") REMOVEFROM (0 1) ADDTO (0 3)");
    }
}
