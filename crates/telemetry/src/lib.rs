//! sealpost-telemetry: what the running server tells its operator, apart
//! from the sealed audit log.
//!
//! - [`privacy`]: how personal data appears in the operational log
//!   (`[log] personal_data`): by default account ids instead of addresses
//!   and client addresses cut to their /24 (IPv4) or /48 (IPv6) network;
//!   the full values stay in the sealed audit log.
//! - [`metrics`]: the process's Prometheus metrics (prometheus-client),
//!   counted where things happen (listeners, protocol drivers, the audit
//!   log's event hook) and encoded in the text exposition format by the
//!   HTTP listener's private `/metrics` route.
//!
//! Both are process-wide: the server sets the privacy mode once at start
//! (and on reload); every crate reads it. This crate uses none of
//! sealpost's, so every one of them may use it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod metrics;
pub mod privacy;
