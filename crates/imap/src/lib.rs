//! sealpost-imap.
#![warn(missing_docs)]
pub mod message;
