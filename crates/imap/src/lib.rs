//! sealpost-imap: the IMAP4rev2 (RFC 9051) / IMAP4rev1 (RFC 3501) server.
//!
//! Layers, from the bytes up:
//!
//! - [`wire`]: sans-IO framing, parsing into typed commands, and response
//!   serialization. All limits live in the framer.
#![warn(missing_docs)]

pub mod wire;
pub mod message;
