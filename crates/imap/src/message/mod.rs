//! Message logic for IMAP: what a FETCH, SEARCH, SORT or THREAD needs to
//! know about a message's content.
//!
//! - [`mime`] cuts a raw message into MIME entities by byte offset
//!   (RFC 5322, RFC 2045/2046);
//! - [`section`](mod@section) serves `BODY[section]` (RFC 9051 6.4.5) and
//!   `BINARY[section]` (RFC 3516).
#![forbid(unsafe_code)]

pub(crate) mod mime;
mod section;

pub use section::{BinaryError, SectionSpec, SectionText, binary, section};
