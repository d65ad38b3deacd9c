//! sealpost-audit: the security event log.
//!
//! Every crate records security-relevant events through one small API:
//! [`AuditLog::record`] (never blocks a session on disk I/O: events go to a
//! writer thread that flushes at least every second) and
//! [`AuditLog::record_durable`] (returns once the event is fsynced; used where
//! a promise needs it: account deletion, purge, export).
//!
//! This is the foundation's append-only JSON-lines file
//! (`data_dir/audit/events.jsonl`); sealed hash-chained segments replace it
//! behind the same API. No message content or subject is ever an event field.

#![warn(missing_docs)]

mod event;
mod writer;

pub use event::{Event, LoginOutcome, Protocol, Record};
pub use writer::{AuditError, AuditLog};
