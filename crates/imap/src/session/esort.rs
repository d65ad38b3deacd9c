//! ESORT (RFC 5267 section 3): `SORT RETURN (...)` answered with one
//! ESEARCH response whose data follow the sort order, not the mailbox's.
//!
//! - MIN and MAX are the first and the last message in sort order.
//! - ALL lists every match in sort order; a range (`4:6`) stands only for
//!   numbers that come in ascending order, one apart (RFC 5267 3.2: `6:4`
//!   is avoided, so a descending run is written `6,5,4`).
//! - COUNT is as for SEARCH; PARTIAL (RFC 9394, RFC 5267 4.4) pages the
//!   sorted list, from either end, and answers the page in sort order.
//! - MODSEQ (RFC 7162 3.1.5), when the criteria name it: the highest of
//!   the messages returned when only MIN, MAX or a page were asked for,
//!   else of all matches.
//!
//! UPDATE and CONTEXT are `super::context`'s; SAVE is refused by the
//! parser (RFC 5182 defines it for SEARCH only).

use super::Done;
use super::scan::Hit;
use super::selected::uid_set;
use crate::error::CmdResult;
use crate::wire::command::{SearchReturn, Tag};
use crate::wire::response::{Out, quoted};
use sealpost_store::Uid;

/// A message's number in the answer: its UID for UID SORT.
fn id(h: &Hit, uid: bool) -> u32 {
    if uid { h.uid.0 } else { h.seq }
}

/// Numbers in the order given, as a sequence set that keeps that order
/// (RFC 5267 3.2).
pub(crate) fn ordered_set(ids: impl Iterator<Item = u32>) -> String {
    let ids: Vec<Uid> = ids.map(Uid).collect();
    uid_set(&ids)
}

/// The ESEARCH answer of a `SORT RETURN (...)`: `sorted` is every match
/// in sort order.
pub(super) fn answer(
    tag: &Tag,
    uid: bool,
    ret: &SearchReturn,
    modseq: bool,
    sorted: &[Hit],
    out: &mut Out,
) -> CmdResult<Done> {
    let mut line = format!("ESEARCH (TAG {})", quoted(tag.as_str()));
    if uid {
        line.push_str(" UID");
    }
    let page = ret.partial.map(|p| p.page(sorted)).unwrap_or(&[]);
    let mut returned: Vec<&Hit> = Vec::new();
    if let (true, Some(h)) = (ret.min, sorted.first()) {
        line.push_str(&format!(" MIN {}", id(h, uid)));
        returned.push(h);
    }
    if let (true, Some(h)) = (ret.max, sorted.last()) {
        line.push_str(&format!(" MAX {}", id(h, uid)));
        returned.push(h);
    }
    if ret.count {
        line.push_str(&format!(" COUNT {}", sorted.len()));
    }
    if ret.all && !sorted.is_empty() {
        let set = ordered_set(sorted.iter().map(|h| id(h, uid)));
        line.push_str(&format!(" ALL {set}"));
    }
    if let Some(range) = ret.partial {
        let set = if page.is_empty() {
            "NIL".to_string()
        } else {
            ordered_set(page.iter().map(|h| id(h, uid)))
        };
        line.push_str(&format!(" PARTIAL ({range} {set})"));
        returned.extend(page.iter());
    }
    if modseq {
        let only_some = !(ret.all || ret.count);
        let highest = if only_some {
            returned.iter().map(|h| h.modseq).max()
        } else {
            sorted.iter().map(|h| h.modseq).max()
        };
        if let Some(m) = highest {
            line.push_str(&format!(" MODSEQ {m}"));
        }
    }
    out.untagged(&line);
    Done::ok("SORT completed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_sets_keep_the_order_and_join_only_ascending_runs() {
        assert_eq!(ordered_set([6, 5, 4].into_iter()), "6,5,4");
        assert_eq!(ordered_set([4, 5, 6, 1, 9].into_iter()), "4:6,1,9");
        assert_eq!(ordered_set([3].into_iter()), "3");
        assert_eq!(ordered_set(std::iter::empty()), "");
    }
}
