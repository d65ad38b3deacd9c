//! MESSAGELIMIT (RFC 9738): the most messages one FETCH, SEARCH, STORE,
//! COPY, MOVE (and their UID forms), UID EXPUNGE or MULTIAPPEND acts on,
//! advertised as `MESSAGELIMIT=<n>` (`[imap] message_limit`).
//!
//! What a command over the limit gets:
//!
//! - A UID form of FETCH, STORE, MOVE, EXPUNGE and SEARCH acts on the `n`
//!   messages with the highest UIDs of those it names and ends
//!   `OK [MESSAGELIMIT n uid]`, `uid` being the lowest UID it acted on:
//!   the client goes on with the UIDs below it. A response code the
//!   command would have carried (COPYUID) is sent in an untagged OK just
//!   before, so it is not lost.
//! - COPY and UID COPY, whose set is all or nothing (RFC 9051 6.4.7), a
//!   MULTIAPPEND of more than `n` messages (RFC 3502), and the
//!   sequence-number forms (numbers shift as messages come and go, so a
//!   client could not tell where to go on from) act on nothing and are
//!   refused `NO [MESSAGELIMIT n]`.
//! - SEARCH counts the messages it examines: every message of the
//!   mailbox, or those a top-level `UID` or sequence set of the key names.
//!   An over-limit UID SEARCH examines (and loads) only the highest `n`
//!   of them.
//!
//! Only the commands RFC 9738's abstract names are limited ("FETCH,
//! SEARCH, STORE, COPY, or MOVE command (or their UID variants), or ...
//! a single APPEND or UID EXPUNGE command"): EXPUNGE and CLOSE expunge
//! every `\Deleted` message, and SORT, THREAD and STATUS are not limited.

use super::selected::{Selected, Target};
use super::{Done, Session, State};
use crate::error::{CmdError, CmdResult};
use crate::wire::command::SearchKey;
use crate::wire::response::{Code, Out, Status};
use sealpost_store::Uid;

/// The refusal of a sequence-number command (or MULTIAPPEND) over the limit.
pub(super) fn over_limit(limit: u32) -> CmdError {
    CmdError::no(
        Some(Code::MessageLimit {
            limit,
            lowest: None,
        }),
        format!("More than {limit} messages (MESSAGELIMIT): use UID commands or smaller sets"),
    )
}

impl Selected {
    /// The messages a FETCH, STORE, COPY, MOVE or UID EXPUNGE acts on,
    /// within `limit` (see the module docs); `targets` ascend.
    pub(crate) fn within_limit(
        &mut self,
        limit: u32,
        uid: bool,
        mut targets: Vec<Target>,
    ) -> CmdResult<Vec<Target>> {
        if targets.len() <= limit as usize {
            return Ok(targets);
        }
        if !uid {
            return Err(over_limit(limit));
        }
        targets.drain(..targets.len() - limit as usize);
        self.limit_hit = targets.first().map(|t| t.uid.0);
        Ok(targets)
    }

    /// What a SEARCH examines: the messages a top-level UID or sequence
    /// set of its key names (`None`: all), and of those, over the limit,
    /// the highest `limit` (a UID SEARCH; others are refused).
    pub(crate) fn search_within_limit(
        &mut self,
        limit: u32,
        uid: bool,
        key: &SearchKey,
    ) -> CmdResult<Option<Vec<Uid>>> {
        let max_seq = self.uids.len() as u32;
        let max_uid = self.uids.last().map_or(0, |u| u.0);
        let mut candidates: Vec<Uid> = self
            .uids
            .iter()
            .enumerate()
            .filter(|(i, u)| named(key, *i as u32 + 1, u.0, max_seq, max_uid))
            .map(|(_, u)| *u)
            .collect();
        if candidates.len() <= limit as usize {
            // Within the limit: still, what the set leaves out need not
            // be loaded.
            return Ok((candidates.len() < self.uids.len()).then_some(candidates));
        }
        if !uid {
            return Err(over_limit(limit));
        }
        candidates.drain(..candidates.len() - limit as usize);
        self.limit_hit = candidates.first().map(|u| u.0);
        Ok(Some(candidates))
    }
}

/// Whether a top-level UID or sequence set of `key` (alone or in the
/// outermost AND) lets the message be examined at all.
fn named(key: &SearchKey, seq: u32, uid: u32, max_seq: u32, max_uid: u32) -> bool {
    match key {
        SearchKey::Uid(set) => set.contains(uid, max_uid),
        SearchKey::SequenceSet(set) => set.contains(seq, max_seq),
        SearchKey::And(keys) => keys
            .iter()
            .all(|k| named_shallow(k, seq, uid, max_seq, max_uid)),
        _ => true,
    }
}

fn named_shallow(key: &SearchKey, seq: u32, uid: u32, max_seq: u32, max_uid: u32) -> bool {
    match key {
        SearchKey::Uid(_) | SearchKey::SequenceSet(_) => named(key, seq, uid, max_seq, max_uid),
        _ => true,
    }
}

impl Session {
    /// The tagged status of a command that stopped at the limit: `OK
    /// [MESSAGELIMIT n uid]`, its own response code moved to an untagged
    /// OK before it.
    pub(super) fn limit_status(
        &mut self,
        result: CmdResult<Done>,
        out: &mut Out,
    ) -> CmdResult<Done> {
        let hit = match &mut self.state {
            State::Selected(_, sel) => sel.limit_hit.take(),
            _ => None,
        };
        match (result, hit) {
            (Ok(mut done), Some(lowest)) => {
                if let Some(code) = done.code.take() {
                    out.status(None, Status::Ok, Some(code), "Done");
                }
                let limit = self.config.message_limit;
                done.code = Some(Code::MessageLimit {
                    limit,
                    lowest: Some(lowest),
                });
                done.text = format!(
                    "{}, last {limit} messages only (MESSAGELIMIT): UIDs below {lowest} remain",
                    done.text
                );
                Ok(done)
            }
            (other, _) => other,
        }
    }
}
