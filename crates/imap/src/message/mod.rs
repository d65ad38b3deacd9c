//! Message logic for IMAP: what FETCH, SEARCH, SORT and THREAD need to know
//! about a message's content.
//!
//! | file         | what                                               | RFC                         |
//! |--------------|----------------------------------------------------|-----------------------------|
//! | `mime.rs`    | MIME entities of a raw message, by byte offset     | 5322 2.1-2.2, 2045, 2046 5  |
//! | `section.rs` | `BODY[section]`, `BINARY[section]`                 | 9051 6.4.5, 3516            |
//! | `summary.rs` | [`Summary`], computed once at delivery             | 9051 7.5.2, 5256, 5957      |
//! | `codec.rs`   | the summary's versioned binary encoding            |                             |
//! | `render.rs`  | ENVELOPE, BODY, BODYSTRUCTURE on the wire          | 9051 7.5.2, 9               |
//! | `address.rs` | address lists for the envelope                     | 5322 3.4, 4.4               |
//! | `text.rs`    | RFC 2047 words, charsets, PREVIEW                  | 2047, 8970                  |
//! | `search.rs`  | SEARCH BODY / TEXT / HEADER                        | 9051 6.4.4                  |
//! | `subject.rs` | base subject                                       | 5256 2.1                    |
//! | `thread.rs`  | THREAD=ORDEREDSUBJECT, THREAD=REFERENCES           | 5256 3, 4                   |
//! | `date.rs`    | `date` and `date-time`                             | 9051 9                      |
//!
//! # Limits
//!
//! No input panics. Nesting is capped at [`MAX_DEPTH`] levels and a message
//! lists at most [`MAX_PARTS`] entities; address lists, parameters,
//! references and decoded search text are capped too (see each constant).
//! The `fuzz/imap_message` target feeds random bytes through summarize,
//! decode, envelope, body structure and sections; its corpus is replayed by
//! this crate's tests.
//!
//! # Using it
//!
//! The store runs [`ImapSummarizer`] on every new message; FETCH decodes the
//! stored bytes with [`Summary::decode`] (re-summarizing the raw message if
//! that returns `None`, e.g. after a format change) and writes
//! [`Summary::envelope`] or [`Summary::body_structure`] as they are.

mod address;
mod codec;
mod date;
pub(crate) mod mime;
mod render;
mod search;
mod section;
mod stream;
mod subject;
mod summary;
mod text;
mod thread;

#[cfg(test)]
mod tests;

pub use codec::VERSION as SUMMARY_VERSION;
pub use date::{format_internal_date, format_internal_date_in, parse_date_time, parse_imap_date};
pub use mime::{MAX_DEPTH, MAX_PARTS};
pub use search::{MAX_PART_SCAN, TextWhere, search_text};
pub use section::{BinaryError, SectionSpec, SectionText, binary, section};
pub use stream::StreamSummary;
pub use subject::base_subject;
pub use summary::{ImapSummarizer, MAX_REFERENCES, Summary};
pub use text::PREVIEW_CHARS;
pub use thread::{
    ThreadNode, format_threads, thread_ordered_subject, thread_ordered_subject_dated,
    thread_references, thread_references_dated,
};
