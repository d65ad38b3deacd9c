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
//! - [`driver`]: the one driver that performs the session's actions (login
//!   and audit, locks, store calls, writes, waits, STLS) for the socket loop
//!   and for the transcripts alike, over any [`driver::Maildrops`] (the real
//!   store, or [`driver::memory`]).
//! - [`locks`]: one POP3 session per maildrop, and LOGIN-DELAY.
//! - [`server`]: [`Pop3Server`], the `sealpost_net` handler that builds the
//!   driver's services over the store, the directory and the audit log.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod driver;
pub mod error;
pub mod locks;
pub mod server;
pub mod session;
pub mod wire;

pub use error::Pop3Error;
pub use server::Pop3Server;
