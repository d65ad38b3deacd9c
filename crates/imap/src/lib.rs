//! sealpost-imap.
#![warn(missing_docs)]
