//! sealpost-pop3: the POP3 server (RFC 1939) with CAPA and response codes
//! (RFC 2449, RFC 3206), STLS (RFC 2595), SASL PLAIN (RFC 5034, RFC 4616)
//! and UTF8 (RFC 6856).
//!
//! Layers, from the wire in:
//! - [`wire`]: sans-IO framing (255-octet lines by default, over-long lines
//!   discarded whole), command parsing, replies, byte-stuffing.
//! - [`session`]: the AUTHORIZATION / TRANSACTION / UPDATE state machine,
//!   turning commands into [`session::Action`]s; the maildrop view and how
//!   it coexists with IMAP are documented in [`session::maildrop`].
//! - [`driver`]: the same loop, synchronous, over an in-memory or store
//!   backend (transcripts, fuzzing).
//! - [`server`]: [`Pop3Server`], the thin TLS socket loop over
//!   `sealpost_net`, the store, the directory and the audit log.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod driver;
pub mod error;
pub mod server;
pub mod session;
pub mod wire;

pub use error::Pop3Error;
pub use server::Pop3Server;
