//! SORT and THREAD, with their UID forms (RFC 5256; RFC 5957
//! DISPLAYFROM/DISPLAYTO).
//!
//! The messages are first chosen with the SEARCH machinery; their sort
//! keys and threading data come from the delivery-time summaries
//! (`message::Summary`), so no message body is read unless a summary is
//! missing. Ties are broken by sequence number (RFC 5256 section 3).

use super::search::Hit;
use super::{Done, Session};
use crate::error::CmdResult;
use crate::mailstore::MailStore;
use crate::message::{self, Summary};
use crate::wire::command::{SearchKey, SortCriterion, SortKey, ThreadAlgorithm};
use crate::wire::response::Out;
use std::cmp::Ordering;

/// What sorting and threading know about one message.
struct Keyed {
    hit: Hit,
    summary: Summary,
    internal: i64,
    size: u32,
}

fn text_key(s: Option<String>) -> String {
    s.unwrap_or_default().to_lowercase()
}

fn compare(a: &Keyed, b: &Keyed, key: SortKey) -> Ordering {
    let (x, y) = (&a.summary, &b.summary);
    match key {
        SortKey::Arrival => a.internal.cmp(&b.internal),
        SortKey::Size => a.size.cmp(&b.size),
        // RFC 5256: the sent date, or the internal date when there is none.
        SortKey::Date => x
            .sent_date()
            .unwrap_or(a.internal)
            .cmp(&y.sent_date().unwrap_or(b.internal)),
        SortKey::Subject => x.base_subject().cmp(&y.base_subject()),
        SortKey::From => text_key(x.from_addr()).cmp(&text_key(y.from_addr())),
        SortKey::To => text_key(x.to_addr()).cmp(&text_key(y.to_addr())),
        SortKey::Cc => text_key(x.cc_addr()).cmp(&text_key(y.cc_addr())),
        SortKey::DisplayFrom => text_key(x.display_from()).cmp(&text_key(y.display_from())),
        SortKey::DisplayTo => text_key(x.display_to()).cmp(&text_key(y.display_to())),
    }
}

impl<S: MailStore> Session<S> {
    async fn keyed(&mut self, key: &SearchKey) -> CmdResult<Vec<Keyed>> {
        let hits = self.matching(key).await?;
        let (account, sel) = self.selected()?;
        let (aid, mid) = (account.id, sel.info.id);
        let mut out = Vec::with_capacity(hits.len());
        for hit in hits {
            let u = hit.uid;
            let Some(meta) = self.ctx.store.meta(aid, mid, u)? else {
                continue;
            };
            let summary = match Summary::decode(&meta.summary) {
                Some(s) => s,
                None => match self.blocking(move |s| s.read(aid, mid, u)).await? {
                    Some(raw) => Summary::from_message(&raw),
                    None => continue,
                },
            };
            out.push(Keyed {
                hit,
                summary,
                internal: meta.internal_date,
                size: meta.size,
            });
        }
        Ok(out)
    }

    pub(super) async fn sort(
        &mut self,
        uid: bool,
        criteria: Vec<SortCriterion>,
        key: SearchKey,
        out: &mut Out,
    ) -> CmdResult<Done> {
        let mut msgs = self.keyed(&key).await?;
        msgs.sort_by(|a, b| {
            for c in &criteria {
                let o = compare(a, b, c.key);
                let o = if c.reverse { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            a.hit.seq.cmp(&b.hit.seq)
        });
        let mut line = String::from("SORT");
        for m in &msgs {
            let id = if uid { m.hit.uid.0 } else { m.hit.seq };
            line.push_str(&format!(" {id}"));
        }
        out.untagged(&line);
        Done::ok("SORT completed")
    }

    pub(super) async fn thread(
        &mut self,
        uid: bool,
        algorithm: ThreadAlgorithm,
        key: SearchKey,
        out: &mut Out,
    ) -> CmdResult<Done> {
        let msgs = self.keyed(&key).await?;
        let input: Vec<(u32, &Summary, i64)> = msgs
            .iter()
            .map(|m| {
                let id = if uid { m.hit.uid.0 } else { m.hit.seq };
                (id, &m.summary, m.internal)
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
}
