//! LIST-METADATA (RFC 9590): `LIST ... RETURN (METADATA (entries))`, with
//! GETMETADATA's options MAXSIZE and DEPTH (RFC 5464 4.2; every form the
//! parser takes: `wire/parser/metadata.rs` `list_return`), answers, after
//! each listed mailbox's LIST line (and its STATUS, with LIST-STATUS), one
//! `* METADATA <mailbox> (...)` with the entries asked for, as GETMETADATA
//! with the same options would (an entry without a value is NIL, entries
//! below it as DEPTH says, `metadata.rs`).
//!
//! The entries of all listed mailboxes are read in one request
//! ([`StoreRequest::MetadataOf`]). Only mailboxes that exist and met the
//! selection get a METADATA line; a mailbox of the shared namespace gets
//! none (its entries are its owner's, RFC 9590 3 lets the server leave
//! out what the user may not read). Values longer than MAXSIZE are left
//! out and the tagged OK says `[METADATA LONGENTRIES n]`, n the longest
//! left out in the whole answer (RFC 5464 4.2.1).

use super::list::{Line, ListJob};
use super::metadata::write_metadata;
use super::{Done, Flow, Job, Request, Session, StoreRequest};
use crate::wire::command::ListMetadata;
use crate::wire::response::{Code, Out};

/// Entries of one mailbox (`None`: not readable here, no METADATA line).
pub type MailboxEntries = Option<Vec<(String, Vec<u8>)>>;

impl Session {
    /// Asks for the entries of the listed mailboxes.
    pub(super) fn list_metadata(&self, lines: Vec<Line>, metadata: ListMetadata) -> Flow {
        let account = match self.account() {
            Ok(a) => a.id,
            Err(e) => return Flow::Done(Err(e)),
        };
        let mailboxes = lines.iter().filter_map(|l| l.metadata_of.clone()).collect();
        Flow::Need(
            Request::Store(StoreRequest::MetadataOf { account, mailboxes }),
            Job::List(Box::new(ListJob::Metadata { lines, metadata })),
        )
    }

    /// Writes the lines, each with its STATUS and METADATA.
    pub(super) fn list_metadata_resume(
        &self,
        lines: Vec<Line>,
        metadata: ListMetadata,
        all: Vec<MailboxEntries>,
        out: &mut Out,
    ) -> Flow {
        let mut entries = all.into_iter();
        let mut longest = 0;
        for line in lines {
            out.untagged(&line.text);
            for after in &line.after {
                out.untagged(after);
            }
            if line.metadata_of.is_none() {
                continue;
            }
            let Some(Some(values)) = entries.next() else {
                continue;
            };
            let left_out = write_metadata(
                &line.wire_name,
                &metadata.entries,
                metadata.maxsize,
                metadata.depth,
                &values,
                out,
            );
            longest = longest.max(left_out);
        }
        Flow::Done(if longest > 0 {
            let code = Code::Metadata(format!("LONGENTRIES {longest}"));
            Done::with(code, "LIST completed")
        } else {
            Done::ok("LIST completed")
        })
    }
}
