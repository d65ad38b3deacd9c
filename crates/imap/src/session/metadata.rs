//! METADATA and METADATA-SERVER (RFC 5464): GETMETADATA and SETMETADATA
//! on the server (mailbox `""`, the account's own entries) and on
//! mailboxes, `/private/...` and `/shared/...` entries alike (with no
//! other users to share with yet, both are the account's). The entries
//! are kept by the store (`sealpost_store::MetadataScope`: sealed, gone
//! with their mailbox and the account, in the data export).
//!
//! - GETMETADATA answers one `* METADATA <mailbox> (entry value ...)`
//!   with the entries asked for and, with DEPTH 1 or infinity, those
//!   below them (RFC 5464 4.2.2); an entry asked for that has no value
//!   and nothing below it is answered NIL. With MAXSIZE, longer values
//!   are left out and the OK says `[METADATA LONGENTRIES n]`, n the
//!   longest left out (4.2.1).
//! - SETMETADATA sets (a string, literal or literal8) or removes (NIL)
//!   entries, all or none (4.3): a value over [`MAX_VALUE`] octets is
//!   `NO [METADATA MAXSIZE n]`, more than [`MAX_ENTRIES`] entries on one
//!   mailbox (or on the server) `NO [METADATA TOOMANY]`, and nothing is
//!   stored.

use super::{Done, Flow, Job, Reply, Request, Session, StoreReply, StoreRequest, store_reply};
use crate::error::{CmdError, CmdResult};
use crate::wire::command::{MailboxArg, MetadataDepth};
use crate::wire::response::{Code, Out};
use sealpost_store::{MailboxName, MetadataOutcome};
use std::io::Write as _;

/// Longest value in octets.
pub const MAX_VALUE: usize = 64 * 1024;
/// Most entries on one mailbox, or on the server.
pub const MAX_ENTRIES: usize = 100;

/// A METADATA command waiting for the store.
pub(crate) enum MetadataJob {
    Get {
        /// The mailbox as the response names it.
        wire: String,
        entries: Vec<String>,
        maxsize: Option<u32>,
        depth: MetadataDepth,
    },
    Set,
}

impl Session {
    /// `""` is the server; anything else a mailbox name.
    fn metadata_scope(&self, arg: &MailboxArg) -> CmdResult<Option<MailboxName>> {
        if arg.0.is_empty() {
            return Ok(None);
        }
        self.mailbox_name(arg).map(Some)
    }

    pub(super) fn get_metadata(
        &mut self,
        mailbox: MailboxArg,
        entries: Vec<String>,
        maxsize: Option<u32>,
        depth: MetadataDepth,
    ) -> Flow {
        let plan = || -> CmdResult<(StoreRequest, String)> {
            let scope = self.metadata_scope(&mailbox)?;
            let wire = match &scope {
                None => "\"\"".to_string(),
                Some(name) => self.wire_name(name.as_str()),
            };
            let request = StoreRequest::GetMetadata {
                account: self.account()?.id,
                mailbox: scope,
            };
            Ok((request, wire))
        };
        match plan() {
            Ok((request, wire)) => {
                let job = MetadataJob::Get {
                    wire,
                    entries,
                    maxsize,
                    depth,
                };
                Flow::Need(Request::Store(request), Job::Metadata(job))
            }
            Err(e) => Flow::Done(Err(e)),
        }
    }

    pub(super) fn set_metadata(
        &mut self,
        mailbox: MailboxArg,
        entries: Vec<(String, Option<Vec<u8>>)>,
    ) -> Flow {
        if entries
            .iter()
            .any(|(_, v)| v.as_ref().is_some_and(|v| v.len() > MAX_VALUE))
        {
            let code = Code::Metadata(format!("MAXSIZE {MAX_VALUE}"));
            return Flow::Done(Err(CmdError::no(Some(code), "Value too long")));
        }
        let plan = || -> CmdResult<StoreRequest> {
            Ok(StoreRequest::SetMetadata {
                account: self.account()?.id,
                mailbox: self.metadata_scope(&mailbox)?,
                changes: entries,
                max: MAX_ENTRIES,
            })
        };
        match plan() {
            Ok(request) => Flow::Need(Request::Store(request), Job::Metadata(MetadataJob::Set)),
            Err(e) => Flow::Done(Err(e)),
        }
    }

