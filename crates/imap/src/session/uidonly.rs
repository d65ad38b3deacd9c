//! UIDONLY (RFC 9586): once a client has enabled it, messages are named by
//! UID alone, in both directions.
//!
//! - A command that names messages by sequence number (FETCH, STORE,
//!   SEARCH, SORT, THREAD, COPY, MOVE, REPLACE without `UID`, or a `UID`
//!   command whose search key holds a sequence set, or QRESYNC's
//!   seq-match-data in SELECT) gets
//!   `BAD [UIDREQUIRED]` before anything else happens ([`uses_sequence_numbers`]).
//! - Every FETCH response becomes `* <uid> UIDFETCH (...)`
//!   ([`write_fetch_start`]): FETCH and STORE answers, the flag changes of
//!   other sessions and QRESYNC's changes at SELECT. The UID data item is
//!   then written only when the client asked for it, since the response's
//!   number already is the UID.
//! - Expunges are announced as `VANISHED` (as under QRESYNC), never as
//!   `EXPUNGE`, and SELECT sends no `[UNSEEN n]` (a sequence number).
//!
//! EXISTS still counts the messages: it carries no sequence number.

use crate::wire::command::{CommandKind, SearchKey};
use sealpost_store::Uid;
use std::io::Write as _;

/// Writes the start of a message's FETCH response: `* seq FETCH (`, or
/// `* uid UIDFETCH (` under UIDONLY.
pub(crate) fn write_fetch_start(buf: &mut Vec<u8>, seq: u32, uid: Uid, uidonly: bool) {
    let _ = if uidonly {
        write!(buf, "* {uid} UIDFETCH (")
    } else {
        write!(buf, "* {seq} FETCH (")
    };
}

/// Whether a command names messages by sequence number (refused under
/// UIDONLY, RFC 9586 section 3).
pub(crate) fn uses_sequence_numbers(kind: &CommandKind) -> bool {
    use CommandKind as K;
    match kind {
        K::Fetch { uid, .. }
        | K::Store { uid, .. }
        | K::Copy { uid, .. }
        | K::Move { uid, .. }
        | K::Replace { uid, .. } => !*uid,
        K::Catenate { replace, .. } => replace.is_some_and(|(uid, _)| !uid),
        K::Search { uid, key, .. } | K::Sort { uid, key, .. } | K::Thread { uid, key, .. } => {
            !*uid || names_sequence_numbers(key)
        }
        K::Select { options, .. } => options.qresync.as_ref().is_some_and(|q| q.seq_match),
        _ => false,
    }
}

/// Whether a search key holds a sequence set (iterative: keys nest deeply).
fn names_sequence_numbers(key: &SearchKey) -> bool {
    let mut stack = vec![key];
    while let Some(k) = stack.pop() {
        match k {
            SearchKey::SequenceSet(_) => return true,
            SearchKey::Not(k) => stack.push(k),
            SearchKey::Or(a, b) => {
                stack.push(a);
                stack.push(b);
            }
            SearchKey::And(keys) => stack.extend(keys.iter()),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::parser::parse_command;

    fn refused(line: &str) -> bool {
        uses_sequence_numbers(&parse_command(line.as_bytes()).unwrap().kind)
    }

    #[test]
    fn sequence_numbers_are_found_wherever_they_hide() {
        for line in [
            "a FETCH 1 FLAGS\r\n",
            "a STORE 1:* +FLAGS (\\Seen)\r\n",
            "a COPY 1 Trash\r\n",
            "a MOVE 1 Trash\r\n",
            "a SEARCH ALL\r\n",
            "a UID SEARCH NOT OR SEEN 1:3\r\n",
            "a UID SORT (DATE) UTF-8 (FLAGGED 2)\r\n",
            "a THREAD REFERENCES UTF-8 ALL\r\n",
            "a SELECT INBOX (QRESYNC (1 5 1:9 (1,3 1,3)))\r\n",
        ] {
            assert!(refused(line), "{line}");
        }
        for line in [
            "a UID FETCH 1:* FLAGS\r\n",
            "a UID STORE 1 +FLAGS (\\Seen)\r\n",
            "a UID COPY 1 Trash\r\n",
            "a UID SEARCH UID 1:* SEEN\r\n",
            "a UID SEARCH $\r\n",
            "a SELECT INBOX (QRESYNC (1 5 1:9))\r\n",
            "a EXPUNGE\r\n",
            "a NOOP\r\n",
        ] {
            assert!(!refused(line), "{line}");
        }
    }

    #[test]
    fn uidfetch_names_the_uid() {
        let mut buf = Vec::new();
        write_fetch_start(&mut buf, 3, Uid(41), true);
        assert_eq!(buf, b"* 41 UIDFETCH (");
        buf.clear();
        write_fetch_start(&mut buf, 3, Uid(41), false);
        assert_eq!(buf, b"* 3 FETCH (");
    }
}
