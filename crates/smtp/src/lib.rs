//! sealpost-smtp: inbound MX, message submission and the outbound queue.
//!
//! - [`wire`]: the sans-IO wire format (RFC 5321, RFC 3030 CHUNKING, RFC 2920
//!   PIPELINING, RFC 3207 STARTTLS, RFC 4954 AUTH), with every limit in the
//!   framer.
//! - [`session`]: the state machine, one file per command family.
//! - `engine`: framer + session + async effects, no socket (driven by the
//!   socket loop and by transcript tests).
//! - `delivery`: trace headers, local delivery and queueing; `250` only
//!   once everything is durable.
//! - [`dkim`]: DKIM key generation and the public key's TXT record.
//! - [`lookup`]: DNS records as `[smtp.dns]` sees them (`sealpost dns --check`).
//! - `mailauth`: DKIM signing, SPF/DKIM/DMARC checks (mail-auth crate).
//! - [`outbound`]: outbound TLS policy (MTA-STS, DANE) of recipient
//!   domains and their mail exchangers.
//! - [`queue`]: the persistent, encrypted outbound queue with retries and
//!   RFC 3464 bounces.
//! - [`SmtpServer`]: the `sealpost_net::Handler` for the `smtp`,
//!   `submission` and `submissions` listeners.
#![warn(missing_docs)]

mod delivery;
pub mod dkim;
mod engine;
#[doc(hidden)]
pub mod fuzzing;
pub mod lookup;
mod mailauth;
pub mod outbound;
pub mod queue;
mod server;
pub mod session;
pub mod srs;
pub mod srs_limit;
mod timing;
pub mod wire;

pub use mailauth::MailAuthError;
pub use queue::{
    NewMessage, NewRecipient, Queue, QueueEntry, QueueError, QueuedRecipient, RecipientStatus,
    ReportOutcome, control::DomainDeletion, queue_flush, queue_list, tls_report_send,
};
pub use server::{SmtpServer, SmtpServerError};

#[cfg(test)]
mod tests;