    pub(super) fn metadata_resume(
        &mut self,
        job: MetadataJob,
        reply: Reply,
        out: &mut Out,
    ) -> Flow {
        let reply = match store_reply(reply) {
            Ok(r) => r,
            Err(e) => return Flow::Done(Err(e)),
        };
        Flow::Done(match (job, reply) {
            (
                MetadataJob::Get {
                    wire,
                    entries,
                    maxsize,
                    depth,
                },
                StoreReply::Metadata(all),
            ) => answer(&wire, &entries, maxsize, depth, &all, out),
            (MetadataJob::Set, StoreReply::MetadataSet(MetadataOutcome::Stored)) => {
                Done::ok("SETMETADATA completed")
            }
            (MetadataJob::Set, StoreReply::MetadataSet(MetadataOutcome::TooMany)) => Err(
                CmdError::no(Some(Code::Metadata("TOOMANY".into())), "Too many entries"),
            ),
            _ => Err(super::unexpected()),
        })
    }
}

/// Whether the stored entry `name` is answered for the entry `asked`.
fn wanted(name: &str, asked: &str, depth: MetadataDepth) -> bool {
    let (name, asked) = (name.to_ascii_lowercase(), asked.to_ascii_lowercase());
    if name == asked {
        return true;
    }
    let Some(below) = name.strip_prefix(&format!("{asked}/")) else {
        return false;
    };
    match depth {
        MetadataDepth::Zero => false,
        MetadataDepth::One => !below.contains('/'),
        MetadataDepth::Infinity => true,
    }
}

fn answer(
    wire: &str,
    asked: &[String],
    maxsize: Option<u32>,
    depth: MetadataDepth,
    all: &[(String, Vec<u8>)],
    out: &mut Out,
) -> CmdResult<Done> {
    let longest_left_out = write_metadata(wire, asked, maxsize, depth, all, out);
    if longest_left_out > 0 {
        let code = Code::Metadata(format!("LONGENTRIES {longest_left_out}"));
        return Done::with(code, "GETMETADATA completed");
    }
    Done::ok("GETMETADATA completed")
}

/// Writes `* METADATA <wire> (...)` with the entries asked for (NIL for
/// one without value or anything below it); returns the length of the
/// longest value left out for MAXSIZE (0: none).
pub(super) fn write_metadata(
    wire: &str,
    asked: &[String],
    maxsize: Option<u32>,
    depth: MetadataDepth,
    all: &[(String, Vec<u8>)],
    out: &mut Out,
) -> usize {
    let mut line = format!("* METADATA {wire} (").into_bytes();
    let mut first = true;
    let mut longest_left_out = 0usize;
    let mut sep = |line: &mut Vec<u8>| {
        if !std::mem::take(&mut first) {
            line.push(b' ');
        }
    };
    let mut written = std::collections::HashSet::new();
    for a in asked {
        let mut found = false;
        for (name, value) in all.iter().filter(|(n, _)| wanted(n, a, depth)) {
            found = true;
            if !written.insert(name.to_ascii_lowercase()) {
                continue;
            }
            if maxsize.is_some_and(|m| value.len() > m as usize) {
                longest_left_out = longest_left_out.max(value.len());
                continue;
            }
            sep(&mut line);
            let _ = write!(line, "{name} {{{}}}\r\n", value.len());
            line.extend_from_slice(value);
        }
        if !found && written.insert(a.to_ascii_lowercase()) {
            sep(&mut line);
            let _ = write!(line, "{a} NIL");
        }
    }
    line.extend_from_slice(b")\r\n");
    if !first {
        out.raw(&line);
    }
    longest_left_out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_chooses_what_lies_below() {
        use MetadataDepth::*;
        assert!(wanted("/private/a", "/PRIVATE/A", Zero));
        assert!(!wanted("/private/a/b", "/private/a", Zero));
        assert!(wanted("/private/a/b", "/private/a", One));
        assert!(!wanted("/private/a/b/c", "/private/a", One));
        assert!(wanted("/private/a/b/c", "/private/a", Infinity));
        assert!(!wanted("/private/ab", "/private/a", Infinity));
    }
}
