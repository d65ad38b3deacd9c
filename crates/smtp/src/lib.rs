//! sealpost-smtp: inbound MX, message submission and the outbound queue.
//!
//! - [`wire`]: the sans-IO wire format (RFC 5321, RFC 3030, RFC 2920, RFC 3207,
//!   RFC 4954 framing), with every limit in the framer.
#![warn(missing_docs)]

pub mod wire;
